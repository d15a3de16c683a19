//! What the room list needs of a room's messages without reading its history: the
//! latest message, and who wrote the most recent ones and whom they mention, so that
//! unread and mention counts are a walk over at most [`RECENT_CAP`] entries in memory.
//!
//! A room's entries are loaded from the store the first time someone asks (the newest
//! [`RECENT_CAP`] messages) and then kept up to date by every stored message. A read
//! marker older than what memory holds is counted from the store, bounded: unread counts
//! stop at [`MAX_UNREAD`] anyway.

use std::collections::{HashMap, VecDeque};

use crate::model::{MENTION_ROOM, Message, Stored, Username};

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
    /// The message's mentions, as the server put them on it.
    pub mentions: Box<[Username]>,
}

impl Entry {
    pub fn of(message: &Message) -> Entry {
        Entry {
            id: message.id,
            author: message.user.clone(),
            mentions: message.mentions.clone().into_boxed_slice(),
        }
    }

    /// Whether the message mentions `username`, or the whole room.
    fn mentions(&self, username: &Username) -> bool {
        self.mentions
            .iter()
            .any(|name| name == username || name.as_str() == MENTION_ROOM)
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
            if entry.mentions(reader) {
                self.mentions += 1;
            }
        }
        self.unread < MAX_UNREAD
    }
}

impl Unread {
    /// The counts of two stretches of a room together, within the cap.
    fn plus(self, other: Unread) -> Unread {
        Unread {
            unread: (self.unread + other.unread).min(MAX_UNREAD),
            mentions: (self.mentions + other.mentions).min(MAX_UNREAD),
        }
    }
}

/// One room's recent messages, oldest first.
#[derive(Debug, Default)]
pub struct Recent {
    entries: VecDeque<Entry>,
    /// Every message of the room with a larger id is in `entries`.
    complete_after: u64,
    latest: Option<Stored>,
    /// Counts that had to be read from the store, by reader, so that the store is read
    /// once rather than at every listing.
    beyond: HashMap<Username, Beyond>,
}

/// A reader's counts of the messages after `marker` up to `pivot` (the newest one
/// when they were counted). They hold while the marker stays and memory still has
/// every message after `pivot`: until about [`RECENT_CAP`] more have come.
#[derive(Debug, Clone, Copy)]
struct Beyond {
    marker: u64,
    pivot: u64,
    counts: Unread,
}

/// How far memory answered a count.
pub enum Counted {
    Done(Unread),
    /// The messages after the marker and before `before` are not in memory. `counted`
    /// is what memory held (the messages up to `newest`); once the rest is counted,
    /// [`Recent::remember`] the total.
    NeedsOlder {
        counted: Unread,
        before: u64,
        newest: u64,
    },
}

impl Recent {
    /// Built from the room's newest messages, oldest first, as the store gave them:
    /// when they are fewer than were asked for, they are the whole room. Deleted ones
    /// count for nothing.
    pub fn from_newest(messages: Vec<Stored>, asked: usize) -> Recent {
        let complete_after = match messages.first() {
            Some(oldest) if messages.len() >= asked => oldest.id().saturating_sub(1),
            _ => 0,
        };
        let entries = messages
            .iter()
            .filter_map(Stored::message)
            .map(Entry::of)
            .collect();
        let latest = messages.into_iter().last();
        Recent {
            entries,
            complete_after,
            latest,
            beyond: HashMap::new(),
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
            if self
                .latest
                .as_ref()
                .is_none_or(|latest| latest.id() < message.id)
            {
                self.latest = Some(Stored::Message(message.clone()));
            }
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

    pub fn latest(&self) -> Option<&Stored> {
        self.latest.as_ref()
    }

    /// Takes in a change to a stored message: a deleted one no longer counts, an
    /// edited one counts with its new mentions.
    pub fn change(&mut self, stored: &Stored) {
        let id = stored.id();
        if let Ok(at) = self.entries.binary_search_by_key(&id, |entry| entry.id) {
            match stored {
                Stored::Message(message) => self.entries[at] = Entry::of(message),
                Stored::Deleted(_) => {
                    self.entries.remove(at);
                }
            }
        }
        if self.latest.as_ref().is_some_and(|latest| latest.id() == id) {
            self.latest = Some(stored.clone());
        }
        // What was counted from the store may have been this message.
        self.beyond.clear();
    }

    /// Counts `reader`'s unread messages after `marker`, newest first.
    pub fn count(&self, reader: &Username, marker: u64) -> Counted {
        let known = self
            .beyond
            .get(reader)
            .filter(|beyond| beyond.marker == marker && beyond.pivot >= self.complete_after);
        let floor = known.map_or(marker, |beyond| beyond.pivot.max(marker));
        let mut unread = Unread::default();
        for entry in self.entries.iter().rev() {
            if entry.id <= floor {
                break;
            }
            if !unread.add(entry, reader) {
                return Counted::Done(unread);
            }
        }
        match known {
            Some(beyond) => Counted::Done(unread.plus(beyond.counts)),
            None if marker < self.complete_after => Counted::NeedsOlder {
                counted: unread,
                before: self.complete_after.saturating_add(1),
                newest: self.entries.back().map_or(0, |entry| entry.id),
            },
            None => Counted::Done(unread),
        }
    }

    /// Keeps what a count that reached into the store found: `counts` of the
    /// messages after `marker` up to `newest`.
    pub fn remember(&mut self, reader: &Username, marker: u64, newest: u64, counts: Unread) {
        self.beyond.insert(
            reader.clone(),
            Beyond {
                marker,
                pivot: newest,
                counts,
            },
        );
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
            rev: id,
            reply_to: None,
            mentions: crate::model::mentioned_names(text),
            edited_ts: None,
            reactions: Vec::new(),
            files: Vec::new(),
        }
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
            Counted::NeedsOlder { .. } => panic!("the whole room is in memory"),
        };
        assert_eq!(count("ann", 0), (3, 2));
        assert_eq!(count("ann", 2), (2, 1));
        assert_eq!(
            count("bob", 0),
            (3, 1),
            "bob's own @room is not his to read"
        );
        assert_eq!(count("cy", 5), (0, 0));
        assert_eq!(recent.latest().map(Stored::id), Some(5));
    }

    #[test]
    fn a_message_seen_when_loading_is_not_counted_twice() {
        let loaded = [message(1, "ann", "a"), message(2, "bob", "b")];
        let mut recent = Recent::from_newest(
            loaded.iter().cloned().map(Stored::Message).collect(),
            RECENT_CAP,
        );
        recent.push(&loaded[1]);
        recent.push(&message(3, "bob", "c"));
        match recent.count(&user("ann"), 0) {
            Counted::Done(unread) => assert_eq!(unread.unread, 2),
            Counted::NeedsOlder { .. } => panic!("whole room"),
        }
    }

    #[test]
    fn a_message_arriving_late_takes_its_place() {
        let mut recent = Recent::default();
        recent.push(&message(1, "bob", "a"));
        recent.push(&message(3, "bob", "c"));
        recent.push(&message(2, "bob", "@ann"));
        recent.push(&message(2, "bob", "@ann"));
        assert_eq!(recent.latest().map(Stored::id), Some(3));
        match recent.count(&user("ann"), 1) {
            Counted::Done(unread) => assert_eq!((unread.unread, unread.mentions), (2, 1)),
            Counted::NeedsOlder { .. } => panic!("whole room"),
        }
    }

    #[test]
    fn a_marker_older_than_memory_asks_for_older_messages_once() {
        let newest: Vec<Stored> = (10..10 + RECENT_CAP as u64)
            .map(|id| Stored::Message(message(id, "ann", "mine")))
            .collect();
        let last = 9 + RECENT_CAP as u64;
        let mut recent = Recent::from_newest(newest, RECENT_CAP);
        let ann = user("ann");
        match recent.count(&ann, 3) {
            Counted::NeedsOlder {
                counted,
                before,
                newest,
            } => {
                assert_eq!(counted, Unread::default());
                assert_eq!((before, newest), (10, last));
            }
            Counted::Done(_) => panic!("messages 4..9 may exist"),
        }
        // The store held 5 unread (one a mention) before message 10.
        let older = Unread {
            unread: 5,
            mentions: 1,
        };
        recent.remember(&ann, 3, last, older);
        recent.push(&message(5000, "bob", "@ann look"));
        match recent.count(&ann, 3) {
            Counted::Done(unread) => assert_eq!((unread.unread, unread.mentions), (6, 2)),
            Counted::NeedsOlder { .. } => panic!("remembered"),
        }
        // A moved marker is counted afresh.
        assert!(matches!(recent.count(&ann, 4), Counted::NeedsOlder { .. }));
        // Pushing past the cap moves the boundary along.
        match recent.count(&ann, 9) {
            Counted::NeedsOlder {
                counted, before, ..
            } => assert_eq!((counted.unread, before), (1, 11)),
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
            Counted::NeedsOlder { .. } => panic!("the cap ends the count"),
        }
    }
}
