//! The chat's Socket.IO events, one file each, registered by name. Each event is a
//! [`ChatEvent`]: its payload is parsed into a typed request once, then applied, and
//! every answer goes through a [`Reply`]. Before parsing, the event passes the
//! connection's rate limit; an event without a handler is refused as `invalid`.
//! Adding an event is adding a file and one line to [`Chat::handlers`].

mod create_room;
mod delete_message;
mod edit_message;
mod history;
mod join;
mod leave;
mod members;
mod notify;
mod open_dm;
mod part;
mod react;
mod read;
mod room;
mod rooms;
mod search;
mod send_message;
mod typing;

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::limits::{Admission, Connection};
use super::{Chat, ChatError, Refusal, encoded};
use crate::accounts::Identity;
use crate::chat::request::Fields;
use crate::model::RoomName;
use crate::model::Stored;
use crate::rooms::{RoomChange, RoomInfo};
use crate::socketio::{AckResponder, Event, Handlers, Outgoing, Socket};
use crate::store::{ChangeKind, ChangeRequest, Changed};

/// One event of the chat: parse, then apply (mini-redis's command shape).
trait ChatEvent: Sized {
    /// The event's name on the wire.
    const NAME: &'static str;

    /// The typed request, from the event's first argument, sent by `author` when
    /// someone signed in (accounts mode).
    fn parse(
        chat: &Chat,
        author: Option<&Identity>,
        payload: Option<&Value>,
    ) -> Result<Self, ChatError>;

    /// Does what the request asks and answers through `reply`.
    fn apply(self, chat: &Arc<Chat>, socket: &Arc<Socket>, reply: Reply);
}

/// Where an event's answer goes: its ack when it asked for one; an error without an
/// ack becomes an `error` event to the sender alone.
struct Reply {
    chat: Arc<Chat>,
    socket: Arc<Socket>,
    event: Cow<'static, str>,
    ack: Option<AckResponder>,
}

impl Reply {
    /// Whether anyone waits for a successful answer.
    fn is_wanted(&self) -> bool {
        self.ack.is_some()
    }

    fn ok(self, answer: impl Outgoing) {
        if let Some(ack) = self.ack {
            ack.send(answer);
        }
    }

    fn error(self, error: ChatError) {
        self.chat
            .reply_error(&self.socket, &self.event, self.ack, error);
    }
}

impl Chat {
    /// The Socket.IO handlers of the chat, for namespace `/`.
    pub fn handlers(self: &Arc<Self>) -> Handlers {
        let authorizing = self.clone();
        let welcoming = self.clone();
        let leaving = self.clone();
        let handlers = Handlers::default()
            .authorize(move |socket, auth| authorizing.authorize(socket, auth))
            .on_connect(move |socket, _auth| welcoming.welcome(socket))
            .on_disconnect(move |socket, _reason| leaving.farewell(socket));
        let handlers = self.register::<join::Join>(handlers);
        let handlers = self.register::<leave::Leave>(handlers);
        let handlers = self.register::<send_message::SendMessage>(handlers);
        let handlers = self.register::<typing::Typing>(handlers);
        let handlers = self.register::<history::History>(handlers);
        let handlers = self.register::<create_room::CreateRoom>(handlers);
        let handlers = self.register::<members::AddMember>(handlers);
        let handlers = self.register::<members::RemoveMember>(handlers);
        let handlers = self.register::<open_dm::OpenDm>(handlers);
        let handlers = self.register::<part::Part>(handlers);
        let handlers = self.register::<rooms::Rooms>(handlers);
        let handlers = self.register::<room::Room>(handlers);
        let handlers = self.register::<read::Read>(handlers);
        let handlers = self.register::<edit_message::EditMessage>(handlers);
        let handlers = self.register::<delete_message::DeleteMessage>(handlers);
        let handlers = self.register::<react::React>(handlers);
        let handlers = self.register::<notify::Notify>(handlers);
        let handlers = self.register::<search::Search>(handlers);
        let chat = self.clone();
        handlers.on_unknown(move |socket, event, ack| {
            let name = Cow::Owned(event.name);
            if let Some((reply, _)) = chat.admit(socket, name, ack) {
                let error = ChatError::BadPayload(format!("unknown event {:?}", reply.event));
                reply.error(error);
            }
        })
    }

    fn register<E: ChatEvent>(self: &Arc<Self>, handlers: Handlers) -> Handlers {
        let chat = self.clone();
        handlers.on(E::NAME, move |socket, event: Event, ack| {
            let Some((reply, connection)) = chat.admit(socket, Cow::Borrowed(E::NAME), ack) else {
                return;
            };
            let author = connection.identity.as_ref();
            match E::parse(&chat, author, event.args.values.first()) {
                Ok(request) => request.apply(&chat, socket, reply),
                Err(error) => reply.error(error),
            }
        })
    }

    /// The reply for an event the socket's rate limit lets through, with the socket's
    /// state; otherwise the sender is told `rate_limited` and `None` is returned.
    fn admit<'s>(
        self: &Arc<Self>,
        socket: &'s Arc<Socket>,
        event: Cow<'static, str>,
        ack: Option<AckResponder>,
    ) -> Option<(Reply, &'s Arc<Connection>)> {
        let reply = Reply {
            chat: self.clone(),
            socket: socket.clone(),
            event,
            ack,
        };
        let connection = match self.connection(socket) {
            Ok(connection) => connection,
            Err(error) => {
                reply.error(error);
                return None;
            }
        };
        match connection.admit() {
            Admission::Allowed => Some((reply, connection)),
            Admission::Refused => {
                self.stats.count_refusal(Refusal::SocketRate);
                reply.error(ChatError::RateLimited);
                None
            }
            Admission::Flooding => {
                // Refusing each event of a flood still costs the server as much as
                // serving it; a client that ignores `rate_limited` is disconnected
                // (official clients reconnect after their backoff).
                tracing::warn!(
                    transport = socket.transport().name(),
                    "disconnecting a client that ignores rate limiting"
                );
                self.stats.count_refusal(Refusal::Flooding);
                reply.error(ChatError::RateLimited);
                socket.disconnect();
                None
            }
        }
    }
}

/// The signed-in author of an event that only accounts mode has.
fn signed_in(chat: &Chat, author: Option<&Identity>) -> Result<Identity, ChatError> {
    chat.team()?;
    author.cloned().ok_or(ChatError::NeedsAccounts)
}

/// The ack of a room change: the room as its author now sees it.
#[derive(Serialize)]
struct ChangeReply {
    ok: bool,
    room: RoomInfo,
}

/// Answers a room change `who` asked for: the sockets of the people it adds or
/// removes follow at once; once it is on disk, everyone concerned hears a `room`
/// event and `who` gets `{ok, room}`.
fn answer_change(
    chat: &Arc<Chat>,
    socket: &Arc<Socket>,
    who: &Identity,
    change: Result<RoomChange, ChatError>,
    reply: Reply,
) {
    let change = match change {
        Ok(change) => change,
        Err(error) => return reply.error(error),
    };
    chat.apply_change(socket.namespace(), &change);
    let chat = chat.clone();
    let namespace = socket.namespace().clone();
    let viewer = who.username.clone();
    tokio::spawn(async move {
        match chat.settle(&namespace, change, viewer).await {
            Ok(room) => {
                if let Some(answer) = encoded(&ChangeReply { ok: true, room }) {
                    reply.ok(answer);
                }
            }
            Err(error) => reply.error(error),
        }
    });
}

/// The ack of a changed message: `{ok, message}` (the tombstone if it was deleted).
#[derive(Serialize)]
struct ChangedReply<'a> {
    ok: bool,
    message: &'a Stored,
}

fn answer_changed(reply: Reply, changed: Result<Changed, ChatError>) {
    match changed {
        Ok(changed) => {
            if let Some(answer) = encoded(&ChangedReply {
                ok: true,
                message: &changed.stored,
            }) {
                reply.ok(answer);
            }
        }
        Err(error) => reply.error(error),
    }
}

/// A change to message `{room, id, …}` of a room the signed-in author can read; `kind`
/// reads the rest of the payload.
fn change_request(
    chat: &Chat,
    author: Option<&Identity>,
    payload: Option<&Value>,
    kind: impl FnOnce(&Identity, &Fields<'_>, &RoomName) -> Result<ChangeKind, ChatError>,
) -> Result<ChangeRequest, ChatError> {
    let who = signed_in(chat, author)?;
    let fields = Fields::of(payload)?;
    let room = fields.room()?;
    chat.check_read(Some(&who), &room)?;
    Ok(ChangeRequest {
        id: fields.message_id()?,
        kind: kind(&who, &fields, &room)?,
        room,
        by: who.username,
    })
}
