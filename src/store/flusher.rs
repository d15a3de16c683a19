//! The flusher thread: makes the batches the writer applied durable with one sync of
//! the log per group, answers their waiters in order, and retires full log segments.
//!
//! Once the writer has taken a request, its answer leaves the store only through
//! [`complete`]: a [`Completion`](super::Completion) or a reply runs after the sync that
//! made its request durable (as the sync level defines it, `durability.rs`), never
//! before.

use std::io;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::Instant;

use super::durability::GroupSync;
use super::error::{StoreError, WriteFailure};
use super::open::Trees;
use super::segment::Segment;
use super::stats::Shared;
use super::wal;
use super::writer::{Outcome, Reply};

/// Starts the flusher thread. It completes the batches the writer hands over until the
/// writer hangs up, then flushes sled so that it holds everything.
pub(super) fn spawn(
    trees: Trees,
    shared: Arc<Shared>,
    mut sync: GroupSync,
    applied: Receiver<Applied>,
) -> io::Result<JoinHandle<Result<(), sled::Error>>> {
    std::thread::Builder::new()
        .name("parley-store-flusher".into())
        .spawn(move || {
            while let Ok(first) = applied.recv() {
                let group: Vec<Applied> =
                    std::iter::once(first).chain(applied.try_iter()).collect();
                finish(&trees, &shared, &mut sync, group);
            }
            trees.flush()
        })
}

/// A batch applied in memory and appended to the log, waiting for the sync that makes
/// it durable.
pub(super) struct Applied {
    pub(super) outcomes: Vec<Outcome>,
    pub(super) written: Result<(), WriteFailure>,
    /// Where the batch's log record went; None when nothing was written.
    pub(super) logged: Option<wal::LoggedRecord>,
    pub(super) added: u64,
}

/// Completes a group of applied batches, then lets go of the log segments that filled
/// up.
pub(super) fn finish(trees: &Trees, shared: &Shared, sync: &mut GroupSync, group: Vec<Applied>) {
    for segment in complete(shared, sync, group) {
        retire(trees, &segment);
    }
}

/// Syncs the log once for a group of applied batches as the sync level requires, then
/// answers their waiters in order. Returns the segments the group's records moved on
/// from, to be retired.
pub(super) fn complete(
    shared: &Shared,
    sync: &mut GroupSync,
    group: Vec<Applied>,
) -> Vec<Arc<Segment>> {
    let started = Instant::now();
    // Normally one segment; two when the group spans a segment change.
    let mut segments: Vec<Arc<Segment>> = Vec::new();
    for logged in group.iter().filter_map(|batch| batch.logged.as_ref()) {
        if !segments
            .iter()
            .any(|seen| Arc::ptr_eq(seen, &logged.segment))
        {
            segments.push(Arc::clone(&logged.segment));
        }
    }
    let synced = sync
        .before_answering(&segments)
        .map_err(|source| WriteFailure::log("syncing the log", source));
    let added: u64 = group.iter().map(|batch| batch.added).sum();
    if added > 0 {
        shared.stats.record(added, started.elapsed());
    }
    if let Err(error) = &synced {
        tracing::error!(%error, "log sync failed");
    }
    let mut retired = Vec::new();
    for batch in group {
        let written = batch.written.and_then(|()| synced.clone());
        for outcome in batch.outcomes {
            match outcome {
                Outcome::Append(done, result) => done(settle(result, &written)),
                Outcome::Change(done, result) => done(settle(result, &written)),
                Outcome::Import(reply, result) => answer(reply, result, &written),
                Outcome::Flush(reply) => answer(reply, Ok(()), &written),
            }
        }
        retired.extend(batch.logged.into_iter().flat_map(|logged| logged.retired));
    }
    sync.after_answering(&segments);
    retired
}

/// A request's own result, unless the batch it was part of failed to be written.
fn settle<T>(
    result: Result<T, StoreError>,
    written: &Result<(), WriteFailure>,
) -> Result<T, StoreError> {
    match written {
        Ok(()) => result,
        Err(failure) => Err(failure.clone_as_error()),
    }
}

/// Answers one waiter, after the batch it was part of was written (or failed).
fn answer<T>(reply: Reply<T>, result: Result<T, StoreError>, written: &Result<(), WriteFailure>) {
    // A waiter that gave up has dropped its receiver; there is nobody to tell.
    let _ = reply.send(settle(result, written));
}

/// Deletes a full log segment once sled holds everything in it durably. Everything in
/// it was applied to sled before this flush began.
fn retire(trees: &Trees, segment: &Segment) {
    if let Err(error) = trees.flush() {
        // The segment stays and is replayed on the next start; nothing is lost.
        tracing::error!(%error, "flushing the store to retire a log segment failed");
        return;
    }
    if let Err(error) = segment.remove() {
        tracing::warn!(%error, segment = %segment.path().display(), "cannot remove a retired log segment");
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::{fill, log_segments, query, room};
    use crate::store::{Store, StoreOptions};

    #[tokio::test]
    async fn full_log_segments_are_retired_and_nothing_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open_with_segments_of(dir.path(), StoreOptions::default(), 2048).unwrap();
        let written = fill(&store, "r", 120).await;
        store.flush().await.unwrap();
        // Each retired segment is deleted after a sled flush; at most the active one and
        // the prepared next one remain.
        let left = log_segments(dir.path());
        assert!(left.len() <= 2, "{left:?}");
        store.close().await.unwrap();

        let store = Store::open(dir.path()).unwrap();
        let page = store
            .page(&room("r"), query(None, None, 200))
            .await
            .unwrap();
        assert_eq!(page, written);
    }
}
