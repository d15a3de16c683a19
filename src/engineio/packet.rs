//! Engine.IO v4 packets: decoding what clients send and encoding what we send.
//!
//! A packet is one type digit followed by its data. Over WebSocket every frame is
//! one packet and binary frames are always `message` packets; over HTTP long-polling
//! several packets share one body, separated by the record separator `\x1e`, and
//! binary packets travel as `b` + base64.
//!
//! Where the reference server (the `engine.io` npm package) is lenient, this decoder is
//! strict on purpose: it never guesses what a client meant. Invalid base64 is refused
//! instead of decoded approximately (which would hand the layer above bytes the client
//! never sent), and so are the packets only a server sends. The transports refuse
//! invalid UTF-8 before anything gets here, for the same reason.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use thiserror::Error;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Separates packets inside one long-polling body.
pub const RECORD_SEPARATOR: char = '\x1e';

/// A packet received from a client, parsed once at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Close,
    Pong(String),
    Message(Payload),
    Upgrade,
    Noop,
}

/// The data of a `message` packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Text(String),
    Binary(Bytes),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    #[error("packet type {0:?} is not accepted from a client")]
    NotFromClient(char),
    #[error("invalid base64 in binary packet")]
    Base64,
}

/// Decodes one text packet (a whole WebSocket text frame, or one record of a polling body).
pub fn decode_text(packet: &str) -> Result<Incoming, DecodeError> {
    let mut chars = packet.chars();
    let kind = chars.next().ok_or(DecodeError::Empty)?;
    let data = chars.as_str();
    match kind {
        // In Engine.IO v4 the server opens and the server pings; a client that sends
        // either has the directions confused, and the reference server closes on a
        // client ping too. The one legal client ping, the upgrade probe, is matched
        // literally by the WebSocket transport before anything is decoded.
        '0' | '2' => Err(DecodeError::NotFromClient(kind)),
        '1' => Ok(Incoming::Close),
        '3' => Ok(Incoming::Pong(data.to_owned())),
        '4' => Ok(Incoming::Message(Payload::Text(data.to_owned()))),
        '5' => Ok(Incoming::Upgrade),
        '6' => Ok(Incoming::Noop),
        'b' => BASE64
            .decode(data)
            .map(|bytes| Incoming::Message(Payload::Binary(Bytes::from(bytes))))
            .map_err(|_| DecodeError::Base64),
        other => Err(DecodeError::UnknownType(other)),
    }
}

/// Splits a long-polling request body into the packets to act on.
///
/// Every record must be a packet, so an empty body (one empty record, as the reference
/// parser sees it too) or a stray separator is an error. A body with a bad record is
/// refused whole: the reference server acts on the records before the bad one and then
/// closes, but the session ends either way and half of a corrupt body is no more
/// trustworthy than the rest. A `close` packet ends the session, so what follows it is
/// not looked at, as in the reference server.
pub fn decode_polling_body(body: &str) -> Result<Vec<Incoming>, DecodeError> {
    let mut packets = Vec::new();
    for record in body.split(RECORD_SEPARATOR) {
        let packet = decode_text(record)?;
        let closes = packet == Incoming::Close;
        packets.push(packet);
        if closes {
            break;
        }
    }
    Ok(packets)
}

/// A packet ready to be sent. Text frames hold the complete encoded packet (type digit
/// included) in a shared buffer, so a broadcast is encoded once and every recipient's
/// queue holds a cheap clone of the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(Utf8Bytes),
    Binary(Bytes),
}

impl Frame {
    pub(super) fn open(handshake_json: &str) -> Frame {
        Frame::Text(format!("0{handshake_json}").into())
    }

    pub(super) fn close() -> Frame {
        Frame::Text(Utf8Bytes::from_static("1"))
    }

    pub(super) fn ping() -> Frame {
        Frame::Text(Utf8Bytes::from_static("2"))
    }

    pub(super) fn noop() -> Frame {
        Frame::Text(Utf8Bytes::from_static("6"))
    }

    /// A `message` packet carrying text.
    pub fn text_message(text: &str) -> Frame {
        let mut encoded = String::with_capacity(text.len() + 1);
        encoded.push('4');
        encoded.push_str(text);
        Frame::Text(encoded.into())
    }

    /// A `message` packet carrying binary data.
    pub fn binary_message(data: Bytes) -> Frame {
        Frame::Binary(data)
    }

    /// Appends this frame to a long-polling response body.
    pub fn append_to_polling_body(&self, body: &mut String) {
        if !body.is_empty() {
            body.push(RECORD_SEPARATOR);
        }
        match self {
            Frame::Text(text) => body.push_str(text.as_str()),
            Frame::Binary(data) => {
                body.push('b');
                BASE64.encode_string(data, body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_client_packet_type() {
        assert_eq!(decode_text("1"), Ok(Incoming::Close));
        assert_eq!(decode_text("3"), Ok(Incoming::Pong(String::new())));
        assert_eq!(decode_text("3probe"), Ok(Incoming::Pong("probe".into())));
        assert_eq!(
            decode_text("4hello"),
            Ok(Incoming::Message(Payload::Text("hello".into())))
        );
        assert_eq!(
            decode_text("4"),
            Ok(Incoming::Message(Payload::Text(String::new())))
        );
        assert_eq!(decode_text("5"), Ok(Incoming::Upgrade));
        assert_eq!(decode_text("6"), Ok(Incoming::Noop));
        assert_eq!(
            decode_text("bAQID"),
            Ok(Incoming::Message(Payload::Binary(Bytes::from_static(&[
                1, 2, 3
            ]))))
        );
        assert_eq!(
            decode_text("b"),
            Ok(Incoming::Message(Payload::Binary(Bytes::new())))
        );
    }

    #[test]
    fn rejects_malformed_packets() {
        assert_eq!(decode_text(""), Err(DecodeError::Empty));
        assert_eq!(decode_text("7"), Err(DecodeError::UnknownType('7')));
        assert_eq!(decode_text("é"), Err(DecodeError::UnknownType('é')));
        assert_eq!(
            decode_text("\u{fffd}4"),
            Err(DecodeError::UnknownType('\u{fffd}'))
        );
    }

    #[test]
    fn rejects_what_only_a_server_sends() {
        assert_eq!(decode_text("0{}"), Err(DecodeError::NotFromClient('0')));
        assert_eq!(decode_text("0"), Err(DecodeError::NotFromClient('0')));
        assert_eq!(decode_text("2"), Err(DecodeError::NotFromClient('2')));
        assert_eq!(decode_text("2probe"), Err(DecodeError::NotFromClient('2')));
    }

    #[test]
    fn binary_packets_need_canonical_base64() {
        for lenient in ["b!!!!", "bAQ", "bAQ==x", "b-_8", "bAQ ID", "bAQ\nID"] {
            assert_eq!(
                decode_text(lenient),
                Err(DecodeError::Base64),
                "{lenient:?}"
            );
        }
    }

    #[test]
    fn splits_polling_bodies_on_the_record_separator() {
        assert_eq!(
            decode_polling_body("4a\x1ebAQ==\x1e3"),
            Ok(vec![
                Incoming::Message(Payload::Text("a".into())),
                Incoming::Message(Payload::Binary(Bytes::from_static(&[1]))),
                Incoming::Pong(String::new()),
            ])
        );
    }

    #[test]
    fn every_record_of_a_polling_body_must_be_a_packet() {
        for body in ["", "\x1e", "4a\x1e", "\x1e4a", "4a\x1e\x1e4b"] {
            assert_eq!(
                decode_polling_body(body),
                Err(DecodeError::Empty),
                "{body:?}"
            );
        }
        assert_eq!(
            decode_polling_body("4a\x1e7"),
            Err(DecodeError::UnknownType('7'))
        );
    }

    #[test]
    fn a_close_packet_ends_a_polling_body() {
        assert_eq!(
            decode_polling_body("4a\x1e1\x1e4b\x1e7"),
            Ok(vec![
                Incoming::Message(Payload::Text("a".into())),
                Incoming::Close
            ])
        );
        assert_eq!(decode_polling_body("1\x1e"), Ok(vec![Incoming::Close]));
    }

    #[test]
    fn encodes_polling_bodies() {
        let mut body = String::new();
        Frame::text_message("hi").append_to_polling_body(&mut body);
        Frame::binary_message(Bytes::from_static(&[1, 2, 3])).append_to_polling_body(&mut body);
        Frame::ping().append_to_polling_body(&mut body);
        assert_eq!(body, "4hi\x1ebAQID\x1e2");
    }
}
