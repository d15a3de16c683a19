//! A room as stored: its kind, title and members, and the rule that names a direct
//! conversation after the people in it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{MAX_ROOM_CHARS, RoomName, RoomTitle, Username};

/// Ids starting with this are direct conversations, made only by `open_dm`.
pub const DIRECT_PREFIX: &str = "dm:";

/// Who may be in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoomKind {
    /// Anyone may join; joining an unknown id creates one (the original chat key).
    Open,
    /// Only its members, and admins.
    Closed,
    /// A conversation of 2–8 people, fixed when it is opened; only they read it.
    Direct,
}

spelled!(RoomKind {
    Open => "open",
    Closed => "closed",
    Direct => "direct",
});

/// Which of a room's messages a user wants to be notified of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyLevel {
    All,
    Mentions,
    None,
}

spelled!(NotifyLevel {
    All => "all",
    Mentions => "mentions",
    None => "none",
});

impl NotifyLevel {
    /// Unless the user chose: everything in a direct conversation, mentions elsewhere.
    pub fn default_for(kind: RoomKind) -> NotifyLevel {
        match kind {
            RoomKind::Direct => NotifyLevel::All,
            RoomKind::Open | RoomKind::Closed => NotifyLevel::Mentions,
        }
    }
}

/// One room's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomRecord {
    pub id: RoomName,
    pub name: RoomTitle,
    pub kind: RoomKind,
    /// Everyone who is in the room: who joined an open room, who was put in a closed
    /// or direct one.
    pub members: BTreeSet<Username>,
    /// Milliseconds since the epoch; orders rooms that have no messages yet.
    pub created: u64,
}

impl RoomRecord {
    pub fn is_member(&self, username: &Username) -> bool {
        self.members.contains(username)
    }

    /// When something last happened in the room, comparable with message ids (which
    /// are microseconds).
    pub fn created_micros(&self) -> u64 {
        self.created.saturating_mul(1000)
    }
}

/// The id of the direct conversation of `people` (sorted, without repeats): `dm:` and
/// their usernames joined by `:`, or, when that would be too long for a room id, `dm:`
/// and the first 32 hex digits of the SHA-256 of the joined list.
pub fn direct_room_id(people: &BTreeSet<Username>) -> RoomName {
    let joined = people
        .iter()
        .map(Username::as_str)
        .collect::<Vec<_>>()
        .join(":");
    let id = if DIRECT_PREFIX.len() + joined.len() <= MAX_ROOM_CHARS {
        format!("{DIRECT_PREFIX}{joined}")
    } else {
        let digest = Sha256::digest(joined.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("{DIRECT_PREFIX}{hex}")
    };
    RoomName::parse(&id).unwrap_or_else(|_| {
        unreachable!("usernames and hex digits are room id characters, and the length is bounded")
    })
}

/// Whether `room` is in the id space only `open_dm` may create.
pub fn is_direct_id(room: &RoomName) -> bool {
    room.as_str().starts_with(DIRECT_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people(names: &[&str]) -> BTreeSet<Username> {
        names.iter().map(|n| Username::parse(n).unwrap()).collect()
    }

    #[test]
    fn direct_ids_are_the_sorted_usernames() {
        assert_eq!(
            direct_room_id(&people(&["bob", "alice"])).as_str(),
            "dm:alice:bob"
        );
        assert_eq!(
            direct_room_id(&people(&["c.d", "a-b", "e_f"])).as_str(),
            "dm:a-b:c.d:e_f"
        );
    }

    #[test]
    fn long_direct_ids_become_a_hash() {
        let names: Vec<String> = (0..8).map(|i| format!("{i}{}", "x".repeat(20))).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let list = people(&names);
        let id = direct_room_id(&list);
        let joined = names.join(":");
        let digest = Sha256::digest(joined.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(id.as_str(), format!("dm:{hex}"));
        assert_eq!(id.as_str().len(), 35);
    }

    #[test]
    fn a_list_exactly_at_the_limit_is_kept_readable() {
        // "dm:" + 125 characters: names of 31, 31, 31 and 29, and 3 separators.
        let names = [
            "a".repeat(31),
            "b".repeat(31),
            "c".repeat(31),
            "d".repeat(29),
        ];
        let list = people(&names.iter().map(String::as_str).collect::<Vec<_>>());
        let id = direct_room_id(&list);
        assert_eq!(id.as_str().len(), 128);
        assert!(id.as_str().starts_with("dm:aaa"));
        let longer = [
            "a".repeat(31),
            "b".repeat(31),
            "c".repeat(31),
            "d".repeat(30),
        ];
        let list = people(&longer.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(direct_room_id(&list).as_str().len(), 35);
    }
}
