//! Proof of work: the target a block hash must meet and the work a block represents.
//!
//! A block hash, read as a 256-bit big-endian number, must be below the block's target. Only the
//! top 64 bits ever matter: targets lie between 1 and 2^64 in units of 2^192, so a hash meets
//! target `t` exactly when its first eight bytes, as a big-endian `u64`, are below `t`. A block at
//! target `t` therefore takes `2^64 / t` hashes on average, and that is the work it adds to its
//! chain. Fork choice compares the sum, not the number of blocks, so a long chain of easy blocks
//! cannot outweigh a shorter chain of harder ones.
//!
//! Headers carry the target in 32 bits, Bitcoin's "compact" idea in a simpler form: the high byte
//! is a shift and the low 24 bits a mantissa, `target = mantissa << shift`. Retargeting moves the
//! target in steps far finer than a bit of difficulty, and every target a header can carry has
//! exactly one encoding.
//!
//! [`Difficulty`] is the friendlier measure people type: leading zero bits. Difficulty `d` is the
//! target `2^(64 - d)`, so a hash meets it exactly when it starts with `d` zero bits.

use super::hash::BlockHash;
use std::fmt;
use std::ops::Add;

/// Leading zero bits a block hash must have: how chains state their starting difficulty.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, utoipa::ToSchema,
)]
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

    /// The target whose hashes are exactly those with at least this many leading zero bits.
    pub const fn target(self) -> Target {
        Target::floor(1u128 << (64 - self.0))
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

/// Text that is not a difficulty (`--difficulty`, for one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseDifficultyError {
    #[error("not a number of bits: {0:?}")]
    NotANumber(String),
    #[error(transparent)]
    OutOfRange(#[from] DifficultyError),
}

impl std::str::FromStr for Difficulty {
    type Err = ParseDifficultyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bits: u64 = s
            .parse()
            .map_err(|_| ParseDifficultyError::NotANumber(s.to_owned()))?;
        Ok(Difficulty::new(bits)?)
    }
}

/// The bound a block hash's first 64 bits must stay under, between 1 and 2^64. Always one that
/// the compact form represents exactly, so a header carries it in 32 bits without loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    compact: u32,
}

/// 32 bits that are not the compact form of any target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:08x} is not a target: expected a shift byte and a normalised 24-bit mantissa of at most 2^64")]
pub struct TargetError(pub u32);

const MANTISSA_BITS: u32 = 24;
const MANTISSA_MASK: u32 = (1 << MANTISSA_BITS) - 1;
/// The easiest target: every hash meets it.
const MAX_TARGET: u128 = 1 << 64;

impl Target {
    /// Every hash meets it (difficulty 0).
    pub const EASIEST: Target = Target::floor(MAX_TARGET);
    /// Only hashes starting with 64 zero bits meet it.
    pub const HARDEST: Target = Target::floor(1);

    /// The largest representable target not above `value`, kept between 1 and 2^64. Rounding
    /// down keeps the mantissa's 24 significant bits, so a target moves by less than one part in
    /// eight million.
    pub const fn floor(value: u128) -> Target {
        let value = if value == 0 {
            1
        } else if value > MAX_TARGET {
            MAX_TARGET
        } else {
            value
        };
        let significant = 128 - value.leading_zeros();
        let shift = significant.saturating_sub(MANTISSA_BITS);
        let mantissa = (value >> shift) as u32;
        Target {
            compact: (shift << MANTISSA_BITS) | mantissa,
        }
    }

    /// Reads the 32-bit form a header carries, refusing any but the one encoding of a target.
    pub const fn from_compact(compact: u32) -> Result<Target, TargetError> {
        let shift = compact >> MANTISSA_BITS;
        let mantissa = compact & MANTISSA_MASK;
        let normalised = if shift == 0 {
            mantissa != 0
        } else {
            mantissa >> (MANTISSA_BITS - 1) == 1
        };
        // The largest shift a normalised mantissa can take without passing 2^64.
        if !normalised || shift > 64 - MANTISSA_BITS + 1 {
            return Err(TargetError(compact));
        }
        let target = Target { compact };
        if target.value() > MAX_TARGET {
            return Err(TargetError(compact));
        }
        Ok(target)
    }

    pub const fn to_compact(self) -> u32 {
        self.compact
    }

    /// The target as a number, between 1 and 2^64.
    pub const fn value(self) -> u128 {
        ((self.compact & MANTISSA_MASK) as u128) << (self.compact >> MANTISSA_BITS)
    }

    /// The largest first-64-bits a hash meeting this target can have; what the miner compares.
    pub const fn max_prefix(self) -> u64 {
        (self.value() - 1) as u64
    }

    /// Whether `hash` meets this target.
    pub fn check_hash(self, hash: &BlockHash) -> bool {
        hash_prefix(hash) <= self.max_prefix()
    }

    /// The expected number of hashes to meet this target.
    pub const fn work(self) -> Work {
        Work(MAX_TARGET / self.value())
    }

    /// Leading zero bits this target is worth, fractional: for people, never for consensus.
    pub fn difficulty_bits(self) -> f64 {
        64.0 - (self.value() as f64).log2()
    }
}

/// The first 64 bits of a hash, most significant byte first.
pub fn hash_prefix(hash: &BlockHash) -> u64 {
    let bytes = hash.as_bytes();
    u64::from_be_bytes(bytes[..8].try_into().expect("a hash has 32 bytes"))
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.2} bits ({:08x})",
            self.difficulty_bits(),
            self.compact
        )
    }
}

/// JSON carries the compact form as eight hex digits, as block explorers show Bitcoin's `bits`.
impl serde::Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:08x}", self.compact))
    }
}

impl<'de> serde::Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Text that is not a target's compact form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTargetError {
    #[error("a target is 8 hex digits, got {0:?}")]
    NotHex(String),
    #[error(transparent)]
    NotATarget(#[from] TargetError),
}

impl std::str::FromStr for Target {
    type Err = ParseTargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let not_hex = || ParseTargetError::NotHex(s.to_owned());
        if s.len() != 8 {
            return Err(not_hex());
        }
        let compact = u32::from_str_radix(s, 16).map_err(|_| not_hex())?;
        Ok(Target::from_compact(compact)?)
    }
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
    fn difficulty_targets_are_leading_zero_bits() {
        let d = Difficulty::new(12).unwrap();
        assert!(d.target().check_hash(&hash_with_first_bytes(&[0, 0x0f])));
        // One bit fewer fails.
        assert!(!d.target().check_hash(&hash_with_first_bytes(&[0, 0x1f])));
        assert!(Difficulty::new(0)
            .unwrap()
            .target()
            .check_hash(&hash_with_first_bytes(&[])));
        assert_eq!(Difficulty::new(0).unwrap().target(), Target::EASIEST);
        assert_eq!(Difficulty::MAX.target(), Target::HARDEST);
        assert!(Target::HARDEST.check_hash(&hash_with_first_bytes(&[0; 8])));
        assert!(!Target::HARDEST.check_hash(&hash_with_first_bytes(&[0, 0, 0, 0, 0, 0, 0, 1])));
    }

    #[test]
    fn difficulty_bounds_and_work() {
        assert!(Difficulty::new(64).is_ok());
        assert_eq!(Difficulty::new(65), Err(DifficultyError(65)));
        assert_eq!(
            Difficulty::new(10).unwrap().target().work(),
            Work::from_u128(1024)
        );
        assert_eq!(Target::EASIEST.work(), Work::from_u128(1));
        assert_eq!(Target::HARDEST.work(), Work::from_u128(1 << 64));
        assert_eq!(
            "abc".parse::<Difficulty>(),
            Err(ParseDifficultyError::NotANumber("abc".into()))
        );
        assert_eq!(
            "65".parse::<Difficulty>(),
            Err(ParseDifficultyError::OutOfRange(DifficultyError(65)))
        );
        assert_eq!(
            "12".parse::<Difficulty>(),
            Difficulty::new(12).map_err(Into::into)
        );
    }

    #[test]
    fn targets_round_down_to_24_significant_bits() {
        assert_eq!(Target::floor(0).value(), 1);
        assert_eq!(Target::floor(u128::MAX).value(), 1 << 64);
        assert_eq!(Target::floor(0xff_ffff).value(), 0xff_ffff);
        assert_eq!(Target::floor(0x1ff_ffff).value(), 0x1ff_fffe);
        let t = Target::floor(3 << 40);
        assert_eq!(t.value(), 3 << 40);
        assert!((t.difficulty_bits() - (64.0 - (3.0f64 * 2f64.powi(40)).log2())).abs() < 1e-9);
    }

    #[test]
    fn compact_form_is_canonical() {
        for t in [
            Target::EASIEST,
            Target::HARDEST,
            Target::floor(12_345_678_901),
        ] {
            assert_eq!(Target::from_compact(t.to_compact()), Ok(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<Target>(&json).unwrap(), t);
        }
        // A mantissa that is not normalised, a zero, and a value above 2^64 each have no place.
        for bad in [
            0x0140_0000,
            0x0000_0000,
            0x2900_0001 | 0x80_0000,
            0x2a80_0000,
        ] {
            assert_eq!(Target::from_compact(bad), Err(TargetError(bad)));
        }
        assert!("15800000".parse::<Target>().is_ok());
        for bad in ["1580000", "zz800000"] {
            assert_eq!(
                bad.parse::<Target>(),
                Err(ParseTargetError::NotHex(bad.into()))
            );
        }
        assert_eq!(
            "01400000".parse::<Target>(),
            Err(ParseTargetError::NotATarget(TargetError(0x0140_0000)))
        );
    }

    #[test]
    fn fork_choice_keeps_ours_on_a_tie() {
        let w = Work::from_u128(10);
        assert!(!prefers(w, w));
        assert!(prefers(w + Work::from_u128(1), w));
    }
}
