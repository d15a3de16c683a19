//! `react` {room, id, emoji, on}: someone who can read the room gives (`on: true`, the
//! default) or takes back a reaction. A change gives the message a fresh rev and the
//! room `message_updated` {message} with its `reactions`; the ack carries the message.

use std::sync::Arc;

use serde_json::Value;

use super::{ChatEvent, Reply, answer_changed, signed_in};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::Emoji;
use crate::socketio::Socket;
use crate::store::{ChangeKind, ChangeRequest};

pub(super) struct React(ChangeRequest);

impl ChatEvent for React {
    const NAME: &'static str = "react";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let who = signed_in(chat, author)?;
        let fields = Fields::of(payload)?;
        let room = fields.room()?;
        chat.check_read(Some(&who), &room)?;
        Ok(React(ChangeRequest {
            id: fields.message_id()?,
            kind: ChangeKind::React {
                emoji: Emoji::parse(fields.string("emoji")?)?,
                on: fields.optional_bool("on")?.unwrap_or(true),
            },
            room,
            by: who.username,
        }))
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        chat.change(socket.namespace(), self.0, move |changed| {
            answer_changed(reply, changed)
        });
    }
}
