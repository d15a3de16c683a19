//! `add_member` and `remove_member` {room, username}: a member of an open or closed
//! room (or an admin) changes who is in it; the ack carries the room, and everyone
//! concerned hears of it with a `room` event.

use std::sync::Arc;

use serde_json::Value;

use super::{ChatEvent, Reply, answer_change, signed_in};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::{RoomName, Username};
use crate::socketio::Socket;

/// What both events carry.
struct MemberRequest {
    who: Identity,
    room: RoomName,
    username: Username,
}

impl MemberRequest {
    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let who = signed_in(chat, author)?;
        let fields = Fields::of(payload)?;
        Ok(MemberRequest {
            who,
            room: fields.room()?,
            username: fields.username("username")?,
        })
    }
}

pub(super) struct AddMember(MemberRequest);

impl ChatEvent for AddMember {
    const NAME: &'static str = "add_member";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        MemberRequest::parse(chat, author, payload).map(AddMember)
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        let MemberRequest {
            who,
            room,
            username,
        } = self.0;
        let change = chat
            .team()
            .and_then(|team| Ok(team.rooms.add_member(&who, &room, username)?));
        answer_change(chat, socket, &who, change, reply);
    }
}

pub(super) struct RemoveMember(MemberRequest);

impl ChatEvent for RemoveMember {
    const NAME: &'static str = "remove_member";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        MemberRequest::parse(chat, author, payload).map(RemoveMember)
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        let MemberRequest {
            who,
            room,
            username,
        } = self.0;
        let change = chat
            .team()
            .and_then(|team| Ok(team.rooms.remove_member(&who, &room, &username)?));
        answer_change(chat, socket, &who, change, reply);
    }
}
