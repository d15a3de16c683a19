//! How the store lays out its sled tree: keys, and the records stored under them.
//!
//! Layout (all integers big-endian, so byte order is numeric order):
//!
//! One sled tree, `messages`, holds three keyspaces:
//!
//! | key | value |
//! |---|---|
//! | room ‖ 0x00 ‖ id | version byte 2 ‖ bincode(sender, text, ts, client_id) ‖ bincode(user) |
//! | 0x01 ‖ room ‖ 0x00 ‖ author ‖ 0x00 ‖ client_id | id (dedupe entry) |
//! | 0x02 ‖ `last_id` / `count` | u64 |
//!
//! A record of version 1 (written before messages had a user) is the same without the
//! user, and reads back as a message without one. The author in a dedupe entry is the
//! sender for messages without a user, and 0x01 ‖ username for those with one: a user's
//! retries are recognised whatever their display name, and two people who chose the same
//! display name never answer each other's retries.
//!
//! Rooms are printable ASCII without 0x00 and senders cannot contain control
//! characters, so no two different (room, id) or (room, author, client_id) tuples share
//! a key, the keyspaces cannot overlap, and all of one room's messages form one
//! contiguous key range ordered by id. A message, its dedupe entry and the counters are
//! written together: one record of the write-ahead log makes them atomic.

use serde::{Deserialize, Serialize};

use super::error::{StoreError, corrupt};
use crate::model::{ClientId, Message, MessageText, RoomName, SenderName, Username};

/// First byte of every stored value, so the record format can change later.
const RECORD_VERSION: u8 = 2;
/// Records written before messages had a user; still read.
const RECORD_VERSION_WITHOUT_USER: u8 = 1;

/// Marks a user (rather than a sender) in a dedupe key; no sender contains it.
const DEDUPE_USER_MARK: u8 = 0x01;

/// Dedupe entries and metadata live in the `messages` tree too, under a first byte
/// that no room name can start with (room names are printable ASCII).
const DEDUPE_PREFIX: u8 = 0x01;
pub(super) const META_LAST_ID: &[u8] = b"\x02last_id";
pub(super) const META_COUNT: &[u8] = b"\x02count";

/// Whether a key of the `messages` tree is a message (not a dedupe entry or metadata).
pub(super) fn is_message_key(key: &[u8]) -> bool {
    key.first().is_some_and(|first| *first > b' ')
}

/// The on-disk record, borrowed for writing so no string is copied. The user follows
/// it, so that a version 1 record is a prefix of this one's layout.
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

pub(super) fn dedupe_key(
    room: &RoomName,
    sender: &SenderName,
    user: Option<&Username>,
    client_id: &ClientId,
) -> Vec<u8> {
    let mut key = vec![DEDUPE_PREFIX];
    key.extend_from_slice(room.as_str().as_bytes());
    key.push(0);
    match user {
        Some(user) => {
            key.push(DEDUPE_USER_MARK);
            key.extend_from_slice(user.as_str().as_bytes());
        }
        None => key.extend_from_slice(sender.as_str().as_bytes()),
    }
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

/// The record of `message` but for its user.
fn record_of(message: &Message) -> RecordRef<'_> {
    RecordRef {
        sender: &message.sender,
        text: &message.text,
        ts: message.ts,
        client_id: message.client_id.as_ref(),
    }
}

pub(super) fn encode_value(message: &Message) -> Result<Vec<u8>, StoreError> {
    let record = record_of(message);
    let mut value = vec![RECORD_VERSION];
    let body = bincode::serde::encode_to_vec(
        (&record, message.user.as_ref()),
        bincode::config::standard(),
    )
    .map_err(|source| StoreError::Encode {
        id: message.id,
        source,
    })?;
    value.extend_from_slice(&body);
    Ok(value)
}

pub(super) fn decode_entry(key: &[u8], value: &[u8]) -> Result<Message, StoreError> {
    let (room, id) = split_message_key(key)?;
    let Some((&version, body)) = value.split_first() else {
        return Err(corrupt(key, "empty value"));
    };
    let (record, user) = match version {
        RECORD_VERSION => decode_body::<(Record, Option<Username>)>(key, body)?,
        RECORD_VERSION_WITHOUT_USER => (decode_body::<Record>(key, body)?, None),
        _ => return Err(corrupt(key, format!("unknown record version {version}"))),
    };
    Ok(Message {
        id,
        room,
        sender: record.sender,
        user,
        text: record.text,
        ts: record.ts,
        client_id: record.client_id,
    })
}

/// Decodes a whole record body; bytes left over mean it is not what it claims to be.
fn decode_body<T: serde::de::DeserializeOwned>(key: &[u8], body: &[u8]) -> Result<T, StoreError> {
    let (decoded, used): (T, usize) =
        bincode::serde::decode_from_slice(body, bincode::config::standard())
            .map_err(|e| corrupt(key, e.to_string()))?;
    if used != body.len() {
        return Err(corrupt(key, "trailing bytes after record"));
    }
    Ok(decoded)
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
            decode_entry(&key, &[3, 0]),
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

    fn message(user: Option<&str>) -> Message {
        Message {
            id: 7,
            room: RoomName::parse("r").unwrap(),
            sender: SenderName::parse("Ann").unwrap(),
            user: user.map(|user| Username::parse(user).unwrap()),
            text: MessageText::parse("hi", 10).unwrap(),
            ts: 0,
            client_id: Some(ClientId::parse("c1").unwrap()),
        }
    }

    #[test]
    fn records_keep_the_user_and_version_1_records_read_without_one() {
        for user in [None, Some("ann")] {
            let message = message(user);
            let key = message_key(&message.room, message.id);
            let value = encode_value(&message).unwrap();
            assert_eq!(value[0], RECORD_VERSION);
            assert_eq!(decode_entry(&key, &value).unwrap(), message);
        }
        let old = message(None);
        let record = record_of(&old);
        let mut value = vec![RECORD_VERSION_WITHOUT_USER];
        value.extend(bincode::serde::encode_to_vec(&record, bincode::config::standard()).unwrap());
        let key = message_key(&old.room, old.id);
        assert_eq!(decode_entry(&key, &value).unwrap(), old);
    }

    #[test]
    fn a_user_and_a_sender_of_the_same_name_have_different_dedupe_keys() {
        let room = RoomName::parse("r").unwrap();
        let client_id = ClientId::parse("c1").unwrap();
        let ann = SenderName::parse("ann").unwrap();
        let user = Username::parse("ann").unwrap();
        let by_sender = dedupe_key(&room, &ann, None, &client_id);
        let by_user = dedupe_key(&room, &ann, Some(&user), &client_id);
        assert_ne!(by_sender, by_user);
        let renamed = SenderName::parse("Ann Lee").unwrap();
        assert_eq!(
            by_user,
            dedupe_key(&room, &renamed, Some(&user), &client_id)
        );
    }
}
