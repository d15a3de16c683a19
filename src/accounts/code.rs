//! The codes people type or click: the join link's `/join/XXXX-XXXX-XXXX` and the
//! one-time setup code. Twelve symbols from an alphabet without look-alikes (no 0, O,
//! 1 or I) carry 60 random bits, far beyond guessing over HTTP.

use std::fmt;

use serde::{Deserialize, Serialize};

const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const SYMBOLS: usize = 12;
const GROUP: usize = 4;

/// A code of twelve symbols, written `XXXX-XXXX-XXXX`.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    pub fn generate() -> Code {
        let symbols: String = rand::random::<[u8; SYMBOLS]>()
            .iter()
            .map(|byte| char::from(ALPHABET[usize::from(byte % 32)]))
            .collect();
        Code(symbols)
    }

    /// Reads a code as a person may type it: any case, with or without the dashes.
    pub fn parse(text: &str) -> Option<Code> {
        let symbols: String = text
            .chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (symbols.len() == SYMBOLS && symbols.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then_some(Code(symbols))
    }

    /// Whether `text` is this code; compares every byte, so the time taken does not
    /// tell how much of a guess was right.
    pub fn matches(&self, text: &str) -> bool {
        Code::parse(text).is_some_and(|given| {
            given
                .0
                .bytes()
                .zip(self.0.bytes())
                .fold(0, |differ, (a, b)| differ | (a ^ b))
                == 0
        })
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, group) in self.0.as_bytes().chunks(GROUP).enumerate() {
            if index > 0 {
                f.write_str("-")?;
            }
            f.write_str(std::str::from_utf8(group).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(…)")
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Code::parse(&text).ok_or_else(|| serde::de::Error::custom("expected XXXX-XXXX-XXXX"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_three_groups_of_four_unambiguous_symbols() {
        let code = Code::generate().to_string();
        assert_eq!(code.len(), 14, "{code}");
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 3, "{code}");
        assert!(groups.iter().all(|group| group.len() == 4));
        assert!(
            code.chars()
                .filter(|c| *c != '-')
                .all(|c| c.is_ascii_alphanumeric() && !"01OI".contains(c)),
            "{code}"
        );
        assert_ne!(Code::generate(), Code::generate());
    }

    #[test]
    fn a_code_matches_however_it_is_typed() {
        let code = Code::parse("ABCD-EFGH-JK23").unwrap();
        assert_eq!(code.to_string(), "ABCD-EFGH-JK23");
        assert!(code.matches("abcd-efgh-jk23"));
        assert!(code.matches("ABCDEFGHJK23"));
        assert!(!code.matches("ABCD-EFGH-JK24"));
        assert!(!code.matches("ABCD-EFGH-JK2"));
        assert!(!code.matches(""));
        assert_eq!(Code::parse("ABCD-EFGH-JK2é"), None);
    }
}
