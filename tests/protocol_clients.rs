//! The official Socket.IO clients (npm `socket.io-client`, PyPI `python-socketio`)
//! against Parley's protocol layers, over polling with upgrade, WebSocket only and
//! polling only: connect with auth, events, binary, acks both ways, rooms,
//! namespaces, server disconnect and reconnection.

mod support;

use support::{Client, ServerProcess, conformance_binary, run_client};

#[test]
fn javascript_client_over_every_transport() {
    let server = ServerProcess::start(&conformance_binary(), &["--port", "0"]);
    let out = run_client(Client::Node, "protocol.mjs", &[&server.url]);
    assert!(out.contains("ok "), "{out}");
}

#[test]
fn python_client_over_every_transport() {
    let server = ServerProcess::start(&conformance_binary(), &["--port", "0"]);
    let out = run_client(Client::Python, "protocol.py", &[&server.url]);
    assert!(out.contains("ok "), "{out}");
}
