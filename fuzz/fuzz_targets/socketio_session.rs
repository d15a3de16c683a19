//! The whole receive path of one client, through the public API: a long-polling body
//! is split into Engine.IO packets (`decode_text` per record, bad records skipped) and
//! every `message` goes to `SocketIo::on_message`, exactly as the transports do. That
//! covers `Packet::decode`, the reassembly of binary packets from the text packet and
//! the N binary attachments that follow it (the crate-private `PartialBinary`),
//! connect/disconnect, event dispatch and acks.
//!
//! Checks, besides "never panics":
//! - an event reaches its handler with exactly one placeholder per attachment;
//! - once the session is closed no task is left behind (no unbounded growth).
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use parley::engineio::{
    CloseReason, EngineHandler, Incoming, Payload, Session, TransportKind, decode_text,
};
use parley::socketio::{Args, Handlers, SocketIo};
use serde_json::Value;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime")
    })
}

/// The placeholder numbers in `value`, in no particular order.
fn placeholder_nums(value: &Value, out: &mut Vec<Option<u64>>) {
    match value {
        Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
            out.push(map.get("num").and_then(Value::as_u64));
        }
        Value::Object(map) => map.values().for_each(|v| placeholder_nums(v, out)),
        Value::Array(items) => items.iter().for_each(|v| placeholder_nums(v, out)),
        _ => {}
    }
}

fn check_attachments(args: &Args) {
    if args.attachments.is_empty() {
        return;
    }
    let mut nums = Vec::new();
    args.values.iter().for_each(|v| placeholder_nums(v, &mut nums));
    nums.sort();
    let expected: Vec<Option<u64>> = (0..args.attachments.len() as u64).map(Some).collect();
    assert_eq!(nums, expected, "placeholders do not match the attachments");
}

fn handlers() -> Handlers {
    Handlers::default()
        .on_connect(|socket, auth| {
            assert!(auth.is_object(), "auth must be an object, got {auth}");
            socket.join("room");
            // A server-initiated ack, so that the client's ack packets find a waiter.
            let socket = socket.clone();
            tokio::spawn(async move {
                let answer = socket
                    .emit_with_ack("hello", Args::json(vec![]), Duration::from_secs(3600))
                    .await;
                if let Ok(args) = answer {
                    check_attachments(&args);
                }
            });
        })
        .on("leave", |socket, _event, _ack| socket.leave("room"))
        .on("bye", |socket, _event, _ack| socket.disconnect())
        .on_unknown(|socket, event, ack| {
            check_attachments(&event.args);
            socket
                .namespace()
                .to("room")
                .except(socket.id())
                .emit(&event.name, event.args.clone());
            socket.emit(&event.name, event.args.clone());
            if let Some(ack) = ack {
                ack.send(event.args);
            }
        })
}

/// Lets the runtime run whatever the handlers spawned.
fn settle() {
    runtime().block_on(async {
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    });
}

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let rt = runtime();
    let _guard = rt.enter();

    let io = SocketIo::new(
        vec![("/", handlers()), ("/admin", handlers())],
        Duration::from_secs(3600),
    );
    let session = Arc::new(Session::new("fuzz".to_owned(), TransportKind::Polling, 256));
    io.on_open(&session);
    for record in body.split('\x1e') {
        if let Ok(Incoming::Message(payload)) = decode_text(record) {
            // Only a connect spawns anything (the server's own ack request), and it
            // must be running before the client's ack arrives. Driving the runtime
            // after every message would make each run several times slower.
            let connect = matches!(&payload, Payload::Text(text) if text.starts_with('0'));
            io.on_message(&session, payload);
            if connect {
                settle();
            }
        }
        if session.is_closed() {
            break;
        }
    }
    io.on_close(&session, CloseReason::TransportClose);
    session.close(CloseReason::TransportClose);

    // What the server queued in answer is not checked here: draining a session's
    // queue is internal to the Engine.IO transports, out of reach of this crate. The round trip of our encoder is checked by
    // the `socketio_packet` target instead.

    drop(io);
    settle();
    assert_eq!(rt.metrics().num_alive_tasks(), 0, "tasks left behind");
});
