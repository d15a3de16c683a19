//! `join` {room}: the socket enters the room and the ack carries its latest page.

use std::sync::Arc;

use serde_json::json;

use crate::chat::{Chat, HistoryRequest};
use crate::socketio::{AckResponder, Args, Event, Socket};

pub(super) fn handle(
    chat: &Arc<Chat>,
    socket: &Arc<Socket>,
    event: Event,
    ack: Option<AckResponder>,
) {
    let request = match chat.parse_history(event.args.values.first(), None) {
        Ok(request) => request,
        Err(error) => return chat.reply_error(socket, "join", ack, error),
    };
    if let Err(error) = chat.join_room(socket, &request.room) {
        return chat.reply_error(socket, "join", ack, error);
    }
    tracing::debug!(room = %request.room, transport = socket.transport().name(), "joined room");
    let Some(ack) = ack else {
        return;
    };
    let chat = chat.clone();
    let socket = socket.clone();
    let latest = HistoryRequest::latest(request.room);
    tokio::spawn(async move {
        match chat.history(&latest).await {
            Ok(messages) => ack.send(Args::json(vec![json!({
                "ok": true,
                "room": latest.room,
                "messages": messages,
            })])),
            Err(error) => chat.reply_error(&socket, "join", Some(ack), error),
        }
    });
}
