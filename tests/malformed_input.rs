//! Malformed input: truncated and oversized frames, invalid UTF-8, unknown packet
//! types, bogus sids, a second concurrent GET, binary attachment counts that lie,
//! deeply nested JSON, huge numbers, non-object payloads and wrong types, sent over
//! HTTP long-polling, WebSocket (tokio-tungstenite, and raw bytes over TCP) and the
//! REST API. Each must get the protocol's error (HTTP 400 with its code, 413) or a
//! clean close, and the server stays up (README "Tests").
//!
//! Every attack is a test of its own, so that one failure never hides the others: the
//! macros below turn each row of their tables into a `#[test]` named for what the
//! server must do. The attacks share one server, started by the first of them (a
//! start per attack would take a minute), each on connections of its own; three
//! official clients chat in the attacked room every 50 ms all the while
//! (tests/js/reconnect.mjs `chatter`). The last test checks that they lost nothing,
//! got nothing twice and saw nothing the attacks tried to store, and that the server
//! then stops cleanly.

mod support;

use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
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

use support::{Client, Script, SharedParley};

/// The room the well-behaved clients chat in, and every attack aims at.
const ROOM: &str = "malformed-target";
/// The server's max_payload for this test (its default).
const MAX_PAYLOAD: usize = 1_000_000;
/// Bound for any single answer.
const WAIT: Duration = Duration::from_secs(8);
/// 2^64 + 1: more than any unsigned 64-bit field can hold.
const BIG: &str = "18446744073709551617";

// ------------------------------------------------------------------ the shared target

/// The server every attack aims at, with the chatter in its room.
struct Target {
    addr: String,
    /// Both end in the last test, [`when_the_attacks_are_over_the_chat_has_lost_nothing`].
    alive: Mutex<Option<(SharedParley, Script)>>,
    attacks: Mutex<Attacks>,
    started: Instant,
}

/// What the last test waits for.
#[derive(Default)]
struct Attacks {
    under_way: usize,
    done: usize,
    last_done: Option<Instant>,
}

/// An attack is under way until this drops, whether it passed or panicked.
struct UnderWay(&'static Target);

/// A panic in one test must not poison a lock for the others.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Target {
    fn get() -> &'static Target {
        static TARGET: LazyLock<Target> = LazyLock::new(Target::start);
        &TARGET
    }

    fn start() -> Target {
        // Heartbeats 2 s + 2 s apart, so that a stalled client is dropped quickly.
        let server = SharedParley::start(&[
            "--ping-interval",
            "2000",
            "--ping-timeout",
            "2000",
            "--log-level",
            "warn",
        ]);
        let mut chatter = Script::spawn(
            Client::Node,
            "reconnect.mjs",
            &[server.url(), "chatter", ROOM],
            &[],
        );
        chatter.wait_for("ready", Duration::from_secs(30));
        Target {
            addr: server.url().trim_start_matches("http://").to_owned(),
            alive: Mutex::new(Some((server, chatter))),
            attacks: Mutex::default(),
            started: Instant::now(),
        }
    }

    fn attack(&'static self) -> UnderWay {
        assert!(
            lock(&self.alive).is_some(),
            "the shared server was already stopped by the last test; libtest runs the \
             tests in name order, so an attack must sort before it"
        );
        lock(&self.attacks).under_way += 1;
        UnderWay(self)
    }

    /// Waits (bounded) until no attack is under way and none has ended for a moment
    /// (another test thread may be about to start one); returns how many were done.
    fn wait_for_the_attacks(&self) -> usize {
        const QUIET: Duration = Duration::from_millis(300);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            {
                let attacks = lock(&self.attacks);
                let quiet_since = attacks.last_done.unwrap_or(self.started);
                if attacks.under_way == 0 && quiet_since.elapsed() >= QUIET {
                    return attacks.done;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the attacks did not end within 120 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for UnderWay {
    fn drop(&mut self) {
        let mut attacks = lock(&self.0.attacks);
        attacks.under_way -= 1;
        attacks.done += 1;
        attacks.last_done = Some(Instant::now());
    }
}

/// One attack as its own test: `$outcome` runs it against the shared server (at
/// `$addr`) and says what happened; the server must still be healthy afterwards.
macro_rules! attack {
    ($name:ident, |$addr:ident| $outcome:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let target = Target::get();
            let _under_way = target.attack();
            let $addr: &str = &target.addr;
            let outcome: String = $outcome;
            println!("{}::{}: {outcome}", module_path!(), stringify!($name));
            healthy($addr).await;
        }
    };
}

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

    /// This session's URL path for `transport`; only a session opened over polling
    /// knows its sid.
    fn session_path(&self, transport: &str) -> String {
        match self {
            Conn::Polling { sid, .. } => engine_path(Some(sid), transport),
            Conn::Ws(_) => panic!("a session opened over websocket has no sid here"),
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

// ------------------------------------------------------------------ Socket.IO attacks

/// What the server must do with a Socket.IO-level attack.
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

/// A payload object in the attacked room: `fields` follow the room, comma first.
fn in_room(fields: &str) -> String {
    format!("{{\"room\":\"{ROOM}\"{fields}}}")
}

/// A message that would be stored, were it not for what the attack wraps it in.
fn good() -> String {
    in_room(",\"sender\":\"mallory\",\"text\":\"hi\"")
}

fn with_text(text: &str) -> String {
    in_room(&format!(",\"sender\":\"mallory\",\"text\":{text}"))
}

fn placeholder(n: u64) -> String {
    format!("{{\"_placeholder\":true,\"num\":{n}}}")
}

fn nested(depth: usize, open: &str, close: &str) -> String {
    let mut text = String::with_capacity(depth * (open.len() + close.len()));
    text.push_str(&open.repeat(depth));
    text.push('1');
    text.push_str(&close.repeat(depth));
    text
}

/// Opens a session over polling or WebSocket, sends `packets` and checks the server
/// does what `expect` says; returns what happened.
async fn socketio_attack(addr: &str, websocket: bool, packets: &[Pkt], expect: Expect) -> String {
    let mut conn = Conn::open(addr, websocket).await;
    let what = conn.name();
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
        Expect::Closed => format!("closed ({})", conn.closed(what).await),
        Expect::AckOk(id) => check_ack(conn.ack(id).await, None),
        Expect::AckError(id, code) => {
            let outcome = check_ack(conn.ack(id).await, Some(code));
            // The session is still usable after a refused request.
            conn.send(&[event(7777, "history", &in_room(",\"limit\":1"))])
                .await;
            check_ack(conn.ack(7777).await, None);
            outcome
        }
        Expect::ErrorEvent(code) => {
            let error = conn
                .error_event()
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(error["code"].as_str(), Some(code), "{what}: {error}");
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
            let outcome = check_ack(conn.ack(id).await, Some(code));
            format!("{outcome}, then closed ({})", conn.closed(what).await)
        }
    }
}

/// Socket.IO-level attacks, each a module with a test over polling and one over
/// WebSocket: `name: [packets] => what the server must do;`.
macro_rules! socketio_attacks {
    ($($name:ident: [$($packet:expr),+ $(,)?] => $expect:expr;)+) => {$(
        mod $name {
            use super::*;
            attack!(over_polling, |addr| {
                socketio_attack(addr, false, &[$($packet),+], $expect).await
            });
            attack!(over_websocket, |addr| {
                socketio_attack(addr, true, &[$($packet),+], $expect).await
            });
        }
    )+};
}

mod socketio {
    use super::Expect::*;
    use super::*;

    socketio_attacks! {
        // truncated and unknown packets
        truncated_json_ends_the_session:
            [t(format!("42[\"send_message\",{{\"room\":\"{ROOM}\""))] => Closed;
        a_truncated_binary_header_ends_the_session: [t("451")] => Closed;
        an_empty_packet_ends_the_session: [t("4")] => Closed;
        unknown_packet_type_7_ends_the_session: [t("47[\"x\"]")] => Closed;
        connect_error_from_a_client_ends_the_session: [t("44{\"message\":\"x\"}")] => Closed;
        event_data_that_is_an_object_ends_the_session: [t("42{\"a\":1}")] => Closed;
        an_event_without_a_name_ends_the_session: [t("42[]")] => Closed;
        an_event_name_that_is_a_number_ends_the_session: [t(format!("42[5,{}]", good()))] => Closed;
        an_ack_without_an_id_ends_the_session: [t("43[1]")] => Closed;
        // huge numbers
        an_ack_id_of_2_pow_64_plus_1_ends_the_session:
            [t(format!("42{BIG}[\"history\",{}]", in_room("")))] => Closed;
        an_ack_id_of_16_digits_ends_the_session:
            [t(format!("421234567890123456[\"history\",{}]", in_room("")))] => Closed;
        an_ack_id_of_15_digits_is_answered:
            [event(999_999_999_999_999, "history", &in_room(",\"limit\":1"))]
            => AckOk(999_999_999_999_999);
        limit_1e400_ends_the_session:
            [event(1, "history", &in_room(",\"limit\":1e400"))] => Closed;
        limit_2_pow_64_plus_1_is_invalid:
            [event(2, "history", &in_room(&format!(",\"limit\":{BIG}")))] => AckError(2, "invalid");
        before_2_pow_64_plus_1_is_invalid:
            [event(3, "history", &in_room(&format!(",\"before\":{BIG}")))] => AckError(3, "invalid");
        after_2_pow_64_plus_1_is_invalid:
            [event(4, "history", &in_room(&format!(",\"after\":{BIG}")))] => AckError(4, "invalid");
        after_minus_1_is_invalid:
            [event(5, "history", &in_room(",\"after\":-1"))] => AckError(5, "invalid");
        limit_1_5_is_invalid:
            [event(6, "history", &in_room(",\"limit\":1.5"))] => AckError(6, "invalid");
        limit_a_string_is_invalid:
            [event(7, "history", &in_room(",\"limit\":\"10\""))] => AckError(7, "invalid");
        limit_0_is_clamped_and_answered:
            [event(8, "history", &in_room(",\"limit\":0"))] => AckOk(8);
        text_1e400_ends_the_session:
            [event(9, "send_message", &with_text("1e400"))] => Closed;
        client_id_2_pow_64_plus_1_is_invalid:
            [event(
                10,
                "send_message",
                &in_room(&format!(",\"sender\":\"m\",\"text\":\"x\",\"client_id\":{BIG}")),
            )] => AckError(10, "invalid");
        // deeply nested JSON
        arrays_nested_100k_deep_end_the_session:
            [event(11, "send_message", &nested(100_000, "[", "]"))] => Closed;
        objects_nested_100k_deep_end_the_session:
            [event(12, "send_message", &nested(100_000, "{\"a\":", "}"))] => Closed;
        a_text_of_arrays_nested_100k_deep_ends_the_session:
            [event(13, "send_message", &with_text(&nested(100_000, "[", "]")))] => Closed;
        a_text_of_arrays_nested_100_deep_is_invalid:
            [event(14, "send_message", &with_text(&nested(100, "[", "]")))]
            => AckError(14, "invalid");
        // wrong types and bad values
        a_room_that_is_a_number_is_invalid:
            [event(15, "send_message", "{\"room\":5,\"sender\":\"m\",\"text\":\"x\"}")]
            => AckError(15, "invalid");
        a_text_that_is_an_object_is_invalid:
            [event(16, "send_message", &with_text("{\"a\":1}"))] => AckError(16, "invalid");
        a_sender_that_is_an_array_is_invalid:
            [event(17, "send_message", &in_room(",\"sender\":[\"m\"],\"text\":\"x\""))]
            => AckError(17, "invalid");
        typing_that_is_a_string_is_invalid:
            [event(18, "typing", &in_room(",\"sender\":\"m\",\"typing\":\"yes\""))]
            => AckError(18, "invalid");
        a_nul_in_the_room_is_invalid:
            [event(
                19,
                "send_message",
                "{\"room\":\"malformed\\u0000target\",\"sender\":\"m\",\"text\":\"x\"}",
            )] => AckError(19, "invalid");
        a_nul_in_the_sender_is_invalid:
            [event(20, "send_message", &in_room(",\"sender\":\"m\\u0000\",\"text\":\"x\""))]
            => AckError(20, "invalid");
        a_text_of_4001_chars_is_too_large:
            [event(21, "send_message", &with_text(&format!("\"{}\"", "t".repeat(4001))))]
            => AckError(21, "too_large");
        an_unknown_event_is_invalid: [event(22, "nope", "{}")] => AckError(22, "invalid");
        send_message_without_a_payload_is_invalid:
            [t("4223[\"send_message\"]")] => AckError(23, "invalid");
        a_number_payload_without_an_ack_gets_an_error_event:
            [t("42[\"send_message\",5]")] => ErrorEvent("invalid");
        // binary attachments that lie
        one_attachment_but_no_placeholder_ends_the_session:
            [t(format!("451-24[\"send_message\",{}]", good())), Pkt::B(vec![1])] => Closed;
        placeholder_3_of_1_attachment_ends_the_session:
            [
                t(format!("451-25[\"send_message\",{}]", with_text(&placeholder(3)))),
                Pkt::B(vec![1]),
            ] => Closed;
        a_placeholder_num_that_is_a_string_ends_the_session:
            [
                t(format!(
                    "451-26[\"send_message\",{}]",
                    with_text("{\"_placeholder\":true,\"num\":\"0\"}")
                )),
                Pkt::B(vec![1]),
            ] => Closed;
        an_attachment_count_of_65_ends_the_session:
            [t(format!("4565-27[\"send_message\",{}]", good()))] => Closed;
        an_attachment_count_of_2_pow_64_plus_1_ends_the_session:
            [t(format!("45{BIG}-28[\"send_message\",{}]", good()))] => Closed;
        an_attachment_without_a_packet_ends_the_session: [Pkt::B(vec![1, 2, 3])] => Closed;
        one_attachment_more_than_announced_is_invalid_and_ends_the_session:
            [
                t(format!("451-29[\"send_message\",{}]", with_text(&placeholder(0)))),
                Pkt::B(vec![1]),
                Pkt::B(vec![2]),
            ] => AckErrorThenClosed(29, "invalid");
        an_event_one_attachment_short_is_never_dispatched:
            [
                t(format!(
                    "452-30[\"send_message\",{}]",
                    in_room(&format!(
                        ",\"sender\":\"m\",\"text\":{},\"client_id\":{}",
                        placeholder(0),
                        placeholder(1)
                    ))
                )),
                Pkt::B(vec![1]),
                event(31, "history", &in_room(",\"limit\":1")),
            ] => NeverDispatched(30, 31);
    }

    /// Payloads that are not objects, for each event (with its ack id): all invalid.
    macro_rules! payloads_not_objects {
        ($($event:ident = $id:literal),+ $(,)?) => {$(
            mod $event {
                use super::*;
                socketio_attacks! {
                    a_string_is_invalid:
                        [event($id, stringify!($event), "\"just text\"")] => AckError($id, "invalid");
                    a_number_is_invalid:
                        [event($id, stringify!($event), "42")] => AckError($id, "invalid");
                    null_is_invalid:
                        [event($id, stringify!($event), "null")] => AckError($id, "invalid");
                    an_array_is_invalid:
                        [event($id, stringify!($event), "[1,2]")] => AckError($id, "invalid");
                    true_is_invalid:
                        [event($id, stringify!($event), "true")] => AckError($id, "invalid");
                }
            }
        )+};
    }

    mod payload_not_an_object {
        use super::*;

        payloads_not_objects!(
            send_message = 100,
            join = 101,
            history = 102,
            typing = 103,
            leave = 104
        );
    }
}

// ------------------------------------------------------------------ polling attacks

/// A query Engine.IO refuses: 400 with the protocol's `code`.
async fn refused_query(addr: &str, method: &str, query: &str, code: u64) -> String {
    let reply = http(addr, method, &format!("/socket.io/?{query}"), b"4x").await;
    assert_eq!(
        (reply.status, reply.engine_code()),
        (400, Some(code)),
        "{}",
        reply.text()
    );
    format!("400 code {code}")
}

/// A POST body the session refuses with `status` (a 400 with Engine.IO's code 3,
/// "bad request"); the session is over.
async fn refused_body(addr: &str, body: impl AsRef<[u8]>, status: u16) -> String {
    let mut conn = Conn::open(addr, false).await;
    let reply = http(addr, "POST", &conn.session_path("polling"), body.as_ref()).await;
    assert_eq!(reply.status, status, "{}", reply.text());
    if status == 400 {
        assert_eq!(reply.engine_code(), Some(3), "{}", reply.text());
    }
    let how = conn.closed("refused body").await;
    format!("{status}, session closed ({how})")
}

/// Attacks only polling can carry.
mod polling {
    use super::*;

    /// `name: method query => code;`
    macro_rules! refused_queries {
        ($($name:ident: $method:literal $query:expr => $code:literal;)+) => {$(
            attack!($name, |addr| refused_query(addr, $method, &$query, $code).await);
        )+};
    }

    refused_queries! {
        an_unknown_sid_is_400_code_1:
            "GET" "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA" => 1;
        an_unknown_sid_in_a_post_is_400_code_1: "POST" "EIO=4&transport=polling&sid=bogus" => 1;
        a_sid_of_8_kb_is_400_code_1:
            "GET" format!("EIO=4&transport=polling&sid={}", "s".repeat(8192)) => 1;
        an_empty_sid_is_400_code_1: "GET" "EIO=4&transport=polling&sid=" => 1;
        no_eio_is_400_code_5: "GET" "transport=polling" => 5;
        eio_3_is_400_code_5: "GET" "EIO=3&transport=polling" => 5;
        eio_2_pow_64_plus_1_is_400_code_5: "GET" format!("EIO={BIG}&transport=polling") => 5;
        an_unknown_transport_is_400_code_0: "GET" "EIO=4&transport=flash" => 0;
        a_handshake_by_post_is_400_code_2: "POST" "EIO=4&transport=polling" => 2;
    }

    /// `name: body => status;`
    macro_rules! refused_bodies {
        ($($name:ident: $body:expr => $status:literal;)+) => {$(
            attack!($name, |addr| refused_body(addr, $body, $status).await);
        )+};
    }

    refused_bodies! {
        invalid_utf8_is_400_code_3_and_ends_the_session: b"4\xff\xfe\xfd" => 400;
        unknown_packet_type_9_is_400_code_3_and_ends_the_session: b"9hello" => 400;
        an_open_packet_from_a_client_is_400_code_3_and_ends_the_session: b"0{}" => 400;
        an_empty_record_is_400_code_3_and_ends_the_session: b"4hi\x1e" => 400;
        bad_base64_in_an_attachment_is_400_code_3_and_ends_the_session: b"b!!!!" => 400;
        a_lone_record_separator_is_400_code_3_and_ends_the_session: b"\x1e" => 400;
        a_body_of_max_payload_plus_1_bytes_is_413_and_ends_the_session:
            {
                let mut body = b"4".to_vec();
                body.resize(MAX_PAYLOAD + 1, b'a');
                body
            } => 413;
    }

    attack!(
        a_body_shorter_than_its_content_length_ends_the_session,
        |addr| {
            // The client sends part of the body, then stops sending.
            let mut conn = Conn::open(addr, false).await;
            let head = format!(
                "POST {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 100\r\n\r\n4trunc",
                conn.session_path("polling")
            );
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
            let outcome = match read_reply(&mut stream).await {
                Ok(reply) => {
                    assert_eq!(reply.status, 400, "{}", reply.text());
                    "400".to_owned()
                }
                Err(e) => format!("connection dropped ({e})"),
            };
            let how = conn.closed("truncated body").await;
            format!("{outcome}, session closed ({how})")
        }
    );

    attack!(
        a_second_concurrent_get_is_400_code_3_and_ends_the_session,
        |addr| {
            // Ending the session also answers the first GET at once.
            let mut conn = Conn::open(addr, false).await;
            let path = conn.session_path("polling");
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
            format!(
                "400 code 3; the first GET answered {} {:?} after {} ms; session closed ({how})",
                first.status,
                first.text(),
                took.as_millis()
            )
        }
    );

    attack!(a_put_on_a_session_is_400_code_3, |addr| {
        let conn = Conn::open(addr, false).await;
        let reply = http(addr, "PUT", &conn.session_path("polling"), b"4x").await;
        assert_eq!(
            (reply.status, reply.engine_code()),
            (400, Some(3)),
            "{}",
            reply.text()
        );
        "400 code 3".to_owned()
    });
}

// ------------------------------------------------------------------ WebSocket attacks

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

/// Sends `messages` on a fresh session; the server must end it.
async fn frames_end_the_session(addr: &str, messages: Vec<Message>) -> String {
    let mut conn = Conn::open(addr, true).await;
    if let Conn::Ws(ws) = &mut conn {
        for message in messages {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    }
    format!("closed ({})", conn.closed("frames").await)
}

/// Writes `bytes` after the upgrade (then EOF, if `then_eof`); the server must close
/// the connection.
async fn bytes_end_the_connection(addr: &str, bytes: Vec<u8>, then_eof: bool) -> String {
    let mut stream = raw_websocket(addr).await;
    stream.write_all(&bytes).await.unwrap();
    if then_eof {
        stream.shutdown().await.unwrap();
    }
    server_hangs_up(&mut stream, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    "connection closed".to_owned()
}

/// A polling session with a WebSocket that has answered the upgrade probe: the
/// upgrade is under way.
struct Upgrading {
    polling: Conn,
    websocket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    url: String,
}

impl Upgrading {
    async fn begin(addr: &str) -> Upgrading {
        let polling = Conn::open(addr, false).await;
        let url = format!("ws://{addr}{}", polling.session_path("websocket"));
        let (mut websocket, _) = tokio_tungstenite::connect_async(url.clone()).await.unwrap();
        websocket.send(Message::text("2probe")).await.unwrap();
        let probe = timeout(WAIT, websocket.next()).await.unwrap();
        assert!(
            matches!(&probe, Some(Ok(Message::Text(t))) if t.as_str() == "3probe"),
            "{probe:?}"
        );
        Upgrading {
            polling,
            websocket,
            url,
        }
    }

    /// Completes the upgrade and checks the session answers over the WebSocket;
    /// returns the session and what the polling GET got meanwhile.
    async fn complete(mut self) -> (Conn, String) {
        self.websocket.send(Message::text("5")).await.unwrap();
        let polled = format!("{:?}", self.polling.recv_packets().await);
        let history = event(11, "history", &in_room(",\"limit\":1"));
        let mut upgraded = Conn::Ws(Box::new(self.websocket));
        upgraded.send(&[history]).await;
        let ack = upgraded
            .ack(11)
            .await
            .expect("the upgraded session still answers");
        assert_eq!(ack["ok"], true);
        (upgraded, polled)
    }
}

/// Another WebSocket for the session at `url`: the server must refuse it, or close it
/// right after the handshake. Returns which.
async fn another_websocket_is_refused(url: &str, what: &str) -> String {
    match tokio_tungstenite::connect_async(url).await {
        Err(e) => format!("refused ({e})"),
        Ok((mut ws, _)) => match timeout(WAIT, ws.next()).await {
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => {
                "closed after the handshake".into()
            }
            other => panic!("{what} was accepted: {other:?}"),
        },
    }
}

/// Fragments of `size` bytes of text, `count` of them in one message.
fn fragments(count: usize, size: usize) -> Vec<Message> {
    (0..count)
        .map(|i| {
            let opcode = if i == 0 {
                OpCode::Data(Data::Text)
            } else {
                OpCode::Data(Data::Continue)
            };
            Message::Frame(Frame::message(vec![b'a'; size], opcode, i == count - 1))
        })
        .collect()
}

/// Attacks only WebSocket can carry.
mod websocket {
    use super::*;

    attack!(
        an_unknown_sid_is_refused_before_the_upgrade_with_400_code_1,
        |addr| {
            let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket&sid=bogus");
            match tokio_tungstenite::connect_async(url).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    assert_eq!(response.status(), 400);
                    let body: Value =
                        serde_json::from_slice(response.body().as_deref().unwrap_or(b""))
                            .unwrap_or(Value::Null);
                    assert_eq!(body["code"], 1, "{body}");
                    "400 code 1".to_owned()
                }
                other => panic!("a bogus sid got {:?}", other.map(|_| ())),
            }
        }
    );

    /// Frames tungstenite can still build: `name: messages;`
    macro_rules! frames_ending_the_session {
        ($($name:ident: $messages:expr;)+) => {$(
            attack!($name, |addr| frames_end_the_session(addr, $messages).await);
        )+};
    }

    frames_ending_the_session! {
        invalid_utf8_in_a_text_frame_ends_the_session:
            vec![Message::Frame(Frame::message(
                &b"42[\"x\xff\xfe\"]"[..],
                OpCode::Data(Data::Text),
                true,
            ))];
        an_empty_text_frame_ends_the_session: vec![Message::text("")];
        unknown_packet_type_9_ends_the_session: vec![Message::text("9hello")];
        an_open_packet_from_a_client_ends_the_session: vec![Message::text("0{}")];
        a_text_frame_of_max_payload_plus_1_bytes_ends_the_session:
            vec![Message::text("4".to_owned() + &"a".repeat(MAX_PAYLOAD))];
        a_binary_frame_of_max_payload_plus_1_bytes_ends_the_session:
            vec![Message::binary(vec![7u8; MAX_PAYLOAD + 1])];
        fragments_adding_up_to_more_than_max_payload_end_the_session:
            fragments(11, 100_000);
    }

    /// Frames written byte by byte: `name: bytes, then EOF or not;`
    macro_rules! bytes_ending_the_connection {
        ($($name:ident: $bytes:expr, $then_eof:literal;)+) => {$(
            attack!($name, |addr| bytes_end_the_connection(addr, $bytes, $then_eof).await);
        )+};
    }

    bytes_ending_the_connection! {
        an_unmasked_client_frame_ends_the_connection:
            ws_frame(0x81, b"42[\"x\"]", false, None), false;
        reserved_opcode_3_ends_the_connection: ws_frame(0x83, b"x", true, None), false;
        rsv1_without_an_extension_ends_the_connection: ws_frame(0xC1, b"4x", true, None), false;
        a_ping_of_200_bytes_ends_the_connection: ws_frame(0x89, &[0u8; 200], true, None), false;
        a_fragmented_ping_ends_the_connection: ws_frame(0x09, b"x", true, None), false;
        a_continuation_without_a_start_ends_the_connection:
            ws_frame(0x80, b"x", true, None), false;
        a_length_of_2_pow_63_ends_the_connection:
            ws_frame(0x81, b"", true, Some(1 << 63)), false;
        a_frame_cut_off_then_eof_ends_the_connection:
            ws_frame(0x81, b"42[\"send_message\",{}]", true, None)[..12].to_vec(), true;
    }

    attack!(
        a_client_stalled_mid_frame_is_dropped_by_the_heartbeat,
        |addr| {
            // No byte more will come, so only the heartbeat can end it (pingInterval +
            // pingTimeout = 2 s + 2 s here).
            let mut stream = raw_websocket(addr).await;
            let mut cut = ws_frame(0x81, &[b'4'; 1000], true, None);
            cut.truncate(300);
            stream.write_all(&cut).await.unwrap();
            let started = Instant::now();
            server_hangs_up(&mut stream, Duration::from_secs(12))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            format!("closed after {} ms", started.elapsed().as_millis())
        }
    );

    attack!(a_second_upgrade_during_an_upgrade_is_refused, |addr| {
        let upgrading = Upgrading::begin(addr).await;
        let second = another_websocket_is_refused(&upgrading.url, "a second upgrade").await;
        let (_, polled) = upgrading.complete().await;
        format!("{second} (the polling GET got {polled})")
    });

    attack!(
        an_upgrade_of_a_session_already_on_websocket_is_refused,
        |addr| {
            let upgrading = Upgrading::begin(addr).await;
            let url = upgrading.url.clone();
            let (_upgraded, _) = upgrading.complete().await;
            another_websocket_is_refused(&url, "an upgrade of an upgraded session").await
        }
    );
}

// ------------------------------------------------------------------ REST attacks

/// A request the REST API refuses with `status` and the chat error `code`.
async fn refused_rest(
    addr: &str,
    method: &str,
    path: &str,
    body: impl AsRef<[u8]>,
    status: u16,
    code: &str,
) -> String {
    let request = request_bytes(method, addr, path, "application/json", body.as_ref());
    let reply = exchange(addr, &request).await.unwrap();
    assert_eq!(
        (reply.status, reply.chat_code().as_deref()),
        (status, Some(code)),
        "{}",
        reply.text()
    );
    format!("{status} {code}")
}

fn messages_path() -> String {
    format!("/api/rooms/{ROOM}/messages")
}

/// Attacks on the REST API.
mod rest {
    use super::*;

    /// Bodies posted to the attacked room: `name: body => status code;`
    macro_rules! refused_posts {
        ($($name:ident: $body:expr => $status:literal $code:literal;)+) => {$(
            attack!($name, |addr| {
                refused_rest(addr, "POST", &messages_path(), $body, $status, $code).await
            });
        )+};
    }

    refused_posts! {
        a_body_of_max_payload_plus_1_bytes_is_413_too_large:
            {
                let mut body = b"{\"sender\":\"m\",\"text\":\"".to_vec();
                body.resize(MAX_PAYLOAD + 1, b'a');
                body
            } => 413 "too_large";
        invalid_utf8_is_400_invalid:
            b"{\"sender\":\"m\",\"text\":\"\xff\xfe\"}" => 400 "invalid";
        truncated_json_is_400_invalid: b"{\"sender\":\"m\",\"text\":\"x" => 400 "invalid";
        arrays_nested_100k_deep_are_400_invalid: nested(100_000, "[", "]") => 400 "invalid";
        objects_nested_100k_deep_are_400_invalid:
            nested(100_000, "{\"a\":", "}") => 400 "invalid";
        client_id_1e400_is_400_invalid:
            b"{\"sender\":\"m\",\"text\":\"x\",\"client_id\":1e400}" => 400 "invalid";
        client_id_2_pow_64_plus_1_is_400_invalid:
            format!("{{\"sender\":\"m\",\"text\":\"x\",\"client_id\":{BIG}}}") => 400 "invalid";
        a_body_that_is_an_array_is_400_invalid: b"[1,2]" => 400 "invalid";
        a_body_that_is_a_string_is_400_invalid: b"\"text\"" => 400 "invalid";
        a_body_that_is_null_is_400_invalid: b"null" => 400 "invalid";
        a_body_that_is_a_number_is_400_invalid: b"5" => 400 "invalid";
        an_empty_body_is_400_invalid: b"" => 400 "invalid";
        a_text_that_is_an_object_is_400_invalid:
            b"{\"sender\":\"m\",\"text\":{\"a\":1}}" => 400 "invalid";
        a_sender_that_is_a_number_is_400_invalid:
            b"{\"sender\":1,\"text\":\"x\"}" => 400 "invalid";
    }

    /// History queries of the attacked room: `name: query;`, each 400 invalid.
    macro_rules! refused_history_queries {
        ($($name:ident: $query:expr;)+) => {$(
            attack!($name, |addr| {
                let path = format!("{}?{}", messages_path(), $query);
                refused_rest(addr, "GET", &path, b"", 400, "invalid").await
            });
        )+};
    }

    refused_history_queries! {
        after_2_pow_64_plus_1_is_400_invalid: format!("after={BIG}");
        before_2_pow_64_plus_1_is_400_invalid: format!("before={BIG}");
        limit_1e400_is_400_invalid: "limit=1e400";
        after_minus_1_is_400_invalid: "after=-1";
        limit_a_word_is_400_invalid: "limit=ten";
    }

    /// Rooms no message may be posted to: `name: room in the path;`, each 400 invalid.
    macro_rules! refused_rooms {
        ($($name:ident: $room:expr;)+) => {$(
            attack!($name, |addr| {
                let path = format!("/api/rooms/{}/messages", $room);
                let body = b"{\"sender\":\"m\",\"text\":\"x\"}";
                refused_rest(addr, "POST", &path, body, 400, "invalid").await
            });
        )+};
    }

    refused_rooms! {
        a_nul_in_the_room_is_400_invalid: "a%00b";
        invalid_utf8_in_the_room_is_400_invalid: "a%FFb";
        a_room_of_129_chars_is_400_invalid: "r".repeat(129);
    }

    attack!(bytes_that_are_not_http_are_refused, |addr| {
        match exchange(addr, b"\x16\x03\x01\x02\x00garbage\r\n\r\n").await {
            Ok(reply) => {
                assert!(reply.status >= 400, "garbage got {}", reply.status);
                format!("{}", reply.status)
            }
            Err(e) => format!("connection closed ({e})"),
        }
    });
}

// ------------------------------------------------------------------ the end

fn metric(url: &str, name: &str) -> f64 {
    let reply = support::http(url, "GET", "/metrics", &[], b"");
    reply
        .body
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing"))
}

/// Last by name, so that libtest (which runs tests in name order) runs it once every
/// attack has been started; it waits for them to end. Then the chatter's clients must
/// have lost nothing and got nothing twice, the room must hold their messages only,
/// nothing the attacks sent may be stored anywhere, and the server must stop cleanly.
#[test]
fn when_the_attacks_are_over_the_chat_has_lost_nothing() {
    let target = Target::get();
    let attacks = target.wait_for_the_attacks();
    let (server, mut chatter) = lock(&target.alive)
        .take()
        .expect("only this test stops the server");
    chatter.say("stop");
    let out = chatter.finish(Duration::from_secs(60));
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
    let stored = metric(server.url(), "parley_messages_stored");
    assert_eq!(stored, chatted, "messages stored besides the chatter's");
    let health = support::http(server.url(), "GET", "/healthz", &[], b"");
    assert_eq!(health.status, 200, "{}", health.body);
    println!(
        "{attacks} attacks in {:.1} s; {figures}; parley_messages_stored {stored}",
        target.started.elapsed().as_secs_f64()
    );
    let status = server.terminate();
    assert!(
        status.success(),
        "parley did not stop cleanly after the attacks: {status}"
    );
}
