//! How the store lays out its sled tree: keys, and the records stored under them.
//!
//! Layout (all integers big-endian, so byte order is numeric order):
//!
//! One sled tree, `messages`, holds four keyspaces:
//!
//! | key | value |
//! |---|---|
//! | room ‖ 0x00 ‖ id | version byte 2 ‖ bincode(sender, text, ts, client_id) ‖ bincode(user) |
//! | 0x01 ‖ room ‖ 0x00 ‖ author ‖ 0x00 ‖ client_id | id (dedupe entry) |
//! | 0x02 ‖ `last_id` / `count` | u64 |
//! | 0x03 ‖ room ‖ 0x00 ‖ rev | id (change entry: a message changed after it was stored) |
//!
//! A record of version 1 (written before messages had a user) is the same without the
//! user, and reads back as a message without one. A message with more than version 2
//! holds (a `rev` other than its id, a reply, mentions, an edit, reactions, files) is version
//! 3: version 2's bytes ‖ bincode([`Extras`]). A deleted message is version 4:
//! bincode(rev, ts), its tombstone; the text is gone. So a message as most are sent
//! costs what it did before edits existed.
//!
//! A message's `rev` is its id until it changes; from then on the change entry of its
//! current `rev` points to it (the previous one is removed), so the changes of a room
//! after some rev are one range of keys, and the messages created after it another. The author in a dedupe entry is the
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
use crate::model::{
    ClientId, Deleted, FileRef, Message, MessageText, Reaction, RoomName, SenderName, Stored,
    Tombstone, Username,
};

/// First byte of every stored value, so the record format can change later: a message
/// with nothing beyond its text, author and time.
const RECORD_VERSION: u8 = 2;
/// Records written before messages had a user; still read.
const RECORD_VERSION_WITHOUT_USER: u8 = 1;
/// A message with [`Extras`].
const RECORD_VERSION_WITH_EXTRAS: u8 = 3;
/// A tombstone.
const RECORD_VERSION_DELETED: u8 = 4;

/// Marks a user (rather than a sender) in a dedupe key; no sender contains it.
const DEDUPE_USER_MARK: u8 = 0x01;

/// Dedupe entries and metadata live in the `messages` tree too, under a first byte
/// that no room name can start with (room names are printable ASCII).
const DEDUPE_PREFIX: u8 = 0x01;
const CHANGE_PREFIX: u8 = 0x03;
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

/// What a version 3 record adds, borrowed for writing.
#[derive(Serialize)]
struct ExtrasRef<'a> {
    rev: u64,
    reply_to: Option<u64>,
    mentions: &'a [Username],
    edited_ts: Option<u64>,
    reactions: &'a [Reaction],
    files: &'a [FileRef],
}

/// What a version 3 record adds.
#[derive(Deserialize)]
struct Extras {
    rev: u64,
    reply_to: Option<u64>,
    mentions: Vec<Username>,
    edited_ts: Option<u64>,
    reactions: Vec<Reaction>,
    files: Vec<FileRef>,
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

/// The change entry of a room's message whose current rev is `rev`.
pub(super) fn change_key(room: &RoomName, rev: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(room.as_str().len() + 10);
    key.push(CHANGE_PREFIX);
    key.extend_from_slice(room.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(&rev.to_be_bytes());
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

fn encode_error(id: u64) -> impl Fn(bincode::error::EncodeError) -> StoreError {
    move |source| StoreError::Encode { id, source }
}

/// The stored value of a message or tombstone.
pub(super) fn encode_value(stored: &Stored) -> Result<Vec<u8>, StoreError> {
    match stored {
        Stored::Message(message) => encode_message(message),
        Stored::Deleted(tombstone) => {
            let mut value = vec![RECORD_VERSION_DELETED];
            let body = bincode::serde::encode_to_vec(
                (tombstone.rev, tombstone.ts),
                bincode::config::standard(),
            )
            .map_err(encode_error(tombstone.id))?;
            value.extend_from_slice(&body);
            Ok(value)
        }
    }
}

/// The stored value of a message.
pub(super) fn encode_message(message: &Message) -> Result<Vec<u8>, StoreError> {
    let config = bincode::config::standard();
    let plain = message.rev == message.id
        && message.reply_to.is_none()
        && message.mentions.is_empty()
        && message.edited_ts.is_none()
        && message.reactions.is_empty()
        && message.files.is_empty();
    let mut value = vec![if plain {
        RECORD_VERSION
    } else {
        RECORD_VERSION_WITH_EXTRAS
    }];
    let body = bincode::serde::encode_to_vec((&record_of(message), message.user.as_ref()), config)
        .map_err(encode_error(message.id))?;
    value.extend_from_slice(&body);
    if !plain {
        let extras = ExtrasRef {
            rev: message.rev,
            reply_to: message.reply_to,
            mentions: &message.mentions,
            edited_ts: message.edited_ts,
            reactions: &message.reactions,
            files: &message.files,
        };
        let body =
            bincode::serde::encode_to_vec(&extras, config).map_err(encode_error(message.id))?;
        value.extend_from_slice(&body);
    }
    Ok(value)
}

pub(super) fn decode_entry(key: &[u8], value: &[u8]) -> Result<Stored, StoreError> {
    let (room, id) = split_message_key(key)?;
    let Some((&version, body)) = value.split_first() else {
        return Err(corrupt(key, "empty value"));
    };
    let (record, user, extras) = match version {
        RECORD_VERSION => {
            let (record, user) = decode_body::<(Record, Option<Username>)>(key, body)?;
            (record, user, None)
        }
        RECORD_VERSION_WITHOUT_USER => (decode_body::<Record>(key, body)?, None, None),
        RECORD_VERSION_WITH_EXTRAS => {
            let (record, user, extras) =
                decode_body::<(Record, Option<Username>, Extras)>(key, body)?;
            (record, user, Some(extras))
        }
        RECORD_VERSION_DELETED => {
            let (rev, ts) = decode_body::<(u64, u64)>(key, body)?;
            return Ok(Stored::Deleted(Tombstone {
                id,
                room,
                rev,
                ts,
                deleted: Deleted,
            }));
        }
        _ => return Err(corrupt(key, format!("unknown record version {version}"))),
    };
    let extras = extras.unwrap_or(Extras {
        rev: id,
        reply_to: None,
        mentions: Vec::new(),
        edited_ts: None,
        reactions: Vec::new(),
        files: Vec::new(),
    });
    Ok(Stored::Message(Message {
        id,
        room,
        sender: record.sender,
        user,
        text: record.text,
        ts: record.ts,
        client_id: record.client_id,
        rev: extras.rev,
        reply_to: extras.reply_to,
        mentions: extras.mentions,
        edited_ts: extras.edited_ts,
        reactions: extras.reactions,
        files: extras.files,
    }))
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
    use crate::model::Emoji;

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
            rev: 7,
            reply_to: None,
            mentions: Vec::new(),
            edited_ts: None,
            reactions: Vec::new(),
            files: Vec::new(),
        }
    }

    #[test]
    fn records_keep_the_user_and_version_1_records_read_without_one() {
        for user in [None, Some("ann")] {
            let message = message(user);
            let key = message_key(&message.room, message.id);
            let value = encode_message(&message).unwrap();
            assert_eq!(value[0], RECORD_VERSION);
            assert_eq!(
                decode_entry(&key, &value).unwrap(),
                Stored::Message(message)
            );
        }
        let old = message(None);
        let record = record_of(&old);
        let mut value = vec![RECORD_VERSION_WITHOUT_USER];
        value.extend(bincode::serde::encode_to_vec(&record, bincode::config::standard()).unwrap());
        let key = message_key(&old.room, old.id);
        assert_eq!(decode_entry(&key, &value).unwrap(), Stored::Message(old));
    }

    #[test]
    fn changed_messages_and_tombstones_round_trip() {
        let ann = Username::parse("ann").unwrap();
        let changed = Message {
            rev: 9,
            reply_to: Some(3),
            mentions: vec![Username::parse("room").unwrap()],
            edited_ts: Some(5),
            reactions: vec![Reaction {
                emoji: Emoji::parse("👍").unwrap(),
                users: vec![ann],
            }],
            ..message(Some("ann"))
        };
        let key = message_key(&changed.room, changed.id);
        let value = encode_message(&changed).unwrap();
        assert_eq!(value[0], RECORD_VERSION_WITH_EXTRAS);
        let changed = Stored::Message(changed);
        assert_eq!(decode_entry(&key, &value).unwrap(), changed);

        let tombstone = Stored::Deleted(Tombstone {
            id: 7,
            room: RoomName::parse("r").unwrap(),
            rev: 11,
            ts: 0,
            deleted: Deleted,
        });
        let value = encode_value(&tombstone).unwrap();
        assert_eq!(value[0], RECORD_VERSION_DELETED);
        assert!(
            !value.windows(2).any(|w| w == b"hi"),
            "a tombstone keeps no text"
        );
        assert_eq!(decode_entry(&key, &value).unwrap(), tombstone);
        assert_eq!(
            serde_json::to_value(&tombstone).unwrap(),
            serde_json::json!({"id": 7, "room": "r", "rev": 11, "ts": 0, "deleted": true})
        );
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
