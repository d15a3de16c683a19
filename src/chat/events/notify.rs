//! `notify` {room, level}: which of a room's messages the author wants to be notified
//! of ("all", "mentions" or "none"); stored, and sent to their sockets in a `room`
//! event. The ack is {ok, room, level}.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply, signed_in};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::RoomName;
use crate::rooms::NotifyLevel;
use crate::socketio::{Args, Socket};

pub(super) struct Notify {
    who: Identity,
    room: RoomName,
    level: NotifyLevel,
}

impl ChatEvent for Notify {
    const NAME: &'static str = "notify";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let who = signed_in(chat, author)?;
        let fields = Fields::of(payload)?;
        let room = fields.room()?;
        let level = fields.string("level")?.parse().map_err(|_| {
            ChatError::BadPayload("level must be \"all\", \"mentions\" or \"none\"".into())
        })?;
        Ok(Notify { who, room, level })
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        let chat = chat.clone();
        let namespace = socket.namespace().clone();
        tokio::spawn(async move {
            match chat
                .set_notify(&namespace, self.who, self.room, self.level)
                .await
            {
                Ok(room) => reply.ok(Args::json(vec![
                    json!({"ok": true, "room": room, "level": self.level}),
                ])),
                Err(error) => reply.error(error),
            }
        });
    }
}
