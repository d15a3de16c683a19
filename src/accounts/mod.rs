//! Accounts (the README's "Accounts" section): users who sign in with a password,
//! browser sessions and API tokens, the join link, and setting up the first admin.
//!
//! Files, one concern each: `user.rs` users and roles; `password.rs` the password rule
//! and argon2id; `credential.rs` session ids and tokens, of which only SHA-256 hashes
//! are kept; `session.rs` signing in and out; `token.rs` API tokens; `join.rs` the
//! first admin's setup and the join link; `code.rs` the codes of those two;
//! `index.rs` all of it in memory, which says who a request is; `storage.rs` the sled
//! trees; `throttle.rs` failed sign-ins per address; `backup.rs` accounts in export and
//! import; `error.rs` [`AccountsError`].
//!
//! What the connection layers use:
//! - [`Accounts::authenticate_cookie`] (a `Cookie` header) and
//!   [`Accounts::authenticate_token`] (an API token) give the [`Identity`] behind a
//!   credential, or `None`. Both are two hash lookups in memory: no disk, no argon2,
//!   nothing that blocks, so they are fine on any thread for every request.
//! - [`Accounts::set_revocation_listener`] is told of every [`Revocation`] (a session
//!   signed out, a token revoked, a user deactivated) once the change is durable, so
//!   that connections opened with that credential or by that user can be closed.
//!   [`Identity::credential`] is what to compare with.
//!
//! Everything that changes accounts blocks (it hashes a password or flushes the disk):
//! the server runs it through [`Accounts::blocking`], the command line calls it
//! directly. Changes take one lock from their checks to their update of the index, so
//! two of them never both take the same username, and they write the disk before the
//! index, so what authenticates was always durable first.

/// Spells an enum of words (a mode, a role) in one table: `as_str`, `Display`, and
/// `FromStr` for flags and the command line, whose error lists the words. Serde's
/// `rename_all = "lowercase"` spells them the same in JSON and TOML.
macro_rules! spelled {
    ($name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<$name, String> {
                match text {
                    $($word => Ok($name::$variant),)+
                    _ => Err(format!("{text:?} is not one of: {}", [$($word),+].join(", "))),
                }
            }
        }
    };
}

mod backup;
mod code;
mod credential;
mod error;
mod index;
mod join;
mod password;
mod session;
mod storage;
#[cfg(test)]
mod test_support;
mod throttle;
mod token;
mod user;

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

pub use code::Code;
pub use credential::{CredentialKey, SESSION_COOKIE, Secret, SecretHash, Token, bearer_token};
pub use error::AccountsError;
pub use join::setup_permitted;
pub use password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, Password};
pub use user::{Role, User, UserView};

use credential::session_cookies;
use index::Index;
use storage::Storage;
use throttle::SignInThrottle;

use crate::model::{DisplayName, Username};
use crate::store::Store;

/// How long a browser stays signed in without signing in again; also the cookie's
/// `Max-Age`, so the browser forgets it when the server would refuse it.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(400 * 24 * 60 * 60);

/// Whether people sign in (`--auth accounts`, the default) or anyone may send under
/// any name (`--auth open`, the chat as it was before accounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    #[default]
    Accounts,
    Open,
}

spelled!(AuthMode {
    Accounts => "accounts",
    Open => "open",
});

/// Who a request or a connection is: the user as they are now, and the credential
/// they came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub username: Username,
    /// The display name, which their messages carry as the sender.
    pub name: DisplayName,
    pub role: Role,
    pub credential: CredentialKey,
}

/// A credential that stopped working, as the revocation listener hears of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// A session signed out (or ended by a password change), or a token revoked.
    Credential(CredentialKey),
    /// A user deactivated: every session and token of theirs.
    User(Username),
}

/// Told of each [`Revocation`]; runs on the thread that made the change, so it must be
/// quick and must not block.
pub type RevocationListener = Arc<dyn Fn(&Revocation) + Send + Sync>;

/// A new account as asked for: by the setup page, the join page or the command line.
pub struct NewUser {
    pub username: Username,
    pub name: DisplayName,
    pub password: Password,
}

/// A user just signed in, with the session id for their cookie (shown only now).
pub struct SignedIn {
    pub user: User,
    pub session: Secret,
}

pub struct Accounts {
    /// Held by a change from its first check to its update of the index.
    storage: Mutex<Storage>,
    index: RwLock<Index>,
    listener: RwLock<Option<RevocationListener>>,
    throttle: SignInThrottle,
    /// Lets a browser on another machine create the first admin; new at every start.
    setup_code: Code,
}

impl Accounts {
    /// Loads the accounts of `store`'s data directory. Blocks.
    pub fn open(store: &Store) -> Result<Accounts, AccountsError> {
        let storage = Storage::open(store)?;
        let index = storage.load(now_ms())?;
        Ok(Accounts {
            storage: Mutex::new(storage),
            index: RwLock::new(index),
            listener: RwLock::new(None),
            throttle: SignInThrottle::default(),
            setup_code: Code::generate(),
        })
    }

    /// Runs `work`, which may block, on the runtime's blocking threads.
    pub async fn blocking<T, F>(self: &Arc<Self>, work: F) -> Result<T, AccountsError>
    where
        T: Send + 'static,
        F: FnOnce(&Accounts) -> Result<T, AccountsError> + Send + 'static,
    {
        let accounts = Arc::clone(self);
        tokio::task::spawn_blocking(move || work(&accounts)).await?
    }

    /// The identity of the (first valid) session in a `Cookie` header. Does not
    /// block.
    pub fn authenticate_cookie(&self, cookie_header: &str) -> Option<Identity> {
        session_cookies(cookie_header)
            .find_map(|session| self.identify(CredentialKey::Session(SecretHash::of(session))))
    }

    /// The identity of an API token. Does not block.
    pub fn authenticate_token(&self, token: &str) -> Option<Identity> {
        self.identify(CredentialKey::Token(SecretHash::of(token)))
    }

    /// Replaces the listener told of revocations.
    pub fn set_revocation_listener(&self, listener: RevocationListener) {
        *self
            .listener
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(listener);
    }

    fn identify(&self, key: CredentialKey) -> Option<Identity> {
        self.read().identify(key, now_ms())
    }

    fn revoked(&self, revocation: &Revocation) {
        let listener = self
            .listener
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let Some(listener) = listener {
            listener(revocation);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Storage> {
        self.storage
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::model::TokenName;
    use test_support::{ann_and_bob, cookie, new_user, opened};

    #[test]
    fn what_was_answered_is_there_after_reopening() {
        let (_dir, store, accounts) = opened();
        accounts.add_user(new_user("ann"), Role::Admin).unwrap();
        let ann = Username::parse("ann").unwrap();
        let session = accounts.sign_in("ann", "password1", None).unwrap().session;
        let (token, _) = accounts
            .create_token(&ann, TokenName::parse("ci").unwrap())
            .unwrap();
        let code = accounts.invite_code().unwrap();
        drop(accounts);

        let reopened = Accounts::open(&store).unwrap();
        let cookie = format!("theme=dark; parley_session=stale; {}", cookie(&session));
        let identity = reopened.authenticate_cookie(&cookie).unwrap();
        assert_eq!(
            (identity.username.as_str(), identity.role),
            ("ann", Role::Admin)
        );
        assert!(reopened.authenticate_token(token.as_str()).is_some());
        assert_eq!(reopened.invite_code().unwrap(), code);
        assert!(!reopened.setup_needed());
        assert!(reopened.sign_in("ann", "password1", None).is_ok());
        assert_ne!(
            reopened.setup_code(),
            &Code::parse(&code.to_string()).unwrap()
        );
    }

    #[test]
    fn revocations_are_told_once_they_are_done() {
        let (_dir, _store, accounts) = opened();
        let heard: Arc<Mutex<Vec<Revocation>>> = Arc::default();
        let log = heard.clone();
        accounts.set_revocation_listener(Arc::new(move |revocation: &Revocation| {
            log.lock().unwrap().push(revocation.clone());
        }));
        let (session, token) = ann_and_bob(&accounts);
        let bob = Username::parse("bob").unwrap();
        let by_cookie = accounts.authenticate_cookie(&cookie(&session)).unwrap();
        let by_token = accounts.authenticate_token(token.as_str()).unwrap();
        accounts.sign_out(by_cookie.credential).unwrap();
        accounts.sign_out(by_token.credential).unwrap();
        accounts.revoke_token(&bob, "ci").unwrap();
        accounts.deactivate("bob").unwrap();
        assert_eq!(
            *heard.lock().unwrap(),
            [
                Revocation::Credential(by_cookie.credential),
                Revocation::Credential(by_token.credential),
                Revocation::User(bob),
            ]
        );
    }

    #[test]
    fn modes_are_spelled_accounts_and_open() {
        assert_eq!("open".parse::<AuthMode>(), Ok(AuthMode::Open));
        assert_eq!(AuthMode::default().to_string(), "accounts");
        assert!("closed".parse::<AuthMode>().is_err());
    }
}
