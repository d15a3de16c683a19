//! HTTP routing: the Engine.IO endpoint behind the cross-origin rules, and small
//! helpers for plain responses.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue, UPGRADE};
use hyper::{Method, Request, Response, StatusCode};

use crate::config::CorsPolicy;
use crate::cors::{self, Verdict};
use crate::engineio::{Engine, EngineError, HttpResponse};

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
