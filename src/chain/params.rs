//! Chain parameters, the genesis block they determine, and difficulty retargeting.

use super::amount::Amount;
use super::block::{merkle_root, Block, VerifiedBlock};
use super::hash::BlockHash;
use super::header::{Header, Height, Timestamp};
use super::note::Note;
use super::pow::{Difficulty, Target};
use super::transaction::Transaction;
use std::num::NonZeroU32;

/// What every node of one chain must agree on. The genesis block is derived from these (its
/// target is the starting difficulty, its note spells out the retarget rule), so two nodes with
/// different parameters have different genesis hashes and never mix their blocks.
///
/// Build it with [`ChainParams::new`] and [`ChainParams::with_retarget`] (or decode or
/// deserialise it), never by assigning a field: the genesis hash is computed once, there, because
/// every validated block and every submitted transfer asks for it. The fields stay public for
/// reading. Two parameters are equal when their rules are; JSON carries the rules alone.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(from = "Rules")]
pub struct ChainParams {
    /// Header version every block of the chain carries.
    pub version: u32,
    /// Difficulty of the first blocks, and the easiest the chain ever gets: a retarget never goes
    /// below it (Bitcoin's proof-of-work limit plays the same part).
    pub difficulty: Difficulty,
    /// How the difficulty follows the pace of blocks; `None` keeps it fixed forever.
    pub retarget: Option<Retarget>,
    /// The hash of [`ChainParams::genesis`], which the fields above determine.
    #[serde(skip)]
    genesis_hash: BlockHash,
}

/// The rules alone, as JSON carries them: what [`ChainParams`] is read from.
#[derive(serde::Deserialize)]
struct Rules {
    version: u32,
    difficulty: Difficulty,
    retarget: Option<Retarget>,
}

impl From<Rules> for ChainParams {
    fn from(r: Rules) -> Self {
        ChainParams::from_rules(r.version, r.difficulty, r.retarget)
    }
}

impl PartialEq for ChainParams {
    fn eq(&self, other: &Self) -> bool {
        (self.version, self.difficulty, self.retarget)
            == (other.version, other.difficulty, other.retarget)
    }
}

impl Eq for ChainParams {}

/// Every `interval` blocks the target is scaled by how long the last period took against how long
/// it should have taken, by at most `max_factor` either way.
///
/// The period a block at height `h` (a multiple of `interval`) measures runs from block
/// `h - interval` to block `h - 1`, so it spans `interval - 1` block intervals. The gap between
/// one period's last block and the next period's first is not measured, and is why a block that
/// opens a period may not be stamped before its parent (see [`Rule::TimeWarp`]).
///
/// [`Rule::TimeWarp`]: super::Rule::TimeWarp
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "RetargetFields")]
pub struct Retarget {
    /// Never zero (it is at least 2), so `Option<Retarget>` takes no more room than a
    /// `Retarget`. With the block time in 32 bits (it is at most a day) this keeps
    /// [`ChainParams`], genesis hash included, small enough to pass and return by value.
    #[schema(value_type = u32)]
    interval: NonZeroU32,
    block_time_ms: u32,
    max_factor: u32,
}

#[derive(serde::Deserialize)]
struct RetargetFields {
    interval: u32,
    block_time_ms: u64,
    max_factor: u32,
}

impl TryFrom<RetargetFields> for Retarget {
    type Error = RetargetError;
    fn try_from(f: RetargetFields) -> Result<Self, Self::Error> {
        Retarget::new(f.interval, f.block_time_ms, f.max_factor)
    }
}

/// Retarget settings outside what the chain supports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetargetError {
    #[error("the retarget interval must be between 2 and {max} blocks, got {0}", max = Retarget::MAX_INTERVAL)]
    Interval(u32),
    #[error("the target block time must be between 1 ms and one day, got {0} ms")]
    BlockTime(u64),
    #[error("the retarget step must be a factor between 2 and {max}, got {0}", max = Retarget::MAX_FACTOR)]
    Factor(u32),
}

impl Retarget {
    pub const MAX_INTERVAL: u32 = 100_000;
    pub const MAX_BLOCK_TIME_MS: u64 = 24 * 60 * 60 * 1000;
    pub const MAX_FACTOR: u32 = 16;

    /// The bounds keep the arithmetic exact: a target (at most 2^64) times the longest period
    /// counted (at most 2^51 ms) fits a `u128` with room to spare.
    pub const fn new(
        interval: u32,
        block_time_ms: u64,
        max_factor: u32,
    ) -> Result<Retarget, RetargetError> {
        let Some(nonzero) = NonZeroU32::new(interval) else {
            return Err(RetargetError::Interval(interval));
        };
        if interval < 2 || interval > Self::MAX_INTERVAL {
            return Err(RetargetError::Interval(interval));
        }
        if block_time_ms == 0 || block_time_ms > Self::MAX_BLOCK_TIME_MS {
            return Err(RetargetError::BlockTime(block_time_ms));
        }
        if max_factor < 2 || max_factor > Self::MAX_FACTOR {
            return Err(RetargetError::Factor(max_factor));
        }
        Ok(Retarget {
            interval: nonzero,
            // Cannot truncate: at most a day of milliseconds, checked above.
            block_time_ms: block_time_ms as u32,
            max_factor,
        })
    }

    /// Blocks per period.
    pub const fn interval(&self) -> u32 {
        self.interval.get()
    }

    /// The block interval the chain aims for.
    pub const fn block_time_ms(&self) -> u64 {
        self.block_time_ms as u64
    }

    /// Most the target is multiplied or divided by at one retarget.
    pub const fn max_factor(&self) -> u32 {
        self.max_factor
    }

    /// Whether a block at `height` opens a period (and so carries a recomputed target).
    pub fn is_boundary(&self, height: Height) -> bool {
        height != Height::GENESIS && height.get().is_multiple_of(u64::from(self.interval()))
    }

    /// `old` scaled by how long the period from `first` to `last` took against the aim, the
    /// ratio clamped to `max_factor` either way, and the result kept between `limit` (the easiest
    /// target) and the hardest. A period whose clock runs backwards counts as the shortest.
    pub fn adjust(&self, old: Target, first: Timestamp, last: Timestamp, limit: Target) -> Target {
        let expected = u128::from(self.block_time_ms) * u128::from(self.interval() - 1);
        let factor = u128::from(self.max_factor);
        // Clamping the time first keeps the product in range; clamping the result too keeps the
        // bound exact where `expected / factor` rounds down (tiny block times).
        let actual = u128::from(last.as_millis().saturating_sub(first.as_millis()))
            .clamp(expected / factor, expected * factor);
        let scaled =
            (old.value() * actual / expected).clamp(old.value() / factor, old.value() * factor);
        Target::floor(scaled.min(limit.value()))
    }
}

impl ChainParams {
    /// The header version this code writes and accepts. Version 2 added signed transfers,
    /// balances and block rewards; version 3 replaced whole bits of difficulty by a finer target
    /// so that it can be retargeted. Older chains are not accepted.
    pub const BLOCK_VERSION: u32 = 3;
    /// New coins each block's reward may claim on top of its fees.
    pub const SUBSIDY: Amount = Amount::from_coins(50);
    /// Mines a block in about a twentieth of a second on two cores with SHA-NI (about 2^20 hashes at
    /// roughly 20 MH/s), and still an instant on one core without it.
    pub const DEFAULT_DIFFICULTY: Difficulty = match Difficulty::new(20) {
        Ok(d) => d,
        Err(_) => unreachable!(),
    };
    /// A new chain aims for a block every ten seconds and adjusts every 30 blocks (five minutes),
    /// by at most four times either way: quick enough to follow a node that joins or leaves, slow
    /// enough that a few lucky blocks do not swing it.
    pub const DEFAULT_RETARGET: Retarget = match Retarget::new(30, 10_000, 4) {
        Ok(r) => r,
        Err(_) => unreachable!(),
    };
    const GENESIS_TIME: Timestamp = Timestamp::from_millis(1_767_225_600_000); // 2026-01-01T00:00Z
    const GENESIS_NOTE: &'static str = "ferrochain genesis";

    /// A chain whose every block carries `difficulty`.
    pub fn new(difficulty: Difficulty) -> Self {
        Self::from_rules(Self::BLOCK_VERSION, difficulty, None)
    }

    /// The same chain with its difficulty following `retarget` (or fixed, with `None`).
    pub fn with_retarget(self, retarget: Option<Retarget>) -> Self {
        Self::from_rules(self.version, self.difficulty, retarget)
    }

    /// The one place parameters are made, so the cached genesis hash always matches the rules.
    fn from_rules(version: u32, difficulty: Difficulty, retarget: Option<Retarget>) -> Self {
        let mut params = ChainParams {
            version,
            difficulty,
            retarget,
            genesis_hash: BlockHash::ZERO,
        };
        params.genesis_hash = params.genesis().hash();
        params
    }

    /// The easiest target the chain allows, and its first blocks' target.
    pub const fn initial_target(&self) -> Target {
        self.difficulty.target()
    }

    /// The target a block at `height` must carry, given its parent's target and timestamp. At a
    /// period's start, `timestamp_at` is asked for the timestamp of the period's first block
    /// (`height - interval`, on the block's own branch); it is never called otherwise.
    pub fn next_target<E>(
        &self,
        height: Height,
        parent_target: Target,
        parent_time: Timestamp,
        timestamp_at: impl FnOnce(Height) -> Result<Timestamp, E>,
    ) -> Result<Target, E> {
        match self.retarget {
            Some(r) if r.is_boundary(height) => {
                let first = timestamp_at(Height::new(height.get() - u64::from(r.interval())))?;
                Ok(r.adjust(parent_target, first, parent_time, self.initial_target()))
            }
            // Retargeting off, or mid-period: the parent's target carries over.
            Some(_) => Ok(parent_target),
            None => Ok(self.initial_target()),
        }
    }

    /// Whether a block at `height` opens a retarget period.
    pub fn is_retarget_boundary(&self, height: Height) -> bool {
        self.retarget.is_some_and(|r| r.is_boundary(height))
    }

    /// The deterministic first block. It is not mined: its hash identifies the chain, so it is
    /// checked by equality rather than by proof of work.
    pub fn genesis(&self) -> VerifiedBlock {
        let note = match self.retarget {
            None => Self::GENESIS_NOTE.to_owned(),
            Some(r) => format!(
                "{}; retarget every {} blocks toward {} ms per block, by at most {}x",
                Self::GENESIS_NOTE,
                r.interval(),
                r.block_time_ms(),
                r.max_factor
            ),
        };
        let transactions = vec![Transaction::Note(
            Note::new(note).expect("the genesis note is short and non-empty"),
        )];
        let header = Header {
            version: self.version,
            height: Height::GENESIS,
            prev_hash: BlockHash::ZERO,
            merkle_root: merkle_root(transactions.iter().map(Transaction::txid)),
            timestamp: Self::GENESIS_TIME,
            target: self.initial_target(),
            nonce: 0,
        };
        let hash = header.hash();
        VerifiedBlock::new_unchecked(
            Block {
                header,
                transactions,
            },
            hash,
        )
    }

    /// The genesis block's hash, which names the chain (transfers sign it); computed once.
    pub fn genesis_hash(&self) -> BlockHash {
        // Catches a field assigned after construction in every debug build (and so in every
        // test), where the cached hash would name another chain than the rules.
        debug_assert_eq!(
            self.genesis_hash,
            self.genesis().hash(),
            "ChainParams fields changed after construction"
        );
        self.genesis_hash
    }

    /// Version and difficulty bits, then (with retargeting) interval, block time and factor; all
    /// little-endian. Chains of version 2 stored just the first eight bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.difficulty.bits().to_le_bytes());
        if let Some(r) = self.retarget {
            out.extend_from_slice(&r.interval().to_le_bytes());
            out.extend_from_slice(&r.block_time_ms().to_le_bytes());
            out.extend_from_slice(&r.max_factor.to_le_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<ChainParams> {
        let u32_at = |i: usize| Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?));
        let u64_at = |i: usize| Some(u64::from_le_bytes(bytes.get(i..i + 8)?.try_into().ok()?));
        let retarget = match bytes.len() {
            8 => None,
            24 => Some(Retarget::new(u32_at(8)?, u64_at(12)?, u32_at(20)?).ok()?),
            _ => return None,
        };
        Some(ChainParams::from_rules(
            u32_at(0)?,
            Difficulty::new(u64::from(u32_at(4)?)).ok()?,
            retarget,
        ))
    }
}

impl std::fmt::Display for ChainParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "difficulty {}", self.difficulty)?;
        match self.retarget {
            Some(r) => write!(
                f,
                ", retargeted every {} blocks toward a block every {} s (at most {}x)",
                r.interval(),
                r.block_time_ms() as f64 / 1000.0,
                r.max_factor
            )?,
            None => write!(f, ", fixed")?,
        }
        write!(f, " (block version {})", self.version)
    }
}

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams::new(Self::DEFAULT_DIFFICULTY).with_retarget(Some(Self::DEFAULT_RETARGET))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retarget() -> Retarget {
        Retarget::new(10, 1_000, 4).unwrap()
    }

    #[test]
    fn genesis_is_deterministic_and_depends_on_the_parameters() {
        let a = ChainParams::new(Difficulty::new(8).unwrap());
        let b = ChainParams::new(Difficulty::new(9).unwrap());
        let c = a.with_retarget(Some(retarget()));
        let d = a.with_retarget(Some(Retarget::new(10, 1_000, 2).unwrap()));
        assert_eq!(a.genesis_hash(), a.genesis_hash());
        let hashes = [a, b, c, d].map(|p| p.genesis_hash());
        for (i, x) in hashes.iter().enumerate() {
            assert!(hashes[i + 1..].iter().all(|y| y != x), "{hashes:?}");
        }
        assert_eq!(a.genesis().block().height(), Height::GENESIS);
        assert_eq!(
            c.genesis().block().header.merkle_root,
            c.genesis().block().compute_merkle_root()
        );
    }

    /// Pins the encoding: any change to the header layout, the genesis contents or the hash
    /// would give existing chains a new genesis and split every network.
    #[test]
    fn default_genesis_hash_is_pinned() {
        assert_eq!(
            ChainParams::default().genesis_hash().to_string(),
            "47c83c0c3f78fa70ee3b8d7da30b4912c24c3b8cfdb2f51c7e7138b2d69c0a45"
        );
    }

    #[test]
    fn parameters_encoding_round_trips() {
        for p in [
            ChainParams::default(),
            ChainParams::new(Difficulty::new(5).unwrap()),
        ] {
            assert_eq!(ChainParams::decode(&p.encode()), Some(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<ChainParams>(&json).unwrap(), p);
        }
        assert_eq!(ChainParams::decode(&[0; 7]), None);
        let mut bad = ChainParams::default().encode();
        bad[8..12].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(ChainParams::decode(&bad), None);
        assert!(serde_json::from_str::<Retarget>(
            r#"{"interval":1,"block_time_ms":1000,"max_factor":4}"#
        )
        .is_err());
    }

    /// The cache is only as good as its agreement with a fresh build, however the parameters
    /// were made.
    #[test]
    fn the_cached_genesis_hash_is_the_genesis_blocks_hash() {
        let fixed = ChainParams::new(Difficulty::new(5).unwrap());
        let json = serde_json::to_string(&ChainParams::default()).unwrap();
        for p in [
            ChainParams::default(),
            fixed,
            fixed.with_retarget(Some(retarget())),
            ChainParams::default().with_retarget(None),
            ChainParams::decode(&ChainParams::default().encode()).unwrap(),
            serde_json::from_str(&json).unwrap(),
        ] {
            assert_eq!(p.genesis_hash, p.genesis().hash(), "{p}");
        }
        // Retargeting changed the rules, so the hash followed.
        assert_ne!(
            fixed.genesis_hash(),
            fixed.with_retarget(Some(retarget())).genesis_hash()
        );
    }

    /// `GET /status` carries the parameters; the CLI and older nodes read exactly these fields.
    #[test]
    fn parameters_json_is_the_rules_alone() {
        let json = serde_json::to_value(ChainParams::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "version": 3,
                "difficulty": 20,
                "retarget": {"interval": 30, "block_time_ms": 10_000, "max_factor": 4}
            })
        );
        let fixed: ChainParams =
            serde_json::from_str(r#"{"version":3,"difficulty":5,"retarget":null}"#).unwrap();
        assert_eq!(fixed, ChainParams::new(Difficulty::new(5).unwrap()));
        let older: ChainParams = serde_json::from_str(r#"{"version":3,"difficulty":5}"#).unwrap();
        assert_eq!(older, fixed);
    }

    /// Parameters are copied into every error that names them (a store holding other ones names
    /// two): the genesis hash they carry must not make them much bigger than their rules.
    #[test]
    fn parameters_stay_small_enough_to_copy() {
        assert_eq!(
            std::mem::size_of::<Option<Retarget>>(),
            std::mem::size_of::<Retarget>()
        );
        assert!(std::mem::size_of::<ChainParams>() <= 52);
    }

    #[test]
    fn retarget_settings_are_bounded() {
        assert_eq!(Retarget::new(1, 1_000, 4), Err(RetargetError::Interval(1)));
        assert_eq!(Retarget::new(2, 0, 4), Err(RetargetError::BlockTime(0)));
        assert_eq!(Retarget::new(2, 1_000, 1), Err(RetargetError::Factor(1)));
        assert_eq!(Retarget::new(2, 1_000, 17), Err(RetargetError::Factor(17)));
        assert!(Retarget::new(Retarget::MAX_INTERVAL, Retarget::MAX_BLOCK_TIME_MS, 16).is_ok());
    }

    #[test]
    fn adjust_follows_the_pace_within_the_bound() {
        let r = retarget();
        let old = Difficulty::new(20).unwrap().target();
        let limit = Target::EASIEST;
        let t0 = Timestamp::from_millis(1_000_000);
        // Nine intervals of a second each are on pace: no change.
        let on_pace = t0.saturating_add_millis(9_000);
        assert_eq!(r.adjust(old, t0, on_pace, limit), old);
        // Twice as fast: the target halves (twice the difficulty).
        let fast = t0.saturating_add_millis(4_500);
        assert_eq!(r.adjust(old, t0, fast, limit).value(), old.value() / 2);
        // Far too fast, or a clock running backwards: at most four times harder.
        assert_eq!(r.adjust(old, t0, t0, limit).value(), old.value() / 4);
        assert_eq!(r.adjust(old, on_pace, t0, limit).value(), old.value() / 4);
        // Far too slow: at most four times easier, and never past the limit.
        let slow = t0.saturating_add_millis(9_000_000);
        assert_eq!(r.adjust(old, t0, slow, limit).value(), old.value() * 4);
        assert_eq!(r.adjust(old, t0, slow, old), old);
        // The bound holds where the aim is too short to divide: 1 ms blocks, no time at all.
        let tiny = Retarget::new(2, 1, 4).unwrap();
        assert_eq!(tiny.adjust(old, t0, t0, limit).value(), old.value() / 4);
        // Steps finer than a bit: 10% slower is 10% easier.
        let slower = t0.saturating_add_millis(9_900);
        assert_eq!(
            r.adjust(old, t0, slower, limit),
            Target::floor(old.value() * 11 / 10)
        );
    }

    #[test]
    fn next_target_changes_only_at_a_period_start() {
        let params = ChainParams::new(Difficulty::new(4).unwrap()).with_retarget(Some(retarget()));
        let hard = Difficulty::new(10).unwrap().target();
        let t = Timestamp::from_millis(50_000);
        let never = |_| -> Result<Timestamp, ()> { panic!("no period starts here") };
        assert_eq!(params.next_target(Height::new(9), hard, t, never), Ok(hard));
        assert_eq!(
            params.next_target(Height::new(11), hard, t, never),
            Ok(hard)
        );
        // Block 10 measures blocks 0 to 9: nine intervals in 4.5 s, twice the pace.
        let asked = std::cell::Cell::new(None);
        let at = |h: Height| {
            asked.set(Some(h));
            Ok::<_, ()>(Timestamp::from_millis(45_500))
        };
        assert_eq!(
            params
                .next_target(Height::new(10), hard, t, at)
                .map(Target::value),
            Ok(hard.value() / 2)
        );
        assert_eq!(asked.get(), Some(Height::new(0)));
        // With retargeting off every block carries the starting difficulty.
        let fixed = ChainParams::new(Difficulty::new(4).unwrap());
        assert_eq!(
            fixed.next_target(Height::new(10), hard, t, never),
            Ok(fixed.initial_target())
        );
    }
}
