//! The consensus rules by name: every way a block or a transfer can be invalid, and the stable
//! code the API reports for each.
//!
//! A leaf of the core: validation, the ledger and the mempool all speak of these rules, so they
//! live apart from any of them (and import nothing but the quantities the rules name). A new rule
//! gets its variant, message and code here, once.

use super::amount::Amount;
use super::hash::{BlockHash, MerkleRoot, TxId};
use super::header::{Height, Timestamp};
use super::pow::Target;

/// The rule a block breaks. `code()` is the stable name the API reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    #[error("genesis block {got} is not this chain's genesis {expected}")]
    WrongGenesis { expected: BlockHash, got: BlockHash },
    #[error("version {got} is not the chain's version {expected}")]
    BadVersion { expected: u32, got: u32 },
    #[error("height {got} does not follow its parent's height (expected {expected})")]
    BadHeight { expected: Height, got: Height },
    #[error("previous hash {got} is not the parent {expected}")]
    BadPreviousHash { expected: BlockHash, got: BlockHash },
    #[error("target {got} is not the {required} the chain requires here")]
    BadTarget { required: Target, got: Target },
    #[error("hash {hash} does not meet the target {target}")]
    BadProofOfWork { hash: BlockHash, target: Target },
    #[error("timestamp {timestamp} is not after the median of the last 11 blocks ({median})")]
    TimestampTooOld {
        timestamp: Timestamp,
        median: Timestamp,
    },
    #[error("timestamp {timestamp} opens a retarget period but is before its parent's ({parent})")]
    TimeWarp {
        timestamp: Timestamp,
        parent: Timestamp,
    },
    #[error("timestamp {timestamp} is more than 2 hours ahead of this node's clock ({now})")]
    TimestampTooNew {
        timestamp: Timestamp,
        now: Timestamp,
    },
    #[error("{count} transactions exceed the limit of {max}")]
    TooManyTransactions { count: usize, max: usize },
    #[error("{size} bytes exceed the block size limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("transaction {txid} appears more than once")]
    DuplicateTransaction { txid: TxId },
    #[error("Merkle root {got} does not match the transactions (computed {computed})")]
    BadMerkleRoot {
        computed: MerkleRoot,
        got: MerkleRoot,
    },
    #[error("the first transaction must be the block reward")]
    MissingReward,
    #[error("transaction {index} is a second block reward")]
    ExtraReward { index: usize },
    #[error("the reward names height {got}, the block's height is {expected}")]
    BadRewardHeight { expected: Height, got: Height },
    #[error("the reward claims {got}, more than the subsidy plus fees ({max})")]
    RewardTooLarge { got: Amount, max: Amount },
    #[error("transfer {txid} moves nothing (amount 0)")]
    ZeroAmount { txid: TxId },
    #[error("transfer {txid} overflows an amount")]
    AmountOverflow { txid: TxId },
    #[error("transfer {txid} has an invalid signature")]
    BadSignature { txid: TxId },
    #[error("transfer {txid} has nonce {got}, the sender's next nonce is {expected} (replayed or out of order)")]
    BadNonce { txid: TxId, expected: u64, got: u64 },
    #[error("transfer {txid} spends {needed}, the sender has {balance}")]
    InsufficientBalance {
        txid: TxId,
        balance: Amount,
        needed: Amount,
    },
    #[error("its ancestor {ancestor} is invalid")]
    InvalidAncestor { ancestor: BlockHash },
}

impl Rule {
    pub fn code(&self) -> &'static str {
        match self {
            Rule::WrongGenesis { .. } => "wrong_genesis",
            Rule::BadVersion { .. } => "bad_version",
            Rule::BadHeight { .. } => "bad_height",
            Rule::BadPreviousHash { .. } => "bad_previous_hash",
            Rule::BadTarget { .. } => "bad_target",
            Rule::BadProofOfWork { .. } => "bad_proof_of_work",
            Rule::TimestampTooOld { .. } => "timestamp_too_old",
            Rule::TimeWarp { .. } => "time_warp",
            Rule::TimestampTooNew { .. } => "timestamp_too_new",
            Rule::TooManyTransactions { .. } => "too_many_transactions",
            Rule::TooLarge { .. } => "block_too_large",
            Rule::DuplicateTransaction { .. } => "duplicate_transaction",
            Rule::BadMerkleRoot { .. } => "bad_merkle_root",
            Rule::MissingReward => "missing_reward",
            Rule::ExtraReward { .. } => "extra_reward",
            Rule::BadRewardHeight { .. } => "bad_reward_height",
            Rule::RewardTooLarge { .. } => "reward_too_large",
            Rule::ZeroAmount { .. } => "zero_amount",
            Rule::AmountOverflow { .. } => "amount_overflow",
            Rule::BadSignature { .. } => "bad_signature",
            Rule::BadNonce { .. } => "bad_nonce",
            Rule::InsufficientBalance { .. } => "insufficient_balance",
            Rule::InvalidAncestor { .. } => "invalid_ancestor",
        }
    }
}

/// A block that breaks a rule, named by height and (computed) hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid block {height} ({hash}): {rule}")]
pub struct InvalidBlock {
    pub height: Height,
    pub hash: BlockHash,
    pub rule: Rule,
}
