//! The error codes clients see, each with its wire string and HTTP status in one place.
//!
//! A failed request answers `{code, message}` (README, "Socket.IO events"); the code is
//! what a client branches on, the message is for people. The table below is the only
//! place a code is spelled: [`ErrorCode::ALL`] is generated from it, so the metrics,
//! which count refusals per variant, cannot leave a new code out.

use std::fmt;

use hyper::StatusCode;
use serde::{Serialize, Serializer};

/// Declares [`ErrorCode`] from one table of `Variant => "wire", STATUS`.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal, $status:ident;)+) => {
        /// What went wrong with a request, as a client sees it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order `/metrics` lists them; `ALL[code.index()] == code`.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as it appears in `{code, message}`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)+
                }
            }

            /// The status of an HTTP answer carrying this code.
            pub fn http_status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)+
                }
            }
        }
    };
}

error_codes! {
    /// The request is malformed: not an object, a field missing or of the wrong type.
    Invalid => "invalid", BAD_REQUEST;
    /// A text, a body or a count is over its limit.
    TooLarge => "too_large", PAYLOAD_TOO_LARGE;
    /// The request needs the socket to be in the room first.
    NotJoined => "not_joined", BAD_REQUEST;
    /// Too many requests from this client; slow down.
    RateLimited => "rate_limited", TOO_MANY_REQUESTS;
    /// The server cannot take the request now; retrying later may work.
    Unavailable => "unavailable", SERVICE_UNAVAILABLE;
    /// The server failed; the details are in its log, not in the answer.
    Internal => "internal", INTERNAL_SERVER_ERROR;
    /// No credentials, or credentials the server does not accept.
    Unauthorized => "unauthorized", UNAUTHORIZED;
    /// Signed in, but not allowed to do this.
    Forbidden => "forbidden", FORBIDDEN;
    /// What the request names does not exist.
    NotFound => "not_found", NOT_FOUND;
    /// The request clashes with what exists, e.g. a name already taken.
    Conflict => "conflict", CONFLICT;
}

impl ErrorCode {
    /// This code's position in [`ErrorCode::ALL`], for per-code counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_has_its_place_a_distinct_wire_string_and_an_error_status() {
        let mut wires = HashSet::new();
        for (position, code) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(code.index(), position, "{code} out of place in ALL");
            assert!(wires.insert(code.as_str()), "{code} spelled twice");
            let wire = code.as_str();
            assert!(
                !wire.is_empty() && wire.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{wire:?} is not a snake_case code"
            );
            let status = code.http_status();
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code} answers {status}"
            );
        }
    }

    #[test]
    fn the_contract_codes_answer_with_their_statuses() {
        let contract = [
            ("unauthorized", 401),
            ("forbidden", 403),
            ("not_found", 404),
            ("conflict", 409),
            ("rate_limited", 429),
            ("unavailable", 503),
        ];
        for (wire, status) in contract {
            let code = ErrorCode::ALL
                .iter()
                .find(|code| code.as_str() == wire)
                .unwrap_or_else(|| panic!("no code {wire}"));
            assert_eq!(code.http_status().as_u16(), status, "{wire}");
        }
    }

    #[test]
    fn codes_serialize_as_their_wire_string() {
        assert_eq!(
            serde_json::to_string(&ErrorCode::TooLarge).unwrap(),
            "\"too_large\""
        );
    }
}
