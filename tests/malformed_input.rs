//! Malformed input (issue 6): truncated and oversized frames, invalid UTF-8, unknown
//! packet types, bogus sids, a second concurrent GET, binary attachment counts that
//! lie, deeply nested JSON, huge numbers, non-object payloads and wrong types, sent
//! over HTTP long-polling, WebSocket (tokio-tungstenite, and raw bytes over TCP) and
//! the REST API. Each must get the protocol's error (HTTP 400 with its code, 413) or a
//! clean close; the server stays up; and three official clients chatting in the
//! attacked room every 50 ms (tests/js/reconnect.mjs `chatter`) lose nothing, get
//! nothing twice and see nothing the attacks tried to store.

mod support;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use support::{Client, run_client_with_env, start_parley};

/// The room the well-behaved clients chat in, and every attack aims at.
const ROOM: &str = "malformed-target";
/// The server's max_payload for this test (its default).
const MAX_PAYLOAD: usize = 1_000_000;
/// Bound for any single answer.
const WAIT: Duration = Duration::from_secs(8);

// ------------------------------------------------------------------ raw HTTP

struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The Engine.IO error code of a 400 answer.
    fn engine_code(&self) -> Option<u64> {
        self.json().get("code").and_then(Value::as_u64)
    }

    /// The chat error code of a REST answer.
    fn chat_code(&self) -> Option<String> {
        self.json()
            .pointer("/error/code")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// Sends raw request bytes on a fresh connection and reads the answer to EOF.
async fn exchange(addr: &str, request: &[u8]) -> Result<Reply, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream
        .write_all(request)
        .await
        .map_err(|e| format!("write: {e}"))?;
    read_reply(&mut stream).await
}

async fn read_reply(stream: &mut TcpStream) -> Result<Reply, String> {
    let mut raw = Vec::new();
    match timeout(WAIT, stream.read_to_end(&mut raw)).await {
        Err(_) => return Err("no complete answer in time".into()),
        Ok(Err(e)) if raw.is_empty() => return Err(format!("read: {e}")),
        Ok(_) => {}
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no HTTP head in {:?}", String::from_utf8_lossy(&raw)))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    Ok(Reply {
        status,
        body: raw[split + 4..].to_vec(),
    })
}

fn request_bytes(method: &str, addr: &str, path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

async fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> Reply {
    let request = request_bytes(method, addr, path, "text/plain;charset=UTF-8", body);
    exchange(addr, &request)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

async fn healthy(addr: &str) {
    let reply = http(addr, "GET", "/healthz", b"").await;
    assert_eq!(
        reply.status,
        200,
        "the server is not healthy: {}",
        reply.text()
    );
}

// ------------------------------------------------------------------ Engine.IO sessions

/// One packet as a client sends it: text, or a binary attachment.
#[derive(Clone)]
enum Pkt {
    T(String),
    B(Vec<u8>),
}

fn t(text: impl Into<String>) -> Pkt {
    Pkt::T(text.into())
}

/// A Socket.IO connection over one transport, at the packet level.
enum Conn {
    Polling {
        addr: String,
        sid: String,
        /// A GET started before a POST, as the official clients keep one open.
        pending: Option<tokio::task::JoinHandle<Result<Reply, String>>>,
        /// A close packet arrived together with other packets, already returned.
        ended: bool,
    },
    Ws(Box<WebSocketStream<MaybeTlsStream<TcpStream>>>),
}

fn engine_path(sid: Option<&str>, transport: &str) -> String {
    match sid {
        Some(sid) => format!("/socket.io/?EIO=4&transport={transport}&sid={sid}"),
        None => format!("/socket.io/?EIO=4&transport={transport}"),
    }
}

impl Conn {
    /// Opens a session and connects it to the namespace `/`.
    async fn open(addr: &str, websocket: bool) -> Conn {
        let mut conn = if websocket {
            let url = format!("ws://{addr}{}", engine_path(None, "websocket"));
            let (ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(url))
                .await
                .expect("websocket connect in time")
                .expect("websocket connect");
            Conn::Ws(Box::new(ws))
        } else {
            let reply = http(addr, "GET", &engine_path(None, "polling"), b"").await;
            assert_eq!(reply.status, 200, "handshake: {}", reply.text());
            let text = reply.text();
            let open: Value = serde_json::from_str(text.trim_start_matches('0')).unwrap();
            Conn::Polling {
                addr: addr.to_owned(),
                sid: open["sid"].as_str().unwrap().to_owned(),
                pending: None,
                ended: false,
            }
        };
        if let Conn::Ws(_) = conn {
            let first = conn.recv_packets().await.expect("open packet");
            assert!(first.iter().any(|p| p.starts_with("0{")), "open: {first:?}");
        }
        conn.send(&[t("40")]).await;
        let deadline = Instant::now() + WAIT;
        loop {
            let packets = conn.recv_packets().await.expect("namespace connect answer");
            if packets.iter().any(|p| p.starts_with("40{")) {
                return conn;
            }
            assert!(Instant::now() < deadline, "no 40 answer: {packets:?}");
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Conn::Polling { .. } => "polling",
            Conn::Ws(_) => "websocket",
        }
    }

    /// Sends packets: one POST body over polling, one frame each over WebSocket.
    /// Returns the POST's answer (None over WebSocket).
    async fn send(&mut self, packets: &[Pkt]) -> Option<Reply> {
        match self {
            Conn::Polling { addr, sid, .. } => {
                let body = packets
                    .iter()
                    .map(|p| match p {
                        Pkt::T(text) => text.clone(),
                        Pkt::B(bytes) => format!("b{}", BASE64.encode(bytes)),
                    })
                    .collect::<Vec<_>>()
                    .join("\u{1e}");
                let path = engine_path(Some(sid), "polling");
                Some(http(addr, "POST", &path, body.as_bytes()).await)
            }
            Conn::Ws(ws) => {
                for p in packets {
                    let message = match p {
                        Pkt::T(text) => Message::text(text.clone()),
                        Pkt::B(bytes) => Message::binary(bytes.clone()),
                    };
                    // The server may already have closed on an earlier packet.
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
                None
            }
        }
    }

    /// The next packets from the server, or Err(why) when the session or connection
    /// has ended: a close packet, a 400 "Session ID unknown", a close frame, EOF.
    async fn recv_packets(&mut self) -> Result<Vec<String>, String> {
        match self {
            Conn::Polling {
                addr,
                sid,
                pending,
                ended,
            } => {
                if *ended {
                    return Err("close packet".into());
                }
                let reply = match pending.take() {
                    Some(get) => timeout(WAIT, get)
                        .await
                        .map_err(|_| "the pending GET got no answer".to_owned())?
                        .map_err(|e| e.to_string())??,
                    None => {
                        let path = engine_path(Some(sid), "polling");
                        let request = request_bytes("GET", addr, &path, "text/plain", b"");
                        exchange(addr, &request).await?
                    }
                };
                if reply.status == 400 && reply.engine_code() == Some(1) {
                    return Err("400 Session ID unknown".into());
                }
                if reply.status != 200 {
                    return Err(format!("GET answered {} {}", reply.status, reply.text()));
                }
                let mut packets: Vec<String> =
                    reply.text().split('\u{1e}').map(str::to_owned).collect();
                if packets.iter().any(|p| p == "1") {
                    packets.retain(|p| p != "1" && p != "6");
                    if packets.is_empty() {
                        return Err("close packet".into());
                    }
                    *ended = true;
                }
                Ok(packets)
            }
            Conn::Ws(ws) => match timeout(WAIT, ws.next()).await {
                Err(_) => Err("nothing within the wait".into()),
                Ok(None) => Err("connection ended".into()),
                Ok(Some(Err(e))) => Err(format!("connection error: {e}")),
                Ok(Some(Ok(Message::Close(frame)))) => Err(format!("close frame {frame:?}")),
                Ok(Some(Ok(Message::Text(text)))) if text.as_str() == "1" => {
                    Err("close packet".into())
                }
                Ok(Some(Ok(Message::Text(text)))) => Ok(vec![text.as_str().to_owned()]),
                Ok(Some(Ok(_))) => Ok(Vec::new()),
            },
        }
    }

    /// Over polling, starts a GET that waits in the background, as official clients
    /// always have one open; the next `recv_packets` takes its answer.
    async fn poll_in_background(&mut self) {
        if let Conn::Polling {
            addr, sid, pending, ..
        } = self
        {
            let path = engine_path(Some(sid), "polling");
            let request = request_bytes("GET", addr, &path, "text/plain", b"");
            let addr = addr.clone();
            *pending = Some(tokio::spawn(async move { exchange(&addr, &request).await }));
            // Let the GET reach the server before the POST does.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Answers a server ping so the heartbeat does not end a slow case.
    async fn pong_if_ping(&mut self, packets: &[String]) {
        if packets.iter().any(|p| p == "2") {
            self.send(&[t("3")]).await;
        }
    }

    /// Waits for the ack with `id`; returns its first argument. Err when the session
    /// ended first.
    async fn ack(&mut self, id: u64) -> Result<Value, String> {
        let prefix = format!("43{id}[");
        let deadline = Instant::now() + WAIT;
        loop {
            let packets = self.recv_packets().await?;
            self.pong_if_ping(&packets).await;
            if let Some(p) = packets.iter().find(|p| p.starts_with(&prefix)) {
                let args: Value = serde_json::from_str(&p[prefix.len() - 1..]).unwrap();
                return Ok(args[0].clone());
            }
            if Instant::now() > deadline {
                return Err(format!("no ack {id} in time"));
            }
        }
    }

    /// Waits for an `error` event; returns its payload.
    async fn error_event(&mut self) -> Result<Value, String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let packets = self.recv_packets().await?;
            self.pong_if_ping(&packets).await;
            if let Some(p) = packets.iter().find(|p| p.starts_with("42[\"error\"")) {
                let args: Value = serde_json::from_str(&p[2..]).unwrap();
                return Ok(args[1].clone());
            }
            if Instant::now() > deadline {
                return Err("no error event in time".into());
            }
        }
    }

    /// Asserts the server ended the session: a close packet / unknown sid over polling,
    /// a close frame or the end of the connection over WebSocket. Returns how.
    async fn closed(&mut self, what: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.recv_packets().await {
                Err(how) if how.starts_with("nothing within") => {
                    panic!("{} {what}: the session stayed open", self.name())
                }
                Err(how) => {
                    if let Conn::Ws(ws) = self {
                        // After the close packet the connection itself must end.
                        if how == "close packet" {
                            let end = timeout(WAIT, async {
                                while let Some(Ok(m)) = ws.next().await {
                                    if m.is_close() {
                                        break;
                                    }
                                }
                            });
                            assert!(
                                end.await.is_ok(),
                                "websocket {what}: close packet but the connection stayed open"
                            );
                        }
                    }
                    return how;
                }
                Ok(packets) => {
                    // A heartbeat ping means the session is alive and well.
                    assert!(
                        Instant::now() < deadline && !packets.iter().any(|p| p == "2"),
                        "{} {what}: the session stayed open, got {packets:?}",
                        self.name()
                    );
                }
            }
        }
    }
}

// ------------------------------------------------------------------ the attacks

enum Expect {
    /// The session is ended by the server.
    Closed,
    /// The ack `id` reports {ok:false, error:{code}}; the session lives on.
    AckError(u64, &'static str),
    /// The ack `id` reports {ok:true}.
    AckOk(u64),
    /// An `error` event {code, event} to the sender, no ack asked.
    ErrorEvent(&'static str),
    /// The ack `id` reports the error, then the session is closed.
    AckErrorThenClosed(u64, &'static str),
    /// The event with ack `.0` waits for an attachment that never comes: it must never
    /// be dispatched; the request `.1` after it is answered, or the session is closed.
    NeverDispatched(u64, u64),
}

fn event(ack: u64, name: &str, payload: &str) -> Pkt {
    t(format!("42{ack}[\"{name}\",{payload}]"))
}

fn nested(depth: usize, open: &str, close: &str) -> String {
    let mut text = String::with_capacity(depth * (open.len() + close.len()));
    text.push_str(&open.repeat(depth));
    text.push('1');
    text.push_str(&close.repeat(depth));
    text
}

const BIG: &str = "18446744073709551617"; // 2^64 + 1

/// Socket.IO-level attacks, the same over polling and WebSocket.
fn socketio_cases() -> Vec<(String, Vec<Pkt>, Expect)> {
    use Expect::*;
    let room = format!("\"room\":\"{ROOM}\"");
    let good = format!("{{{room},\"sender\":\"mallory\",\"text\":\"hi\"}}");
    let placeholder = |n: u64| format!("{{\"_placeholder\":true,\"num\":{n}}}");
    let with_text = |text: &str| format!("{{{room},\"sender\":\"mallory\",\"text\":{text}}}");
    let mut cases: Vec<(String, Vec<Pkt>, Expect)> = vec![
        // truncated and unknown packets
        (
            "truncated JSON".into(),
            vec![t(format!("42[\"send_message\",{{{room}"))],
            Closed,
        ),
        ("truncated binary header".into(), vec![t("451")], Closed),
        ("empty Socket.IO packet".into(), vec![t("4")], Closed),
        (
            "unknown Socket.IO type 7".into(),
            vec![t("47[\"x\"]")],
            Closed,
        ),
        (
            "CONNECT_ERROR from a client".into(),
            vec![t("44{\"message\":\"x\"}")],
            Closed,
        ),
        (
            "event data an object".into(),
            vec![t("42{\"a\":1}")],
            Closed,
        ),
        ("event without a name".into(), vec![t("42[]")], Closed),
        (
            "event name a number".into(),
            vec![t(format!("42[5,{good}]"))],
            Closed,
        ),
        ("ACK without an id".into(), vec![t("43[1]")], Closed),
        // huge numbers
        (
            "ack id 2^64+1".into(),
            vec![t(format!("42{BIG}[\"history\",{{{room}}}]"))],
            Closed,
        ),
        (
            "ack id of 16 digits".into(),
            vec![t(format!("421234567890123456[\"history\",{{{room}}}]"))],
            Closed,
        ),
        (
            "ack id of 15 digits".into(),
            vec![event(
                999_999_999_999_999,
                "history",
                &format!("{{{room},\"limit\":1}}"),
            )],
            AckOk(999_999_999_999_999),
        ),
        (
            "limit 1e400".into(),
            vec![event(1, "history", &format!("{{{room},\"limit\":1e400}}"))],
            Closed,
        ),
        (
            "limit 2^64+1".into(),
            vec![event(2, "history", &format!("{{{room},\"limit\":{BIG}}}"))],
            AckError(2, "invalid"),
        ),
        (
            "before 2^64+1".into(),
            vec![event(3, "history", &format!("{{{room},\"before\":{BIG}}}"))],
            AckError(3, "invalid"),
        ),
        (
            "after 2^64+1".into(),
            vec![event(4, "history", &format!("{{{room},\"after\":{BIG}}}"))],
            AckError(4, "invalid"),
        ),
        (
            "after -1".into(),
            vec![event(5, "history", &format!("{{{room},\"after\":-1}}"))],
            AckError(5, "invalid"),
        ),
        (
            "limit 1.5".into(),
            vec![event(6, "history", &format!("{{{room},\"limit\":1.5}}"))],
            AckError(6, "invalid"),
        ),
        (
            "limit a string".into(),
            vec![event(7, "history", &format!("{{{room},\"limit\":\"10\"}}"))],
            AckError(7, "invalid"),
        ),
        (
            "limit 0 (clamped)".into(),
            vec![event(8, "history", &format!("{{{room},\"limit\":0}}"))],
            AckOk(8),
        ),
        (
            "text 1e400".into(),
            vec![event(9, "send_message", &with_text("1e400"))],
            Closed,
        ),
        (
            "client_id 2^64+1".into(),
            vec![event(
                10,
                "send_message",
                &format!("{{{room},\"sender\":\"m\",\"text\":\"x\",\"client_id\":{BIG}}}"),
            )],
            AckError(10, "invalid"),
        ),
        // deeply nested JSON
        (
            "100k nested arrays".into(),
            vec![event(11, "send_message", &nested(100_000, "[", "]"))],
            Closed,
        ),
        (
            "100k nested objects".into(),
            vec![event(12, "send_message", &nested(100_000, "{\"a\":", "}"))],
            Closed,
        ),
        (
            "100k nested arrays as text".into(),
            vec![event(
                13,
                "send_message",
                &with_text(&nested(100_000, "[", "]")),
            )],
            Closed,
        ),
        (
            "100 nested arrays as text".into(),
            vec![event(
                14,
                "send_message",
                &with_text(&nested(100, "[", "]")),
            )],
            AckError(14, "invalid"),
        ),
        // wrong types and bad values
        (
            "room a number".into(),
            vec![event(
                15,
                "send_message",
                "{\"room\":5,\"sender\":\"m\",\"text\":\"x\"}",
            )],
            AckError(15, "invalid"),
        ),
        (
            "text an object".into(),
            vec![event(16, "send_message", &with_text("{\"a\":1}"))],
            AckError(16, "invalid"),
        ),
        (
            "sender an array".into(),
            vec![event(
                17,
                "send_message",
                &format!("{{{room},\"sender\":[\"m\"],\"text\":\"x\"}}"),
            )],
            AckError(17, "invalid"),
        ),
        (
            "typing a string".into(),
            vec![event(
                18,
                "typing",
                &format!("{{{room},\"sender\":\"m\",\"typing\":\"yes\"}}"),
            )],
            AckError(18, "invalid"),
        ),
        (
            "room with a NUL".into(),
            vec![event(
                19,
                "send_message",
                "{\"room\":\"malformed\\u0000target\",\"sender\":\"m\",\"text\":\"x\"}",
            )],
            AckError(19, "invalid"),
        ),
        (
            "sender with a NUL".into(),
            vec![event(
                20,
                "send_message",
                &format!("{{{room},\"sender\":\"m\\u0000\",\"text\":\"x\"}}"),
            )],
            AckError(20, "invalid"),
        ),
        (
            "text of 4001 chars".into(),
            vec![event(
                21,
                "send_message",
                &with_text(&format!("\"{}\"", "t".repeat(4001))),
            )],
            AckError(21, "too_large"),
        ),
        (
            "unknown event".into(),
            vec![event(22, "nope", "{}")],
            AckError(22, "invalid"),
        ),
        (
            "send_message without payload".into(),
            vec![t("4223[\"send_message\"]")],
            AckError(23, "invalid"),
        ),
        (
            "no ack, payload a number".into(),
            vec![t("42[\"send_message\",5]")],
            ErrorEvent("invalid"),
        ),
        // binary attachments that lie
        (
            "count 1, no placeholder".into(),
            vec![
                t(format!("451-24[\"send_message\",{good}]")),
                Pkt::B(vec![1]),
            ],
            Closed,
        ),
        (
            "placeholder 3 of 1".into(),
            vec![
                t(format!(
                    "451-25[\"send_message\",{}]",
                    with_text(&placeholder(3))
                )),
                Pkt::B(vec![1]),
            ],
            Closed,
        ),
        (
            "placeholder num a string".into(),
            vec![
                t(format!(
                    "451-26[\"send_message\",{}]",
                    with_text("{\"_placeholder\":true,\"num\":\"0\"}")
                )),
                Pkt::B(vec![1]),
            ],
            Closed,
        ),
        (
            "attachment count 65".into(),
            vec![t(format!("4565-27[\"send_message\",{good}]"))],
            Closed,
        ),
        (
            "attachment count 2^64+1".into(),
            vec![t(format!("45{BIG}-28[\"send_message\",{good}]"))],
            Closed,
        ),
        (
            "attachment without a packet".into(),
            vec![Pkt::B(vec![1, 2, 3])],
            Closed,
        ),
        (
            "one attachment more than announced".into(),
            vec![
                t(format!(
                    "451-29[\"send_message\",{}]",
                    with_text(&placeholder(0))
                )),
                Pkt::B(vec![1]),
                Pkt::B(vec![2]),
            ],
            AckErrorThenClosed(29, "invalid"),
        ),
        (
            "one attachment fewer than announced".into(),
            vec![
                t(format!(
                    "452-30[\"send_message\",{{{room},\"sender\":\"m\",\"text\":{},\"client_id\":{}}}]",
                    placeholder(0),
                    placeholder(1)
                )),
                Pkt::B(vec![1]),
                event(31, "history", &format!("{{{room},\"limit\":1}}")),
            ],
            NeverDispatched(30, 31),
        ),
    ];
    for (what, payload) in [
        ("a string", "\"just text\""),
        ("a number", "42"),
        ("null", "null"),
        ("an array", "[1,2]"),
        ("true", "true"),
    ] {
        for (i, name) in ["send_message", "join", "history", "typing", "leave"]
            .iter()
            .enumerate()
        {
            let id = 100 + i as u64;
            cases.push((
                format!("{name} payload {what}"),
                vec![event(id, name, payload)],
                AckError(id, "invalid"),
            ));
        }
    }
    cases
}

async fn run_case(
    addr: &str,
    websocket: bool,
    name: &str,
    packets: &[Pkt],
    expect: &Expect,
) -> String {
    let mut conn = Conn::open(addr, websocket).await;
    let transport = conn.name();
    let what = format!("{transport} {name}");
    conn.poll_in_background().await;
    let answer = conn.send(packets).await;
    if let Some(reply) = &answer {
        // A POST of well-formed Engine.IO packets is accepted even when the Socket.IO
        // packet inside is bad: the session is then closed.
        assert_eq!(
            reply.status,
            200,
            "{what}: POST answered {} {}",
            reply.status,
            reply.text()
        );
    }
    let check_ack = |ack: Result<Value, String>, code: Option<&str>| -> String {
        let ack = ack.unwrap_or_else(|e| panic!("{what}: no ack ({e})"));
        match code {
            None => assert_eq!(ack["ok"], Value::Bool(true), "{what}: {ack}"),
            Some(code) => {
                assert_eq!(ack["ok"], Value::Bool(false), "{what}: {ack}");
                assert_eq!(
                    ack.pointer("/error/code").and_then(Value::as_str),
                    Some(code),
                    "{what}: {ack}"
                );
                assert!(
                    ack.pointer("/error/message").is_some_and(Value::is_string),
                    "{what}: {ack}"
                );
            }
        }
        format!("ack {}", code.unwrap_or("ok"))
    };
    match expect {
        Expect::Closed => format!("closed ({})", conn.closed(&what).await),
        Expect::AckOk(id) => check_ack(conn.ack(*id).await, None),
        Expect::AckError(id, code) => {
            let outcome = check_ack(conn.ack(*id).await, Some(code));
            // The session is still usable after a refused request.
            let probe = event(
                7777,
                "history",
                &format!("{{\"room\":\"{ROOM}\",\"limit\":1}}"),
            );
            conn.send(&[probe]).await;
            check_ack(conn.ack(7777).await, None);
            outcome
        }
        Expect::ErrorEvent(code) => {
            let error = conn
                .error_event()
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(error["code"].as_str(), Some(*code), "{what}: {error}");
            assert_eq!(
                error["event"].as_str(),
                Some("send_message"),
                "{what}: {error}"
            );
            format!("error event {code}")
        }
        Expect::NeverDispatched(partial, probe) => {
            let (partial, probe) = (format!("43{partial}["), format!("43{probe}["));
            let deadline = Instant::now() + WAIT;
            loop {
                match conn.recv_packets().await {
                    Err(how) => break format!("closed ({how}), the incomplete event never ran"),
                    Ok(packets) => {
                        conn.pong_if_ping(&packets).await;
                        assert!(
                            !packets.iter().any(|p| p.starts_with(&partial)),
                            "{what}: an event missing an attachment was dispatched: {packets:?}"
                        );
                        if packets.iter().any(|p| p.starts_with(&probe)) {
                            break "the incomplete event never ran; the next request was answered"
                                .to_owned();
                        }
                        assert!(Instant::now() < deadline, "{what}: no answer");
                    }
                }
            }
        }
        Expect::AckErrorThenClosed(id, code) => {
            let outcome = check_ack(conn.ack(*id).await, Some(code));
            format!("{outcome}, then closed ({})", conn.closed(&what).await)
        }
    }
}

/// Attacks only polling can carry.
async fn polling_cases(addr: &str, log: &mut Vec<String>) {
    let mut note = |line: String| log.push(format!("polling   {line}"));
    let eio = |query: &str| format!("/socket.io/?{query}");

    // Bogus sids and bad queries: 400 with the protocol's code.
    for (what, method, query, code) in [
        (
            "unknown sid",
            "GET",
            "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA".to_owned(),
            1,
        ),
        (
            "unknown sid, POST",
            "POST",
            "EIO=4&transport=polling&sid=bogus".to_owned(),
            1,
        ),
        (
            "8 KB sid",
            "GET",
            format!("EIO=4&transport=polling&sid={}", "s".repeat(8192)),
            1,
        ),
        (
            "empty sid",
            "GET",
            "EIO=4&transport=polling&sid=".to_owned(),
            1,
        ),
        ("no EIO", "GET", "transport=polling".to_owned(), 5),
        ("EIO=3", "GET", "EIO=3&transport=polling".to_owned(), 5),
        (
            "EIO=2^64+1",
            "GET",
            format!("EIO={BIG}&transport=polling"),
            5,
        ),
        (
            "unknown transport",
            "GET",
            "EIO=4&transport=flash".to_owned(),
            0,
        ),
        (
            "handshake by POST",
            "POST",
            "EIO=4&transport=polling".to_owned(),
            2,
        ),
    ] {
        let reply = http(addr, method, &eio(&query), b"4x").await;
        assert_eq!(
            (reply.status, reply.engine_code()),
            (400, Some(code)),
            "{what}: {}",
            reply.text()
        );
        note(format!("{what}: 400 code {code}"));
    }

    // Bodies Engine.IO cannot decode: 400 code 3, and the session is over.
    for (what, body) in [
        ("invalid UTF-8 body", b"4\xff\xfe\xfd".to_vec()),
        ("unknown packet type 9", b"9hello".to_vec()),
        ("open packet from a client", b"0{}".to_vec()),
        ("empty record", b"4hi\x1e".to_vec()),
        ("bad base64 attachment", b"b!!!!".to_vec()),
        ("lone record separator", b"\x1e".to_vec()),
    ] {
        let mut conn = Conn::open(addr, false).await;
        let Conn::Polling { sid, .. } = &conn else {
            unreachable!()
        };
        let reply = http(addr, "POST", &engine_path(Some(sid), "polling"), &body).await;
        assert_eq!(
            (reply.status, reply.engine_code()),
            (400, Some(3)),
            "{what}: {}",
            reply.text()
        );
        let how = conn.closed(what).await;
        note(format!("{what}: 400 code 3, session closed ({how})"));
    }

    // Oversized body: 413, session closed.
    let mut conn = Conn::open(addr, false).await;
    let Conn::Polling { sid, .. } = &conn else {
        unreachable!()
    };
    let mut body = b"4".to_vec();
    body.resize(MAX_PAYLOAD + 1, b'a');
    let reply = http(addr, "POST", &engine_path(Some(sid), "polling"), &body).await;
    assert_eq!(
        reply.status,
        413,
        "oversized polling body: {}",
        reply.text()
    );
    let how = conn.closed("oversized body").await;
    note(format!(
        "body of max_payload+1 bytes: 413, session closed ({how})"
    ));

    // A body shorter than its Content-Length, then the client stops sending.
    let mut conn = Conn::open(addr, false).await;
    let Conn::Polling { sid, .. } = &conn else {
        unreachable!()
    };
    let path = engine_path(Some(sid), "polling");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 100\r\n\r\n4trunc"
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let outcome = match read_reply(&mut stream).await {
        Ok(reply) => {
            assert_eq!(reply.status, 400, "truncated body: {}", reply.text());
            "400".to_owned()
        }
        Err(e) => format!("connection dropped ({e})"),
    };
    let how = conn.closed("truncated body").await;
    note(format!(
        "body shorter than Content-Length: {outcome}, session closed ({how})"
    ));

    // A second concurrent GET: 400 code 3 for it, and the session ends, which also
    // answers the first GET at once.
    let mut conn = Conn::open(addr, false).await;
    let Conn::Polling { sid, .. } = &conn else {
        unreachable!()
    };
    let path = engine_path(Some(sid), "polling");
    let first = tokio::spawn({
        let (addr, path) = (addr.to_owned(), path.clone());
        async move {
            let started = Instant::now();
            let reply = http(&addr, "GET", &path, b"").await;
            (reply, started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = http(addr, "GET", &path, b"").await;
    assert_eq!(
        (second.status, second.engine_code()),
        (400, Some(3)),
        "second GET: {}",
        second.text()
    );
    let (first, took) = timeout(WAIT, first)
        .await
        .expect("first GET answered")
        .unwrap();
    assert!(
        first.status == 400 || first.text().split('\u{1e}').any(|p| p == "1" || p == "6"),
        "first GET after the conflict: {} {:?}",
        first.status,
        first.text()
    );
    let how = conn.closed("second GET").await;
    note(format!(
        "second concurrent GET: 400 code 3; the first GET answered {} {:?} after {} ms; session closed ({how})",
        first.status,
        first.text(),
        took.as_millis()
    ));

    // A method polling does not use.
    let conn = Conn::open(addr, false).await;
    let Conn::Polling { sid, .. } = &conn else {
        unreachable!()
    };
    let reply = http(addr, "PUT", &engine_path(Some(sid), "polling"), b"4x").await;
    assert_eq!(
        (reply.status, reply.engine_code()),
        (400, Some(3)),
        "PUT: {}",
        reply.text()
    );
    note("PUT on a session: 400 code 3".into());
}

/// A WebSocket after the HTTP upgrade, for writing frames byte by byte.
async fn raw_websocket(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        engine_path(None, "websocket")
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        timeout(WAIT, stream.read_exact(&mut byte))
            .await
            .unwrap()
            .unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// One WebSocket frame as a client writes it (masked unless told otherwise).
fn ws_frame(first_byte: u8, payload: &[u8], masked: bool, claimed_len: Option<usize>) -> Vec<u8> {
    let len = claimed_len.unwrap_or(payload.len());
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut out = vec![first_byte];
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len < 65536 {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let key = [0x12, 0x34, 0x56, 0x78];
    if masked {
        out.extend_from_slice(&key);
    }
    out.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, b)| if masked { b ^ key[i % 4] } else { *b }),
    );
    out
}

/// Reads until the server closes the TCP connection; Err if it is still open.
async fn server_hangs_up(stream: &mut TcpStream, within: Duration) -> Result<(), String> {
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return Err(format!("still open after {within:?}")),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Attacks only WebSocket can carry.
async fn websocket_cases(addr: &str, log: &mut Vec<String>) {
    let mut note = |line: String| log.push(format!("websocket {line}"));

    // Bogus sid: refused before the upgrade with 400 code 1.
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket&sid=bogus");
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or(b""))
                .unwrap_or(Value::Null);
            assert_eq!(body["code"], 1, "bogus sid over websocket: {body}");
            note("unknown sid: 400 code 1".into());
        }
        other => panic!("websocket with a bogus sid: {:?}", other.map(|_| ())),
    }

    // Frames tungstenite can still build.
    let oversized_text = "4".to_owned() + &"a".repeat(MAX_PAYLOAD);
    let frames: Vec<(&str, Vec<Message>)> = vec![
        (
            "invalid UTF-8 in a text frame",
            vec![Message::Frame(Frame::message(
                &b"42[\"x\xff\xfe\"]"[..],
                OpCode::Data(Data::Text),
                true,
            ))],
        ),
        ("empty text frame", vec![Message::text("")]),
        ("unknown Engine.IO type 9", vec![Message::text("9hello")]),
        ("open packet from a client", vec![Message::text("0{}")]),
        (
            "text frame of max_payload+1 bytes",
            vec![Message::text(oversized_text)],
        ),
        (
            "binary frame of max_payload+1 bytes",
            vec![Message::binary(vec![7u8; MAX_PAYLOAD + 1])],
        ),
        (
            "fragments adding up to more than max_payload",
            (0..11)
                .map(|i| {
                    let opcode = if i == 0 {
                        OpCode::Data(Data::Text)
                    } else {
                        OpCode::Data(Data::Continue)
                    };
                    Message::Frame(Frame::message(vec![b'a'; 100_000], opcode, i == 10))
                })
                .collect(),
        ),
    ];
    for (what, messages) in frames {
        let mut conn = Conn::open(addr, true).await;
        if let Conn::Ws(ws) = &mut conn {
            for message in messages {
                if ws.send(message).await.is_err() {
                    break;
                }
            }
        }
        let how = conn.closed(what).await;
        note(format!("{what}: closed ({how})"));
    }

    // Frames written byte by byte.
    let text = |p: &[u8]| ws_frame(0x81, p, true, None);
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        (
            "unmasked client frame",
            ws_frame(0x81, b"42[\"x\"]", false, None),
            false,
        ),
        ("reserved opcode 3", ws_frame(0x83, b"x", true, None), false),
        (
            "RSV1 set without an extension",
            ws_frame(0xC1, b"4x", true, None),
            false,
        ),
        (
            "ping of 200 bytes",
            ws_frame(0x89, &[0u8; 200], true, None),
            false,
        ),
        ("fragmented ping", ws_frame(0x09, b"x", true, None), false),
        (
            "continuation without a start",
            ws_frame(0x80, b"x", true, None),
            false,
        ),
        (
            "length 2^63",
            ws_frame(0x81, b"", true, Some(1 << 63)),
            false,
        ),
        (
            "frame cut off, then EOF",
            text(b"42[\"send_message\",{}]")[..12].to_vec(),
            true,
        ),
    ];
    for (what, bytes, then_eof) in cases {
        let mut stream = raw_websocket(addr).await;
        stream.write_all(&bytes).await.unwrap();
        if then_eof {
            stream.shutdown().await.unwrap();
        }
        server_hangs_up(&mut stream, WAIT)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        note(format!("{what}: connection closed"));
    }

    // A frame cut off mid-payload and the client goes quiet: no byte more will come,
    // so only the heartbeat can end it (pingInterval + pingTimeout = 2 s + 2 s here).
    let mut stream = raw_websocket(addr).await;
    let mut cut = ws_frame(0x81, &[b'4'; 1000], true, None);
    cut.truncate(300);
    stream.write_all(&cut).await.unwrap();
    let started = Instant::now();
    server_hangs_up(&mut stream, Duration::from_secs(12))
        .await
        .unwrap_or_else(|e| panic!("stalled half frame: {e}"));
    note(format!(
        "frame cut off mid-payload, client stalls: closed after {} ms",
        started.elapsed().as_millis()
    ));

    // Upgrading a session that is already on WebSocket, and a second upgrade of a
    // polling session while the first is in progress: the extra socket is closed.
    let mut conn = Conn::open(addr, false).await;
    let Conn::Polling { sid, .. } = &conn else {
        unreachable!()
    };
    let url = format!("ws://{addr}{}", engine_path(Some(sid), "websocket"));
    let (mut first, _) = tokio_tungstenite::connect_async(url.clone()).await.unwrap();
    first.send(Message::text("2probe")).await.unwrap();
    let probe = timeout(WAIT, first.next()).await.unwrap();
    assert!(
        matches!(&probe, Some(Ok(Message::Text(t))) if t.as_str() == "3probe"),
        "{probe:?}"
    );
    let second = tokio_tungstenite::connect_async(url.clone()).await;
    let outcome = match second {
        Err(e) => format!("refused ({e})"),
        Ok((mut ws, _)) => match timeout(WAIT, ws.next()).await {
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => {
                "closed after the handshake".into()
            }
            other => panic!("a second upgrade was accepted: {other:?}"),
        },
    };
    first.send(Message::text("5")).await.unwrap();
    let packets = conn.recv_packets().await;
    note(format!(
        "second upgrade during an upgrade: {outcome} (the polling GET got {packets:?})"
    ));
    first
        .send(Message::text(format!(
            "4211[\"history\",{{\"room\":\"{ROOM}\",\"limit\":1}}]"
        )))
        .await
        .unwrap();
    let mut upgraded = Conn::Ws(Box::new(first));
    let ack = upgraded
        .ack(11)
        .await
        .expect("the upgraded session still answers");
    assert_eq!(ack["ok"], true);
    let third = tokio_tungstenite::connect_async(url).await;
    let outcome = match third {
        Err(e) => format!("refused ({e})"),
        Ok((mut ws, _)) => match timeout(WAIT, ws.next()).await {
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => {
                "closed after the handshake".into()
            }
            other => panic!("an upgrade of an upgraded session was accepted: {other:?}"),
        },
    };
    note(format!(
        "upgrade of a session already on websocket: {outcome}"
    ));
}

/// Attacks on the REST API.
async fn rest_cases(addr: &str, log: &mut Vec<String>) {
    let path = format!("/api/rooms/{ROOM}/messages");
    let post = |body: Vec<u8>| {
        let path = path.clone();
        async move {
            let request = request_bytes("POST", addr, &path, "application/json", &body);
            exchange(addr, &request).await.unwrap()
        }
    };
    let mut oversized = b"{\"sender\":\"m\",\"text\":\"".to_vec();
    oversized.resize(MAX_PAYLOAD + 1, b'a');
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("body of max_payload+1 bytes", oversized, 413, "too_large"),
        (
            "invalid UTF-8",
            b"{\"sender\":\"m\",\"text\":\"\xff\xfe\"}".to_vec(),
            400,
            "invalid",
        ),
        (
            "truncated JSON",
            b"{\"sender\":\"m\",\"text\":\"x".to_vec(),
            400,
            "invalid",
        ),
        (
            "100k nested arrays",
            nested(100_000, "[", "]").into_bytes(),
            400,
            "invalid",
        ),
        (
            "100k nested objects",
            nested(100_000, "{\"a\":", "}").into_bytes(),
            400,
            "invalid",
        ),
        (
            "client_id 1e400",
            b"{\"sender\":\"m\",\"text\":\"x\",\"client_id\":1e400}".to_vec(),
            400,
            "invalid",
        ),
        (
            "client_id 2^64+1",
            format!("{{\"sender\":\"m\",\"text\":\"x\",\"client_id\":{BIG}}}").into_bytes(),
            400,
            "invalid",
        ),
        ("body an array", b"[1,2]".to_vec(), 400, "invalid"),
        ("body a string", b"\"text\"".to_vec(), 400, "invalid"),
        ("body null", b"null".to_vec(), 400, "invalid"),
        ("body a number", b"5".to_vec(), 400, "invalid"),
        ("empty body", Vec::new(), 400, "invalid"),
        (
            "text an object",
            b"{\"sender\":\"m\",\"text\":{\"a\":1}}".to_vec(),
            400,
            "invalid",
        ),
        (
            "sender a number",
            b"{\"sender\":1,\"text\":\"x\"}".to_vec(),
            400,
            "invalid",
        ),
    ];
    for (what, body, status, code) in cases {
        let reply = post(body).await;
        assert_eq!(
            (reply.status, reply.chat_code().as_deref()),
            (status, Some(code)),
            "POST {what}: {}",
            reply.text()
        );
        log.push(format!("rest      POST {what}: {status} {code}"));
    }
    for (what, query) in [
        ("after 2^64+1", format!("after={BIG}")),
        ("before 2^64+1", format!("before={BIG}")),
        ("limit 1e400", "limit=1e400".to_owned()),
        ("after -1", "after=-1".to_owned()),
        ("limit a word", "limit=ten".to_owned()),
    ] {
        let reply = http(addr, "GET", &format!("{path}?{query}"), b"").await;
        assert_eq!(
            (reply.status, reply.chat_code().as_deref()),
            (400, Some("invalid")),
            "GET {what}: {}",
            reply.text()
        );
        log.push(format!("rest      GET ?{query}: 400 invalid"));
    }
    for (what, room) in [
        ("NUL in the room", "a%00b"),
        ("invalid UTF-8 room", "a%FFb"),
        ("room of 129 chars", &"r".repeat(129)),
    ] {
        let reply = http(
            addr,
            "POST",
            &format!("/api/rooms/{room}/messages"),
            b"{\"sender\":\"m\",\"text\":\"x\"}",
        )
        .await;
        assert_eq!(
            (reply.status, reply.chat_code().as_deref()),
            (400, Some("invalid")),
            "POST {what}: {}",
            reply.text()
        );
        log.push(format!("rest      POST {what}: 400 invalid"));
    }
    // Not HTTP at all.
    let reply = exchange(addr, b"\x16\x03\x01\x02\x00garbage\r\n\r\n").await;
    let outcome = match reply {
        Ok(reply) => {
            assert!(reply.status >= 400, "garbage got {}", reply.status);
            format!("{}", reply.status)
        }
        Err(e) => format!("connection closed ({e})"),
    };
    log.push(format!("rest      bytes that are not HTTP: {outcome}"));
}

fn metric(addr: &str, name: &str) -> f64 {
    let reply = support::http(&format!("http://{addr}"), "GET", "/metrics", &[], b"");
    reply
        .body
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_errors_and_the_chat_goes_on() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("db");
    let server = start_parley(
        &dir,
        &[
            "--ping-interval",
            "2000",
            "--ping-timeout",
            "2000",
            "--log-level",
            "warn",
        ],
    );
    let url = server.url.clone();
    let addr = url.trim_start_matches("http://").to_owned();

    // The well-behaved clients, in the background.
    let ready = data.path().join("ready");
    let stop = data.path().join("stop");
    let chatter = std::thread::spawn({
        let (url, ready, stop) = (url.clone(), ready.clone(), stop.clone());
        move || {
            run_client_with_env(
                Client::Node,
                "reconnect.mjs",
                &[
                    &url,
                    "chatter",
                    ROOM,
                    ready.to_str().unwrap(),
                    stop.to_str().unwrap(),
                ],
                &[],
            )
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready.exists() {
        assert!(
            Instant::now() < deadline && !chatter.is_finished(),
            "the chatter did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let started = Instant::now();
    let mut log = Vec::new();
    for websocket in [false, true] {
        for (name, packets, expect) in socketio_cases() {
            let outcome = run_case(&addr, websocket, &name, &packets, &expect).await;
            log.push(format!(
                "{:<9} {name}: {outcome}",
                if websocket { "websocket" } else { "polling" }
            ));
        }
        healthy(&addr).await;
    }
    polling_cases(&addr, &mut log).await;
    healthy(&addr).await;
    websocket_cases(&addr, &mut log).await;
    healthy(&addr).await;
    rest_cases(&addr, &mut log).await;
    healthy(&addr).await;
    let attacks = started.elapsed();

    std::fs::write(&stop, "stop").unwrap();
    let out = tokio::task::spawn_blocking(move || chatter.join())
        .await
        .unwrap()
        .unwrap_or_else(|_| panic!("the well-behaved clients failed (see above)"));
    assert!(out.contains("ok chatter"), "{out}");
    let figures = out
        .lines()
        .find(|l| l.starts_with("figures"))
        .unwrap_or_default()
        .to_owned();
    let chatted: f64 = figures
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {figures:?}"));
    // Nothing the attacks sent was stored anywhere: only the chatter's messages are.
    let stored = metric(&addr, "parley_messages_stored");
    assert_eq!(stored, chatted, "messages stored besides the chatter's");
    healthy(&addr).await;

    for line in &log {
        println!("{line}");
    }
    println!(
        "{} attacks in {:.1} s; {figures}; parley_messages_stored {stored}",
        log.len(),
        attacks.as_secs_f64()
    );
    let status = server.terminate();
    assert!(
        status.success(),
        "parley did not stop cleanly after the attacks: {status}"
    );
}
