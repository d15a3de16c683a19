//! `typing` {room, sender, typing}: relayed to the room's other members, never stored.

use std::sync::Arc;

use serde_json::json;

use crate::chat::request::Fields;
use crate::chat::{Chat, ChatError};
use crate::model::SenderName;
use crate::socketio::{AckResponder, Args, Event, Socket};

pub(super) fn handle(
    chat: &Arc<Chat>,
    socket: &Arc<Socket>,
    event: Event,
    ack: Option<AckResponder>,
) {
    let parsed = Fields::of(event.args.values.first()).and_then(|fields| {
        Ok((
            fields.room()?,
            SenderName::parse(fields.string("sender")?)?,
            fields.bool("typing")?,
        ))
    });
    let (room, sender, typing) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return chat.reply_error(socket, "typing", ack, error),
    };
    if !socket.in_room(room.as_str()) {
        let error = ChatError::NotJoined(room.to_string());
        return chat.reply_error(socket, "typing", ack, error);
    }
    socket
        .namespace()
        .to(room.as_str())
        .except(socket.id())
        .emit(
            "typing",
            Args::json(vec![
                json!({"room": room, "sender": sender, "typing": typing}),
            ]),
        );
    if let Some(ack) = ack {
        ack.send(Args::json(vec![json!({"ok": true})]));
    }
}
