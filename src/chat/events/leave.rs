//! `leave` {room}: the socket stops receiving the room's messages.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::RoomName;
use crate::socketio::{Args, Socket};

pub(super) struct Leave {
    room: RoomName,
}

impl ChatEvent for Leave {
    const NAME: &'static str = "leave";

    fn parse(
        _chat: &Chat,
        _author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        Ok(Leave {
            room: Fields::of(payload)?.room()?,
        })
    }

    fn apply(self, _chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        socket.leave(self.room.as_str());
        reply.ok(Args::json(vec![json!({"ok": true})]));
    }
}
