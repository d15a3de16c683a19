//! The store's write-ahead log: what makes a group commit durable without flushing sled.
//!
//! Why it exists: sled's `flush` hands each log write to sled's IO thread pool, which
//! wakes every idle pool thread for every write. At tens of thousands of commits per
//! second that wake-up storm alone took a third of the server's CPU. So every batch
//! applied to sled is also appended here, and a commit is durable once this file is
//! synced with `sync_file_range` (the call sled's own flush makes). Like sled's
//! background flusher, the flusher also commits the file's length with `fdatasync` at
//! most every [`FULL_SYNC_INTERVAL`], after answering, so that it delays nobody. sled
//! itself is flushed only when a segment is retired; then the segment is deleted.
//!
//! A segment is `wal/<sequence, 16 hex digits>.log` holding records:
//!
//! `payload length u32 LE ‖ CRC-32 of payload u32 LE ‖ payload`, the payload being
//! `(key length u32 LE ‖ key ‖ value length u32 LE ‖ value)*`.
//!
//! One record is one whole sled batch, and batches carry absolute values (ids, counters),
//! so replaying records that sled already holds changes nothing. Reading a segment stops
//! at the first record that is cut short, empty or fails its checksum: a write torn by a
//! crash, which was therefore never acknowledged.
//!
//! Every file operation goes through the traits of `log_file.rs`, so that a test can
//! run the log on a disk that simulates power cuts.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::log_file::{LogDisk, LogFile};

/// The log's directory inside the data directory.
const WAL_DIR: &str = "wal";
const SEGMENT_SUFFIX: &str = ".log";
/// Length and checksum in front of every record.
const HEADER_BYTES: usize = 8;
/// How often the flusher commits the log's length, matching sled's default
/// `flush_every_ms`.
const FULL_SYNC_INTERVAL: Duration = Duration::from_millis(500);

/// The key/value inserts of one record: one batch.
pub(super) type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Encodes one record into `out` (cleared first).
fn encode_record(entries: &[(Vec<u8>, Vec<u8>)], out: &mut Vec<u8>) {
    out.clear();
    out.resize(HEADER_BYTES, 0);
    for (key, value) in entries {
        for part in [key, value] {
            // Keys and values are bounded far below 4 GiB by the payload limit.
            let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(part);
        }
    }
    let payload = &out[HEADER_BYTES..];
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let crc = crc32fast::hash(payload);
    out[..4].copy_from_slice(&len.to_le_bytes());
    out[4..HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
}

/// One segment file, shared by the writer that appends to it and the flusher that syncs
/// it.
pub(super) struct Segment {
    path: PathBuf,
    file: Box<dyn LogFile>,
    disk: Arc<dyn LogDisk>,
    broken: Arc<Broken>,
}

impl Segment {
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes everything appended so far to the disk. A failure breaks the log: after
    /// a failed sync the kernel may have dropped the pages, so a record could be missing
    /// on disk and replay would stop there, losing every later record even if it was
    /// synced.
    pub(super) fn sync(&self) -> io::Result<()> {
        self.broken.note(self.file.sync_range())
    }

    /// Also commits the file's length, which `sync_file_range` does not: without it an
    /// OS crash may cut the file back to its last committed length.
    pub(super) fn commit_length(&self) -> io::Result<()> {
        self.broken.note(self.file.sync_data())
    }

    /// Deletes the file; only once sled holds everything in it durably.
    pub(super) fn remove(&self) -> io::Result<()> {
        self.disk.remove(&self.path)
    }
}

/// Set once the log can no longer promise that replay sees every record; from then on
/// every append fails, so nothing more is acknowledged until a restart recovers.
#[derive(Default)]
struct Broken(AtomicBool);

impl Broken {
    fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Passes a sync's result through, breaking the log if it failed.
    fn note(&self, synced: io::Result<()>) -> io::Result<()> {
        if synced.is_err() {
            self.set();
        }
        synced
    }

    fn check(&self) -> io::Result<()> {
        if self.0.load(Ordering::SeqCst) {
            return Err(io::Error::other(
                "the write-ahead log failed earlier; restart parley to recover",
            ));
        }
        Ok(())
    }
}

/// A record [`Wal::append`] wrote: the segment it is in, and the segment it filled.
pub(super) struct LoggedRecord {
    /// The segment holding the record; syncing it makes the record durable.
    pub(super) segment: Arc<Segment>,
    /// Set when this record filled its segment: once sled is flushed, the retired
    /// segment is no longer needed and can be deleted.
    pub(super) retired: Option<Arc<Segment>>,
}

/// The appending end of the log. Owned by the store's writer thread.
pub(super) struct Wal {
    disk: Arc<dyn LogDisk>,
    dir: PathBuf,
    segment_limit: u64,
    next_sequence: u64,
    active: Arc<Segment>,
    active_len: u64,
    /// Reused for every record, so appending allocates nothing once warm.
    buffer: Vec<u8>,
    broken: Arc<Broken>,
}

/// Segments a previous run left behind, oldest first, to replay before starting.
pub(super) struct Leftovers {
    disk: Arc<dyn LogDisk>,
    dir: PathBuf,
    segments: Vec<(u64, PathBuf)>,
}

impl Leftovers {
    /// Finds the segments in `data_dir`, creating the log directory if needed.
    pub(super) fn find(disk: Arc<dyn LogDisk>, data_dir: &Path) -> io::Result<Leftovers> {
        let dir = data_dir.join(WAL_DIR);
        disk.create_dir_all(&dir)?;
        let segments = list_segments(&*disk, &dir)?;
        Ok(Leftovers {
            disk,
            dir,
            segments,
        })
    }

    /// The intact records of each segment, oldest segment first, read one at a time.
    pub(super) fn segments(&self) -> impl Iterator<Item = io::Result<Vec<Entries>>> + '_ {
        self.segments
            .iter()
            .map(|(_, path)| read_segment(&*self.disk, path))
    }

    #[cfg(test)]
    pub(super) fn count(&self) -> usize {
        self.segments.len()
    }

    /// Deletes the replayed segments (sled must hold their contents durably by now) and
    /// starts a fresh one after them.
    pub(super) fn start(self, segment_limit: u64) -> io::Result<Wal> {
        for (_, path) in &self.segments {
            self.disk.remove(path)?;
        }
        let next_sequence = self.segments.last().map_or(0, |(sequence, _)| sequence + 1);
        let broken = Arc::new(Broken::default());
        let active = create_segment(&self.disk, &self.dir, next_sequence, &broken)?;
        Ok(Wal {
            disk: self.disk,
            dir: self.dir,
            segment_limit,
            next_sequence: next_sequence + 1,
            active,
            active_len: 0,
            buffer: Vec::new(),
            broken,
        })
    }
}

/// The segments in the log directory, oldest first.
fn list_segments(disk: &dyn LogDisk, dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    for path in disk.list(dir)? {
        let sequence = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(SEGMENT_SUFFIX))
            .and_then(|stem| u64::from_str_radix(stem, 16).ok());
        if let Some(sequence) = sequence {
            segments.push((sequence, path));
        }
    }
    segments.sort();
    Ok(segments)
}

fn create_segment(
    disk: &Arc<dyn LogDisk>,
    dir: &Path,
    sequence: u64,
    broken: &Arc<Broken>,
) -> io::Result<Arc<Segment>> {
    let path = dir.join(format!("{sequence:016x}{SEGMENT_SUFFIX}"));
    let file = disk.create_new(&path)?;
    // The new name must survive a crash too, or its records would be lost with it.
    disk.sync_dir(dir)?;
    Ok(Arc::new(Segment {
        path,
        file,
        disk: Arc::clone(disk),
        broken: Arc::clone(broken),
    }))
}

impl Wal {
    /// Writes a record to the active segment (into the page cache; the flusher syncs
    /// it) and moves to a new segment when this one is full.
    pub(super) fn append(&mut self, entries: &[(Vec<u8>, Vec<u8>)]) -> io::Result<LoggedRecord> {
        self.broken.check()?;
        encode_record(entries, &mut self.buffer);
        if let Err(error) = self.active.file.write_at(self.active_len, &self.buffer) {
            // A partly written record would end replay of this segment early, hiding
            // the records appended after it: cut it off, or stop logging at all.
            if self.active.file.set_len(self.active_len).is_err() {
                self.broken.set();
            }
            return Err(error);
        }
        self.active_len += self.buffer.len() as u64;
        if let Err(error) = self.active.file.start_writeback() {
            // Only an early start was lost; the flusher's sync reports real trouble.
            tracing::debug!(%error, "cannot start writing the log out early");
        }
        let segment = Arc::clone(&self.active);
        let retired = if self.active_len < self.segment_limit {
            None
        } else {
            self.rotate()
        };
        Ok(LoggedRecord { segment, retired })
    }

    /// Moves to a new segment and returns the full one. The record that filled it is
    /// written either way, so a failure here only lets the full segment grow; the next
    /// append tries again.
    fn rotate(&mut self) -> Option<Arc<Segment>> {
        // Never retried under the same name: a failure may have left the file behind.
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        match create_segment(&self.disk, &self.dir, sequence, &self.broken) {
            Ok(next) => {
                self.active_len = 0;
                Some(std::mem::replace(&mut self.active, next))
            }
            Err(error) => {
                tracing::warn!(%error, "cannot start a new log segment; the full one keeps growing");
                None
            }
        }
    }

    /// Deletes every segment; only after sled was flushed with everything they hold.
    pub(super) fn remove_all(self) -> io::Result<()> {
        drop(self.active);
        for (_, path) in list_segments(&*self.disk, &self.dir)? {
            self.disk.remove(&path)?;
        }
        Ok(())
    }
}

/// Reads the intact records of one segment, in order.
fn read_segment(disk: &dyn LogDisk, path: &Path) -> io::Result<Vec<Entries>> {
    let bytes = disk.read(path)?;
    let mut records = Vec::new();
    let mut rest = bytes.as_slice();
    while let Some((payload, after)) = next_record(rest) {
        match decode_entries(payload) {
            Some(entries) => records.push(entries),
            None => break,
        }
        rest = after;
    }
    if !rest.is_empty() {
        tracing::warn!(
            segment = %path.display(),
            ignored_bytes = rest.len(),
            "the log ends in a torn write; it was never acknowledged"
        );
    }
    Ok(records)
}

/// Splits off the next intact record's payload.
fn next_record(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let header = bytes.get(..HEADER_BYTES)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    let payload = bytes.get(HEADER_BYTES..HEADER_BYTES.checked_add(len)?)?;
    if len == 0 || crc32fast::hash(payload) != crc {
        return None;
    }
    Some((payload, &bytes[HEADER_BYTES + len..]))
}

fn decode_entries(mut payload: &[u8]) -> Option<Entries> {
    let mut entries = Vec::new();
    while !payload.is_empty() {
        let (key, rest) = take_part(payload)?;
        let (value, rest) = take_part(rest)?;
        entries.push((key.to_vec(), value.to_vec()));
        payload = rest;
    }
    Some(entries)
}

fn take_part(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let part = bytes.get(4..4usize.checked_add(len)?)?;
    Some((part, &bytes[4 + len..]))
}

/// Tracks when the flusher last committed a segment's metadata.
pub(super) struct SyncClock {
    last_full: Instant,
}

impl Default for SyncClock {
    fn default() -> SyncClock {
        SyncClock {
            last_full: Instant::now(),
        }
    }
}

impl SyncClock {
    /// Whether the next sync should be a full one, and if so, notes that it happens now.
    pub(super) fn full_sync_due(&mut self) -> bool {
        let due = self.last_full.elapsed() >= FULL_SYNC_INTERVAL;
        if due {
            self.last_full = Instant::now();
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::super::log_file::OsDisk;
    use super::*;

    fn find(dir: &Path) -> Leftovers {
        Leftovers::find(Arc::new(OsDisk), dir).unwrap()
    }

    fn read(path: &Path) -> Vec<Entries> {
        read_segment(&OsDisk, path).unwrap()
    }

    fn owned(entries: &[(&str, &str)]) -> Entries {
        entries
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn records_read_back_in_order_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = find(dir.path()).start(64).unwrap();
        let first = wal.append(&owned(&[("a", "1"), ("b", "2")])).unwrap();
        assert!(first.retired.is_none());
        let second = wal.append(&owned(&[("c", &"x".repeat(60))])).unwrap();
        let retired = second.retired.expect("the second record fills 64 bytes");
        assert_eq!(retired.path(), first.segment.path());
        wal.append(&owned(&[("d", "4")])).unwrap();

        let leftovers = find(dir.path());
        let read: Vec<Entries> = leftovers
            .segments()
            .flat_map(|records| records.unwrap())
            .collect();
        assert_eq!(
            read,
            vec![
                owned(&[("a", "1"), ("b", "2")]),
                owned(&[("c", &"x".repeat(60))]),
                owned(&[("d", "4")]),
            ]
        );
        // Starting again removes what was replayed and continues the numbering.
        let wal = leftovers.start(64).unwrap();
        assert_eq!(find(dir.path()).count(), 1);
        assert!(wal.active.path().ends_with("0000000000000002.log"));
        wal.remove_all().unwrap();
        assert_eq!(find(dir.path()).count(), 0);
    }

    #[test]
    fn a_torn_or_damaged_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = find(dir.path()).start(1 << 20).unwrap();
        let appended = wal.append(&owned(&[("kept", "yes")])).unwrap();
        let path = appended.segment.path().to_owned();
        let first_len = std::fs::read(&path).unwrap().len();
        wal.append(&owned(&[("torn", "no")])).unwrap();
        let bytes = std::fs::read(&path).unwrap();

        // Cut inside the second record.
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(read(&path), vec![owned(&[("kept", "yes")])]);

        // A flipped byte fails the checksum.
        let mut damaged = bytes.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 0xff;
        std::fs::write(&path, &damaged).unwrap();
        assert_eq!(read(&path), vec![owned(&[("kept", "yes")])]);

        // Zeros (space a crash left unwritten) end the log too.
        let mut zeroed = bytes[..first_len].to_vec();
        zeroed.resize(bytes.len() + 16, 0);
        std::fs::write(&path, &zeroed).unwrap();
        assert_eq!(read(&path), vec![owned(&[("kept", "yes")])]);
    }

    #[test]
    fn after_a_failed_sync_nothing_more_is_logged() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = find(dir.path()).start(1 << 20).unwrap();
        let appended = wal.append(&owned(&[("a", "1")])).unwrap();
        // What a failing sync does to the shared flag.
        appended.segment.broken.set();
        let refused = wal.append(&owned(&[("b", "2")])).err().unwrap();
        assert!(refused.to_string().contains("restart"), "{refused}");
        assert_eq!(read(appended.segment.path()), vec![owned(&[("a", "1")])]);
    }

    #[test]
    fn full_syncs_are_spaced_out() {
        let mut clock = SyncClock::default();
        assert!(!clock.full_sync_due());
        clock.last_full = Instant::now() - FULL_SYNC_INTERVAL;
        assert!(clock.full_sync_due());
        assert!(!clock.full_sync_due());
    }
}
