//! `typing` {room, sender, typing?}: relayed to the room's other members, never stored.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply};
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::{RoomName, SenderName};
use crate::socketio::{Args, Socket};

pub(super) struct Typing {
    room: RoomName,
    sender: SenderName,
    typing: bool,
}

impl ChatEvent for Typing {
    const NAME: &'static str = "typing";

    fn parse(_chat: &Chat, payload: Option<&Value>) -> Result<Self, ChatError> {
        let fields = Fields::of(payload)?;
        Ok(Typing {
            room: fields.room()?,
            sender: SenderName::parse(fields.string("sender")?)?,
            // Clients written for the original app send only {room, sender}.
            typing: fields.optional_bool("typing")?.unwrap_or(true),
        })
    }

    fn apply(self, _chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        if !socket.in_room(self.room.as_str()) {
            return reply.error(ChatError::NotJoined(self.room.to_string()));
        }
        let notice = json!({"room": self.room, "sender": self.sender, "typing": self.typing});
        socket
            .namespace()
            .to(self.room.as_str())
            .except(socket.id())
            .emit("typing", Args::json(vec![notice]));
        reply.ok(Args::json(vec![json!({"ok": true})]));
    }
}
