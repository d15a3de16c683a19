//! `edit_message` {room, id, text}: the author replaces the text of their message; the
//! ack carries the message, and the room gets `message_updated` {message} with
//! `edited_ts` and the new text's mentions.

use std::sync::Arc;

use serde_json::Value;

use super::{ChatEvent, Reply, answer_changed, change_request};
use crate::accounts::Identity;
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
        change_request(chat, author, payload, |_, fields, room| {
            let text = MessageText::parse(fields.string("text")?, chat.limits().max_text_chars)?;
            Ok(ChangeKind::Edit {
                mentions: chat.mentions_in(&text, room),
                text,
            })
        })
        .map(EditMessage)
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        chat.change(socket.namespace(), self.0, move |changed| {
            answer_changed(reply, changed)
        });
    }
}
