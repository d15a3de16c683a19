//! Engine.IO edge cases over HTTP long-polling (and the client packets WebSocket shares
//! with it), each its own test: what Parley answers, and whether the session survives.
//!
//! Each case was compared with the reference server (the `engine.io` npm package, 6.6)
//! run side by side, and its answer is noted on the case. Parley ends a session
//! wherever the reference does; where it differs on purpose (src/engineio/polling.rs
//! and src/engineio/packet.rs say why, the README sums it up) it is stricter: a body it
//! refuses gets `400` with the protocol's error JSON (the reference answers `200 ok`
//! and then closes, or a bare `400`), invalid base64 or UTF-8 is refused rather than
//! approximated, and an `open` packet from a client ends the session as a client
//! `ping` does.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use support::{HttpReply, ServerProcess, http, start_parley};

/// Parley's default max_payload, which these tests run with.
const MAX_PAYLOAD: usize = 1_000_000;

const TEXT: Option<&str> = Some("text/plain;charset=UTF-8");
const BINARY: Option<&str> = Some("application/octet-stream");

/// A Parley server with its own data directory, both gone when dropped.
struct Parley {
    server: ServerProcess,
    _data: tempfile::TempDir,
}

impl Parley {
    fn start(extra: &[&str]) -> Parley {
        let data = tempfile::tempdir().unwrap();
        let server = start_parley(data.path(), extra);
        Parley {
            server,
            _data: data,
        }
    }

    fn url(&self) -> &str {
        &self.server.url
    }

    /// Opens a long-polling session and returns its sid.
    fn open(&self) -> String {
        let reply = http(self.url(), "GET", &path(None), &[], b"");
        assert_eq!(reply.status, 200, "handshake: {}", reply.body);
        let handshake: Value = serde_json::from_str(&reply.body[1..]).unwrap();
        handshake["sid"].as_str().unwrap().to_owned()
    }

    fn post(&self, sid: &str, content_type: Option<&str>, body: &[u8]) -> HttpReply {
        let headers: Vec<(&str, &str)> = content_type
            .map(|value| ("Content-Type", value))
            .into_iter()
            .collect();
        http(self.url(), "POST", &path(Some(sid)), &headers, body)
    }

    fn get(&self, sid: &str) -> HttpReply {
        http(self.url(), "GET", &path(Some(sid)), &[], b"")
    }

    /// The session still carries traffic: a Socket.IO connect goes through and is
    /// answered on the next poll.
    fn assert_usable(&self, sid: &str) {
        let posted = self.post(sid, TEXT, b"40");
        assert_eq!((posted.status, posted.body.as_str()), (200, "ok"));
        let polled = self.get(sid);
        assert_eq!(polled.status, 200);
        assert!(
            polled.body.starts_with("40{"),
            "connect ack: {}",
            polled.body
        );
    }

    /// The session is over: polls get at most its last packet (the server's `close`, or
    /// the `noop` that answers the client's own), then "unknown sid".
    fn assert_closed(&self, sid: &str) {
        for _ in 0..3 {
            let reply = self.get(sid);
            match (reply.status, reply.body.as_str()) {
                (200, "1" | "6") => continue,
                (400, _) => {
                    assert_eq!(engine_code(&reply), Some(1), "{}", reply.body);
                    return;
                }
                other => panic!("poll on a closed session answered {other:?}"),
            }
        }
        panic!("the session is still known after its last packet");
    }
}

fn path(sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
        None => "/socket.io/?EIO=4&transport=polling".to_owned(),
    }
}

fn engine_code(reply: &HttpReply) -> Option<u64> {
    serde_json::from_str::<Value>(&reply.body)
        .ok()?
        .get("code")?
        .as_u64()
}

const BAD_REQUEST: &str = r#"{"code":3,"message":"Bad request"}"#;

/// What Parley answers to the POST.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Ok,
    /// 400 with `{"code":3,"message":"Bad request"}`.
    BadRequest,
    TooLarge,
}

impl Answer {
    fn check(self, reply: &HttpReply) {
        match self {
            Answer::Ok => assert_eq!((reply.status, reply.body.as_str()), (200, "ok")),
            Answer::BadRequest => {
                assert_eq!((reply.status, reply.body.as_str()), (400, BAD_REQUEST))
            }
            Answer::TooLarge => assert_eq!(reply.status, 413, "{}", reply.body),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum After {
    Open,
    Closed,
}

fn check(body: Vec<u8>, content_type: Option<&str>, answer: Answer, after: After) {
    let parley = Parley::start(&[]);
    let sid = parley.open();
    answer.check(&parley.post(&sid, content_type, &body));
    match after {
        After::Open => parley.assert_usable(&sid),
        After::Closed => parley.assert_closed(&sid),
    }
}

/// A pong carrying data, `size` bytes in all: valid Engine.IO that the layer above
/// never sees.
fn pong_of(size: usize) -> Vec<u8> {
    let mut body = b"3".to_vec();
    body.resize(size, b'x');
    body
}

macro_rules! polling_posts {
    ($($(#[$doc:meta])* $name:ident: $body:expr, $content_type:expr => $answer:ident, $after:ident;)*) => {
        $(
            $(#[$doc])*
            #[test]
            fn $name() {
                check(Vec::from($body), $content_type, Answer::$answer, After::$after);
            }
        )*
    };
}

polling_posts! {
    /// Reference: `200 ok`, then closes (an empty record is a parse error).
    empty_body: b"", TEXT => BadRequest, Closed;
    /// Reference: `200 ok`, then closes.
    lone_record_separator: b"\x1e", TEXT => BadRequest, Closed;
    /// Reference: acts on the pong, then closes on the empty record.
    trailing_record_separator: b"3\x1e", TEXT => BadRequest, Closed;
    /// Reference: `200 ok`, then closes without acting on the pong.
    leading_record_separator: b"\x1e3", TEXT => BadRequest, Closed;
    /// Reference: acts on the first pong, then closes.
    doubled_record_separator: b"3\x1e\x1e3", TEXT => BadRequest, Closed;
    /// Reference: `200 ok`, then closes.
    unknown_type_digit: b"7", TEXT => BadRequest, Closed;
    /// Reference: `200 ok`, then closes.
    unknown_type_letter: b"xyz", TEXT => BadRequest, Closed;
    /// Reference: `200 ok`, then closes ("invalid heartbeat direction").
    ping_from_the_client: b"2", TEXT => BadRequest, Closed;
    /// Reference: as any client ping; the probe belongs on the WebSocket.
    upgrade_probe_over_polling: b"2probe", TEXT => BadRequest, Closed;
    /// Reference: `200 ok` and ignored. Parley: only a server opens a session.
    open_from_the_client: b"0{}", TEXT => BadRequest, Closed;
    /// Reference: `200 ok` and ignored.
    noop_from_the_client: b"6", TEXT => Ok, Open;
    /// Reference: `200 ok` and ignored.
    upgrade_packet_over_polling: b"5", TEXT => Ok, Open;
    /// Reference: `200 ok`.
    pong_with_data: b"3probe", TEXT => Ok, Open;
    /// Reference: `200 ok`, delivers whatever Node's lenient base64 makes of it.
    invalid_base64: b"b!!!!", TEXT => BadRequest, Closed;
    /// Reference: `200 ok`, accepts it; no official client sends it.
    unpadded_base64: b"bAQ", TEXT => BadRequest, Closed;
    /// Reference: `200 ok`, accepts it; no official client sends it.
    url_safe_base64: b"b-_8", TEXT => BadRequest, Closed;
    /// Reference: `200 ok`, closes; the next poll gets "unknown sid" (Parley: a `noop`
    /// first, for a poll that may already be on its way).
    close_from_the_client: b"1", TEXT => Ok, Closed;
    /// Reference: `200 ok`, closes, and drops what follows the close (here a Socket.IO
    /// connect, whose answer would show on the next poll).
    close_then_more_packets: b"1\x1e40", TEXT => Ok, Closed;
    /// Reference: `200 ok`, a clean close: what follows it is never decoded.
    close_then_garbage: b"1\x1e7", TEXT => Ok, Closed;
    /// Reference: `200 ok`, delivers "4\u{fffd}\u{fffd}" and stays open.
    non_utf8_in_the_data: b"4\xff\xfe", TEXT => BadRequest, Closed;
    /// Reference: `200 ok`, then closes (U+FFFD is no packet type).
    non_utf8_type: b"\xff", TEXT => BadRequest, Closed;
    /// Reference: bare `400`, closes ("invalid content": v4 payloads are text).
    octet_stream_body: b"3", BINARY => BadRequest, Closed;
    /// Reference: `200 ok` (it compares the header byte for byte). Parley reads the
    /// media type as HTTP defines it.
    octet_stream_with_a_parameter: b"3", Some("Application/Octet-Stream; charset=utf-8") => BadRequest, Closed;
    /// Reference: `200 ok`.
    no_content_type: b"3", None => Ok, Open;
    /// Reference: `200 ok`.
    body_of_exactly_max_payload: pong_of(MAX_PAYLOAD), TEXT => Ok, Open;
    /// Reference: bare `413`, closes ("payload too large").
    body_over_max_payload: pong_of(MAX_PAYLOAD + 1), TEXT => TooLarge, Closed;
}

/// Reference: `200 ok`, acts on the message, then closes.
#[test]
fn message_then_close() {
    let parley = Parley::start(&[]);
    let sid = parley.open();
    Answer::Ok.check(&parley.post(&sid, TEXT, b"40\x1e1"));
    let polled = parley.get(&sid);
    assert!(
        polled.body.starts_with("40{"),
        "connect ack: {}",
        polled.body
    );
    parley.assert_closed(&sid);
}

/// Reference: `500`, session kept. Parley: the client's mistake is a 4xx.
#[test]
fn other_methods_are_refused_without_closing() {
    let parley = Parley::start(&[]);
    let sid = parley.open();
    let reply = http(parley.url(), "PUT", &path(Some(&sid)), &[], b"40");
    Answer::BadRequest.check(&reply);
    parley.assert_usable(&sid);
}

/// Starts a request on a raw connection, sending only part of its body.
fn start_request(url: &str, method: &str, sid: &str, declared: usize, sent: &[u8]) -> TcpStream {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "{method} {} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {declared}\r\n\r\n",
        path(Some(sid))
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(sent).unwrap();
    stream
}

/// The status line and body of the answer on a raw connection.
fn finish_request(mut stream: TcpStream) -> (u16, String) {
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no answer: {text:?}"));
    (status, body.to_owned())
}

/// Starts a `method` request that stays in flight (a POST whose body is not all sent,
/// or a GET with nothing to receive), sends a second one of the same kind, checks
/// that it is refused and ends the session, and returns what the first one got.
fn overlap(method: &str, declared: usize, sent: &[u8]) -> (u16, String) {
    let parley = Parley::start(&[]);
    let sid = parley.open();
    let first = start_request(parley.url(), method, &sid, declared, sent);
    std::thread::sleep(Duration::from_millis(200));
    let second = http(parley.url(), method, &path(Some(&sid)), &[], sent);
    Answer::BadRequest.check(&second);
    let answer = finish_request(first);
    parley.assert_closed(&sid);
    answer
}

/// Reference: bare `400` for the second POST, the session closes and the first POST's
/// connection is destroyed. Parley answers the first one `400` too, delivering nothing.
#[test]
fn post_while_a_post_is_in_flight() {
    assert_eq!(overlap("POST", 10, b"40"), (400, BAD_REQUEST.to_owned()));
}

/// Reference: bare `400` for the second GET; the first gets the `close` packet.
#[test]
fn get_while_a_get_is_in_flight() {
    assert_eq!(overlap("GET", 0, b""), (200, "1".to_owned()));
}

/// Reference: `408` after 30 s (httpRequestBodyTimeout), then closes. Parley: a client
/// whose body stalls cannot send its pong either, so the heartbeat ends the session,
/// and with it the wait for the body.
#[test]
fn a_stalled_body_ends_with_the_session() {
    let parley = Parley::start(&["--ping-interval", "200", "--ping-timeout", "200"]);
    let sid = parley.open();
    let stalled = start_request(parley.url(), "POST", &sid, 10, b"3");
    assert_eq!(finish_request(stalled), (400, BAD_REQUEST.to_owned()));
    parley.assert_closed(&sid);
}

/// Opens a WebSocket-only session, sends `frame` and returns what arrives until the
/// server closes, or None when the session stays open for a second.
async fn websocket_answer(parley: &Parley, frame: &str) -> Option<Vec<String>> {
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        parley.url().replace("http://", "ws://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let open = socket.next().await.unwrap().unwrap();
    assert!(open.to_text().unwrap().starts_with("0{"));
    socket.send(Message::text(frame)).await.unwrap();
    let mut seen = Vec::new();
    let wait = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                seen.push(text.as_str().to_owned());
            }
        }
    });
    wait.await.ok().map(|()| seen)
}

macro_rules! websocket_frames {
    ($($(#[$doc:meta])* $name:ident: $frame:expr => $answer:expr;)*) => {
        $(
            $(#[$doc])*
            #[tokio::test]
            async fn $name() {
                let parley = Parley::start(&[]);
                assert_eq!(websocket_answer(&parley, $frame).await, $answer);
            }
        )*
    };
}

websocket_frames! {
    /// Reference: closes the socket ("invalid heartbeat direction"); Parley sends its
    /// `close` packet first.
    ping_from_the_client_over_websocket: "2" => Some(vec!["1".to_owned()]);
    /// Reference: likewise; the probe is only for a session being upgraded.
    probe_on_a_websocket_session: "2probe" => Some(vec!["1".to_owned()]);
    /// Reference: a pong gets no answer and the session stays.
    pong_over_websocket: "3" => None;
}
