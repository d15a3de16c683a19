//! `create_room` {room, name?, kind?, members?}: a new open or closed room (closed
//! unless `kind` says "open") with the author and `members` in it; the ack carries the
//! room, and each member hears of it with a `room` event.

use std::sync::Arc;

use serde_json::Value;

use super::{ChatEvent, Reply, answer_change, signed_in};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::RoomTitle;
use crate::rooms::{MAX_ROOM_MEMBERS_LISTED, NewRoom, RoomKind};
use crate::socketio::Socket;

pub(super) struct CreateRoom {
    who: Identity,
    room: NewRoom,
}

impl ChatEvent for CreateRoom {
    const NAME: &'static str = "create_room";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let who = signed_in(chat, author)?;
        let fields = Fields::of(payload)?;
        let kind = match fields.optional_string("kind")? {
            None => RoomKind::Closed,
            Some(kind) => kind
                .parse()
                .map_err(|_| ChatError::BadPayload("kind must be \"open\" or \"closed\"".into()))?,
        };
        Ok(CreateRoom {
            who,
            room: NewRoom {
                id: fields.room()?,
                name: fields
                    .optional_string("name")?
                    .map(RoomTitle::parse)
                    .transpose()?,
                kind,
                members: fields.usernames("members", MAX_ROOM_MEMBERS_LISTED)?,
            },
        })
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        let change = chat
            .team()
            .and_then(|team| Ok(team.rooms.create(&self.who, self.room)?));
        answer_change(chat, socket, &self.who, change, reply);
    }
}
