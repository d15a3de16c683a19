//! Why an accounts request failed, and the one place those failures are mapped onto
//! the codes clients see (`unauthorized`, `forbidden`, `not_found`, `conflict`…).

use thiserror::Error;

use crate::error::ErrorCode;
use crate::model::{TokenName, Username, ValidationError};
use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum AccountsError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The same for an unknown username, a wrong password and a deactivated account,
    /// so that the answer never tells which usernames exist.
    #[error("wrong username or password")]
    WrongCredentials,
    #[error("sign in first")]
    SignInFirst,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("too many failed sign-ins from this address: try again in a few minutes")]
    TooManyFailures,
    #[error("only an admin may do this")]
    AdminOnly,
    #[error("a signed-in request that changes something must carry the Origin of an allowed page")]
    MissingOrigin,
    #[error("setting up from another machine needs the code the server printed when it started")]
    SetupCodeRequired,
    #[error("Parley is set up already: an admin exists")]
    AlreadySetUp,
    #[error("the username {0} is taken")]
    UsernameTaken(Username),
    #[error("you already have a token named {0}")]
    TokenNameTaken(TokenName),
    #[error("this join link is not valid (any more); ask for a new one")]
    UnknownInvite,
    #[error("no token named {0}")]
    UnknownToken(String),
    #[error("no user {0}")]
    UnknownUser(String),
    #[error("{0} is the last admin: make someone else an admin first")]
    LastAdmin(Username),
    #[error("accounts are off: this server runs with --auth open")]
    AccountsOff,
    #[error("{0}")]
    BadRecord(String),
    #[error("the account store failed: {0}")]
    Storage(#[source] StoreError),
    #[error("stored account data is corrupt at {key}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("cannot encode an account record: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("an accounts task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl AccountsError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AccountsError::Invalid(error) => error.code(),
            AccountsError::BadRecord(_) => ErrorCode::Invalid,
            AccountsError::WrongCredentials
            | AccountsError::SignInFirst
            | AccountsError::WrongCurrentPassword => ErrorCode::Unauthorized,
            AccountsError::TooManyFailures => ErrorCode::RateLimited,
            AccountsError::AdminOnly
            | AccountsError::MissingOrigin
            | AccountsError::SetupCodeRequired => ErrorCode::Forbidden,
            AccountsError::AlreadySetUp
            | AccountsError::UsernameTaken(_)
            | AccountsError::TokenNameTaken(_)
            | AccountsError::LastAdmin(_) => ErrorCode::Conflict,
            AccountsError::UnknownInvite
            | AccountsError::UnknownToken(_)
            | AccountsError::UnknownUser(_)
            | AccountsError::AccountsOff => ErrorCode::NotFound,
            AccountsError::Storage(_)
            | AccountsError::Corrupt { .. }
            | AccountsError::Hashing(_)
            | AccountsError::Encode(_)
            | AccountsError::Task(_) => ErrorCode::Internal,
        }
    }

    /// What a client is told: the whole story for its own mistakes, only that the
    /// server failed otherwise (the details go to the log).
    pub fn public_message(&self) -> String {
        match self.code() {
            ErrorCode::Internal => "the server failed".to_owned(),
            _ => self.to_string(),
        }
    }
}

/// A sled failure while `op`, as the accounts report it.
pub(super) fn storage(op: &'static str) -> impl Fn(sled::Error) -> AccountsError {
    move |source| AccountsError::Storage(StoreError::Sled { op, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_map_onto_the_contract_codes() {
        let ann = Username::parse("ann").unwrap();
        let cases = [
            (AccountsError::WrongCredentials, 401),
            (AccountsError::SignInFirst, 401),
            (AccountsError::TooManyFailures, 429),
            (AccountsError::AdminOnly, 403),
            (AccountsError::MissingOrigin, 403),
            (AccountsError::SetupCodeRequired, 403),
            (AccountsError::UnknownInvite, 404),
            (AccountsError::UsernameTaken(ann.clone()), 409),
            (AccountsError::LastAdmin(ann), 409),
            (AccountsError::AlreadySetUp, 409),
            (AccountsError::Hashing("x".into()), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.code().http_status().as_u16(), status, "{error}");
        }
    }

    #[test]
    fn internal_details_stay_in_the_log() {
        let error = AccountsError::Corrupt {
            key: "users/ann".into(),
            reason: "not JSON".into(),
        };
        assert_eq!(error.public_message(), "the server failed");
        assert!(error.to_string().contains("users/ann"));
        assert_eq!(
            AccountsError::WrongCredentials.public_message(),
            "wrong username or password"
        );
    }
}
