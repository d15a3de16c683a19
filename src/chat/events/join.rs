//! `join` {room}: the socket enters the room and the ack carries its latest page (and,
//! in accounts mode, the joiner's read marker). In accounts mode joining makes the
//! user a member, if they may be one.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChatEvent, Reply};
use crate::accounts::Identity;
use crate::chat::{Chat, ChatError, HistoryRequest};
use crate::model::RoomName;
use crate::socketio::{Args, Socket};

pub(super) struct Join {
    room: RoomName,
    author: Option<Identity>,
}

impl ChatEvent for Join {
    const NAME: &'static str = "join";

    // Parsed as a history request, so a join with a malformed cursor or limit is
    // refused the same way a history request is.
    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let request = chat.parse_history(payload, None)?;
        Ok(Join {
            room: request.room,
            author: author.cloned(),
        })
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        let change = match chat.join_room(socket, self.author.as_ref(), &self.room) {
            Ok(change) => change,
            Err(error) => return reply.error(error),
        };
        tracing::debug!(room = %self.room, transport = socket.transport().name(), "joined room");
        if !reply.is_wanted() {
            if let Some(change) = change {
                chat.settle_later(socket.namespace(), change);
            }
            return;
        }
        let chat = chat.clone();
        let namespace = socket.namespace().clone();
        let latest = HistoryRequest::latest(self.room);
        tokio::spawn(async move {
            // A newcomer's read marker is set as the membership is saved: first that,
            // then the answer.
            if let (Some(change), Some(who)) = (change, &self.author)
                && let Err(error) = chat.settle(&namespace, change, who.username.clone()).await
            {
                return reply.error(error);
            }
            match chat.history(&latest).await {
                Ok(history) => {
                    let mut answer =
                        json!({"ok": true, "room": latest.room, "messages": history.messages});
                    if let Some(who) = &self.author {
                        answer["read_marker"] = json!(chat.read_marker(who, &latest.room));
                    }
                    reply.ok(Args::json(vec![answer]))
                }
                Err(error) => reply.error(error),
            }
        });
    }
}
