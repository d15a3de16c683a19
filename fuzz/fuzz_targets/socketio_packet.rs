//! Socket.IO v5 packet decoding (`Packet::decode`), the text part of every packet a
//! client sends, binary placeholders included.
//!
//! Checks: no panic; a decoded packet respects the attachment limit; our own encoding
//! of it decodes back to the same packet (so what the server sends, a client parser
//! built like ours reads back unchanged).
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley::socketio::{Packet, PacketType};
use serde_json::Value;

/// `parley::socketio::packet::MAX_ATTACHMENTS` (the module is private).
const MAX_ATTACHMENTS: usize = 64;

/// JSON equality, but floats may differ in the last bit or two: serde_json's default
/// float parser is fast, not correctly rounded (its `float_roundtrip` feature is off),
/// so `1.8406644073701846e24` can come back as `1.8406644073701848e24`.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x.to_bits().abs_diff(y.to_bits()) <= 2 && x.signum() == y.signum())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Packet::decode(&text) {
        Ok(packet) => {
            let binary = matches!(packet.kind, PacketType::BinaryEvent | PacketType::BinaryAck);
            assert!(packet.attachments <= MAX_ATTACHMENTS);
            if !binary {
                assert_eq!(packet.attachments, 0);
            }
            assert_ne!(packet.kind, PacketType::ConnectError);
            let encoded = packet.encode();
            let again = Packet::decode(&encoded)
                .unwrap_or_else(|e| panic!("re-encoded {encoded:?} does not decode: {e}"));
            let same = again.kind == packet.kind
                && again.namespace == packet.namespace
                && again.ack_id == packet.ack_id
                && again.attachments == packet.attachments
                && match (&again.data, &packet.data) {
                    (Some(a), Some(b)) => same_json(a, b),
                    (a, b) => a == b,
                };
            assert!(same, "round trip through {encoded:?}: {packet:?} came back as {again:?}");
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
