//! The pure chain core: types, canonical encodings, consensus rules and fork choice.
//!
//! Nothing here performs I/O or knows about sled, HTTP, threads or the clock (validation takes the
//! current time as an argument), so every rule can be tested with plain values and reused by the
//! node, the miner and the CLI alike.

mod address;
mod amount;
mod block;
mod encode;
mod hash;
mod header;
mod ledger;
mod params;
mod pow;
mod transaction;
mod validation;

#[cfg(test)]
mod tests;

pub use address::{Address, AddressError};
pub use amount::{Amount, ParseAmountError};
pub use block::{merkle_root, Block, HashMismatch, WireBlock};
pub use encode::DecodeError;
pub use hash::{sha256d, BlockHash, MerkleRoot, ParseHashError, TxId};
pub use header::{Header, Height, Timestamp};
pub use ledger::{apply_block, block_reward, touched, Account, Accounts};
pub use params::{ChainParams, Retarget, RetargetError};
pub use pow::{hash_prefix, prefers, Difficulty, DifficultyError, Target, TargetError, Work};
pub use transaction::{
    verify_signatures, Note, NoteError, Reward, Signature, Transaction, Transfer,
};
pub use validation::{
    median_time_past, validate_block, validate_genesis, validate_transactions, ChainVerifier,
    InvalidBlock, Parent, Rule, SignatureCheck, SingleThread, VerifiedBlock, MAX_FUTURE_DRIFT_MS,
    MEDIAN_TIME_SPAN,
};
