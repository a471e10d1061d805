//! A signed transfer as `POST /transactions` receives it, from a wallet or relayed by a peer:
//! the bytes read as the node reads a transfer, then held to what the node relies on. Its JSON
//! reads back, alone and as a block's entry; the mempool's strict signature check and a block's
//! batch check agree on it; and the mempool admits it exactly when a block holding it on the
//! same tip is valid, and refuses it for the rule that block breaks.

#![no_main]

use ferrochain::chain::{validate_signature, verify_signatures, Transaction, Transfer};
use ferrochain::mempool::{Mempool, MempoolError};
use ferrochain_fuzz::{
    assert_round_trips, blocks, key_address, mine_on, miner, params, sign, verifier_on,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(transfer) = serde_json::from_slice::<Transfer>(data) else {
        return;
    };
    check_encodings(&transfer);
    let chain = params().genesis_hash();
    assert_eq!(
        verify_signatures(&[&transfer], &chain).is_ok(),
        validate_signature(&transfer, &chain).is_ok(),
        "a block's batch check and the mempool's strict check disagree on {transfer:?}"
    );
    // Transfers from the fixed chain's key are signed again, so that whatever recipient, amount,
    // fee and nonce the fuzzer writes get past the signature to the ledger rules (signing is
    // deterministic: a transfer the key already signed stays as it was).
    if transfer.from == key_address() {
        check_admission(sign(
            transfer.to,
            transfer.amount,
            transfer.fee,
            transfer.nonce,
        ));
    }
});

fn check_encodings(transfer: &Transfer) {
    assert_round_trips(transfer);
    let json = serde_json::to_vec(transfer).expect("a transfer serialises");
    let entry = Transaction::Transfer(transfer.clone());
    assert_eq!(
        serde_json::from_slice::<Transaction>(&json).ok().as_ref(),
        Some(&entry),
        "a transfer's JSON reads as another block entry"
    );
    assert_eq!(entry.encode().len(), Transfer::ENCODED_LEN);
    assert_eq!(entry.txid(), transfer.txid());
}

/// The node admits a transfer whose signature holds to its mempool, against the sender's account
/// at the tip (here the fixed chain's block 1). A block holding just that transfer on the same
/// tip is what its miner would make of it next.
fn check_admission(transfer: Transfer) {
    let tip = blocks().last().expect("the fixed chain has blocks").hash();
    let mut verifier = verifier_on(&tip);
    let sender = verifier
        .accounts()
        .get(&transfer.from)
        .copied()
        .unwrap_or_default();
    let admitted = Mempool::new(1, tip).insert(transfer.clone(), sender);
    let block = mine_on(&verifier, miner(), vec![Transaction::Transfer(transfer)]);
    let accepted = verifier.push(block).map(drop).map_err(|e| e.rule);
    match admitted {
        Ok(_) => assert_eq!(
            accepted,
            Ok(()),
            "the mempool admits what a block may not hold"
        ),
        Err(MempoolError::Invalid(rule)) => assert_eq!(
            accepted,
            Err(rule),
            "the mempool and a block refuse a transfer for different rules"
        ),
        Err(other) => panic!("an empty mempool refused a transfer for its own reasons: {other}"),
    }
}
