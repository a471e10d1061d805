//! A block as `POST /add_block` receives it and as a peer serves it (`GET /blocks/<hash>`): the
//! bytes read as the node reads a block's JSON, a [`WireBlock`] held to the hash it states,
//! then held to the block invariants and validated as the child of the fixed chain's block it
//! names, every rule included; and so is the block its miner could have made of the same
//! entries ([`remined`]), which reaches the rules behind the signatures and the Merkle root.

#![no_main]

use ferrochain::chain::WireBlock;
use ferrochain_fuzz::{check_block, remined, verify_blocks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(wire) = serde_json::from_slice::<WireBlock>(data) else {
        return;
    };
    // A stated hash that is not the block's own: refused (422 `hash_mismatch`) before any rule.
    let Ok(block) = wire.into_block() else {
        return;
    };
    check_block(&block);
    if let Some(remined) = remined(&block) {
        verify_blocks([remined]);
    }
    verify_blocks([block]);
});
