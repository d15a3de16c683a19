//! `read` {room, id}: the author has read `room` up to message `id`. Their marker
//! becomes the larger of the two (never past the room's latest message) and is stored;
//! their other sockets hear `read` {room, id}; the ack carries the marker.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply, signed_in};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::RoomName;
use crate::socketio::{Args, Socket};

pub(super) struct Read {
    who: Identity,
    room: RoomName,
    id: u64,
}

impl ChatEvent for Read {
    const NAME: &'static str = "read";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let who = signed_in(chat, author)?;
        let fields = Fields::of(payload)?;
        let room = fields.room()?;
        chat.check_read(Some(&who), &room)?;
        let id = fields.message_id()?;
        Ok(Read { who, room, id })
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        let chat = chat.clone();
        let socket = socket.clone();
        tokio::spawn(async move {
            match chat.mark_read(&socket, self.who, self.room, self.id).await {
                Ok((room, marker)) => reply.ok(Args::json(vec![
                    json!({"ok": true, "room": room, "id": marker}),
                ])),
                Err(error) => reply.error(error),
            }
        });
    }
}
