//! Export and import: a store's messages as JSON lines, one message per line, for
//! backups and moving a chat to another data directory (the README's "Backup" section).
//! A message carries its rev, edit, reactions and reply; a deleted one is its
//! tombstone. Exports from before revs existed import as messages that never changed.
//! Lines of other kinds (the accounts) carry a `kind` field, which messages never have;
//! import hands those to its caller.

use std::io::{BufRead, Write};

use serde::Deserialize;
use tokio::sync::oneshot;

use super::Store;
use super::codec::{decode_entry, is_message_key, room_prefix};
use super::error::{StoreError, sled_err};
use super::writer::Command;
use crate::model::{Message, RoomName, Stored, Tombstone};

/// Messages per import request sent to the writer.
const IMPORT_CHUNK: usize = 1024;

/// What [`Store::import`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: u64,
    /// Lines whose (room, id) was already stored.
    pub skipped: u64,
}

/// Any line with a `kind`, which only lines other than messages have.
#[derive(Deserialize)]
struct Kinded {
    #[serde(rename = "kind")]
    _kind: String,
}

/// A line of an export: a message, or the tombstone of a deleted one. A line that is
/// neither is reported with what was wrong with it as a message.
fn parse_stored(line: &str) -> Result<Stored, serde_json::Error> {
    serde_json::from_str::<Message>(line)
        .map(Stored::Message)
        .or_else(|error| {
            serde_json::from_str::<Tombstone>(line)
                .map(Stored::Deleted)
                .map_err(|_| error)
        })
}

impl Store {
    /// Writes one JSON message (or tombstone) per line, each room oldest first, and returns how many.
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
    /// ignored. A line with a `kind` is not a message: it goes to `other`, whose error
    /// stops the import like a bad line. A bad line stops the import with its line
    /// number; the lines before it that were already committed stay, and re-running
    /// after a fix is safe.
    ///
    /// Blocking: for the CLI. Panics if called on an async runtime thread (tokio forbids
    /// blocking sends there); use `spawn_blocking` in async code.
    pub fn import(
        &self,
        input: impl BufRead,
        mut other: impl FnMut(&str) -> Result<(), String>,
    ) -> Result<ImportReport, StoreError> {
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
            let message = match parse_stored(&line) {
                Ok(message) => message,
                Err(_) if serde_json::from_str::<Kinded>(&line).is_ok() => {
                    other(&line).map_err(|reason| StoreError::ImportRecord {
                        line: line_number,
                        reason,
                    })?;
                    continue;
                }
                Err(source) => {
                    return Err(StoreError::ImportParse {
                        line: line_number,
                        source,
                    });
                }
            };
            chunk.push(message);
            if chunk.len() == IMPORT_CHUNK {
                self.import_chunk(std::mem::take(&mut chunk), &mut report)?;
            }
        }
        if !chunk.is_empty() {
            self.import_chunk(chunk, &mut report)?;
        }
        Ok(report)
    }

    /// Has the writer store one chunk and adds what it did to `report`.
    fn import_chunk(
        &self,
        messages: Vec<Stored>,
        report: &mut ImportReport,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.requests()?
            .blocking_send(Command::Import { messages, reply })
            .map_err(|_| StoreError::WriterGone)?;
        let done = answer
            .blocking_recv()
            .map_err(|_| StoreError::WriterGone)??;
        report.imported += done.imported;
        report.skipped += done.skipped;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::test_support::{fill, new_message, room};

    fn no_other(line: &str) -> Result<(), String> {
        panic!("not a message: {line}")
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
        let report = target.import(exported.as_slice(), no_other).unwrap();
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
            target.import(doubled.as_slice(), no_other).unwrap(),
            ImportReport {
                imported: 6,
                skipped: 6
            }
        );
        assert_eq!(
            target.import(exported.as_slice(), no_other).unwrap(),
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
        let err = store.import(input.as_bytes(), no_other).unwrap_err();
        assert!(
            matches!(err, StoreError::ImportParse { line: 3, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("import line 3: room may only contain"),
            "{err}"
        );
        let err = store.import("not json\n".as_bytes(), no_other).unwrap_err();
        assert!(matches!(err, StoreError::ImportParse { line: 1, .. }));
    }

    #[test]
    fn lines_of_other_kinds_go_to_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let input = concat!(
            r#"{"id":1,"room":"a","sender":"ann","text":"ok","ts":0,"client_id":null}"#,
            "\n",
            r#"{"kind":"user","username":"ann"}"#,
            "\n",
            r#"{"kind":"bad"}"#,
            "\n",
        );
        let mut seen = Vec::new();
        let err = store
            .import(input.as_bytes(), |line| {
                seen.push(line.to_owned());
                if line.contains("bad") {
                    Err("no such kind".to_owned())
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert_eq!(seen.len(), 2);
        assert_eq!(err.to_string(), "import line 3: no such kind");
    }
}
