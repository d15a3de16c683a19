//! Socket.IO v5 server on top of [`crate::engineio`]: namespaces, sockets, events,
//! acknowledgements in both directions, binary attachments and rooms.
//!
//! Handlers are registered per namespace with [`Handlers`] before the server starts;
//! the chat layer is one such set of handlers.

mod namespace;
mod packet;
mod socket;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde_json::Value;

use crate::engineio::{CloseReason, EngineHandler, Frame, Payload, Session};
pub use namespace::{Broadcast, ConnectRefusal, Handlers, Namespace};
use packet::PartialBinary;
pub use packet::{Packet, PacketError, PacketType, placeholder};
pub use socket::{
    AckError, AckResponder, Args, DisconnectReason, EncodedArg, Envelope, Event, Outgoing, Socket,
};

pub(crate) fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 15]>())
}

/// One Engine.IO session as Socket.IO sees it: the namespaces it joined and a binary
/// packet that may be waiting for its attachments.
struct Client {
    sockets: HashMap<String, Arc<Socket>>,
    partial: Option<PartialBinary>,
}

pub struct SocketIo {
    me: Weak<SocketIo>,
    namespaces: HashMap<String, Arc<Namespace>>,
    clients: Mutex<HashMap<String, Client>>,
    connect_timeout: Duration,
}

impl SocketIo {
    /// `connect_timeout`: how long a new Engine.IO session may stay without joining
    /// any namespace before it is closed.
    pub fn new(namespaces: Vec<(&str, Handlers)>, connect_timeout: Duration) -> Arc<SocketIo> {
        let namespaces = namespaces
            .into_iter()
            .map(|(name, handlers)| {
                (
                    name.to_owned(),
                    Arc::new(Namespace::new(name.to_owned(), handlers)),
                )
            })
            .collect();
        Arc::new_cyclic(|me| SocketIo {
            me: me.clone(),
            namespaces,
            clients: Mutex::new(HashMap::new()),
            connect_timeout,
        })
    }

    pub fn namespace(&self, name: &str) -> Option<&Arc<Namespace>> {
        self.namespaces.get(name)
    }

    fn clients(&self) -> MutexGuard<'_, HashMap<String, Client>> {
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn handle_packet(&self, session: &Arc<Session>, packet: Packet, attachments: Vec<Bytes>) {
        match packet.kind {
            PacketType::Connect => self.connect(session, packet),
            PacketType::Disconnect => {
                let socket = self
                    .clients()
                    .get_mut(session.sid())
                    .and_then(|client| client.sockets.remove(&packet.namespace));
                if let Some(socket) = socket {
                    socket
                        .namespace()
                        .remove_socket(&socket, DisconnectReason::ClientNamespaceDisconnect);
                }
            }
            PacketType::Event | PacketType::BinaryEvent => {
                let Some(socket) = self.socket(session, &packet.namespace) else {
                    tracing::debug!(sid = session.sid(), "event for a namespace not joined");
                    return;
                };
                let Some(Value::Array(mut values)) = packet.data else {
                    return;
                };
                let Value::String(name) = values.remove(0) else {
                    return;
                };
                let event = Event {
                    name,
                    args: Args {
                        values,
                        attachments,
                    },
                };
                socket.namespace().dispatch(&socket, event, packet.ack_id);
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let (Some(socket), Some(ack_id), Some(Value::Array(values))) = (
                    self.socket(session, &packet.namespace),
                    packet.ack_id,
                    packet.data,
                ) else {
                    return;
                };
                socket.resolve_ack(
                    ack_id,
                    Args {
                        values,
                        attachments,
                    },
                );
            }
            PacketType::ConnectError => {}
        }
    }

    fn socket(&self, session: &Session, namespace: &str) -> Option<Arc<Socket>> {
        self.clients()
            .get(session.sid())
            .and_then(|client| client.sockets.get(namespace).cloned())
            .filter(|socket| socket.is_connected())
    }

    fn connect(&self, session: &Arc<Session>, packet: Packet) {
        let Some(namespace) = self.namespaces.get(&packet.namespace) else {
            return refuse_connect(session, &packet.namespace, "Invalid namespace");
        };
        let auth = packet
            .data
            .unwrap_or_else(|| Value::Object(Default::default()));
        let socket = Arc::new(Socket::new(namespace.clone(), session.clone()));
        if let Err(refusal) = namespace.authorize(&socket, &auth) {
            tracing::debug!(sid = session.sid(), reason = %refusal.message, "connect refused");
            return refuse_connect(session, &packet.namespace, &refusal.message);
        }
        {
            let mut clients = self.clients();
            let Some(client) = clients.get_mut(session.sid()) else {
                return;
            };
            if client
                .sockets
                .get(&packet.namespace)
                .is_some_and(|existing| existing.is_connected())
            {
                tracing::debug!(
                    sid = session.sid(),
                    "second connect to one namespace ignored"
                );
                return;
            }
            client
                .sockets
                .insert(packet.namespace.clone(), socket.clone());
        }
        let reply = Packet::new(
            PacketType::Connect,
            &packet.namespace,
            None,
            Some(serde_json::json!({"sid": socket.id()})),
        );
        socket.session().send(Frame::text_message(&reply.encode()));
        namespace.add_socket(&socket, auth);
    }

    /// Ends an Engine.IO session whose client broke the Socket.IO protocol. Its
    /// sockets leave with "parse error", as the reference server reports it, before
    /// the session closes (which then finds no sockets left to remove).
    fn reject(&self, session: &Session, error: &PacketError) {
        tracing::debug!(sid = session.sid(), %error, "socket.io parse error");
        let client = self.clients().remove(session.sid());
        if let Some(client) = client {
            for socket in client.sockets.values() {
                socket
                    .namespace()
                    .remove_socket(socket, DisconnectReason::ParseError);
            }
        }
        session.close(CloseReason::TransportError);
    }
}

/// Answers a CONNECT with CONNECT_ERROR `{"message": message}`; the session stays open
/// so the client may try again (with other credentials, say).
fn refuse_connect(session: &Session, namespace: &str, message: &str) {
    let error = Packet::new(
        PacketType::ConnectError,
        namespace,
        None,
        Some(serde_json::json!({ "message": message })),
    );
    session.send(Frame::text_message(&error.encode()));
}

fn disconnect_reason(reason: CloseReason) -> DisconnectReason {
    match reason {
        CloseReason::TransportClose => DisconnectReason::TransportClose,
        CloseReason::TransportError => DisconnectReason::TransportError,
        CloseReason::ServerClose => DisconnectReason::ServerNamespaceDisconnect,
        CloseReason::PingTimeout => DisconnectReason::PingTimeout,
        CloseReason::SlowConsumer => DisconnectReason::SlowConsumer,
        CloseReason::ServerShutdown => DisconnectReason::ServerShuttingDown,
    }
}

impl EngineHandler for SocketIo {
    fn on_open(&self, session: &Arc<Session>) {
        self.clients().insert(
            session.sid().to_owned(),
            Client {
                sockets: HashMap::new(),
                partial: None,
            },
        );
        let io = self.me.clone();
        let session = session.clone();
        let timeout = self.connect_timeout;
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(timeout) => {}
                _ = session.wait_closed() => return,
            }
            let idle = io.upgrade().is_some_and(|io| {
                io.clients()
                    .get(session.sid())
                    .is_some_and(|client| client.sockets.is_empty())
            });
            if idle {
                tracing::debug!(sid = session.sid(), "no namespace joined in time");
                session.close(CloseReason::ServerClose);
            }
        });
    }

    fn on_message(&self, session: &Arc<Session>, payload: Payload) {
        match payload {
            Payload::Text(text) => {
                let packet = match Packet::decode(&text) {
                    Ok(packet) => packet,
                    Err(error) => return self.reject(session, &error),
                };
                if packet.attachments > 0 {
                    if let Some(client) = self.clients().get_mut(session.sid()) {
                        client.partial = Some(PartialBinary::new(packet));
                    }
                    return;
                }
                self.handle_packet(session, packet, Vec::new());
            }
            Payload::Binary(data) => {
                let partial = self
                    .clients()
                    .get_mut(session.sid())
                    .and_then(|client| client.partial.take());
                let Some(partial) = partial else {
                    return self.reject(session, &PacketError::Placeholders);
                };
                match partial.push(data) {
                    Ok((packet, attachments)) => self.handle_packet(session, packet, attachments),
                    Err(partial) => {
                        if let Some(client) = self.clients().get_mut(session.sid()) {
                            client.partial = Some(partial);
                        }
                    }
                }
            }
        }
    }

    fn on_close(&self, session: &Arc<Session>, reason: CloseReason) {
        let Some(client) = self.clients().remove(session.sid()) else {
            return;
        };
        let reason = disconnect_reason(reason);
        for socket in client.sockets.values() {
            socket.namespace().remove_socket(socket, reason);
        }
    }
}
