//! `send_message` {room, sender, text, client_id?}: stored, then acknowledged with the
//! stored message and broadcast to the room (a retry of a stored message is only
//! acknowledged). In accounts mode the message is the signed-in user's, under their
//! display name; the payload's `sender` is ignored.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::{ChatEvent, Reply};
use crate::accounts::Identity;
use crate::chat::{Chat, ChatError, Refusal, SendRequest, encoded};
use crate::model::Message;
use crate::socketio::Socket;
use crate::store::Appended;

/// The ack of a stored `send_message`.
#[derive(Serialize)]
struct SendReply<'a> {
    ok: bool,
    message: &'a Message,
}

pub(super) struct SendMessage {
    request: SendRequest,
    author: Option<Identity>,
}

impl ChatEvent for SendMessage {
    const NAME: &'static str = "send_message";

    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError> {
        let request = chat.parse_send(payload, None, author)?;
        Ok(SendMessage {
            request,
            author: author.cloned(),
        })
    }

    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply) {
        // Sending to a room implies being in it, as in the original app: the sender
        // then also receives the room's next messages (and in accounts mode is a
        // member of it, if they may be).
        match chat.join_room(socket, self.author.as_ref(), &self.request.room) {
            Ok(Some(change)) => chat.settle_later(socket.namespace(), change),
            Ok(None) => {}
            Err(error) => return reply.error(error),
        }
        // One connection's sends waiting for their commit are capped, so a client
        // cannot fill the store's queue and get everyone else refused.
        let max = chat.limits.max_in_flight;
        let slot = match chat.connection(socket) {
            Ok(connection) => connection.begin_send(max),
            Err(error) => return reply.error(error),
        };
        let Some(slot) = slot else {
            chat.stats.count_refusal(Refusal::InFlight);
            return reply.error(ChatError::TooManyInFlight(max));
        };
        chat.send(socket.namespace(), self.request, move |result| {
            drop(slot);
            answer(reply, result);
        });
    }
}

fn answer(reply: Reply, result: Result<Appended, ChatError>) {
    match result {
        Ok(appended) => {
            let answer = SendReply {
                ok: true,
                message: &appended.message,
            };
            if let Some(answer) = encoded(&answer) {
                reply.ok(answer);
            }
        }
        Err(error) => reply.error(error),
    }
}
