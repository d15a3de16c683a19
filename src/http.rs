//! HTTP routing: the pages and their assets (embedded in the binary), the REST API,
//! health and metrics, and the Engine.IO endpoint behind the cross-origin rules.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, HeaderName, HeaderValue,
    IF_NONE_MATCH, UPGRADE, VARY,
};
use hyper::{Method, Request, Response, StatusCode};
use rust_embed::RustEmbed;
use serde_json::{Value, json};

use crate::chat::{Chat, ChatError};
use crate::cors::{self, CorsPolicy, Verdict};
use crate::engineio::{Engine, EngineError};
use crate::error::ErrorCode;
use crate::metrics;
use crate::server::{ClientAddr, HttpResponse};
use crate::socketio::Namespace;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// Where the Socket.IO endpoint lives.
pub const SOCKET_IO_PATH: &str = "/socket.io/";

/// Headers every page carries: no inline script, no framing, no MIME sniffing.
const PAGE_SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
];

/// Everything a request may need.
pub struct App {
    pub engine: Arc<Engine>,
    /// The chat's namespace, `/`.
    pub namespace: Arc<Namespace>,
    pub chat: Arc<Chat>,
    pub cors: CorsPolicy,
}

impl App {
    pub async fn route(self: Arc<Self>, request: Request<Incoming>) -> HttpResponse {
        let path = request.uri().path().to_owned();
        if path.starts_with(SOCKET_IO_PATH) {
            return engine_endpoint(&self.engine, &self.cors, request).await;
        }
        if let Some(room) = path
            .strip_prefix("/api/rooms/")
            .and_then(|rest| rest.strip_suffix("/messages"))
        {
            let room = percent_decode(room);
            return self.api(request, &room).await;
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        }
        match path.as_str() {
            "/" => page("lobby.html", &request),
            "/test-chat-debug" => page("debug.html", &request),
            "/favicon.ico" => asset("favicon.svg", &request),
            "/healthz" => self.health().await,
            "/metrics" => self.metrics(),
            _ => {
                if path.starts_with("/chat/") {
                    page("chat.html", &request)
                } else if let Some(file) = path.strip_prefix("/assets/") {
                    asset(file, &request)
                } else {
                    not_found()
                }
            }
        }
    }

    async fn api(&self, request: Request<Incoming>, room: &str) -> HttpResponse {
        let verdict = cors::judge(&self.cors, request.headers());
        let mut response = match *request.method() {
            Method::OPTIONS => return cors::preflight(&verdict, request.headers()),
            _ if verdict == Verdict::Denied => {
                error_json(ErrorCode::Forbidden, "origin not allowed")
            }
            _ if let Err(error) = self.admit(&request) => chat_error_response(&error),
            Method::POST => self.post_message(request, room).await,
            Method::GET => self.get_messages(&request, room).await,
            _ => {
                let mut response = error_json(ErrorCode::Invalid, "use GET or POST");
                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                response
            }
        };
        cors::decorate(&verdict, &mut response);
        response
    }

    /// Whether the client's address may make one more API request now. Every request
    /// the server accepted carries its address.
    fn admit(&self, request: &Request<Incoming>) -> Result<(), ChatError> {
        let Some(ClientAddr(address)) = request.extensions().get::<ClientAddr>() else {
            return Ok(());
        };
        self.chat
            .admit_http(address.ip())
            .inspect_err(|error| self.chat.report(error, "http"))
    }

    async fn post_message(&self, request: Request<Incoming>, room: &str) -> HttpResponse {
        let limit = self.engine.config().max_payload;
        let body = match Limited::new(request.into_body(), limit).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return error_json(
                    ErrorCode::TooLarge,
                    &format!("the request body is larger than {limit} bytes"),
                );
            }
        };
        let payload: Value = match serde_json::from_slice(&body) {
            Ok(payload) => payload,
            Err(error) => {
                let error = ChatError::BadPayload(format!("the body is not valid JSON: {error}"));
                self.chat.report(&error, "http_post");
                return chat_error_response(&error);
            }
        };
        let request = match self.chat.parse_send(Some(&payload), Some(room)) {
            Ok(request) => request,
            Err(error) => {
                self.chat.report(&error, "http_post");
                return chat_error_response(&error);
            }
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.chat.send(&self.namespace, request, move |result| {
            let _ = reply.send(result);
        });
        match answer.await {
            Ok(Ok(appended)) => {
                let status = if appended.duplicate {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                };
                json_response(status, &json!({"message": appended.message}))
            }
            Ok(Err(error)) => chat_error_response(&error),
            Err(_) => error_json(ErrorCode::Unavailable, "the server is shutting down"),
        }
    }

    async fn get_messages(&self, request: &Request<Incoming>, room: &str) -> HttpResponse {
        let mut query = serde_json::Map::new();
        for (key, value) in request
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter_map(|pair| pair.split_once('='))
        {
            let number = value
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(value.to_owned()));
            query.insert(key.to_owned(), number);
        }
        let history = match self
            .chat
            .parse_history(Some(&Value::Object(query)), Some(room))
        {
            Ok(history) => history,
            Err(error) => {
                self.chat.report(&error, "http_get");
                return chat_error_response(&error);
            }
        };
        match self.chat.history(&history).await {
            Ok(messages) => json_response(StatusCode::OK, &json!({"messages": messages})),
            Err(error) => {
                self.chat.report(&error, "http_get");
                chat_error_response(&error)
            }
        }
    }

    async fn health(&self) -> HttpResponse {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let store = self.chat.store().clone();
        tokio::spawn(async move {
            let _ = reply.send(store.flush().await);
        });
        match answer.await {
            Ok(Ok(())) => text(StatusCode::OK, "ok\n"),
            _ => text(StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n"),
        }
    }

    fn metrics(&self) -> HttpResponse {
        let body = metrics::render(&self.engine, &self.namespace, &self.chat);
        let mut response = text(StatusCode::OK, body);
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        response
    }
}

/// Serves one request to an Engine.IO endpoint: preflights, origin checks (a
/// WebSocket from a foreign origin is refused), then the engine itself.
pub async fn engine_endpoint(
    engine: &Arc<Engine>,
    policy: &CorsPolicy,
    request: Request<Incoming>,
) -> HttpResponse {
    let verdict = cors::judge(policy, request.headers());
    if request.method() == Method::OPTIONS {
        return cors::preflight(&verdict, request.headers());
    }
    if verdict == Verdict::Denied {
        let is_upgrade = request.headers().contains_key(UPGRADE);
        tracing::debug!(is_upgrade, "request from a forbidden origin refused");
        return EngineError::Forbidden.into_response();
    }
    let mut response = engine.handle(request).await;
    cors::decorate(&verdict, &mut response);
    response
}

fn page(file: &str, request: &Request<Incoming>) -> HttpResponse {
    let mut response = asset(file, request);
    let headers = response.headers_mut();
    for (name, value) in PAGE_SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    // Pages are small and name their assets; always revalidate them.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Files smaller than this are sent as they are: gzip would save too little.
const GZIP_MIN_BYTES: usize = 1024;

/// An embedded file, with its content type, an ETag so browsers revalidate cheaply,
/// and gzip for text when the client accepts it.
fn asset(file: &str, request: &Request<Incoming>) -> HttpResponse {
    // The embedded set has no `..`, but in debug builds rust-embed reads the folder
    // from disk, so paths that could climb out of it are refused outright.
    let climbs = file.split('/').any(|part| part == ".." || part.is_empty());
    let Some(content) = Assets::get(file).filter(|_| !climbs) else {
        return not_found();
    };
    let content_type = content_type(file);
    let compressible = content_type.starts_with("text/") || content_type == "image/svg+xml";
    let accepts_gzip = request
        .headers()
        .get(ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("gzip"));
    let gzip = compressible && accepts_gzip && content.data.len() >= GZIP_MIN_BYTES;
    let hash: String = content.metadata.sha256_hash()[..12]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let etag = if gzip {
        format!("\"{hash}-gz\"")
    } else {
        format!("\"{hash}\"")
    };
    let unchanged = request
        .headers()
        .get(IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == etag.as_bytes());
    let body = match (unchanged, gzip) {
        (true, _) => Bytes::new(),
        (false, true) => gzipped(file, &content.data),
        (false, false) => Bytes::from(content.data.into_owned()),
    };
    let mut response = Response::new(Full::new(body));
    if unchanged {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    if compressible {
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, etag);
    }
    response
}

/// The gzip form of an embedded file, compressed on first use and kept.
fn gzipped(file: &str, data: &[u8]) -> Bytes {
    static CACHE: OnceLock<Mutex<HashMap<String, Bytes>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let cached = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(file)
        .cloned();
    if let Some(bytes) = cached {
        return bytes;
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 3), Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    let bytes = Bytes::from(encoder.finish().unwrap_or_default());
    cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(file.to_owned(), bytes.clone());
    bytes
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// Decodes `%XX` escapes in a path segment; anything malformed is kept as it is and
/// then fails validation as a room name.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| segment.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn chat_error_response(error: &ChatError) -> HttpResponse {
    json_response(
        error.code().http_status(),
        &json!({"error": error.to_json()}),
    )
}

/// `{error: {code, message}}` with the code's status.
fn error_json(code: ErrorCode, message: &str) -> HttpResponse {
    json_response(
        code.http_status(),
        &json!({"error": {"code": code, "message": message}}),
    )
}

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub fn text(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

pub fn not_found() -> HttpResponse {
    text(StatusCode::NOT_FOUND, "not found\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_malformed_escapes() {
        assert_eq!(percent_decode("team%3Achat"), "team:chat");
        assert_eq!(percent_decode("bad%20room"), "bad room");
        assert_eq!(percent_decode("50%"), "50%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn assets_have_content_types() {
        assert_eq!(content_type("js/chat.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("lobby.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("unknown"), "application/octet-stream");
    }

    #[test]
    fn the_pages_are_embedded() {
        for file in [
            "lobby.html",
            "chat.html",
            "debug.html",
            "css/parley.css",
            "js/parley-io.js",
            "js/prefs.js",
        ] {
            assert!(Assets::get(file).is_some(), "{file} missing");
        }
    }

    #[test]
    fn chat_errors_answer_with_their_code_status() {
        let error = ChatError::BadPayload("room is required".into());
        assert_eq!(
            chat_error_response(&error).status(),
            StatusCode::BAD_REQUEST
        );
        let error =
            ChatError::from(crate::model::MessageText::parse(&"x".repeat(5), 4).unwrap_err());
        assert_eq!(
            chat_error_response(&error).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            chat_error_response(&ChatError::Busy).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
