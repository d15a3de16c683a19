//! What the accounts' unit tests share: a store in a temporary directory with its
//! accounts, new users with a known password, the cookie of a session, and a team.

use super::{Accounts, NewUser, Password, Role, Secret};
use crate::model::{DisplayName, TokenName, Username};
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

/// The `Cookie` header of a browser holding `session`.
pub(super) fn cookie(session: &Secret) -> String {
    format!("parley_session={}", session.as_str())
}

/// The admin `ann` and the member `bob`, who is signed in and has a token called `ci`:
/// bob's session and token.
pub(super) fn ann_and_bob(accounts: &Accounts) -> (Secret, Secret) {
    accounts.add_user(new_user("ann"), Role::Admin).unwrap();
    accounts.add_user(new_user("bob"), Role::Member).unwrap();
    let session = accounts.sign_in("bob", "password1", None).unwrap().session;
    let bob = Username::parse("bob").unwrap();
    let (token, _) = accounts
        .create_token(&bob, TokenName::parse("ci").unwrap())
        .unwrap();
    (session, token)
}
