//! The store's write-ahead log: what makes a group commit durable without flushing sled.
//!
//! Why it exists: sled's `flush` hands each log write to sled's IO thread pool, which
//! wakes every idle pool thread for every write. At tens of thousands of commits per
//! second that wake-up storm alone took a third of the server's CPU. So every batch
//! applied to sled is also appended here, and the flusher syncs this file once per
//! group commit, as the sync level says (`durability.rs`), before answering. sled
//! itself is flushed only when a segment is retired; then the segment is deleted.
//!
//! A segment is `wal/<sequence, 16 hex digits>.log`, prepared zero-filled ahead of use
//! (`segment.rs`), holding records from its start:
//!
//! `payload length u32 LE ‖ CRC-32 of payload u32 LE ‖ payload`, the payload being
//! `(key length u32 LE ‖ key ‖ value length u32 LE ‖ value)*`. An empty value removes
//! the key (no stored value is empty).
//!
//! One record is one whole sled batch, and batches carry absolute values (ids, counters),
//! so replaying records that sled already holds changes nothing. Reading a segment stops
//! at the first record that is empty (the zeros no record reached yet), cut short or
//! fails its checksum (a write torn by a crash, which was therefore never
//! acknowledged). A record that does not fit in what is left of the active segment goes
//! to the next one.
//!
//! Every file operation goes through the traits of `log_file.rs`, so that a test can
//! run the log on a disk that simulates power cuts.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::log_file::LogDisk;
use super::segment::{Broken, Segment, Spares, segment_sequence};

/// The log's directory inside the data directory.
const WAL_DIR: &str = "wal";
/// Length and checksum in front of every record.
const HEADER_BYTES: usize = 8;

/// The key/value inserts of one record: one batch; an empty value is a removal.
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

/// A record [`Wal::append`] wrote: the segment it is in, and the segments it closed.
pub(super) struct LoggedRecord {
    /// The segment holding the record; syncing it makes the record durable.
    pub(super) segment: Arc<Segment>,
    /// Full segments the log moved on from to write this record. Once sled is flushed,
    /// they are no longer needed and can be deleted.
    pub(super) retired: Vec<Arc<Segment>>,
}

/// The appending end of the log. Owned by the store's writer thread.
pub(super) struct Wal {
    disk: Arc<dyn LogDisk>,
    dir: PathBuf,
    active: Arc<Segment>,
    /// Where the next record goes in the active segment.
    active_len: u64,
    /// Segments left since the last record written, to hand to the flusher with the
    /// next one.
    full: Vec<Arc<Segment>>,
    /// Reused for every record, so appending allocates nothing once warm.
    buffer: Vec<u8>,
    broken: Arc<Broken>,
    spares: Spares,
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
        // The log's own name must survive a crash as much as the segments in it.
        disk.sync_dir(data_dir)?;
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
    pub(super) fn sequences(&self) -> Vec<u64> {
        self.segments
            .iter()
            .map(|(sequence, _)| *sequence)
            .collect()
    }

    /// Deletes the replayed segments (sled must hold their contents durably by now) and
    /// starts a fresh log after them, with segments of at most `segment_limit` bytes.
    pub(super) fn start(self, segment_limit: u64) -> io::Result<Wal> {
        for (_, path) in &self.segments {
            self.disk.remove(path)?;
        }
        let next_sequence = self.segments.last().map_or(0, |(sequence, _)| sequence + 1);
        let broken = Arc::new(Broken::default());
        let spares = Spares::start(
            Arc::clone(&self.disk),
            self.dir.clone(),
            next_sequence,
            segment_limit,
            Arc::clone(&broken),
        )?;
        let active = spares.take()?;
        Ok(Wal {
            disk: self.disk,
            dir: self.dir,
            active,
            active_len: 0,
            full: Vec::new(),
            buffer: Vec::new(),
            broken,
            spares,
        })
    }
}

/// The segments in the log directory, oldest first.
fn list_segments(disk: &dyn LogDisk, dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut segments: Vec<(u64, PathBuf)> = disk
        .list(dir)?
        .into_iter()
        .filter_map(|path| Some((segment_sequence(&path)?, path)))
        .collect();
    segments.sort();
    Ok(segments)
}

impl Wal {
    /// Writes a record to the active segment (into the page cache; the flusher syncs
    /// it), first moving to the next segment if the record does not fit in this one.
    pub(super) fn append(&mut self, entries: &[(Vec<u8>, Vec<u8>)]) -> io::Result<LoggedRecord> {
        self.broken.check()?;
        encode_record(entries, &mut self.buffer);
        let len = self.buffer.len() as u64;
        // A record larger than a whole segment goes alone into one, growing it.
        if self.active_len > 0 && self.active_len + len > self.active.capacity {
            self.rotate();
        }
        if let Err(error) = self.active.file.write_at(self.active_len, &self.buffer) {
            // A partly written record would end replay of this segment early, hiding
            // the records appended after it: cut it off (the rest of the segment then
            // grows as it is written), or stop logging at all.
            if self.active.file.set_len(self.active_len).is_err() {
                self.broken.set();
            }
            return Err(error);
        }
        self.active_len += len;
        if let Err(error) = self.active.file.start_writeback() {
            // Only an early start was lost; the flusher's sync reports real trouble.
            tracing::debug!(%error, "cannot start writing the log out early");
        }
        Ok(LoggedRecord {
            segment: Arc::clone(&self.active),
            retired: std::mem::take(&mut self.full),
        })
    }

    /// Moves to the prepared next segment. If there is none, the full one grows instead
    /// (slower to sync, as its size changes) and the next append tries again.
    fn rotate(&mut self) {
        match self.spares.take() {
            Ok(next) => {
                self.active_len = 0;
                self.full.push(std::mem::replace(&mut self.active, next));
            }
            Err(error) => {
                tracing::warn!(%error, "cannot start a new log segment; the full one keeps growing");
            }
        }
    }

    /// Deletes every segment; only after sled was flushed with everything they hold.
    pub(super) fn remove_all(self) -> io::Result<()> {
        // Stops the preparing thread first, so that no new segment appears meanwhile.
        drop(self.spares);
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
    // Zeros are the prepared space no record reached yet; anything else is a torn write.
    let torn = rest
        .iter()
        .rposition(|&byte| byte != 0)
        .map_or(0, |last| last + 1);
    if torn > 0 {
        tracing::warn!(
            segment = %path.display(),
            ignored_bytes = torn,
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

    fn encoded_len(entries: &Entries) -> usize {
        let mut out = Vec::new();
        encode_record(entries, &mut out);
        out.len()
    }

    #[test]
    fn records_read_back_in_order_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = find(dir.path()).start(64).unwrap();
        let first = wal.append(&owned(&[("a", "1"), ("b", "2")])).unwrap();
        assert!(first.retired.is_empty());
        // 77 bytes: more than the 36 left, so the log moves on first, and the record
        // grows the next segment past its 64 bytes.
        let second = wal.append(&owned(&[("c", &"x".repeat(60))])).unwrap();
        assert_eq!(second.retired.len(), 1);
        assert_eq!(second.retired[0].path(), first.segment.path());
        assert_ne!(second.segment.path(), first.segment.path());
        let third = wal.append(&owned(&[("d", "4")])).unwrap();
        assert_eq!(third.retired[0].path(), second.segment.path());
        // Dropping the log stops the preparing thread and removes its unused segment:
        // what is left is what a crash would leave.
        drop((first, second, third, wal));

        let leftovers = find(dir.path());
        assert_eq!(leftovers.sequences(), [0, 1, 2]);
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
        assert!(wal.active.path().ends_with("0000000000000003.log"));
        wal.remove_all().unwrap();
        assert!(find(dir.path()).sequences().is_empty());
    }

    #[test]
    fn a_torn_or_damaged_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = find(dir.path()).start(1 << 20).unwrap();
        let kept = owned(&[("kept", "yes")]);
        let torn = owned(&[("torn", "no")]);
        let appended = wal.append(&kept).unwrap();
        wal.append(&torn).unwrap();
        let path = appended.segment.path().to_owned();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 1 << 20, "the segment was prepared whole");
        assert_eq!(read(&path), vec![kept.clone(), torn.clone()]);
        let end = encoded_len(&kept) + encoded_len(&torn);

        // The second record cut short: its last bytes never reached the disk.
        let mut cut = bytes.clone();
        cut[end - 3..end].fill(0);
        std::fs::write(&path, &cut).unwrap();
        assert_eq!(read(&path), vec![kept.clone()]);

        // A flipped byte fails the checksum.
        let mut damaged = bytes.clone();
        damaged[end - 1] ^= 0xff;
        std::fs::write(&path, &damaged).unwrap();
        assert_eq!(read(&path), vec![kept.clone()]);

        // A file that ends inside a record.
        std::fs::write(&path, &bytes[..end - 3]).unwrap();
        assert_eq!(read(&path), vec![kept]);
    }

    #[test]
    fn after_a_failed_sync_nothing_more_is_logged() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = find(dir.path()).start(1 << 20).unwrap();
        let appended = wal.append(&owned(&[("a", "1")])).unwrap();
        // What a failing sync does to the shared flag.
        appended.segment.break_log();
        let refused = wal.append(&owned(&[("b", "2")])).err().unwrap();
        assert!(refused.to_string().contains("restart"), "{refused}");
        assert_eq!(read(appended.segment.path()), vec![owned(&[("a", "1")])]);
    }
}
