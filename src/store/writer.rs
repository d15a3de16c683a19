//! The writer thread: every mutation goes through it, in group commits.
//!
//! It takes one request, drains whatever else is already queued, appends all of it as
//! one record to the write-ahead log and inserts it into sled ([`wal`]); the flusher
//! thread ([`flusher`]) syncs the log once for every batch applied meanwhile and only
//! then answers their waiters. A single writer also makes ids and duplicate checks
//! race-free without locks.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use super::codec::{
    META_COUNT, META_LAST_ID, change_key, decode_entry, decode_u64, dedupe_key, encode_message,
    encode_value, message_key,
};
use super::durability::{GroupSync, SyncLevel};
use super::error::{StoreError, WriteFailure, corrupt, sled_err};
use super::flusher::{self, Applied};
use super::open::Trees;
use super::stats::Shared;
use super::wal;
use super::{
    Appended, ChangeCompletion, ChangeKind, ChangeRequest, Changed, Completion, ImportReport,
    MAX_REACTIONS, NewMessage,
};
use crate::model::{Deleted, Message, Reaction, RoomName, Stored, Tombstone};

/// Most requests one group commit takes, so one huge burst cannot delay its first
/// waiters without bound.
const MAX_BATCH: usize = 1024;
/// Requests waiting for the writer; when full, an append is answered with
/// [`StoreError::Busy`] and other requests wait, which pushes back on clients instead of
/// growing memory.
const QUEUE_CAPACITY: usize = 4096;
/// Applied batches that may wait for the flusher; beyond that the writer waits.
const APPLIED_AHEAD: usize = 64;

/// Where the answer to a request other than an append goes.
pub(super) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A request to the writer.
pub(super) enum Command {
    Append {
        request: NewMessage,
        done: Completion,
    },
    Change {
        request: ChangeRequest,
        done: ChangeCompletion,
    },
    Import {
        messages: Vec<Stored>,
        reply: Reply<ImportReport>,
    },
    Flush {
        reply: Reply<()>,
    },
    /// Take nothing more: write what is queued, flush sled, remove the log, then
    /// answer.
    Close {
        reply: Reply<()>,
    },
}

/// An answer computed while staging, sent only once the batch is durable.
pub(super) enum Outcome {
    Append(Completion, Result<Appended, StoreError>),
    Change(ChangeCompletion, Result<Changed, StoreError>),
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
    /// Messages changed in this batch as they now are, so a second change in the same
    /// batch starts from the first.
    changed: HashMap<Vec<u8>, Stored>,
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

    fn remove(&mut self, key: Vec<u8>) {
        self.entries.push((key, Vec::new()));
    }

    /// The next id or rev: a microsecond timestamp, larger than every one before.
    fn next_id(&mut self) -> u64 {
        self.last_id = now_micros().max(self.last_id.saturating_add(1));
        self.last_id
    }

    /// The value staged for `key` in this batch, newest first.
    fn staged_value(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries
            .iter()
            .rev()
            .find(|(staged, _)| staged == key)
            .map(|(_, value)| value.as_slice())
    }
}

/// The change entry of an imported message that changed after it was sent: its key,
/// and the message's id.
type ChangeEntry = (Vec<u8>, u64);

/// The writer thread; it ends with the result of its final flush.
pub(super) type WriterThread = JoinHandle<Result<(), sled::Error>>;

/// Starts the writer thread, which goes on from the state `open` found, and returns the
/// queue that feeds it. The thread ends once every sender is dropped and all that was
/// queued is durable.
pub(super) fn start(
    trees: Trees,
    wal: wal::Wal,
    sync: SyncLevel,
    shared: Arc<Shared>,
    last_id: u64,
    count: u64,
) -> io::Result<(mpsc::Sender<Command>, WriterThread)> {
    let writer = Writer {
        trees,
        wal,
        sync,
        shared,
        last_id,
        count,
    };
    let (requests, receiver) = mpsc::channel(QUEUE_CAPACITY);
    let thread = std::thread::Builder::new()
        .name("parley-store-writer".into())
        .spawn(move || writer.run(receiver))?;
    Ok((requests, thread))
}

/// What the writer thread owns: the only handle that writes to sled and the log.
struct Writer {
    trees: Trees,
    wal: wal::Wal,
    sync: SyncLevel,
    shared: Arc<Shared>,
    /// The highest id given out, so the next one is larger even if the clock goes back.
    last_id: u64,
    /// Messages stored, written with every batch so that opening need not count them.
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
        let flusher = flusher::spawn(
            self.trees.clone(),
            Arc::clone(&self.shared),
            GroupSync::new(self.sync),
            applied,
        )
        .map_err(sled::Error::Io)?;
        // `blocking_recv` keeps returning queued commands after the store dropped its
        // sender or asked to close, so everything accepted is still written before the
        // thread ends.
        let mut closers = Vec::new();
        while let Some(first) = requests.blocking_recv() {
            let mut commands = vec![first];
            while commands.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(command) => commands.push(command),
                    Err(_) => break,
                }
            }
            let mut work = Vec::with_capacity(commands.len());
            for command in commands {
                match command {
                    Command::Close { reply } => {
                        requests.close();
                        closers.push(reply);
                    }
                    other => work.push(other),
                }
            }
            if work.is_empty() {
                continue;
            }
            let batch = self.commit(work);
            if let Err(std::sync::mpsc::SendError(batch)) = applied_sender.send(batch) {
                // Only if the flusher died; its waiters still deserve an answer.
                let mut sync = GroupSync::new(self.sync);
                flusher::finish(&self.trees, &self.shared, &mut sync, vec![batch]);
            }
        }
        drop(applied_sender);
        let flushed = flusher.join().unwrap_or_else(|_| {
            Err(sled::Error::ReportableBug(
                "store flusher thread panicked".into(),
            ))
        });
        // sled now holds everything durably; a log left behind would only be replayed.
        if flushed.is_ok()
            && let Err(error) = self.wal.remove_all()
        {
            tracing::warn!(%error, "cannot remove the write-ahead log after the final flush");
        }
        for reply in closers {
            let _ = reply.send(flushed.clone().map_err(sled_err("closing the store")));
        }
        flushed
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
                Command::Change { request, done } => {
                    Outcome::Change(done, self.stage_change(&mut pending, request))
                }
                Command::Import { messages, reply } => {
                    Outcome::Import(reply, self.stage_import(&mut pending, messages))
                }
                Command::Flush { reply } => Outcome::Flush(reply),
                Command::Close { reply } => {
                    unreachable!("run takes Close out of every batch: {reply:?}")
                }
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

    /// Appends the staged batch to the log, then inserts it into sled;
    /// [`flusher::complete`] makes it durable.
    ///
    /// The batch is atomic through the log, not through sled: a crash may leave sled
    /// with part of a batch, and replaying the record on open completes it. Plain
    /// inserts are used because sled's `apply_batch` writes out sled's own log buffer on
    /// every call, handing it to sled's IO pool, whose wake-ups cost more than all the
    /// inserts together.
    fn write(&mut self, pending: &mut Pending) -> Result<Option<wal::LoggedRecord>, WriteFailure> {
        if pending.entries.is_empty() {
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
        // Readers of changes wait while a batch goes in, so they see it whole or not.
        let readers_held_off = self.shared.hold_readers_off();
        for (key, value) in pending.entries.drain(..) {
            let written = if value.is_empty() {
                self.trees.messages.remove(key).map(drop)
            } else {
                self.trees.messages.insert(key, value).map(drop)
            };
            written.map_err(|source| WriteFailure::sled("committing a batch", source))?;
        }
        drop(readers_held_off);
        self.count = count;
        self.shared.count.store(count, Ordering::Relaxed);
        Ok(Some(logged))
    }

    fn stage_append(
        &self,
        pending: &mut Pending,
        request: NewMessage,
    ) -> Result<Appended, StoreError> {
        let dedupe_key = request.client_id.as_ref().map(|client_id| {
            dedupe_key(
                &request.room,
                &request.sender,
                request.user.as_ref(),
                client_id,
            )
        });
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
        if let Some(reply_to) = request.reply_to
            && self
                .current(pending, &message_key(&request.room, reply_to))?
                .is_none()
        {
            return Err(StoreError::NoSuchReply(reply_to));
        }
        let id = pending.next_id();
        let message = Message {
            id,
            room: request.room,
            sender: request.sender,
            user: request.user,
            text: request.text,
            ts: id / 1000,
            client_id: request.client_id,
            rev: id,
            reply_to: request.reply_to,
            mentions: request.mentions,
            edited_ts: None,
            reactions: Vec::new(),
            files: request.files,
        };
        pending.stage(Staged {
            key: message_key(&message.room, id),
            value: encode_message(&message)?,
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
        let id = decode_u64(dedupe_key, &id)?;
        let key = message_key(room, id);
        let value = self
            .trees
            .messages
            .get(&key)
            .map_err(&read)?
            .ok_or_else(|| corrupt(dedupe_key, "dedupe entry points to a missing message"))?;
        match decode_entry(&key, &value)? {
            Stored::Message(message) => Ok(Some(message)),
            // A retry of a message deleted since must not bring it back.
            Stored::Deleted(_) => Err(StoreError::NoSuchMessage {
                room: room.to_string(),
                id,
            }),
        }
    }

    /// What is stored at `key` now, counting this batch.
    fn current(&self, pending: &Pending, key: &[u8]) -> Result<Option<Stored>, StoreError> {
        if let Some(stored) = pending.changed.get(key) {
            return Ok(Some(stored.clone()));
        }
        if pending.keys.contains(key)
            && let Some(value) = pending.staged_value(key)
        {
            return decode_entry(key, value).map(Some);
        }
        let value = self
            .trees
            .messages
            .get(key)
            .map_err(sled_err("reading a message to change"))?;
        value.map(|value| decode_entry(key, &value)).transpose()
    }

    /// Stages a change to a stored message, if it changes anything: the message with a
    /// fresh rev, and its change entry moved from the old rev to the new one.
    fn stage_change(
        &self,
        pending: &mut Pending,
        request: ChangeRequest,
    ) -> Result<Changed, StoreError> {
        let key = message_key(&request.room, request.id);
        let not_found = || StoreError::NoSuchMessage {
            room: request.room.to_string(),
            id: request.id,
        };
        let message = match self.current(pending, &key)? {
            Some(Stored::Message(message)) => message,
            Some(deleted @ Stored::Deleted(_))
                if matches!(request.kind, ChangeKind::Delete { .. }) =>
            {
                return Ok(Changed {
                    stored: deleted,
                    changed: false,
                });
            }
            Some(Stored::Deleted(_)) | None => return Err(not_found()),
        };
        let is_author = message.user.as_ref() == Some(&request.by);
        let old_rev = message.rev;
        let changed = match request.kind {
            ChangeKind::Edit { text, mentions } => {
                if !is_author {
                    return Err(StoreError::NotAllowed("only its author may edit a message"));
                }
                (message.text != text || message.mentions != mentions).then(|| {
                    let rev = pending.next_id();
                    Stored::Message(Message {
                        text,
                        mentions,
                        edited_ts: Some(rev / 1000),
                        rev,
                        ..message.clone()
                    })
                })
            }
            ChangeKind::Delete { as_admin } => {
                if !is_author && !as_admin {
                    return Err(StoreError::NotAllowed(
                        "only its author or an admin may delete a message",
                    ));
                }
                Some(Stored::Deleted(Tombstone {
                    id: message.id,
                    room: message.room.clone(),
                    rev: pending.next_id(),
                    ts: message.ts,
                    deleted: Deleted,
                }))
            }
            ChangeKind::React { emoji, on } => {
                let mut reactions = message.reactions.clone();
                let at = reactions
                    .iter()
                    .position(|reaction| reaction.emoji == emoji);
                let differs = match (at, on) {
                    (Some(at), true) if !reactions[at].users.contains(&request.by) => {
                        reactions[at].users.push(request.by.clone());
                        true
                    }
                    (None, true) => {
                        if reactions.len() >= MAX_REACTIONS {
                            return Err(StoreError::TooManyReactions(MAX_REACTIONS));
                        }
                        reactions.push(Reaction {
                            emoji,
                            users: vec![request.by.clone()],
                        });
                        true
                    }
                    (Some(at), false) if reactions[at].users.contains(&request.by) => {
                        reactions[at].users.retain(|user| *user != request.by);
                        if reactions[at].users.is_empty() {
                            reactions.remove(at);
                        }
                        true
                    }
                    _ => false,
                };
                differs.then(|| {
                    Stored::Message(Message {
                        reactions,
                        rev: pending.next_id(),
                        ..message.clone()
                    })
                })
            }
        };
        let Some(stored) = changed else {
            return Ok(Changed {
                stored: Stored::Message(message),
                changed: false,
            });
        };
        pending.insert(&key, &encode_value(&stored)?);
        if old_rev != request.id {
            pending.remove(change_key(&request.room, old_rev));
        }
        pending.insert(
            &change_key(&request.room, stored.rev()),
            &request.id.to_be_bytes(),
        );
        pending.changed.insert(key, stored.clone());
        Ok(Changed {
            stored,
            changed: true,
        })
    }

    /// Stages messages (and tombstones) that keep their ids and revs; an existing
    /// (room, id) is skipped so that importing the same file twice changes nothing.
    fn stage_import(
        &self,
        pending: &mut Pending,
        imported: Vec<Stored>,
    ) -> Result<ImportReport, StoreError> {
        let read = sled_err("checking imported messages");
        let mut report = ImportReport::default();
        let mut staged: Vec<(Staged, Option<ChangeEntry>)> = Vec::with_capacity(imported.len());
        let mut keys = HashSet::new();
        let mut dedupe_keys = HashSet::new();
        for mut stored in imported {
            let (room, id) = (stored.room().clone(), stored.id());
            let key = message_key(&room, id);
            if pending.keys.contains(&key)
                || keys.contains(&key)
                || self.trees.messages.contains_key(&key).map_err(&read)?
            {
                report.skipped += 1;
                continue;
            }
            // An export from before revs exists has none: its messages never changed.
            if let Stored::Message(message) = &mut stored
                && message.rev == 0
            {
                message.rev = message.id;
            }
            // The first message of a (room, sender, client_id) keeps the dedupe entry,
            // as it would have live.
            let dedupe_key = match &stored {
                Stored::Message(Message {
                    client_id: Some(client_id),
                    sender,
                    user,
                    ..
                }) => {
                    let dedupe_key = dedupe_key(&room, sender, user.as_ref(), client_id);
                    let taken = pending.dedupe_hits.contains_key(&dedupe_key)
                        || dedupe_keys.contains(&dedupe_key)
                        || self
                            .trees
                            .messages
                            .contains_key(&dedupe_key)
                            .map_err(&read)?;
                    (!taken).then_some(dedupe_key)
                }
                _ => None,
            };
            if let Some(dedupe_key) = &dedupe_key {
                dedupe_keys.insert(dedupe_key.clone());
            }
            keys.insert(key.clone());
            let rev = stored.rev();
            let change = (rev != id).then(|| (change_key(&room, rev), id));
            let value = encode_value(&stored)?;
            let dedupe = match (dedupe_key, stored) {
                (Some(dedupe_key), Stored::Message(message)) => Some((dedupe_key, message)),
                _ => None,
            };
            staged.push((
                Staged {
                    key,
                    value,
                    id: id.max(rev),
                    dedupe,
                },
                change,
            ));
            report.imported += 1;
        }
        for (one, change) in staged {
            pending.stage(one);
            if let Some((change, id)) = change {
                pending.insert(&change, &id.to_be_bytes());
            }
        }
        Ok(report)
    }
}

fn now_micros() -> u64 {
    // A clock before 1970 yields 0, and the last+1 rule still keeps ids increasing.
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::LOG_SEGMENT_BYTES;
    use crate::store::log_file::OsDisk;
    use crate::store::test_support::new_message;

    /// A writer over a fresh database, driven directly so that a test can decide exactly
    /// which requests share one group commit.
    fn bare_writer(dir: &Path) -> Writer {
        Writer {
            trees: Trees::open(sled::open(dir).unwrap(), dir).unwrap(),
            wal: wal::Leftovers::find(Arc::new(OsDisk), dir)
                .unwrap()
                .start(LOG_SEGMENT_BYTES)
                .unwrap(),
            sync: SyncLevel::Full,
            shared: Arc::new(Shared::default()),
            last_id: 0,
            count: 0,
        }
    }

    /// What the writer and flusher threads do for one batch.
    fn commit_durably(writer: &mut Writer, commands: Vec<Command>) {
        let applied = writer.commit(commands);
        let mut sync = GroupSync::new(writer.sync);
        flusher::finish(&writer.trees, &writer.shared, &mut sync, vec![applied]);
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
        assert_eq!(value[0], 2);
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
}
