//! The WebSocket transport: sessions that start on WebSocket, and the upgrade of a
//! long-polling session (`2probe` → `3probe`, then `5`).
//!
//! One task per connection reads frames and writes whatever the session queued,
//! writing everything that is ready before a single flush so that a burst of
//! messages costs one syscall, not one per message.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming as IncomingBody;
use hyper::header::{
    CONNECTION, COOKIE, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::packet::decode_text;
use super::session::Drained;
use super::{CloseReason, Engine, EngineError, Frame, Incoming, Payload, Session, TransportKind};
use crate::server::HttpResponse;

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// How long a closing handshake may take before the connection is simply dropped.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Accepts a WebSocket request: a new session when `existing` is None, otherwise an
/// upgrade of that polling session.
pub(super) async fn accept(
    engine: Arc<Engine>,
    mut request: Request<IncomingBody>,
    existing: Option<Arc<Session>>,
) -> HttpResponse {
    let is_websocket = request
        .headers()
        .get(UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"));
    let Some(key) = request.headers().get(SEC_WEBSOCKET_KEY).cloned() else {
        return EngineError::BadRequest.into_response();
    };
    if !is_websocket {
        return EngineError::BadRequest.into_response();
    }
    // A second upgrade of one session is refused by closing the new socket right
    // after the handshake, which is how clients expect to be turned away.
    let existing = match existing {
        Some(session) if !session.begin_upgrade() => Err(()),
        other => Ok(other),
    };

    let cookie = request.headers().get(COOKIE).cloned();
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%error, "websocket upgrade failed");
                if let Ok(Some(session)) = &existing {
                    session.finish_upgrade(false);
                }
                return;
            }
        };
        let socket = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(socket_config(engine.config.max_payload)),
        )
        .await;
        match existing {
            Err(()) => close_gently(socket, Some(CloseCode::Policy)).await,
            // Boxed: its probe and timer would otherwise enlarge every connection's
            // task, upgraded or not, for the whole life of the connection.
            Ok(Some(session)) => Box::pin(upgrade(engine, socket, session)).await,
            Ok(None) => {
                let (session, open) = engine.open_session(TransportKind::WebSocket, cookie);
                session.send(open);
                engine.handler.on_open(&session);
                serve(&engine, socket, &session).await;
            }
        }
    });

    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

fn socket_config(max_payload: usize) -> WebSocketConfig {
    // A small read buffer: it is allocated for every connection up front and idle
    // connections are the common case; bigger frames just take several reads. Writes
    // are buffered (the default) so that a burst of frames leaves in one syscall.
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .max_message_size(Some(max_payload))
        .max_frame_size(Some(max_payload))
}

async fn upgrade(engine: Arc<Engine>, mut socket: Socket, session: Arc<Session>) {
    let probed = tokio::time::timeout(engine.config.upgrade_timeout, probe(&mut socket, &session));
    match probed.await {
        Ok(true) => {
            session.finish_upgrade(true);
            tracing::debug!(sid = session.sid(), "upgraded to websocket");
            serve(&engine, socket, &session).await;
        }
        _ => {
            tracing::debug!(sid = session.sid(), "websocket upgrade abandoned");
            session.finish_upgrade(false);
            close_gently(socket, Some(CloseCode::Protocol)).await;
        }
    }
}

/// Runs the probe exchange. True when the client completed the upgrade.
async fn probe(socket: &mut Socket, session: &Session) -> bool {
    let mut probed = false;
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        // The probe is the one ping a client may send, so it is matched as it is
        // rather than decoded (the decoder refuses client pings).
        if probed {
            return decode_text(text.as_str()) == Ok(Incoming::Upgrade);
        }
        if text.as_str() != "2probe" || socket.send(Message::text("3probe")).await.is_err() {
            return false;
        }
        session.release_poll();
        probed = true;
        if session.is_closed() {
            return false;
        }
    }
    false
}

/// Moves frames both ways until the session or the socket ends.
async fn serve(engine: &Engine, mut socket: Socket, session: &Arc<Session>) {
    // Why the client broke the connection, if it did, for the close frame's status.
    let mut violation = None;
    loop {
        tokio::select! {
            incoming = socket.next() => {
                let packet = match incoming {
                    Some(Ok(Message::Text(text))) => decode_text(text.as_str()),
                    Some(Ok(Message::Binary(data))) => Ok(Incoming::Message(Payload::Binary(data))),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(_))) | None => {
                        session.close(CloseReason::TransportClose);
                        break;
                    }
                    Some(Err(error)) => {
                        tracing::debug!(sid = session.sid(), %error, "websocket read failed");
                        violation = Some(close_code_for(&error));
                        session.close(CloseReason::TransportError);
                        break;
                    }
                };
                match packet {
                    Ok(packet) => engine.receive(session, packet),
                    Err(error) => {
                        tracing::debug!(sid = session.sid(), %error, "bad packet");
                        violation = Some(CloseCode::Protocol);
                        session.close(CloseReason::TransportError);
                    }
                }
            }
            drained = session.drain() => {
                let Drained::Frames(frames) = drained else {
                    break;
                };
                // A client that stops reading would block this write forever and
                // keep its connection and buffers alive after its session is gone.
                // Its queue overflowing or its pongs stopping (the heartbeat runs on
                // its own task) abandons the session, and with it this write; no
                // timer per write is needed.
                let written = tokio::select! {
                    written = write_all(&mut socket, frames) => written.is_ok(),
                    _ = session.wait_abandoned() => false,
                };
                if !written {
                    session.close(CloseReason::TransportError);
                    return;
                }
            }
        }
    }
    let code = violation.or_else(|| match session.close_reason() {
        Some(CloseReason::ServerShutdown) => Some(CloseCode::Away),
        // The client closed: our close frame just answers its own.
        Some(CloseReason::TransportClose) | None => None,
        Some(_) => Some(CloseCode::Normal),
    });
    // Boxed, like the upgrade: needed once, at the end, but its size would count for
    // the whole life of every connection.
    Box::pin(close_gently(socket, code)).await;
}

/// The WebSocket status (RFC 6455 §7.4.1) for a frame the client got wrong.
fn close_code_for(error: &tokio_tungstenite::tungstenite::Error) -> CloseCode {
    use tokio_tungstenite::tungstenite::Error;
    match error {
        Error::Capacity(_) => CloseCode::Size,
        Error::Utf8(_) => CloseCode::Invalid,
        _ => CloseCode::Protocol,
    }
}

/// Sends a close frame (with a status when there is one) if the client is still
/// reading; never waits long for it.
async fn close_gently(mut socket: Socket, code: Option<CloseCode>) {
    let frame = code.map(|code| CloseFrame {
        code,
        reason: Utf8Bytes::default(),
    });
    let _ = tokio::time::timeout(CLOSE_GRACE, socket.close(frame)).await;
}

async fn write_all(
    socket: &mut Socket,
    frames: Vec<Frame>,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    for frame in frames {
        let message = match frame {
            Frame::Text(text) => Message::Text(text),
            Frame::Binary(data) => Message::Binary(data),
        };
        socket.feed(message).await?;
    }
    socket.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::Error;
    use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};

    #[test]
    fn broken_frames_get_the_matching_close_status() {
        let too_big = Error::Capacity(CapacityError::MessageTooLong {
            size: 2,
            max_size: 1,
        });
        assert_eq!(close_code_for(&too_big), CloseCode::Size);
        assert_eq!(
            close_code_for(&Error::Utf8("bad".into())),
            CloseCode::Invalid
        );
        let unmasked = Error::Protocol(ProtocolError::UnmaskedFrameFromClient);
        assert_eq!(close_code_for(&unmasked), CloseCode::Protocol);
    }
}
