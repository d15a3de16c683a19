//! `join` {room}: the socket enters the room and the ack carries its latest page.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply};
use crate::accounts::Identity;
use crate::chat::{Chat, ChatError, HistoryRequest};
use crate::model::RoomName;
use crate::socketio::{Args, Socket};

pub(super) struct Join {
    room: RoomName,
}

impl ChatEvent for Join {
    const NAME: &'static str = "join";

    // Parsed as a history request, so a join with a malformed cursor or limit is
    // refused the same way a history request is.
    fn parse(
        chat: &Chat,
        _author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let request = chat.parse_history(payload, None)?;
        Ok(Join { room: request.room })
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        if let Err(error) = chat.join_room(socket, &self.room) {
            return reply.error(error);
        }
        tracing::debug!(room = %self.room, transport = socket.transport().name(), "joined room");
        if !reply.is_wanted() {
            return;
        }
        let chat = chat.clone();
        let latest = HistoryRequest::latest(self.room);
        tokio::spawn(async move {
            match chat.history(&latest).await {
                Ok(messages) => reply.ok(Args::json(vec![json!({
                    "ok": true,
                    "room": latest.room,
                    "messages": messages,
                })])),
                Err(error) => reply.error(error),
            }
        });
    }
}
