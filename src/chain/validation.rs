//! Consensus rules: every check a block must pass before a node stores or relays it.
//!
//! Validation is pure. The caller supplies what the rules need to know about the block's
//! ancestors (a [`Parent`]) and the current time, so the same code checks a block from a peer, a
//! freshly mined one, and a whole chain downloaded by the CLI.

use super::amount::Amount;
use super::block::Block;
use super::hash::{BlockHash, TxId};
use super::header::{Header, Height, Timestamp};
use super::ledger::{apply_block, Accounts};
use super::params::ChainParams;
use super::pow::{Target, Work};
use super::transaction::{verify_signatures, Transaction, Transfer};
use std::collections::{HashSet, VecDeque};

/// How many ancestors the median-time-past rule looks at.
pub const MEDIAN_TIME_SPAN: usize = 11;
/// How far ahead of the validating node's clock a block's timestamp may be.
pub const MAX_FUTURE_DRIFT_MS: u64 = 2 * 60 * 60 * 1000;

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
        computed: super::hash::MerkleRoot,
        got: super::hash::MerkleRoot,
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

/// What validation needs to know about a block's parent and the chain behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parent {
    pub hash: BlockHash,
    pub height: Height,
    pub timestamp: Timestamp,
    /// Median timestamp of the parent and up to ten of its ancestors.
    pub median_time_past: Timestamp,
    /// The target the child must carry ([`ChainParams::next_target`] on the child's branch).
    pub next_target: Target,
}

/// Where signature checks run. The core says what to verify; the caller decides where: the node
/// spreads a block's transfers over every core, tests and the CLI verify on their own thread.
pub trait SignatureCheck: Sync {
    /// Verifies every transfer's signature for `chain`; the index of the first bad one if any.
    fn check(&self, transfers: &[&Transfer], chain: &BlockHash) -> Result<(), usize>;
}

/// Batch verification on the calling thread.
pub struct SingleThread;

impl SignatureCheck for SingleThread {
    fn check(&self, transfers: &[&Transfer], chain: &BlockHash) -> Result<(), usize> {
        verify_signatures(transfers, chain)
    }
}

/// A block that passed every rule, with its hash computed once. Only validation (and the genesis
/// constructor) make one, so storage cannot be handed a block nobody checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedBlock {
    block: Block,
    hash: BlockHash,
}

impl VerifiedBlock {
    pub(super) fn new_unchecked(block: Block) -> Self {
        let hash = block.hash();
        VerifiedBlock { block, hash }
    }

    pub fn hash(&self) -> BlockHash {
        self.hash
    }

    pub fn block(&self) -> &Block {
        &self.block
    }

    pub fn header(&self) -> &Header {
        &self.block.header
    }

    pub fn into_block(self) -> Block {
        self.block
    }
}

/// The median of up to [`MEDIAN_TIME_SPAN`] timestamps (the upper middle for an even count).
pub fn median_time_past(timestamps: &[Timestamp]) -> Timestamp {
    let mut sorted = timestamps.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// Checks `block` as the child of `parent` against every rule that does not depend on account
/// state: header, body, reward shape and signatures. Balances and nonces are checked by
/// [`apply_block`](super::apply_block) when the block joins the main chain.
pub fn validate_block(
    block: Block,
    parent: &Parent,
    params: &ChainParams,
    now: Timestamp,
    signatures: &dyn SignatureCheck,
) -> Result<VerifiedBlock, InvalidBlock> {
    let hash = block.hash();
    match check_rules(&block, hash, parent, params, now, signatures) {
        Ok(()) => Ok(VerifiedBlock { block, hash }),
        Err(rule) => Err(InvalidBlock {
            height: block.height(),
            hash,
            rule,
        }),
    }
}

fn check_rules(
    block: &Block,
    hash: BlockHash,
    parent: &Parent,
    params: &ChainParams,
    now: Timestamp,
    signatures: &dyn SignatureCheck,
) -> Result<(), Rule> {
    let h = &block.header;
    if h.version != params.version {
        return Err(Rule::BadVersion {
            expected: params.version,
            got: h.version,
        });
    }
    if h.height != parent.height.next() {
        return Err(Rule::BadHeight {
            expected: parent.height.next(),
            got: h.height,
        });
    }
    if h.prev_hash != parent.hash {
        return Err(Rule::BadPreviousHash {
            expected: parent.hash,
            got: h.prev_hash,
        });
    }
    // The chain sets the target; a block that picks an easier one is refused even if its hash
    // meets what it claims.
    let required = parent.next_target;
    if h.target != required {
        return Err(Rule::BadTarget {
            required,
            got: h.target,
        });
    }
    if !required.check_hash(&hash) {
        return Err(Rule::BadProofOfWork {
            hash,
            target: required,
        });
    }
    if h.timestamp <= parent.median_time_past {
        return Err(Rule::TimestampTooOld {
            timestamp: h.timestamp,
            median: parent.median_time_past,
        });
    }
    // The time-warp guard. A period is measured from its own first block to its own last, so
    // the step back to the next period's first block is never counted; were it allowed to go
    // backwards, a miner could stamp each period's last block late and the next one's first
    // early, and every period would look slow while the clock stood still, letting difficulty
    // fall without end. Periods that cannot overlap add up to no more than the time that passed.
    if params.is_retarget_boundary(h.height) && h.timestamp < parent.timestamp {
        return Err(Rule::TimeWarp {
            timestamp: h.timestamp,
            parent: parent.timestamp,
        });
    }
    if h.timestamp > now.saturating_add_millis(MAX_FUTURE_DRIFT_MS) {
        return Err(Rule::TimestampTooNew {
            timestamp: h.timestamp,
            now,
        });
    }
    check_body(block)?;
    check_value_shape(block)?;
    let transfers: Vec<&Transfer> = block
        .transactions
        .iter()
        .filter_map(Transaction::as_transfer)
        .collect();
    signatures
        .check(&transfers, &params.genesis_hash())
        .map_err(|i| Rule::BadSignature {
            txid: transfers[i].txid(),
        })
}

/// The reward comes first and only once, names the block's height; transfers move something and
/// their cost fits in an amount.
fn check_value_shape(block: &Block) -> Result<(), Rule> {
    match block.transactions.first() {
        Some(Transaction::Reward(r)) if r.height != block.height() => {
            return Err(Rule::BadRewardHeight {
                expected: block.height(),
                got: r.height,
            })
        }
        Some(Transaction::Reward(_)) => {}
        _ => return Err(Rule::MissingReward),
    }
    for (index, tx) in block.transactions.iter().enumerate().skip(1) {
        match tx {
            Transaction::Reward(_) => return Err(Rule::ExtraReward { index }),
            Transaction::Transfer(t) if t.amount == Amount::ZERO => {
                return Err(Rule::ZeroAmount { txid: tx.txid() })
            }
            Transaction::Transfer(t) if t.cost().is_none() => {
                return Err(Rule::AmountOverflow { txid: tx.txid() })
            }
            _ => {}
        }
    }
    Ok(())
}

/// Size limits, uniqueness and the Merkle commitment: the rules that need no context.
fn check_body(block: &Block) -> Result<(), Rule> {
    let txids = check_entries(&block.transactions)?;
    let computed = super::block::merkle_root(txids);
    if computed != block.header.merkle_root {
        return Err(Rule::BadMerkleRoot {
            computed,
            got: block.header.merkle_root,
        });
    }
    Ok(())
}

/// Checks entries about to be mined against the block limits and the uniqueness rule, so a
/// miner never spends work on a block that would be refused.
pub fn validate_transactions(transactions: &[Transaction]) -> Result<(), Rule> {
    check_entries(transactions).map(drop)
}

/// Count, size and uniqueness; returns the transaction ids for the Merkle check.
fn check_entries(transactions: &[Transaction]) -> Result<Vec<TxId>, Rule> {
    let count = transactions.len();
    if count > Block::MAX_TRANSACTIONS {
        return Err(Rule::TooManyTransactions {
            count,
            max: Block::MAX_TRANSACTIONS,
        });
    }
    let size = Block::encoded_len_with(transactions);
    if size > Block::MAX_BYTES {
        return Err(Rule::TooLarge {
            size,
            max: Block::MAX_BYTES,
        });
    }
    let txids: Vec<TxId> = transactions.iter().map(Transaction::txid).collect();
    let mut seen = HashSet::with_capacity(txids.len());
    if let Some(dup) = txids.iter().find(|id| !seen.insert(**id)) {
        return Err(Rule::DuplicateTransaction { txid: *dup });
    }
    Ok(txids)
}

/// Accepts `block` as the first block of a chain only if it is this chain's genesis.
pub fn validate_genesis(block: Block, params: &ChainParams) -> Result<VerifiedBlock, InvalidBlock> {
    let genesis = params.genesis();
    if block == *genesis.block() {
        return Ok(genesis);
    }
    Err(InvalidBlock {
        height: block.height(),
        hash: block.hash(),
        rule: Rule::WrongGenesis {
            expected: genesis.hash(),
            got: block.hash(),
        },
    })
}

/// Verifies a whole chain block by block from genesis, every rule included (balances and nonces
/// too). It holds the last few timestamps and the accounts, never the blocks, so memory grows with
/// the number of accounts, not the length of the chain.
pub struct ChainVerifier<'a> {
    params: &'a ChainParams,
    now: Timestamp,
    parent: Option<Parent>,
    recent: VecDeque<Timestamp>,
    /// Timestamp of the last block whose height is a multiple of the retarget interval: the
    /// first block of the period the next boundary measures.
    period_start: Timestamp,
    work: Work,
    accounts: Accounts,
}

impl<'a> ChainVerifier<'a> {
    pub fn new(params: &'a ChainParams, now: Timestamp) -> Self {
        ChainVerifier {
            params,
            now,
            parent: None,
            recent: VecDeque::with_capacity(MEDIAN_TIME_SPAN),
            period_start: Timestamp::default(),
            work: Work::ZERO,
            accounts: Accounts::new(),
        }
    }

    /// Checks the next block; the first one must be the genesis block.
    pub fn push(&mut self, block: Block) -> Result<VerifiedBlock, InvalidBlock> {
        let verified = match &self.parent {
            None => validate_genesis(block, self.params)?,
            Some(parent) => {
                let verified = validate_block(block, parent, self.params, self.now, &SingleThread)?;
                apply_block(verified.block(), &mut self.accounts).map_err(|rule| InvalidBlock {
                    height: verified.header().height,
                    hash: verified.hash(),
                    rule,
                })?;
                verified
            }
        };
        let header = verified.header();
        if self.recent.len() == MEDIAN_TIME_SPAN {
            self.recent.pop_front();
        }
        self.recent.push_back(header.timestamp);
        if let Some(r) = self.params.retarget {
            if header.height.get() % u64::from(r.interval()) == 0 {
                self.period_start = header.timestamp;
            }
        }
        self.work = self.work + header.target.work();
        let period_start = self.period_start;
        let next_target = self.params.next_target(
            header.height.next(),
            header.target,
            header.timestamp,
            |_| Ok::<_, std::convert::Infallible>(period_start),
        );
        let Ok(next_target) = next_target;
        self.parent = Some(Parent {
            hash: verified.hash(),
            height: header.height,
            timestamp: header.timestamp,
            median_time_past: median_time_past(self.recent.make_contiguous()),
            next_target,
        });
        Ok(verified)
    }

    /// Work of the blocks verified so far.
    pub fn work(&self) -> Work {
        self.work
    }

    /// Account states after the blocks verified so far.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// What the next block is checked against: the last verified block and the target its child
    /// must carry.
    pub fn context(&self) -> Option<Parent> {
        self.parent
    }

    /// Height of the last verified block, if any.
    pub fn height(&self) -> Option<Height> {
        self.parent.map(|p| p.height)
    }
}
