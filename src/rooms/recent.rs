//! What the room list needs of a room's messages without reading its history: the
//! latest message, and who wrote the most recent ones and whom they mention, so that
//! unread and mention counts are a walk over at most [`RECENT_CAP`] entries in memory.
//!
//! A room's entries are loaded from the store the first time someone asks (the newest
//! [`RECENT_CAP`] messages) and then kept up to date by every stored message. A read
//! marker older than what memory holds is counted from the store, bounded: unread counts
//! stop at [`MAX_UNREAD`] anyway.

use std::collections::VecDeque;

use crate::model::{Message, Username};

/// Unread counts stop here; the page shows "999+".
pub const MAX_UNREAD: u32 = 999;
/// Messages per room kept in memory for counting.
pub const RECENT_CAP: usize = 1024;
/// The most messages one count reads from the store beyond memory: a user with a
/// marker that far back, who wrote most of what followed it, gets a count that stops
/// there rather than a scan of the room's whole history.
pub const MAX_SCANNED: usize = 20_000;

/// A message as counting sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: u64,
    pub author: Option<Username>,
    pub mentions: Mentions,
}

impl Entry {
    pub fn of(message: &Message) -> Entry {
        Entry {
            id: message.id,
            author: message.user.clone(),
            mentions: Mentions::in_text(message.text.as_str()),
        }
    }
}

/// Who a message's text mentions: `@username` (any user, lowercased) and `@room`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions(Box<[Box<str>]>);

/// The mention of everyone in the room.
pub const MENTION_ROOM: &str = "room";

impl Mentions {
    /// The `@name` words of `text`. An `@` counts only at the start or after a
    /// character that cannot be part of a name, so `bob@example.com` mentions no one;
    /// a name's trailing dots are punctuation (`thanks @ann.`).
    pub fn in_text(text: &str) -> Mentions {
        let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        let mut found: Vec<Box<str>> = Vec::new();
        let mut previous: Option<char> = None;
        for (at, c) in text.char_indices() {
            if c == '@' && !previous.is_some_and(is_name_char) {
                let rest = &text[at + 1..];
                let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
                let name = rest[..end].trim_end_matches('.').to_ascii_lowercase();
                if !name.is_empty() && !found.iter().any(|known| **known == *name) {
                    found.push(name.into_boxed_str());
                }
            }
            previous = Some(c);
        }
        Mentions(found.into_boxed_slice())
    }

    /// Whether `username`, or the whole room, is mentioned.
    pub fn include(&self, username: &Username) -> bool {
        self.0
            .iter()
            .any(|name| **name == *username.as_str() || **name == *MENTION_ROOM)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|name| &**name)
    }
}

/// Unread and mention counts of one user in one room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unread {
    pub unread: u32,
    pub mentions: u32,
}

impl Unread {
    /// Counts `entry` if it is someone else's; false once the count is full.
    pub fn add(&mut self, entry: &Entry, reader: &Username) -> bool {
        if entry.author.as_ref() != Some(reader) {
            self.unread += 1;
            if entry.mentions.include(reader) {
                self.mentions += 1;
            }
        }
        self.unread < MAX_UNREAD
    }
}

/// One room's recent messages, oldest first.
#[derive(Debug, Default)]
pub struct Recent {
    entries: VecDeque<Entry>,
    /// Every message of the room with a larger id is in `entries`.
    complete_after: u64,
    latest: Option<Message>,
}

/// How far memory answered a count.
pub enum Counted {
    Done(Unread),
    /// The messages after the marker and before `before` are not in memory; what is
    /// counted so far is in the first field.
    NeedsOlder(Unread, u64),
}

impl Recent {
    /// Built from the room's newest messages, oldest first, as the store gave them:
    /// when they are fewer than were asked for, they are the whole room.
    pub fn from_newest(messages: Vec<Message>, asked: usize) -> Recent {
        let complete_after = match messages.first() {
            Some(oldest) if messages.len() >= asked => oldest.id.saturating_sub(1),
            _ => 0,
        };
        let latest = messages.last().cloned();
        let entries = messages.iter().map(Entry::of).collect();
        Recent {
            entries,
            complete_after,
            latest,
        }
    }

    /// Takes in a newly stored message. Messages may come twice or out of order (one
    /// already read from the store while this room was loaded, or read again by a
    /// catch-up); each is kept once, in id order.
    pub fn push(&mut self, message: &Message) {
        if message.id <= self.complete_after {
            return;
        }
        let newest = self.entries.back().map_or(0, |entry| entry.id);
        if message.id > newest {
            self.entries.push_back(Entry::of(message));
            self.latest = Some(message.clone());
        } else {
            match self
                .entries
                .binary_search_by_key(&message.id, |entry| entry.id)
            {
                Ok(_) => return,
                Err(at) => self.entries.insert(at, Entry::of(message)),
            }
        }
        if self.entries.len() > RECENT_CAP
            && let Some(dropped) = self.entries.pop_front()
        {
            self.complete_after = dropped.id;
        }
    }

    pub fn latest(&self) -> Option<&Message> {
        self.latest.as_ref()
    }

    /// Counts `reader`'s unread messages after `marker`, newest first.
    pub fn count(&self, reader: &Username, marker: u64) -> Counted {
        let mut unread = Unread::default();
        for entry in self.entries.iter().rev() {
            if entry.id <= marker || !unread.add(entry, reader) {
                return Counted::Done(unread);
            }
        }
        if marker < self.complete_after {
            Counted::NeedsOlder(unread, self.complete_after.saturating_add(1))
        } else {
            Counted::Done(unread)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MessageText, RoomName, SenderName};

    fn user(name: &str) -> Username {
        Username::parse(name).unwrap()
    }

    fn message(id: u64, author: &str, text: &str) -> Message {
        Message {
            id,
            room: RoomName::parse("r").unwrap(),
            sender: SenderName::parse(author).unwrap(),
            user: Some(user(author)),
            text: MessageText::parse(text, 100).unwrap(),
            ts: id / 1000,
            client_id: None,
        }
    }

    fn names(text: &str) -> Vec<String> {
        Mentions::in_text(text).names().map(str::to_owned).collect()
    }

    #[test]
    fn mentions_are_at_words() {
        assert_eq!(names("hi @Ann and @bob."), ["ann", "bob"]);
        assert_eq!(names("@room: lunch?"), ["room"]);
        assert_eq!(names("mail bob@example.com"), Vec::<String>::new());
        assert_eq!(names("(@ann) @ann @"), ["ann"]);
        assert_eq!(names("@a.b-c_d, hello"), ["a.b-c_d"]);
        assert_eq!(names("привет @ann!"), ["ann"]);
    }

    #[test]
    fn counts_others_messages_after_the_marker() {
        let mut recent = Recent::from_newest(Vec::new(), RECENT_CAP);
        for (id, author, text) in [
            (1, "ann", "hi"),
            (2, "bob", "hey @ann"),
            (3, "ann", "@bob yes"),
            (4, "bob", "@room news"),
            (5, "cy", "ok"),
        ] {
            recent.push(&message(id, author, text));
        }
        let count = |who: &str, marker| match recent.count(&user(who), marker) {
            Counted::Done(unread) => (unread.unread, unread.mentions),
            Counted::NeedsOlder(..) => panic!("the whole room is in memory"),
        };
        assert_eq!(count("ann", 0), (3, 2));
        assert_eq!(count("ann", 2), (2, 1));
        assert_eq!(
            count("bob", 0),
            (3, 1),
            "bob's own @room is not his to read"
        );
        assert_eq!(count("cy", 5), (0, 0));
        assert_eq!(recent.latest().map(|m| m.id), Some(5));
    }

    #[test]
    fn a_message_seen_when_loading_is_not_counted_twice() {
        let loaded = vec![message(1, "ann", "a"), message(2, "bob", "b")];
        let mut recent = Recent::from_newest(loaded.clone(), RECENT_CAP);
        recent.push(&loaded[1]);
        recent.push(&message(3, "bob", "c"));
        match recent.count(&user("ann"), 0) {
            Counted::Done(unread) => assert_eq!(unread.unread, 2),
            Counted::NeedsOlder(..) => panic!("whole room"),
        }
    }

    #[test]
    fn a_message_arriving_late_takes_its_place() {
        let mut recent = Recent::default();
        recent.push(&message(1, "bob", "a"));
        recent.push(&message(3, "bob", "c"));
        recent.push(&message(2, "bob", "@ann"));
        recent.push(&message(2, "bob", "@ann"));
        assert_eq!(recent.latest().map(|m| m.id), Some(3));
        match recent.count(&user("ann"), 1) {
            Counted::Done(unread) => assert_eq!((unread.unread, unread.mentions), (2, 1)),
            Counted::NeedsOlder(..) => panic!("whole room"),
        }
    }

    #[test]
    fn a_marker_older_than_memory_asks_for_older_messages() {
        let newest: Vec<Message> = (10..10 + RECENT_CAP as u64)
            .map(|id| message(id, "ann", "mine"))
            .collect();
        let mut recent = Recent::from_newest(newest, RECENT_CAP);
        match recent.count(&user("ann"), 3) {
            Counted::NeedsOlder(unread, before) => {
                assert_eq!(unread, Unread::default());
                assert_eq!(before, 10);
            }
            Counted::Done(_) => panic!("messages 4..9 may exist"),
        }
        // Pushing past the cap moves the boundary along.
        recent.push(&message(5000, "bob", "x"));
        match recent.count(&user("ann"), 9) {
            Counted::NeedsOlder(unread, before) => assert_eq!((unread.unread, before), (1, 11)),
            Counted::Done(_) => panic!("message 10 left memory"),
        }
    }

    #[test]
    fn counts_stop_at_the_cap() {
        let mut recent = Recent::default();
        for id in 1..=1200 {
            recent.push(&message(id, "bob", "@ann"));
        }
        match recent.count(&user("ann"), 0) {
            Counted::Done(unread) => assert_eq!((unread.unread, unread.mentions), (999, 999)),
            Counted::NeedsOlder(..) => panic!("the cap ends the count"),
        }
    }
}
