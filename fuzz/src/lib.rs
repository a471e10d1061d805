//! What the fuzz targets share: a small fixed chain to validate against, and the invariants that
//! everything the node decodes from the network is held to.
//!
//! Each target reads its bytes the way the node does (`serde_json` into the types of
//! `ferrochain::network::message` and `ferrochain::chain`), then runs the node's own checks on
//! what decoded. A panic anywhere, in the node's code or in an `assert!` here, is a crash.
//!
//! The fixed chain has the default rules (version, retargeting) but a starting difficulty of one
//! bit: half of the blocks the fuzzer derives from a seed still meet their target and go on to
//! the rules behind proof of work, where at the default 20 bits one in a million would. Its
//! block 1 pays its reward to [`key`], so a block or a transfer on top of it can spend.

use ed25519_dalek::SigningKey;
use ferrochain::chain::{
    block_reward, merkle_root, validate_standalone, Address, Amount, Block, BlockHash, ChainParams,
    ChainVerifier, Difficulty, Header, Note, Timestamp, Transaction, Transfer, WireBlock,
};
use ferrochain::mining::{solve_sequential, template};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::OnceLock;

/// Time between the blocks mined here.
const BLOCK_GAP_MS: u64 = 10_000;
/// How long after genesis the validating node's clock stands: blocks stamped up to two hours
/// past it are in time, and validation never reads the real clock, so runs are reproducible.
const NOW_AFTER_GENESIS_MS: u64 = 24 * 60 * 60 * 1000;

/// The fixed chain's parameters.
pub fn params() -> &'static ChainParams {
    static PARAMS: OnceLock<ChainParams> = OnceLock::new();
    PARAMS.get_or_init(|| {
        ChainParams::new(Difficulty::new(1).expect("1 bit is a difficulty"))
            .with_retarget(Some(ChainParams::DEFAULT_RETARGET))
    })
}

/// The validating node's clock.
pub fn now() -> Timestamp {
    static NOW: OnceLock<Timestamp> = OnceLock::new();
    *NOW.get_or_init(|| {
        let genesis = params().genesis();
        genesis
            .header()
            .timestamp
            .saturating_add_millis(NOW_AFTER_GENESIS_MS)
    })
}

/// The fixed chain: genesis, then block 1, which pays [`key`].
pub fn blocks() -> &'static [Block] {
    static BLOCKS: OnceLock<Vec<Block>> = OnceLock::new();
    BLOCKS.get_or_init(|| {
        let genesis = params().genesis().into_block();
        let mut verifier = ChainVerifier::new(params(), now());
        verifier
            .push(genesis.clone())
            .expect("the genesis block is valid");
        let note = Note::new("fuzz chain, block 1").expect("a short note");
        let first = mine_on(&verifier, key_address(), vec![Transaction::Note(note)]);
        vec![genesis, first]
    })
}

/// The key that block 1 pays.
pub fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

pub fn key_address() -> Address {
    Address::from_public_key(&key().verifying_key())
}

/// Where the rewards of blocks mined on top of the fixed chain go.
pub fn miner() -> Address {
    Address::from_bytes([9; 32])
}

/// A transfer from [`key`], signed for the fixed chain.
pub fn sign(to: Address, amount: Amount, fee: Amount, nonce: u64) -> Transfer {
    Transfer::sign(&key(), to, amount, fee, nonce, &params().genesis_hash())
}

/// A verifier that has checked the fixed chain up to `parent` (all of it when `parent` is none
/// of its blocks), ready for the block that comes next.
pub fn verifier_on(parent: &BlockHash) -> ChainVerifier<'static> {
    let mut verifier = ChainVerifier::new(params(), now());
    for block in blocks() {
        verifier
            .push(block.clone())
            .expect("the fixed chain is valid");
        if block.hash() == *parent {
            break;
        }
    }
    verifier
}

/// The block the node would mine on the verifier's last block: the reward to `miner`, then
/// `transactions`.
pub fn mine_on(
    verifier: &ChainVerifier<'_>,
    miner: Address,
    transactions: Vec<Transaction>,
) -> Block {
    let parent = verifier
        .context()
        .expect("the verifier has checked genesis");
    let mut entries = vec![block_reward(miner, parent.height.next(), &transactions)];
    entries.extend(transactions);
    let timestamp = parent.timestamp.saturating_add_millis(BLOCK_GAP_MS);
    let header = solve_sequential(template(&parent, params(), &entries, timestamp));
    Block {
        header,
        transactions: entries,
    }
}

/// What the node writes it reads back, and then writes the same: a message sent to a peer (or
/// stored) means to its reader what it meant to its writer.
pub fn assert_round_trips<T: Serialize + DeserializeOwned>(value: &T) {
    let json = serde_json::to_string(value).expect("every message serialises");
    let read: T = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("the node cannot read what it wrote ({e}): {json}"));
    let again = serde_json::to_string(&read).expect("every message serialises");
    assert_eq!(again, json, "a message changed on its way back");
}

/// A block as decoded: its canonical encoding and its JSON give back the same block, and the
/// standalone rules (the node's precheck of a block whose parent it lacks) judge it without
/// panicking, naming the block's own hash.
pub fn check_block(block: &Block) {
    let hash = block.hash();
    let bytes = block.encode();
    assert_eq!(
        bytes.len(),
        block.encoded_len(),
        "encoded_len is not the length"
    );
    // The binary decoder refuses more entries than a block may hold before reading them.
    if block.transactions.len() <= Block::MAX_TRANSACTIONS {
        assert_eq!(
            Block::decode(&bytes).as_ref(),
            Ok(block),
            "the canonical encoding does not read back"
        );
    }
    let json = serde_json::to_vec(block).expect("a block serialises");
    let wire: WireBlock = serde_json::from_slice(&json).expect("the node reads its block JSON");
    assert_eq!(
        wire.into_block().as_ref(),
        Ok(block),
        "the block JSON does not read back"
    );
    match validate_standalone(block, params()) {
        Ok(checked) => assert_eq!(checked, hash),
        Err(e) => assert_eq!(e.hash, hash),
    }
}

/// `block` as its miner could have made it: transfers from [`key`] signed again, the Merkle root
/// recomputed and the nonce searched again. The fuzzer cannot make these itself (each is a
/// signature or a hash to match), so without this no block it changes would get past them to the
/// rules behind: the entries' shapes and amounts, the balances, the reward. `None` when the
/// block's target is not the fixed chain's: a nonce search could take forever, and the block is
/// refused for its target anyway.
pub fn remined(block: &Block) -> Option<Block> {
    if block.header.target != params().initial_target() {
        return None;
    }
    let transactions: Vec<Transaction> = block
        .transactions
        .iter()
        .map(|tx| match tx {
            Transaction::Transfer(t) if t.from == key_address() => {
                Transaction::Transfer(sign(t.to, t.amount, t.fee, t.nonce))
            }
            other => other.clone(),
        })
        .collect();
    let header = Header {
        merkle_root: merkle_root(transactions.iter().map(Transaction::txid)),
        ..block.header
    };
    Some(Block {
        header: solve_sequential(header),
        transactions,
    })
}

/// Blocks as a peer serves them (one, or a page), verified in order on the fixed chain from
/// the block the first one names as its parent, every rule included (accounts too), until one
/// is refused. A block valid on its parent must pass the standalone rules: they are a subset.
pub fn verify_blocks(blocks: impl IntoIterator<Item = Block>) {
    let mut blocks = blocks.into_iter().peekable();
    let Some(first) = blocks.peek() else {
        return;
    };
    let mut verifier = verifier_on(&first.header.prev_hash);
    for block in blocks {
        let standalone = validate_standalone(&block, params()).map_err(|e| e.rule);
        let hash = block.hash();
        match verifier.push(block) {
            Ok(verified) => {
                assert_eq!(verified.hash(), hash);
                assert_eq!(
                    standalone,
                    Ok(hash),
                    "a block valid on its parent fails the standalone rules"
                );
            }
            Err(_) => return,
        }
    }
}
