//! Where the accounts live on disk: four sled trees in the data directory's database,
//! beside the messages. Each record is a JSON value, so the data directory can be
//! inspected with ordinary tools and a field can be added later.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `users` | username | [`User`] (with the argon2id hash of the password) |
//! | `sessions` | SHA-256 of the session id | [`Session`] |
//! | `tokens` | SHA-256 of the token | [`Token`] |
//! | `accounts` | `invite` | the join link's code |
//!
//! A change is written and then flushed before anyone is told it happened: the
//! accounts do not go through the message store's log, and are rare enough that a
//! sled flush each is cheap. A change that touches several records writes the one that
//! decides first (deactivating marks the user before deleting their sessions), so a
//! crash half-way leaves nothing that signs anyone in; what it leaves over is dropped
//! at the next start.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Tree;

use super::code::Code;
use super::credential::{SecretHash, Session, Token};
use super::error::storage;
use super::index::Index;
use super::user::User;
use super::{AccountsError, SESSION_LIFETIME};
use crate::store::Store;

const INVITE_KEY: &[u8] = b"invite";

pub(super) struct Storage {
    users: Tree,
    sessions: Tree,
    tokens: Tree,
    settings: Tree,
}

impl Storage {
    pub(super) fn open(store: &Store) -> Result<Storage, AccountsError> {
        let tree = |name| store.open_tree(name).map_err(AccountsError::Storage);
        Ok(Storage {
            users: tree("users")?,
            sessions: tree("sessions")?,
            tokens: tree("tokens")?,
            settings: tree("accounts")?,
        })
    }

    /// Reads every record, checking each, and drops the sessions and tokens that can
    /// no longer sign anyone in (expired, or of a user who is gone or deactivated).
    pub(super) fn load(&self, now_ms: u64) -> Result<Index, AccountsError> {
        let mut index = Index::default();
        for entry in self.users.iter() {
            let (key, value) = entry.map_err(storage("reading users"))?;
            let user: User = decode("users", &key, &value)?;
            if user.username.as_str().as_bytes() != &*key {
                return Err(corrupt("users", &key, "the key is not the username"));
            }
            index.users.insert(user.username.clone(), user);
        }
        let lifetime = SESSION_LIFETIME.as_millis() as u64;
        let mut stale_sessions = Vec::new();
        for entry in self.sessions.iter() {
            let (key, value) = entry.map_err(storage("reading sessions"))?;
            let hash = hash_key("sessions", &key)?;
            let session: Session = decode("sessions", &key, &value)?;
            let expired = now_ms >= session.created.saturating_add(lifetime);
            if expired || index.active_user(&session.username).is_none() {
                stale_sessions.push(hash);
            } else {
                index.sessions.insert(hash, session);
            }
        }
        let mut stale_tokens = Vec::new();
        for entry in self.tokens.iter() {
            let (key, value) = entry.map_err(storage("reading tokens"))?;
            let hash = hash_key("tokens", &key)?;
            let token: Token = decode("tokens", &key, &value)?;
            if index.active_user(&token.username).is_none() {
                stale_tokens.push(hash);
            } else {
                index.tokens.insert(hash, token);
            }
        }
        if let Some(value) = self
            .settings
            .get(INVITE_KEY)
            .map_err(storage("reading the join code"))?
        {
            index.invite = Some(decode("accounts", INVITE_KEY, &value)?);
        }
        if !stale_sessions.is_empty() || !stale_tokens.is_empty() {
            self.remove_sessions(&stale_sessions)?;
            self.remove_tokens(&stale_tokens)?;
            self.flush()?;
        }
        Ok(index)
    }

    pub(super) fn put_user(&self, user: &User) -> Result<(), AccountsError> {
        self.users
            .insert(user.username.as_str(), encode(user)?)
            .map_err(storage("writing a user"))?;
        Ok(())
    }

    pub(super) fn put_session(
        &self,
        hash: &SecretHash,
        session: &Session,
    ) -> Result<(), AccountsError> {
        self.sessions
            .insert(hash.as_bytes(), encode(session)?)
            .map_err(storage("writing a session"))?;
        Ok(())
    }

    pub(super) fn remove_sessions(&self, hashes: &[SecretHash]) -> Result<(), AccountsError> {
        remove_all(&self.sessions, hashes, "removing a session")
    }

    pub(super) fn put_token(&self, hash: &SecretHash, token: &Token) -> Result<(), AccountsError> {
        self.tokens
            .insert(hash.as_bytes(), encode(token)?)
            .map_err(storage("writing a token"))?;
        Ok(())
    }

    pub(super) fn remove_tokens(&self, hashes: &[SecretHash]) -> Result<(), AccountsError> {
        remove_all(&self.tokens, hashes, "removing a token")
    }

    pub(super) fn put_invite(&self, code: &Code) -> Result<(), AccountsError> {
        self.settings
            .insert(INVITE_KEY, encode(code)?)
            .map_err(storage("writing the join code"))?;
        Ok(())
    }

    /// Makes every change so far durable (sled flushes the whole database).
    pub(super) fn flush(&self) -> Result<(), AccountsError> {
        self.users
            .flush()
            .map_err(storage("flushing the accounts"))?;
        Ok(())
    }
}

fn remove_all(tree: &Tree, hashes: &[SecretHash], op: &'static str) -> Result<(), AccountsError> {
    for hash in hashes {
        tree.remove(hash.as_bytes()).map_err(storage(op))?;
    }
    Ok(())
}

fn encode(value: &impl Serialize) -> Result<Vec<u8>, AccountsError> {
    serde_json::to_vec(value).map_err(AccountsError::Encode)
}

fn decode<T: DeserializeOwned>(tree: &str, key: &[u8], value: &[u8]) -> Result<T, AccountsError> {
    serde_json::from_slice(value).map_err(|error| corrupt(tree, key, error.to_string()))
}

fn hash_key(tree: &str, key: &[u8]) -> Result<SecretHash, AccountsError> {
    SecretHash::from_bytes(key).ok_or_else(|| corrupt(tree, key, "the key is not a SHA-256"))
}

fn corrupt(tree: &str, key: &[u8], reason: impl Into<String>) -> AccountsError {
    AccountsError::Corrupt {
        key: format!("{tree}/{}", key.escape_ascii()),
        reason: reason.into(),
    }
}
