//! Passwords: the length rule, and argon2id hashes with OWASP's parameters (19 MiB,
//! 2 passes, 1 lane). A hash costs that memory and tens of milliseconds on purpose, so
//! every function here that hashes blocks: the server calls them only through
//! [`super::Accounts::blocking`], never on the async runtime's threads.

use std::fmt;
use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use serde::{Deserialize, Serialize};

use super::AccountsError;
use crate::model::{Field, ValidationError};

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// OWASP's recommended argon2id cost (memory in KiB, passes, lanes).
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// Bounds on the cost a stored hash may ask for when it is checked. A hash from a
/// tampered backup could otherwise make every sign-in allocate gigabytes.
const MAX_MEMORY_KIB: u32 = 256 * 1024;
const MAX_PASSES: u32 = 16;
const MAX_LANES: u32 = 8;

/// A password as typed, taken verbatim (spaces count). It lives only as long as it
/// takes to hash or check it; `Debug` never shows it.
pub struct Password(String);

impl Password {
    pub fn parse(value: &str) -> Result<Password, ValidationError> {
        let field = Field::Password;
        let chars = value.chars().take(MAX_PASSWORD_CHARS + 1).count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(ValidationError::TooShort {
                field,
                min: MIN_PASSWORD_CHARS,
            });
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(ValidationError::TooLong {
                field,
                max: MAX_PASSWORD_CHARS,
            });
        }
        Ok(Password(value.to_owned()))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// A password's argon2id hash as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`),
/// checked whenever it is read from the disk or a backup.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Hashes `password` with a fresh random salt. Blocks.
    pub fn of(password: &Password) -> Result<PasswordHash, AccountsError> {
        let salt: [u8; 16] = rand::random();
        let hash = hasher()?
            .hash_password_with_salt(password.0.as_bytes(), &salt)
            .map_err(|error| AccountsError::Hashing(error.to_string()))?;
        Ok(PasswordHash(hash.to_string()))
    }

    /// Whether `password` is the one this hash was made from. Blocks.
    pub fn matches(&self, password: &Password) -> bool {
        let Ok(parsed) = argon2::PasswordHash::new(&self.0) else {
            return false;
        };
        hasher().is_ok_and(|hasher| {
            hasher
                .verify_password(password.0.as_bytes(), &parsed)
                .is_ok()
        })
    }

    /// Takes as long as [`PasswordHash::matches`] and always fails: what a sign-in as
    /// an unknown user costs, so that timing does not tell which usernames exist.
    pub fn waste_a_check(password: &Password) {
        static DECOY: OnceLock<Option<PasswordHash>> = OnceLock::new();
        let decoy = DECOY.get_or_init(|| {
            Password::parse("not anyone's password")
                .ok()
                .and_then(|decoy| PasswordHash::of(&decoy).ok())
        });
        if let Some(decoy) = decoy {
            decoy.matches(password);
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PasswordHash {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let parsed = argon2::PasswordHash::new(&value)
            .map_err(|error| format!("not a password hash: {error}"))?;
        if parsed.algorithm != argon2::ARGON2ID_IDENT {
            return Err(format!("{} is not argon2id", parsed.algorithm));
        }
        let params =
            Params::try_from(&parsed).map_err(|error| format!("bad argon2 parameters: {error}"))?;
        if params.m_cost() > MAX_MEMORY_KIB
            || params.t_cost() > MAX_PASSES
            || params.p_cost() > MAX_LANES
        {
            return Err("argon2 parameters beyond what Parley checks".to_owned());
        }
        Ok(PasswordHash(value))
    }
}

impl From<PasswordHash> for String {
    fn from(hash: PasswordHash) -> String {
        hash.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

fn hasher() -> Result<Argon2<'static>, AccountsError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|error| AccountsError::Hashing(error.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_8_to_256_characters_taken_verbatim() {
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"ж".repeat(256)).is_ok());
        assert_eq!(
            Password::parse("1234567").unwrap_err().to_string(),
            "password must be at least 8 characters"
        );
        assert_eq!(
            Password::parse(&"x".repeat(257)).unwrap_err().to_string(),
            "password must be at most 256 characters"
        );
        assert!(Password::parse("        ").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("hunter2hunter2").unwrap()),
            "Password(…)"
        );
    }

    #[test]
    fn a_hash_is_argon2id_with_owasp_parameters_and_checks_its_password() {
        let password = Password::parse("correct horse").unwrap();
        let hash = PasswordHash::of(&password).unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
        assert!(hash.matches(&password));
        assert!(!hash.matches(&Password::parse("correct horsf").unwrap()));
        let again = PasswordHash::of(&password).unwrap();
        assert_ne!(hash, again, "every hash has its own salt");
        let round_trip: PasswordHash =
            serde_json::from_value(serde_json::to_value(&hash).unwrap()).unwrap();
        assert!(round_trip.matches(&password));
    }

    #[test]
    fn stored_hashes_are_checked_when_read() {
        for bad in [
            "plain text",
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert!(PasswordHash::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }
}
