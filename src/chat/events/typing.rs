//! `typing` {room, sender, typing?}: relayed (in accounts mode under the signed-in
//! user's display name, with their `user`) to the room's other members, never stored.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::{RoomName, SenderName, Username};
use crate::socketio::{Args, Socket};

pub(super) struct Typing {
    room: RoomName,
    sender: SenderName,
    /// The signed-in user's username, in accounts mode.
    user: Option<Username>,
    typing: bool,
}

impl ChatEvent for Typing {
    const NAME: &'static str = "typing";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let fields = Fields::of(payload)?;
        let (sender, user) = fields.sender(author)?;
        let room = fields.room()?;
        chat.check_read(author, &room)?;
        Ok(Typing {
            room,
            sender,
            user,
            // Clients written for the original app send only {room, sender}.
            typing: fields.optional_bool("typing")?.unwrap_or(true),
        })
    }

    fn apply(self, _chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        if !socket.in_room(self.room.as_str()) {
            return reply.error(ChatError::NotJoined(self.room.to_string()));
        }
        let mut notice = json!({"room": self.room, "sender": self.sender, "typing": self.typing});
        if let Some(user) = &self.user {
            notice["user"] = json!(user);
        }
        socket
            .namespace()
            .to(self.room.as_str())
            .except(socket.id())
            .emit("typing", Args::json(vec![notice]));
        reply.ok(Args::json(vec![json!({"ok": true})]));
    }
}
