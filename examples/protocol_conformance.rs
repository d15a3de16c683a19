//! The server the official protocol test suites expect, built from Parley's own
//! Engine.IO and Socket.IO layers:
//!
//! - `/engine.io/`: a raw Engine.IO server that echoes every message back;
//! - `/socket.io/`: a Socket.IO server with namespaces `/` and `/custom` that emits
//!   `auth` with the handshake payload on connect, answers `message` with
//!   `message-back` and acknowledges `message-with-ack` with the same arguments.
//!
//! Both use pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000 and CORS `*`,
//! as the suites require. Parley's own tests use a few more events, documented at
//! [`test_events`].
//!
//! `cargo run --release --example protocol_conformance -- --port 3000`

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use parley::cors::CorsPolicy;
use parley::engineio::{CloseReason, Engine, EngineConfig, EngineHandler, Frame, Payload, Session};
use parley::server::{Router, accept_until, shutdown_signal};
use parley::socketio::{Args, Handlers, SocketIo};
use serde_json::Value;

#[derive(Parser)]
struct Options {
    /// Port on 127.0.0.1; 0 picks a free one (printed on startup).
    #[arg(long, default_value_t = 3000)]
    port: u16,
}

struct Echo;

impl EngineHandler for Echo {
    fn on_open(&self, _session: &Arc<Session>) {}

    fn on_message(&self, session: &Arc<Session>, payload: Payload) {
        session.send(match payload {
            Payload::Text(text) => Frame::text_message(&text),
            Payload::Binary(data) => Frame::binary_message(data),
        });
    }

    fn on_close(&self, _session: &Arc<Session>, _reason: CloseReason) {}
}

fn suite_handlers() -> Handlers {
    Handlers::default()
        .on_connect(|socket, auth| {
            socket.emit("auth", Args::json(vec![auth]));
        })
        .on("message", |socket, event, _ack| {
            socket.emit("message-back", event.args);
        })
        .on("message-with-ack", |_socket, event, ack| {
            if let Some(ack) = ack {
                ack.send(event.args);
            }
        })
}

/// Events used by Parley's own client tests, beyond what the suites need:
/// - `request-server-ack` X: the server emits `server-ack-request` X with an ack and
///   reports the client's answer as `server-ack-result`;
/// - `join-room` NAME: joins a room, acks `true`;
/// - `to-room` {room, data}: emits `room-message` data to the room except the
///   sender, acks `true`;
/// - `disconnect-me`: the server disconnects the socket from the namespace.
fn test_events(handlers: Handlers) -> Handlers {
    handlers
        .on("request-server-ack", |socket, event, _ack| {
            let socket = socket.clone();
            tokio::spawn(async move {
                let answer = socket
                    .emit_with_ack("server-ack-request", event.args, Duration::from_secs(5))
                    .await;
                if let Ok(answer) = answer {
                    socket.emit("server-ack-result", answer);
                }
            });
        })
        .on("join-room", |socket, event, ack| {
            if let Ok(room) = event.args.get::<String>(0) {
                socket.join(&room);
            }
            if let Some(ack) = ack {
                ack.send(Args::json(vec![Value::Bool(true)]));
            }
        })
        .on("to-room", |socket, event, ack| {
            let room = event
                .args
                .values
                .first()
                .and_then(|v| v.get("room"))
                .and_then(Value::as_str);
            let data = event
                .args
                .values
                .first()
                .and_then(|v| v.get("data"))
                .cloned();
            if let (Some(room), Some(data)) = (room, data) {
                socket.namespace().to(room).except(socket.id()).emit(
                    "room-message",
                    Args {
                        values: vec![data],
                        attachments: event.args.attachments,
                    },
                );
            }
            if let Some(ack) = ack {
                ack.send(Args::json(vec![Value::Bool(true)]));
            }
        })
        .on("disconnect-me", |socket, _event, _ack| socket.disconnect())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let options = Options::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let config = EngineConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        max_payload: 1_000_000,
        ..EngineConfig::default()
    };
    let echo = Engine::new(config.clone(), Arc::new(Echo));
    let io = SocketIo::new(
        vec![
            ("/", test_events(suite_handlers())),
            ("/custom", suite_handlers()),
        ],
        Duration::from_secs(1),
    );
    let socketio = Engine::new(config, io);
    let policy = Arc::new(CorsPolicy::AnyOrigin);

    let router: Router = Arc::new(move |request| {
        let echo = echo.clone();
        let socketio = socketio.clone();
        let policy = policy.clone();
        Box::pin(async move {
            let path = request.uri().path();
            if path.starts_with("/engine.io/") {
                parley::http::engine_endpoint(&echo, &policy, request).await
            } else if path.starts_with("/socket.io/") {
                parley::http::engine_endpoint(&socketio, &policy, request).await
            } else {
                parley::http::not_found()
            }
        })
    });

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
    println!("listening on {}", listener.local_addr()?);
    accept_until(listener, router, None, shutdown_signal()).await;
    Ok(())
}
