//! `edit_message` {room, id, text}: the author replaces the text of their message; the
//! ack carries the message, and the room gets `message_updated` {message} with
//! `edited_ts` and the new text's mentions.

use std::sync::Arc;

use serde_json::Value;

use super::{ChatEvent, Reply, answer_changed, signed_in};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::MessageText;
use crate::socketio::Socket;
use crate::store::{ChangeKind, ChangeRequest};

pub(super) struct EditMessage(ChangeRequest);

impl ChatEvent for EditMessage {
    const NAME: &'static str = "edit_message";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let who = signed_in(chat, author)?;
        let fields = Fields::of(payload)?;
        let room = fields.room()?;
        chat.check_read(Some(&who), &room)?;
        let text = MessageText::parse(fields.string("text")?, chat.limits().max_text_chars)?;
        Ok(EditMessage(ChangeRequest {
            id: fields.message_id()?,
            kind: ChangeKind::Edit {
                mentions: chat.mentions_in(&text, &room),
                text,
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
