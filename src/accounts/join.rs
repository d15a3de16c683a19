//! Getting in: the first admin's setup (from this machine, or with the code printed at
//! start) and the join link that makes members, each of which also signs the new user
//! in.

use super::code::Code;
use super::index::Index;
use super::password::PasswordHash;
use super::storage::Storage;
use super::user::Role;
use super::{Accounts, AccountsError, NewUser, SignedIn};

impl Accounts {
    /// Whether the first admin is still to be created.
    pub fn setup_needed(&self) -> bool {
        self.read().active_admins() == 0
    }

    /// The code a browser on another machine needs for setup.
    pub fn setup_code(&self) -> &Code {
        &self.setup_code
    }

    /// Creates the first admin and signs them in: only while there is no admin, and,
    /// unless the request comes from this machine, only with the setup code. Blocks.
    pub fn set_up(
        &self,
        new: NewUser,
        local: bool,
        code: Option<&str>,
    ) -> Result<SignedIn, AccountsError> {
        if !self.setup_needed() {
            return Err(AccountsError::AlreadySetUp);
        }
        if !setup_permitted(local, code, &self.setup_code) {
            return Err(AccountsError::SetupCodeRequired);
        }
        self.check_free(&new.username)?;
        let hash = PasswordHash::of(&new.password)?;
        let storage = self.lock();
        if !self.setup_needed() {
            return Err(AccountsError::AlreadySetUp);
        }
        self.create_signed_in(&storage, new, Role::Admin, hash)
    }

    /// Creates a member through the join link and signs them in. Blocks.
    pub fn join(&self, code: &str, new: NewUser) -> Result<SignedIn, AccountsError> {
        let valid = |index: &Index| index.invite.as_ref().is_some_and(|c| c.matches(code));
        if !valid(&self.read()) {
            return Err(AccountsError::UnknownInvite);
        }
        self.check_free(&new.username)?;
        let hash = PasswordHash::of(&new.password)?;
        let storage = self.lock();
        // The link may have been reset while the password was hashed.
        if !valid(&self.read()) {
            return Err(AccountsError::UnknownInvite);
        }
        self.create_signed_in(&storage, new, Role::Member, hash)
    }

    /// The join link's code, made on first use. Blocks the first time.
    pub fn invite_code(&self) -> Result<Code, AccountsError> {
        if let Some(code) = self.read().invite.clone() {
            return Ok(code);
        }
        let storage = self.lock();
        if let Some(code) = self.read().invite.clone() {
            return Ok(code);
        }
        self.replace_invite(&storage)
    }

    /// Replaces the join link's code, so the old link stops working. Blocks.
    pub fn reset_invite(&self) -> Result<Code, AccountsError> {
        let storage = self.lock();
        self.replace_invite(&storage)
    }

    fn replace_invite(&self, storage: &Storage) -> Result<Code, AccountsError> {
        let code = Code::generate();
        storage.put_invite(&code)?;
        storage.flush()?;
        self.write().invite = Some(code.clone());
        Ok(code)
    }

    /// Creates a user with a session, written and flushed together.
    fn create_signed_in(
        &self,
        storage: &Storage,
        new: NewUser,
        role: Role,
        password_hash: PasswordHash,
    ) -> Result<SignedIn, AccountsError> {
        let user = self.new_user(new, role, password_hash)?;
        let (session, hash, record) = Accounts::new_session(&user.username);
        storage.put_user(&user)?;
        storage.put_session(&hash, &record)?;
        storage.flush()?;
        let mut index = self.write();
        index.users.insert(user.username.clone(), user.clone());
        index.sessions.insert(hash, record);
        Ok(SignedIn { user, session })
    }
}

/// The setup rule: a browser on this machine may set up Parley directly; any other
/// needs the code the server printed, which only whoever started it has seen.
pub fn setup_permitted(local: bool, given: Option<&str>, code: &Code) -> bool {
    local || given.is_some_and(|given| code.matches(given))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::test_support::{cookie, new_user, opened};

    #[test]
    fn setup_from_another_machine_needs_the_printed_code() {
        let code = Code::parse("ABCD-EFGH-JK23").unwrap();
        assert!(setup_permitted(true, None, &code));
        assert!(setup_permitted(true, Some("wrong"), &code));
        assert!(!setup_permitted(false, None, &code));
        assert!(!setup_permitted(false, Some("ABCD-EFGH-JK24"), &code));
        assert!(setup_permitted(false, Some("abcd-efgh-jk23"), &code));
    }

    #[test]
    fn setup_makes_the_first_admin_once() {
        let (_dir, _store, accounts) = opened();
        assert!(accounts.setup_needed());
        assert!(matches!(
            accounts.set_up(new_user("ann"), false, Some("AAAA-AAAA-AAAA")),
            Err(AccountsError::SetupCodeRequired)
        ));
        let code = accounts.setup_code().to_string();
        let signed_in = accounts
            .set_up(new_user("ann"), false, Some(&code))
            .unwrap();
        assert_eq!(signed_in.user.role, Role::Admin);
        assert_eq!(
            accounts
                .authenticate_cookie(&cookie(&signed_in.session))
                .unwrap()
                .username
                .as_str(),
            "ann"
        );
        assert!(!accounts.setup_needed());
        assert!(matches!(
            accounts.set_up(new_user("bob"), true, None),
            Err(AccountsError::AlreadySetUp)
        ));
    }

    #[test]
    fn the_join_link_makes_members_until_it_is_reset() {
        let (_dir, _store, accounts) = opened();
        assert!(matches!(
            accounts.join("ABCD-EFGH-JK23", new_user("bob")),
            Err(AccountsError::UnknownInvite)
        ));
        let code = accounts.invite_code().unwrap();
        assert_eq!(accounts.invite_code().unwrap(), code, "kept once made");
        let bob = accounts.join(&code.to_string(), new_user("bob")).unwrap();
        assert_eq!(bob.user.role, Role::Member);
        assert!(matches!(
            accounts.join(&code.to_string(), new_user("BOB")),
            Err(AccountsError::UsernameTaken(_))
        ));
        let new_code = accounts.reset_invite().unwrap();
        assert_ne!(new_code, code);
        assert!(matches!(
            accounts.join(&code.to_string(), new_user("cy")),
            Err(AccountsError::UnknownInvite)
        ));
        assert!(accounts.join(&new_code.to_string(), new_user("cy")).is_ok());
    }
}
