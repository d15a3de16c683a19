//! `history` {room, before?, after?, limit?}: a page of the room's messages, in the
//! ack. A request without an ack has nobody to answer and is dropped.

use std::sync::Arc;

use serde_json::json;

use crate::chat::Chat;
use crate::socketio::{AckResponder, Args, Event, Socket};

pub(super) fn handle(
    chat: &Arc<Chat>,
    socket: &Arc<Socket>,
    event: Event,
    ack: Option<AckResponder>,
) {
    let request = match chat.parse_history(event.args.values.first(), None) {
        Ok(request) => request,
        Err(error) => return chat.reply_error(socket, "history", ack, error),
    };
    let Some(ack) = ack else {
        return;
    };
    let chat = chat.clone();
    let socket = socket.clone();
    tokio::spawn(async move {
        match chat.history(&request).await {
            Ok(messages) => ack.send(Args::json(vec![json!({"ok": true, "messages": messages})])),
            Err(error) => chat.reply_error(&socket, "history", Some(ack), error),
        }
    });
}
