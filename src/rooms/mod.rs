//! Rooms in accounts mode: which rooms exist, of what kind, who is in each, where each
//! member has read up to, and what the room list shows (unread and mention counts,
//! the latest message).
//!
//! Who may do what is decided here, once, for every path that reads or writes a room
//! (socket events and the HTTP API alike): an open room is anyone's to read and join,
//! a closed room its members' and admins', a direct room only its members'. A
//! non-member is refused with `forbidden` and nothing else.
//!
//! Records, read markers and notification levels are held in memory (`Index`) and
//! written to sled (`storage.rs`). A change is made in memory first, so that sending to
//! an open room never waits for a disk, and [`Rooms::persist`] writes it durably; what
//! acknowledges a change (the `room` events, an ack) waits for that. What the room list
//! shows is `listing.rs`; counting unread messages uses `recent.rs`, which keeps the
//! last messages of each room in memory. In open mode there are no room records at
//! all: the chat is the original chat key.

mod error;
mod listing;
mod recent;
mod record;
mod storage;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

pub use error::RoomsError;
pub use listing::RoomInfo;
pub use recent::MAX_UNREAD;
pub use record::{DIRECT_PREFIX, NotifyLevel, RoomKind, RoomRecord, direct_room_id, is_direct_id};

use crate::accounts::{Accounts, Identity, Role};
use crate::model::{RoomName, RoomTitle, Username};
use crate::store::Store;
use recent::Recent;
use storage::{PerUser, Storage};

/// The most rooms one user may be a member of.
pub const MAX_ROOMS_PER_USER: usize = 1000;
/// The most people one `create_room` may put in a room at once.
pub const MAX_ROOM_MEMBERS_LISTED: usize = 1000;
/// People in a direct conversation, the opener included.
pub const MAX_DIRECT_PEOPLE: usize = 8;

/// What a change did, for the chat to tell the people concerned and to move their
/// sockets in or out of the room.
#[derive(Debug, Clone)]
pub struct RoomChange {
    pub record: RoomRecord,
    pub joined: Vec<Username>,
    pub left: Vec<Username>,
}

impl RoomChange {
    /// A change that changed nothing (the room as it was).
    fn none(record: RoomRecord) -> RoomChange {
        RoomChange {
            record,
            joined: Vec::new(),
            left: Vec::new(),
        }
    }

    /// Everyone whose view of the room changed: the people added or removed, and for a
    /// closed or direct room every member (they see the member list). Nobody, when
    /// the change changed nothing.
    pub fn concerned(&self) -> Vec<Username> {
        if self.joined.is_empty() && self.left.is_empty() {
            return Vec::new();
        }
        let mut people: BTreeSet<Username> = self.joined.iter().cloned().collect();
        people.extend(self.left.iter().cloned());
        if self.record.kind != RoomKind::Open {
            people.extend(self.record.members.iter().cloned());
        }
        people.into_iter().collect()
    }
}

/// A room to create, as `create_room` asks.
pub struct NewRoom {
    pub id: RoomName,
    pub name: Option<RoomTitle>,
    pub kind: RoomKind,
    pub members: Vec<Username>,
}

/// Rooms and read markers in memory.
#[derive(Default)]
struct Index {
    rooms: HashMap<RoomName, RoomRecord>,
    by_member: HashMap<Username, HashSet<RoomName>>,
    markers: PerUser<u64>,
    /// Levels people chose; the others have their room kind's default.
    notify: PerUser<NotifyLevel>,
}

impl Index {
    fn put(&mut self, record: RoomRecord) {
        if let Some(old) = self.rooms.get(&record.id) {
            for gone in old.members.difference(&record.members) {
                if let Some(rooms) = self.by_member.get_mut(gone) {
                    rooms.remove(&record.id);
                }
            }
        }
        for member in &record.members {
            self.by_member
                .entry(member.clone())
                .or_default()
                .insert(record.id.clone());
        }
        self.rooms.insert(record.id.clone(), record);
    }

    /// A newcomer to a room with a history starts with nothing unread: their marker
    /// is now, which every later message's id (a microsecond timestamp) passes.
    fn welcome(&mut self, username: &Username, room: &RoomName) {
        let marker = self
            .markers
            .entry(username.clone())
            .or_default()
            .entry(room.clone())
            .or_insert(0);
        *marker = (*marker).max(now_micros());
    }

    fn marker(&self, username: &Username, room: &RoomName) -> u64 {
        self.markers
            .get(username)
            .and_then(|rooms| rooms.get(room))
            .copied()
            .unwrap_or(0)
    }

    fn membership_count(&self, username: &Username) -> usize {
        self.by_member.get(username).map_or(0, HashSet::len)
    }
}

pub struct Rooms {
    store: Arc<Store>,
    accounts: Arc<Accounts>,
    /// Held by a change from its first check to its update of the index.
    storage: Mutex<Storage>,
    index: RwLock<Index>,
    /// The recent messages of the rooms someone has listed since start.
    recent: RwLock<HashMap<RoomName, Arc<Mutex<Recent>>>>,
}

impl Rooms {
    /// Loads the rooms of `store`'s data directory. A room that has messages but no
    /// record (written by open mode or an earlier release) becomes an open room.
    /// Blocks.
    pub fn open(store: Arc<Store>, accounts: Arc<Accounts>) -> Result<Rooms, RoomsError> {
        let storage = Storage::open(&store)?;
        let mut index = Index {
            markers: storage.load_markers()?,
            notify: storage.load_notify()?,
            ..Index::default()
        };
        for record in storage.load_rooms()? {
            index.put(record);
        }
        let created = now_ms();
        let adopted: Vec<RoomRecord> = store
            .room_names()
            .map_err(RoomsError::Store)?
            .into_iter()
            .filter(|room| !index.rooms.contains_key(room))
            .map(|room| RoomRecord {
                name: RoomTitle::of_id(&room),
                id: room,
                kind: RoomKind::Open,
                members: BTreeSet::new(),
                created,
            })
            .collect();
        if !adopted.is_empty() {
            storage.put_rooms(&adopted.iter().collect::<Vec<_>>())?;
            tracing::info!(
                rooms = adopted.len(),
                "rooms without a record became open rooms"
            );
        }
        for record in adopted {
            index.put(record);
        }
        Ok(Rooms {
            store,
            accounts,
            storage: Mutex::new(storage),
            index: RwLock::new(index),
            recent: RwLock::new(HashMap::new()),
        })
    }

    /// Whether `who` may read `room` (and so send typing notices or move a read
    /// marker in it). An unknown id is an open room nobody created yet, except in the
    /// `dm:` space. Does not block.
    pub fn may_read(&self, who: &Identity, room: &RoomName) -> Result<(), RoomsError> {
        match self.read().rooms.get(room) {
            Some(record) => check_read(record, who),
            None if is_direct_id(room) => Err(RoomsError::NotMember(room.clone())),
            None => Ok(()),
        }
    }

    /// Whether the active user `username` may read `room` (for mentions). Does not
    /// block.
    pub fn user_may_read(&self, username: &Username, room: &RoomName) -> bool {
        let Some(role) = self.accounts.active_role(username) else {
            return false;
        };
        match self.read().rooms.get(room) {
            Some(record) => readable(record, username, role),
            None => !is_direct_id(room),
        }
    }

    /// The rooms `who` may not read: closed and direct rooms they are not in (an
    /// admin reads closed ones). Does not block.
    pub fn hidden_from(&self, who: &Identity) -> HashSet<RoomName> {
        self.read()
            .rooms
            .values()
            .filter(|record| !readable(record, &who.username, who.role))
            .map(|record| record.id.clone())
            .collect()
    }

    /// Whether `who` is a member of `room`. Does not block.
    pub fn is_member(&self, who: &Username, room: &RoomName) -> bool {
        self.read()
            .rooms
            .get(room)
            .is_some_and(|record| record.is_member(who))
    }

    /// The rooms `username` is a member of. Does not block.
    pub fn rooms_of(&self, username: &Username) -> Vec<RoomName> {
        self.read()
            .by_member
            .get(username)
            .map(|rooms| rooms.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// `who`'s read marker in `room` (0: none). Does not block.
    pub fn marker(&self, who: &Username, room: &RoomName) -> u64 {
        self.read().marker(who, room)
    }

    /// Makes `who` a member of `room` if they may be one (joining, or sending to an
    /// open room): an unknown id becomes an open room; an admin may enter a closed
    /// room. `None` when they already were. Does not block: see [`Rooms::persist`].
    pub fn enter(&self, who: &Identity, room: &RoomName) -> Result<Option<RoomChange>, RoomsError> {
        if self.is_member(&who.username, room) {
            return Ok(None);
        }
        let mut index = self.write();
        let mut record = match index.rooms.get(room) {
            Some(record) if record.is_member(&who.username) => return Ok(None),
            Some(record) => {
                check_read(record, who)?;
                record.clone()
            }
            None if is_direct_id(room) => return Err(RoomsError::NotMember(room.clone())),
            None => RoomRecord {
                id: room.clone(),
                name: RoomTitle::of_id(room),
                kind: RoomKind::Open,
                members: BTreeSet::new(),
                created: now_ms(),
            },
        };
        check_room_cap(&index, &who.username)?;
        record.members.insert(who.username.clone());
        index.welcome(&who.username, room);
        index.put(record.clone());
        Ok(Some(RoomChange {
            record,
            joined: vec![who.username.clone()],
            left: Vec::new(),
        }))
    }

    /// Creates an open or closed room with `who` and the given members in it. Does
    /// not block: see [`Rooms::persist`].
    pub fn create(&self, who: &Identity, new: NewRoom) -> Result<RoomChange, RoomsError> {
        if is_direct_id(&new.id) || new.kind == RoomKind::Direct {
            return Err(RoomsError::Forbidden(
                "direct conversations are opened with open_dm",
            ));
        }
        let mut members = self.active_users(new.members)?;
        members.insert(who.username.clone());
        let mut index = self.write();
        if index.rooms.contains_key(&new.id) {
            return Err(RoomsError::Exists(new.id));
        }
        for member in &members {
            check_room_cap(&index, member)?;
        }
        let record = RoomRecord {
            name: new.name.unwrap_or_else(|| RoomTitle::of_id(&new.id)),
            id: new.id,
            kind: new.kind,
            members,
            created: now_ms(),
        };
        index.put(record.clone());
        Ok(RoomChange {
            joined: record.members.iter().cloned().collect(),
            record,
            left: Vec::new(),
        })
    }

    /// Opens the direct conversation of `who` and `people`, creating it the first
    /// time. Does not block: see [`Rooms::persist`].
    pub fn open_direct(
        &self,
        who: &Identity,
        people: Vec<Username>,
    ) -> Result<RoomChange, RoomsError> {
        let mut members = self.active_users(people)?;
        members.insert(who.username.clone());
        if !(2..=MAX_DIRECT_PEOPLE).contains(&members.len()) {
            return Err(RoomsError::DirectSize {
                count: members.len(),
                max: MAX_DIRECT_PEOPLE,
            });
        }
        let id = direct_room_id(&members);
        let mut index = self.write();
        if let Some(record) = index.rooms.get(&id) {
            return Ok(RoomChange::none(record.clone()));
        }
        for member in &members {
            check_room_cap(&index, member)?;
        }
        let record = RoomRecord {
            name: RoomTitle::of_id(&id),
            id,
            kind: RoomKind::Direct,
            members,
            created: now_ms(),
        };
        index.put(record.clone());
        Ok(RoomChange {
            joined: record.members.iter().cloned().collect(),
            record,
            left: Vec::new(),
        })
    }

    /// Puts `username` in `room`, asked by `who` (a member, or an admin). Does not
    /// block: see [`Rooms::persist`].
    pub fn add_member(
        &self,
        who: &Identity,
        room: &RoomName,
        username: Username,
    ) -> Result<RoomChange, RoomsError> {
        if !self.accounts.is_active(&username) {
            return Err(RoomsError::UnknownUser(username));
        }
        let mut index = self.write();
        let mut record = managed_by(&index, who, room)?;
        if record.is_member(&username) {
            return Ok(RoomChange::none(record));
        }
        check_room_cap(&index, &username)?;
        record.members.insert(username.clone());
        index.welcome(&username, room);
        index.put(record.clone());
        Ok(RoomChange {
            record,
            joined: vec![username],
            left: Vec::new(),
        })
    }

    /// Takes `username` out of `room`, asked by `who` (a member, or an admin). Does
    /// not block: see [`Rooms::persist`].
    pub fn remove_member(
        &self,
        who: &Identity,
        room: &RoomName,
        username: &Username,
    ) -> Result<RoomChange, RoomsError> {
        let mut index = self.write();
        let record = managed_by(&index, who, room)?;
        Ok(without(&mut index, record, username))
    }

    /// `who` leaves `room`. Does not block: see [`Rooms::persist`].
    pub fn part(&self, who: &Identity, room: &RoomName) -> Result<RoomChange, RoomsError> {
        let mut index = self.write();
        let record = match index.rooms.get(room) {
            Some(record) if record.is_member(&who.username) => record.clone(),
            _ => return Err(RoomsError::NotMember(room.clone())),
        };
        if record.kind == RoomKind::Direct {
            return Err(RoomsError::Forbidden(
                "a direct conversation cannot be left",
            ));
        }
        Ok(without(&mut index, record, &who.username))
    }

    /// Writes what `change` did to disk, durably: the room's record as it is now (so
    /// that of two changes written out of order, the later state wins) and the
    /// newcomers' read markers. Changes are made in memory first (the sending path
    /// must not wait for a disk), so this is what an acknowledgement of a change waits
    /// for. Blocks.
    pub fn persist(&self, change: &RoomChange) -> Result<(), RoomsError> {
        let room = &change.record.id;
        let storage = self.lock();
        for newcomer in &change.joined {
            let marker = self.marker(newcomer, room);
            if marker > 0 {
                storage.put_marker(newcomer, room, marker)?;
            }
        }
        let current = self.read().rooms.get(room).cloned();
        if let Some(record) = current {
            storage.put_rooms(&[&record])?;
        }
        Ok(())
    }

    /// Moves `who`'s read marker in `room` up to `id` (never down, never past the
    /// room's latest message). Returns the marker and whether it moved. Blocks.
    pub fn mark_read(
        &self,
        who: &Identity,
        room: &RoomName,
        id: u64,
    ) -> Result<(u64, bool), RoomsError> {
        self.may_read(who, room)?;
        let latest = self.latest_id(room)?;
        let storage = self.lock();
        let wanted = id.min(latest);
        if !self.raise_marker(&who.username, room, wanted) {
            return Ok((self.marker(&who.username, room), false));
        }
        storage.put_marker(&who.username, room, wanted)?;
        Ok((wanted, true))
    }

    /// Sets `who`'s notification level for `room`, which they must be able to read.
    /// Blocks.
    pub fn set_notify(
        &self,
        who: &Identity,
        room: &RoomName,
        level: NotifyLevel,
    ) -> Result<RoomRecord, RoomsError> {
        let record = self.read().rooms.get(room).cloned();
        let record = match record {
            Some(record) => record,
            None if is_direct_id(room) => return Err(RoomsError::NotMember(room.clone())),
            None => return Err(RoomsError::UnknownRoom(room.clone())),
        };
        check_read(&record, who)?;
        let storage = self.lock();
        storage.put_notify(&who.username, room, level)?;
        self.write()
            .notify
            .entry(who.username.clone())
            .or_default()
            .insert(room.clone(), level);
        Ok(record)
    }

    /// `username`'s notification level in the room of `record`.
    pub fn notify_level(&self, username: &Username, record: &RoomRecord) -> NotifyLevel {
        self.read()
            .notify
            .get(username)
            .and_then(|rooms| rooms.get(&record.id))
            .copied()
            .unwrap_or_else(|| NotifyLevel::default_for(record.kind))
    }

    /// Raises a marker in memory; false when it already was at least `to`.
    fn raise_marker(&self, username: &Username, room: &RoomName, to: u64) -> bool {
        let mut index = self.write();
        let marker = index
            .markers
            .entry(username.clone())
            .or_default()
            .entry(room.clone())
            .or_insert(0);
        if *marker >= to {
            return false;
        }
        *marker = to;
        true
    }

    /// The active users called `people`.
    fn active_users(&self, people: Vec<Username>) -> Result<BTreeSet<Username>, RoomsError> {
        people
            .into_iter()
            .map(|username| {
                if self.accounts.is_active(&username) {
                    Ok(username)
                } else {
                    Err(RoomsError::UnknownUser(username))
                }
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Storage> {
        lock(&self.storage)
    }

    fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn recent_map(&self) -> RwLockReadGuard<'_, HashMap<RoomName, Arc<Mutex<Recent>>>> {
        self.recent
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The record of a room `who` may change the members of.
fn managed_by(index: &Index, who: &Identity, room: &RoomName) -> Result<RoomRecord, RoomsError> {
    let record = match index.rooms.get(room) {
        Some(record) => record,
        None if is_direct_id(room) => return Err(RoomsError::NotMember(room.clone())),
        None => return Err(RoomsError::UnknownRoom(room.clone())),
    };
    if record.kind == RoomKind::Direct {
        return Err(if record.is_member(&who.username) {
            RoomsError::Forbidden("a direct conversation's people are fixed")
        } else {
            RoomsError::NotMember(room.clone())
        });
    }
    if record.is_member(&who.username) || who.role == Role::Admin {
        Ok(record.clone())
    } else {
        Err(RoomsError::NotMember(room.clone()))
    }
}

/// `record` without `username`, in the index.
fn without(index: &mut Index, mut record: RoomRecord, username: &Username) -> RoomChange {
    if !record.members.remove(username) {
        return RoomChange::none(record);
    }
    index.put(record.clone());
    RoomChange {
        record,
        joined: Vec::new(),
        left: vec![username.clone()],
    }
}

fn check_room_cap(index: &Index, username: &Username) -> Result<(), RoomsError> {
    if index.membership_count(username) >= MAX_ROOMS_PER_USER {
        return Err(RoomsError::TooManyRooms(MAX_ROOMS_PER_USER));
    }
    Ok(())
}

/// Whether `who` may read a room with this record.
fn check_read(record: &RoomRecord, who: &Identity) -> Result<(), RoomsError> {
    if readable(record, &who.username, who.role) {
        Ok(())
    } else {
        Err(RoomsError::NotMember(record.id.clone()))
    }
}

/// The rule of the module doc: who may read a room with this record.
fn readable(record: &RoomRecord, username: &Username, role: Role) -> bool {
    match record.kind {
        RoomKind::Open => true,
        RoomKind::Closed => record.is_member(username) || role == Role::Admin,
        RoomKind::Direct => record.is_member(username),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_ms() -> u64 {
    now_micros() / 1000
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros() as u64)
}
