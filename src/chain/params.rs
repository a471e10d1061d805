//! Chain parameters and the genesis block they determine.

use super::amount::Amount;
use super::block::{merkle_root, Block};
use super::hash::BlockHash;
use super::header::{Header, Height, Timestamp};
use super::pow::Difficulty;
use super::transaction::{Note, Transaction};
use super::validation::VerifiedBlock;

/// What every node of one chain must agree on. The genesis block is derived from these, so two
/// nodes with different parameters have different genesis hashes and never mix their blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainParams {
    /// Header version every block of the chain carries.
    pub version: u32,
    /// Leading zero bits every block hash after genesis must have.
    pub difficulty: Difficulty,
}

impl ChainParams {
    /// The header version this code writes and accepts. Version 2 added signed transfers,
    /// balances and block rewards; version 1 chains (free-text entries only) are not accepted.
    pub const BLOCK_VERSION: u32 = 2;
    /// New coins each block's reward may claim on top of its fees.
    pub const SUBSIDY: Amount = Amount::from_coins(50);
    /// Mines a block in about a twentieth of a second on two cores with SHA-NI (about 2^20 hashes at
    /// roughly 20 MH/s), and still an instant on one core without it.
    pub const DEFAULT_DIFFICULTY: Difficulty = match Difficulty::new(20) {
        Ok(d) => d,
        Err(_) => unreachable!(),
    };
    const GENESIS_TIME: Timestamp = Timestamp::from_millis(1_767_225_600_000); // 2026-01-01T00:00Z
    const GENESIS_NOTE: &'static str = "ferrochain genesis";

    pub const fn new(difficulty: Difficulty) -> Self {
        ChainParams {
            version: Self::BLOCK_VERSION,
            difficulty,
        }
    }

    /// The difficulty a block must carry and meet. Fixed for now; retargeting will compute it from
    /// the block's ancestors, which is why validation asks the parameters instead of the block.
    pub fn required_difficulty(&self) -> Difficulty {
        self.difficulty
    }

    /// The deterministic first block. It is not mined: its hash identifies the chain, so it is
    /// checked by equality rather than by proof of work.
    pub fn genesis(&self) -> VerifiedBlock {
        let transactions = vec![Transaction::Note(
            Note::new(Self::GENESIS_NOTE).expect("the genesis note is short and non-empty"),
        )];
        let header = Header {
            version: self.version,
            height: Height::GENESIS,
            prev_hash: BlockHash::ZERO,
            merkle_root: merkle_root(transactions.iter().map(Transaction::txid)),
            timestamp: Self::GENESIS_TIME,
            difficulty: self.difficulty,
            nonce: 0,
        };
        VerifiedBlock::new_unchecked(Block {
            header,
            transactions,
        })
    }

    pub fn genesis_hash(&self) -> BlockHash {
        self.genesis().hash()
    }

    /// 8 bytes: version and difficulty bits, little-endian.
    pub fn encode(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&self.version.to_le_bytes());
        out[4..].copy_from_slice(&self.difficulty.bits().to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<ChainParams> {
        let bytes: &[u8; 8] = bytes.try_into().ok()?;
        let version = u32::from_le_bytes(bytes[..4].try_into().ok()?);
        let bits = u32::from_le_bytes(bytes[4..].try_into().ok()?);
        Some(ChainParams {
            version,
            difficulty: Difficulty::new(u64::from(bits)).ok()?,
        })
    }
}

impl std::fmt::Display for ChainParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "difficulty {} (block version {})",
            self.difficulty, self.version
        )
    }
}

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams::new(Self::DEFAULT_DIFFICULTY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_deterministic_and_depends_on_the_parameters() {
        let a = ChainParams::new(Difficulty::new(8).unwrap());
        let b = ChainParams::new(Difficulty::new(9).unwrap());
        assert_eq!(a.genesis_hash(), a.genesis_hash());
        assert_ne!(a.genesis_hash(), b.genesis_hash());
        assert_eq!(a.genesis().block().height(), Height::GENESIS);
        assert_eq!(
            a.genesis().block().header.merkle_root,
            a.genesis().block().compute_merkle_root()
        );
    }

    /// Pins the encoding: any change to the header layout, the genesis contents or the hash
    /// would give existing chains a new genesis and split every network.
    #[test]
    fn default_genesis_hash_is_pinned() {
        assert_eq!(
            ChainParams::default().genesis_hash().to_string(),
            "34a7ede8f24bf01cc2fea369b422679c1292d46a05da63f41dcd287027b31a88"
        );
    }

    #[test]
    fn parameters_encoding_round_trips() {
        let p = ChainParams::default();
        assert_eq!(ChainParams::decode(&p.encode()), Some(p));
        assert_eq!(ChainParams::decode(&[0; 7]), None);
    }
}
