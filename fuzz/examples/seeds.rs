//! Writes the seed corpora, `corpus/<target>/*.json`: valid bodies, as the node writes them,
//! for the fixed chain of `ferrochain_fuzz` (and the default chain's genesis), from which the
//! fuzzer starts. Rerun it when an encoding or the chain rules change:
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds
//! ```

use ferrochain::chain::{Address, Amount, ChainParams, Note, Signature, Transaction, Transfer};
use ferrochain::mining::{ProcessUsage, Progress};
use ferrochain::network::message::{
    open_object, Announcement, LocateRequest, NodeStatus, Peers, RegisterRequest,
};
use ferrochain::network::{
    ChainPage, ChainPoint, ClaimedTip, Located, PeerRecord, PeerSource, PeerUrl,
};
use ferrochain_fuzz::{blocks, mine_on, miner, now, params, sign, verifier_on};
use serde::Serialize;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let write = |target: &str, name: &str, body: Vec<u8>| {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{name}.json")), body)
    };

    let [genesis, first] = blocks() else {
        unreachable!("the fixed chain is genesis and block 1")
    };
    let coins = Amount::from_coins;
    let bob = Address::from_bytes([2; 32]);
    let pay_bob = sign(bob, coins(10), Amount::from_units(1_000), 0);
    let pay_bob_again = sign(bob, coins(1), Amount::ZERO, 1);
    let note = Note::new("Alice pays Bob 10 BTC").expect("a short note");
    let mut verifier = verifier_on(&first.hash());
    let second = mine_on(
        &verifier,
        miner(),
        vec![
            Transaction::Transfer(pay_bob.clone()),
            Transaction::Transfer(pay_bob_again),
            Transaction::Note(note),
        ],
    );
    verifier
        .push(second.clone())
        .expect("the seed chain is valid");

    let default_genesis = ChainParams::default().genesis().into_block();
    write("block_json", "default-genesis", json(&default_genesis))?;
    write("block_json", "genesis", json(genesis))?;
    write("block_json", "block-1", json(first))?;
    write("block_json", "block-2", json(&second))?;

    write("transfer", "transfer", json(&pay_bob))?;
    write(
        "transfer",
        "bad-nonce",
        json(&sign(bob, coins(10), Amount::ZERO, 3)),
    )?;
    write(
        "transfer",
        "too-much",
        json(&sign(bob, coins(51), Amount::ZERO, 0)),
    )?;
    // As a wallet may send it: without the optional `type` and `id`.
    let mut plain = serde_json::to_value(&pay_bob).expect("a transfer serialises");
    let fields = plain.as_object_mut().expect("a transfer is an object");
    fields.remove("type");
    fields.remove("id");
    write("transfer", "plain", json(&plain))?;
    // From the identity point, a key of small order, with the identity and a zero scalar for
    // signature: the batch equation of a block's check holds for it on any message, so it
    // took this once while the mempool refused it.
    let mut identity = [0; 32];
    identity[0] = 1;
    let mut signature = [0; 64];
    signature[0] = 1;
    let forged = Transfer {
        from: Address::from_bytes(identity),
        signature: Signature(signature),
        ..pay_bob.clone()
    };
    write("transfer", "small-order-key", json(&forged))?;

    let locator = [second.hash(), first.hash(), genesis.hash()];
    write("locator", "locator", json(&LocateRequest::new(&locator)))?;
    write(
        "locator",
        "genesis",
        json(&LocateRequest::new(&[genesis.hash()])),
    )?;

    let peer = PeerUrl::parse("http://127.0.0.1:5001").expect("a peer URL");
    let status = NodeStatus {
        height: second.height(),
        length: 3,
        tip: second.hash(),
        total_work: verifier.work(),
        next_target: second.header.target,
        difficulty: second.header.target.difficulty_bits(),
        params: *params(),
        genesis: genesis.hash(),
        version: "0.4.0".to_owned(),
        peers: vec![peer.clone()],
        mining: Progress::default(),
        last_mined: None,
        syncing: false,
        process: Some(ProcessUsage::default()),
        miner: Some(miner()),
        mempool: 0,
        orphans: 0,
        relay: None,
    };
    write("peer_answers", "status", json(&status))?;
    let located = Located {
        fork: ChainPoint {
            height: first.height(),
            hash: first.hash(),
        },
        tip: ClaimedTip {
            height: second.height(),
            hash: second.hash(),
            work: verifier.work(),
        },
    };
    write("peer_answers", "located", json(&located))?;
    // Streamed as `GET /chain` streams it: the head, then the blocks.
    let head = ChainPage {
        length: 3,
        chain: Vec::new(),
    };
    let mut page = open_object(&head, "chain").expect("a page head serialises");
    page.extend(json(&vec![first.clone(), second.clone()]));
    page.push(b'}');
    write("peer_answers", "chain-page", page)?;
    let record = PeerRecord::new(peer.clone(), PeerSource::Learned, now());
    let peers = Peers {
        nodes: vec![peer.clone()],
        peers: Some(vec![record.view(now(), None)]),
    };
    write("peer_answers", "nodes", json(&peers))?;
    let announcement = Announcement {
        hash: second.hash(),
        index: second.height(),
    };
    write("peer_answers", "announcement", json(&announcement))?;
    let registration = RegisterRequest {
        nodes: vec![peer.to_string()],
    };
    write("peer_answers", "register", json(&registration))?;
    Ok(())
}

/// A body as the node writes it: compact JSON.
fn json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).expect("every body serialises")
}
