//! A client's connection to one namespace: what handlers receive and use to answer.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use thiserror::Error;
use tokio::sync::oneshot;

use super::namespace::Namespace;
use super::packet::{Packet, PacketType, encode_header, into_text};
use crate::engineio::{Frame, Session, TransportKind};

/// Why a socket left its namespace, as the official clients name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    TransportClose,
    TransportError,
    PingTimeout,
    ParseError,
    ServerNamespaceDisconnect,
    ClientNamespaceDisconnect,
    ServerShuttingDown,
    SlowConsumer,
}

impl DisconnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::SlowConsumer => "slow consumer",
        }
    }
}

/// Arguments of an event or an ack: JSON values where binary attachments are
/// represented by placeholders (see [`super::placeholder`]), and the attachments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    pub values: Vec<Value>,
    pub attachments: Vec<Bytes>,
}

impl Args {
    pub fn json(values: Vec<Value>) -> Args {
        Args {
            values,
            attachments: Vec::new(),
        }
    }

    /// Deserializes argument `index` into a type.
    pub fn get<T: DeserializeOwned>(&self, index: usize) -> Result<T, serde_json::Error> {
        T::deserialize(self.values.get(index).unwrap_or(&Value::Null))
    }
}

/// Everything of an outgoing event or ack except its arguments.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    kind: PacketType,
    namespace: &'a str,
    ack_id: Option<u64>,
    /// The event's name; None for an ack.
    event: Option<&'a str>,
}

impl<'a> Envelope<'a> {
    /// An event, with the id of the ack the client should send when there is one.
    pub fn event(namespace: &'a str, event: &'a str, ack_id: Option<u64>) -> Envelope<'a> {
        Envelope {
            kind: PacketType::Event,
            namespace,
            ack_id,
            event: Some(event),
        }
    }

    /// The answer to the client's event `ack_id`.
    pub fn ack(namespace: &'a str, ack_id: u64) -> Envelope<'a> {
        Envelope {
            kind: PacketType::Ack,
            namespace,
            ack_id: Some(ack_id),
            event: None,
        }
    }
}

/// What an event or an ack can carry: [`Args`], or one [`EncodedArg`].
pub trait Outgoing {
    /// Encodes these arguments in `envelope` into the frames to send.
    fn into_frames(self, envelope: Envelope<'_>) -> Vec<Frame>;
}

impl Outgoing for Args {
    fn into_frames(self, envelope: Envelope<'_>) -> Vec<Frame> {
        let mut values = self.values;
        if let Some(event) = envelope.event {
            values.insert(0, Value::String(event.to_owned()));
        }
        let binary_kind = match (envelope.kind, self.attachments.is_empty()) {
            (PacketType::Event, false) => PacketType::BinaryEvent,
            (PacketType::Ack, false) => PacketType::BinaryAck,
            (kind, _) => kind,
        };
        let mut packet = Packet::new(
            binary_kind,
            envelope.namespace,
            envelope.ack_id,
            Some(Value::Array(values)),
        );
        packet.attachments = self.attachments.len();
        let mut frames = Vec::with_capacity(1 + self.attachments.len());
        frames.push(Frame::text_message(&packet.encode()));
        frames.extend(self.attachments.into_iter().map(Frame::binary_message));
        frames
    }
}

/// A single JSON argument serialized straight from a typed value: no `Value` tree is
/// built, which matters for what the server sends most (a stored message, to every
/// member of a room and as the sender's ack).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedArg(String);

impl EncodedArg {
    pub fn of(value: &impl Serialize) -> Result<EncodedArg, serde_json::Error> {
        serde_json::to_string(value).map(EncodedArg)
    }
}

impl Outgoing for EncodedArg {
    fn into_frames(self, envelope: Envelope<'_>) -> Vec<Frame> {
        let mut out = Vec::with_capacity(self.0.len() + 32);
        encode_header(
            envelope.kind,
            envelope.namespace,
            0,
            envelope.ack_id,
            &mut out,
        );
        out.push(b'[');
        if let Some(event) = envelope.event {
            // Writing a str into memory cannot fail.
            let _ = serde_json::to_writer(&mut out, event);
            out.push(b',');
        }
        out.extend_from_slice(self.0.as_bytes());
        out.push(b']');
        vec![Frame::text_message(&into_text(out))]
    }
}

/// An event from a client, parsed: its name and arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub args: Args,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AckError {
    #[error("no acknowledgement within {0:?}")]
    Timeout(Duration),
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
}

pub struct Socket {
    id: String,
    namespace: Arc<Namespace>,
    session: Arc<Session>,
    rooms: Mutex<HashSet<Arc<str>>>,
    next_ack_id: AtomicU64,
    pending_acks: Mutex<HashMap<u64, oneshot::Sender<Args>>>,
    /// What the layer above keeps for this connection (the chat's limits), created on
    /// first use and dropped with the socket, so nothing has to be cleaned up.
    state: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl Socket {
    pub(super) fn new(namespace: Arc<Namespace>, session: Arc<Session>) -> Socket {
        Socket {
            id: super::random_id(),
            namespace,
            session,
            rooms: Mutex::new(HashSet::new()),
            next_ack_id: AtomicU64::new(0),
            pending_acks: Mutex::new(HashMap::new()),
            state: OnceLock::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn namespace(&self) -> &Arc<Namespace> {
        &self.namespace
    }

    /// The transport the client currently uses.
    pub fn transport(&self) -> TransportKind {
        self.session.transport()
    }

    /// The `Cookie` header of the request that opened the client's Engine.IO session.
    pub fn cookie(&self) -> Option<&str> {
        self.session.cookie()
    }

    /// The layer above's state for this socket, created by `init` on first use. `None`
    /// only if a value of another type was stored first.
    pub fn state<T: Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> Option<&T> {
        self.state.get_or_init(|| Box::new(init())).downcast_ref()
    }

    pub fn is_connected(&self) -> bool {
        self.namespace.socket(&self.id).is_some()
    }

    pub(super) fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Queues already-encoded frames for this client. False when the client is gone.
    pub(super) fn send_frames(&self, frames: &[Frame]) -> bool {
        self.session.send_frames(frames)
    }

    pub fn emit(&self, event: &str, args: impl Outgoing) -> bool {
        let frames = args.into_frames(Envelope::event(self.namespace.name(), event, None));
        self.send_frames(&frames)
    }

    /// Emits an event that the client should acknowledge, and waits for the answer.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: impl Outgoing,
        timeout: Duration,
    ) -> Result<Args, AckError> {
        let ack_id = self.next_ack_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = oneshot::channel();
        self.acks().insert(ack_id, sender);
        let frames = args.into_frames(Envelope::event(self.namespace.name(), event, Some(ack_id)));
        if !self.send_frames(&frames) {
            self.acks().remove(&ack_id);
            return Err(AckError::Disconnected);
        }
        let answer = tokio::time::timeout(timeout, receiver).await;
        self.acks().remove(&ack_id);
        match answer {
            Ok(Ok(args)) => Ok(args),
            Ok(Err(_)) => Err(AckError::Disconnected),
            Err(_) => Err(AckError::Timeout(timeout)),
        }
    }

    pub(super) fn resolve_ack(&self, ack_id: u64, args: Args) {
        if let Some(waiter) = self.acks().remove(&ack_id) {
            let _ = waiter.send(args);
        }
    }

    fn acks(&self) -> MutexGuard<'_, HashMap<u64, oneshot::Sender<Args>>> {
        self.pending_acks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn room_set(&self) -> MutexGuard<'_, HashSet<Arc<str>>> {
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn join(self: &Arc<Self>, room: &str) {
        self.namespace.join(self, room);
    }

    pub fn leave(self: &Arc<Self>, room: &str) {
        self.namespace.leave(self, room);
    }

    /// How many rooms the socket is in.
    pub fn room_count(&self) -> usize {
        self.room_set().len()
    }

    pub fn in_room(&self, room: &str) -> bool {
        self.room_set().contains(room)
    }

    /// Disconnects this socket from its namespace; the client is told so.
    pub fn disconnect(self: &Arc<Self>) {
        let packet = Packet::new(PacketType::Disconnect, self.namespace.name(), None, None);
        self.send_frames(&[Frame::text_message(&packet.encode())]);
        self.namespace
            .remove_socket(self, DisconnectReason::ServerNamespaceDisconnect);
    }

    pub(super) fn drop_pending_acks(&self) {
        self.acks().clear();
    }
}

/// Answers one event that asked for an acknowledgement. Dropping it unanswered is
/// allowed: the client's own ack timeout then applies.
pub struct AckResponder {
    socket: Arc<Socket>,
    ack_id: u64,
}

impl AckResponder {
    pub(super) fn new(socket: Arc<Socket>, ack_id: u64) -> AckResponder {
        AckResponder { socket, ack_id }
    }

    pub fn send(self, args: impl Outgoing) {
        let frames = args.into_frames(Envelope::ack(self.socket.namespace.name(), self.ack_id));
        self.socket.send_frames(&frames);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_encoded_argument_frames_like_the_same_json_value() {
        #[derive(Serialize)]
        struct Reply<'a> {
            ok: bool,
            text: &'a str,
        }
        let reply = Reply {
            ok: true,
            text: "quote \" and ünïcode",
        };
        let value = json!({"ok": true, "text": "quote \" and ünïcode"});
        let envelopes = [
            Envelope::event("/", "message", None),
            Envelope::event("/admin", "message", Some(12)),
            Envelope::ack("/", 7),
        ];
        for envelope in envelopes {
            let encoded = EncodedArg::of(&reply).unwrap().into_frames(envelope);
            let from_value = Args::json(vec![value.clone()]).into_frames(envelope);
            assert_eq!(encoded, from_value, "{envelope:?}");
        }
    }
}
