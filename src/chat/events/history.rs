//! `history` {room, before?, after?, limit?}: a page of the room's messages, in the
//! ack, for someone who may read the room. With `since` (a rev) instead: the messages
//! created or changed after it, in rev order, and the room's latest `rev`. A request without an ack has nobody to
//! answer and is dropped.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::{ChatEvent, Reply};
use crate::accounts::Identity;
use crate::chat::{self, Chat, ChatError, HistoryRequest, encoded};
use crate::socketio::Socket;

pub(super) struct History(HistoryRequest);

/// `{ok, messages}`, and `rev` when the request had `since`.
#[derive(Serialize)]
struct HistoryReply {
    ok: bool,
    #[serde(flatten)]
    history: chat::History,
}

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
                Ok(history) => {
                    let answer = HistoryReply { ok: true, history };
                    if let Some(answer) = encoded(&answer) {
                        reply.ok(answer);
                    }
                }
                Err(error) => reply.error(error),
            }
        });
    }
}
