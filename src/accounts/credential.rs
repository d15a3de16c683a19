//! Sessions and API tokens. Each is a random secret of 256 bits that the client gets
//! once (in the session cookie, or shown when the token is made); the server keeps only
//! its SHA-256, so the data directory or a backup signs no one in. Looking one up is
//! hashing what the client sent and finding the hash.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{TokenName, Username};

/// The cookie that carries a browser's session.
pub const SESSION_COOKIE: &str = "parley_session";

/// A secret as the client holds it: 32 random bytes, base64url (safe in a cookie and
/// an `Authorization` header alike).
pub struct Secret(String);

impl Secret {
    pub fn generate() -> Secret {
        Secret(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The SHA-256 of a secret: the key a session or token is stored and looked up by. A
/// plain hash is enough: the secrets are random, so there is nothing to guess.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> SecretHash {
        SecretHash(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<SecretHash> {
        bytes.try_into().ok().map(SecretHash)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn to_hex(self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn from_hex(hex: &str) -> Option<SecretHash> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(SecretHash(bytes))
    }
}

/// Enough of the hash to tell entries apart in a log, not enough to matter.
impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({}…)", &self.to_hex()[..8])
    }
}

/// Hex in backups, so that a line can be read and compared by eye.
impl Serialize for SecretHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for SecretHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = String::deserialize(deserializer)?;
        SecretHash::from_hex(&hex)
            .ok_or_else(|| serde::de::Error::custom("expected 64 hexadecimal digits"))
    }
}

/// Which credential an identity came through: the session or the token, by its hash.
/// It is what a sign-out or a revocation names, so the sockets opened with exactly
/// that credential can be found and closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKey {
    Session(SecretHash),
    Token(SecretHash),
}

/// A signed-in browser, stored under the hash of its cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub username: Username,
    /// Milliseconds since the epoch; a session lasts [`super::SESSION_LIFETIME`].
    pub created: u64,
}

/// An API token, stored under the hash of the token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    pub username: Username,
    pub name: TokenName,
    /// Milliseconds since the epoch.
    pub created: u64,
}

/// The values of the session cookie in a `Cookie` request header: usually one, but a
/// browser may hold a stale one beside the current.
pub fn session_cookies(header: &str) -> impl Iterator<Item = &str> {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name.trim() == SESSION_COOKIE).then(|| value.trim().trim_matches('"'))
    })
}

/// The token of an `Authorization: Bearer TOKEN` header.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_random_bits_and_only_their_hash_is_kept() {
        let secret = Secret::generate();
        assert_eq!(URL_SAFE_NO_PAD.decode(secret.as_str()).unwrap().len(), 32);
        assert_ne!(secret.as_str(), Secret::generate().as_str());
        assert_eq!(secret.hash(), SecretHash::of(secret.as_str()));
        assert_eq!(format!("{secret:?}"), "Secret(…)");
        let hash = secret.hash();
        assert_eq!(SecretHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(SecretHash::from_bytes(hash.as_bytes()), Some(hash));
        assert_eq!(SecretHash::from_bytes(&[0; 31]), None);
        assert_eq!(SecretHash::from_hex("zz"), None);
        assert_eq!(SecretHash::from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn the_session_is_found_among_other_cookies() {
        let found = |header| session_cookies(header).collect::<Vec<_>>();
        assert_eq!(
            found("theme=dark; parley_session=abc-_1; other=x"),
            ["abc-_1"]
        );
        assert_eq!(
            found("parley_session=old; parley_session=\"new\""),
            ["old", "new"]
        );
        assert!(found("parley_sessionx=abc").is_empty());
        assert!(found("").is_empty());
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
