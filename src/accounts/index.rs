//! The accounts held in memory: every user, and every session and token by the hash of
//! its secret. Loaded from the disk at start and changed only after the disk has the
//! change, it answers "who is this?" for each request and connection with two hash
//! lookups, no disk and no argon2.

use std::collections::HashMap;

use super::code::Code;
use super::credential::{CredentialKey, SecretHash, Session, Token};
use super::user::{Role, User};
use super::{Identity, SESSION_LIFETIME};
use crate::model::Username;

#[derive(Default)]
pub(super) struct Index {
    pub(super) users: HashMap<Username, User>,
    pub(super) sessions: HashMap<SecretHash, Session>,
    pub(super) tokens: HashMap<SecretHash, Token>,
    /// The join link's code, made when first asked for.
    pub(super) invite: Option<Code>,
}

impl Index {
    /// Who `key` signs in, if it is valid now: it exists, has not expired, and its
    /// user is active.
    pub(super) fn identify(&self, key: CredentialKey, now_ms: u64) -> Option<Identity> {
        let username = match key {
            CredentialKey::Session(hash) => {
                let session = self.sessions.get(&hash)?;
                let expires = session
                    .created
                    .saturating_add(SESSION_LIFETIME.as_millis() as u64);
                if now_ms >= expires {
                    return None;
                }
                &session.username
            }
            CredentialKey::Token(hash) => &self.tokens.get(&hash)?.username,
        };
        let user = self.users.get(username).filter(|user| user.active)?;
        Some(Identity {
            username: user.username.clone(),
            name: user.name.clone(),
            role: user.role,
            credential: key,
        })
    }

    /// The active user called `username`.
    pub(super) fn active_user(&self, username: &Username) -> Option<&User> {
        self.users.get(username).filter(|user| user.active)
    }

    pub(super) fn active_admins(&self) -> usize {
        self.users
            .values()
            .filter(|user| user.active && user.role == Role::Admin)
            .count()
    }

    /// The sessions of `username`, by hash.
    pub(super) fn sessions_of(&self, username: &Username) -> Vec<SecretHash> {
        self.sessions
            .iter()
            .filter(|(_, session)| session.username == *username)
            .map(|(hash, _)| *hash)
            .collect()
    }

    /// The tokens of `username`, oldest first (by name within a millisecond: a user's
    /// token names are unique).
    pub(super) fn tokens_of(&self, username: &Username) -> Vec<(SecretHash, &Token)> {
        let mut tokens: Vec<(SecretHash, &Token)> = self
            .tokens
            .iter()
            .filter(|(_, token)| token.username == *username)
            .map(|(hash, token)| (*hash, token))
            .collect();
        tokens.sort_by(|a, b| (a.1.created, &a.1.name).cmp(&(b.1.created, &b.1.name)));
        tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::password::{Password, PasswordHash};
    use crate::model::{DisplayName, TokenName};

    fn user(name: &str, role: Role, active: bool) -> User {
        User {
            username: Username::parse(name).unwrap(),
            name: DisplayName::parse(name).unwrap(),
            role,
            active,
            password_hash: PasswordHash::of(&Password::parse("password1").unwrap()).unwrap(),
            created: 0,
        }
    }

    #[test]
    fn credentials_identify_active_users_until_their_session_expires() {
        let mut index = Index::default();
        let ann = user("ann", Role::Admin, true);
        let bob = user("bob", Role::Member, false);
        let session = SecretHash::of("s");
        let token = SecretHash::of("t");
        let bobs = SecretHash::of("b");
        index.sessions.insert(
            session,
            Session {
                username: ann.username.clone(),
                created: 1_000,
            },
        );
        index.tokens.insert(
            token,
            Token {
                username: ann.username.clone(),
                name: TokenName::parse("ci").unwrap(),
                created: 1_000,
            },
        );
        index.sessions.insert(
            bobs,
            Session {
                username: bob.username.clone(),
                created: 1_000,
            },
        );
        index.users.insert(ann.username.clone(), ann);
        index.users.insert(bob.username.clone(), bob);

        let identity = index
            .identify(CredentialKey::Session(session), 2_000)
            .unwrap();
        assert_eq!(identity.username.as_str(), "ann");
        assert_eq!(identity.role, Role::Admin);
        assert_eq!(identity.credential, CredentialKey::Session(session));
        assert!(index.identify(CredentialKey::Token(token), 2_000).is_some());
        assert!(
            index
                .identify(CredentialKey::Token(session), 2_000)
                .is_none()
        );
        assert!(
            index
                .identify(CredentialKey::Session(bobs), 2_000)
                .is_none()
        );
        let expired = 1_000 + SESSION_LIFETIME.as_millis() as u64;
        assert!(
            index
                .identify(CredentialKey::Session(session), expired)
                .is_none()
        );
        assert!(
            index
                .identify(CredentialKey::Token(token), expired)
                .is_some()
        );
        assert_eq!(index.active_admins(), 1);
        assert_eq!(
            index.sessions_of(&Username::parse("ann").unwrap()),
            vec![session]
        );
    }
}
