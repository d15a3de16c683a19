//! What the room list shows a user of each room: the record as they may see it, their
//! read marker and notification level, the unread and mention counts, the latest
//! message. Counting uses the recent messages kept in memory (`recent.rs`), loaded from
//! the store the first time a room is listed.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::recent::{Counted, Entry, MAX_SCANNED, RECENT_CAP, Recent, Unread};
use super::{NotifyLevel, RoomKind, RoomRecord, Rooms, RoomsError, check_read, is_direct_id, lock};
use crate::accounts::Identity;
use crate::model::{Message, RoomName, RoomTitle, Stored, Username};
use crate::store::PageQuery;

/// A room as one user sees it: the record, their place in it, and what is new.
#[derive(Debug, Clone, Serialize)]
pub struct RoomInfo {
    pub id: RoomName,
    pub name: RoomTitle,
    pub kind: RoomKind,
    /// Listed for closed and direct rooms; an open room's are whoever joined it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Username>>,
    pub member: bool,
    pub unread: u32,
    pub mentions: u32,
    pub last_message: Option<Stored>,
    pub read_marker: u64,
    /// Which messages of the room this user is notified of.
    pub notify: NotifyLevel,
}

impl Rooms {
    /// `room` as `who` sees it; they must be allowed to read it. Blocks.
    pub fn info(&self, who: &Identity, room: &RoomName) -> Result<RoomInfo, RoomsError> {
        let record = self.read().rooms.get(room).cloned();
        match record {
            Some(record) => {
                check_read(&record, who)?;
                self.view(&who.username, &record)
            }
            None => Err(if is_direct_id(room) {
                RoomsError::NotMember(room.clone())
            } else {
                RoomsError::UnknownRoom(room.clone())
            }),
        }
    }

    /// `record` as `username` sees it. Blocks (the first time a room is counted).
    pub fn view(&self, username: &Username, record: &RoomRecord) -> Result<RoomInfo, RoomsError> {
        let member = record.is_member(username);
        let read_marker = self.marker(username, &record.id);
        let (counts, last_message) = if member {
            let recent = self.recent(&record.id)?;
            let counted = lock(&recent).count(username, read_marker);
            let counts = match counted {
                Counted::Done(counts) => counts,
                Counted::NeedsOlder {
                    counted,
                    before,
                    newest,
                } => {
                    let counts =
                        self.count_older(username, &record.id, read_marker, before, counted)?;
                    lock(&recent).remember(username, read_marker, newest, counts);
                    counts
                }
            };
            let latest = lock(&recent).latest().cloned();
            (counts, latest)
        } else {
            (Unread::default(), self.newest(&record.id, 1)?.pop())
        };
        Ok(RoomInfo {
            id: record.id.clone(),
            name: record.name.clone(),
            kind: record.kind,
            members: (record.kind != RoomKind::Open)
                .then(|| record.members.iter().cloned().collect()),
            member,
            unread: counts.unread,
            mentions: counts.mentions,
            last_message,
            read_marker,
            notify: self.notify_level(username, record),
        })
    }

    /// `who`'s rooms, most recent activity first; with `all`, also the rooms they may
    /// join (open rooms, and for an admin closed ones). Blocks.
    pub fn list(&self, who: &Identity, all: bool) -> Result<Vec<RoomInfo>, RoomsError> {
        let records: Vec<RoomRecord> = {
            let index = self.read();
            index
                .rooms
                .values()
                .filter(|record| {
                    record.is_member(&who.username) || (all && check_read(record, who).is_ok())
                })
                .cloned()
                .collect()
        };
        let mut rooms = records
            .iter()
            .map(|record| self.view(&who.username, record))
            .collect::<Result<Vec<_>, _>>()?;
        let activity = |info: &RoomInfo, record: &RoomRecord| {
            info.last_message
                .as_ref()
                .map_or(record.created_micros(), Stored::id)
        };
        let mut order: Vec<(u64, RoomInfo)> = rooms
            .drain(..)
            .zip(&records)
            .map(|(info, record)| (activity(&info, record), info))
            .collect();
        order.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1.id.as_str().cmp(b.1.id.as_str()))
        });
        Ok(order.into_iter().map(|(_, info)| info).collect())
    }

    /// Takes in a stored message (for the room list's counts). Quick; does not block.
    pub fn record_message(&self, message: &Message) {
        let recent = self.recent_map().get(&message.room).cloned();
        if let Some(recent) = recent {
            lock(&recent).push(message);
        }
    }

    /// Takes in a change to a stored message. Quick; does not block.
    pub fn record_change(&self, stored: &Stored) {
        let recent = self.recent_map().get(stored.room()).cloned();
        if let Some(recent) = recent {
            lock(&recent).change(stored);
        }
    }

    /// The id of the room's latest message, 0 when it has none.
    pub(super) fn latest_id(&self, room: &RoomName) -> Result<u64, RoomsError> {
        if let Some(recent) = self.recent_map().get(room).cloned() {
            return Ok(lock(&recent).latest().map_or(0, Stored::id));
        }
        Ok(self.newest(room, 1)?.pop().map_or(0, |stored| stored.id()))
    }

    fn newest(&self, room: &RoomName, limit: usize) -> Result<Vec<Stored>, RoomsError> {
        self.newest_before(room, u64::MAX, limit)
    }

    /// The newest `limit` messages of `room` before id `before`, oldest first.
    fn newest_before(
        &self,
        room: &RoomName,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Stored>, RoomsError> {
        self.store
            .page_blocking(
                room,
                PageQuery {
                    before: Some(before),
                    after: None,
                    limit,
                },
            )
            .map_err(RoomsError::Store)
    }

    /// The room's recent messages, loaded from the store the first time.
    fn recent(&self, room: &RoomName) -> Result<Arc<Mutex<Recent>>, RoomsError> {
        if let Some(recent) = self.recent_map().get(room) {
            return Ok(recent.clone());
        }
        let loaded = Recent::from_newest(self.newest(room, RECENT_CAP)?, RECENT_CAP);
        let recent = self
            .recent
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(room.clone())
            .or_insert_with(|| Arc::new(Mutex::new(loaded)))
            .clone();
        // A message stored between the read above and the insert was not taken in
        // by `record_message`; read what came after the load once more.
        let newest = lock(&recent).latest().map_or(0, Stored::id);
        let caught_up = self
            .store
            .page_blocking(
                room,
                PageQuery {
                    before: None,
                    after: Some(newest),
                    limit: RECENT_CAP,
                },
            )
            .map_err(RoomsError::Store)?;
        let mut held = lock(&recent);
        for message in caught_up.iter().filter_map(Stored::message) {
            held.push(message);
        }
        drop(held);
        Ok(recent)
    }

    /// Goes on counting from the store where memory ended: the messages after
    /// `marker` and before `before`, newest first, at most [`MAX_SCANNED`].
    fn count_older(
        &self,
        reader: &Username,
        room: &RoomName,
        marker: u64,
        mut before: u64,
        mut counts: Unread,
    ) -> Result<Unread, RoomsError> {
        let mut scanned = 0;
        while scanned < MAX_SCANNED {
            let page = self.newest_before(room, before, 200)?;
            let Some(oldest) = page.first() else {
                return Ok(counts);
            };
            before = oldest.id();
            for message in page.iter().rev().filter_map(Stored::message) {
                scanned += 1;
                if message.id <= marker || !counts.add(&Entry::of(message), reader) {
                    return Ok(counts);
                }
            }
        }
        Ok(counts)
    }
}
