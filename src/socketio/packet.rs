//! Socket.IO v5 packets: the text encoding carried inside Engine.IO `message` packets.
//!
//! `<type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]`. Binary packets carry
//! placeholders `{"_placeholder":true,"num":N}` in their JSON and their attachments
//! follow as separate binary Engine.IO messages.

use bytes::Bytes;
use serde_json::Value;
use thiserror::Error;

/// More attachments than this in one packet is treated as an attack, not a payload.
pub const MAX_ATTACHMENTS: usize = 64;
/// Ack ids beyond this many digits cannot be a client's counter.
const MAX_ACK_ID_DIGITS: usize = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl PacketType {
    fn from_digit(digit: char) -> Option<PacketType> {
        Some(match digit {
            '0' => PacketType::Connect,
            '1' => PacketType::Disconnect,
            '2' => PacketType::Event,
            '3' => PacketType::Ack,
            '4' => PacketType::ConnectError,
            '5' => PacketType::BinaryEvent,
            '6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    fn digit(self) -> char {
        match self {
            PacketType::Connect => '0',
            PacketType::Disconnect => '1',
            PacketType::Event => '2',
            PacketType::Ack => '3',
            PacketType::ConnectError => '4',
            PacketType::BinaryEvent => '5',
            PacketType::BinaryAck => '6',
        }
    }

    fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub kind: PacketType,
    pub namespace: String,
    pub ack_id: Option<u64>,
    pub data: Option<Value>,
    /// Number of binary attachments that follow this packet.
    pub attachments: usize,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PacketError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type")]
    UnknownType,
    #[error("invalid attachment count")]
    AttachmentCount,
    #[error("invalid namespace")]
    Namespace,
    #[error("invalid ack id")]
    AckId,
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("payload does not fit the packet type")]
    Payload,
    #[error("binary placeholders do not match the attachments")]
    Placeholders,
}

impl Packet {
    /// A packet without binary attachments.
    pub fn new(
        kind: PacketType,
        namespace: &str,
        ack_id: Option<u64>,
        data: Option<Value>,
    ) -> Packet {
        Packet {
            kind,
            namespace: namespace.to_owned(),
            ack_id,
            data,
            attachments: 0,
        }
    }

    /// Parses one packet as sent by a client and checks that its data has the shape
    /// its type requires.
    pub fn decode(text: &str) -> Result<Packet, PacketError> {
        let mut rest = text;
        let kind = rest
            .chars()
            .next()
            .ok_or(PacketError::Empty)
            .and_then(|digit| PacketType::from_digit(digit).ok_or(PacketError::UnknownType))?;
        rest = &rest[1..];

        let mut attachments = 0;
        if kind.is_binary() {
            let (count, after) = rest.split_once('-').ok_or(PacketError::AttachmentCount)?;
            attachments = parse_digits(count).ok_or(PacketError::AttachmentCount)?;
            if attachments > MAX_ATTACHMENTS as u64 {
                return Err(PacketError::AttachmentCount);
            }
            rest = after;
        }

        let mut namespace = "/";
        if rest.starts_with('/') {
            let end = rest.find(',').unwrap_or(rest.len());
            namespace = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or("");
        }

        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let ack_id = if digits == 0 {
            None
        } else if digits > MAX_ACK_ID_DIGITS {
            return Err(PacketError::AckId);
        } else {
            Some(parse_digits(&rest[..digits]).ok_or(PacketError::AckId)?)
        };
        rest = &rest[digits..];

        let data = if rest.is_empty() {
            None
        } else {
            Some(
                serde_json::from_str::<Value>(rest)
                    .map_err(|e| PacketError::Json(e.to_string()))?,
            )
        };

        let packet = Packet {
            kind,
            namespace: namespace.to_owned(),
            ack_id,
            data,
            attachments: attachments as usize,
        };
        packet.check_shape()?;
        Ok(packet)
    }

    fn check_shape(&self) -> Result<(), PacketError> {
        let valid = match self.kind {
            PacketType::Connect => matches!(self.data, None | Some(Value::Object(_))),
            PacketType::Disconnect => self.data.is_none(),
            PacketType::Event | PacketType::BinaryEvent => match &self.data {
                Some(Value::Array(items)) => matches!(items.first(), Some(Value::String(_))),
                _ => false,
            },
            PacketType::Ack | PacketType::BinaryAck => {
                self.ack_id.is_some() && matches!(self.data, Some(Value::Array(_)))
            }
            // Only servers send connection errors.
            PacketType::ConnectError => false,
        };
        if !valid {
            return Err(PacketError::Payload);
        }
        if self.kind.is_binary() && !placeholders_match(self.data.as_ref(), self.attachments) {
            return Err(PacketError::Placeholders);
        }
        Ok(())
    }

    /// The text part of the packet, for sending. Attachments are sent separately.
    pub fn encode(&self) -> String {
        // Built as bytes and checked as UTF-8 once at the end: serde_json writes in
        // many small pieces, and checking each piece cost more than the JSON itself.
        let mut out = Vec::with_capacity(64);
        encode_header(
            self.kind,
            &self.namespace,
            self.attachments,
            self.ack_id,
            &mut out,
        );
        if let Some(data) = &self.data {
            // Serializing a `Value` into memory cannot fail.
            let _ = serde_json::to_writer(&mut out, data);
        }
        into_text(out)
    }
}

/// Writes everything of a packet that comes before its JSON data.
pub(super) fn encode_header(
    kind: PacketType,
    namespace: &str,
    attachments: usize,
    ack_id: Option<u64>,
    out: &mut Vec<u8>,
) {
    out.push(kind.digit() as u8);
    if kind.is_binary() {
        out.extend_from_slice(attachments.to_string().as_bytes());
        out.push(b'-');
    }
    if namespace != "/" {
        out.extend_from_slice(namespace.as_bytes());
        out.push(b',');
    }
    if let Some(id) = ack_id {
        out.extend_from_slice(id.to_string().as_bytes());
    }
}

/// The encoded packet as text. Everything an encoder writes is UTF-8 (namespaces are
/// strs and serde_json emits UTF-8), so the lossy path is never taken.
pub(super) fn into_text(out: Vec<u8>) -> String {
    String::from_utf8(out)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The JSON that stands in for attachment `num` inside a binary packet.
pub fn placeholder(num: usize) -> Value {
    serde_json::json!({"_placeholder": true, "num": num})
}

fn placeholder_num(value: &Value) -> Option<Option<u64>> {
    let Value::Object(map) = value else {
        return None;
    };
    if map.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    Some(map.get("num").and_then(Value::as_u64))
}

/// True when the data holds exactly one placeholder for each of `count` attachments.
fn placeholders_match(data: Option<&Value>, count: usize) -> bool {
    let mut seen = vec![false; count];
    let mut stack: Vec<&Value> = data.into_iter().collect();
    while let Some(value) = stack.pop() {
        if let Some(num) = placeholder_num(value) {
            match num.map(|n| n as usize) {
                Some(n) if n < count && !seen[n] => seen[n] = true,
                _ => return false,
            }
            continue;
        }
        match value {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    seen.into_iter().all(|found| found)
}

/// A binary packet whose attachments are still arriving.
pub struct PartialBinary {
    packet: Packet,
    attachments: Vec<Bytes>,
}

impl PartialBinary {
    pub fn new(packet: Packet) -> PartialBinary {
        let expected = packet.attachments;
        PartialBinary {
            packet,
            attachments: Vec::with_capacity(expected),
        }
    }

    /// Adds one attachment; returns the packet and its attachments once all arrived.
    pub fn push(mut self, attachment: Bytes) -> Result<(Packet, Vec<Bytes>), PartialBinary> {
        self.attachments.push(attachment);
        if self.attachments.len() == self.packet.attachments {
            Ok((self.packet, self.attachments))
        } else {
            Err(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_connect_with_and_without_namespace_and_auth() {
        let root = Packet::decode("0").unwrap();
        assert_eq!(
            (root.kind, root.namespace.as_str(), root.data),
            (PacketType::Connect, "/", None)
        );
        let custom = Packet::decode("0/custom").unwrap();
        assert_eq!(custom.namespace, "/custom");
        let with_comma = Packet::decode("0/custom,{\"token\":1}").unwrap();
        assert_eq!(with_comma.data, Some(json!({"token": 1})));
        assert_eq!(
            Packet::decode("0{\"a\":\"b\"}").unwrap().data,
            Some(json!({"a": "b"}))
        );
    }

    #[test]
    fn decodes_events_and_acks() {
        let event = Packet::decode("2/chat,12[\"hello\",1]").unwrap();
        assert_eq!(event.kind, PacketType::Event);
        assert_eq!(event.namespace, "/chat");
        assert_eq!(event.ack_id, Some(12));
        assert_eq!(event.data, Some(json!(["hello", 1])));
        let ack = Packet::decode("34[\"ok\"]").unwrap();
        assert_eq!((ack.kind, ack.ack_id), (PacketType::Ack, Some(4)));
        assert_eq!(
            Packet::decode("1/chat,").unwrap().kind,
            PacketType::Disconnect
        );
    }

    #[test]
    fn decodes_binary_packets_with_their_placeholder_count() {
        let packet = Packet::decode(
            "52-[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
        )
        .unwrap();
        assert_eq!(
            (packet.kind, packet.attachments),
            (PacketType::BinaryEvent, 2)
        );
        let ack = Packet::decode("61-/a,7[{\"_placeholder\":true,\"num\":0}]").unwrap();
        assert_eq!(
            (ack.kind, ack.ack_id, ack.namespace.as_str()),
            (PacketType::BinaryAck, Some(7), "/a")
        );
    }

    #[test]
    fn rejects_malformed_packets() {
        let cases = [
            ("", PacketError::Empty),
            ("9", PacketError::UnknownType),
            ("2", PacketError::Payload),
            ("2{}", PacketError::Payload),
            ("2[]", PacketError::Payload),
            ("2[1]", PacketError::Payload),
            (
                "2[\"a\"",
                PacketError::Json("EOF while parsing a list at line 1 column 4".into()),
            ),
            ("0[1]", PacketError::Payload),
            ("1{}", PacketError::Payload),
            ("3[1]", PacketError::Payload),
            ("4{}", PacketError::Payload),
            ("5[\"a\"]", PacketError::AttachmentCount),
            ("5x-[\"a\"]", PacketError::AttachmentCount),
            ("599-[\"a\"]", PacketError::AttachmentCount),
            (
                "52-[\"a\",{\"_placeholder\":true,\"num\":0}]",
                PacketError::Placeholders,
            ),
            (
                "51-[\"a\",{\"_placeholder\":true,\"num\":3}]",
                PacketError::Placeholders,
            ),
            (
                "51-[\"a\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":0}]",
                PacketError::Placeholders,
            ),
            ("21234567890123456[\"a\"]", PacketError::AckId),
        ];
        for (input, expected) in cases {
            assert_eq!(Packet::decode(input), Err(expected), "input {input:?}");
        }
    }

    #[test]
    fn numbers_survive_a_round_trip_exactly() {
        // Found by fuzzing: without correctly rounded float parsing the last digit of
        // a client's number could change on its way back.
        let packet =
            Packet::decode("2[\"n\",1840664407370184461751616,1.8406644073701846e24]").unwrap();
        assert_eq!(Packet::decode(&packet.encode()).unwrap(), packet);
    }

    #[test]
    fn deeply_nested_json_is_an_error_not_a_crash() {
        let nested = format!("2[\"a\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(Packet::decode(&nested), Err(PacketError::Json(_))));
    }

    #[test]
    fn encodes_every_packet_type() {
        assert_eq!(
            Packet::new(PacketType::Connect, "/", None, Some(json!({"sid": "x"}))).encode(),
            "0{\"sid\":\"x\"}"
        );
        assert_eq!(
            Packet::new(PacketType::Disconnect, "/chat", None, None).encode(),
            "1/chat,"
        );
        assert_eq!(
            Packet::new(PacketType::Event, "/", Some(3), Some(json!(["e", 1]))).encode(),
            "23[\"e\",1]"
        );
        assert_eq!(
            Packet::new(PacketType::Ack, "/a", Some(9), Some(json!([]))).encode(),
            "3/a,9[]"
        );
        assert_eq!(
            Packet::new(
                PacketType::ConnectError,
                "/random",
                None,
                Some(json!({"message": "Invalid namespace"}))
            )
            .encode(),
            "4/random,{\"message\":\"Invalid namespace\"}"
        );
        let mut binary = Packet::new(
            PacketType::BinaryAck,
            "/",
            Some(2),
            Some(json!([placeholder(0)])),
        );
        binary.attachments = 1;
        assert_eq!(binary.encode(), "61-2[{\"_placeholder\":true,\"num\":0}]");
    }

    #[test]
    fn encoding_round_trips_through_decoding() {
        let mut packet = Packet::new(
            PacketType::BinaryEvent,
            "/x",
            Some(5),
            Some(json!(["ev", placeholder(0), {"k": placeholder(1)}])),
        );
        packet.attachments = 2;
        assert_eq!(Packet::decode(&packet.encode()), Ok(packet));
    }

    #[test]
    fn collects_attachments_until_complete() {
        let packet = Packet::decode(
            "52-[\"a\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
        )
        .unwrap();
        let partial = PartialBinary::new(packet);
        let partial = match partial.push(Bytes::from_static(b"one")) {
            Err(partial) => partial,
            Ok(_) => panic!("completed too early"),
        };
        let (packet, attachments) = partial.push(Bytes::from_static(b"two")).ok().unwrap();
        assert_eq!(packet.attachments, 2);
        assert_eq!(
            attachments,
            vec![Bytes::from_static(b"one"), Bytes::from_static(b"two")]
        );
    }
}
