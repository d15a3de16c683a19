//! `room` {room}: one room as the author sees it, for someone who may read it.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply, signed_in};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::RoomName;
use crate::socketio::{Args, Socket};

pub(super) struct Room {
    who: Identity,
    room: RoomName,
}

impl ChatEvent for Room {
    const NAME: &'static str = "room";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let who = signed_in(chat, author)?;
        let room = Fields::of(payload)?.room()?;
        Ok(Room { who, room })
    }

    fn apply(self, chat: &Arc<Chat>, _socket: &Arc<Socket>, reply: Reply) {
        if !reply.is_wanted() {
            return;
        }
        let chat = chat.clone();
        tokio::spawn(async move {
            match chat.room_info(self.who, self.room).await {
                Ok(room) => reply.ok(Args::json(vec![json!({"ok": true, "room": room})])),
                Err(error) => reply.error(error),
            }
        });
    }
}
