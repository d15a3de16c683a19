//! Engine.IO v4 server: sessions over HTTP long-polling and WebSocket, the upgrade
//! between them, heartbeats and the protocol's error answers.
//!
//! This layer moves opaque `message` packets; it knows nothing of Socket.IO. The layer
//! above plugs in through [`EngineHandler`] and sends through [`Session`].

mod packet;
mod polling;
mod session;
mod websocket;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming as IncomingBody;
use hyper::header::{CONTENT_TYPE, COOKIE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;

use crate::server::HttpResponse;

pub use packet::{DecodeError, Frame, Incoming, Payload, decode_polling_body, decode_text};
pub use session::{CloseReason, Session, Sid, Signal, TransportKind};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub max_payload: usize,
    /// How long a started WebSocket upgrade may take before it is abandoned.
    pub upgrade_timeout: Duration,
    /// Frames a session may have waiting before it counts as a slow consumer.
    pub max_queued_frames: usize,
    /// Open sessions at most; new ones beyond are refused with 503.
    pub max_sessions: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            upgrade_timeout: Duration::from_millis(10_000),
            max_queued_frames: 8192,
            max_sessions: 10_000,
        }
    }
}

/// How long a long-polling session that the client closed stays known when no GET was
/// waiting: its next GET (often already on its way) gets the `noop` that ends the
/// session cleanly rather than an "unknown sid" error.
const FINAL_POLL_GRACE: Duration = Duration::from_secs(1);

/// The layer above Engine.IO. Callbacks run on the connection's task and must not
/// block; anything slow is spawned.
pub trait EngineHandler: Send + Sync + 'static {
    fn on_open(&self, session: &Arc<Session>);
    fn on_message(&self, session: &Arc<Session>, payload: Payload);
    fn on_close(&self, session: &Arc<Session>, reason: CloseReason);
}

/// The error answers the protocol defines, each with its numeric code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineError {
    UnknownTransport,
    UnknownSid,
    BadHandshakeMethod,
    BadRequest,
    Forbidden,
    UnsupportedProtocolVersion,
}

impl EngineError {
    fn code(self) -> u8 {
        match self {
            EngineError::UnknownTransport => 0,
            EngineError::UnknownSid => 1,
            EngineError::BadHandshakeMethod => 2,
            EngineError::BadRequest => 3,
            EngineError::Forbidden => 4,
            EngineError::UnsupportedProtocolVersion => 5,
        }
    }

    fn message(self) -> &'static str {
        match self {
            EngineError::UnknownTransport => "Transport unknown",
            EngineError::UnknownSid => "Session ID unknown",
            EngineError::BadHandshakeMethod => "Bad handshake method",
            EngineError::BadRequest => "Bad request",
            EngineError::Forbidden => "Forbidden",
            EngineError::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    pub fn into_response(self) -> HttpResponse {
        let status = if self == EngineError::Forbidden {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::BAD_REQUEST
        };
        error_response(status, self.code(), self.message())
    }
}

/// The answer to a new connection the server cannot take now (full, or shutting
/// down). Clients retry with their usual backoff.
fn unavailable(message: &str) -> HttpResponse {
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        EngineError::BadRequest.code(),
        message,
    )
}

/// The JSON error body Engine.IO clients expect: `{"code": N, "message": "..."}`.
fn error_response(status: StatusCode, code: u8, message: &str) -> HttpResponse {
    let body = serde_json::json!({"code": code, "message": message});
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The query parameters Engine.IO requests carry.
struct EngineQuery {
    protocol: Option<String>,
    transport: Option<String>,
    sid: Option<String>,
}

impl EngineQuery {
    fn parse(query: &str) -> EngineQuery {
        let mut parsed = EngineQuery {
            protocol: None,
            transport: None,
            sid: None,
        };
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match key {
                "EIO" => &mut parsed.protocol,
                "transport" => &mut parsed.transport,
                "sid" => &mut parsed.sid,
                _ => continue,
            };
            *slot = Some(value.to_owned());
        }
        parsed
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Handshake<'a> {
    sid: &'a str,
    upgrades: &'a [&'a str],
    ping_interval: u64,
    ping_timeout: u64,
    max_payload: usize,
}

pub struct Engine {
    config: EngineConfig,
    handler: Arc<dyn EngineHandler>,
    sessions: Mutex<HashMap<Sid, Arc<Session>>>,
    /// Set by shutdown: clients reconnecting through still-open HTTP connections must
    /// not start new sessions on a server that is going away.
    stopping: Signal,
}

impl Engine {
    pub fn new(config: EngineConfig, handler: Arc<dyn EngineHandler>) -> Arc<Engine> {
        Arc::new(Engine {
            config,
            handler,
            sessions: Mutex::new(HashMap::new()),
            stopping: Signal::default(),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Number of open sessions per transport, for metrics.
    pub fn session_counts(&self) -> (usize, usize) {
        let sessions = self.sessions();
        let websocket = sessions
            .values()
            .filter(|session| session.transport() == TransportKind::WebSocket)
            .count();
        (sessions.len() - websocket, websocket)
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<Sid, Arc<Session>>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Closes every session with a proper Engine.IO close and waits (bounded) until
    /// their transports had a chance to deliver it.
    pub async fn shutdown(&self, grace: Duration) {
        self.stopping.raise();
        let sessions: Vec<Arc<Session>> = self.sessions().values().cloned().collect();
        for session in &sessions {
            session.close(CloseReason::ServerShutdown);
        }
        let deadline = Instant::now() + grace;
        while !self.sessions().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Answers one request to the Engine.IO endpoint.
    pub async fn handle(self: &Arc<Self>, request: Request<IncomingBody>) -> HttpResponse {
        let query = EngineQuery::parse(request.uri().query().unwrap_or(""));
        if query.protocol.as_deref() != Some("4") {
            return EngineError::UnsupportedProtocolVersion.into_response();
        }
        let transport = match query.transport.as_deref() {
            Some("polling") => TransportKind::Polling,
            Some("websocket") => TransportKind::WebSocket,
            _ => return EngineError::UnknownTransport.into_response(),
        };
        let session = match &query.sid {
            None => None,
            Some(sid) => match self.sessions().get(sid) {
                Some(session) => Some(session.clone()),
                None => return EngineError::UnknownSid.into_response(),
            },
        };
        if session.is_none() && self.stopping.is_raised() {
            return unavailable("Server is shutting down");
        }
        if session.is_none() && self.sessions().len() >= self.config.max_sessions {
            tracing::warn!(
                max = self.config.max_sessions,
                "connection refused: server full"
            );
            return unavailable("Server is full, try again later");
        }
        match (transport, session) {
            (TransportKind::WebSocket, session) => {
                websocket::accept(self.clone(), request, session).await
            }
            (TransportKind::Polling, None) => {
                if request.method() != Method::GET {
                    return EngineError::BadHandshakeMethod.into_response();
                }
                polling::handshake(self, request.headers().get(COOKIE).cloned())
            }
            (TransportKind::Polling, Some(session)) => {
                polling::request(self, request, session).await
            }
        }
    }

    /// Registers a new session, starts its heartbeat and tells the layer above.
    /// Returns the session and its `open` packet.
    fn open_session(
        self: &Arc<Self>,
        transport: TransportKind,
        cookie: Option<HeaderValue>,
    ) -> (Arc<Session>, Frame) {
        let sid = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 15]>());
        let upgrades: &[&str] = match transport {
            TransportKind::Polling => &["websocket"],
            TransportKind::WebSocket => &[],
        };
        let handshake = Handshake {
            sid: &sid,
            upgrades,
            ping_interval: self.config.ping_interval.as_millis() as u64,
            ping_timeout: self.config.ping_timeout.as_millis() as u64,
            max_payload: self.config.max_payload,
        };
        let open = Frame::open(&serde_json::to_string(&handshake).unwrap_or_default());
        let session = Arc::new(
            Session::new(sid.clone(), transport, self.config.max_queued_frames).with_cookie(cookie),
        );
        self.sessions().insert(sid, session.clone());
        tracing::debug!(
            sid = session.sid(),
            transport = transport.name(),
            "session opened"
        );
        tokio::spawn(self.clone().supervise(session.clone()));
        (session, open)
    }

    /// Pings the client on schedule, closes the session when a pong is overdue, and
    /// cleans up once the session ended for whatever reason.
    async fn supervise(self: Arc<Self>, session: Arc<Session>) {
        let heartbeat = async {
            let mut ping_at = tokio::time::Instant::now() + self.config.ping_interval;
            loop {
                tokio::time::sleep_until(ping_at).await;
                if !session.send(Frame::ping()) {
                    return;
                }
                // The timeout clock starts when the ping is due, not when a poll carries
                // it, and the next ping is scheduled from the pong, as the reference
                // server does. Deadlines rather than durations: the timer's rounding
                // must not add up, so a client that waited pingInterval + pingTimeout
                // finds its silent session closed.
                let answered =
                    tokio::time::timeout_at(ping_at + self.config.ping_timeout, session.pong());
                if answered.await.is_err() {
                    session.close(CloseReason::PingTimeout);
                    return;
                }
                ping_at = tokio::time::Instant::now() + self.config.ping_interval;
            }
        };
        tokio::select! {
            _ = heartbeat => {}
            _ = session.wait_closed() => {}
        }
        let reason = session
            .close_reason()
            .unwrap_or(CloseReason::TransportError);
        tracing::debug!(
            sid = session.sid(),
            reason = reason.as_str(),
            "session closed"
        );
        let awaits_final_poll =
            reason == CloseReason::TransportClose && session.transport() == TransportKind::Polling;
        if !awaits_final_poll {
            self.forget(&session);
        }
        self.handler.on_close(&session, reason);
        if awaits_final_poll {
            // A GET that ends the session forgets it at once (see `polling`); a
            // shutdown, which waits until every session is forgotten, does not wait
            // for that GET.
            tokio::select! {
                _ = tokio::time::sleep(FINAL_POLL_GRACE) => {}
                _ = self.stopping.wait() => {}
            }
            self.forget(&session);
        }
    }

    /// Makes the session's id unknown to later requests.
    fn forget(&self, session: &Session) {
        self.sessions().remove(session.sid());
    }

    /// Acts on one packet from the client, whichever transport carried it.
    fn receive(&self, session: &Arc<Session>, packet: Incoming) {
        match packet {
            Incoming::Pong(_) => session.record_pong(),
            Incoming::Message(payload) => self.handler.on_message(session, payload),
            Incoming::Close => {
                session.close(CloseReason::TransportClose);
            }
            Incoming::Upgrade | Incoming::Noop => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_query() {
        let query = EngineQuery::parse("EIO=4&transport=polling&t=abc&sid=xyz");
        assert_eq!(query.protocol.as_deref(), Some("4"));
        assert_eq!(query.transport.as_deref(), Some("polling"));
        assert_eq!(query.sid.as_deref(), Some("xyz"));
        let empty = EngineQuery::parse("");
        assert!(empty.protocol.is_none() && empty.transport.is_none() && empty.sid.is_none());
    }

    #[test]
    fn error_answers_carry_the_protocol_codes() {
        let response = EngineError::UnsupportedProtocolVersion.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            EngineError::Forbidden.into_response().status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(EngineError::UnknownTransport.code(), 0);
        assert_eq!(EngineError::UnknownSid.code(), 1);
        assert_eq!(EngineError::BadHandshakeMethod.code(), 2);
        assert_eq!(EngineError::BadRequest.code(), 3);
        assert_eq!(EngineError::UnsupportedProtocolVersion.code(), 5);
    }
}
