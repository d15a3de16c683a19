//! Parley: a self-hosted team chat in one executable.
//!
//! Layers call only downwards: [`engineio`] moves packets over HTTP long-polling and
//! WebSocket, [`socketio`] adds namespaces, events, acks and rooms on top of it.
//! [`http`] routes requests, [`server`] accepts connections, [`config`] gathers the
//! settings.

pub mod config;
pub mod cors;
pub mod engineio;
pub mod http;
pub mod server;
pub mod socketio;
