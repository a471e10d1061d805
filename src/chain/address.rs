//! Account addresses: an Ed25519 public key written in bech32m with the prefix `fc`.
//!
//! The address *is* the public key, so a transfer's signature is checked against the sender's
//! address directly. bech32m's checksum catches mistyped addresses (any error in up to four
//! characters) before a client signs anything.

use bech32::primitives::decode::{
    CharError, CheckedHrpstring, CheckedHrpstringError, ChecksumError, UncheckedHrpstringError,
};
use bech32::{Bech32m, Hrp};
use std::fmt;
use std::str::FromStr;

/// Where coins are held: the 32 bytes of an Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address([u8; 32]);

/// The characters bech32 writes data in (its 32 symbols): no `1`, `b`, `i` or `o`.
const CHARSET: &str = "023456789acdefghjklmnpqrstuvwxyz";

/// Why text is not an address. Each mistake people make has its own message: a Bitcoin address
/// pasted by habit, a character bech32 never writes, a mistyped character (the checksum), and
/// anything else that is not bech32m at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error(
        "{input:?} is not an address: it is a Bitcoin address, and ferrochain addresses start \
         with \"fc1\""
    )]
    Bitcoin { input: String },
    #[error(
        "{input:?} is not an address: character {position} is {character:?}, which an address \
         never contains (after \"fc1\" it uses only {CHARSET})"
    )]
    BadCharacter {
        input: String,
        character: char,
        /// Counted from 1.
        position: usize,
    },
    #[error(
        "{input:?} is not an address: its checksum does not match, so a character is mistyped, \
         missing or extra (copy the address again)"
    )]
    Checksum { input: String },
    /// No bech32 separator (`1`) at all: a name or a word, not a mistyped address.
    #[error("{input:?} is not an address: ferrochain addresses start with \"fc1\"")]
    NotBech32 { input: String },
    #[error("{input:?} is not an address: {reason}")]
    Malformed { input: String, reason: String },
    #[error("{input:?} is an address of another network (prefix {prefix:?}, expected \"fc\")")]
    WrongPrefix { input: String, prefix: String },
    #[error("{input:?} holds {len} bytes; an address holds 32")]
    Length { input: String, len: usize },
}

impl Address {
    const HRP: &'static str = "fc";

    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Address(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn from_public_key(key: &ed25519_dalek::VerifyingKey) -> Self {
        Address(key.to_bytes())
    }

    /// The first characters, for tables and logs.
    pub fn short(&self) -> String {
        let s = self.to_string();
        format!("{}…{}", &s[..10], &s[s.len() - 6..])
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse_unchecked(Self::HRP);
        let s = bech32::encode::<Bech32m>(hrp, &self.0).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

/// Whether `s` is a Bitcoin address: bech32 with Bitcoin's prefixes, or a legacy base58 one
/// (`1...` for keys, `3...` for scripts), which bech32 alone would call malformed.
fn is_bitcoin(s: &str) -> bool {
    const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let lower = s.to_ascii_lowercase();
    let segwit = ["bc1", "tb1", "bcrt1"].iter().any(|p| lower.starts_with(p));
    let legacy = (s.starts_with('1') || s.starts_with('3'))
        && (26..=35).contains(&s.len())
        && s.chars().all(|c| BASE58.contains(c));
    segwit || legacy
}

/// The error for text bech32 refuses, as precise as the refusal allows.
fn refusal(s: &str, e: CheckedHrpstringError) -> AddressError {
    let input = s.to_owned();
    match e {
        CheckedHrpstringError::Parse(UncheckedHrpstringError::Char(CharError::InvalidChar(c))) => {
            let position = s.chars().position(|x| x == c).map_or(0, |i| i + 1);
            AddressError::BadCharacter {
                input,
                character: c,
                position,
            }
        }
        CheckedHrpstringError::Checksum(ChecksumError::InvalidResidue) => {
            AddressError::Checksum { input }
        }
        other => AddressError::Malformed {
            input,
            reason: other.to_string(),
        },
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_bitcoin(s) {
            return Err(AddressError::Bitcoin {
                input: s.to_owned(),
            });
        }
        if !s.contains('1') {
            return Err(AddressError::NotBech32 {
                input: s.to_owned(),
            });
        }
        let checked = CheckedHrpstring::new::<Bech32m>(s).map_err(|e| refusal(s, e))?;
        if checked.hrp().to_lowercase() != Self::HRP {
            return Err(AddressError::WrongPrefix {
                input: s.to_owned(),
                prefix: checked.hrp().to_string(),
            });
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| AddressError::Length {
                input: s.to_owned(),
                len: b.len(),
            })?;
        Ok(Address(bytes))
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_catches_a_typo() {
        let a = Address::from_bytes([7; 32]);
        let s = a.to_string();
        assert!(s.starts_with("fc1"));
        assert_eq!(s.parse::<Address>().unwrap(), a);
        // Change one character: the checksum fails.
        let mut typo: Vec<char> = s.chars().collect();
        let i = typo.len() - 10;
        typo[i] = if typo[i] == 'q' { 'p' } else { 'q' };
        let typo: String = typo.into_iter().collect();
        assert!(matches!(
            typo.parse::<Address>(),
            Err(AddressError::Checksum { .. })
        ));
    }

    #[test]
    fn each_kind_of_mistake_has_its_own_message() {
        let good = Address::from_bytes([7; 32]).to_string();
        // `b` is not a bech32 character; it replaces the 10th.
        let bad_char = format!("{}b{}", &good[..9], &good[10..]);
        let err = bad_char.parse::<Address>().unwrap_err();
        assert_eq!(
            err,
            AddressError::BadCharacter {
                input: bad_char.clone(),
                character: 'b',
                position: 10
            }
        );
        assert!(err.to_string().contains("character 10 is 'b'"), "{err}");

        for bitcoin in [
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        ] {
            let err = bitcoin.parse::<Address>().unwrap_err();
            assert!(
                matches!(err, AddressError::Bitcoin { .. }),
                "{bitcoin}: {err}"
            );
            assert!(err.to_string().contains("Bitcoin address"), "{err}");
        }

        // The same length and characters, one swapped for another valid one: the checksum.
        let i = good.len() - 3;
        let swapped = if &good[i..=i] == "q" { "p" } else { "q" };
        let typo = format!("{}{swapped}{}", &good[..i], &good[i + 1..]);
        let err = typo.parse::<Address>().unwrap_err();
        assert!(err.to_string().contains("checksum does not match"), "{err}");

        // A word or a wallet's name is not a mistyped address: no bech32 separator at all.
        for word in ["alice", "hello", "xyz", "savings-2"] {
            let err = word.parse::<Address>().unwrap_err();
            assert_eq!(err, AddressError::NotBech32 { input: word.into() }, "{err}");
            assert!(err.to_string().ends_with("start with \"fc1\""), "{err}");
        }

        let messages = [
            bad_char.parse::<Address>().unwrap_err().to_string(),
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
                .parse::<Address>()
                .unwrap_err()
                .to_string(),
            err.to_string(),
            "hello".parse::<Address>().unwrap_err().to_string(),
        ];
        let reasons: std::collections::HashSet<_> = messages
            .iter()
            .map(|m| m.split_once(": ").unwrap().1.to_owned())
            .collect();
        assert_eq!(reasons.len(), messages.len(), "{messages:#?}");
    }

    #[test]
    fn other_prefixes_and_lengths_are_refused() {
        let other = bech32::encode::<Bech32m>(Hrp::parse("ltc").unwrap(), &[1; 32]).unwrap();
        assert!(matches!(
            other.parse::<Address>(),
            Err(AddressError::WrongPrefix { .. })
        ));
        let short = bech32::encode::<Bech32m>(Hrp::parse("fc").unwrap(), &[1; 20]).unwrap();
        assert!(matches!(
            short.parse::<Address>(),
            Err(AddressError::Length { len: 20, .. })
        ));
        // bech32 (not bech32m) checksums are refused.
        let old = bech32::encode::<bech32::Bech32>(Hrp::parse("fc").unwrap(), &[1; 32]).unwrap();
        assert!(old.parse::<Address>().is_err());
    }
}
