//! The durable message store: sled underneath, one writer thread doing group commit
//! (appends and changes to messages), and paging reads.
//!
//! How requests flow: [`Store`] is the only way in. A page is read straight from sled
//! on a blocking task. Every write is queued to the writer thread (`writer.rs`), which
//! takes whatever is queued as one batch, appends it as one record to the write-ahead
//! log (`wal.rs`) and inserts it into sled; the flusher thread (`flusher.rs`) syncs the
//! log once for all the batches applied meanwhile and only then answers them. Answers
//! come back up only that way: an append through its [`Completion`], other requests
//! through a reply the caller awaits. So a caller hears of a write only once it is
//! durable as the store's [`SyncLevel`] defines it (or failed), the completions of one
//! batch run in id order, and nothing in the store calls up into the chat.
//!
//! The other files: `read.rs` reads a room's pages and what changed after a rev;
//! `open.rs` locks a data directory, opens sled and replays the log; `durability.rs` holds the sync levels and when the flusher syncs; `segment.rs`
//! prepares the log's files ahead of use; `log_file.rs` holds the file operations the
//! log makes and what each promises, and `power_cut.rs` (tests only) a disk that
//! simulates power cuts under them; `codec.rs` lays out keys and records (with the
//! layout table); `error.rs` holds [`StoreError`]; `stats.rs` the counters `/metrics`
//! shows; `import_export.rs` the JSON lines backup format.

mod codec;
mod durability;
mod error;
mod flusher;
mod import_export;
mod log_file;
mod open;
#[cfg(test)]
mod power_cut;
mod read;
mod segment;
mod stats;
#[cfg(test)]
mod test_support;
mod wal;
mod writer;

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sled::Tree;
use tokio::sync::{mpsc, oneshot};

use crate::model::{
    ClientId, Emoji, FileRef, Message, MessageText, RoomName, SenderName, Stored, Username,
};
use codec::{decode_entry, is_message_key, message_key, room_prefix, split_message_key};
use error::sled_err;
use open::{Opened, Trees, open_dir};
use read::{read_changes, read_page};
use stats::Shared;
use writer::{Command, WriterThread};

pub use durability::SyncLevel;
pub use error::StoreError;
pub use import_export::ImportReport;
pub use stats::{FLUSH_BUCKETS_US, StoreStatsSnapshot};

/// A validated message to store; the store assigns `id` and `ts`.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room: RoomName,
    pub sender: SenderName,
    /// The signed-in author; `None` in open mode.
    pub user: Option<Username>,
    pub text: MessageText,
    pub client_id: Option<ClientId>,
    /// A message of the same room this one answers; the append fails without it.
    pub reply_to: Option<u64>,
    pub mentions: Vec<Username>,
    pub files: Vec<FileRef>,
}

/// A change to a stored message, asked by `by`: the store checks who may make it
/// against the message as stored, in the same step that changes it.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    pub room: RoomName,
    pub id: u64,
    pub by: Username,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone)]
pub enum ChangeKind {
    /// New text, by its author only; `mentions` are the new text's.
    Edit {
        text: MessageText,
        mentions: Vec<Username>,
    },
    /// By its author, or anyone when `as_admin`. The text is removed; a tombstone stays.
    Delete { as_admin: bool },
    /// `by` gives (`on`) or takes back a reaction.
    React { emoji: Emoji, on: bool },
}

/// The most different reactions one message may have.
pub const MAX_REACTIONS: usize = 64;

/// The outcome of [`Store::change_then`]: the message as it now is, and whether the
/// request changed it (giving a reaction twice does not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub stored: Stored,
    pub changed: bool,
    /// The files of a message this deleted, which nothing refers to any more.
    pub released: Vec<FileRef>,
}

/// How a change's outcome leaves the store, as [`Completion`] does for an append.
pub type ChangeCompletion = Box<dyn FnOnce(Result<Changed, StoreError>) + Send>;

/// A room's messages created or changed after some rev, in rev order, and the room's
/// latest rev.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    pub messages: Vec<Stored>,
    pub rev: u64,
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

/// How an append's outcome leaves the store: called on the store's flusher thread once
/// the append is durable (or failed), never before. Completions of one batch run in the
/// order their requests arrived, so whatever they trigger (a broadcast) happens in id
/// order.
pub type Completion = Box<dyn FnOnce(Result<Appended, StoreError>) + Send>;

/// Size at which the log moves to a new segment and the full one is retired (which
/// costs one sled flush). Each segment is written with zeros before use.
const LOG_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// How to open a store; the default is what [`Store::open`] uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// What must have happened to a write before it is acknowledged.
    pub sync: SyncLevel,
}

/// The message store. Share it behind an `Arc`; call [`Store::close`] to shut down from
/// async code (dropping it blocks the current thread until queued writes are done).
pub struct Store {
    requests: Option<mpsc::Sender<Command>>,
    writer: Option<WriterThread>,
    trees: Trees,
    shared: Arc<Shared>,
    // Declared last so it is released only after the database above is closed.
    _lock: File,
}

impl Store {
    /// Opens (creating if needed) the store in `dir` and starts its writer thread.
    /// Fails at once with [`StoreError::Locked`] if another process has it open.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, StoreOptions::default())
    }

    /// [`Store::open`] with other options.
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        Store::open_with_segments_of(dir, options, LOG_SEGMENT_BYTES)
    }

    fn open_with_segments_of(
        dir: &Path,
        options: StoreOptions,
        segment_bytes: u64,
    ) -> Result<Store, StoreError> {
        let Opened {
            lock,
            trees,
            wal,
            last_id,
            count,
        } = open_dir(dir, segment_bytes)?;
        let shared = Arc::new(Shared::default());
        shared.count.store(count, Ordering::Relaxed);
        let (requests, writer) = writer::start(
            trees.clone(),
            wal,
            options.sync,
            Arc::clone(&shared),
            last_id,
            count,
        )
        .map_err(StoreError::Spawn)?;
        tracing::info!(dir = %dir.display(), messages = count, sync = %options.sync, "store opened");
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

    /// Queues a change to a stored message and runs `done` on the flusher thread when it
    /// is durable, as [`Store::append_then`] does.
    pub fn change_then(
        &self,
        request: ChangeRequest,
        done: impl FnOnce(Result<Changed, StoreError>) + Send + 'static,
    ) {
        let done: ChangeCompletion = Box::new(done);
        let Ok(requests) = self.requests() else {
            return done(Err(StoreError::WriterGone));
        };
        if let Err(error) = requests.try_send(Command::Change { request, done }) {
            let (command, failure) = match error {
                mpsc::error::TrySendError::Full(command) => (command, StoreError::Busy),
                mpsc::error::TrySendError::Closed(command) => (command, StoreError::WriterGone),
            };
            if let Command::Change { done, .. } = command {
                done(Err(failure));
            }
        }
    }

    /// [`Store::change_then`], awaited.
    pub async fn change(&self, request: ChangeRequest) -> Result<Changed, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.change_then(request, move |result| {
            let _ = reply.send(result);
        });
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Stops taking writes, writes everything queued, flushes sled and removes the
    /// write-ahead log (a clean shutdown leaves nothing to replay). Later writes fail
    /// with [`StoreError::WriterGone`].
    pub async fn shut_down(&self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.requests()?
            .send(Command::Close { reply })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
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
    ///
    /// Deleted messages are in the page as their tombstones.
    pub async fn page(&self, room: &RoomName, query: PageQuery) -> Result<Vec<Stored>, StoreError> {
        let messages = self.trees.messages.clone();
        let room = room.clone();
        tokio::task::spawn_blocking(move || read_page(&messages, &room, query)).await?
    }

    /// [`Store::page`] on the calling thread, which it blocks.
    pub fn page_blocking(
        &self,
        room: &RoomName,
        query: PageQuery,
    ) -> Result<Vec<Stored>, StoreError> {
        read_page(&self.trees.messages, room, query)
    }

    /// The first `limit` messages of `room` created or changed after rev `since`, in
    /// rev order (a deleted one as its tombstone), and the room's latest rev: what a
    /// client that saw everything up to `since` has missed.
    pub async fn changes_since(
        &self,
        room: &RoomName,
        since: u64,
        limit: usize,
    ) -> Result<Changes, StoreError> {
        let messages = self.trees.messages.clone();
        let shared = self.shared.clone();
        let room = room.clone();
        tokio::task::spawn_blocking(move || {
            let _writer_held_off = shared.hold_writer_off();
            read_changes(&messages, &room, since, limit)
        })
        .await?
    }

    /// [`Store::changes_since`] on the calling thread, which it blocks.
    pub fn changes_since_blocking(
        &self,
        room: &RoomName,
        since: u64,
        limit: usize,
    ) -> Result<Changes, StoreError> {
        let _writer_held_off = self.shared.hold_writer_off();
        read_changes(&self.trees.messages, room, since, limit)
    }

    /// What is stored at `id` in `room`, if anything. Blocks.
    pub fn get_blocking(&self, room: &RoomName, id: u64) -> Result<Option<Stored>, StoreError> {
        let key = message_key(room, id);
        self.trees
            .messages
            .get(&key)
            .map_err(sled_err("reading a message"))?
            .map(|value| decode_entry(&key, &value))
            .transpose()
    }

    /// Every room that has messages, in id order. Blocks; costs one seek per room.
    pub fn room_names(&self) -> Result<Vec<RoomName>, StoreError> {
        let messages = &self.trees.messages;
        let read = sled_err("listing rooms");
        let mut rooms = Vec::new();
        // Dedupe entries and metadata sort first (their first bytes are below any
        // room's); messages start after them.
        let mut next = messages.get_gt(b" ").map_err(&read)?;
        while let Some((key, _)) = next {
            if !is_message_key(&key) {
                break;
            }
            let (room, _) = split_message_key(&key)?;
            // Past every key of this room: its prefix with the separator 0x00 raised
            // to 0x01, which no key equals (room names are printable).
            let mut after = room_prefix(&room);
            after.pop();
            after.push(1);
            next = messages.get_gt(&after).map_err(&read)?;
            rooms.push(room);
        }
        Ok(rooms)
    }

    /// Opens (creating it if needed) another tree of the store's database, for data kept
    /// beside the messages: the accounts. Writes to it bypass the store's log and writer,
    /// so whoever writes makes them durable with [`Tree::flush`] before relying on them.
    /// The store's own trees are not to be opened this way.
    pub fn open_tree(&self, name: &str) -> Result<Tree, StoreError> {
        self.trees
            .db
            .open_tree(name)
            .map_err(sled_err("opening a tree"))
    }

    /// Number of stored messages, kept as a counter so this is free.
    pub fn message_count(&self) -> usize {
        usize::try_from(self.shared.count.load(Ordering::Relaxed)).unwrap_or(usize::MAX)
    }

    /// Requests waiting for the writer: how close the store is to answering `Busy`.
    pub fn queue_depth(&self) -> usize {
        self.requests
            .as_ref()
            .map_or(0, |requests| requests.max_capacity() - requests.capacity())
    }

    /// Group-commit counters since open, for `/metrics`.
    pub fn stats(&self) -> StoreStatsSnapshot {
        self.shared.stats.snapshot()
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
    use std::collections::HashSet;

    use super::test_support::{fill, new_message, query, room};
    use super::*;
    use crate::model::Emoji;

    fn texts(page: &[Stored]) -> Vec<&str> {
        page.iter()
            .filter_map(Stored::message)
            .map(|m| m.text.as_str())
            .collect()
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
                assert!(page.iter().all(|m| m.room().as_str() == name));
                assert!(page.windows(2).all(|w| w[0].id() < w[1].id()));
            }
        }
    }

    fn by(user: &str, text: &str) -> NewMessage {
        NewMessage {
            user: Some(Username::parse(user).unwrap()),
            ..new_message("r", user, text, None)
        }
    }

    fn change(id: u64, user: &str, kind: ChangeKind) -> ChangeRequest {
        ChangeRequest {
            room: room("r"),
            id,
            by: Username::parse(user).unwrap(),
            kind,
        }
    }

    fn edit(text: &str) -> ChangeKind {
        ChangeKind::Edit {
            text: MessageText::parse(text, 100).unwrap(),
            mentions: Vec::new(),
        }
    }

    fn react(emoji: &str, on: bool) -> ChangeKind {
        ChangeKind::React {
            emoji: Emoji::parse(emoji).unwrap(),
            on,
        }
    }

    #[tokio::test]
    async fn edits_deletes_and_reactions_follow_their_rules_and_take_fresh_revs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let first = store.append(by("ann", "helo")).await.unwrap().message;
        let second = store.append(by("bob", "hi ann")).await.unwrap().message;
        assert_eq!(first.rev, first.id);

        let refused = store
            .change(change(first.id, "bob", edit("hijacked")))
            .await;
        assert!(matches!(refused, Err(StoreError::NotAllowed(_))));
        let edited = store
            .change(change(first.id, "ann", edit("hello")))
            .await
            .unwrap();
        assert!(edited.changed);
        let Stored::Message(edited) = edited.stored else {
            panic!("an edit keeps the message");
        };
        assert_eq!(edited.text.as_str(), "hello");
        assert!(edited.rev > second.id, "a fresh rev, after every id so far");
        assert_eq!(edited.edited_ts, Some(edited.rev / 1000));

        let thumbs = store
            .change(change(second.id, "ann", react("👍", true)))
            .await
            .unwrap();
        let again = store
            .change(change(second.id, "ann", react("👍", true)))
            .await
            .unwrap();
        assert!(
            thumbs.changed && !again.changed,
            "a reaction given twice counts once"
        );
        assert_eq!(again.stored.rev(), thumbs.stored.rev());
        store
            .change(change(second.id, "bob", react("👍", true)))
            .await
            .unwrap();
        let reactions = store
            .change(change(second.id, "cy", react("🎉", true)))
            .await
            .unwrap();
        let reactions = &reactions.stored.message().unwrap().reactions;
        assert_eq!(reactions.len(), 2);
        assert_eq!(reactions[0].users.len(), 2);
        let taken_back = store
            .change(change(second.id, "cy", react("🎉", false)))
            .await
            .unwrap();
        assert_eq!(taken_back.stored.message().unwrap().reactions.len(), 1);

        let refused = store
            .change(change(
                second.id,
                "ann",
                ChangeKind::Delete { as_admin: false },
            ))
            .await;
        assert!(matches!(refused, Err(StoreError::NotAllowed(_))));
        let deleted = store
            .change(change(
                second.id,
                "ann",
                ChangeKind::Delete { as_admin: true },
            ))
            .await
            .unwrap();
        assert!(matches!(deleted.stored, Stored::Deleted(_)));
        let gone = store.change(change(second.id, "bob", edit("back?"))).await;
        assert!(matches!(gone, Err(StoreError::NoSuchMessage { .. })));
        let missing = store.change(change(12345, "ann", edit("x"))).await;
        assert!(matches!(missing, Err(StoreError::NoSuchMessage { .. })));

        let page = store.page(&room("r"), query(None, None, 10)).await.unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(page[0], edited);
        assert_eq!(page[1], deleted.stored);
    }

    #[tokio::test]
    async fn changes_since_a_rev_are_what_was_created_or_changed_after_it_in_rev_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = store.append(by("ann", "a")).await.unwrap().message;
        let b = store.append(by("ann", "b")).await.unwrap().message;
        let seen = b.rev;
        let c = store.append(by("ann", "c")).await.unwrap().message;
        store.change(change(a.id, "ann", edit("a2"))).await.unwrap();
        let d = store.append(by("ann", "d")).await.unwrap().message;
        store
            .change(change(c.id, "ann", ChangeKind::Delete { as_admin: false }))
            .await
            .unwrap();
        store.change(change(a.id, "ann", edit("a3"))).await.unwrap();
        store
            .append(new_message("other", "x", "elsewhere", None))
            .await
            .unwrap();

        let changes = store.changes_since(&room("r"), seen, 50).await.unwrap();
        let summary: Vec<(u64, Option<&str>)> = changes
            .messages
            .iter()
            .map(|s| (s.id(), s.message().map(|m| m.text.as_str())))
            .collect();
        assert_eq!(
            summary,
            [(d.id, Some("d")), (c.id, None), (a.id, Some("a3"))]
        );
        assert!(changes.messages.windows(2).all(|w| w[0].rev() < w[1].rev()));
        assert_eq!(changes.rev, changes.messages[2].rev());
        let limited = store.changes_since(&room("r"), seen, 2).await.unwrap();
        assert_eq!(limited.messages, changes.messages[..2]);
        let nothing = store
            .changes_since(&room("r"), changes.rev, 50)
            .await
            .unwrap();
        assert!(nothing.messages.is_empty());
        assert_eq!(nothing.rev, changes.rev);
        let everything = store.changes_since(&room("r"), 0, 50).await.unwrap();
        assert_eq!(everything.messages.len(), 4);
        assert_eq!(everything.messages[0].id(), b.id);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changes_survive_reopening_and_export_carries_them() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = {
            let store = Store::open(dir.path()).unwrap();
            let first = store.append(by("ann", "one")).await.unwrap().message;
            let second = store
                .append(NewMessage {
                    reply_to: Some(first.id),
                    ..by("bob", "two")
                })
                .await
                .unwrap()
                .message;
            store
                .change(change(first.id, "bob", react("👀", true)))
                .await
                .unwrap();
            store
                .change(change(
                    second.id,
                    "bob",
                    ChangeKind::Delete { as_admin: false },
                ))
                .await
                .unwrap();
            let orphan = store
                .append(NewMessage {
                    reply_to: Some(999),
                    ..by("bob", "to nothing")
                })
                .await;
            assert!(matches!(orphan, Err(StoreError::NoSuchReply(999))));
            store.close().await.unwrap();
            (first, second)
        };
        let store = Store::open(dir.path()).unwrap();
        let page = store.page(&room("r"), query(None, None, 10)).await.unwrap();
        assert_eq!(page[0].message().unwrap().reactions[0].emoji.as_str(), "👀");
        assert!(matches!(page[1], Stored::Deleted(_)));
        let mut exported = Vec::new();
        store
            .export(None, &mut std::io::BufWriter::new(&mut exported))
            .unwrap();
        let text = String::from_utf8(exported.clone()).unwrap();
        assert!(!text.contains("two"), "a deleted text is not exported");
        assert!(text.contains(r#""deleted":true"#));

        let copy_dir = tempfile::tempdir().unwrap();
        let copy = Store::open(copy_dir.path()).unwrap();
        let report = tokio::task::block_in_place(|| copy.import(exported.as_slice(), |_| Ok(())));
        assert_eq!(report.unwrap().imported, 2);
        assert_eq!(
            copy.page(&room("r"), query(None, None, 10)).await.unwrap(),
            page
        );
        let since = copy.changes_since(&room("r"), second.id, 10).await.unwrap();
        assert_eq!(
            since.messages.len(),
            2,
            "both changed after the second was sent"
        );
        assert!(copy.append(by("ann", "next")).await.unwrap().message.id > since.rev);
        assert_eq!(since.messages[0].message().unwrap().id, first.id);
        assert!(matches!(since.messages[1], Stored::Deleted(_)));
    }

    #[tokio::test]
    async fn room_names_lists_each_room_with_messages_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.room_names().unwrap().is_empty());
        for name in ["b", "a", "a-", "a.b", "b", "a"] {
            store
                .append(new_message(name, "ann", "hi", Some(name)))
                .await
                .unwrap();
        }
        let names: Vec<String> = store
            .room_names()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["a", "a-", "a.b", "b"]);
    }

    #[tokio::test]
    async fn flush_waits_for_queued_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fill(&store, "r", 3).await;
        store.flush().await.unwrap();
        assert_eq!(store.message_count(), 3);
    }
}
