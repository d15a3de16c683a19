//! The chat's Socket.IO events, one file each, registered by name. Every event first
//! passes the connection's rate limit; an event without a handler is refused as
//! `invalid`. Adding an event is adding a file and a line to [`EVENTS`].

mod history;
mod join;
mod leave;
mod send_message;
mod typing;

use std::sync::Arc;

use super::limits::Admission;
use super::{Chat, ChatError};
use crate::socketio::{AckResponder, Event, Handlers, Socket};

/// Handles one event: parse the payload, apply it, answer in the ack.
type EventHandler = fn(&Arc<Chat>, &Arc<Socket>, Event, Option<AckResponder>);

/// Every event of the chat, by name.
const EVENTS: [(&str, EventHandler); 5] = [
    ("join", join::handle),
    ("leave", leave::handle),
    ("send_message", send_message::handle),
    ("typing", typing::handle),
    ("history", history::handle),
];

impl Chat {
    /// The Socket.IO handlers of the chat, for namespace `/`.
    pub fn handlers(self: &Arc<Self>) -> Handlers {
        let departed = self.clone();
        let mut handlers = Handlers::default().on_disconnect(move |socket, _reason| {
            departed.buckets.remove(socket.id());
        });
        for (name, handle) in EVENTS {
            handlers = handlers.on(name, admitted(self, handle));
        }
        handlers.on_unknown(admitted(self, unknown))
    }
}

/// `handle`, run only when the socket's rate limit lets the event through.
fn admitted(
    chat: &Arc<Chat>,
    handle: EventHandler,
) -> impl Fn(&Arc<Socket>, Event, Option<AckResponder>) + Send + Sync + 'static {
    let chat = chat.clone();
    move |socket, event, ack| match chat.buckets.admit(socket.id(), chat.limits.rate) {
        Admission::Allowed => handle(&chat, socket, event, ack),
        Admission::Refused => chat.reply_error(socket, &event.name, ack, ChatError::RateLimited),
        Admission::Flooding => {
            // Refusing each event of a flood still costs the server as much as
            // serving it; a client that ignores `rate_limited` is disconnected
            // (official clients reconnect after their backoff).
            tracing::warn!(
                transport = socket.transport().name(),
                "disconnecting a client that ignores rate limiting"
            );
            chat.reply_error(socket, &event.name, ack, ChatError::RateLimited);
            socket.disconnect();
        }
    }
}

fn unknown(chat: &Arc<Chat>, socket: &Arc<Socket>, event: Event, ack: Option<AckResponder>) {
    let error = ChatError::BadPayload(format!("unknown event {:?}", event.name));
    chat.reply_error(socket, &event.name, ack, error);
}
