//! The body of `GET /headers`: the main chain's headers without their blocks' entries.

use crate::chain::{BlockHash, Height, MerkleRoot, Target, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /headers`: one page of the main chain's headers, for lists and charts that need no
/// entries, and the whole chain's length.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct HeaderPage {
    pub length: u64,
    pub headers: Vec<HeaderView>,
}

/// A main-chain block's header fields, as in its JSON, with its entry count and size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeaderView {
    pub index: Height,
    pub hash: BlockHash,
    pub version: u32,
    pub timestamp: Timestamp,
    pub previous_hash: BlockHash,
    pub merkle_root: MerkleRoot,
    pub target: Target,
    pub nonce: u64,
    /// Entries in the block (the reward, transfers and notes).
    pub entries: u32,
    /// The block's size in its binary encoding.
    pub bytes: usize,
}
