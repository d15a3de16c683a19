//! `history` {room, before?, after?, limit?}: a page of the room's messages, in the
//! ack, for someone who may read the room. A request without an ack has nobody to
//! answer and is dropped.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply};
use crate::accounts::Identity;
use crate::chat::{Chat, ChatError, HistoryRequest};
use crate::socketio::{Args, Socket};

pub(super) struct History(HistoryRequest);

impl ChatEvent for History {
    const NAME: &'static str = "history";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let request = chat.parse_history(payload, None)?;
        chat.check_read(author, &request.room)?;
        Ok(History(request))
    }

    fn apply(self, chat: &Arc<Chat>, _socket: &Arc<Socket>, reply: Reply) {
        if !reply.is_wanted() {
            return;
        }
        let chat = chat.clone();
        tokio::spawn(async move {
            match chat.history(&self.0).await {
                Ok(messages) => {
                    reply.ok(Args::json(vec![json!({"ok": true, "messages": messages})]))
                }
                Err(error) => reply.error(error),
            }
        });
    }
}
