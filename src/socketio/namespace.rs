//! A namespace: its event handlers, its connected sockets and their rooms, and
//! broadcasting to rooms.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

use super::socket::{AckResponder, DisconnectReason, Envelope, Event, Outgoing, Socket};

type ConnectHandler = Arc<dyn Fn(&Arc<Socket>, Value) + Send + Sync>;
type Authorizer = Arc<dyn Fn(&Socket, &Value) -> Result<(), ConnectRefusal> + Send + Sync>;
type EventHandler = Arc<dyn Fn(&Arc<Socket>, Event, Option<AckResponder>) + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(&Arc<Socket>, DisconnectReason) + Send + Sync>;

/// Handlers of one namespace, registered before the server starts.
#[derive(Default, Clone)]
pub struct Handlers {
    authorize: Option<Authorizer>,
    on_connect: Option<ConnectHandler>,
    on_disconnect: Option<DisconnectHandler>,
    events: HashMap<String, EventHandler>,
    fallback: Option<EventHandler>,
}

/// Why a namespace refused a client's CONNECT; the client gets CONNECT_ERROR
/// `{"message": …}` (socket.io-client raises `connect_error` with that message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRefusal {
    pub message: String,
}

impl Handlers {
    /// Decides whether a CONNECT is accepted, from the socket (its handshake request's
    /// cookie) and the client's `auth` payload (an empty object when it sent none); it
    /// may attach the layer above's state to the socket. Runs before the client is told
    /// anything; without it every CONNECT is accepted.
    pub fn authorize(
        mut self,
        handler: impl Fn(&Socket, &Value) -> Result<(), ConnectRefusal> + Send + Sync + 'static,
    ) -> Self {
        self.authorize = Some(Arc::new(handler));
        self
    }

    /// Runs after the client has been told it is connected, with its `auth` payload
    /// (an empty object when it sent none).
    pub fn on_connect(
        mut self,
        handler: impl Fn(&Arc<Socket>, Value) + Send + Sync + 'static,
    ) -> Self {
        self.on_connect = Some(Arc::new(handler));
        self
    }

    pub fn on_disconnect(
        mut self,
        handler: impl Fn(&Arc<Socket>, DisconnectReason) + Send + Sync + 'static,
    ) -> Self {
        self.on_disconnect = Some(Arc::new(handler));
        self
    }

    /// Handles one named event. The handler runs on the connection's task, in the
    /// order events arrived; it must not block and spawns anything slow.
    pub fn on(
        mut self,
        event: &str,
        handler: impl Fn(&Arc<Socket>, Event, Option<AckResponder>) + Send + Sync + 'static,
    ) -> Self {
        self.events.insert(event.to_owned(), Arc::new(handler));
        self
    }

    /// Handles every event that has no handler of its own.
    pub fn on_unknown(
        mut self,
        handler: impl Fn(&Arc<Socket>, Event, Option<AckResponder>) + Send + Sync + 'static,
    ) -> Self {
        self.fallback = Some(Arc::new(handler));
        self
    }
}

/// Members of each room, by socket id.
type Rooms = HashMap<Arc<str>, HashMap<Arc<str>, Arc<Socket>>>;

pub struct Namespace {
    name: String,
    handlers: Handlers,
    sockets: RwLock<HashMap<Arc<str>, Arc<Socket>>>,
    rooms: RwLock<Rooms>,
}

impl Namespace {
    pub(super) fn new(name: String, handlers: Handlers) -> Namespace {
        Namespace {
            name,
            handlers,
            sockets: RwLock::new(HashMap::new()),
            rooms: RwLock::new(HashMap::new()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn socket(&self, id: &str) -> Option<Arc<Socket>> {
        read(&self.sockets).get(id).cloned()
    }

    /// The sockets connected now (a copy: they may leave while the caller looks).
    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        read(&self.sockets).values().cloned().collect()
    }

    pub fn socket_count(&self) -> usize {
        read(&self.sockets).len()
    }

    /// The sockets in `room` now (a copy).
    pub fn sockets_in(&self, room: &str) -> Vec<Arc<Socket>> {
        read(&self.rooms)
            .get(room)
            .map(|members| members.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn room_count(&self) -> usize {
        read(&self.rooms).len()
    }

    /// Asks the namespace's authorizer whether `socket` may connect with `auth`.
    pub(super) fn authorize(&self, socket: &Socket, auth: &Value) -> Result<(), ConnectRefusal> {
        match &self.handlers.authorize {
            Some(authorize) => authorize(socket, auth),
            None => Ok(()),
        }
    }

    pub(super) fn add_socket(&self, socket: &Arc<Socket>, auth: Value) {
        write(&self.sockets).insert(Arc::from(socket.id()), socket.clone());
        if let Some(handler) = &self.handlers.on_connect {
            handler(socket, auth);
        }
    }

    /// Takes the socket out of the namespace and all its rooms. Runs the disconnect
    /// handler once, however many times this is called.
    pub(super) fn remove_socket(&self, socket: &Arc<Socket>, reason: DisconnectReason) {
        if write(&self.sockets).remove(socket.id()).is_none() {
            return;
        }
        let rooms: Vec<Arc<str>> = socket.room_set().drain().collect();
        {
            let mut members = write(&self.rooms);
            for room in rooms {
                forget_member(&mut members, &room, socket.id());
            }
        }
        socket.drop_pending_acks();
        if let Some(handler) = &self.handlers.on_disconnect {
            handler(socket, reason);
        }
    }

    pub(super) fn dispatch(&self, socket: &Arc<Socket>, event: Event, ack_id: Option<u64>) {
        let ack = ack_id.map(|id| AckResponder::new(socket.clone(), id));
        let handler = self
            .handlers
            .events
            .get(&event.name)
            .or(self.handlers.fallback.as_ref());
        if let Some(handler) = handler {
            handler(socket, event, ack);
        }
    }

    pub(super) fn join(&self, socket: &Arc<Socket>, room: &str) {
        let room: Arc<str> = Arc::from(room);
        if !socket.room_set().insert(room.clone()) {
            return;
        }
        write(&self.rooms)
            .entry(room)
            .or_default()
            .insert(Arc::from(socket.id()), socket.clone());
    }

    pub(super) fn leave(&self, socket: &Arc<Socket>, room: &str) {
        if socket.room_set().remove(room) {
            forget_member(&mut write(&self.rooms), room, socket.id());
        }
    }

    /// Starts a broadcast to the sockets of one room.
    pub fn to(&self, room: &str) -> Broadcast<'_> {
        Broadcast {
            namespace: self,
            room: room.to_owned(),
            except: None,
        }
    }
}

fn forget_member(rooms: &mut Rooms, room: &str, socket_id: &str) {
    if let Some(members) = rooms.get_mut(room) {
        members.remove(socket_id);
        if members.is_empty() {
            rooms.remove(room);
        }
    }
}

/// A broadcast being addressed. The event is encoded once and the same frames are
/// queued for every recipient.
pub struct Broadcast<'a> {
    namespace: &'a Namespace,
    room: String,
    except: Option<String>,
}

impl Broadcast<'_> {
    /// Leaves one socket out, typically the sender.
    pub fn except(mut self, socket_id: &str) -> Self {
        self.except = Some(socket_id.to_owned());
        self
    }

    /// Sends the event; returns how many sockets it was queued for.
    pub fn emit(self, event: &str, args: impl Outgoing) -> usize {
        let frames = args.into_frames(Envelope::event(self.namespace.name(), event, None));
        let rooms = read(&self.namespace.rooms);
        let Some(members) = rooms.get(self.room.as_str()) else {
            return 0;
        };
        // Queueing only touches each recipient's own session; a recipient whose queue
        // overflows is closed there, and its departure from the room happens later on
        // another task, so holding the room lock here cannot deadlock.
        members
            .values()
            .filter(|socket| Some(socket.id()) != self.except.as_deref())
            .filter(|socket| socket.send_frames(&frames))
            .count()
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
