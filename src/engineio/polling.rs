//! The HTTP long-polling transport: the handshake, GET to receive, POST to send.
//!
//! A session allows one GET and one POST in flight at a time; a second one of the same
//! kind is a protocol violation that ends the session.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as IncomingBody;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::packet::decode_polling_body;
use super::session::{Drained, PollDirection, RequestConflict};
use super::{CloseReason, Engine, EngineError, Frame, Session, TransportKind};
use crate::server::HttpResponse;

pub(super) fn handshake(engine: &Arc<Engine>) -> HttpResponse {
    let (session, open) = engine.open_session(TransportKind::Polling);
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
    let limit = engine.config.max_payload;
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            let too_large = error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            session.close(CloseReason::TransportError);
            if too_large {
                let mut response = text_response("Payload Too Large".into(), "text/plain");
                *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                return response;
            }
            return EngineError::BadRequest.into_response();
        }
    };
    let packets = std::str::from_utf8(&body)
        .ok()
        .and_then(|text| decode_polling_body(text).ok());
    let Some(packets) = packets else {
        tracing::debug!(sid = session.sid(), "undecodable polling body");
        session.close(CloseReason::TransportError);
        return EngineError::BadRequest.into_response();
    };
    for packet in packets {
        engine.receive(session, packet);
    }
    text_response("ok".into(), "text/html")
}

fn text_response(body: String, content_type: &'static str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
