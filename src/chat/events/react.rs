//! `react` {room, id, emoji, on}: someone who can read the room gives (`on: true`, the
//! default) or takes back a reaction. A change gives the message a fresh rev and the
//! room `message_updated` {message} with its `reactions`; the ack carries the message.

use std::sync::Arc;

use serde_json::Value;

use super::{ChatEvent, Reply, answer_changed, change_request};
use crate::accounts::Identity;
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
        change_request(chat, author, payload, |_, fields, _| {
            Ok(ChangeKind::React {
                emoji: Emoji::parse(fields.string("emoji")?)?,
                on: fields.optional_bool("on")?.unwrap_or(true),
            })
        })
        .map(React)
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        chat.change(socket.namespace(), self.0, move |changed| {
            answer_changed(reply, changed)
        });
    }
}
