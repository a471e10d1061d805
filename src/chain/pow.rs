//! Proof of work: the difficulty a block hash must meet and the work a block represents.
//!
//! Difficulty is counted in leading zero bits of the block hash, so a block at difficulty `d` takes
//! `2^d` hashes on average and adds `2^d` to its chain's work. Fork choice compares that sum, not the
//! number of blocks, so a long chain of easy blocks cannot outweigh a shorter chain of harder ones.

use super::hash::BlockHash;
use std::fmt;
use std::ops::Add;

/// Leading zero bits a block hash must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Difficulty(u32);

/// A difficulty outside what the chain supports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("difficulty must be between 0 and {max} leading zero bits, got {0}", max = Difficulty::MAX.0)]
pub struct DifficultyError(pub u64);

impl Difficulty {
    /// 64 bits is far beyond any CPU (and keeps every block's work within a `u64`, a whole chain's
    /// within `u128`).
    pub const MAX: Difficulty = Difficulty(64);

    pub const fn new(bits: u64) -> Result<Self, DifficultyError> {
        if bits <= Self::MAX.0 as u64 {
            Ok(Difficulty(bits as u32))
        } else {
            Err(DifficultyError(bits))
        }
    }

    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether `hash` meets this difficulty.
    pub fn check_hash(self, hash: &BlockHash) -> bool {
        leading_zero_bits(hash.as_bytes()) >= self.0
    }

    /// The expected number of hashes to find a block at this difficulty.
    pub const fn work(self) -> Work {
        Work(1u128 << self.0)
    }
}

impl fmt::Display for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bits", self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Difficulty {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Difficulty::new(u64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Difficulty {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bits: u64 = s
            .parse()
            .map_err(|_| format!("not a number of bits: {s:?}"))?;
        Difficulty::new(bits).map_err(|e| e.to_string())
    }
}

/// Counts leading zero bits, most significant bit of byte 0 first.
pub fn leading_zero_bits(bytes: &[u8; 32]) -> u32 {
    let mut bits = 0;
    for &b in bytes {
        if b != 0 {
            return bits + b.leading_zeros();
        }
        bits += 8;
    }
    bits
}

/// Expected hashes behind a block or a chain; chains are compared by it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Work(u128);

impl Work {
    pub const ZERO: Work = Work(0);

    pub const fn from_u128(work: u128) -> Self {
        Work(work)
    }

    pub const fn to_u128(self) -> u128 {
        self.0
    }
}

impl Add for Work {
    type Output = Work;
    fn add(self, rhs: Work) -> Work {
        // 2^64 blocks of 2^64 work each would be needed to saturate.
        Work(self.0.saturating_add(rhs.0))
    }
}

impl fmt::Display for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Work is a JSON string: a `u128` does not survive a trip through JavaScript numbers.
impl serde::Serialize for Work {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Work {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map(Work).map_err(serde::de::Error::custom)
    }
}

/// Fork choice: a candidate replaces the current chain only with strictly more work, so on a tie
/// the node keeps what it has (and does not flap between equal chains).
pub fn prefers(candidate: Work, current: Work) -> bool {
    candidate > current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_with_first_bytes(first: &[u8]) -> BlockHash {
        let mut b = [0xffu8; 32];
        b[..first.len()].copy_from_slice(first);
        BlockHash::from_bytes(b)
    }

    #[test]
    fn leading_zero_bits_counts_across_bytes() {
        assert_eq!(leading_zero_bits(&[0; 32]), 256);
        assert_eq!(
            leading_zero_bits(hash_with_first_bytes(&[0x80]).as_bytes()),
            0
        );
        assert_eq!(
            leading_zero_bits(hash_with_first_bytes(&[0, 0x0f]).as_bytes()),
            12
        );
    }

    #[test]
    fn check_hash_meets_exactly_the_difficulty() {
        let d = Difficulty::new(12).unwrap();
        assert!(d.check_hash(&hash_with_first_bytes(&[0, 0x0f])));
        // One bit fewer fails.
        assert!(!d.check_hash(&hash_with_first_bytes(&[0, 0x1f])));
    }

    #[test]
    fn difficulty_bounds_and_work() {
        assert!(Difficulty::new(64).is_ok());
        assert_eq!(Difficulty::new(65), Err(DifficultyError(65)));
        assert_eq!(Difficulty::new(10).unwrap().work(), Work::from_u128(1024));
        assert!("abc".parse::<Difficulty>().is_err());
    }

    #[test]
    fn fork_choice_keeps_ours_on_a_tie() {
        let w = Work::from_u128(10);
        assert!(!prefers(w, w));
        assert!(prefers(w + Work::from_u128(1), w));
    }
}
