//! How durable an acknowledged write is: the two sync levels, and the rule the flusher
//! applies to every group commit before and after answering it. The README's "Storage"
//! section states what each level survives.

use std::fmt;
use std::io;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::segment::Segment;

/// How often the `os` level commits the log with `fdatasync`, matching sled's default
/// `flush_every_ms`.
const FULL_SYNC_INTERVAL: Duration = Duration::from_millis(500);

/// What must have happened to a write before it is acknowledged or broadcast.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SyncLevel {
    /// The log is synced with `fdatasync` first: an acknowledged write survives a power
    /// cut or an OS crash.
    #[default]
    Full,
    /// The log's pages are handed to the disk with `sync_file_range` first, and
    /// committed with `fdatasync` at most every 500 ms afterwards: an acknowledged write
    /// survives a crash of the process, but a power cut or an OS crash may lose what was
    /// acknowledged since the last `fdatasync`.
    Os,
}

impl FromStr for SyncLevel {
    type Err = String;

    fn from_str(text: &str) -> Result<SyncLevel, String> {
        match text {
            "full" => Ok(SyncLevel::Full),
            "os" => Ok(SyncLevel::Os),
            _ => Err(format!("{text:?} is neither `full` nor `os`")),
        }
    }
}

impl fmt::Display for SyncLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncLevel::Full => "full",
            SyncLevel::Os => "os",
        })
    }
}

/// The flusher's side of a sync level: what it does for each group of batches.
pub(super) struct GroupSync {
    level: SyncLevel,
    /// When the `os` level last committed the log with `fdatasync`.
    last_full: Instant,
}

impl GroupSync {
    pub(super) fn new(level: SyncLevel) -> GroupSync {
        GroupSync {
            level,
            last_full: Instant::now(),
        }
    }

    /// Makes every record written to `segments` so far as durable as the level
    /// promises. Nothing of the group may be answered before this returns Ok.
    pub(super) fn before_answering(&self, segments: &[Arc<Segment>]) -> io::Result<()> {
        segments.iter().try_for_each(|segment| match self.level {
            SyncLevel::Full => segment.sync_data(),
            SyncLevel::Os => segment.sync_range(),
        })
    }

    /// At the `os` level, now and then commits what was just answered, after answering
    /// so that it delays nobody.
    pub(super) fn after_answering(&mut self, segments: &[Arc<Segment>]) {
        if self.level != SyncLevel::Os || self.last_full.elapsed() < FULL_SYNC_INTERVAL {
            return;
        }
        self.last_full = Instant::now();
        for segment in segments {
            if let Err(error) = segment.sync_data() {
                tracing::error!(%error, "committing the log with fdatasync failed");
            }
        }
    }

    /// As if the `os` level's last `fdatasync` were half a second ago.
    #[cfg(test)]
    pub(super) fn make_full_sync_due(&mut self) {
        self.last_full = Instant::now() - FULL_SYNC_INTERVAL;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_and_print_as_in_the_config() {
        for level in [SyncLevel::Full, SyncLevel::Os] {
            assert_eq!(level.to_string().parse(), Ok(level));
        }
        assert_eq!(SyncLevel::default(), SyncLevel::Full);
        assert_eq!(
            "fsync".parse::<SyncLevel>(),
            Err("\"fsync\" is neither `full` nor `os`".to_owned())
        );
    }
}
