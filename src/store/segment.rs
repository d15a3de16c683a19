//! One file of the write-ahead log, and the thread that prepares the next one ahead of
//! use.
//!
//! A segment is prepared before any record goes into it: created, its blocks allocated
//! and really written with zeros, synced, and its name synced into the directory.
//! Appending to it then changes neither the file's size nor its block map, so an
//! `fdatasync` has no metadata to commit: it writes the new pages and flushes the disk's
//! cache, with no journal commit. Allocating alone (`fallocate`) would not do: it leaves
//! unwritten extents, and the first write into each must commit its conversion to a
//! written one. Zeros also end replay cleanly: a zero length is no record. A segment is
//! never reused, so no old record can follow the last new one.
//!
//! Preparing writes a whole segment, so it runs on its own thread, one segment ahead of
//! the writer, and rotation only takes the ready file.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

use super::log_file::{LogDisk, LogFile};

const SEGMENT_SUFFIX: &str = ".log";
/// Size of the first segment a run prepares; each next one is twice the last, up to
/// the store's limit. Opening a store thus writes 1 MiB of zeros rather than a whole
/// segment's worth, which keeps starting quick (tests start many stores and servers),
/// and a busy server reaches full-size segments after a few rotations.
const FIRST_SEGMENT_BYTES: u64 = 1024 * 1024;
/// Zeros written per call while preparing.
const ZERO_CHUNK: usize = 1024 * 1024;

/// The path of the segment numbered `sequence`.
fn segment_path(dir: &Path, sequence: u64) -> PathBuf {
    dir.join(format!("{sequence:016x}{SEGMENT_SUFFIX}"))
}

/// The sequence number of a segment's path; None for anything else.
pub(super) fn segment_sequence(path: &Path) -> Option<u64> {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_suffix(SEGMENT_SUFFIX))
        .and_then(|stem| u64::from_str_radix(stem, 16).ok())
}

/// One segment file, shared by the writer that appends to it and the flusher that syncs
/// it.
pub(super) struct Segment {
    path: PathBuf,
    pub(super) file: Box<dyn LogFile>,
    /// Bytes prepared with zeros; records beyond would grow the file.
    pub(super) capacity: u64,
    disk: Arc<dyn LogDisk>,
    broken: Arc<Broken>,
}

impl Segment {
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Hands everything appended so far to the disk (`sync_file_range`), which a crash
    /// of the process cannot undo. A failure of this or [`Segment::sync_data`] breaks
    /// the log: after a failed sync the kernel may have dropped the pages, so a record
    /// could be missing on disk and replay would stop there, losing every later record
    /// even if it was synced.
    pub(super) fn sync_range(&self) -> io::Result<()> {
        self.broken.note(self.file.sync_range())
    }

    /// Makes everything appended so far survive a power cut (`fdatasync`).
    pub(super) fn sync_data(&self) -> io::Result<()> {
        self.broken.note(self.file.sync_data())
    }

    /// Deletes the file; only once sled holds everything in it durably.
    pub(super) fn remove(&self) -> io::Result<()> {
        self.disk.remove(&self.path)
    }

    #[cfg(test)]
    pub(super) fn break_log(&self) {
        self.broken.set();
    }
}

/// Set once the log can no longer promise that replay sees every record; from then on
/// every append fails, so nothing more is acknowledged until a restart recovers.
#[derive(Default)]
pub(super) struct Broken(AtomicBool);

impl Broken {
    pub(super) fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Passes a sync's result through, breaking the log if it failed.
    fn note(&self, synced: io::Result<()>) -> io::Result<()> {
        if synced.is_err() {
            self.set();
        }
        synced
    }

    pub(super) fn check(&self) -> io::Result<()> {
        if self.0.load(Ordering::SeqCst) {
            return Err(io::Error::other(
                "the write-ahead log failed earlier; restart parley to recover",
            ));
        }
        Ok(())
    }
}

/// The preparing thread and the segment it has ready.
pub(super) struct Spares {
    /// Taken in [`Drop`] so that the thread's hand-over fails and it stops.
    ready: Option<Receiver<io::Result<Arc<Segment>>>>,
    thread: Option<JoinHandle<()>>,
}

impl Spares {
    /// Starts preparing segments numbered from `first_sequence` in `dir`, none larger
    /// than `limit` bytes.
    pub(super) fn start(
        disk: Arc<dyn LogDisk>,
        dir: PathBuf,
        first_sequence: u64,
        limit: u64,
        broken: Arc<Broken>,
    ) -> io::Result<Spares> {
        // No buffer: the thread prepares the next segment only once the writer took
        // the last, so one spare at most waits on disk.
        let (ready, receiver) = std::sync::mpsc::sync_channel(0);
        let thread = std::thread::Builder::new()
            .name("parley-log-prepare".into())
            .spawn(move || prepare_ahead(&disk, &dir, first_sequence, limit, &broken, &ready))?;
        Ok(Spares {
            ready: Some(receiver),
            thread: Some(thread),
        })
    }

    /// The next prepared segment. Waits if it is not ready yet: that happens only when
    /// the log is written faster than zeros can be, and then waiting is the right
    /// back-pressure.
    pub(super) fn take(&self) -> io::Result<Arc<Segment>> {
        self.ready
            .as_ref()
            .and_then(|ready| ready.recv().ok())
            .unwrap_or_else(|| Err(io::Error::other("the log's preparing thread has stopped")))
    }
}

impl Drop for Spares {
    fn drop(&mut self) {
        drop(self.ready.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the log's preparing thread panicked");
        }
    }
}

/// The preparing thread: one segment after the other, each handed over before the next
/// is begun, until the writer stops taking them. A spare nobody took is deleted.
fn prepare_ahead(
    disk: &Arc<dyn LogDisk>,
    dir: &Path,
    first_sequence: u64,
    limit: u64,
    broken: &Arc<Broken>,
    ready: &SyncSender<io::Result<Arc<Segment>>>,
) {
    let mut size = FIRST_SEGMENT_BYTES.min(limit);
    for sequence in first_sequence.. {
        let path = segment_path(dir, sequence);
        // After a failure the next attempt takes the next number: the failed one's file
        // may still be there.
        let prepared = prepare(disk, dir, &path, size, broken);
        if let Err(unwanted) = ready.send(prepared) {
            if unwanted.0.is_ok()
                && let Err(error) = disk.remove(&path)
            {
                tracing::warn!(%error, segment = %path.display(), "cannot remove an unused log segment");
            }
            return;
        }
        size = size.saturating_mul(2).min(limit);
    }
}

/// Allocates `size` bytes of `file`, writes them with zeros and syncs them.
fn fill_with_zeros(file: &dyn LogFile, size: u64) -> io::Result<()> {
    file.allocate(size)?;
    let zeros = vec![0; usize::try_from(size).map_or(ZERO_CHUNK, |size| size.min(ZERO_CHUNK))];
    let mut offset = 0;
    while offset < size {
        let chunk =
            usize::try_from(size - offset).map_or(zeros.len(), |left| left.min(zeros.len()));
        file.write_at(offset, &zeros[..chunk])?;
        offset += chunk as u64;
    }
    file.sync_all()
}

/// Creates one segment of `size` bytes, zero-filled and synced, its name durable.
fn prepare(
    disk: &Arc<dyn LogDisk>,
    dir: &Path,
    path: &Path,
    size: u64,
    broken: &Arc<Broken>,
) -> io::Result<Arc<Segment>> {
    let file = disk.create_new(path)?;
    // The name must survive a crash too, or the records in the file would be lost with it.
    let filled = fill_with_zeros(&*file, size).and_then(|()| disk.sync_dir(dir));
    if let Err(error) = filled {
        if let Err(error) = disk.remove(path) {
            tracing::debug!(%error, segment = %path.display(), "cannot remove a segment that failed to prepare");
        }
        return Err(error);
    }
    Ok(Arc::new(Segment {
        path: path.to_owned(),
        file,
        capacity: size,
        disk: Arc::clone(disk),
        broken: Arc::clone(broken),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::log_file::OsDisk;
    use super::*;

    #[test]
    fn segments_are_zero_filled_and_double_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let limit = 3 * FIRST_SEGMENT_BYTES;
        let spares = Spares::start(
            Arc::new(OsDisk),
            dir.path().to_owned(),
            7,
            limit,
            Arc::default(),
        )
        .unwrap();
        let taken: Vec<Arc<Segment>> = (0..4).map(|_| spares.take().unwrap()).collect();
        let capacities: Vec<u64> = taken.iter().map(|segment| segment.capacity).collect();
        assert_eq!(
            capacities,
            [1, 2, 3, 3].map(|megabytes| megabytes * FIRST_SEGMENT_BYTES)
        );
        for (segment, sequence) in taken.iter().zip(7..) {
            assert_eq!(segment_sequence(segment.path()), Some(sequence));
            let bytes = std::fs::read(segment.path()).unwrap();
            assert_eq!(bytes.len() as u64, segment.capacity);
            assert!(bytes.iter().all(|&byte| byte == 0));
        }
        // The spare prepared meanwhile is removed when nobody wants it any more.
        drop(spares);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    }
}
