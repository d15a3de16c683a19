//! Where rooms live on disk: two sled trees beside the messages and the accounts.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `rooms` | room id | [`RoomRecord`] as JSON |
//! | `read_markers` | username ‖ 0x00 ‖ room id | the marker, a big-endian u64 |
//! | `notify` | username ‖ 0x00 ‖ room id | the notification level chosen, as its word |
//!
//! A room change is flushed before anyone hears of it, as the accounts' are. Read
//! markers are not flushed one by one (a reader moves theirs often): one lost in a
//! crash only shows a few messages as unread again.

use std::collections::HashMap;

use sled::Tree;

use super::RoomsError;
use super::record::{NotifyLevel, RoomRecord};
use crate::model::{RoomName, Username};
use crate::store::Store;

pub(super) struct Storage {
    rooms: Tree,
    markers: Tree,
    notify: Tree,
}

/// A value of every user, by room: their read markers, their notification levels.
pub(super) type PerUser<T> = HashMap<Username, HashMap<RoomName, T>>;

impl Storage {
    pub(super) fn open(store: &Store) -> Result<Storage, RoomsError> {
        let tree = |name| store.open_tree(name).map_err(RoomsError::Storage);
        Ok(Storage {
            rooms: tree("rooms")?,
            markers: tree("read_markers")?,
            notify: tree("notify")?,
        })
    }

    pub(super) fn load_rooms(&self) -> Result<Vec<RoomRecord>, RoomsError> {
        let mut rooms = Vec::new();
        for entry in self.rooms.iter() {
            let (key, value) = entry.map_err(storage("reading rooms"))?;
            let record: RoomRecord = serde_json::from_slice(&value)
                .map_err(|error| corrupt("rooms", &key, error.to_string()))?;
            if record.id.as_str().as_bytes() != &*key {
                return Err(corrupt("rooms", &key, "the key is not the room id".into()));
            }
            rooms.push(record);
        }
        Ok(rooms)
    }

    pub(super) fn load_markers(&self) -> Result<PerUser<u64>, RoomsError> {
        load_per_user(&self.markers, "read_markers", |value| {
            <[u8; 8]>::try_from(value)
                .map(u64::from_be_bytes)
                .map_err(|_| "the marker is not 8 bytes".to_owned())
        })
    }

    pub(super) fn load_notify(&self) -> Result<PerUser<NotifyLevel>, RoomsError> {
        load_per_user(&self.notify, "notify", |value| {
            std::str::from_utf8(value)
                .map_err(|_| "not UTF-8".to_owned())
                .and_then(str::parse)
        })
    }

    /// Writes room records and makes them durable.
    pub(super) fn put_rooms(&self, records: &[&RoomRecord]) -> Result<(), RoomsError> {
        for record in records {
            let value = serde_json::to_vec(record).map_err(RoomsError::Encode)?;
            self.rooms
                .insert(record.id.as_str(), value)
                .map_err(storage("writing a room"))?;
        }
        self.rooms.flush().map_err(storage("flushing rooms"))?;
        Ok(())
    }

    pub(super) fn put_marker(
        &self,
        username: &Username,
        room: &RoomName,
        marker: u64,
    ) -> Result<(), RoomsError> {
        self.markers
            .insert(per_user_key(username, room), &marker.to_be_bytes())
            .map_err(storage("writing a read marker"))?;
        Ok(())
    }

    /// Writes a notification level and makes it durable.
    pub(super) fn put_notify(
        &self,
        username: &Username,
        room: &RoomName,
        level: NotifyLevel,
    ) -> Result<(), RoomsError> {
        self.notify
            .insert(per_user_key(username, room), level.as_str())
            .map_err(storage("writing a notification level"))?;
        self.notify
            .flush()
            .map_err(storage("flushing a notification level"))?;
        Ok(())
    }
}

fn per_user_key(username: &Username, room: &RoomName) -> Vec<u8> {
    let mut key = Vec::with_capacity(username.as_str().len() + 1 + room.as_str().len());
    key.extend_from_slice(username.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(room.as_str().as_bytes());
    key
}

/// Reads a tree keyed by username ‖ 0x00 ‖ room, decoding each value with `decode`.
fn load_per_user<T>(
    tree: &Tree,
    name: &str,
    decode: impl Fn(&[u8]) -> Result<T, String>,
) -> Result<PerUser<T>, RoomsError> {
    let mut all = PerUser::new();
    for entry in tree.iter() {
        let (key, value) = entry.map_err(storage("reading per-user room settings"))?;
        let bad = |reason: String| corrupt(name, &key, reason);
        let split = key
            .iter()
            .position(|byte| *byte == 0)
            .ok_or_else(|| bad("no separator".into()))?;
        let text = |bytes: &[u8]| {
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| bad("not UTF-8".into()))
        };
        let username = Username::parse(&text(&key[..split])?).map_err(|e| bad(e.to_string()))?;
        let room = RoomName::parse(&text(&key[split + 1..])?).map_err(|e| bad(e.to_string()))?;
        let value = decode(&value).map_err(bad)?;
        all.entry(username).or_default().insert(room, value);
    }
    Ok(all)
}

fn storage(op: &'static str) -> impl Fn(sled::Error) -> RoomsError {
    move |source| RoomsError::Sled { op, source }
}

fn corrupt(tree: &str, key: &[u8], reason: String) -> RoomsError {
    RoomsError::Corrupt {
        key: format!("{tree}/{}", key.escape_ascii()),
        reason,
    }
}
