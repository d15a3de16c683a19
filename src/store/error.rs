//! What can go wrong in the store: [`StoreError`], which every store call returns, and
//! [`WriteFailure`], a failed group commit of which each waiter gets its own copy.

use std::path::PathBuf;
use std::sync::Arc;

/// Every way a store call can fail; each variant names what the operator needs to act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is busy: too many writes are waiting")]
    Busy,
    #[error("no message {id} in room {room}")]
    NoSuchMessage { room: String, id: u64 },
    /// A change the message's author (or an admin) may make, asked by someone else.
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("a message may have at most {0} different reactions")]
    TooManyReactions(usize),
    #[error("reply_to {0} is not a message of this room")]
    NoSuchReply(u64),
    #[error("data directory {} is in use by another parley process", dir.display())]
    Locked { dir: PathBuf },
    #[error("cannot use data directory {}: {source}", dir.display())]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("data directory {} is corrupt or unreadable: {source}", dir.display())]
    Open { dir: PathBuf, source: sled::Error },
    #[error("data directory {} is corrupt: the storage engine crashed while opening it", dir.display())]
    OpenCrashed { dir: PathBuf },
    #[error("cannot start the store writer thread: {0}")]
    Spawn(std::io::Error),
    #[error("storage error while {op}: {source}")]
    Sled {
        op: &'static str,
        source: sled::Error,
    },
    #[error("write-ahead log error while {op}: {source}")]
    Log {
        op: &'static str,
        source: Arc<std::io::Error>,
    },
    #[error("corrupt stored data at key {key}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("cannot encode message {id}: {source}")]
    Encode {
        id: u64,
        source: bincode::error::EncodeError,
    },
    #[error("the store writer has stopped")]
    WriterGone,
    #[error("the store writer thread panicked")]
    WriterPanicked,
    #[error("a storage read task failed: {0}")]
    ReadTask(#[from] tokio::task::JoinError),
    #[error("import line {line}: {source}")]
    ImportParse {
        line: u64,
        source: serde_json::Error,
    },
    #[error("import line {line}: {reason}")]
    ImportRecord { line: u64, reason: String },
    #[error("import: cannot read line {line}: {source}")]
    ImportRead { line: u64, source: std::io::Error },
    #[error("export: cannot write: {source}")]
    ExportWrite { source: std::io::Error },
}

pub(super) fn sled_err(op: &'static str) -> impl Fn(sled::Error) -> StoreError {
    move |source| StoreError::Sled { op, source }
}

pub(super) fn corrupt(key: &[u8], reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: key.escape_ascii().to_string(),
        reason: reason.into(),
    }
}

pub(super) fn log_error(op: &'static str, source: std::io::Error) -> StoreError {
    StoreError::Log {
        op,
        source: Arc::new(source),
    }
}

/// Why a whole batch failed. Kept apart from [`StoreError`] because every waiter in the
/// batch needs its own copy.
#[derive(Clone)]
pub(super) struct WriteFailure {
    op: &'static str,
    cause: FailureCause,
}

#[derive(Clone)]
enum FailureCause {
    Sled(sled::Error),
    Log(Arc<std::io::Error>),
}

impl WriteFailure {
    pub(super) fn sled(op: &'static str, source: sled::Error) -> WriteFailure {
        WriteFailure {
            op,
            cause: FailureCause::Sled(source),
        }
    }

    pub(super) fn log(op: &'static str, source: std::io::Error) -> WriteFailure {
        WriteFailure {
            op,
            cause: FailureCause::Log(Arc::new(source)),
        }
    }

    pub(super) fn clone_as_error(&self) -> StoreError {
        match &self.cause {
            FailureCause::Sled(source) => StoreError::Sled {
                op: self.op,
                source: source.clone(),
            },
            FailureCause::Log(source) => StoreError::Log {
                op: self.op,
                source: Arc::clone(source),
            },
        }
    }
}

impl std::fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cause: &dyn std::fmt::Display = match &self.cause {
            FailureCause::Sled(source) => source,
            FailureCause::Log(source) => source,
        };
        write!(f, "{}: {cause}", self.op)
    }
}
