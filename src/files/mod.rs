//! Files sent with messages: their contents in the data directory, each content once
//! (named by its SHA-256), and a record per file saying which room it was sent to.
//!
//! | where | what |
//! |---|---|
//! | `files/ab/abcdef…` | a content, named by its SHA-256 |
//! | `files/thumbs/abcdef….png` | an image's thumbnail, made on first request |
//! | tree `files` | file id → [`FileRecord`] (JSON) |
//! | tree `file_contents` | SHA-256 ‖ file id → nothing: who uses a content |
//! | tree `message_files` | room ‖ 0x00 ‖ message id → the message's file ids (JSON) |
//!
//! Sending a file stores its content, then its record, then the message that carries
//! it; deleting the message releases its files, and a content no file uses any more
//! is removed with its thumbnail. Images are recognised by their bytes, never by what
//! the sender claims, and measured from their header before anything is decoded, so a
//! small file claiming a huge picture is refused rather than unpacked.

mod backup;
mod probe;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Tree;
use thiserror::Error;

use crate::model::{FileId, FileName, FileRef, RoomName};
use crate::store::{Store, StoreError};
pub use backup::FILE_KIND;
pub use probe::MAX_IMAGE_PIXELS;

/// Uploads larger than this are refused unless `--max-upload` says otherwise.
pub const DEFAULT_MAX_UPLOAD: usize = 25 * 1024 * 1024;
/// The longest side of a thumbnail, in pixels.
pub const THUMB_SIDE: u32 = 400;

#[derive(Debug, Error)]
pub enum FilesError {
    #[error("the file is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the image is {width}×{height} pixels; at most {max} pixels are accepted")]
    ImageTooLarge { width: u32, height: u32, max: u64 },
    #[error("the image cannot be read: {0}")]
    BadImage(String),
    #[error("not an image")]
    NotAnImage,
    #[error("files storage failed while {op}: {source}")]
    Io {
        op: &'static str,
        source: std::io::Error,
    },
    #[error("files storage failed while {op}: {source}")]
    Sled {
        op: &'static str,
        source: sled::Error,
    },
    #[error("cannot open the files' storage: {0}")]
    Storage(#[source] StoreError),
    #[error("a file record is damaged: {0}")]
    Corrupt(String),
}

/// A file as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    pub file: FileRef,
    pub sha256: String,
    /// Where it was sent: who may read that room may download it.
    pub room: RoomName,
    /// The message that carries it, once sent.
    #[serde(default)]
    pub message: Option<u64>,
}

pub struct Files {
    dir: PathBuf,
    records: Tree,
    contents: Tree,
    by_message: Tree,
    max_upload: usize,
    /// Bytes of the contents stored.
    stored_bytes: AtomicU64,
}

impl Files {
    /// The files of the data directory `data_dir`. Blocks.
    pub fn open(data_dir: &Path, store: &Store, max_upload: usize) -> Result<Files, FilesError> {
        let tree = |name| store.open_tree(name).map_err(FilesError::Storage);
        let files = Files {
            dir: data_dir.join("files"),
            records: tree("files")?,
            contents: tree("file_contents")?,
            by_message: tree("message_files")?,
            max_upload,
            stored_bytes: AtomicU64::new(0),
        };
        let mut bytes = 0;
        let mut previous: Option<Vec<u8>> = None;
        for entry in files.contents.iter().keys() {
            let key = entry.map_err(sled_error("reading file contents"))?;
            let sha = key.get(..64).unwrap_or(&key).to_vec();
            if previous.as_ref() != Some(&sha) {
                let sha = String::from_utf8_lossy(&sha).into_owned();
                bytes += std::fs::metadata(files.content_path(&sha)).map_or(0, |m| m.len());
                previous = Some(sha.into_bytes());
            }
        }
        files.stored_bytes.store(bytes, Ordering::Relaxed);
        Ok(files)
    }

    /// The largest upload accepted, in bytes.
    pub fn max_upload(&self) -> usize {
        self.max_upload
    }

    /// Bytes of file contents stored (each content once).
    pub fn stored_bytes(&self) -> u64 {
        self.stored_bytes.load(Ordering::Relaxed)
    }

    /// Stores `content` as a file called `name` sent to `room`: the content once per
    /// SHA-256, then its record. `declared` is the type the sender gave, used only for
    /// what is not an image. Blocks.
    pub fn put(
        &self,
        room: &RoomName,
        name: FileName,
        declared: Option<&str>,
        content: &[u8],
    ) -> Result<FileRef, FilesError> {
        if content.len() > self.max_upload {
            return Err(FilesError::TooLarge(self.max_upload));
        }
        let kind = probe::probe(content, declared)?;
        let sha256 = hex(&Sha256::digest(content));
        let path = self.content_path(&sha256);
        if !path.exists() {
            write_atomically(&path, content)?;
            self.stored_bytes
                .fetch_add(content.len() as u64, Ordering::Relaxed);
        }
        let file = FileRef {
            id: FileId::parse(&hex(&rand::random::<[u8; 16]>()))
                .map_err(|error| FilesError::Corrupt(error.to_string()))?,
            name,
            size: content.len() as u64,
            mime: kind.mime,
            width: kind.size.map(|(width, _)| width),
            height: kind.size.map(|(_, height)| height),
        };
        self.record(&FileRecord {
            file: file.clone(),
            sha256,
            room: room.clone(),
            message: None,
        })?;
        self.records
            .flush()
            .map_err(sled_error("flushing a file record"))?;
        Ok(file)
    }

    /// Writes a file's record and notes that it uses its content.
    fn record(&self, record: &FileRecord) -> Result<(), FilesError> {
        let value = serde_json::to_vec(record).map_err(|e| FilesError::Corrupt(e.to_string()))?;
        self.contents
            .insert(content_key(&record.sha256, &record.file.id), &[])
            .map_err(sled_error("recording a file's content"))?;
        self.records
            .insert(record.file.id.as_str(), value)
            .map_err(sled_error("recording a file"))?;
        Ok(())
    }

    /// Notes that message `id` of `room` carries `files`, so that deleting it releases
    /// them. Blocks.
    pub fn attach(&self, room: &RoomName, id: u64, files: &[FileRef]) -> Result<(), FilesError> {
        for file in files {
            if let Some(mut record) = self.get(&file.id)? {
                record.message = Some(id);
                self.record(&record)?;
            }
        }
        self.note_message(room, id, files.iter().map(|file| &file.id))?;
        self.records
            .flush()
            .map_err(sled_error("flushing file records"))?;
        Ok(())
    }

    /// Adds `ids` to the files message `id` of `room` carries.
    fn note_message<'a>(
        &self,
        room: &RoomName,
        id: u64,
        ids: impl Iterator<Item = &'a FileId>,
    ) -> Result<(), FilesError> {
        let key = message_key(room, id);
        let mut all: Vec<FileId> = match self
            .by_message
            .get(&key)
            .map_err(sled_error("reading a message's files"))?
        {
            Some(value) => {
                serde_json::from_slice(&value).map_err(|e| FilesError::Corrupt(e.to_string()))?
            }
            None => Vec::new(),
        };
        for id in ids {
            if !all.contains(id) {
                all.push(id.clone());
            }
        }
        let value = serde_json::to_vec(&all).map_err(|e| FilesError::Corrupt(e.to_string()))?;
        self.by_message
            .insert(key, value)
            .map_err(sled_error("recording a message's files"))?;
        Ok(())
    }

    /// The record of file `id`. Blocks.
    pub fn get(&self, id: &FileId) -> Result<Option<FileRecord>, FilesError> {
        self.records
            .get(id.as_str())
            .map_err(sled_error("reading a file record"))?
            .map(|value| {
                serde_json::from_slice(&value)
                    .map_err(|error| FilesError::Corrupt(format!("file {id}: {error}")))
            })
            .transpose()
    }

    /// Where the content of `record` is.
    pub fn content(&self, record: &FileRecord) -> PathBuf {
        self.content_path(&record.sha256)
    }

    /// The thumbnail of an image (PNG, at most [`THUMB_SIDE`] pixels a side), made the
    /// first time it is asked for. Blocks.
    pub fn thumbnail(&self, record: &FileRecord) -> Result<PathBuf, FilesError> {
        if record.file.width.is_none() {
            return Err(FilesError::NotAnImage);
        }
        let path = self.thumb_path(&record.sha256);
        if !path.exists() {
            let content =
                std::fs::read(self.content(record)).map_err(io_error("reading an image"))?;
            let png = probe::thumbnail(&content, THUMB_SIDE)?;
            write_atomically(&path, &png)?;
        }
        Ok(path)
    }

    /// Message `id` of `room` was deleted: its files go, and each content no other
    /// file uses. Blocks.
    pub fn release(&self, room: &RoomName, id: u64) -> Result<(), FilesError> {
        let Some(ids) = self
            .by_message
            .remove(message_key(room, id))
            .map_err(sled_error("releasing a message's files"))?
        else {
            return Ok(());
        };
        let ids: Vec<FileId> =
            serde_json::from_slice(&ids).map_err(|e| FilesError::Corrupt(e.to_string()))?;
        for id in ids {
            let Some(record) = self.get(&id)? else {
                continue;
            };
            self.records
                .remove(id.as_str())
                .map_err(sled_error("removing a file record"))?;
            self.contents
                .remove(content_key(&record.sha256, &id))
                .map_err(sled_error("removing a file's content"))?;
            let still_used = self
                .contents
                .scan_prefix(record.sha256.as_bytes())
                .next()
                .is_some();
            if !still_used {
                let path = self.content(&record);
                let size = std::fs::metadata(&path).map_or(0, |m| m.len());
                remove_if_there(&path)?;
                remove_if_there(&self.thumb_path(&record.sha256))?;
                self.stored_bytes.fetch_sub(size, Ordering::Relaxed);
            }
        }
        self.records
            .flush()
            .map_err(sled_error("flushing removed files"))?;
        Ok(())
    }

    fn content_path(&self, sha256: &str) -> PathBuf {
        self.dir.join(sha256.get(..2).unwrap_or("00")).join(sha256)
    }

    fn thumb_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("thumbs").join(format!("{sha256}.png"))
    }
}

fn content_key(sha256: &str, id: &FileId) -> Vec<u8> {
    let mut key = sha256.as_bytes().to_vec();
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

fn message_key(room: &RoomName, id: u64) -> Vec<u8> {
    let mut key = room.as_str().as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&id.to_be_bytes());
    key
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Writes `content` to `path` through a temporary file beside it, so that a crash
/// leaves either the whole file or none.
fn write_atomically(path: &Path, content: &[u8]) -> Result<(), FilesError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_error("creating the files directory"))?;
    let temporary = dir.join(format!(".incoming-{}", hex(&rand::random::<[u8; 8]>())));
    let mut file = std::fs::File::create(&temporary).map_err(io_error("storing a file"))?;
    file.write_all(content)
        .and_then(|()| file.sync_data())
        .map_err(io_error("storing a file"))?;
    std::fs::rename(&temporary, path).map_err(io_error("storing a file"))?;
    Ok(())
}

fn remove_if_there(path: &Path) -> Result<(), FilesError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FilesError::Io {
            op: "removing a file no message uses",
            source,
        }),
    }
}

fn io_error(op: &'static str) -> impl Fn(std::io::Error) -> FilesError {
    move |source| FilesError::Io { op, source }
}

fn sled_error(op: &'static str) -> impl Fn(sled::Error) -> FilesError {
    move |source| FilesError::Sled { op, source }
}
