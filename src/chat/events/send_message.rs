//! `send_message` {room, sender, text, client_id?}: stored, then acknowledged with the
//! stored message and broadcast to the room (a retry of a stored message is only
//! acknowledged).

use std::sync::Arc;

use serde::Serialize;

use crate::chat::{Chat, encoded};
use crate::model::Message;
use crate::socketio::{AckResponder, Event, Socket};

/// The ack of a stored `send_message`.
#[derive(Serialize)]
struct SendReply<'a> {
    ok: bool,
    message: &'a Message,
}

pub(super) fn handle(
    chat: &Arc<Chat>,
    socket: &Arc<Socket>,
    event: Event,
    ack: Option<AckResponder>,
) {
    let request = match chat.parse_send(event.args.values.first(), None) {
        Ok(request) => request,
        Err(error) => return chat.reply_error(socket, "send_message", ack, error),
    };
    // Sending to a room implies being in it, as in the original app: the sender
    // then also receives the room's next messages.
    if let Err(error) = chat.join_room(socket, &request.room) {
        return chat.reply_error(socket, "send_message", ack, error);
    }
    let answering = chat.clone();
    let sender = socket.clone();
    chat.send(socket.namespace(), request, move |result| match result {
        Ok(appended) => {
            let reply = SendReply {
                ok: true,
                message: &appended.message,
            };
            if let Some((ack, reply)) = ack.zip(encoded(&reply)) {
                ack.send(reply);
            }
        }
        Err(error) => answering.reply_error(&sender, "send_message", ack, error),
    });
}
