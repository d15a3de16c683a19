//! How the store lays out its sled tree: keys, and the records stored under them.
//!
//! Layout (all integers big-endian, so byte order is numeric order):
//!
//! One sled tree, `messages`, holds three keyspaces:
//!
//! | key | value |
//! |---|---|
//! | room ‖ 0x00 ‖ id | version byte 1 ‖ bincode(sender, text, ts, client_id) |
//! | 0x01 ‖ room ‖ 0x00 ‖ sender ‖ 0x00 ‖ client_id | id (dedupe entry) |
//! | 0x02 ‖ `last_id` / `count` | u64 |
//!
//! Rooms are printable ASCII without 0x00 and senders cannot contain control
//! characters, so no two different (room, id) or (room, sender, client_id) tuples share
//! a key, the keyspaces cannot overlap, and all of one room's messages form one
//! contiguous key range ordered by id. A message, its dedupe entry and the counters are
//! written together: one record of the write-ahead log makes them atomic.

use serde::{Deserialize, Serialize};

use super::error::{StoreError, corrupt};
use crate::model::{ClientId, Message, MessageText, RoomName, SenderName};

/// First byte of every stored value, so the record format can change later.
const RECORD_VERSION: u8 = 1;

/// Dedupe entries and metadata live in the `messages` tree too, under a first byte
/// that no room name can start with (room names are printable ASCII).
const DEDUPE_PREFIX: u8 = 0x01;
pub(super) const META_LAST_ID: &[u8] = b"\x02last_id";
pub(super) const META_COUNT: &[u8] = b"\x02count";

/// Whether a key of the `messages` tree is a message (not a dedupe entry or metadata).
pub(super) fn is_message_key(key: &[u8]) -> bool {
    key.first().is_some_and(|first| *first > b' ')
}

/// The on-disk record, borrowed for writing so no string is copied.
#[derive(Serialize)]
struct RecordRef<'a> {
    sender: &'a SenderName,
    text: &'a MessageText,
    ts: u64,
    client_id: Option<&'a ClientId>,
}

/// The on-disk record, owned for reading; deserializing re-validates every field because
/// the disk is an edge too.
#[derive(Deserialize)]
struct Record {
    sender: SenderName,
    text: MessageText,
    ts: u64,
    client_id: Option<ClientId>,
}

pub(super) fn room_prefix(room: &RoomName) -> Vec<u8> {
    let mut key = Vec::with_capacity(room.as_str().len() + 9);
    key.extend_from_slice(room.as_str().as_bytes());
    key.push(0);
    key
}

pub(super) fn message_key(room: &RoomName, id: u64) -> Vec<u8> {
    let mut key = room_prefix(room);
    key.extend_from_slice(&id.to_be_bytes());
    key
}

pub(super) fn dedupe_key(room: &RoomName, sender: &SenderName, client_id: &ClientId) -> Vec<u8> {
    let mut key = vec![DEDUPE_PREFIX];
    key.extend_from_slice(room.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(sender.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(client_id.as_str().as_bytes());
    key
}

pub(super) fn decode_u64(key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| corrupt(key, format!("expected 8 bytes, found {}", bytes.len())))?;
    Ok(u64::from_be_bytes(array))
}

pub(super) fn split_message_key(key: &[u8]) -> Result<(RoomName, u64), StoreError> {
    let Some(split) = key.len().checked_sub(9) else {
        return Err(corrupt(key, "message key too short"));
    };
    let (room, rest) = key.split_at(split);
    if rest[0] != 0 {
        return Err(corrupt(key, "message key lacks the room separator"));
    }
    let room = std::str::from_utf8(room)
        .map_err(|_| corrupt(key, "room is not UTF-8"))
        .and_then(|room| RoomName::parse(room).map_err(|e| corrupt(key, e.to_string())))?;
    Ok((room, decode_u64(key, &rest[1..])?))
}

pub(super) fn encode_value(message: &Message) -> Result<Vec<u8>, StoreError> {
    let record = RecordRef {
        sender: &message.sender,
        text: &message.text,
        ts: message.ts,
        client_id: message.client_id.as_ref(),
    };
    let mut value = vec![RECORD_VERSION];
    let body =
        bincode::serde::encode_to_vec(&record, bincode::config::standard()).map_err(|source| {
            StoreError::Encode {
                id: message.id,
                source,
            }
        })?;
    value.extend_from_slice(&body);
    Ok(value)
}

pub(super) fn decode_entry(key: &[u8], value: &[u8]) -> Result<Message, StoreError> {
    let (room, id) = split_message_key(key)?;
    let Some((&version, body)) = value.split_first() else {
        return Err(corrupt(key, "empty value"));
    };
    if version != RECORD_VERSION {
        return Err(corrupt(key, format!("unknown record version {version}")));
    }
    let (record, used): (Record, usize) =
        bincode::serde::decode_from_slice(body, bincode::config::standard())
            .map_err(|e| corrupt(key, e.to_string()))?;
    if used != body.len() {
        return Err(corrupt(key, "trailing bytes after record"));
    }
    Ok(Message {
        id,
        room,
        sender: record.sender,
        text: record.text,
        ts: record.ts,
        client_id: record.client_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_records_are_reported() {
        let key = message_key(&RoomName::parse("r").unwrap(), 7);
        assert!(matches!(
            decode_entry(&key, &[]),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            decode_entry(&key, &[2, 0]),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            decode_entry(&key, &[1, 0xff]),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            decode_entry(b"short", &[1]),
            Err(StoreError::Corrupt { .. })
        ));
        let err = decode_entry(b"bad room\0\0\0\0\0\0\0\0\x07", &[1]).unwrap_err();
        assert!(err.to_string().contains("room may only contain"), "{err}");
    }
}
