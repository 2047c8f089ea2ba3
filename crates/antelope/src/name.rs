//! Antelope account, permission and action names: up to 13 characters packed into a u64.
//!
//! The first 12 characters take 5 bits each from `.12345abcdefghijklmnopqrstuvwxyz`, packed
//! from the most significant end; a 13th character takes the low 4 bits and so must be one
//! of `.12345abcdefghij`. A string is a valid name only if it round-trips, which rules out
//! trailing dots (nodeos `name::set` applies the same rule).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use super::bytes::{DecodeError, Pack, Reader, Unpack, Writer};

const CHARMAP: &[u8; 32] = b".12345abcdefghijklmnopqrstuvwxyz";

/// An Antelope name, stored as its u64 value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Name(u64);

/// Why a string is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{input:?} is not a valid account name: {reason}")]
pub struct NameError {
    pub input: String,
    pub reason: String,
}

impl Name {
    pub const fn from_u64(v: u64) -> Self {
        Self(v)
    }

    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Parses a literal known to be valid; for constants in code, never for input.
    pub fn literal(s: &str) -> Self {
        s.parse()
            .unwrap_or_else(|e| panic!("bad name literal: {e}"))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

fn char_value(c: u8) -> Option<u64> {
    match c {
        b'.' => Some(0),
        b'1'..=b'5' => Some(u64::from(c - b'1') + 1),
        b'a'..=b'z' => Some(u64::from(c - b'a') + 6),
        _ => None,
    }
}

impl FromStr for Name {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| NameError {
            input: s.to_string(),
            reason,
        };
        if s.len() > 13 {
            return Err(err(format!(
                "it has {} characters, at most 13 are allowed",
                s.chars().count()
            )));
        }
        let mut value: u64 = 0;
        for (i, c) in s.bytes().enumerate() {
            let Some(v) = char_value(c) else {
                let ch = s[i..].chars().next().unwrap_or('?');
                let reason = if ch.is_ascii_uppercase() {
                    "uppercase letters are not allowed".to_string()
                } else if ch.is_ascii_digit() {
                    format!("digit {ch:?} is not allowed (only 1-5)")
                } else {
                    format!("character {ch:?} is not allowed (only a-z, 1-5 and '.')")
                };
                return Err(err(reason));
            };
            if i < 12 {
                value |= v << (64 - 5 * (i + 1));
            } else {
                if v > 0x0f {
                    return Err(err(format!(
                        "the 13th character {:?} must be one of .12345abcdefghij",
                        c as char
                    )));
                }
                value |= v;
            }
        }
        let name = Name(value);
        if name.to_string() != s {
            return Err(err("it must not end with '.'".to_string()));
        }
        Ok(name)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [b'.'; 13];
        let mut tmp = self.0;
        for i in 0..13 {
            let (mask, shift) = if i == 0 { (0x0f, 4) } else { (0x1f, 5) };
            out[12 - i] = CHARMAP[(tmp & mask) as usize];
            tmp >>= shift;
        }
        let end = out.iter().rposition(|&c| c != b'.').map_or(0, |p| p + 1);
        // CHARMAP is ASCII, so this cannot fail.
        f.write_str(std::str::from_utf8(&out[..end]).unwrap_or(""))
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

impl Pack for Name {
    fn pack(&self, w: &mut Writer) {
        w.u64(self.0);
    }
}

impl Unpack for Name {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u64().map(Name)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_recorded_vectors() {
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../../../fixtures/vector_encodings_and_slot_math.json"
        ))
        .unwrap();
        let cases = v["names"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let s = case["name"].as_str().unwrap();
            let u: u64 = case["u64"].as_str().unwrap().parse().unwrap();
            let name: Name = s.parse().unwrap();
            assert_eq!(name.as_u64(), u, "{s}");
            assert_eq!(Name::from_u64(u).to_string(), s);
            assert_eq!(
                hex::encode(name.packed()),
                case["u64_le_hex"].as_str().unwrap()
            );
        }
    }

    #[test]
    fn rejects_invalid_names_with_reasons() {
        let e = "Bp.Prod".parse::<Name>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"Bp.Prod\" is not a valid account name: uppercase letters are not allowed"
        );
        assert!("abc6".parse::<Name>().unwrap_err().reason.contains("digit"));
        assert!("a b".parse::<Name>().unwrap_err().reason.contains("' '"));
        assert!("abcdefghijklmn"
            .parse::<Name>()
            .unwrap_err()
            .reason
            .contains("13"));
        assert!("abcdefghijklz"
            .parse::<Name>()
            .unwrap_err()
            .reason
            .contains("13th"));
        assert!("eosio."
            .parse::<Name>()
            .unwrap_err()
            .reason
            .contains("end with"));
        assert!("é".parse::<Name>().is_err());
        // 13 characters ending in a legal 13th character.
        assert!("abcdefghijkla".parse::<Name>().is_ok());
    }

    #[test]
    fn serde_uses_the_string_form() {
        let n: Name = serde_json::from_str("\"producer.d\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"producer.d\"");
        assert!(serde_json::from_str::<Name>("\"PRODUCER\"").is_err());
    }

    proptest! {
        #[test]
        fn every_u64_round_trips_through_text(v: u64) {
            let s = Name::from_u64(v).to_string();
            prop_assert_eq!(s.parse::<Name>().unwrap().as_u64(), v);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,20}") {
            let _ = s.parse::<Name>();
        }
    }
}
