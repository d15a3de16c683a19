//! Why a chat request failed, the code each failure shows the client, and the
//! per-code counters `/metrics` reports.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use thiserror::Error;

use crate::accounts::AccountsError;
use crate::error::ErrorCode;
use crate::files::FilesError;
use crate::model::ValidationError;
use crate::rooms::RoomsError;
use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum ChatError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    BadPayload(String),
    #[error("the request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("join room {0} first")]
    NotJoined(String),
    #[error("a connection may be in at most {0} rooms; leave one first")]
    TooManyRooms(usize),
    #[error("too many requests: slow down")]
    RateLimited,
    #[error("at most {0} messages may wait to be stored at once; wait for their acks")]
    TooManyInFlight(usize),
    #[error("the server is busy, try again shortly")]
    Busy,
    #[error("the message store failed")]
    Store(#[source] StoreError),
    /// A message request the store refused: no such message, not the author's, too
    /// many reactions, a reply to nothing.
    #[error("{0}")]
    Message(#[source] StoreError),
    /// Who the request is from, or whether they may do it.
    #[error("{}", .0.public_message())]
    Accounts(#[source] AccountsError),
    #[error("{}", .0.public_message())]
    Rooms(#[source] RoomsError),
    #[error("rooms, direct messages and read markers need the server in accounts mode")]
    NeedsAccounts,
    #[error("a file may be at most {0} bytes")]
    FileTooLarge(usize),
    #[error("no such file")]
    NoSuchFile,
    #[error("{}", .0)]
    Files(#[source] FilesError),
    #[error("the server failed")]
    Internal(&'static str),
}

impl From<FilesError> for ChatError {
    fn from(error: FilesError) -> Self {
        match error {
            FilesError::TooLarge(limit) => ChatError::FileTooLarge(limit),
            other => ChatError::Files(other),
        }
    }
}

impl From<RoomsError> for ChatError {
    fn from(error: RoomsError) -> Self {
        ChatError::Rooms(error)
    }
}

impl From<StoreError> for ChatError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Busy => ChatError::Busy,
            refused @ (StoreError::NoSuchMessage { .. }
            | StoreError::NotAllowed(_)
            | StoreError::TooManyReactions(_)
            | StoreError::NoSuchReply(_)) => ChatError::Message(refused),
            other => ChatError::Store(other),
        }
    }
}

impl From<AccountsError> for ChatError {
    fn from(error: AccountsError) -> Self {
        match error {
            AccountsError::Invalid(invalid) => ChatError::Invalid(invalid),
            other => ChatError::Accounts(other),
        }
    }
}

impl ChatError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ChatError::Accounts(error) => error.code(),
            ChatError::Rooms(error) => error.code(),
            ChatError::NeedsAccounts => ErrorCode::Invalid,
            ChatError::FileTooLarge(_) | ChatError::Files(FilesError::ImageTooLarge { .. }) => {
                ErrorCode::TooLarge
            }
            ChatError::NoSuchFile => ErrorCode::NotFound,
            ChatError::Files(FilesError::BadImage(_) | FilesError::NotAnImage) => {
                ErrorCode::Invalid
            }
            ChatError::Files(_) => ErrorCode::Internal,
            ChatError::Invalid(error) => error.code(),
            ChatError::BadPayload(_) => ErrorCode::Invalid,
            ChatError::NotJoined(_) => ErrorCode::NotJoined,
            ChatError::TooManyRooms(_) | ChatError::BodyTooLarge(_) => ErrorCode::TooLarge,
            ChatError::RateLimited | ChatError::TooManyInFlight(_) => ErrorCode::RateLimited,
            ChatError::Busy => ErrorCode::Unavailable,
            ChatError::Message(StoreError::NoSuchMessage { .. }) => ErrorCode::NotFound,
            ChatError::Message(StoreError::NotAllowed(_)) => ErrorCode::Forbidden,
            ChatError::Message(StoreError::TooManyReactions(_)) => ErrorCode::TooLarge,
            ChatError::Message(_) => ErrorCode::Invalid,
            ChatError::Store(_) | ChatError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// `{code, message}`, as sent to the client. Store failures are logged in full
    /// but described to the client only in general terms.
    pub fn to_json(&self) -> Value {
        json!({"code": self.code(), "message": self.to_string()})
    }
}

/// Why a client was held back before its request was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A socket's events over the rate limit.
    SocketRate,
    /// An address's HTTP API requests over the rate limit.
    HttpRate,
    /// A socket's sends over the cap of those waiting for their commit.
    InFlight,
    /// A socket disconnected for going on after being refused.
    Flooding,
}

impl Refusal {
    /// Every refusal, in the order `/metrics` lists them; `ALL[r as usize] == r`.
    pub const ALL: [Refusal; 4] = [
        Refusal::SocketRate,
        Refusal::HttpRate,
        Refusal::InFlight,
        Refusal::Flooding,
    ];

    /// The `reason` label in `/metrics`.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::SocketRate => "socket_rate",
            Refusal::HttpRate => "http_rate",
            Refusal::InFlight => "in_flight",
            Refusal::Flooding => "flooding",
        }
    }
}

/// Counters the metrics endpoint reports.
pub struct ChatStats {
    /// Messages queued to sockets by broadcasts (one per recipient).
    pub deliveries: AtomicU64,
    /// Refused requests, one counter per [`ErrorCode`], indexed by [`ErrorCode::index`].
    errors: Vec<AtomicU64>,
    /// Clients held back, one counter per [`Refusal`].
    refusals: [AtomicU64; Refusal::ALL.len()],
}

impl Default for ChatStats {
    fn default() -> Self {
        ChatStats {
            deliveries: AtomicU64::new(0),
            errors: ErrorCode::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            refusals: Default::default(),
        }
    }
}

impl ChatStats {
    pub(super) fn count_error(&self, code: ErrorCode) {
        if let Some(counter) = self.errors.get(code.index()) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn count_refusal(&self, refusal: Refusal) {
        self.refusals[refusal as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// How many times clients were held back, for each reason.
    pub fn refusals(&self) -> impl Iterator<Item = (Refusal, u64)> + '_ {
        Refusal::ALL
            .iter()
            .zip(&self.refusals)
            .map(|(refusal, count)| (*refusal, count.load(Ordering::Relaxed)))
    }

    /// How many requests were refused with each code, every code listed.
    pub fn errors(&self) -> impl Iterator<Item = (ErrorCode, u64)> + '_ {
        ErrorCode::ALL
            .iter()
            .zip(&self.errors)
            .map(|(code, count)| (*code, count.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MessageText;

    #[test]
    fn each_failure_shows_its_code() {
        let too_long = MessageText::parse(&"x".repeat(11), 10).unwrap_err();
        assert_eq!(ChatError::from(too_long).code(), ErrorCode::TooLarge);
        assert_eq!(ChatError::BadPayload("x".into()).code(), ErrorCode::Invalid);
        assert_eq!(
            ChatError::NotJoined("r".into()).code(),
            ErrorCode::NotJoined
        );
        assert_eq!(ChatError::RateLimited.code(), ErrorCode::RateLimited);
        assert_eq!(
            ChatError::TooManyInFlight(64).code(),
            ErrorCode::RateLimited
        );
        assert_eq!(ChatError::TooManyRooms(3).code(), ErrorCode::TooLarge);
        assert_eq!(
            ChatError::from(StoreError::Busy).code(),
            ErrorCode::Unavailable
        );
        assert_eq!(
            ChatError::from(StoreError::WriterGone).code(),
            ErrorCode::Internal
        );
        assert_eq!(
            ChatError::from(AccountsError::SignInFirst).code(),
            ErrorCode::Unauthorized
        );
    }

    #[test]
    fn account_failures_keep_internal_details_from_the_client() {
        let body = ChatError::from(AccountsError::Hashing("out of memory".into())).to_json();
        assert_eq!(
            body,
            json!({"code": "internal", "message": "the server failed"})
        );
        let body = ChatError::from(AccountsError::WrongCredentials).to_json();
        assert_eq!(
            body,
            json!({"code": "unauthorized", "message": "wrong username or password"})
        );
    }

    #[test]
    fn the_client_sees_the_code_and_a_message() {
        let body = ChatError::NotJoined("lobby".into()).to_json();
        assert_eq!(
            body,
            json!({"code": "not_joined", "message": "join room lobby first"})
        );
    }

    #[test]
    fn every_refusal_has_its_place_and_its_own_counter() {
        for (position, refusal) in Refusal::ALL.iter().enumerate() {
            assert_eq!(*refusal as usize, position, "{refusal:?}");
        }
        let stats = ChatStats::default();
        stats.count_refusal(Refusal::InFlight);
        let counted: Vec<(Refusal, u64)> = stats.refusals().collect();
        assert_eq!(counted.len(), Refusal::ALL.len());
        for (refusal, count) in counted {
            assert_eq!(
                count,
                u64::from(refusal == Refusal::InFlight),
                "{refusal:?}"
            );
        }
    }

    #[test]
    fn every_code_is_counted_separately() {
        let stats = ChatStats::default();
        stats.count_error(ErrorCode::Conflict);
        stats.count_error(ErrorCode::Conflict);
        stats.count_error(ErrorCode::Invalid);
        let counted: Vec<(ErrorCode, u64)> = stats.errors().collect();
        assert_eq!(counted.len(), ErrorCode::ALL.len());
        for (code, count) in counted {
            let expected = match code {
                ErrorCode::Conflict => 2,
                ErrorCode::Invalid => 1,
                _ => 0,
            };
            assert_eq!(count, expected, "{code}");
        }
    }
}
