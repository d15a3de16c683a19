//! HTTP routing: the pages and their assets (embedded in the binary, `assets.rs`), the
//! REST API (the room's messages here, the accounts in `accounts.rs`), health and
//! metrics, and the Engine.IO endpoint behind the cross-origin rules. Who a request is,
//! and which pages need someone signed in, is `auth.rs`.

mod accounts;
mod assets;
mod auth;
mod files;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue, UPGRADE};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::accounts::{Accounts, AuthMode, Identity};
use crate::chat::{Chat, ChatError};
use crate::cors::{self, CorsPolicy, Verdict};
use crate::engineio::{Engine, EngineError};
use crate::error::ErrorCode;
use crate::metrics;
use crate::server::{ClientAddr, HttpResponse};
use crate::socketio::Namespace;
use assets::asset;
use auth::AccountPage;

/// Where the Socket.IO endpoint lives.
pub const SOCKET_IO_PATH: &str = "/socket.io/";

/// Everything a request may need.
pub struct App {
    pub engine: Arc<Engine>,
    /// The chat's namespace, `/`.
    pub namespace: Arc<Namespace>,
    pub chat: Arc<Chat>,
    pub cors: CorsPolicy,
    /// Whether people sign in. In open mode the accounts are loaded but never asked.
    pub auth: AuthMode,
    pub accounts: Arc<Accounts>,
}

impl App {
    pub async fn route(self: Arc<Self>, request: Request<Incoming>) -> HttpResponse {
        let path = request.uri().path().to_owned();
        if path.starts_with(SOCKET_IO_PATH) {
            return engine_endpoint(&self.engine, &self.cors, request).await;
        }
        if let Some(rest) = path.strip_prefix("/api/") {
            return self.api(request, rest).await;
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        }
        match path.as_str() {
            "/" => self.signed_in_page("lobby.html", &request),
            "/test-chat-debug" => self.signed_in_page("debug.html", &request),
            "/favicon.ico" => asset("favicon.svg", &request),
            "/manifest.webmanifest" => asset("manifest.webmanifest", &request),
            // At the root, so that the service worker's scope is the whole site.
            "/sw.js" => asset("sw.js", &request),
            "/healthz" => self.health().await,
            "/metrics" => self.metrics(),
            "/settings" => self.account_page(AccountPage::Settings, &request),
            "/setup" => self.account_page(AccountPage::Setup, &request),
            "/signin" => self.account_page(AccountPage::SignIn, &request),
            _ => {
                if path.starts_with("/chat/") {
                    self.signed_in_page("chat.html", &request)
                } else if let Some(rest) = path.strip_prefix("/files/") {
                    self.download(&request, rest).await
                } else if path.starts_with("/join/") {
                    self.account_page(AccountPage::Join, &request)
                } else if let Some(file) = path.strip_prefix("/assets/") {
                    asset(file, &request)
                } else {
                    not_found()
                }
            }
        }
    }

    /// Every `/api/` request: the cross-origin rules and the rate limit first, then
    /// the room's messages here or the accounts' routes.
    async fn api(&self, request: Request<Incoming>, rest: &str) -> HttpResponse {
        let verdict = cors::judge(&self.cors, request.headers());
        let mut response = match *request.method() {
            Method::OPTIONS => return cors::preflight(&verdict, request.headers()),
            _ if verdict == Verdict::Denied => {
                error_json(ErrorCode::Forbidden, "origin not allowed")
            }
            _ if let Err(error) = self.admit(&request) => self.refuse(&error, "http"),
            _ if rest == "search" => self.search(request).await,
            _ => match rest.strip_prefix("rooms/").and_then(room_route) {
                Some((room, RoomRoute::Messages)) => {
                    self.messages(request, &percent_decode(room)).await
                }
                Some((room, RoomRoute::Files)) => self.upload(request, &percent_decode(room)).await,
                None => self.accounts_api(request, rest).await,
            },
        };
        cors::decorate(&verdict, &mut response);
        response
    }

    /// `GET /api/search?q=&room=&limit=&before=`: `{results}` as the `search` event
    /// answers, for someone signed in (anyone in open mode).
    async fn search(&self, request: Request<Incoming>) -> HttpResponse {
        if request.method() != Method::GET {
            let mut response = error_json(ErrorCode::Invalid, "use GET");
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            return response;
        }
        let author = match self.requester(&request) {
            Ok(author) => author,
            Err(error) => return self.refuse(&error, "http"),
        };
        let found = match self.chat.parse_search(Some(&query_object(&request))) {
            Ok(search) => self.chat.search(author.as_ref(), search).await,
            Err(error) => Err(error),
        };
        match found {
            Ok(results) => json_response(StatusCode::OK, &json!({"results": results})),
            Err(error) => self.refuse(&error, "http_search"),
        }
    }

    /// `/api/rooms/{room}/messages`: in accounts mode only for someone signed in who may
    /// read the room, whose messages are theirs whatever the payload says.
    async fn messages(&self, request: Request<Incoming>, room: &str) -> HttpResponse {
        let author = match self.requester(&request) {
            Ok(author) => author,
            Err(error) => return self.refuse(&error, "http"),
        };
        match *request.method() {
            Method::POST => self.post_message(request, room, author.as_ref()).await,
            Method::GET => self.get_messages(&request, room, author.as_ref()).await,
            _ => {
                let mut response = error_json(ErrorCode::Invalid, "use GET or POST");
                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                response
            }
        }
    }

    /// Whether the client's address may make one more API request now. Every request
    /// the server accepted carries its address.
    fn admit(&self, request: &Request<Incoming>) -> Result<(), ChatError> {
        match client_ip(request) {
            Some(address) => self.chat.admit_http(address),
            None => Ok(()),
        }
    }

    /// Counts and logs a refused request (as [`Chat::report`]) and answers it.
    fn refuse(&self, error: &ChatError, event: &str) -> HttpResponse {
        self.chat.report(error, event);
        chat_error_response(error)
    }

    async fn post_message(
        &self,
        request: Request<Incoming>,
        room: &str,
        author: Option<&Identity>,
    ) -> HttpResponse {
        let payload = match read_json(request, self.engine.config().max_payload).await {
            Ok(payload) => payload,
            Err(error) => return self.refuse(&error, "http_post"),
        };
        let request = match self.chat.parse_send(Some(&payload), Some(room), author) {
            Ok(request) => request,
            Err(error) => return self.refuse(&error, "http_post"),
        };
        // Sending to an open room makes the sender a member, as joining it would.
        match self.chat.enter(&self.namespace, author, &request.room) {
            Ok(Some(change)) => self.chat.settle_later(&self.namespace, change),
            Ok(None) => {}
            Err(error) => return self.refuse(&error, "http_post"),
        }
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

    async fn get_messages(
        &self,
        request: &Request<Incoming>,
        room: &str,
        author: Option<&Identity>,
    ) -> HttpResponse {
        let history = match self
            .chat
            .parse_history(Some(&query_object(request)), Some(room))
            .and_then(|history| {
                self.chat.check_read(author, &history.room)?;
                Ok(history)
            }) {
            Ok(history) => history,
            Err(error) => return self.refuse(&error, "http_get"),
        };
        match self.chat.history(&history).await {
            Ok(history) => json_response(StatusCode::OK, &history),
            Err(error) => self.refuse(&error, "http_get"),
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

/// The address a request came from; every request the server accepted carries it.
fn client_ip(request: &Request<Incoming>) -> Option<std::net::IpAddr> {
    let ClientAddr(address) = request.extensions().get::<ClientAddr>()?;
    Some(address.ip())
}

/// A request's body as JSON, at most `limit` bytes of it.
async fn read_json(request: Request<Incoming>, limit: usize) -> Result<Value, ChatError> {
    let body = Limited::new(request.into_body(), limit)
        .collect()
        .await
        .map_err(|_| ChatError::BodyTooLarge(limit))?
        .to_bytes();
    serde_json::from_slice(&body)
        .map_err(|error| ChatError::BadPayload(format!("the body is not valid JSON: {error}")))
}

/// Decodes `%XX` escapes in a path segment; anything malformed is kept as it is and
/// then fails validation (as a room name, a username…).
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

/// What a `/api/rooms/{room}/…` request is about.
enum RoomRoute {
    Messages,
    Files,
}

/// The room and the route of what follows `/api/rooms/`.
fn room_route(rest: &str) -> Option<(&str, RoomRoute)> {
    if let Some(room) = rest.strip_suffix("/messages") {
        Some((room, RoomRoute::Messages))
    } else {
        rest.strip_suffix("/files")
            .map(|room| (room, RoomRoute::Files))
    }
}

/// The query parameters that are numbers (cursors and limits); every other one is text,
/// whatever it looks like (a search for "007" is not one for 7).
const NUMERIC_PARAMETERS: [&str; 4] = ["before", "after", "limit", "since"];

/// A request's query string as a JSON object, as the events' payloads are: each value
/// percent-decoded (`+` is a space); the [`NUMERIC_PARAMETERS`] as numbers when they
/// are all digits.
fn query_object(request: &Request<Incoming>) -> Value {
    let decode = |text: &str| percent_decode(&text.replace('+', " "));
    let mut query = serde_json::Map::new();
    for (key, value) in request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
    {
        let (key, value) = (decode(key), decode(value));
        let number = NUMERIC_PARAMETERS
            .contains(&key.as_str())
            .then(|| value.parse::<u64>().ok())
            .flatten();
        let value = number.map_or(Value::String(value), Value::from);
        query.insert(key, value);
    }
    Value::Object(query)
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

fn json_response(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    let body = match serde_json::to_vec(body) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "cannot encode a response");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "the server failed\n");
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
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
