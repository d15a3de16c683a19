//! The HTTP long-polling transport: the handshake, GET to receive, POST to send.
//!
//! A session allows one GET and one POST in flight at a time; a second one of the same
//! kind is a protocol violation that ends the session.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as IncomingBody;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::packet::decode_polling_body;
use super::session::{Drained, PollDirection, RequestConflict};
use super::{CloseReason, Engine, EngineError, Frame, Session, TransportKind};
use crate::server::HttpResponse;

pub(super) fn handshake(engine: &Arc<Engine>, cookie: Option<HeaderValue>) -> HttpResponse {
    let (session, open) = engine.open_session(TransportKind::Polling, cookie);
    engine.handler.on_open(&session);
    let mut body = String::new();
    open.append_to_polling_body(&mut body);
    text_response(body, "text/plain; charset=UTF-8")
}

pub(super) async fn request(
    engine: &Arc<Engine>,
    request: Request<IncomingBody>,
    session: Arc<Session>,
) -> HttpResponse {
    let direction = match *request.method() {
        Method::GET => PollDirection::Get,
        Method::POST => PollDirection::Post,
        _ => return EngineError::BadRequest.into_response(),
    };
    match session.begin_request(direction) {
        Ok(()) => {}
        Err(RequestConflict::NotPolling) => return EngineError::BadRequest.into_response(),
        Err(RequestConflict::Concurrent) => {
            tracing::debug!(sid = session.sid(), "concurrent polling request");
            session.close(CloseReason::TransportError);
            return EngineError::BadRequest.into_response();
        }
    }
    // Releases the in-flight mark however this request ends, including when the
    // client goes away and hyper drops this future.
    let _in_flight = InFlight {
        session: &session,
        direction,
    };
    match direction {
        PollDirection::Get => {
            let response = poll(&session).await;
            // This GET carried the end of the session (its close packet, or the noop
            // after the client's own close): any later request is for an unknown sid.
            if session.is_closed() {
                engine.forget(&session);
            }
            response
        }
        // Whatever the client still sends after its session ended is not delivered.
        PollDirection::Post if session.is_closed() => EngineError::BadRequest.into_response(),
        PollDirection::Post => post(engine, request, &session).await,
    }
}

struct InFlight<'a> {
    session: &'a Session,
    direction: PollDirection,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.session.end_request(self.direction);
    }
}

async fn poll(session: &Session) -> HttpResponse {
    let mut body = String::new();
    match session.drain().await {
        Drained::Frames(frames) => {
            for frame in &frames {
                frame.append_to_polling_body(&mut body);
            }
        }
        // An upgrade is finishing, or the client closed the session itself: the poll
        // just ends cleanly.
        Drained::Released | Drained::Closed => Frame::noop().append_to_polling_body(&mut body),
    }
    text_response(body, "text/plain; charset=UTF-8")
}

async fn post(
    engine: &Engine,
    request: Request<IncomingBody>,
    session: &Arc<Session>,
) -> HttpResponse {
    // A v4 payload is text; a body declared binary is the older protocol's framing,
    // which the reference server refuses the same way.
    if is_binary(&request) {
        return refuse(session, "binary polling body");
    }
    let body = tokio::select! {
        body = read_body(request.into_body(), engine.config.max_payload) => body,
        // The session ended while the body was on its way (another request broke the
        // protocol, or the heartbeat timed out because this body never came): nothing
        // of it is delivered, and a client that stopped sending is not waited for.
        _ = session.wait_closed() => return EngineError::BadRequest.into_response(),
    };
    let body = match body {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            session.close(CloseReason::TransportError);
            let mut response = text_response("Payload Too Large".into(), "text/plain");
            *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return response;
        }
        Err(BodyError::Broken) => return refuse(session, "polling body cut short"),
    };
    // Strict UTF-8: the reference server would replace bad bytes with U+FFFD and pass
    // the altered text on as if the client had sent it.
    let packets = std::str::from_utf8(&body)
        .ok()
        .and_then(|text| decode_polling_body(text).ok());
    let Some(packets) = packets else {
        // The reference server answers 200 and closes; 400 tells the client at once
        // that nothing it sent was taken.
        return refuse(session, "undecodable polling body");
    };
    for packet in packets {
        // The layer above may end the session on a packet; what follows is not delivered.
        if session.is_closed() {
            break;
        }
        engine.receive(session, packet);
    }
    text_response("ok".into(), "text/html")
}

/// Ends the session for a request that broke the protocol, with the protocol's answer.
fn refuse(session: &Session, what: &'static str) -> HttpResponse {
    tracing::debug!(sid = session.sid(), what, "polling request refused");
    session.close(CloseReason::TransportError);
    EngineError::BadRequest.into_response()
}

fn is_binary(request: &Request<IncomingBody>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| {
            media_type
                .trim()
                .eq_ignore_ascii_case("application/octet-stream")
        })
}

enum BodyError {
    TooLarge,
    /// The client stopped sending, or sent a malformed chunked encoding.
    Broken,
}

/// Reads a request body into one buffer of at most `limit` bytes. Each chunk is copied
/// as it arrives, so a body sent in tiny chunks costs no more memory than its bytes
/// (the reference server caps the number of chunks instead).
///
/// A declared length over the limit is not refused before reading: closing a
/// connection with unread data makes the kernel reset it, and the client would often
/// lose the 413 with it. Reading stops one chunk past the limit anyway.
async fn read_body(mut body: IncomingBody, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

fn text_response(body: String, content_type: &'static str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
