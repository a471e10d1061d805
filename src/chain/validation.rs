//! Consensus rules for blocks: every check a block must pass before a node stores or relays it.
//!
//! Validation is pure. The caller supplies what the rules need to know about the block's
//! ancestors (a [`Parent`]) and the current time, so the same code checks a block from a peer, a
//! freshly mined one, and a whole chain downloaded by the CLI.
//!
//! Two entries share the same checks. [`validate_standalone`] holds a block to what it can be
//! held to without its parent (the node's orphan precheck); [`validate_block`] holds it to
//! everything, its parent included. Each rule is one function below, called by both where both
//! check it, so they can never disagree on what a rule means.

use super::block::{merkle_root, Block, VerifiedBlock};
use super::hash::{BlockHash, TxId};
use super::header::{Height, Timestamp};
use super::ledger::{apply_block, validate_amounts, Accounts};
use super::params::ChainParams;
use super::pow::{Target, Work};
use super::rule::{InvalidBlock, Rule};
use super::transaction::{verify_signatures, Transaction, Transfer};
use std::collections::{HashSet, VecDeque};

/// How many ancestors the median-time-past rule looks at.
pub const MEDIAN_TIME_SPAN: usize = 11;
/// How far ahead of the validating node's clock a block's timestamp may be.
pub const MAX_FUTURE_DRIFT_MS: u64 = 2 * 60 * 60 * 1000;

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

/// The median of up to [`MEDIAN_TIME_SPAN`] timestamps (the upper middle for an even count).
pub fn median_time_past(timestamps: &[Timestamp]) -> Timestamp {
    let mut sorted = timestamps.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// Checks `block` against the rules it can be held to without its parent, cheapest first: a
/// target no easier than the chain ever allows, met by the block's hash (one hash), the entry
/// limits, then the Merkle root (a hash per entry). Returns the hash it computed.
///
/// Which target the block must carry depends on its ancestors, so only [`validate_block`] checks
/// that; this keeps junk out of an orphan pool, and makes a flood cost the receiver one hash per
/// block and the sender real work at the chain's easiest target.
pub fn validate_standalone(block: &Block, params: &ChainParams) -> Result<BlockHash, InvalidBlock> {
    let hash = block.hash();
    standalone_rules(block, hash, params)
        .map(|()| hash)
        .map_err(|rule| InvalidBlock {
            height: block.height(),
            hash,
            rule,
        })
}

fn standalone_rules(block: &Block, hash: BlockHash, params: &ChainParams) -> Result<(), Rule> {
    let (target, easiest) = (block.header.target, params.initial_target());
    if target.value() > easiest.value() {
        return Err(Rule::BadTarget {
            required: easiest,
            got: target,
        });
    }
    validate_proof_of_work(target, hash)?;
    validate_body(block)
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
    match block_rules(&block, hash, parent, params, now, signatures) {
        Ok(()) => Ok(VerifiedBlock::new_unchecked(block, hash)),
        Err(rule) => Err(InvalidBlock {
            height: block.height(),
            hash,
            rule,
        }),
    }
}

/// Every rule, cheapest first: the header against its parent, its proof of work and its time,
/// then the body. The standalone bound on the target needs no check of its own here: the target
/// demanded is [`ChainParams::next_target`]'s, which is never easier than that bound.
fn block_rules(
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
    validate_proof_of_work(h.target, hash)?;
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
    validate_body(block)?;
    validate_value_shape(block)?;
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

/// The block's hash meets the target its header carries.
fn validate_proof_of_work(target: Target, hash: BlockHash) -> Result<(), Rule> {
    if target.check_hash(&hash) {
        Ok(())
    } else {
        Err(Rule::BadProofOfWork { hash, target })
    }
}

/// The reward comes first and only once, names the block's height; transfers move something and
/// their cost fits in an amount.
fn validate_value_shape(block: &Block) -> Result<(), Rule> {
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
            Transaction::Transfer(t) => {
                validate_amounts(t)?;
            }
            Transaction::Note(_) => {}
        }
    }
    Ok(())
}

/// Size limits, uniqueness and the Merkle commitment: the rules that need no context.
fn validate_body(block: &Block) -> Result<(), Rule> {
    let txids = validate_entries(&block.transactions)?;
    let computed = merkle_root(txids);
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
    validate_entries(transactions).map(drop)
}

/// Count, size and uniqueness; returns the transaction ids for the Merkle check.
fn validate_entries(transactions: &[Transaction]) -> Result<Vec<TxId>, Rule> {
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
