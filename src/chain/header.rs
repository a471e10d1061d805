//! The block header, its fixed 96-byte encoding, and the quantities it carries.
//!
//! Layout (little-endian integers):
//!
//! | bytes  | field        |
//! |--------|--------------|
//! | 0..4   | version      |
//! | 4..12  | height       |
//! | 12..44 | previous hash|
//! | 44..76 | Merkle root  |
//! | 76..84 | timestamp ms |
//! | 84..88 | target (compact) |
//! | 88..96 | nonce        |
//!
//! Everything a miner varies (the nonce) sits in the last 32 bytes, so the first 64 bytes form one
//! SHA-256 block that is compressed once per template (the midstate), and each nonce costs a single
//! compression for the first hash plus one for the second.

use super::hash::{sha256d, BlockHash, MerkleRoot};
use super::pow::{Target, TargetError};
use std::fmt;

/// A block's position on its chain: genesis is 0.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct Height(u64);

impl Height {
    pub const GENESIS: Height = Height(0);

    pub const fn new(h: u64) -> Self {
        Height(h)
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    /// The next height; saturating, because no chain reaches `u64::MAX` blocks.
    pub const fn next(self) -> Height {
        Height(self.0.saturating_add(1))
    }

    pub fn prev(self) -> Option<Height> {
        self.0.checked_sub(1).map(Height)
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Milliseconds since the Unix epoch.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    pub const fn saturating_add_millis(self, ms: u64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }

    /// The wall clock. Only the edges call this; validation takes "now" as an argument.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    /// The time in UTC, for people: `YYYY-MM-DD HH:MM:SS`.
    pub fn utc(self) -> String {
        let secs = self.0 / 1000;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01. Counts in 400-year eras (146,097 days
/// each, the calendar's exact period) from 0000-03-01, so that the leap day falls at the end of
/// a counted year and needs no special case.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    const DAYS_TO_1970_FROM_0000_03_01: u64 = 719_468;
    let z = days + DAYS_TO_1970_FROM_0000_03_01;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March: 0 = March .. 11 = February.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

/// A block header. Its hash is always computed from these fields, never stored beside them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    pub height: Height,
    pub prev_hash: BlockHash,
    pub merkle_root: MerkleRoot,
    pub timestamp: Timestamp,
    /// The target this block's hash meets; the chain decides which one it must be.
    pub target: Target,
    pub nonce: u64,
}

impl Header {
    pub const SIZE: usize = 96;
    /// Bytes hashed once per mining template.
    pub const MIDSTATE_LEN: usize = 64;
    /// Offset of the nonce within the encoding.
    pub const NONCE_OFFSET: usize = 88;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0..4].copy_from_slice(&self.version.to_le_bytes());
        out[4..12].copy_from_slice(&self.height.get().to_le_bytes());
        out[12..44].copy_from_slice(self.prev_hash.as_bytes());
        out[44..76].copy_from_slice(self.merkle_root.as_bytes());
        out[76..84].copy_from_slice(&self.timestamp.as_millis().to_le_bytes());
        out[84..88].copy_from_slice(&self.target.to_compact().to_le_bytes());
        out[88..96].copy_from_slice(&self.nonce.to_le_bytes());
        out
    }

    /// Decodes a header; fails only on bits that are not the compact form of a target.
    pub fn decode(bytes: &[u8; Self::SIZE]) -> Result<Header, TargetError> {
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let hash_at = |i: usize| -> [u8; 32] { bytes[i..i + 32].try_into().expect("32 bytes") };
        let version = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes"));
        let compact = u32::from_le_bytes(bytes[84..88].try_into().expect("4 bytes"));
        Ok(Header {
            version,
            height: Height::new(u64_at(4)),
            prev_hash: BlockHash::from_bytes(hash_at(12)),
            merkle_root: MerkleRoot::from_bytes(hash_at(44)),
            timestamp: Timestamp::from_millis(u64_at(76)),
            target: Target::from_compact(compact)?,
            nonce: u64_at(88),
        })
    }

    pub fn hash(&self) -> BlockHash {
        BlockHash::from_bytes(sha256d(&self.encode()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Header {
        Header {
            version: 1,
            height: Height::new(7),
            prev_hash: BlockHash::from_bytes([1; 32]),
            merkle_root: MerkleRoot::from_bytes([2; 32]),
            timestamp: Timestamp::from_millis(1_700_000_000_000),
            target: Target::floor(1 << 56),
            nonce: 42,
        }
    }

    #[test]
    fn encoding_round_trips_and_places_the_nonce_last() {
        let h = sample();
        let bytes = h.encode();
        assert_eq!(Header::decode(&bytes).unwrap(), h);
        assert_eq!(&bytes[Header::NONCE_OFFSET..], &42u64.to_le_bytes());
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = sample();
        let hashes = [
            Header { version: 2, ..base },
            Header {
                height: Height::new(8),
                ..base
            },
            Header {
                prev_hash: BlockHash::ZERO,
                ..base
            },
            Header {
                merkle_root: MerkleRoot::ZERO,
                ..base
            },
            Header {
                timestamp: Timestamp::from_millis(1),
                ..base
            },
            Header {
                target: Target::floor(1 << 55),
                ..base
            },
            Header { nonce: 43, ..base },
        ]
        .map(|h| h.hash());
        for h in hashes {
            assert_ne!(h, base.hash());
        }
    }

    #[test]
    fn utc_times_match_known_dates() {
        assert_eq!(Timestamp::from_millis(0).utc(), "1970-01-01 00:00:00");
        // 2000-02-29 (a leap day in a year divisible by 400) at 12:34:56.789.
        assert_eq!(
            Timestamp::from_millis(951_827_696_789).utc(),
            "2000-02-29 12:34:56"
        );
        assert_eq!(
            Timestamp::from_millis(1_795_485_883_073).utc(),
            "2026-11-24 02:04:43"
        );
        // The last second of a year, then the first of the next.
        assert_eq!(
            Timestamp::from_millis(1_704_067_199_000).utc(),
            "2023-12-31 23:59:59"
        );
        assert_eq!(
            Timestamp::from_millis(1_704_067_200_000).utc(),
            "2024-01-01 00:00:00"
        );
    }

    #[test]
    fn decode_refuses_a_non_canonical_target() {
        let mut bytes = sample().encode();
        bytes[84..88].copy_from_slice(&0x0140_0000u32.to_le_bytes());
        assert!(Header::decode(&bytes).is_err());
    }
}
