//! `rooms` {all?}: the author's rooms, direct ones included, most recent activity
//! first, each with its unread and mention counts and latest message; with `all`, also
//! the rooms they could join.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply, signed_in};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::socketio::{Args, Socket};

pub(super) struct Rooms {
    who: Identity,
    all: bool,
}

impl ChatEvent for Rooms {
    const NAME: &'static str = "rooms";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let who = signed_in(chat, author)?;
        // `rooms` asks for nothing in particular: no payload at all is an empty one.
        let all = match payload {
            None | Some(Value::Null) => false,
            Some(_) => Fields::of(payload)?.optional_bool("all")?.unwrap_or(false),
        };
        Ok(Rooms { who, all })
    }

    fn apply(self, chat: &Arc<Chat>, _socket: &Arc<Socket>, reply: Reply) {
        if !reply.is_wanted() {
            return;
        }
        let chat = chat.clone();
        tokio::spawn(async move {
            match chat.list_rooms(self.who, self.all).await {
                Ok(rooms) => reply.ok(Args::json(vec![json!({"ok": true, "rooms": rooms})])),
                Err(error) => reply.error(error),
            }
        });
    }
}
