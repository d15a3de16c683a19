//! Files in a backup: after the messages, `parley export` writes one line per file sent
//! with a message, `{"kind":"file", "record":…, "content":base64}`, with the content
//! itself, so that an export is the whole chat. Import stores each content once and
//! keeps the files it already has, so importing twice changes nothing.

use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::{FileRecord, Files, FilesError, io_error, write_atomically};
use crate::model::RoomName;

/// The `kind` of a file's line.
pub const FILE_KIND: &str = "file";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    kind: String,
    record: FileRecord,
    content: String,
}

impl Files {
    /// Writes the files of the messages (of `room` only, when given) and returns how
    /// many. Blocking: for the CLI.
    pub fn export(&self, room: Option<&RoomName>, out: &mut impl Write) -> Result<u64, FilesError> {
        let mut written = 0;
        for entry in self.records.iter().values() {
            let value = entry.map_err(super::sled_error("reading file records"))?;
            let record: FileRecord = serde_json::from_slice(&value)
                .map_err(|error| FilesError::Corrupt(error.to_string()))?;
            if record.message.is_none() || room.is_some_and(|room| *room != record.room) {
                continue;
            }
            let content =
                std::fs::read(self.content(&record)).map_err(io_error("exporting a file"))?;
            let line = Line {
                kind: FILE_KIND.to_owned(),
                content: STANDARD.encode(content),
                record,
            };
            serde_json::to_writer(&mut *out, &line)
                .map_err(|error| FilesError::Corrupt(error.to_string()))?;
            out.write_all(b"\n")
                .map_err(io_error("writing the export"))?;
            written += 1;
        }
        Ok(written)
    }

    /// Imports one file's line; false when the file was already there. Blocking.
    pub fn import_line(&self, line: &str) -> Result<bool, FilesError> {
        let line: Line =
            serde_json::from_str(line).map_err(|error| FilesError::Corrupt(error.to_string()))?;
        let record = line.record;
        if self.get(&record.file.id)?.is_some() {
            return Ok(false);
        }
        let content = STANDARD
            .decode(line.content)
            .map_err(|error| FilesError::Corrupt(format!("file content: {error}")))?;
        let path = self.content(&record);
        if !path.exists() {
            write_atomically(&path, &content)?;
        }
        self.record(&record)?;
        if let Some(message) = record.message {
            self.note_message(&record.room, message, std::iter::once(&record.file.id))?;
        }
        Ok(true)
    }

    /// Makes imported files durable.
    pub fn flush(&self) -> Result<(), FilesError> {
        self.records
            .flush()
            .map_err(super::sled_error("flushing file records"))?;
        Ok(())
    }
}
