//! Users and their roles: the record kept for each account, what others see of it,
//! and the changes to users (adding, renaming, deactivating).

use serde::{Deserialize, Serialize};

use super::credential::SecretHash;
use super::password::PasswordHash;
use super::storage::Storage;
use super::{Accounts, AccountsError, NewUser, Revocation, now_ms};
use crate::model::{DisplayName, Username};

/// What a user may do. Admins manage the join link and deactivate users; members
/// chat; bots are members run by a script, told apart so people know who they talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
    Bot,
}

spelled!(Role {
    Admin => "admin",
    Member => "member",
    Bot => "bot",
});

/// An account as stored. A deactivated one is kept, so that its username stays taken
/// and its messages keep an author.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub username: Username,
    pub name: DisplayName,
    pub role: Role,
    pub active: bool,
    pub password_hash: PasswordHash,
    /// Milliseconds since the epoch.
    pub created: u64,
}

impl User {
    /// What the API shows of this user.
    pub fn view(&self) -> UserView<'_> {
        UserView {
            username: &self.username,
            name: &self.name,
            role: self.role,
        }
    }
}

/// `{username, name, role}`, as the API answers with it.
#[derive(Debug, Serialize)]
pub struct UserView<'a> {
    pub username: &'a Username,
    pub name: &'a DisplayName,
    pub role: Role,
}

impl Accounts {
    /// Creates a user without signing them in (the command line). Blocks.
    pub fn add_user(&self, new: NewUser, role: Role) -> Result<User, AccountsError> {
        self.check_free(&new.username)?;
        let hash = PasswordHash::of(&new.password)?;
        let storage = self.lock();
        let user = self.new_user(new, role, hash)?;
        self.save_user(&storage, user, &[], &[])
    }

    /// Every user, deactivated ones too, by username. Does not block.
    pub fn users(&self) -> Vec<User> {
        let mut users: Vec<User> = self.read().users.values().cloned().collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        users
    }

    /// Whether `username` is an active user. Does not block.
    pub fn is_active(&self, username: &Username) -> bool {
        self.active_role(username).is_some()
    }

    /// The role of the active user `username`. Does not block.
    pub fn active_role(&self, username: &Username) -> Option<Role> {
        self.read().active_user(username).map(|user| user.role)
    }

    /// Changes a user's display name; their later messages carry it. Blocks.
    pub fn rename(&self, username: &Username, name: DisplayName) -> Result<User, AccountsError> {
        let storage = self.lock();
        let mut user = self.existing(username, true)?;
        user.name = name;
        self.save_user(&storage, user, &[], &[])
    }

    /// Deactivates a user: their sessions and tokens stop working at once and are
    /// deleted; the username stays taken. The last active admin cannot be deactivated,
    /// so that someone can always manage the others. Blocks.
    pub fn deactivate(&self, username: &str) -> Result<(), AccountsError> {
        let unknown = || AccountsError::UnknownUser(username.to_owned());
        let username = Username::parse(username).map_err(|_| unknown())?;
        {
            let storage = self.lock();
            let mut user = self.existing(&username, false)?;
            if !user.active {
                return Ok(());
            }
            if user.role == Role::Admin && self.read().active_admins() <= 1 {
                return Err(AccountsError::LastAdmin(username));
            }
            user.active = false;
            let (sessions, tokens) = {
                let index = self.read();
                let tokens: Vec<SecretHash> = index
                    .tokens_of(&username)
                    .iter()
                    .map(|(hash, _)| *hash)
                    .collect();
                (index.sessions_of(&username), tokens)
            };
            self.save_user(&storage, user, &sessions, &tokens)?;
        }
        self.revoked(&Revocation::User(username));
        Ok(())
    }

    /// Writes `user` and deletes `sessions` and `tokens` (the user first: once a
    /// deactivation is written, nothing of theirs signs in), flushes, then updates the
    /// index. Call with the lock held.
    pub(super) fn save_user(
        &self,
        storage: &Storage,
        user: User,
        sessions: &[SecretHash],
        tokens: &[SecretHash],
    ) -> Result<User, AccountsError> {
        storage.put_user(&user)?;
        storage.remove_sessions(sessions)?;
        storage.remove_tokens(tokens)?;
        storage.flush()?;
        let mut index = self.write();
        index.users.insert(user.username.clone(), user.clone());
        for hash in sessions {
            index.sessions.remove(hash);
        }
        for hash in tokens {
            index.tokens.remove(hash);
        }
        Ok(user)
    }

    /// Refuses a username already taken, by an active user or a deactivated one.
    pub(super) fn check_free(&self, username: &Username) -> Result<(), AccountsError> {
        if self.read().users.contains_key(username) {
            return Err(AccountsError::UsernameTaken(username.clone()));
        }
        Ok(())
    }

    /// The record of `username`, which must be active if `active` is asked.
    pub(super) fn existing(
        &self,
        username: &Username,
        active: bool,
    ) -> Result<User, AccountsError> {
        self.read()
            .users
            .get(username)
            .filter(|user| user.active || !active)
            .cloned()
            .ok_or_else(|| AccountsError::UnknownUser(username.to_string()))
    }

    /// A new user record, if the username is still free. Call with the lock held.
    pub(super) fn new_user(
        &self,
        new: NewUser,
        role: Role,
        password_hash: PasswordHash,
    ) -> Result<User, AccountsError> {
        self.check_free(&new.username)?;
        Ok(User {
            username: new.username,
            name: new.name,
            role,
            active: true,
            password_hash,
            created: now_ms(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::test_support::{ann_and_bob, cookie, new_user, opened};
    use crate::model::TokenName;

    #[test]
    fn roles_are_spelled_the_same_everywhere() {
        for role in [Role::Admin, Role::Member, Role::Bot] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::Value::from(role.as_str())
            );
        }
        assert!("owner".parse::<Role>().is_err());
    }

    #[test]
    fn a_deactivated_user_signs_in_with_nothing_and_keeps_the_username() {
        let (_dir, _store, accounts) = opened();
        let (session, token) = ann_and_bob(&accounts);
        let bob = Username::parse("bob").unwrap();
        let cookie = cookie(&session);
        assert!(accounts.authenticate_cookie(&cookie).is_some());

        accounts.deactivate("Bob").unwrap();
        assert!(accounts.authenticate_cookie(&cookie).is_none());
        assert!(accounts.authenticate_token(token.as_str()).is_none());
        assert!(accounts.sign_in("bob", "password1", None).is_err());
        assert!(accounts.tokens(&bob).is_empty());
        assert!(matches!(
            accounts.add_user(new_user("bob"), Role::Member),
            Err(AccountsError::UsernameTaken(_))
        ));
        accounts.deactivate("bob").unwrap();
        assert!(matches!(
            accounts.deactivate("nobody"),
            Err(AccountsError::UnknownUser(_))
        ));
        assert!(matches!(
            accounts.deactivate("ann"),
            Err(AccountsError::LastAdmin(_))
        ));
    }

    #[test]
    fn a_new_name_is_who_the_credentials_say_at_once() {
        let (_dir, _store, accounts) = opened();
        accounts.add_user(new_user("ann"), Role::Member).unwrap();
        let ann = Username::parse("ann").unwrap();
        let (token, _) = accounts
            .create_token(&ann, TokenName::parse("ci").unwrap())
            .unwrap();
        let user = accounts
            .rename(&ann, DisplayName::parse("Ann Lee").unwrap())
            .unwrap();
        assert_eq!(user.name.as_str(), "Ann Lee");
        let identity = accounts.authenticate_token(token.as_str()).unwrap();
        assert_eq!(identity.name.as_str(), "Ann Lee");
    }
}
