//! The chat service: its events (one handler each, in [`events`]), the same sending
//! path for the HTTP API, and error answers.
//!
//! A request enters from the Socket.IO layer (an event) or from `http.rs` (the REST
//! API), is parsed into a typed request ([`request`]), admitted under the connection's
//! limits ([`limits`]) and handed to the store. It comes back up only through the
//! store's completion: a message is acknowledged and broadcast only after the store
//! has flushed it, and completions run in the order messages were stored, so every
//! member of a room sees the room's messages in id order.

mod error;
mod events;
mod limits;
mod presence;
mod request;
mod team;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Serialize;
use serde_json::{Value, json};

pub use error::{ChatError, ChatStats, Refusal};
pub use limits::{ChatLimits, DEFAULT_BURST_PER_RATE, DEFAULT_RATE_PER_SECOND};
pub use presence::OFFLINE_GRACE;
pub use request::{
    DEFAULT_PAGE, Fields, HistoryRequest, MAX_PAGE, SearchRequest, SendRequest, page_limit,
};
pub use team::Team;

use crate::accounts::{Identity, Revocation};
use crate::error::ErrorCode;
use crate::files::Files;
use crate::model::{RoomName, Stored};
use crate::rooms::RoomChange;
use crate::search::{Hit, Scope, Search};
use crate::socketio::{AckResponder, Args, ConnectRefusal, EncodedArg, Namespace, Socket};
use crate::store::{Appended, ChangeRequest, Changed, NewMessage, Store};
use limits::{Admission, ClientBuckets, Connection};

/// An answer to a history request: `{messages}`, plus `rev` for a `since` request.
#[derive(Debug, Serialize)]
pub struct History {
    pub messages: Vec<Stored>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rev: Option<u64>,
}

pub struct Chat {
    store: Arc<Store>,
    /// Who may connect and their rooms, in accounts mode; None in open mode.
    team: Option<Team>,
    /// Where stored messages go to be found.
    search: Arc<Search>,
    /// The files messages carry.
    files: Arc<Files>,
    /// Deleted messages whose files are to be let go of, on a thread of their own
    /// (deletions complete on the store's thread, which must not wait for a disk).
    releases: std::sync::mpsc::Sender<(RoomName, u64)>,
    limits: ChatLimits,
    stats: ChatStats,
    /// Rate limits of HTTP API clients, by address.
    http_clients: ClientBuckets,
}

impl Chat {
    /// The chat on `store`, indexed by `search`; sockets must sign in when a `team`
    /// is given.
    pub fn new(
        store: Arc<Store>,
        search: Arc<Search>,
        files: Arc<Files>,
        limits: ChatLimits,
        team: Option<Team>,
    ) -> Arc<Chat> {
        Arc::new(Chat {
            store,
            search,
            releases: start_releasing(files.clone()),
            files,
            team,
            limits,
            stats: ChatStats::default(),
            http_clients: ClientBuckets::default(),
        })
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn search_index(&self) -> &Arc<Search> {
        &self.search
    }

    pub fn files(&self) -> &Arc<Files> {
        &self.files
    }

    pub fn stats(&self) -> &ChatStats {
        &self.stats
    }

    pub fn limits(&self) -> &ChatLimits {
        &self.limits
    }

    /// Stores a message, then broadcasts it to the room (unless it is a retry of one
    /// already stored) and calls `done` with the stored message. The one path for
    /// messages from sockets and from HTTP.
    pub fn send(
        self: &Arc<Self>,
        namespace: &Arc<Namespace>,
        request: SendRequest,
        done: impl FnOnce(Result<Appended, ChatError>) + Send + 'static,
    ) {
        let chat = self.clone();
        let namespace = namespace.clone();
        let new = NewMessage {
            room: request.room,
            sender: request.sender,
            user: request.user,
            text: request.text,
            client_id: request.client_id,
            reply_to: request.reply_to,
            mentions: request.mentions,
            files: request.files,
        };
        self.store.append_then(new, move |stored| {
            let result = stored.map_err(ChatError::from);
            match &result {
                Ok(appended) if !appended.duplicate => {
                    let message = &appended.message;
                    if let Some(team) = &chat.team {
                        team.rooms.record_message(message);
                    }
                    chat.search.feed(&Stored::Message(message.clone()));
                    let delivered = encoded(message).map_or(0, |arg| {
                        namespace.to(message.room.as_str()).emit("message", arg)
                    });
                    chat.stats
                        .deliveries
                        .fetch_add(delivered as u64, Ordering::Relaxed);
                    tracing::debug!(room = %message.room, sender = %message.sender, id = message.id, delivered, "message stored and sent to room");
                }
                Ok(appended) => {
                    tracing::debug!(room = %appended.message.room, id = appended.message.id, "retry of a stored message");
                }
                Err(error) => chat.report(error, "send_message"),
            }
            done(result);
        });
    }

    /// Changes a stored message, then tells the room (`message_updated` {message}, or
    /// `message_deleted` {room, id}) unless nothing changed, and calls `done` with the
    /// message as it now is. Like [`Chat::send`], the room hears of it only once it is
    /// durable.
    pub fn change(
        self: &Arc<Self>,
        namespace: &Arc<Namespace>,
        request: ChangeRequest,
        done: impl FnOnce(Result<Changed, ChatError>) + Send + 'static,
    ) {
        let chat = self.clone();
        let namespace = namespace.clone();
        self.store.change_then(request, move |changed| {
            if let Ok(Changed {
                stored,
                changed: true,
            }) = &changed
            {
                if let Some(team) = &chat.team {
                    team.rooms.record_change(stored);
                }
                chat.search.feed(stored);
                if let Stored::Deleted(tombstone) = stored {
                    chat.release_files(tombstone.room.clone(), tombstone.id);
                }
                let room = namespace.to(stored.room().as_str());
                let delivered = match stored {
                    Stored::Message(message) => encoded(&json!({"message": message}))
                        .map_or(0, |event| room.emit("message_updated", event)),
                    Stored::Deleted(tombstone) => room.emit(
                        "message_deleted",
                        Args::json(vec![json!({"room": tombstone.room, "id": tombstone.id})]),
                    ),
                };
                tracing::debug!(room = %stored.room(), id = stored.id(), delivered, "message changed");
            }
            done(changed.map_err(ChatError::from));
        });
    }

    /// Lets go of the files of a deleted message, off the store's thread.
    fn release_files(&self, room: RoomName, id: u64) {
        if self.releases.send((room, id)).is_err() {
            tracing::error!(
                id,
                "the files of a deleted message were kept: nothing releases files"
            );
        }
    }

    /// A page of the room, or with `since` what changed after that rev (with the
    /// room's latest rev).
    pub async fn history(&self, request: &HistoryRequest) -> Result<History, ChatError> {
        Ok(match request.since {
            None => History {
                messages: self.store.page(&request.room, request.query).await?,
                rev: None,
            },
            Some(since) => {
                let changes = self
                    .store
                    .changes_since(&request.room, since, request.query.limit)
                    .await?;
                History {
                    messages: changes.messages,
                    rev: Some(changes.rev),
                }
            }
        })
    }

    /// The messages `author` may read that match `request`, newest first (see
    /// [`Search::search`]).
    pub async fn search(
        &self,
        author: Option<&Identity>,
        request: SearchRequest,
    ) -> Result<Vec<Hit>, ChatError> {
        if let Some(room) = &request.room {
            self.check_read(author, room)?;
        }
        let hidden = match (&self.team, author) {
            (Some(team), Some(who)) => team.rooms.hidden_from(who),
            _ => HashSet::new(),
        };
        let scope = Scope {
            room: request.room,
            hidden,
        };
        let search = self.search.clone();
        tokio::task::spawn_blocking(move || search.search(&request.query, &scope))
            .await
            .map_err(|_| ChatError::Internal("a search was interrupted"))?
            .map_err(|error| {
                tracing::error!(%error, "search failed");
                ChatError::Internal("the search failed")
            })
    }

    /// Counts and logs a failed request.
    pub fn report(&self, error: &ChatError, event: &str) {
        self.stats.count_error(error.code());
        match error {
            ChatError::Store(source) => tracing::error!(event, error = %source, "request failed"),
            ChatError::Accounts(source) if source.code() == ErrorCode::Internal => {
                tracing::error!(event, error = %source, "request failed")
            }
            ChatError::Rooms(source) if source.code() == ErrorCode::Internal => {
                tracing::error!(event, error = %source, "request failed")
            }
            ChatError::Internal(what) => tracing::error!(event, what, "request failed"),
            other => {
                tracing::debug!(event, code = %other.code(), error = %other, "request rejected")
            }
        }
    }

    /// Whether an HTTP API request from `client` may go ahead under the rate limit.
    pub fn admit_http(&self, client: IpAddr) -> Result<(), ChatError> {
        match self.http_clients.admit(client, self.limits.rate) {
            Admission::Allowed => Ok(()),
            Admission::Refused | Admission::Flooding => {
                self.stats.count_refusal(Refusal::HttpRate);
                Err(ChatError::RateLimited)
            }
        }
    }

    /// The chat's state of a socket, created on its first event.
    fn connection<'s>(&self, socket: &'s Socket) -> Result<&'s Arc<Connection>, ChatError> {
        socket
            .state(|| Connection::new(self.limits.rate, None))
            .ok_or(ChatError::Internal("a socket holds another layer's state"))
    }

    /// Decides a socket's CONNECT: in accounts mode it must bring an API token
    /// (`auth: {token}`) or a session cookie on its handshake request.
    fn authorize(&self, socket: &Socket, auth: &Value) -> Result<(), ConnectRefusal> {
        let identity = match &self.team {
            None => None,
            Some(Team { accounts, .. }) => {
                let token = auth.get("token").and_then(Value::as_str);
                let identity = match token {
                    Some(token) => accounts.authenticate_token(token),
                    None => socket
                        .cookie()
                        .and_then(|cookie| accounts.authenticate_cookie(cookie)),
                };
                Some(identity.ok_or_else(|| ConnectRefusal {
                    message: ErrorCode::Unauthorized.as_str().to_owned(),
                })?)
            }
        };
        socket.state(|| Connection::new(self.limits.rate, identity));
        Ok(())
    }

    /// Disconnects the sockets that came in through a credential that no longer
    /// works (signed out, revoked) or belong to a deactivated user.
    pub fn disconnect_revoked(&self, namespace: &Namespace, revocation: &Revocation) {
        for socket in namespace.sockets() {
            let revoked = self
                .connection(&socket)
                .ok()
                .and_then(|connection| connection.identity.as_ref())
                .is_some_and(|identity| match revocation {
                    Revocation::Credential(key) => identity.credential == *key,
                    Revocation::User(username) => identity.username == *username,
                });
            if revoked {
                tracing::debug!(
                    socket = socket.id(),
                    "disconnecting a socket whose credential was revoked"
                );
                socket.disconnect();
            }
        }
    }

    /// Puts the socket in a room: in accounts mode as a member (if `author` may be
    /// one), in open mode unless that would put the socket in too many.
    /// The membership it made, if any, is the caller's to settle.
    fn join_room(
        &self,
        socket: &Arc<Socket>,
        author: Option<&Identity>,
        room: &RoomName,
    ) -> Result<Option<RoomChange>, ChatError> {
        if self.team.is_some() {
            let change = self.enter(socket.namespace(), author, room)?;
            socket.join(room.as_str());
            return Ok(change);
        }
        let max = self.limits.max_rooms_per_socket;
        if !socket.in_room(room.as_str()) && socket.room_count() >= max {
            return Err(ChatError::TooManyRooms(max));
        }
        socket.join(room.as_str());
        Ok(None)
    }

    /// Tells the sender its request failed: in the ack when it asked for one,
    /// otherwise as an `error` event to it alone.
    fn reply_error(
        &self,
        socket: &Socket,
        event: &str,
        ack: Option<AckResponder>,
        error: ChatError,
    ) {
        self.report(&error, event);
        match ack {
            Some(ack) => ack.send(Args::json(vec![
                json!({"ok": false, "error": error.to_json()}),
            ])),
            None => {
                let mut body = error.to_json();
                body["event"] = Value::String(event.to_owned());
                socket.emit("error", Args::json(vec![body]));
            }
        }
    }
}

/// Starts the thread that lets go of deleted messages' files; it ends with the chat.
fn start_releasing(files: Arc<Files>) -> std::sync::mpsc::Sender<(RoomName, u64)> {
    let (releases, queue) = std::sync::mpsc::channel::<(RoomName, u64)>();
    let started = std::thread::Builder::new()
        .name("parley-files".into())
        .spawn(move || {
            for (room, id) in queue {
                if let Err(error) = files.release(&room, id) {
                    tracing::error!(%room, id, %error, "the files of a deleted message could not be removed");
                }
            }
        });
    if let Err(error) = started {
        tracing::error!(%error, "cannot start the thread that removes deleted files");
    }
    releases
}

/// Serializes what the server sends most, straight from its type. Our types always
/// serialize; a failure is logged rather than sent.
fn encoded(value: &impl Serialize) -> Option<EncodedArg> {
    EncodedArg::of(value)
        .map_err(|error| tracing::error!(%error, "cannot encode an outgoing event"))
        .ok()
}
