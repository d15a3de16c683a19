//! Opening a data directory: locking it against a second process, opening sled (which
//! can panic on damaged files), replaying what the write-ahead log holds beyond sled's
//! last flush, and loading the counters the writer continues from.

use std::collections::BTreeMap;
use std::fs::{File, TryLockError};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sled::Tree;

use super::codec::{META_COUNT, META_LAST_ID, decode_u64, is_message_key, split_message_key};
use super::error::{StoreError, log_error, sled_err};
use super::log_file::OsDisk;
use super::wal;

/// Our own lock file, held for the store's whole life.
const LOCK_FILE: &str = "parley.lock";
/// The file sled 0.34 keeps its log and pages in, inside its directory.
const SLED_FILE: &str = "db";

/// sled's page cache. Its default (1 GiB) lets a busy server's memory grow far past
/// what recent history needs; paging older messages still works, from disk.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// How long to wait for sled's own lock when ours was free: a store closed a moment
/// ago in this process can hold it briefly, until sled's IO threads drop their handles.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(1);

/// A locked data directory with its log replayed: what the store's writer starts from.
pub(super) struct Opened {
    /// Held for the store's whole life, so that no other process opens the directory.
    pub(super) lock: File,
    pub(super) trees: Trees,
    pub(super) wal: wal::Wal,
    pub(super) last_id: u64,
    pub(super) count: u64,
}

/// Locks `dir` (creating it if needed), opens sled in it, replays the log the previous
/// run left and starts a new one that moves on to a new segment every `segment_bytes`.
pub(super) fn open_dir(dir: &Path, segment_bytes: u64) -> Result<Opened, StoreError> {
    let lock = lock_dir(dir)?;
    let db = open_sled(dir)?;
    let trees = Trees::open(db, dir).map_err(|source| StoreError::Open {
        dir: dir.to_owned(),
        source,
    })?;
    let wal = recover(dir, &trees)?
        .start(segment_bytes)
        .map_err(|source| log_error("starting the log", source))?;
    let (last_id, count) = load_meta(&trees)?;
    Ok(Opened {
        lock,
        trees,
        wal,
        last_id,
        count,
    })
}

fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let dir_error = |source| StoreError::Dir {
        dir: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(dir_error)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(dir_error)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked {
            dir: dir.to_owned(),
        }),
        Err(TryLockError::Error(source)) => Err(dir_error(source)),
    }
}

fn open_sled(dir: &Path) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new().path(dir).cache_capacity(CACHE_BYTES);
    let deadline = Instant::now() + SLED_LOCK_WAIT;
    loop {
        // sled 0.34 panics instead of returning an error on some damaged files; a
        // damaged data directory must be reported, not crash the server.
        let opened = catch_unwind(AssertUnwindSafe(|| config.open())).map_err(|_| {
            StoreError::OpenCrashed {
                dir: dir.to_owned(),
            }
        })?;
        match opened {
            Ok(db) => return Ok(db),
            // sled takes its own non-blocking flock on `dir/db` and reports a conflict
            // only as an io::Error of kind Other with this text. Our lock file normally
            // catches a second parley first; this covers any other program holding the
            // database.
            Err(sled::Error::Io(ref e))
                if e.kind() == std::io::ErrorKind::Other
                    && e.to_string().starts_with("could not acquire lock") =>
            {
                if Instant::now() >= deadline {
                    return Err(StoreError::Locked {
                        dir: dir.to_owned(),
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(source) => {
                return Err(StoreError::Open {
                    dir: dir.to_owned(),
                    source,
                });
            }
        }
    }
}

/// The store's sled handles; clones share the same database.
#[derive(Clone)]
pub(super) struct Trees {
    pub(super) db: sled::Db,
    /// Messages by room and id, dedupe entries and metadata (see [`super::codec`]).
    pub(super) messages: Tree,
    /// sled's data file, to make a flush survive a power cut; see [`Trees::flush`].
    file: Arc<File>,
}

impl Trees {
    /// The trees of `db`, which sled opened in `dir`.
    pub(super) fn open(db: sled::Db, dir: &Path) -> Result<Trees, sled::Error> {
        // Written to by sled only; opened for writing because some systems refuse to
        // sync a file opened for reading.
        let file = File::options().write(true).open(dir.join(SLED_FILE))?;
        Ok(Trees {
            messages: db.open_tree("messages")?,
            db,
            file: Arc::new(file),
        })
    }

    /// Flushes sled durably, as the log must before a segment of it is deleted. sled's
    /// own flush only calls `sync_file_range` (like the `os` sync level), which a power
    /// cut can undo, so sled's file is then synced with `fsync`.
    pub(super) fn flush(&self) -> Result<(), sled::Error> {
        self.db.flush()?;
        self.file.sync_all()?;
        Ok(())
    }
}

/// Replays what the log holds beyond sled's last flush (after a crash) and makes it
/// durable in sled, so the segments can go.
fn recover(dir: &Path, trees: &Trees) -> Result<wal::Leftovers, StoreError> {
    let leftovers = wal::Leftovers::find(Arc::new(OsDisk), dir)
        .map_err(|source| log_error("opening the log", source))?;
    let mut replayed = 0usize;
    // The largest value the log holds for each counter, written once at the end.
    let mut counters = [(META_LAST_ID, None), (META_COUNT, None)];
    // The last value the log holds for each key (empty: removed). Only that is
    // written, so a message deleted later in the log never reaches sled's files.
    let mut last_values: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for records in leftovers.segments() {
        let records = records.map_err(|source| log_error("reading the log", source))?;
        for entries in records {
            for (key, value) in entries {
                match counters
                    .iter_mut()
                    .find(|(counter, _)| *counter == key.as_slice())
                {
                    Some((_, largest)) => {
                        let logged = decode_u64(&key, &value)?;
                        *largest = Some(largest.map_or(logged, |seen: u64| seen.max(logged)));
                    }
                    None => {
                        last_values.insert(key, value);
                    }
                }
            }
            replayed += 1;
        }
    }
    for (key, value) in last_values {
        let replayed = if value.is_empty() {
            trees.messages.remove(key).map(drop)
        } else {
            trees.messages.insert(key, value).map(drop)
        };
        replayed.map_err(sled_err("replaying the log"))?;
    }
    for (counter, logged) in counters {
        if let Some(logged) = logged {
            raise_counter(trees, counter, logged)?;
        }
    }
    if replayed > 0 {
        trees
            .flush()
            .map_err(sled_err("flushing the replayed log"))?;
        tracing::info!(batches = replayed, "replayed the write-ahead log");
    }
    Ok(leftovers)
}

/// Sets a counter to `value` unless sled already holds a larger one. Counters only
/// grow, and sled may have flushed later batches than the log kept (its background
/// flush runs on its own), so an older logged value must not move it back.
fn raise_counter(trees: &Trees, counter: &[u8], value: u64) -> Result<(), StoreError> {
    let stored = trees
        .messages
        .get(counter)
        .map_err(sled_err("replaying the log"))?;
    if let Some(stored) = stored
        && decode_u64(counter, &stored)? >= value
    {
        return Ok(());
    }
    trees
        .messages
        .insert(counter, &value.to_be_bytes())
        .map_err(sled_err("replaying the log"))?;
    Ok(())
}

/// Reads `(last_id, count)`, from the stored counters when present; otherwise (a new or foreign
/// database) by scanning once.
fn load_meta(trees: &Trees) -> Result<(u64, u64), StoreError> {
    let read = sled_err("reading store metadata");
    let last = trees.messages.get(META_LAST_ID).map_err(&read)?;
    let count = trees.messages.get(META_COUNT).map_err(&read)?;
    if let (Some(last), Some(count)) = (last, count) {
        return Ok((
            decode_u64(META_LAST_ID, &last)?,
            decode_u64(META_COUNT, &count)?,
        ));
    }
    let (mut last_id, mut count) = (0, 0);
    for key in trees.messages.iter().keys() {
        let key = key.map_err(&read)?;
        if !is_message_key(&key) {
            continue;
        }
        last_id = last_id.max(split_message_key(&key)?.1);
        count += 1;
    }
    Ok((last_id, count))
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command as Process, Stdio};

    use super::*;
    use crate::model::Message;
    use crate::store::codec::{encode_message, message_key};
    use crate::store::test_support::{fill, log_segments, new_message, query, room, stored};
    use crate::store::{LOG_SEGMENT_BYTES, Store};

    #[tokio::test]
    async fn reopening_keeps_messages_and_ids_keep_rising() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let before = fill(&store, "r", 5).await;
        store
            .append(new_message("r", "ann", "kept", Some("c1")))
            .await
            .unwrap();
        store.close().await.unwrap();

        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.message_count(), 6);
        let page = store
            .page(&room("r"), query(None, None, 100))
            .await
            .unwrap();
        assert_eq!(page[..5], before[..]);
        let retry = store
            .append(new_message("r", "ann", "kept", Some("c1")))
            .await
            .unwrap();
        assert!(retry.duplicate, "dedupe survives a restart");
        let next = store
            .append(new_message("r", "ann", "new", None))
            .await
            .unwrap();
        assert!(next.message.id > page[5].id());
        drop(store);

        // Without the counters (an older or foreign database), open recounts.
        let db = sled::open(dir.path()).unwrap();
        let messages = db.open_tree("messages").unwrap();
        messages.remove(META_LAST_ID).unwrap().unwrap();
        messages.remove(META_COUNT).unwrap().unwrap();
        db.flush().unwrap();
        drop((messages, db));
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.message_count(), 7);
        let after = store
            .append(new_message("r", "ann", "later", None))
            .await
            .unwrap();
        assert!(after.message.id > next.message.id);
    }

    /// Writes a log record of `messages` with the counters a writer would add, as if
    /// the process had died before sled wrote any of it.
    fn leave_in_log(dir: &Path, messages: &[Message], count: u64) {
        let mut entries: wal::Entries = messages
            .iter()
            .map(|m| (message_key(&m.room, m.id), encode_message(m).unwrap()))
            .collect();
        let last_id = messages.iter().map(|m| m.id).max().unwrap();
        entries.push((META_LAST_ID.to_vec(), last_id.to_be_bytes().to_vec()));
        entries.push((META_COUNT.to_vec(), count.to_be_bytes().to_vec()));
        let mut log = wal::Leftovers::find(Arc::new(OsDisk), dir)
            .unwrap()
            .start(LOG_SEGMENT_BYTES)
            .unwrap();
        let logged = log.append(&entries).unwrap();
        logged.segment.sync_data().unwrap();
    }

    #[tokio::test]
    async fn open_replays_what_only_the_log_holds() {
        let dir = tempfile::tempdir().unwrap();
        let logged = [stored(1_000, "one"), stored(2_000, "two")];
        leave_in_log(dir.path(), &logged, 2);

        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.message_count(), 2);
        let page = store.page(&room("r"), query(None, None, 10)).await.unwrap();
        assert_eq!(page, logged);
        let next = store
            .append(new_message("r", "ann", "three", None))
            .await
            .unwrap();
        assert!(next.message.id > 2_000);
        // Replayed segments are gone once sled holds their contents.
        assert!(!log_segments(dir.path()).contains(&0));
        store.close().await.unwrap();
        assert!(
            log_segments(dir.path()).is_empty(),
            "a clean close leaves no log"
        );
    }

    #[tokio::test]
    async fn replay_never_moves_the_counters_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let newer = fill(&store, "r", 3).await;
        store.close().await.unwrap();
        // An older record than sled's state, as when sled flushed later batches on its
        // own and the log lost its tail.
        leave_in_log(dir.path(), &[stored(1_000, "old")], 1);

        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.message_count(), 3);
        let next = store
            .append(new_message("r", "ann", "next", None))
            .await
            .unwrap();
        assert!(next.message.id > newer[2].id);
    }

    #[test]
    fn second_open_in_same_process_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _store = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).err().unwrap();
        assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "data directory {} is in use by another parley process",
                dir.path().display()
            )
        );
    }

    #[test]
    fn database_held_by_another_sled_user_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _db = sled::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).err().unwrap();
        assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    }

    const HOLDER_ENV: &str = "PARLEY_STORE_TEST_LOCK_HOLDER";

    /// Not a test on its own: the child process of `open_held_by_another_process_fails_fast`
    /// runs it to hold a store open until its stdin closes.
    #[test]
    #[ignore = "the child process of open_held_by_another_process_fails_fast, which runs it"]
    fn lock_holder_process() {
        let dir = std::env::var(HOLDER_ENV)
            .expect("run by open_held_by_another_process_fails_fast, which names the directory");
        let _store = Store::open(Path::new(&dir)).unwrap();
        println!("holding-lock");
        std::io::stdout().flush().unwrap();
        let mut rest = String::new();
        let _ = std::io::stdin().read_line(&mut rest);
    }

    #[test]
    fn open_held_by_another_process_fails_fast() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Process::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::open::tests::lock_holder_process",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HOLDER_ENV, dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("holding-lock") {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "child exited early"
            );
        }
        let started = Instant::now();
        let err = Store::open(dir.path()).err().unwrap();
        assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(1));
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
        // Once the other process is gone, the directory opens normally.
        Store::open(dir.path()).unwrap();
    }

    #[test]
    fn damaged_directory_is_an_error_not_a_panic() {
        // sled only notices damage once it has a snapshot to check the log against,
        // which takes a few thousand writes; with less it silently starts empty.
        let damage = |dir: &Path, spoil: &dyn Fn(&mut Vec<u8>)| {
            let db = sled::open(dir).unwrap();
            for i in 0..5000_u32 {
                db.insert(i.to_be_bytes(), vec![7; 100]).unwrap();
            }
            db.flush().unwrap();
            drop(db);
            let mut bytes = std::fs::read(dir.join("db")).unwrap();
            spoil(&mut bytes);
            std::fs::write(dir.join("db"), bytes).unwrap();
            Store::open(dir).err()
        };
        let dir = tempfile::tempdir().unwrap();

        // sled 0.34 panics on this while opening; the store reports it. (sled notices
        // only some damage: a log overwritten end to end, for one, just opens empty.)
        let err = damage(&dir.path().join("head"), &|bytes| bytes[..4096].fill(0xab)).unwrap();
        assert!(matches!(err, StoreError::OpenCrashed { .. }), "{err:?}");
        assert!(err.to_string().contains("is corrupt"), "{err}");

        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let err = Store::open(&file).err().unwrap();
        assert!(matches!(err, StoreError::Dir { .. }), "{err:?}");
    }
}
