//! Chat payload validation: the pure model parsers (`RoomName`, `SenderName`,
//! `MessageText`, `ClientId`), `Chat::parse_send` / `Chat::parse_history` on whatever
//! JSON the input holds, and the import path (`Message` deserialization).
//!
//! Input: byte 0 picks the text limit and whether the room comes from the URL path;
//! the rest is the string under test (also parsed as JSON when it is JSON).
//!
//! Checks, besides "never panics": each parser accepts exactly what the rules in
//! `src/model.rs` allow (checked against a straightforward reimplementation), and
//! what `parse_send` / `parse_history` accept agrees with the model parsers.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use parley::chat::{Chat, ChatLimits};
use parley::model::{
    ClientId, MAX_CLIENT_ID_CHARS, MAX_ROOM_CHARS, MAX_SENDER_CHARS, Message, MessageText,
    RoomName, SenderName, TEXT_CHARS_CEILING,
};
use parley::store::Store;
use serde_json::Value;

const TEXT_LIMITS: [usize; 8] = [0, 1, 2, 5, 64, 4000, TEXT_CHARS_CEILING, usize::MAX];

/// `parse_send` needs a `Chat`, which needs a `Store`: one per fuzzing process, in a
/// directory of its own under the system temp dir (removed by `scripts/fuzz`).
fn chat(max_text_chars: usize) -> &'static Arc<Chat> {
    static CHATS: OnceLock<Vec<Arc<Chat>>> = OnceLock::new();
    let chats = CHATS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("parley-fuzz-chat-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Arc::new(Store::open(&dir).expect("a store in the temp dir"));
        TEXT_LIMITS
            .iter()
            .map(|&max_text_chars| {
                let limits = ChatLimits {
                    max_text_chars,
                    ..ChatLimits::default()
                };
                Chat::new(store.clone(), limits, None)
            })
            .collect()
    });
    let index = TEXT_LIMITS.iter().position(|&m| m == max_text_chars).unwrap_or(0);
    &chats[index]
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn room_ok(s: &str) -> bool {
    (1..=MAX_ROOM_CHARS).contains(&chars(s))
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
        // `.` and `..` would be collapsed out of `/chat/{room}` URLs.
        && !s.chars().all(|c| c == '.')
}

fn sender_ok(s: &str) -> bool {
    let t = s.trim();
    (1..=MAX_SENDER_CHARS).contains(&chars(t)) && !t.chars().any(char::is_control)
}

fn text_ok(s: &str, max: usize) -> bool {
    (1..=max.min(TEXT_CHARS_CEILING)).contains(&chars(s.trim()))
}

fn client_id_ok(s: &str) -> bool {
    (1..=MAX_CLIENT_ID_CHARS).contains(&chars(s)) && !s.chars().any(char::is_control)
}

fn check_parsers(s: &str, max: usize) {
    match RoomName::parse(s) {
        Ok(room) => {
            assert!(room_ok(s), "room {s:?} accepted");
            assert_eq!(room.as_str(), s);
            assert!(!room.as_str().contains('\0'));
        }
        Err(e) => {
            assert!(!room_ok(s), "room {s:?} rejected: {e}");
            let _ = (e.code(), e.field(), e.to_string());
        }
    }
    match SenderName::parse(s) {
        Ok(sender) => {
            assert!(sender_ok(s), "sender {s:?} accepted");
            assert_eq!(sender.as_str(), s.trim());
        }
        Err(e) => assert!(!sender_ok(s), "sender {s:?} rejected: {e}"),
    }
    match MessageText::parse(s, max) {
        Ok(text) => {
            assert!(text_ok(s, max), "text {s:?} accepted under {max}");
            assert_eq!(text.as_str(), s.trim());
        }
        Err(e) => {
            assert!(!text_ok(s, max), "text {s:?} rejected under {max}: {e}");
            let _ = (e.code(), e.to_string());
        }
    }
    match ClientId::parse(s) {
        Ok(id) => {
            assert!(client_id_ok(s), "client_id {s:?} accepted");
            assert_eq!(id.as_str(), s);
        }
        Err(e) => assert!(!client_id_ok(s), "client_id {s:?} rejected: {e}"),
    }
}

fn string_field<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name).and_then(Value::as_str)
}

fn check_chat(value: &Value, max: usize, room_from_path: Option<&str>) {
    let chat = chat(max);
    match chat.parse_send(Some(value), room_from_path, None) {
        Ok(request) => {
            let room = room_from_path.or_else(|| string_field(value, "room")).unwrap();
            assert_eq!(request.room.as_str(), room);
            let sender = string_field(value, "sender").unwrap();
            assert_eq!(request.sender.as_str(), sender.trim());
            let text = string_field(value, "text").unwrap();
            assert!(text_ok(text, max));
            assert_eq!(
                request.client_id.as_ref().map(ClientId::as_str),
                string_field(value, "client_id")
            );
        }
        Err(e) => {
            let _ = (e.code(), e.to_json());
        }
    }
    match chat.parse_history(Some(value), room_from_path) {
        Ok(request) => {
            assert!((1..=parley::chat::MAX_PAGE).contains(&request.query.limit));
        }
        Err(e) => {
            let _ = (e.code(), e.to_json());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let max = TEXT_LIMITS[usize::from(selector & 7)];
    let s = String::from_utf8_lossy(rest);
    let s = s.as_ref();

    check_parsers(s, max);

    if let Ok(value) = serde_json::from_str::<Value>(s) {
        // The room from the URL path, when the selector says so, is the payload's own
        // `room` field string taken raw (or the whole input when there is none).
        let path_room = (selector & 8 != 0).then(|| string_field(&value, "room").unwrap_or(s));
        check_chat(&value, max, path_room);
        // What a socket event carries: the object as first argument, maybe nested.
        if let Value::Array(items) = &value {
            if let Some(first) = items.first() {
                check_chat(first, max, None);
            }
        }
        // Import: a stored message must round-trip through JSON unchanged.
        if let Ok(message) = serde_json::from_value::<Message>(value) {
            let json = serde_json::to_string(&message).expect("a message serializes");
            let again: Message = serde_json::from_str(&json).expect("its own JSON parses");
            assert_eq!(again, message);
        }
    }
});
