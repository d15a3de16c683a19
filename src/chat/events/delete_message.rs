//! `delete_message` {room, id}: the author, or an admin, deletes a message. Its text is
//! removed from the store and a tombstone {id, room, rev, ts, deleted: true} stays in
//! the history; the room gets `message_deleted` {room, id}; the ack is {ok: true}.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply, change_request};
use crate::accounts::{Identity, Role};
use crate::chat::{Chat, ChatError};
use crate::socketio::{Args, Socket};
use crate::store::{ChangeKind, ChangeRequest};

pub(super) struct DeleteMessage(ChangeRequest);

impl ChatEvent for DeleteMessage {
    const NAME: &'static str = "delete_message";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        change_request(chat, author, payload, |who, _, _| {
            Ok(ChangeKind::Delete {
                as_admin: who.role == Role::Admin,
            })
        })
        .map(DeleteMessage)
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        chat.change(socket.namespace(), self.0, move |changed| match changed {
            Ok(_) => reply.ok(Args::json(vec![json!({"ok": true})])),
            Err(error) => reply.error(error),
        });
    }
}
