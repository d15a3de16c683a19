//! What the accounts' unit tests share: a store in a temporary directory with its
//! accounts, and new users with a known password.

use super::{Accounts, NewUser, Password};
use crate::model::{DisplayName, Username};
use crate::store::Store;

/// Accounts on a fresh store; keep the directory and the store alive with them.
pub(super) fn opened() -> (tempfile::TempDir, Store, Accounts) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let accounts = Accounts::open(&store).unwrap();
    (dir, store, accounts)
}

/// A user called `username` (shown as its uppercase) with the password `password1`.
pub(super) fn new_user(username: &str) -> NewUser {
    NewUser {
        username: Username::parse(username).unwrap(),
        name: DisplayName::parse(&username.to_uppercase()).unwrap(),
        password: Password::parse("password1").unwrap(),
    }
}
