//! Engine.IO v4 decoding: one packet (`decode_text`, a WebSocket text frame) and a
//! long-polling body (`decode_polling_body`, packets joined by `\x1e`).
//!
//! Besides "never panics", checks that the two agree, that a body splits into one
//! packet per record up to its first `close`, and that every decoded `message`
//! survives our own encoder (`Frame::text_message` / `Frame::binary_message` +
//! `append_to_polling_body`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley::engineio::{
    DecodeError, Frame, Incoming, Payload, decode_polling_body, decode_text,
};

fuzz_target!(|data: &[u8]| {
    // The transports hand the decoders `&str`s (a WebSocket text frame or a polling
    // body are checked as UTF-8 first); lossy conversion keeps every input useful.
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    let single = decode_text(text);
    if let Err(error) = &single {
        let _ = error.to_string();
    }
    let body = decode_polling_body(text);

    match &body {
        Ok(packets) => {
            // A close ends the body: nothing after it is decoded.
            match packets.iter().position(|packet| *packet == Incoming::Close) {
                Some(close) => assert_eq!(close + 1, packets.len()),
                None => assert_eq!(packets.len(), text.split('\x1e').count()),
            }
            if !text.contains('\x1e') {
                assert_eq!(single.as_ref().ok(), packets.first());
            }
            // Re-encode every message the way the server encodes its own, then decode.
            let mut again = String::new();
            let mut messages = Vec::new();
            for packet in packets {
                if let Incoming::Message(payload) = packet {
                    let frame = match payload {
                        Payload::Text(t) => Frame::text_message(t),
                        Payload::Binary(b) => Frame::binary_message(b.clone()),
                    };
                    frame.append_to_polling_body(&mut again);
                    messages.push(packet.clone());
                }
            }
            if !messages.is_empty() {
                let decoded = decode_polling_body(&again).expect("our own encoding decodes");
                assert_eq!(decoded, messages);
            }
        }
        Err(error) => {
            if !text.contains('\x1e') {
                assert_eq!(single.as_ref().err(), Some(error));
            }
            // Records decode in order, so an empty first record is the error reported.
            if text.starts_with('\x1e') {
                assert_eq!(*error, DecodeError::Empty);
            }
        }
    }
});
