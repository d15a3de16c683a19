//! `leave` {room}: the socket stops receiving the room's messages.

use std::sync::Arc;

use serde_json::json;

use crate::chat::Chat;
use crate::chat::request::Fields;
use crate::socketio::{AckResponder, Args, Event, Socket};

pub(super) fn handle(
    chat: &Arc<Chat>,
    socket: &Arc<Socket>,
    event: Event,
    ack: Option<AckResponder>,
) {
    match Fields::of(event.args.values.first()).and_then(|fields| fields.room()) {
        Ok(room) => {
            socket.leave(room.as_str());
            if let Some(ack) = ack {
                ack.send(Args::json(vec![json!({"ok": true})]));
            }
        }
        Err(error) => chat.reply_error(socket, "leave", ack, error),
    }
}
