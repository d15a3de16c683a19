//! The durable message store: sled trees, one writer thread doing group commit, and
//! paging reads.
//!
//! The keys and records in sled are laid out in [`codec`].
//!
//! Every mutation goes through a single OS thread. It takes one request, drains whatever
//! else is already queued, appends all of it as one record to the write-ahead log
//! and inserts it into sled ([`wal`]); a flusher thread syncs the log once for every
//! batch applied meanwhile and only then answers their waiters. A single writer also
//! makes ids and duplicate checks race-free without locks.

mod codec;
mod error;
mod open;
mod stats;
#[cfg(test)]
mod test_support;
mod wal;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sled::Tree;
use tokio::sync::{mpsc, oneshot};

use crate::model::{ClientId, Message, MessageText, RoomName, SenderName};

use codec::{
    META_COUNT, META_LAST_ID, decode_entry, decode_u64, dedupe_key, encode_value, is_message_key,
    message_key, room_prefix,
};
pub use error::StoreError;
use error::{WriteFailure, corrupt, sled_err};
use open::{Opened, Trees, open_dir};
use stats::Shared;
pub use stats::{FLUSH_BUCKETS_US, StoreStatsSnapshot};

/// Most requests one group commit takes, so one huge burst cannot delay its first
/// waiters without bound.
const MAX_BATCH: usize = 1024;
/// Requests waiting for the writer; when full, `append` waits, which pushes back on
/// clients instead of growing memory.
const QUEUE_CAPACITY: usize = 4096;
/// Applied batches that may wait for the flusher; beyond that the writer waits.
const APPLIED_AHEAD: usize = 64;
/// Messages per import request sent to the writer.
const IMPORT_CHUNK: usize = 1024;
/// A validated message to store; the store assigns `id` and `ts`.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room: RoomName,
    pub sender: SenderName,
    pub text: MessageText,
    pub client_id: Option<ClientId>,
}

/// The outcome of [`Store::append`]. A duplicate carries the message first stored for
/// that (room, sender, client_id); it must not be broadcast again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub message: Message,
    pub duplicate: bool,
}

/// Which slice of a room to read; see [`Store::page`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageQuery {
    pub before: Option<u64>,
    pub after: Option<u64>,
    pub limit: usize,
}

/// What [`Store::import`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: u64,
    /// Lines whose (room, id) was already stored.
    pub skipped: u64,
}

fn now_micros() -> u64 {
    // A clock before 1970 yields 0, and the last+1 rule still keeps ids increasing.
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX)
}

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// Called by the store's flusher thread once an append is durable (or failed). Completions of
/// one batch run in the order their requests arrived, so whatever they trigger (a
/// broadcast) happens in id order.
pub type Completion = Box<dyn FnOnce(Result<Appended, StoreError>) + Send>;

enum Command {
    Append {
        request: NewMessage,
        done: Completion,
    },
    Import {
        messages: Vec<Message>,
        reply: Reply<ImportReport>,
    },
    Flush {
        reply: Reply<()>,
    },
}

/// An answer computed while staging, sent only once the batch is durable.
enum Outcome {
    Append(Completion, Result<Appended, StoreError>),
    Import(Reply<ImportReport>, Result<ImportReport, StoreError>),
    Flush(Reply<()>),
}

/// One group commit being assembled.
#[derive(Default)]
struct Pending {
    /// Messages and their dedupe entries: one log record, then inserted into sled.
    entries: wal::Entries,
    /// Message keys staged in this batch, which the trees cannot know about yet.
    keys: HashSet<Vec<u8>>,
    /// Dedupe keys staged in this batch with their message, so a retry that arrives in
    /// the same batch as the original still finds it.
    dedupe_hits: HashMap<Vec<u8>, Message>,
    last_id: u64,
    added: u64,
}

/// One message ready to go into a [`Pending`]: every fallible step is done before
/// anything is staged, so a failed request leaves nothing half-staged.
struct Staged {
    key: Vec<u8>,
    value: Vec<u8>,
    id: u64,
    /// The dedupe key and the message it answers retries with, when it has a client_id.
    dedupe: Option<(Vec<u8>, Message)>,
}

impl Pending {
    fn stage(&mut self, staged: Staged) {
        let id = staged.id;
        self.last_id = self.last_id.max(id);
        self.keys.insert(staged.key.clone());
        self.entries.push((staged.key, staged.value));
        if let Some((dedupe_key, message)) = staged.dedupe {
            self.insert(&dedupe_key, &id.to_be_bytes());
            self.dedupe_hits.insert(dedupe_key, message);
        }
        self.added += 1;
    }

    fn insert(&mut self, key: &[u8], value: &[u8]) {
        self.entries.push((key.to_vec(), value.to_vec()));
    }
}

struct Writer {
    trees: Trees,
    wal: wal::Wal,
    shared: Arc<Shared>,
    last_id: u64,
    count: u64,
}

impl Writer {
    /// Writes batches as requests arrive and hands each to a flusher thread, which
    /// syncs the log once for every batch written while its previous sync ran and only
    /// then answers their waiters. So the next batches are written while the disk
    /// works. The hand-over holds up to [`APPLIED_AHEAD`] batches: measured with the
    /// shared benchmark, a deeper hand-over beat a single slot (durable acks 28–29k/s
    /// against 25–26k/s, when sled's flush still made batches durable), because writing
    /// never stalls on a sync.
    fn run(mut self, mut requests: mpsc::Receiver<Command>) -> Result<(), sled::Error> {
        let (applied_sender, applied) = std::sync::mpsc::sync_channel(APPLIED_AHEAD);
        let db = self.trees.db.clone();
        let shared = Arc::clone(&self.shared);
        let flusher = std::thread::Builder::new()
            .name("parley-store-flusher".into())
            .spawn(move || {
                let mut clock = wal::SyncClock::default();
                while let Ok(first) = applied.recv() {
                    let group: Vec<Applied> =
                        std::iter::once(first).chain(applied.try_iter()).collect();
                    complete(&db, &shared, &mut clock, group);
                }
                db.flush().map(drop)
            })
            .map_err(sled::Error::Io)?;
        // `blocking_recv` keeps returning queued commands after the store dropped its
        // sender, so everything accepted is still written before the thread ends.
        while let Some(first) = requests.blocking_recv() {
            let mut commands = vec![first];
            while commands.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(command) => commands.push(command),
                    Err(_) => break,
                }
            }
            let batch = self.commit(commands);
            if let Err(std::sync::mpsc::SendError(batch)) = applied_sender.send(batch) {
                // Only if the flusher died; its waiters still deserve an answer.
                let mut clock = wal::SyncClock::default();
                complete(&self.trees.db, &self.shared, &mut clock, vec![batch]);
            }
        }
        drop(applied_sender);
        flusher.join().unwrap_or_else(|_| {
            Err(sled::Error::ReportableBug(
                "store flusher thread panicked".into(),
            ))
        })?;
        // sled now holds everything durably; a log left behind would only be replayed.
        if let Err(error) = self.wal.remove_all() {
            tracing::warn!(%error, "cannot remove the write-ahead log after the final flush");
        }
        Ok(())
    }

    /// Stages and writes one batch of commands; the answers wait for the log's sync.
    fn commit(&mut self, commands: Vec<Command>) -> Applied {
        let mut pending = Pending {
            last_id: self.last_id,
            ..Pending::default()
        };
        let outcomes: Vec<Outcome> = commands
            .into_iter()
            .map(|command| match command {
                Command::Append { request, done } => {
                    Outcome::Append(done, self.stage_append(&mut pending, request))
                }
                Command::Import { messages, reply } => {
                    Outcome::Import(reply, self.stage_import(&mut pending, messages))
                }
                Command::Flush { reply } => Outcome::Flush(reply),
            })
            .collect();

        // Ids used by a failed write are not reused; skipping some is harmless.
        self.last_id = pending.last_id;
        let written = self.write(&mut pending);
        if let Err(error) = &written {
            tracing::error!(%error, batch = pending.added, "group commit failed");
        }
        let (written, logged) = match written {
            Ok(logged) => (Ok(()), logged),
            Err(failure) => (Err(failure), None),
        };
        Applied {
            outcomes,
            written,
            logged,
            added: pending.added,
        }
    }

    /// Appends the staged batch to the log, then inserts it into sled; [`complete`]
    /// makes it durable.
    ///
    /// The batch is atomic through the log, not through sled: a crash may leave sled
    /// with part of a batch, and replaying the record on open completes it. Plain
    /// inserts are used because sled's `apply_batch` writes out sled's own log buffer on
    /// every call, handing it to sled's IO pool, whose wake-ups cost more than all the
    /// inserts together.
    fn write(&mut self, pending: &mut Pending) -> Result<Option<wal::LoggedRecord>, WriteFailure> {
        if pending.added == 0 {
            return Ok(None);
        }
        let count = self.count + pending.added;
        // In the same log record as the messages, which replay restores whole: a crash
        // can never keep a dedupe entry without its message, or a message without its
        // dedupe entry (a retry would then be stored twice).
        pending.insert(META_LAST_ID, &pending.last_id.to_be_bytes());
        pending.insert(META_COUNT, &count.to_be_bytes());
        let logged = self
            .wal
            .append(&pending.entries)
            .map_err(|source| WriteFailure::log("appending to the log", source))?;
        for (key, value) in pending.entries.drain(..) {
            self.trees
                .messages
                .insert(key, value)
                .map_err(|source| WriteFailure::sled("committing a batch", source))?;
        }
        self.count = count;
        self.shared.count.store(count, Ordering::Relaxed);
        Ok(Some(logged))
    }

    fn stage_append(
        &self,
        pending: &mut Pending,
        request: NewMessage,
    ) -> Result<Appended, StoreError> {
        let dedupe_key = request
            .client_id
            .as_ref()
            .map(|client_id| dedupe_key(&request.room, &request.sender, client_id));
        if let Some(dedupe_key) = &dedupe_key {
            if let Some(first) = pending.dedupe_hits.get(dedupe_key) {
                return Ok(Appended {
                    message: first.clone(),
                    duplicate: true,
                });
            }
            if let Some(first) = self.stored_duplicate(&request.room, dedupe_key)? {
                return Ok(Appended {
                    message: first,
                    duplicate: true,
                });
            }
        }
        let id = now_micros().max(pending.last_id.saturating_add(1));
        let message = Message {
            id,
            room: request.room,
            sender: request.sender,
            text: request.text,
            ts: id / 1000,
            client_id: request.client_id,
        };
        pending.stage(Staged {
            key: message_key(&message.room, id),
            value: encode_value(&message)?,
            id,
            dedupe: dedupe_key.map(|key| (key, message.clone())),
        });
        Ok(Appended {
            message,
            duplicate: false,
        })
    }

    fn stored_duplicate(
        &self,
        room: &RoomName,
        dedupe_key: &[u8],
    ) -> Result<Option<Message>, StoreError> {
        let read = sled_err("reading the dedupe index");
        let Some(id) = self.trees.messages.get(dedupe_key).map_err(&read)? else {
            return Ok(None);
        };
        let key = message_key(room, decode_u64(dedupe_key, &id)?);
        let value = self
            .trees
            .messages
            .get(&key)
            .map_err(&read)?
            .ok_or_else(|| corrupt(dedupe_key, "dedupe entry points to a missing message"))?;
        decode_entry(&key, &value).map(Some)
    }

    /// Stages messages that keep their ids; an existing (room, id) is skipped so that
    /// importing the same file twice changes nothing.
    fn stage_import(
        &self,
        pending: &mut Pending,
        messages: Vec<Message>,
    ) -> Result<ImportReport, StoreError> {
        let read = sled_err("checking imported messages");
        let mut report = ImportReport::default();
        let mut staged: Vec<Staged> = Vec::with_capacity(messages.len());
        let mut keys = HashSet::new();
        let mut dedupe_keys = HashSet::new();
        for message in messages {
            let key = message_key(&message.room, message.id);
            if pending.keys.contains(&key)
                || keys.contains(&key)
                || self.trees.messages.contains_key(&key).map_err(&read)?
            {
                report.skipped += 1;
                continue;
            }
            // The first message of a (room, sender, client_id) keeps the dedupe entry,
            // as it would have live.
            let dedupe_key = match &message.client_id {
                Some(client_id) => {
                    let dedupe_key = dedupe_key(&message.room, &message.sender, client_id);
                    let taken = pending.dedupe_hits.contains_key(&dedupe_key)
                        || dedupe_keys.contains(&dedupe_key)
                        || self
                            .trees
                            .messages
                            .contains_key(&dedupe_key)
                            .map_err(&read)?;
                    (!taken).then_some(dedupe_key)
                }
                None => None,
            };
            if let Some(dedupe_key) = &dedupe_key {
                dedupe_keys.insert(dedupe_key.clone());
            }
            keys.insert(key.clone());
            staged.push(Staged {
                key,
                value: encode_value(&message)?,
                id: message.id,
                dedupe: dedupe_key.map(|key| (key, message)),
            });
            report.imported += 1;
        }
        for one in staged {
            pending.stage(one);
        }
        Ok(report)
    }
}

/// Answers one waiter, after the batch it was part of was written (or failed).
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

fn answer<T>(reply: Reply<T>, result: Result<T, StoreError>, written: &Result<(), WriteFailure>) {
    // A waiter that gave up has dropped its receiver; there is nobody to tell.
    let _ = reply.send(settle(result, written));
}

/// A batch applied in memory and appended to the log, waiting for the sync that makes
/// it durable.
struct Applied {
    outcomes: Vec<Outcome>,
    written: Result<(), WriteFailure>,
    /// Where the batch's log record went; None when nothing was written.
    logged: Option<wal::LoggedRecord>,
    added: u64,
}

/// Syncs the log once for a group of applied batches, then answers their waiters in
/// order, then lets go of log segments that filled up, and now and then commits the
/// log's length (see [`wal`]).
fn complete(db: &sled::Db, shared: &Shared, clock: &mut wal::SyncClock, group: Vec<Applied>) {
    let started = Instant::now();
    // Normally one segment; two when the group spans a segment change.
    let mut segments: Vec<Arc<wal::Segment>> = Vec::new();
    for logged in group.iter().filter_map(|batch| batch.logged.as_ref()) {
        if !segments
            .iter()
            .any(|seen| Arc::ptr_eq(seen, &logged.segment))
        {
            segments.push(Arc::clone(&logged.segment));
        }
    }
    let synced = segments
        .iter()
        .try_for_each(|segment| segment.sync())
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
                Outcome::Import(reply, result) => answer(reply, result, &written),
                Outcome::Flush(reply) => answer(reply, Ok(()), &written),
            }
        }
        retired.extend(batch.logged.and_then(|logged| logged.retired));
    }
    for segment in retired {
        retire(db, &segment);
    }
    if !segments.is_empty() && clock.full_sync_due() {
        for segment in &segments {
            if let Err(error) = segment.commit_length() {
                tracing::error!(%error, "committing the log's length failed");
            }
        }
    }
}

/// Deletes a full log segment once sled holds everything in it durably. Everything in
/// it was applied to sled before this flush began.
fn retire(db: &sled::Db, segment: &wal::Segment) {
    if let Err(error) = db.flush() {
        // The segment stays and is replayed on the next start; nothing is lost.
        tracing::error!(%error, "flushing the store to retire a log segment failed");
        return;
    }
    if let Err(error) = std::fs::remove_file(segment.path()) {
        tracing::warn!(%error, segment = %segment.path().display(), "cannot remove a retired log segment");
    }
}

/// Size at which the log moves to a new segment and the full one is retired (which
/// costs one sled flush).
const LOG_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

fn read_page(
    messages: &Tree,
    room: &RoomName,
    query: PageQuery,
) -> Result<Vec<Message>, StoreError> {
    let lowest = match query.after {
        Some(after) => match after.checked_add(1) {
            Some(lowest) => lowest,
            None => return Ok(Vec::new()),
        },
        None => 0,
    };
    let highest = match query.before {
        Some(before) => match before.checked_sub(1) {
            Some(highest) => highest,
            None => return Ok(Vec::new()),
        },
        None => u64::MAX,
    };
    if query.limit == 0 || lowest > highest {
        return Ok(Vec::new());
    }
    let range = messages.range(message_key(room, lowest)..=message_key(room, highest));
    let read = sled_err("reading a page");
    let decode = |entry: sled::Result<(sled::IVec, sled::IVec)>| {
        let (key, value) = entry.map_err(&read)?;
        decode_entry(&key, &value)
    };
    if query.after.is_some() {
        range.take(query.limit).map(decode).collect()
    } else {
        // The newest `limit`: walk backwards from the top of the range, then restore
        // oldest-first order.
        let mut page = range
            .rev()
            .take(query.limit)
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?;
        page.reverse();
        Ok(page)
    }
}

/// The message store. Share it behind an `Arc`; call [`Store::close`] to shut down from
/// async code (dropping it blocks the current thread until queued writes are done).
pub struct Store {
    requests: Option<mpsc::Sender<Command>>,
    writer: Option<JoinHandle<Result<(), sled::Error>>>,
    trees: Trees,
    shared: Arc<Shared>,
    // Declared last so it is released only after the database above is closed.
    _lock: File,
}

impl Store {
    /// Opens (creating if needed) the store in `dir` and starts its writer thread.
    /// Fails at once with [`StoreError::Locked`] if another process has it open.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_segments_of(dir, LOG_SEGMENT_BYTES)
    }

    fn open_with_segments_of(dir: &Path, segment_bytes: u64) -> Result<Store, StoreError> {
        let Opened {
            lock,
            trees,
            wal,
            last_id,
            count,
        } = open_dir(dir, segment_bytes)?;
        let shared = Arc::new(Shared::default());
        shared.count.store(count, Ordering::Relaxed);
        let writer = Writer {
            trees: trees.clone(),
            wal,
            shared: Arc::clone(&shared),
            last_id,
            count,
        };
        let (requests, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let writer = std::thread::Builder::new()
            .name("parley-store-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(StoreError::Spawn)?;
        tracing::info!(dir = %dir.display(), messages = count, "store opened");
        Ok(Store {
            requests: Some(requests),
            writer: Some(writer),
            trees,
            shared,
            _lock: lock,
        })
    }

    fn requests(&self) -> Result<&mpsc::Sender<Command>, StoreError> {
        self.requests.as_ref().ok_or(StoreError::WriterGone)
    }

    /// Stores a message durably and returns it with its id, or returns the first message
    /// with the same (room, sender, client_id). Resolves only after the flush that made
    /// it durable. If the future is dropped after sending, the write still happens.
    pub async fn append(&self, request: NewMessage) -> Result<Appended, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.append_then(request, move |result| {
            let _ = reply.send(result);
        });
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Queues a message at once (so requests keep the order of the calls) and runs
    /// `done` on the store's flusher thread when it is durable. `done` must be quick and
    /// must not block: it runs between group commits. A full queue is answered at once with
    /// [`StoreError::Busy`] rather than making the caller wait.
    pub fn append_then(
        &self,
        request: NewMessage,
        done: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) {
        let done: Completion = Box::new(done);
        let Ok(requests) = self.requests() else {
            return done(Err(StoreError::WriterGone));
        };
        if let Err(error) = requests.try_send(Command::Append { request, done }) {
            let (command, failure) = match error {
                mpsc::error::TrySendError::Full(command) => (command, StoreError::Busy),
                mpsc::error::TrySendError::Closed(command) => (command, StoreError::WriterGone),
            };
            if let Command::Append { done, .. } = command {
                done(Err(failure));
            }
        }
    }

    /// Resolves once everything queued before it is durable.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.requests()?
            .send(Command::Flush { reply })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Messages of `room`, oldest first:
    /// - no cursor: the newest `limit`;
    /// - `before` only: the `limit` messages just before that id;
    /// - `after` (with or without `before`): the first `limit` after it (and before
    ///   `before`).
    pub async fn page(
        &self,
        room: &RoomName,
        query: PageQuery,
    ) -> Result<Vec<Message>, StoreError> {
        let messages = self.trees.messages.clone();
        let room = room.clone();
        tokio::task::spawn_blocking(move || read_page(&messages, &room, query)).await?
    }

    /// Number of stored messages, kept as a counter so this is free.
    pub fn message_count(&self) -> usize {
        usize::try_from(self.shared.count.load(Ordering::Relaxed)).unwrap_or(usize::MAX)
    }

    pub fn stats(&self) -> StoreStatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// Writes one JSON message per line, each room oldest first, and returns how many.
    /// Blocking: for the CLI, not for async tasks.
    pub fn export(&self, room: Option<&RoomName>, out: &mut impl Write) -> Result<u64, StoreError> {
        let entries = match room {
            Some(room) => self.trees.messages.scan_prefix(room_prefix(room)),
            None => self.trees.messages.iter(),
        };
        let write_err = |source| StoreError::ExportWrite { source };
        let mut written = 0;
        for entry in entries {
            let (key, value) = entry.map_err(sled_err("exporting"))?;
            if !is_message_key(&key) {
                continue;
            }
            let message = decode_entry(&key, &value)?;
            serde_json::to_writer(&mut *out, &message).map_err(|e| write_err(e.into()))?;
            out.write_all(b"\n").map_err(write_err)?;
            written += 1;
        }
        out.flush().map_err(write_err)?;
        Ok(written)
    }

    /// Stores messages read as JSON lines (the export format), keeping their ids; those
    /// already present are skipped, so importing twice is harmless. Blank lines are
    /// ignored. A bad line stops the import with its line number; the lines before it
    /// that were already committed stay, and re-running after a fix is safe.
    ///
    /// Blocking: for the CLI. Panics if called on an async runtime thread (tokio forbids
    /// blocking sends there); use `spawn_blocking` in async code.
    pub fn import(&self, input: impl BufRead) -> Result<ImportReport, StoreError> {
        let mut report = ImportReport::default();
        let mut chunk = Vec::with_capacity(IMPORT_CHUNK);
        for (index, line) in input.lines().enumerate() {
            let line_number = index as u64 + 1;
            let line = line.map_err(|source| StoreError::ImportRead {
                line: line_number,
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let message =
                serde_json::from_str(&line).map_err(|source| StoreError::ImportParse {
                    line: line_number,
                    source,
                })?;
            chunk.push(message);
            if chunk.len() == IMPORT_CHUNK {
                let done = self.import_chunk(std::mem::take(&mut chunk))?;
                report.imported += done.imported;
                report.skipped += done.skipped;
            }
        }
        if !chunk.is_empty() {
            let done = self.import_chunk(chunk)?;
            report.imported += done.imported;
            report.skipped += done.skipped;
        }
        Ok(report)
    }

    fn import_chunk(&self, messages: Vec<Message>) -> Result<ImportReport, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.requests()?
            .blocking_send(Command::Import { messages, reply })
            .map_err(|_| StoreError::WriterGone)?;
        answer.blocking_recv().map_err(|_| StoreError::WriterGone)?
    }

    /// Stops accepting writes, lets the writer finish everything queued, and waits for
    /// its final flush without blocking the runtime.
    pub async fn close(mut self) -> Result<(), StoreError> {
        self.requests = None;
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        match tokio::task::spawn_blocking(move || writer.join()).await? {
            Ok(flushed) => flushed.map_err(sled_err("flushing on close")),
            Err(_) => Err(StoreError::WriterPanicked),
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Dropping the sender ends the writer's loop once the queue is empty.
        self.requests = None;
        if let Some(writer) = self.writer.take() {
            match writer.join() {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "final store flush failed"),
                Err(_) => tracing::error!("store writer thread panicked"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{fill, log_segments, new_message, query, room};
    use super::*;
    use std::io::BufRead;

    fn texts(page: &[Message]) -> Vec<&str> {
        page.iter().map(|m| m.text.as_str()).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ids_strictly_increase_under_concurrent_appends() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let tasks: Vec<_> = (0..64)
            .map(|task| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let mut ids = Vec::new();
                    for i in 0..20 {
                        let room_name = if task % 2 == 0 { "even" } else { "odd" };
                        let text = format!("{task}/{i}");
                        let appended = store
                            .append(new_message(room_name, "bot", &text, None))
                            .await
                            .unwrap();
                        assert!(!appended.duplicate);
                        assert_eq!(appended.message.ts, appended.message.id / 1000);
                        ids.push(appended.message.id);
                    }
                    ids
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            let ids = task.await.unwrap();
            // Each task awaited its appends in turn, so its own ids must rise.
            assert!(ids.windows(2).all(|w| w[0] < w[1]));
            all.extend(ids);
        }
        let unique: HashSet<u64> = all.iter().copied().collect();
        assert_eq!(unique.len(), 64 * 20);
        assert_eq!(store.message_count(), 64 * 20);
        let stats = store.stats();
        assert_eq!(stats.messages_written, 64 * 20);
        assert!(stats.flushes >= 1 && stats.flushes <= 64 * 20);
        assert_eq!(stats.flush_buckets.iter().sum::<u64>(), stats.flushes);
    }

    #[tokio::test]
    async fn retry_with_same_client_id_returns_first_message() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let first = store
            .append(new_message("r", "ann", "hello", Some("c1")))
            .await
            .unwrap();
        assert!(!first.duplicate);
        // Even with different text, a retry is recognised by (room, sender, client_id).
        let retry = store
            .append(new_message("r", "ann", "hello again", Some("c1")))
            .await
            .unwrap();
        assert!(retry.duplicate);
        assert_eq!(retry.message, first.message);
        assert_eq!(store.message_count(), 1);
        let page = store.page(&room("r"), query(None, None, 10)).await.unwrap();
        assert_eq!(page, vec![first.message]);
    }

    #[tokio::test]
    async fn same_client_id_from_other_sender_or_room_is_a_new_message() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let ann = store
            .append(new_message("r", "ann", "hi", Some("c1")))
            .await
            .unwrap();
        let bob = store
            .append(new_message("r", "bob", "hi", Some("c1")))
            .await
            .unwrap();
        let elsewhere = store
            .append(new_message("s", "ann", "hi", Some("c1")))
            .await
            .unwrap();
        assert!(!bob.duplicate && !elsewhere.duplicate);
        assert_ne!(ann.message.id, bob.message.id);
        assert_eq!(store.message_count(), 3);
        // Messages without a client id are never deduplicated.
        store
            .append(new_message("r", "ann", "hi", None))
            .await
            .unwrap();
        store
            .append(new_message("r", "ann", "hi", None))
            .await
            .unwrap();
        assert_eq!(store.message_count(), 5);
    }

    /// A writer over a fresh database, driven directly so that a test can decide exactly
    /// which requests share one group commit.
    fn bare_writer(dir: &Path) -> Writer {
        Writer {
            trees: Trees::open(sled::open(dir).unwrap()).unwrap(),
            wal: wal::Leftovers::find(dir)
                .unwrap()
                .start(LOG_SEGMENT_BYTES)
                .unwrap(),
            shared: Arc::new(Shared::default()),
            last_id: 0,
            count: 0,
        }
    }

    /// What the writer and flusher threads do for one batch.
    fn commit_durably(writer: &mut Writer, commands: Vec<Command>) {
        let applied = writer.commit(commands);
        let mut clock = wal::SyncClock::default();
        complete(&writer.trees.db, &writer.shared, &mut clock, vec![applied]);
    }

    fn append_command(
        request: NewMessage,
    ) -> (Command, oneshot::Receiver<Result<Appended, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let done: Completion = Box::new(move |result| {
            let _ = reply.send(result);
        });
        (Command::Append { request, done }, answer)
    }

    #[test]
    fn retry_in_the_same_batch_is_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = bare_writer(dir.path());
        let (first, mut first_answer) = append_command(new_message("r", "ann", "one", Some("c1")));
        let (other, mut other_answer) = append_command(new_message("r", "ann", "two", Some("c2")));
        let (retry, mut retry_answer) = append_command(new_message("r", "ann", "one", Some("c1")));
        commit_durably(&mut writer, vec![first, other, retry]);
        let first = first_answer.try_recv().unwrap().unwrap();
        let other = other_answer.try_recv().unwrap().unwrap();
        let retry = retry_answer.try_recv().unwrap().unwrap();
        assert!(!first.duplicate && !other.duplicate && retry.duplicate);
        assert_eq!(retry.message, first.message);
        assert!(first.message.id < other.message.id);
        // Two messages, two dedupe entries and the two counters.
        assert_eq!(writer.trees.messages.len(), 6);
        // One flush made both new messages durable.
        let stats = writer.shared.stats.snapshot();
        assert_eq!((stats.flushes, stats.messages_written), (1, 2));
    }

    #[test]
    fn keys_and_values_use_the_documented_layout() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = bare_writer(dir.path());
        let (command, mut answer) = append_command(new_message("r", "ann", "hi", Some("c1")));
        commit_durably(&mut writer, vec![command]);
        let message = answer.try_recv().unwrap().unwrap().message;

        let mut key = b"r\0".to_vec();
        key.extend_from_slice(&message.id.to_be_bytes());
        let value = writer.trees.messages.get(&key).unwrap().unwrap();
        assert_eq!(value[0], 1);
        assert_eq!(decode_entry(&key, &value).unwrap(), message);

        let id = writer
            .trees
            .messages
            .get(b"\x01r\0ann\0c1")
            .unwrap()
            .unwrap();
        assert_eq!(&id[..], &message.id.to_be_bytes()[..]);
    }

    #[tokio::test]
    async fn paging_follows_cursor_semantics() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let stored = fill(&store, "a", 10).await;
        let id = |i: usize| stored[i].id;
        let a = room("a");
        let page = |q| store.page(&a, q);

        assert_eq!(
            texts(&page(query(None, None, 3)).await.unwrap()),
            ["a 7", "a 8", "a 9"]
        );
        assert_eq!(page(query(None, None, 100)).await.unwrap(), stored);
        assert_eq!(
            texts(&page(query(Some(id(5)), None, 2)).await.unwrap()),
            ["a 3", "a 4"]
        );
        assert_eq!(
            texts(&page(query(None, Some(id(5)), 2)).await.unwrap()),
            ["a 6", "a 7"]
        );
        // Both cursors: the open interval, first `limit` after `after`.
        assert_eq!(
            texts(&page(query(Some(id(6)), Some(id(2)), 10)).await.unwrap()),
            ["a 3", "a 4", "a 5"]
        );
        assert_eq!(
            texts(&page(query(Some(id(6)), Some(id(2)), 2)).await.unwrap()),
            ["a 3", "a 4"]
        );
        assert!(page(query(None, None, 0)).await.unwrap().is_empty());
        assert!(page(query(Some(id(0)), None, 5)).await.unwrap().is_empty());
        assert!(page(query(None, Some(id(9)), 5)).await.unwrap().is_empty());
        assert!(
            page(query(Some(id(3)), Some(id(3)), 5))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(page(query(Some(0), None, 5)).await.unwrap().is_empty());
        assert!(
            page(query(None, Some(u64::MAX), 5))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            page(query(Some(u64::MAX), Some(0), 100)).await.unwrap(),
            stored
        );
        assert!(
            store
                .page(&room("empty"), query(None, None, 50))
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn rooms_sharing_a_prefix_stay_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Interleave so that the rooms' ids overlap in time.
        for i in 0..5 {
            for name in ["a", "a.b", "ab", "a-"] {
                store
                    .append(new_message(name, "ann", &format!("{name} {i}"), None))
                    .await
                    .unwrap();
            }
        }
        for name in ["a", "a.b", "ab", "a-"] {
            for q in [
                query(None, None, 100),
                query(Some(u64::MAX), None, 100),
                query(None, Some(0), 100),
            ] {
                let page = store.page(&room(name), q).await.unwrap();
                assert_eq!(page.len(), 5, "{name} {q:?}");
                assert!(page.iter().all(|m| m.room.as_str() == name));
                assert!(page.windows(2).all(|w| w[0].id < w[1].id));
            }
        }
    }

    #[tokio::test]
    async fn ids_stay_ahead_of_the_clock_going_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = bare_writer(dir.path());
        // As if the previous run's clock had been an hour ahead.
        writer.last_id = now_micros() + 3_600_000_000;
        let (command, mut answer) = append_command(new_message("r", "ann", "hi", None));
        commit_durably(&mut writer, vec![command]);
        let message = answer.try_recv().unwrap().unwrap().message;
        assert_eq!(message.id, writer.last_id);
        assert!(message.id > now_micros());
    }

    #[tokio::test]
    async fn flush_waits_for_queued_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fill(&store, "r", 3).await;
        store.flush().await.unwrap();
        assert_eq!(store.message_count(), 3);
    }

    #[tokio::test]
    async fn full_log_segments_are_retired_and_nothing_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with_segments_of(dir.path(), 2048).unwrap();
        let written = fill(&store, "r", 120).await;
        store.flush().await.unwrap();
        // Each retired segment is deleted after a sled flush; at most the active one and
        // one being retired remain.
        assert!(
            log_segments(dir.path()) <= 2,
            "{}",
            log_segments(dir.path())
        );
        store.close().await.unwrap();

        let store = Store::open(dir.path()).unwrap();
        let page = store
            .page(&room("r"), query(None, None, 200))
            .await
            .unwrap();
        assert_eq!(page, written);
    }

    fn seeded(dir: &Path) -> (Store, tokio::runtime::Runtime) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = Store::open(dir).unwrap();
        runtime.block_on(async {
            fill(&store, "a", 3).await;
            fill(&store, "b.c", 2).await;
            store
                .append(new_message("a", "bob", "with id", Some("c9")))
                .await
                .unwrap();
        });
        (store, runtime)
    }

    #[test]
    fn export_then_import_round_trips() {
        let source_dir = tempfile::tempdir().unwrap();
        let (source, _runtime) = seeded(source_dir.path());
        let mut exported = Vec::new();
        assert_eq!(source.export(None, &mut exported).unwrap(), 6);
        let lines: Vec<Message> = exported
            .lines()
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect();
        assert_eq!(lines[0].room.as_str(), "a");
        assert!(lines[..4].windows(2).all(|w| w[0].id < w[1].id));

        let mut only_b = Vec::new();
        assert_eq!(source.export(Some(&room("b.c")), &mut only_b).unwrap(), 2);

        let target_dir = tempfile::tempdir().unwrap();
        let target = Store::open(target_dir.path()).unwrap();
        let report = target.import(exported.as_slice()).unwrap();
        assert_eq!(
            report,
            ImportReport {
                imported: 6,
                skipped: 0
            }
        );
        assert_eq!(target.message_count(), 6);
        let mut again = Vec::new();
        target.export(None, &mut again).unwrap();
        assert_eq!(again, exported);

        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let retry = target
                .append(new_message("a", "bob", "with id", Some("c9")))
                .await
                .unwrap();
            assert!(retry.duplicate, "imported client ids still deduplicate");
            let newer = target
                .append(new_message("a", "ann", "new", None))
                .await
                .unwrap();
            assert!(newer.message.id > lines.iter().map(|m| m.id).max().unwrap());
        });
    }

    #[test]
    fn importing_twice_changes_nothing() {
        let source_dir = tempfile::tempdir().unwrap();
        let (source, _runtime) = seeded(source_dir.path());
        let mut exported = Vec::new();
        source.export(None, &mut exported).unwrap();
        // The same lines twice in one file, plus blank lines, are fine too.
        let mut doubled = exported.clone();
        doubled.extend_from_slice(b"\n  \n");
        doubled.extend_from_slice(&exported);

        let target_dir = tempfile::tempdir().unwrap();
        let target = Store::open(target_dir.path()).unwrap();
        assert_eq!(
            target.import(doubled.as_slice()).unwrap(),
            ImportReport {
                imported: 6,
                skipped: 6
            }
        );
        assert_eq!(
            target.import(exported.as_slice()).unwrap(),
            ImportReport {
                imported: 0,
                skipped: 6
            }
        );
        assert_eq!(target.message_count(), 6);
    }

    #[test]
    fn import_names_the_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let input = concat!(
            r#"{"id":1,"room":"a","sender":"ann","text":"ok","ts":0,"client_id":null}"#,
            "\n\n",
            r#"{"id":2,"room":"a b","sender":"ann","text":"bad room","ts":0}"#,
            "\n"
        );
        let err = store.import(input.as_bytes()).unwrap_err();
        assert!(
            matches!(err, StoreError::ImportParse { line: 3, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("import line 3: room may only contain"),
            "{err}"
        );
        let err = store.import("not json\n".as_bytes()).unwrap_err();
        assert!(matches!(err, StoreError::ImportParse { line: 1, .. }));
    }
}
