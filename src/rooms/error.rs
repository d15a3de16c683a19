//! Why a room request failed, and the code each failure shows the client.

use thiserror::Error;

use crate::error::ErrorCode;
use crate::model::{RoomName, Username};
use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum RoomsError {
    /// Not a member of a closed or direct room (or a `dm:` id nobody opened): the
    /// same answer either way, so it tells nothing about the room.
    #[error("you are not a member of room {0}")]
    NotMember(RoomName),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("room {0} already exists")]
    Exists(RoomName),
    #[error("no room {0}")]
    UnknownRoom(RoomName),
    #[error("no active user {0}")]
    UnknownUser(Username),
    #[error("a direct conversation has 2 to {max} people, not {count}")]
    DirectSize { count: usize, max: usize },
    #[error("you may be in at most {0} rooms; part one first")]
    TooManyRooms(usize),
    #[error("reading the room's messages failed: {0}")]
    Store(#[source] StoreError),
    #[error("cannot open the rooms' storage: {0}")]
    Storage(#[source] StoreError),
    #[error("rooms storage failed while {op}: {source}")]
    Sled {
        op: &'static str,
        #[source]
        source: sled::Error,
    },
    #[error("a stored room record is damaged at {key}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("cannot encode a room record: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("a rooms task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl RoomsError {
    pub fn code(&self) -> ErrorCode {
        match self {
            RoomsError::NotMember(_) | RoomsError::Forbidden(_) => ErrorCode::Forbidden,
            RoomsError::Exists(_) => ErrorCode::Conflict,
            RoomsError::UnknownRoom(_) | RoomsError::UnknownUser(_) => ErrorCode::NotFound,
            RoomsError::DirectSize { .. } => ErrorCode::Invalid,
            RoomsError::TooManyRooms(_) => ErrorCode::TooLarge,
            RoomsError::Store(StoreError::Busy) => ErrorCode::Unavailable,
            RoomsError::Store(_)
            | RoomsError::Storage(_)
            | RoomsError::Sled { .. }
            | RoomsError::Corrupt { .. }
            | RoomsError::Encode(_)
            | RoomsError::Task(_) => ErrorCode::Internal,
        }
    }

    /// What the client is told: internal failures only in general terms.
    pub fn public_message(&self) -> String {
        match self.code() {
            ErrorCode::Internal => "the server failed".to_owned(),
            _ => self.to_string(),
        }
    }
}
