//! The indexer thread: takes the queued messages in batches, commits each batch with
//! the largest rev it holds, and makes it searchable. At start it first takes in what
//! the store committed after the index's last rev.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument, Term, doc};

use super::{Fields, SearchError, SearchStats};
use crate::model::Stored;
use crate::store::Store;

/// How long a message may wait in a batch before the batch is committed: a commit
/// costs far more than a message, and a second is soon enough to be found.
const COMMIT_EVERY: Duration = Duration::from_secs(1);
/// The indexer's nice value: when the CPU is busy the chat's own threads come first
/// and the index catches up afterwards (its lag is in `/metrics`).
const INDEXER_NICE: libc::c_int = 10;
/// The most messages one commit takes.
const MAX_BATCH: usize = 20_000;
/// Messages read from the store at a time while catching up.
const CATCH_UP_PAGE: usize = 1000;
/// Messages a catch-up adds between commits: a commit costs far more than a message.
const CATCH_UP_COMMIT: usize = 50_000;
/// Memory for the index writer's buffer (one indexing thread: the server's cores are
/// for chatting).
const WRITER_BYTES: usize = 40 * 1024 * 1024;

/// Lowers the calling thread's scheduling priority to [`INDEXER_NICE`]. On Linux the
/// nice value belongs to each thread, and threads started later inherit it.
pub(super) fn lower_priority() {
    // SAFETY: setpriority only reads its integer arguments; `who` 0 is the calling
    // thread.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS as _, 0, INDEXER_NICE) };
    if result != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "the search indexer keeps the normal priority"
        );
    }
}

pub(super) struct Indexer {
    writer: IndexWriter<TantivyDocument>,
    reader: IndexReader,
    fields: Fields,
    store: Arc<Store>,
    stats: Arc<SearchStats>,
    /// The largest rev of the last commit.
    indexed_rev: u64,
}

impl Indexer {
    pub(super) fn new(
        index: Index,
        reader: IndexReader,
        fields: Fields,
        store: Arc<Store>,
        stats: Arc<SearchStats>,
    ) -> Result<Indexer, SearchError> {
        let indexed_rev = index
            .load_metas()?
            .payload
            .and_then(|payload| payload.parse().ok())
            .unwrap_or(0);
        Ok(Indexer {
            writer: index.writer_with_num_threads(1, WRITER_BYTES)?,
            reader,
            fields,
            store,
            stats,
            indexed_rev,
        })
    }

    /// Indexes what the queue brings until it closes.
    pub(super) fn run(mut self, queue: Receiver<Stored>) {
        if let Err(error) = self.catch_up() {
            tracing::error!(%error, "the search index could not catch up with the store");
        }
        while let Ok(first) = queue.recv() {
            let mut batch = vec![first];
            let deadline = Instant::now() + COMMIT_EVERY;
            while batch.len() < MAX_BATCH {
                match queue.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(stored) => batch.push(stored),
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
            if let Err(error) = self.index(&batch) {
                tracing::error!(%error, messages = batch.len(), "indexing for search failed");
            }
        }
    }

    /// Takes in everything the store holds with a rev after the last commit's.
    pub(super) fn catch_up(&mut self) -> Result<(), SearchError> {
        let since = self.indexed_rev;
        // Rooms are read one after another, so revs do not come in order: until
        // everything is in, a commit records the rev the catch-up started from.
        let mut taken = 0;
        let mut newest = since;
        let mut uncommitted = 0;
        for room in self.store.room_names()? {
            let mut after = since;
            loop {
                let changes = self
                    .store
                    .changes_since_blocking(&room, after, CATCH_UP_PAGE)?;
                let Some(last) = changes.messages.last() else {
                    break;
                };
                after = last.rev();
                let full = changes.messages.len() == CATCH_UP_PAGE;
                taken += changes.messages.len();
                uncommitted += changes.messages.len();
                newest = newest.max(self.add(&changes.messages)?);
                if uncommitted >= CATCH_UP_COMMIT {
                    self.commit(since, uncommitted)?;
                    uncommitted = 0;
                }
                if !full {
                    break;
                }
            }
        }
        self.commit(newest, uncommitted)?;
        if taken > 0 {
            tracing::info!(
                messages = taken,
                "the search index caught up with the store"
            );
        }
        Ok(())
    }

    /// Adds `batch`, commits, and makes it searchable.
    fn index(&mut self, batch: &[Stored]) -> Result<(), SearchError> {
        let newest = self.add(batch)?.max(self.indexed_rev);
        self.commit(newest, batch.len())
    }

    /// Adds `batch` to the writer, replacing what the index had of each message;
    /// returns its largest rev.
    fn add(&mut self, batch: &[Stored]) -> Result<u64, SearchError> {
        let mut newest = 0;
        for stored in batch {
            self.writer
                .delete_term(Term::from_field_u64(self.fields.id, stored.id()));
            if let Stored::Message(message) = stored {
                self.writer.add_document(doc!(
                    self.fields.id => message.id,
                    self.fields.room => message.room.as_str(),
                    self.fields.text => message.text.as_str(),
                ))?;
            }
            newest = newest.max(stored.rev());
        }
        Ok(newest)
    }

    /// Commits what was added, recording `rev` as the index's, and makes it
    /// searchable.
    fn commit(&mut self, rev: u64, added: usize) -> Result<(), SearchError> {
        let mut commit = self.writer.prepare_commit()?;
        commit.set_payload(&rev.to_string());
        commit.commit()?;
        self.reader.reload()?;
        self.indexed_rev = rev;
        self.stats
            .searchable
            .fetch_add(added as u64, Ordering::Relaxed);
        Ok(())
    }
}
