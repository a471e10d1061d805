//! The pure chain core: types, canonical encodings, consensus rules and fork choice.
//!
//! Nothing here performs I/O or knows about sled, HTTP or threads, and no rule reads the clock
//! (validation takes the current time as an argument), so every rule can be tested with plain
//! values and reused by the node, the miner and the CLI alike. The one clock reading in the core
//! is [`Timestamp::now`], kept beside the type for the edges that stamp blocks and bans.
//! `tests/layering.rs` holds the core to this, and to having no import cycles between its
//! modules.
//!
//! Where the rules are: `rule.rs` names every rule ([`Rule`]) and its API code; `validation.rs` holds
//! the block rules (standalone and contextual); `ledger.rs` the per-transfer rules (amounts,
//! nonce, balance, signature) and the account rules of a whole block; `params.rs` the chain's
//! parameters, its genesis and retargeting.

mod address;
mod amount;
mod block;
mod encode;
mod hash;
mod header;
mod ledger;
mod note;
mod params;
mod position;
mod pow;
mod rule;
mod transaction;
mod validation;

#[cfg(test)]
mod tests;

pub use address::{Address, AddressError};
pub use amount::{Amount, ParseAmountError};
pub use block::{merkle_root, Block, HashMismatch, VerifiedBlock, WireBlock};
pub use encode::DecodeError;
pub use hash::{sha256d, BlockHash, MerkleRoot, ParseHashError, TxId};
pub use header::{Header, Height, Timestamp};
pub use ledger::{
    apply_block, block_reward, parties, touched, validate_amounts, validate_signature,
    validate_spend, Account, Accounts,
};
pub use note::{Note, NoteError};
pub use params::{ChainParams, Retarget, RetargetError};
pub use position::{ParsePositionError, TxPosition};
pub use pow::{
    hash_prefix, prefers, Difficulty, DifficultyError, ParseDifficultyError, ParseTargetError,
    Target, TargetError, Work,
};
pub use rule::{InvalidBlock, Rule};
pub use transaction::{verify_signatures, Reward, Signature, Transaction, Transfer};
pub use validation::{
    median_time_past, validate_block, validate_genesis, validate_standalone, validate_transactions,
    ChainVerifier, Parent, SignatureCheck, SingleThread, MAX_FUTURE_DRIFT_MS, MEDIAN_TIME_SPAN,
};
