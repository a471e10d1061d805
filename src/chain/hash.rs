//! 32-byte hash newtypes and the double SHA-256 they are made with.
//!
//! Each kind of hash is its own type so a transaction id can never be passed where a block hash is
//! expected. All of them print and parse as 64 lowercase hex characters, in byte order (no reversal).

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// SHA-256 applied twice, the hash of headers, transactions and Merkle nodes.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// Why a string is not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseHashError {
    #[error("a hash is 64 hex characters, got {0} characters")]
    Length(usize),
    #[error("a hash is hexadecimal, got {0:?}")]
    NotHex(String),
}

fn parse_hex32(s: &str) -> Result<[u8; 32], ParseHashError> {
    if s.len() != 64 {
        return Err(ParseHashError::Length(s.chars().count()));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| ParseHashError::NotHex(s.to_owned()))?;
    Ok(out)
}

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name([u8; 32]);

        impl $name {
            /// All zero bytes: the "previous hash" of the genesis block, the root of no transactions.
            pub const ZERO: Self = Self([0; 32]);

            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            pub const fn to_bytes(self) -> [u8; 32] {
                self.0
            }

            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// The first 8 bytes in hex, for logs and tables.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..8])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut buf = [0u8; 64];
                // Cannot fail: the buffer is exactly twice the input length.
                hex::encode_to_slice(self.0, &mut buf).expect("64-byte buffer");
                f.write_str(std::str::from_utf8(&buf).expect("hex is ASCII"))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl FromStr for $name {
            type Err = ParseHashError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hex32(s).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hash_newtype!(
    /// The double SHA-256 of a block header's canonical encoding.
    BlockHash
);
hash_newtype!(
    /// The double SHA-256 of a transaction's canonical encoding.
    TxId
);
hash_newtype!(
    /// The root of the Merkle tree over a block's transaction ids.
    MerkleRoot
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256d_known_answer() {
        // sha256d("") is a widely published constant.
        assert_eq!(
            hex::encode(sha256d(b"")),
            "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
        );
        assert_ne!(sha256d(b""), sha256d(b"\0"));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = BlockHash::from_bytes(sha256d(b"x"));
        assert_eq!(h.to_string().parse::<BlockHash>().unwrap(), h);
        assert_eq!("ab".parse::<BlockHash>(), Err(ParseHashError::Length(2)));
        let bad = "g".repeat(64);
        assert!(matches!(
            bad.parse::<BlockHash>(),
            Err(ParseHashError::NotHex(_))
        ));
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<BlockHash>(&json).unwrap(), h);
    }
}
