//! The chat service: the `join`, `leave`, `send_message`, `typing` and `history`
//! events, the same sending path for the HTTP API, validation and error answers.
//!
//! A message is acknowledged and broadcast only after the store has flushed it. Both
//! happen in the store's completion, in the order messages were stored, so every
//! member of a room sees the room's messages in id order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::limits::{Admission, TokenBucket};
use crate::model::{ClientId, Message, MessageText, RoomName, SenderName, ValidationError};
use crate::socketio::{AckResponder, Args, EncodedArg, Event, Handlers, Namespace, Socket};
use crate::store::{Appended, NewMessage, PageQuery, Store, StoreError};

/// Messages returned by `join` and by a history request without a limit.
pub const DEFAULT_PAGE: usize = 50;
/// The most messages one history request returns.
pub const MAX_PAGE: usize = 200;

/// The wire error codes, in the order metrics list them.
pub const ERROR_CODES: [&str; 6] = [
    "invalid",
    "too_large",
    "not_joined",
    "rate_limited",
    "unavailable",
    "internal",
];

#[derive(Debug, Error)]
pub enum ChatError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    BadPayload(String),
    #[error("join room {0} first")]
    NotJoined(String),
    #[error("a connection may be in at most {0} rooms; leave one first")]
    TooManyRooms(usize),
    #[error("too many requests: slow down")]
    RateLimited,
    #[error("the server is busy, try again shortly")]
    Busy,
    #[error("the message store failed")]
    Store(#[source] StoreError),
}

impl From<StoreError> for ChatError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Busy => ChatError::Busy,
            other => ChatError::Store(other),
        }
    }
}

impl ChatError {
    pub fn code(&self) -> &'static str {
        match self {
            ChatError::Invalid(error) => error.code(),
            ChatError::BadPayload(_) => "invalid",
            ChatError::NotJoined(_) => "not_joined",
            ChatError::TooManyRooms(_) => "too_large",
            ChatError::RateLimited => "rate_limited",
            ChatError::Busy => "unavailable",
            ChatError::Store(_) => "internal",
        }
    }

    /// `{code, message}`, as sent to the client. Store failures are logged in full
    /// but described to the client only in general terms.
    pub fn to_json(&self) -> Value {
        json!({"code": self.code(), "message": self.to_string()})
    }
}

/// Counters the metrics endpoint reports.
#[derive(Default)]
pub struct ChatStats {
    /// Messages queued to sockets by broadcasts (one per recipient).
    pub deliveries: AtomicU64,
    /// Rejected requests, per entry of [`ERROR_CODES`].
    pub errors: [AtomicU64; ERROR_CODES.len()],
}

impl ChatStats {
    fn count_error(&self, error: &ChatError) {
        if let Some(index) = ERROR_CODES.iter().position(|code| *code == error.code()) {
            self.errors[index].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A `send_message` request (or an HTTP POST), validated.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub room: RoomName,
    pub sender: SenderName,
    pub text: MessageText,
    pub client_id: Option<ClientId>,
}

/// A history request, validated and with its limit capped.
#[derive(Debug, Clone)]
pub struct HistoryRequest {
    pub room: RoomName,
    pub query: PageQuery,
}

/// A JSON object received from a client, with field accessors that name the field in
/// their errors.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn of(payload: Option<&'a Value>) -> Result<Fields<'a>, ChatError> {
        match payload {
            Some(Value::Object(map)) => Ok(Fields(map)),
            _ => Err(ChatError::BadPayload(
                "the payload must be a JSON object".into(),
            )),
        }
    }

    fn string(&self, name: &str) -> Result<&'a str, ChatError> {
        match self.0.get(name) {
            Some(Value::String(text)) => Ok(text),
            None | Some(Value::Null) => Err(ChatError::BadPayload(format!("{name} is required"))),
            Some(_) => Err(ChatError::BadPayload(format!("{name} must be a string"))),
        }
    }

    fn optional_string(&self, name: &str) -> Result<Option<&'a str>, ChatError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.string(name).map(Some),
        }
    }

    fn optional_count(&self, name: &str) -> Result<Option<u64>, ChatError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or_else(|| {
                ChatError::BadPayload(format!("{name} must be a non-negative integer"))
            }),
        }
    }

    fn bool(&self, name: &str) -> Result<bool, ChatError> {
        match self.0.get(name) {
            Some(Value::Bool(flag)) => Ok(*flag),
            None | Some(Value::Null) => Err(ChatError::BadPayload(format!("{name} is required"))),
            Some(_) => Err(ChatError::BadPayload(format!(
                "{name} must be true or false"
            ))),
        }
    }

    fn room(&self) -> Result<RoomName, ChatError> {
        Ok(RoomName::parse(self.string("room")?)?)
    }

    /// The room named in the URL (HTTP requests), or else in the payload (events).
    fn room_or(&self, room_from_path: Option<&str>) -> Result<RoomName, ChatError> {
        match room_from_path {
            Some(room) => Ok(RoomName::parse(room)?),
            None => self.room(),
        }
    }
}

/// Caps a requested page size: absent means the default, 0 or more than the maximum
/// are clamped rather than refused.
pub fn page_limit(requested: Option<u64>) -> usize {
    requested.map_or(DEFAULT_PAGE, |limit| {
        usize::try_from(limit)
            .unwrap_or(MAX_PAGE)
            .clamp(1, MAX_PAGE)
    })
}

/// What one client may do.
#[derive(Debug, Clone)]
pub struct ChatLimits {
    pub max_text_chars: usize,
    /// Rooms one connection may be in at once.
    pub max_rooms_per_socket: usize,
    /// Events per second per connection, and the burst allowed; None for no limit.
    pub rate: Option<(u32, u32)>,
}

impl Default for ChatLimits {
    fn default() -> Self {
        ChatLimits {
            max_text_chars: crate::model::DEFAULT_MAX_TEXT_CHARS,
            max_rooms_per_socket: 100,
            rate: None,
        }
    }
}

pub struct Chat {
    store: Arc<Store>,
    limits: ChatLimits,
    stats: ChatStats,
    /// Token buckets of connected sockets, by socket id (only when rate limited).
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl Chat {
    pub fn new(store: Arc<Store>, limits: ChatLimits) -> Arc<Chat> {
        Arc::new(Chat {
            store,
            limits,
            stats: ChatStats::default(),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn stats(&self) -> &ChatStats {
        &self.stats
    }

    /// Validates a send request. `room` comes from the URL for HTTP requests and from
    /// the payload for socket events.
    pub fn parse_send(
        &self,
        payload: Option<&Value>,
        room_from_path: Option<&str>,
    ) -> Result<SendRequest, ChatError> {
        let fields = Fields::of(payload)?;
        let room = fields.room_or(room_from_path)?;
        Ok(SendRequest {
            room,
            sender: SenderName::parse(fields.string("sender")?)?,
            text: MessageText::parse(fields.string("text")?, self.limits.max_text_chars)?,
            client_id: fields
                .optional_string("client_id")?
                .map(ClientId::parse)
                .transpose()?,
        })
    }

    pub fn parse_history(
        &self,
        payload: Option<&Value>,
        room_from_path: Option<&str>,
    ) -> Result<HistoryRequest, ChatError> {
        let fields = Fields::of(payload)?;
        let room = fields.room_or(room_from_path)?;
        Ok(HistoryRequest {
            room,
            query: PageQuery {
                before: fields.optional_count("before")?,
                after: fields.optional_count("after")?,
                limit: page_limit(fields.optional_count("limit")?),
            },
        })
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
            text: request.text,
            client_id: request.client_id,
        };
        self.store.append_then(new, move |stored| {
            let result = stored.map_err(ChatError::from);
            match &result {
                Ok(appended) if !appended.duplicate => {
                    let message = &appended.message;
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

    pub async fn history(&self, request: &HistoryRequest) -> Result<Vec<Message>, ChatError> {
        self.store
            .page(&request.room, request.query)
            .await
            .map_err(ChatError::from)
    }

    /// Counts and logs a failed request.
    pub fn report(&self, error: &ChatError, event: &str) {
        self.stats.count_error(error);
        match error {
            ChatError::Store(source) => tracing::error!(event, error = %source, "request failed"),
            other => {
                tracing::debug!(event, code = other.code(), error = %other, "request rejected")
            }
        }
    }

    /// The Socket.IO handlers of the chat, for namespace `/`.
    pub fn handlers(self: &Arc<Self>) -> Handlers {
        let chat = self.clone();
        let departed = self.clone();
        Handlers::default()
            .on_unknown(move |socket, event, ack| chat.on_event(socket, event, ack))
            .on_disconnect(move |socket, _reason| {
                departed.buckets().remove(socket.id());
            })
    }

    fn buckets(&self) -> std::sync::MutexGuard<'_, HashMap<String, TokenBucket>> {
        self.buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the socket may make one more request now.
    fn admit(&self, socket: &Socket) -> Admission {
        let Some((per_second, burst)) = self.limits.rate else {
            return Admission::Allowed;
        };
        let now = Instant::now();
        self.buckets()
            .entry(socket.id().to_owned())
            .or_insert_with(|| TokenBucket::new(per_second, burst, now))
            .take(now)
    }

    /// Joins a room unless that would put the socket in too many.
    fn join_room(&self, socket: &Arc<Socket>, room: &RoomName) -> Result<(), ChatError> {
        let max = self.limits.max_rooms_per_socket;
        if !socket.in_room(room.as_str()) && socket.room_count() >= max {
            return Err(ChatError::TooManyRooms(max));
        }
        socket.join(room.as_str());
        Ok(())
    }

    fn on_event(self: &Arc<Self>, socket: &Arc<Socket>, event: Event, ack: Option<AckResponder>) {
        match self.admit(socket) {
            Admission::Allowed => {}
            Admission::Refused => {
                return self.reply_error(socket, &event.name, ack, ChatError::RateLimited);
            }
            Admission::Flooding => {
                // Refusing each event of a flood still costs the server as much as
                // serving it; a client that ignores `rate_limited` is disconnected
                // (official clients reconnect after their backoff).
                tracing::warn!(
                    transport = socket.transport().name(),
                    "disconnecting a client that ignores rate limiting"
                );
                self.reply_error(socket, &event.name, ack, ChatError::RateLimited);
                return socket.disconnect();
            }
        }
        match event.name.as_str() {
            "join" => self.on_join(socket, event, ack),
            "leave" => self.on_leave(socket, event, ack),
            "send_message" => self.on_send(socket, event, ack),
            "typing" => self.on_typing(socket, event, ack),
            "history" => self.on_history(socket, event, ack),
            _ => {
                let error = ChatError::BadPayload(format!("unknown event {:?}", event.name));
                self.reply_error(socket, &event.name, ack, error);
            }
        }
    }

    fn on_join(self: &Arc<Self>, socket: &Arc<Socket>, event: Event, ack: Option<AckResponder>) {
        let request = match self.parse_history(event.args.values.first(), None) {
            Ok(request) => request,
            Err(error) => return self.reply_error(socket, "join", ack, error),
        };
        if let Err(error) = self.join_room(socket, &request.room) {
            return self.reply_error(socket, "join", ack, error);
        }
        tracing::debug!(room = %request.room, transport = socket.transport().name(), "joined room");
        let Some(ack) = ack else {
            return;
        };
        let chat = self.clone();
        let socket = socket.clone();
        let last_page = HistoryRequest {
            room: request.room,
            query: PageQuery {
                before: None,
                after: None,
                limit: DEFAULT_PAGE,
            },
        };
        tokio::spawn(async move {
            match chat.history(&last_page).await {
                Ok(messages) => ack.send(Args::json(vec![json!({
                    "ok": true,
                    "room": last_page.room,
                    "messages": messages,
                })])),
                Err(error) => chat.reply_error(&socket, "join", Some(ack), error),
            }
        });
    }

    fn on_leave(&self, socket: &Arc<Socket>, event: Event, ack: Option<AckResponder>) {
        let room = Fields::of(event.args.values.first()).and_then(|fields| fields.room());
        match room {
            Ok(room) => {
                socket.leave(room.as_str());
                if let Some(ack) = ack {
                    ack.send(Args::json(vec![json!({"ok": true})]));
                }
            }
            Err(error) => self.reply_error(socket, "leave", ack, error),
        }
    }

    fn on_send(self: &Arc<Self>, socket: &Arc<Socket>, event: Event, ack: Option<AckResponder>) {
        let request = match self.parse_send(event.args.values.first(), None) {
            Ok(request) => request,
            Err(error) => return self.reply_error(socket, "send_message", ack, error),
        };
        // Sending to a room implies being in it, as in the original app: the sender
        // then also receives the room's next messages.
        if let Err(error) = self.join_room(socket, &request.room) {
            return self.reply_error(socket, "send_message", ack, error);
        }
        let chat = self.clone();
        let sender = socket.clone();
        self.send(socket.namespace(), request, move |result| match result {
            Ok(appended) => {
                let reply = SendReply {
                    ok: true,
                    message: &appended.message,
                };
                if let Some((ack, reply)) = ack.zip(encoded(&reply)) {
                    ack.send(reply);
                }
            }
            Err(error) => chat.reply_error(&sender, "send_message", ack, error),
        });
    }

    fn on_typing(&self, socket: &Arc<Socket>, event: Event, ack: Option<AckResponder>) {
        let parsed = Fields::of(event.args.values.first()).and_then(|fields| {
            Ok((
                fields.room()?,
                SenderName::parse(fields.string("sender")?)?,
                fields.bool("typing")?,
            ))
        });
        let (room, sender, typing) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => return self.reply_error(socket, "typing", ack, error),
        };
        if !socket.in_room(room.as_str()) {
            let error = ChatError::NotJoined(room.to_string());
            return self.reply_error(socket, "typing", ack, error);
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

    fn on_history(self: &Arc<Self>, socket: &Arc<Socket>, event: Event, ack: Option<AckResponder>) {
        let request = match self.parse_history(event.args.values.first(), None) {
            Ok(request) => request,
            Err(error) => return self.reply_error(socket, "history", ack, error),
        };
        let Some(ack) = ack else {
            return;
        };
        let chat = self.clone();
        let socket = socket.clone();
        tokio::spawn(async move {
            match chat.history(&request).await {
                Ok(messages) => {
                    ack.send(Args::json(vec![json!({"ok": true, "messages": messages})]))
                }
                Err(error) => chat.reply_error(&socket, "history", Some(ack), error),
            }
        });
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

/// The ack of a stored `send_message`.
#[derive(Serialize)]
struct SendReply<'a> {
    ok: bool,
    message: &'a Message,
}

/// Serializes what the server sends most, straight from its type. Our types always
/// serialize; a failure is logged rather than sent.
fn encoded(value: &impl Serialize) -> Option<EncodedArg> {
    EncodedArg::of(value)
        .map_err(|error| tracing::error!(%error, "cannot encode an outgoing event"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_limits_are_capped() {
        assert_eq!(page_limit(None), DEFAULT_PAGE);
        assert_eq!(page_limit(Some(0)), 1);
        assert_eq!(page_limit(Some(20)), 20);
        assert_eq!(page_limit(Some(10_000)), MAX_PAGE);
        assert_eq!(page_limit(Some(u64::MAX)), MAX_PAGE);
    }

    #[test]
    fn fields_name_what_is_wrong() {
        let payload = json!({"room": 5, "flag": "yes", "n": -1});
        let fields = Fields::of(Some(&payload)).unwrap();
        assert_eq!(
            fields.string("room").unwrap_err().to_string(),
            "room must be a string"
        );
        assert_eq!(
            fields.string("sender").unwrap_err().to_string(),
            "sender is required"
        );
        assert_eq!(
            fields.bool("flag").unwrap_err().to_string(),
            "flag must be true or false"
        );
        assert!(fields.optional_count("n").is_err());
        assert_eq!(fields.optional_count("missing").unwrap(), None);
        assert!(Fields::of(Some(&json!(["not", "an", "object"]))).is_err());
        assert!(Fields::of(None).is_err());
    }

    #[test]
    fn error_codes_follow_the_contract() {
        let too_long = MessageText::parse(&"x".repeat(11), 10).unwrap_err();
        assert_eq!(ChatError::from(too_long).code(), "too_large");
        assert_eq!(ChatError::BadPayload("x".into()).code(), "invalid");
        assert_eq!(ChatError::NotJoined("r".into()).code(), "not_joined");
        assert_eq!(ChatError::RateLimited.code(), "rate_limited");
        assert_eq!(ChatError::TooManyRooms(3).code(), "too_large");
        assert_eq!(ChatError::from(StoreError::Busy).code(), "unavailable");
        for code in [
            "invalid",
            "too_large",
            "not_joined",
            "unavailable",
            "internal",
        ] {
            assert!(ERROR_CODES.contains(&code));
        }
    }
}
