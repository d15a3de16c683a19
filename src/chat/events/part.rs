//! `part` {room}: the author stops being a member of an open or closed room; their
//! sockets leave it and hear a `room` event saying so.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply, signed_in};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::RoomName;
use crate::socketio::{Args, Socket};

pub(super) struct Part {
    who: Identity,
    room: RoomName,
}

impl ChatEvent for Part {
    const NAME: &'static str = "part";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let who = signed_in(chat, author)?;
        let room = Fields::of(payload)?.room()?;
        Ok(Part { who, room })
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        let change = match chat
            .team()
            .and_then(|team| Ok(team.rooms.part(&self.who, &self.room)?))
        {
            Ok(change) => change,
            Err(error) => return reply.error(error),
        };
        chat.apply_change(socket.namespace(), &change);
        let chat = chat.clone();
        let namespace = socket.namespace().clone();
        tokio::spawn(async move {
            match chat.settle(&namespace, change, self.who.username).await {
                Ok(_) => reply.ok(Args::json(vec![json!({"ok": true})])),
                Err(error) => reply.error(error),
            }
        });
    }
}
