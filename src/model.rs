//! Validated domain types for chat messages and the accounts that send them.
//!
//! Everything that arrives from a client, a JSON import or the disk is parsed into these
//! types exactly once, at the edge. Code that holds a [`RoomName`] or a [`MessageText`]
//! can rely on the rules below without checking again:
//!
//! | type | rule |
//! |---|---|
//! | [`RoomName`] | 1–128 characters from `[A-Za-z0-9_.:-]` |
//! | [`SenderName`] | surrounding whitespace trimmed, then 1–64 characters, no control characters |
//! | [`MessageText`] | surrounding whitespace trimmed, then 1 to the configured maximum characters |
//! | [`ClientId`] | taken verbatim, 1–128 characters, no control characters |
//! | [`Username`] | lowercased, then 1–32 characters from `[a-z0-9_.-]`, not only dots |
//! | [`DisplayName`] | a user's name: the rule of [`SenderName`], which it becomes on their messages |
//! | [`TokenName`] | what a user calls one of their API tokens: the same rule |
//! | [`RoomTitle`] | what a room is called on screen: the same rule |
//! | [`Emoji`] | a reaction: 1–32 characters, no whitespace or control characters |
//!
//! Lengths count Unicode scalar values (`char`s), not bytes, so a limit means the same to a
//! person typing Cyrillic as to one typing ASCII.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::ErrorCode;

/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 128;
/// Longest sender name, in characters (after trimming).
pub const MAX_SENDER_CHARS: usize = 64;
/// Longest client id, in characters.
pub const MAX_CLIENT_ID_CHARS: usize = 128;
/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 32;
/// Message length limit used when the configuration does not set one.
pub const DEFAULT_MAX_TEXT_CHARS: usize = 4000;
/// Upper bound for any configured text limit.
///
/// Stored messages are read back without knowing which limit was configured when they
/// were written, so reading needs a fixed bound; capping the configured limit at the same
/// bound guarantees that every text accepted once can always be read back.
pub const TEXT_CHARS_CEILING: usize = 65_536;

/// Which input field a [`ValidationError`] is about; displayed as the wire field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Room,
    Sender,
    Text,
    ClientId,
    Username,
    Name,
    Password,
    Emoji,
    FileName,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Room => "room",
            Field::Sender => "sender",
            Field::Text => "text",
            Field::ClientId => "client_id",
            Field::Username => "username",
            Field::Name => "name",
            Field::Password => "password",
            Field::Emoji => "emoji",
            Field::FileName => "name",
        })
    }
}

/// Why a value was rejected. `Display` gives the short message sent back to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field} must not be empty")]
    Empty { field: Field },
    #[error("{field} must be at most {max} characters")]
    TooLong { field: Field, max: usize },
    #[error("{field} must be at least {min} characters")]
    TooShort { field: Field, min: usize },
    #[error("{field} may only contain letters, digits and _ . : -")]
    BadRoomChar { field: Field },
    #[error("{field} may only contain a-z, 0-9 and _ . -")]
    BadUsernameChar { field: Field },
    #[error("{field} must not contain control characters")]
    ControlChar { field: Field },
    #[error("{field} must not be only dots")]
    OnlyDots { field: Field },
    #[error("{field} must not contain spaces")]
    Whitespace { field: Field },
    #[error("a file id is 32 hex digits")]
    BadFileId,
    #[error("a file name must not contain / or \\")]
    PathInName,
}

impl ValidationError {
    /// The wire error code: an over-long message text is `too_large`, anything else
    /// `invalid`.
    pub fn code(&self) -> ErrorCode {
        match self {
            ValidationError::TooLong {
                field: Field::Text, ..
            } => ErrorCode::TooLarge,
            _ => ErrorCode::Invalid,
        }
    }

    /// The field this error is about.
    pub fn field(&self) -> Field {
        match self {
            ValidationError::Empty { field }
            | ValidationError::TooLong { field, .. }
            | ValidationError::TooShort { field, .. }
            | ValidationError::BadRoomChar { field }
            | ValidationError::BadUsernameChar { field }
            | ValidationError::ControlChar { field }
            | ValidationError::OnlyDots { field }
            | ValidationError::Whitespace { field } => *field,
            ValidationError::BadFileId | ValidationError::PathInName => Field::FileName,
        }
    }
}

/// Checks the length bounds shared by every field, counting chars.
fn check_len(field: Field, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    // `chars().count()` walks the whole string; bounding the walk keeps a huge hostile
    // input from costing more than the limit itself.
    if value.chars().take(max + 1).count() > max {
        return Err(ValidationError::TooLong { field, max });
    }
    Ok(())
}

fn check_no_control(field: Field, value: &str) -> Result<(), ValidationError> {
    if value.chars().any(char::is_control) {
        return Err(ValidationError::ControlChar { field });
    }
    Ok(())
}

/// Declares the parts every validated string type shares: `as_str`, `Display`, a plain
/// string `Serialize`, and `TryFrom<String>` so serde can validate while deserializing.
macro_rules! string_type {
    ($name:ident, $parse:expr) => {
        impl $name {
            /// The validated value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                let parse: fn(&str) -> Result<$name, ValidationError> = $parse;
                parse(&value)
            }
        }
    };
}

/// A room (the original app's `chat_key`). Never contains 0x00, which the store relies
/// on to separate the room from the rest of a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct RoomName(String);

impl RoomName {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        check_len(Field::Room, value, MAX_ROOM_CHARS)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
        if !value.chars().all(allowed) {
            return Err(ValidationError::BadRoomChar { field: Field::Room });
        }
        // `.` and `..` would be collapsed out of `/chat/{room}` URLs by browsers.
        if value.chars().all(|c| c == '.') {
            return Err(ValidationError::OnlyDots { field: Field::Room });
        }
        Ok(RoomName(value.to_owned()))
    }
}

string_type!(RoomName, RoomName::parse);

/// Who sent a message.
///
/// Surrounding whitespace is trimmed: it is invisible on screen, so " bob" and "bob" would
/// look like one person while counting as two for retries (the dedupe key includes the
/// sender), and a name of only spaces would be an invisible author.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct SenderName(String);

impl SenderName {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        parse_name(Field::Sender, value).map(SenderName)
    }
}

string_type!(SenderName, SenderName::parse);

/// The rule names that people read share, trimmed for the reasons [`SenderName`] gives.
fn parse_name(field: Field, value: &str) -> Result<String, ValidationError> {
    let value = value.trim();
    check_len(field, value, MAX_SENDER_CHARS)?;
    check_no_control(field, value)?;
    Ok(value.to_owned())
}

/// What a room is called on screen (its id is a [`RoomName`]); the rule of
/// [`SenderName`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct RoomTitle(String);

impl RoomTitle {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        parse_name(Field::Name, value).map(RoomTitle)
    }

    /// A room without a title of its own is called by its id.
    pub fn of_id(room: &RoomName) -> RoomTitle {
        RoomTitle(room.as_str().to_owned())
    }
}

string_type!(RoomTitle, RoomTitle::parse);

/// The body of a message, trimmed. Inner newlines and other characters are kept: text is
/// data, and pages render it as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct MessageText(String);

impl MessageText {
    /// Parses text typed by a client, with the configured limit (capped at
    /// [`TEXT_CHARS_CEILING`]).
    pub fn parse(value: &str, max_chars: usize) -> Result<Self, ValidationError> {
        let value = value.trim();
        check_len(Field::Text, value, max_chars.min(TEXT_CHARS_CEILING))?;
        Ok(MessageText(value.to_owned()))
    }
}

// Stored and imported text was accepted under some configured limit we no longer know,
// so reading it back only enforces the ceiling.
string_type!(MessageText, |value| MessageText::parse(
    value,
    TEXT_CHARS_CEILING
));

/// An id the client picks for a send so that a retry of it is recognised. Opaque: kept
/// byte for byte, since the client compares it to its own copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        check_len(Field::ClientId, value, MAX_CLIENT_ID_CHARS)?;
        check_no_control(Field::ClientId, value)?;
        Ok(ClientId(value.to_owned()))
    }
}

string_type!(ClientId, ClientId::parse);

/// Who a user is to the server: unique, compared without regard to case (so it is
/// stored lowercase), and safe in a URL path such as `/api/users/{username}/deactivate`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let field = Field::Username;
        let value = value.to_lowercase();
        check_len(field, &value, MAX_USERNAME_CHARS)?;
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
        if !value.chars().all(allowed) {
            return Err(ValidationError::BadUsernameChar { field });
        }
        // `.` and `..` would be collapsed out of URL paths by browsers.
        if value.chars().all(|c| c == '.') {
            return Err(ValidationError::OnlyDots { field });
        }
        Ok(Username(value))
    }
}

string_type!(Username, Username::parse);

/// How a user is shown to others; their messages carry it as the sender, as it was when
/// they sent them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        parse_name(Field::Name, value).map(DisplayName)
    }

    /// The sender of a message this user sends now; the rules are the same.
    pub fn as_sender(&self) -> SenderName {
        SenderName(self.0.clone())
    }
}

string_type!(DisplayName, DisplayName::parse);

/// The name a user gives one of their API tokens, unique among their tokens; it is how
/// they list and revoke it, since the token itself is shown only once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        parse_name(Field::Name, value).map(TokenName)
    }
}

string_type!(TokenName, TokenName::parse);

/// A stored message as clients see it.
///
/// Serializes to `{id, room, sender, text, ts, client_id, rev}` with `client_id` null
/// when absent, plus `user` after `sender` when a signed-in user sent it (so messages of
/// `--auth open` look as they did), and `reply_to`, `mentions`, `edited_ts` and
/// `reactions` only when the message has them. Deserializing (used by import) validates
/// every field through the parse functions above; an export from before `rev` existed
/// reads with `rev` 0, which the import makes the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Server-wide strictly increasing microsecond timestamp; also the paging cursor.
    pub id: u64,
    pub room: RoomName,
    /// The author's display name at the time of sending (or, in open mode, the name the
    /// client gave).
    pub sender: SenderName,
    /// The author's account; `None` in open mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Username>,
    pub text: MessageText,
    /// Milliseconds since the Unix epoch, for display.
    pub ts: u64,
    pub client_id: Option<ClientId>,
    /// Server-wide increasing: the id when the message is stored, a fresh value (from
    /// the same sequence) at every change, so "what changed after rev R" is a cursor.
    #[serde(default)]
    pub rev: u64,
    /// The message of the same room this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// Who the text mentions: usernames of people who can read the room, and `room`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Username>,
    /// When the text was last edited, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_ts: Option<u64>,
    /// Reactions in the order they were first given, each with who gave it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// Files sent with the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRef>,
}

/// A file sent with a message, as clients see it: `GET /files/{id}/{name}` downloads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    pub id: FileId,
    pub name: FileName,
    pub size: u64,
    pub mime: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// A file's id: 32 lowercase hex digits, random, so that knowing one file's id tells
/// nothing about another's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct FileId(String);

impl FileId {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
        if value.len() != 32 || !value.chars().all(hex) {
            return Err(ValidationError::BadFileId);
        }
        Ok(FileId(value.to_owned()))
    }
}

string_type!(FileId, FileId::parse);

/// Longest file name, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// A file's name as its sender gave it: 1–255 characters, no control characters, no
/// path separators (it is only ever a name, never a path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct FileName(String);

impl FileName {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let value = value.trim();
        check_len(Field::FileName, value, MAX_FILE_NAME_CHARS)?;
        check_no_control(Field::FileName, value)?;
        if value.contains(['/', '\\']) || value == "." || value == ".." {
            return Err(ValidationError::PathInName);
        }
        Ok(FileName(value.to_owned()))
    }
}

string_type!(FileName, FileName::parse);

/// One emoji given to a message, and the users who gave it (in the order they did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reaction {
    pub emoji: Emoji,
    pub users: Vec<Username>,
}

/// A reaction: a short string without whitespace or control characters, normally one
/// emoji (with its modifiers and joiners, hence up to 32 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Emoji(String);

/// Longest reaction, in characters.
pub const MAX_EMOJI_CHARS: usize = 32;

impl Emoji {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        check_len(Field::Emoji, value, MAX_EMOJI_CHARS)?;
        check_no_control(Field::Emoji, value)?;
        if value.chars().any(char::is_whitespace) {
            return Err(ValidationError::Whitespace {
                field: Field::Emoji,
            });
        }
        Ok(Emoji(value.to_owned()))
    }
}

string_type!(Emoji, Emoji::parse);

/// What is left of a deleted message: its place in the room and in the change order,
/// never its text or author. Serializes as `{id, room, rev, ts, deleted: true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tombstone {
    pub id: u64,
    pub room: RoomName,
    pub rev: u64,
    pub ts: u64,
    #[serde(with = "always_true")]
    pub deleted: Deleted,
}

/// The `deleted: true` of a [`Tombstone`]; a unit, since a tombstone is always deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deleted;

mod always_true {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Deleted;

    pub fn serialize<S: Serializer>(_: &Deleted, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(true)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Deleted, D::Error> {
        if bool::deserialize(deserializer)? {
            Ok(Deleted)
        } else {
            Err(serde::de::Error::custom("deleted must be true"))
        }
    }
}

/// The mention of everyone in a room: `@room`.
pub const MENTION_ROOM: &str = "room";

/// The `@name` words of `text` that could be usernames (and `@room`), lowercased, each
/// once. An `@` counts only at the start or after a character that cannot be part of a
/// name, so `bob@example.com` mentions no one; a name's trailing dots are punctuation
/// (`thanks @ann.`). Whether each is someone who can read the room is for the caller.
pub fn mentioned_names(text: &str) -> Vec<Username> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let mut found: Vec<Username> = Vec::new();
    let mut previous: Option<char> = None;
    for (at, c) in text.char_indices() {
        if c == '@' && !previous.is_some_and(is_name_char) {
            let rest = &text[at + 1..];
            let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
            if let Ok(name) = Username::parse(rest[..end].trim_end_matches('.'))
                && !found.contains(&name)
            {
                found.push(name);
            }
        }
        previous = Some(c);
    }
    found
}

/// What the store holds at a room's id: a message, or the tombstone of one deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stored {
    Message(Message),
    Deleted(Tombstone),
}

/// A stored message is equal to the message it holds (a tombstone to none).
impl PartialEq<Message> for Stored {
    fn eq(&self, other: &Message) -> bool {
        self.message() == Some(other)
    }
}

impl Stored {
    pub fn id(&self) -> u64 {
        match self {
            Stored::Message(message) => message.id,
            Stored::Deleted(tombstone) => tombstone.id,
        }
    }

    pub fn rev(&self) -> u64 {
        match self {
            Stored::Message(message) => message.rev,
            Stored::Deleted(tombstone) => tombstone.rev,
        }
    }

    pub fn room(&self) -> &RoomName {
        match self {
            Stored::Message(message) => &message.room,
            Stored::Deleted(tombstone) => &tombstone.room,
        }
    }

    pub fn message(&self) -> Option<&Message> {
        match self {
            Stored::Message(message) => Some(message),
            Stored::Deleted(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        mentioned_names(text)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn mentions_are_at_words() {
        assert_eq!(names("hi @Ann and @bob."), ["ann", "bob"]);
        assert_eq!(names("@room: lunch?"), ["room"]);
        assert_eq!(names("mail bob@example.com"), Vec::<String>::new());
        assert_eq!(names("(@ann) @ann @"), ["ann"]);
        assert_eq!(names("@a.b-c_d, hello"), ["a.b-c_d"]);
        assert_eq!(names("привет @ann!"), ["ann"]);
        assert_eq!(names(&format!("@{}", "x".repeat(40))), Vec::<String>::new());
    }

    #[test]
    fn room_accepts_allowed_characters_up_to_128() {
        assert_eq!(
            RoomName::parse("team-1_a.b:c").unwrap().as_str(),
            "team-1_a.b:c"
        );
        assert!(RoomName::parse(&"r".repeat(128)).is_ok());
    }

    #[test]
    fn room_rejects_129_chars_as_invalid() {
        let err = RoomName::parse(&"r".repeat(129)).unwrap_err();
        assert_eq!(
            err,
            ValidationError::TooLong {
                field: Field::Room,
                max: 128
            }
        );
        assert_eq!(err.code(), ErrorCode::Invalid);
    }

    #[test]
    fn room_rejects_empty_and_bad_characters() {
        assert_eq!(
            RoomName::parse("").unwrap_err(),
            ValidationError::Empty { field: Field::Room }
        );
        for bad in ["a b", "a/b", "a\0b", "ä", " a", "a\n", "a#b"] {
            let err = RoomName::parse(bad).unwrap_err();
            assert_eq!(
                err,
                ValidationError::BadRoomChar { field: Field::Room },
                "{bad:?}"
            );
            assert_eq!(err.code(), ErrorCode::Invalid);
        }
    }

    #[test]
    fn room_of_only_dots_is_invalid_but_dots_inside_are_fine() {
        for dots in [".", "..", "..."] {
            assert_eq!(
                RoomName::parse(dots).unwrap_err(),
                ValidationError::OnlyDots { field: Field::Room }
            );
        }
        assert!(RoomName::parse("team.ops").is_ok());
        assert!(RoomName::parse(".a").is_ok());
    }

    #[test]
    fn sender_is_trimmed_and_limited_to_64_chars() {
        assert_eq!(SenderName::parse("  bob \t").unwrap().as_str(), "bob");
        assert!(SenderName::parse(&"я".repeat(64)).is_ok());
        assert_eq!(
            SenderName::parse(&"я".repeat(65)).unwrap_err(),
            ValidationError::TooLong {
                field: Field::Sender,
                max: 64
            }
        );
        // Trimming happens before counting.
        assert!(SenderName::parse(&format!(" {} ", "b".repeat(64))).is_ok());
    }

    #[test]
    fn sender_rejects_empty_whitespace_and_control_chars() {
        for empty in ["", "   ", "\t"] {
            assert_eq!(
                SenderName::parse(empty).unwrap_err(),
                ValidationError::Empty {
                    field: Field::Sender
                }
            );
        }
        for bad in ["a\u{0}b", "a\u{7}", "x\ny", "del\u{7f}", "c1\u{85}x"] {
            assert_eq!(
                SenderName::parse(bad).unwrap_err(),
                ValidationError::ControlChar {
                    field: Field::Sender
                },
                "{bad:?}"
            );
        }
        assert!(SenderName::parse("Анна 🙂").is_ok());
    }

    #[test]
    fn text_is_trimmed_and_counted_in_chars() {
        assert_eq!(
            MessageText::parse("  hi\nthere  ", 10).unwrap().as_str(),
            "hi\nthere"
        );
        // 4000 two-byte chars are 8000 bytes but still fit a 4000-char limit.
        assert!(MessageText::parse(&"ж".repeat(4000), 4000).is_ok());
        assert!(MessageText::parse(&format!("  {}  ", "x".repeat(4000)), 4000).is_ok());
    }

    #[test]
    fn text_over_limit_is_too_large() {
        let err = MessageText::parse(&"ж".repeat(4001), 4000).unwrap_err();
        assert_eq!(
            err,
            ValidationError::TooLong {
                field: Field::Text,
                max: 4000
            }
        );
        assert_eq!(err.code(), ErrorCode::TooLarge);
        assert_eq!(err.to_string(), "text must be at most 4000 characters");
    }

    #[test]
    fn text_limit_is_capped_at_ceiling() {
        let err = MessageText::parse(&"x".repeat(TEXT_CHARS_CEILING + 1), usize::MAX).unwrap_err();
        assert_eq!(err.code(), ErrorCode::TooLarge);
    }

    #[test]
    fn text_rejects_empty_and_whitespace_only() {
        for empty in ["", "   ", "\n\t "] {
            let err = MessageText::parse(empty, 4000).unwrap_err();
            assert_eq!(err, ValidationError::Empty { field: Field::Text });
            assert_eq!(err.code(), ErrorCode::Invalid);
            assert_eq!(err.to_string(), "text must not be empty");
        }
    }

    #[test]
    fn client_id_is_verbatim_and_limited() {
        assert_eq!(ClientId::parse(" c-1 ").unwrap().as_str(), " c-1 ");
        assert!(ClientId::parse(&"c".repeat(128)).is_ok());
        assert_eq!(
            ClientId::parse(&"c".repeat(129)).unwrap_err().field(),
            Field::ClientId
        );
        assert_eq!(
            ClientId::parse("").unwrap_err(),
            ValidationError::Empty {
                field: Field::ClientId
            }
        );
        assert_eq!(
            ClientId::parse("a\u{1b}b").unwrap_err().to_string(),
            "client_id must not contain control characters"
        );
    }

    fn sample(client_id: Option<&str>) -> Message {
        Message {
            id: 1_700_000_000_000_001,
            room: RoomName::parse("lobby").unwrap(),
            sender: SenderName::parse("ann").unwrap(),
            text: MessageText::parse("hello", 4000).unwrap(),
            ts: 1_700_000_000_000,
            client_id: client_id.map(|c| ClientId::parse(c).unwrap()),
            user: None,
            rev: 1_700_000_000_000_001,
            reply_to: None,
            mentions: Vec::new(),
            edited_ts: None,
            reactions: Vec::new(),
            files: Vec::new(),
        }
    }

    #[test]
    fn message_serializes_to_the_wire_shape() {
        assert_eq!(
            serde_json::to_string(&sample(None)).unwrap(),
            r#"{"id":1700000000000001,"room":"lobby","sender":"ann","text":"hello","ts":1700000000000,"client_id":null,"rev":1700000000000001}"#
        );
        assert_eq!(
            serde_json::to_value(sample(Some("c1"))).unwrap()["client_id"],
            "c1"
        );
    }

    #[test]
    fn message_round_trips_through_json() {
        for m in [sample(None), sample(Some("c1"))] {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), m);
        }
        let without_client_id = r#"{"id":1,"room":"lobby","sender":"ann","text":"hello","ts":0}"#;
        assert_eq!(
            serde_json::from_str::<Message>(without_client_id)
                .unwrap()
                .client_id,
            None
        );
    }

    #[test]
    fn message_deserialization_validates_fields() {
        let bad = [
            r#"{"id":1,"room":"a b","sender":"ann","text":"hi","ts":0,"client_id":null}"#,
            r#"{"id":1,"room":"a","sender":"","text":"hi","ts":0,"client_id":null}"#,
            r#"{"id":1,"room":"a","sender":"ann","text":"   ","ts":0,"client_id":null}"#,
            r#"{"id":1,"room":"a","sender":"ann","text":"hi","ts":0,"client_id":"\u0000"}"#,
            r#"{"id":1,"room":"a","sender":"ann","text":"hi","ts":0,"extra":1}"#,
            r#"{"id":-1,"room":"a","sender":"ann","text":"hi","ts":0}"#,
        ];
        for line in bad {
            assert!(serde_json::from_str::<Message>(line).is_err(), "{line}");
        }
        let err = serde_json::from_str::<Message>(bad[0]).unwrap_err();
        assert!(err.to_string().contains("room may only contain"), "{err}");
    }

    #[test]
    fn deserialized_text_and_sender_are_trimmed() {
        let m: Message =
            serde_json::from_str(r#"{"id":1,"room":"a","sender":" ann ","text":" hi ","ts":0}"#)
                .unwrap();
        assert_eq!((m.sender.as_str(), m.text.as_str()), ("ann", "hi"));
    }

    #[test]
    fn usernames_are_lowercased_and_limited() {
        assert_eq!(Username::parse("Ann.B-2_x").unwrap().as_str(), "ann.b-2_x");
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert_eq!(
            Username::parse(&"a".repeat(33)).unwrap_err(),
            ValidationError::TooLong {
                field: Field::Username,
                max: 32
            }
        );
        for bad in ["a b", "anné", "a/b", "a:b", " ann", "a\u{0}"] {
            assert_eq!(
                Username::parse(bad).unwrap_err(),
                ValidationError::BadUsernameChar {
                    field: Field::Username
                },
                "{bad:?}"
            );
        }
        assert!(matches!(
            Username::parse(".."),
            Err(ValidationError::OnlyDots { .. })
        ));
        assert!(matches!(
            Username::parse(""),
            Err(ValidationError::Empty { .. })
        ));
        assert_eq!(
            Username::parse("x y").unwrap_err().to_string(),
            "username may only contain a-z, 0-9 and _ . -"
        );
    }

    #[test]
    fn display_and_token_names_follow_the_sender_rule_under_their_own_field() {
        let name = DisplayName::parse("  Ann Lee ").unwrap();
        assert_eq!(name.as_str(), "Ann Lee");
        assert_eq!(name.as_sender(), SenderName::parse("Ann Lee").unwrap());
        assert_eq!(
            DisplayName::parse(" ").unwrap_err().to_string(),
            "name must not be empty"
        );
        assert_eq!(
            TokenName::parse(&"t".repeat(65)).unwrap_err().to_string(),
            "name must be at most 64 characters"
        );
        assert!(TokenName::parse("ci\tbot").is_err());
    }

    #[test]
    fn a_user_appears_in_the_message_only_when_there_is_one() {
        let mut message = sample(None);
        message.user = Some(Username::parse("ann").unwrap());
        assert_eq!(
            serde_json::to_string(&message).unwrap(),
            r#"{"id":1700000000000001,"room":"lobby","sender":"ann","user":"ann","text":"hello","ts":1700000000000,"client_id":null,"rev":1700000000000001}"#
        );
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), message);
        let bad_user = json.replace(r#""user":"ann""#, r#""user":"a b""#);
        assert!(serde_json::from_str::<Message>(&bad_user).is_err());
    }
}
