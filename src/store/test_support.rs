//! Helpers the store's unit tests share: building requests and messages, filling a
//! store, counting log segments.

use std::path::Path;
use std::sync::Arc;

use super::log_file::OsDisk;
use super::wal;
use super::{NewMessage, PageQuery, Store};
use crate::model::{ClientId, Message, MessageText, RoomName, SenderName};

pub(super) fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

pub(super) fn new_message(
    room_name: &str,
    sender: &str,
    text: &str,
    client_id: Option<&str>,
) -> NewMessage {
    NewMessage {
        room: room(room_name),
        sender: SenderName::parse(sender).unwrap(),
        user: None,
        text: MessageText::parse(text, 4000).unwrap(),
        client_id: client_id.map(|c| ClientId::parse(c).unwrap()),
        reply_to: None,
        mentions: Vec::new(),
        files: Vec::new(),
    }
}

pub(super) fn query(before: Option<u64>, after: Option<u64>, limit: usize) -> PageQuery {
    PageQuery {
        before,
        after,
        limit,
    }
}

/// Appends `n` messages to `room_name`, numbered in their text, and returns them.
pub(super) async fn fill(store: &Store, room_name: &str, n: usize) -> Vec<Message> {
    let mut stored = Vec::new();
    for i in 0..n {
        let appended = store
            .append(new_message(
                room_name,
                "ann",
                &format!("{room_name} {i}"),
                None,
            ))
            .await
            .unwrap();
        stored.push(appended.message);
    }
    stored
}

/// A message as the store keeps it in room `r`, for tests that write the log directly.
pub(super) fn stored(id: u64, text: &str) -> Message {
    Message {
        id,
        room: room("r"),
        sender: SenderName::parse("ann").unwrap(),
        user: None,
        text: MessageText::parse(text, 4000).unwrap(),
        ts: id / 1000,
        client_id: None,
        rev: id,
        reply_to: None,
        mentions: Vec::new(),
        edited_ts: None,
        reactions: Vec::new(),
        files: Vec::new(),
    }
}

/// The sequence numbers of the log segments in `dir`, oldest first.
pub(super) fn log_segments(dir: &Path) -> Vec<u64> {
    wal::Leftovers::find(Arc::new(OsDisk), dir)
        .unwrap()
        .sequences()
}
