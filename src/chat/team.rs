//! What accounts mode adds to the chat: rooms with members, presence, and keeping
//! each person's sockets in step with their rooms.
//!
//! Every socket of a signed-in user is in the Socket.IO room of each chat room the
//! user is a member of (so the page hears of every room's messages, for its unread
//! badges), in `@username` (their own events: `room`, `read`) and in `@` (everyone's
//! `presence`). Neither `@` name is a valid chat key, so no chat room can collide.

use std::sync::Arc;

use serde_json::json;

use super::presence::{OFFLINE_GRACE, Presence};
use super::{Chat, ChatError, encoded};
use crate::accounts::{Accounts, Identity};
use crate::model::{RoomName, Username};
use crate::rooms::{NotifyLevel, RoomChange, RoomInfo, Rooms};
use crate::socketio::{Args, Namespace, Socket};

/// The Socket.IO room of every signed-in socket.
const EVERYONE: &str = "@";

/// The Socket.IO room of one user's sockets.
fn own_room(username: &Username) -> String {
    format!("@{username}")
}

pub struct Team {
    pub accounts: Arc<Accounts>,
    pub rooms: Arc<Rooms>,
    pub presence: Presence,
}

impl Team {
    pub fn new(accounts: Arc<Accounts>, rooms: Arc<Rooms>) -> Team {
        Team {
            accounts,
            rooms,
            presence: Presence::default(),
        }
    }
}

impl Chat {
    /// A signed-in socket connected: into its rooms, and online.
    pub(super) fn welcome(&self, socket: &Arc<Socket>) {
        let (Some(team), Some(who)) = (&self.team, self.identity_of(socket)) else {
            return;
        };
        socket.join(EVERYONE);
        socket.join(&own_room(&who.username));
        for room in team.rooms.rooms_of(&who.username) {
            socket.join(room.as_str());
        }
        if team.presence.connected(&who.username) {
            announce_presence(socket.namespace(), &who.username, true);
        }
    }

    /// A signed-in socket closed: the user goes offline after the grace unless
    /// another of their sockets is, or comes back, connected.
    pub(super) fn farewell(self: &Arc<Self>, socket: &Arc<Socket>) {
        let (Some(team), Some(who)) = (&self.team, self.identity_of(socket)) else {
            return;
        };
        let Some(departure) = team.presence.disconnected(&who.username) else {
            return;
        };
        let chat = self.clone();
        let namespace = socket.namespace().clone();
        let username = who.username.clone();
        tokio::spawn(async move {
            tokio::time::sleep(OFFLINE_GRACE).await;
            let gone = chat
                .team
                .as_ref()
                .is_some_and(|team| team.presence.expire(&username, departure));
            if gone {
                announce_presence(&namespace, &username, false);
            }
        });
    }

    /// Whether `username` is online, in accounts mode.
    pub fn is_online(&self, username: &Username) -> bool {
        self.team
            .as_ref()
            .is_some_and(|team| team.presence.is_online(username))
    }

    /// `who`'s read marker in `room`.
    pub fn read_marker(&self, who: &Identity, room: &RoomName) -> u64 {
        self.team
            .as_ref()
            .map_or(0, |team| team.rooms.marker(&who.username, room))
    }

    /// Whether `author` may read `room`: always in open mode.
    pub fn check_read(&self, author: Option<&Identity>, room: &RoomName) -> Result<(), ChatError> {
        match (&self.team, author) {
            (Some(team), Some(who)) => Ok(team.rooms.may_read(who, room)?),
            _ => Ok(()),
        }
    }

    /// Makes `author` a member of `room` if they may be one (they join it, or send to
    /// it) and moves their sockets in at once; the change is theirs to settle (see
    /// [`Chat::settle`]). `None` in open mode or when they already were a member.
    pub fn enter(
        &self,
        namespace: &Namespace,
        author: Option<&Identity>,
        room: &RoomName,
    ) -> Result<Option<RoomChange>, ChatError> {
        let (Some(team), Some(who)) = (&self.team, author) else {
            return Ok(None);
        };
        let change = team.rooms.enter(who, room)?;
        if let Some(change) = &change {
            move_sockets(namespace, change);
        }
        Ok(change)
    }

    /// Applies a change made by a request: the sockets of the people it adds or
    /// removes follow at once.
    pub(super) fn apply_change(&self, namespace: &Namespace, change: &RoomChange) {
        move_sockets(namespace, change);
    }

    /// Writes `change` to disk and then tells everyone concerned (see
    /// [`Chat::settle_now`]); gives back the room as `viewer` sees it.
    pub async fn settle(
        self: &Arc<Self>,
        namespace: &Arc<Namespace>,
        change: RoomChange,
        viewer: Username,
    ) -> Result<RoomInfo, ChatError> {
        let chat = self.clone();
        let namespace = namespace.clone();
        tokio::task::spawn_blocking(move || {
            chat.settle_now(&namespace, &change)?;
            Ok(chat.team()?.rooms.view(&viewer, &change.record)?)
        })
        .await
        .map_err(|_| ChatError::Internal("a room change was interrupted"))?
    }

    /// [`Chat::settle`] for a change nobody waits for.
    pub fn settle_later(self: &Arc<Self>, namespace: &Arc<Namespace>, change: RoomChange) {
        let chat = self.clone();
        let namespace = namespace.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(error) = chat.settle_now(&namespace, &change) {
                tracing::error!(room = %change.record.id, %error, "a room membership could not be saved");
            }
        });
    }

    /// Writes `change` to disk, then sends each person it concerns the room as they
    /// now see it in a `room` event. Blocks.
    fn settle_now(&self, namespace: &Namespace, change: &RoomChange) -> Result<(), ChatError> {
        let team = self.team()?;
        team.rooms.persist(change)?;
        for username in change.concerned() {
            let info = team.rooms.view(&username, &change.record)?;
            if let Some(event) = encoded(&json!({"room": info})) {
                namespace.to(&own_room(&username)).emit("room", event);
            }
        }
        Ok(())
    }

    /// The team, or why a request that needs accounts mode cannot be served.
    pub(super) fn team(&self) -> Result<&Team, ChatError> {
        self.team.as_ref().ok_or(ChatError::NeedsAccounts)
    }

    /// Moves `who`'s read marker in `room` up to `id`; when it moved, their other
    /// sockets (another tab, another device) hear `read` {room, id}. Gives back the
    /// room and the marker.
    pub(super) async fn mark_read(
        self: &Arc<Self>,
        socket: &Socket,
        who: Identity,
        room: RoomName,
        id: u64,
    ) -> Result<(RoomName, u64), ChatError> {
        let rooms = self.team()?.rooms.clone();
        let (room, marker, moved) = tokio::task::spawn_blocking(move || {
            rooms
                .mark_read(&who, &room, id)
                .map(|(marker, moved)| (room, marker, moved))
        })
        .await
        .map_err(|_| ChatError::Internal("moving a read marker was interrupted"))??;
        if moved && let Some(username) = self.identity_of(socket).map(|who| &who.username) {
            socket
                .namespace()
                .to(&own_room(username))
                .except(socket.id())
                .emit(
                    "read",
                    Args::json(vec![json!({"room": room, "id": marker})]),
                );
        }
        Ok((room, marker))
    }

    /// Sets `who`'s notification level in `room`; their sockets hear the room as they
    /// now see it in a `room` event. Gives back the room.
    pub(super) async fn set_notify(
        &self,
        namespace: &Namespace,
        who: Identity,
        room: RoomName,
        level: NotifyLevel,
    ) -> Result<RoomName, ChatError> {
        let rooms = self.team()?.rooms.clone();
        let username = who.username.clone();
        let info = tokio::task::spawn_blocking(move || {
            let record = rooms.set_notify(&who, &room, level)?;
            rooms.view(&who.username, &record)
        })
        .await
        .map_err(|_| ChatError::Internal("setting a notification level was interrupted"))??;
        let room = info.id.clone();
        if let Some(event) = encoded(&json!({"room": info})) {
            namespace.to(&own_room(&username)).emit("room", event);
        }
        Ok(room)
    }

    /// `who`'s rooms (see [`Rooms::list`]).
    pub async fn list_rooms(&self, who: Identity, all: bool) -> Result<Vec<RoomInfo>, ChatError> {
        let rooms = self.team()?.rooms.clone();
        tokio::task::spawn_blocking(move || rooms.list(&who, all))
            .await
            .map_err(|_| ChatError::Internal("listing rooms was interrupted"))?
            .map_err(ChatError::from)
    }

    /// `room` as `who` sees it (see [`Rooms::info`]).
    pub async fn room_info(&self, who: Identity, room: RoomName) -> Result<RoomInfo, ChatError> {
        let rooms = self.team()?.rooms.clone();
        tokio::task::spawn_blocking(move || rooms.info(&who, &room))
            .await
            .map_err(|_| ChatError::Internal("reading a room was interrupted"))?
            .map_err(ChatError::from)
    }

    fn identity_of<'s>(&self, socket: &'s Socket) -> Option<&'s Identity> {
        self.connection(socket).ok()?.identity.as_ref()
    }
}

/// Moves the sockets of the people `change` adds or removes into or out of the room.
fn move_sockets(namespace: &Namespace, change: &RoomChange) {
    let room = change.record.id.as_str();
    for username in &change.joined {
        for socket in namespace.sockets_in(&own_room(username)) {
            socket.join(room);
        }
    }
    for username in &change.left {
        for socket in namespace.sockets_in(&own_room(username)) {
            socket.leave(room);
        }
    }
}

fn announce_presence(namespace: &Namespace, username: &Username, online: bool) {
    tracing::debug!(%username, online, "presence changed");
    namespace.to(EVERYONE).emit(
        "presence",
        Args::json(vec![json!({"username": username, "online": online})]),
    );
}
