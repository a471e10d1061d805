//! Account addresses: an Ed25519 public key written in bech32m with the prefix `fc`.
//!
//! The address *is* the public key, so a transfer's signature is checked against the sender's
//! address directly. bech32m's checksum catches mistyped addresses (any error in up to four
//! characters) before a client signs anything.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use std::fmt;
use std::str::FromStr;

/// Where coins are held: the 32 bytes of an Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address([u8; 32]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
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

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let checked = CheckedHrpstring::new::<Bech32m>(s).map_err(|e| AddressError::Malformed {
            input: s.to_owned(),
            reason: e.to_string(),
        })?;
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
            Err(AddressError::Malformed { .. })
        ));
    }

    #[test]
    fn other_prefixes_and_lengths_are_refused() {
        let other = bech32::encode::<Bech32m>(Hrp::parse("bc").unwrap(), &[1; 32]).unwrap();
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
