//! Where rooms live on disk: two sled trees beside the messages and the accounts.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `rooms` | room id | [`RoomRecord`] as JSON |
//! | `read_markers` | username ‖ 0x00 ‖ room id | the marker, a big-endian u64 |
//!
//! A room change is flushed before anyone hears of it, as the accounts' are. Read
//! markers are not flushed one by one (a reader moves theirs often): one lost in a
//! crash only shows a few messages as unread again.

use std::collections::HashMap;

use sled::Tree;

use super::RoomsError;
use super::record::RoomRecord;
use crate::model::{RoomName, Username};
use crate::store::Store;

pub(super) struct Storage {
    rooms: Tree,
    markers: Tree,
}

/// Every user's read markers, by room.
pub(super) type Markers = HashMap<Username, HashMap<RoomName, u64>>;

impl Storage {
    pub(super) fn open(store: &Store) -> Result<Storage, RoomsError> {
        let tree = |name| store.open_tree(name).map_err(RoomsError::Storage);
        Ok(Storage {
            rooms: tree("rooms")?,
            markers: tree("read_markers")?,
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

    pub(super) fn load_markers(&self) -> Result<Markers, RoomsError> {
        let mut markers = Markers::new();
        for entry in self.markers.iter() {
            let (key, value) = entry.map_err(storage("reading read markers"))?;
            let bad = |reason: &str| corrupt("read_markers", &key, reason.into());
            let split = key
                .iter()
                .position(|byte| *byte == 0)
                .ok_or_else(|| bad("no separator"))?;
            let text = |bytes: &[u8]| {
                std::str::from_utf8(bytes)
                    .map(str::to_owned)
                    .map_err(|_| bad("not UTF-8"))
            };
            let username = Username::parse(&text(&key[..split])?).map_err(|_| bad("username"))?;
            let room = RoomName::parse(&text(&key[split + 1..])?).map_err(|_| bad("room"))?;
            let marker = <[u8; 8]>::try_from(&*value)
                .map(u64::from_be_bytes)
                .map_err(|_| bad("the marker is not 8 bytes"))?;
            markers.entry(username).or_default().insert(room, marker);
        }
        Ok(markers)
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
        let mut key = Vec::with_capacity(username.as_str().len() + 1 + room.as_str().len());
        key.extend_from_slice(username.as_str().as_bytes());
        key.push(0);
        key.extend_from_slice(room.as_str().as_bytes());
        self.markers
            .insert(key, &marker.to_be_bytes())
            .map_err(storage("writing a read marker"))?;
        Ok(())
    }
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
