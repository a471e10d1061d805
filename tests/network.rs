//! Real-socket tests: nodes on loopback ports share blocks, converge on the heaviest valid chain,
//! and shrug off peers that lie, stall or flood.

mod common;

use common::*;
use ferrochain::chain::{Block, ChainParams, Difficulty, Height};
use ferrochain::network::PeerUrl;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn tip_of(node: &TestNode) -> String {
    let v: Value = http()
        .get(node.url("/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["tip"].as_str().unwrap().to_owned()
}

async fn mine_http(node: &TestNode, txs: &[&str]) -> Value {
    let resp = http()
        .post(node.url("/mine"))
        .json(&json!({ "transactions": txs }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn resolve(node: &TestNode) -> Value {
    let resp = http().get(node.url("/nodes/resolve")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn chain_of(node: &TestNode) -> Vec<Block> {
    fetch_chain(&node.url("")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_mined_on_one_node_reaches_the_others() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    let c = TestNode::start(params()).await;
    connect_all(&[&a, &b, &c]);
    // Each node's list holds all three URLs; a node never counts itself.
    assert_eq!(a.node.peers(), vec![b.peer_url(), c.peer_url()]);

    for round in 0..3 {
        let mined = mine_http(&a, &[&format!("round {round}")]).await;
        let hash = mined["block"]["hash"].as_str().unwrap().to_owned();
        for n in [&b, &c] {
            wait_for("the block to reach every peer", || async {
                (tip_of(n).await == hash).then_some(())
            })
            .await;
        }
    }
    // A relayed block is relayed once by each node that found it new: no storms, no gaps.
    assert_eq!(chain_of(&b).await, chain_of(&a).await);
    assert_eq!(chain_of(&c).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_that_mined_apart_converge_on_the_heavier_chain_after_resolve() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    let c = TestNode::start(params()).await;
    for i in 0..3 {
        mine_http(&a, &[&format!("a{i}")]).await;
    }
    for i in 0..5 {
        mine_http(&b, &[&format!("b{i}")]).await;
    }
    connect_all(&[&a, &b, &c]);

    let v = resolve(&a).await;
    assert_eq!(v["replaced"], true);
    assert_eq!(v["message"], "Our chain was replaced");
    assert_eq!(v["length"], 6);
    assert_eq!(v["chain"].as_array().unwrap().len(), 6);
    assert_eq!(chain_of(&a).await, chain_of(&b).await);

    // The heavier node keeps its chain; a fresh node adopts it.
    let v = resolve(&b).await;
    assert_eq!(v["replaced"], false);
    assert_eq!(v["message"], "Our chain is authoritative");
    resolve(&c).await;
    assert_eq!(tip_of(&c).await, tip_of(&b).await);

    // A's abandoned blocks are still stored by hash, on a side branch.
    let a_blocks = a.node.block_at(Height::new(1)).unwrap().unwrap();
    assert_eq!(a_blocks.transactions[1..], [note("b0")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_work_keeps_the_chain_a_node_has() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    mine_http(&a, &["a"]).await;
    mine_http(&b, &["b"]).await;
    connect_all(&[&a, &b]);
    let before = tip_of(&a).await;
    assert_eq!(resolve(&a).await["replaced"], false);
    assert_eq!(tip_of(&a).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_blocks_are_refused_and_not_relayed() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    connect_all(&[&a, &b]);
    let genesis = params().genesis().into_block();
    let good = mine_on(&genesis, vec![note("Alice pays Bob 10 BTC")]);

    let mut edited = serde_json::to_value(&good).unwrap();
    edited["transactions"][1] = json!("Alice pays Bob 99 BTC");
    let mut easy = good.clone();
    easy.header.target = Difficulty::new(2).unwrap().target();
    while !easy.header.target.check_hash(&easy.hash()) {
        easy.header.nonce += 1;
    }
    for (bad, rule) in [
        (edited, "bad_merkle_root"),
        (serde_json::to_value(&easy).unwrap(), "bad_target"),
    ] {
        let resp = http()
            .post(a.url("/add_block"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], rule);
    }
    assert_eq!(chain_of(&a).await.len(), 1);

    // The untouched block goes through and is relayed, proving the relay path was open.
    let resp = http()
        .post(a.url("/add_block"))
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let hash = good.hash().to_string();
    wait_for("the good block to be relayed", || async {
        (tip_of(&b).await == hash).then_some(())
    })
    .await;
    assert_eq!(chain_of(&b).await.len(), 2);
}

/// The JSON a lying peer serves for every request: our genesis, then `blocks`, under a claimed
/// length.
fn fake_chain_body(length: u64, blocks: &[Block]) -> String {
    let mut chain = vec![params().genesis().into_block()];
    chain.extend_from_slice(blocks);
    json!({ "length": length, "chain": chain }).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_claiming_a_long_invalid_chain_is_ignored() {
    let honest = TestNode::start(params()).await;
    mine_http(&honest, &["real"]).await;
    let before = chain_of(&honest).await;

    // A long chain whose blocks carry no proof of work.
    let mut forged = Vec::new();
    let mut parent = params().genesis().into_block();
    for i in 0..50 {
        let mut b = mine_on(&parent, vec![note(&format!("forged {i}"))]);
        while params().initial_target().check_hash(&b.hash()) {
            b.header.nonce += 1;
        }
        parent = b.clone();
        forged.push(b);
    }
    let no_work = hostile_peer(Hostile::Respond(json_response(
        "200 OK",
        &fake_chain_body(1_000_000, &forged),
    )))
    .await;

    // A chain mined properly, then edited.
    let mut edited = Vec::new();
    let mut parent = params().genesis().into_block();
    for i in 0..5 {
        let b = mine_on(&parent, vec![note(&format!("honest {i}"))]);
        parent = b.clone();
        edited.push(b);
    }
    edited[0].transactions[1] = note("edited after mining");
    let tampered = hostile_peer(Hostile::Respond(json_response(
        "200 OK",
        &fake_chain_body(6, &edited),
    )))
    .await;

    // A claimed length with nothing behind it.
    let empty_claim = hostile_peer(Hostile::Respond(json_response(
        "200 OK",
        &json!({"length": 5000, "chain": []}).to_string(),
    )))
    .await;

    honest.node.set_peers(vec![no_work, tampered, empty_claim]);
    let v = resolve(&honest).await;
    assert_eq!(v["replaced"], false);
    let errors: Vec<&str> = v["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["error"].as_str().unwrap_or(""))
        .collect();
    assert!(
        errors[0].contains("proof_of_work") || errors[0].contains("does not meet"),
        "{errors:?}"
    );
    assert!(errors[1].contains("Merkle root"), "{errors:?}");
    assert_eq!(errors[2], "");
    assert_eq!(chain_of(&honest).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_finishes_with_the_good_peers_despite_broken_ones() {
    let good = TestNode::start(params()).await;
    for i in 0..3 {
        mine_http(&good, &[&format!("good {i}")]).await;
    }
    let node = TestNode::start(params()).await;

    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        PeerUrl::for_socket(l.local_addr().unwrap())
    };
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nlocation: {}\r\ncontent-length: 0\r\n\r\n",
        good.url("/chain")
    );
    let peers = vec![
        down,
        hostile_peer(Hostile::Silent).await,
        hostile_peer(Hostile::Endless).await,
        hostile_peer(Hostile::Respond(b"garbage, not HTTP".to_vec())).await,
        hostile_peer(Hostile::Respond(json_response(
            "200 OK",
            "{\"length\": \"x\"}",
        )))
        .await,
        hostile_peer(Hostile::Respond(json_response(
            "500 Internal Server Error",
            "{}",
        )))
        .await,
        hostile_peer(Hostile::Respond(
            b"HTTP/1.1 200 OK\r\ncontent-length: 999999999999\r\n\r\n".to_vec(),
        ))
        .await,
        hostile_peer(Hostile::Respond(redirect.into_bytes())).await,
        good.peer_url(),
    ];
    let bad_count = peers.len() - 1;
    node.node.set_peers(peers);

    let started = Instant::now();
    let v = resolve(&node).await;
    // Bounded by the 2-second request deadline, not by the silent or endless peers.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(v["replaced"], true);
    assert_eq!(v["length"], 4);
    assert_eq!(tip_of(&node).await, tip_of(&good).await);
    let reports = v["peers"].as_array().unwrap();
    let failed = reports.iter().filter(|p| !p["error"].is_null()).count();
    assert_eq!(failed, bad_count, "{reports:#?}");
    assert!(reports[bad_count]["error"].is_null());
    assert_eq!(reports[bad_count]["added"], 3);

    // The node still answers normally afterwards.
    mine_http(&node, &["still alive"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_with_an_unknown_parent_makes_the_node_catch_up() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    for i in 0..4 {
        mine_http(&a, &[&format!("a{i}")]).await;
    }
    b.node.set_peers(vec![a.peer_url()]);
    // Offer B only A's tip: its parent is unknown to B.
    let tip = a.node.block_at(Height::new(4)).unwrap().unwrap();
    let resp = http()
        .post(b.url("/add_block"))
        .json(&tip)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let want = tip.hash().to_string();
    wait_for("B to catch up from A", || async {
        (tip_of(&b).await == want).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_block_stops_a_stale_search_and_mining_resumes_on_the_new_tip() {
    // Hard enough that a search lasts long enough (about a million hashes) to be interrupted.
    let params = ChainParams::new(Difficulty::new(20).unwrap());
    let a = TestNode::start(params).await;
    for round in 0..6 {
        let tip = a.node.block_at(a.node.tip().height).unwrap().unwrap();
        let rival = mine_on_with(&params, &tip, vec![note(&format!("rival {round}"))]);
        let miner = a.node.clone();
        let mining = tokio::spawn(async move { miner.mine(vec![note("ours")]).await });
        let deadline = Instant::now() + Duration::from_secs(20);
        while !a.node.status().unwrap().mining.active && !mining.is_finished() {
            assert!(Instant::now() < deadline, "the search never started");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        a.node.submit(rival.clone()).await.unwrap();
        let mined = mining.await.unwrap().unwrap();
        if mined.block.header.prev_hash == rival.hash() {
            // The search on the old tip was abandoned and the entries mined on the rival.
            assert_eq!(mined.block.height(), rival.height().next());
            assert_eq!(a.node.tip().hash, mined.block.hash());
            assert_eq!(mined.block.transactions[1..], [note("ours")]);
            return;
        }
        // Our search won the race before the rival arrived; try again.
        assert_eq!(a.node.tip().hash, mined.block.hash());
    }
    panic!("the rival block never arrived during a search in 6 rounds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_fetches_only_the_missing_blocks_and_finds_deep_forks() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    for i in 0..150 {
        a.node
            .mine(vec![note(&format!("shared {i}"))])
            .await
            .unwrap();
    }
    b.node.set_peers(vec![a.peer_url()]);
    assert_eq!(resolve(&b).await["length"], 151);
    for i in 0..3 {
        a.node.mine(vec![note(&format!("more {i}"))]).await.unwrap();
    }
    // B already has the first 150 blocks: only the 3 new ones are stored.
    let v = resolve(&b).await;
    assert_eq!(v["replaced"], true);
    assert_eq!(v["peers"][0]["added"], 3);

    // C forks from genesis and outgrows A by more than the sync overlap.
    let c = TestNode::start(params()).await;
    for i in 0..160 {
        c.node.mine(vec![note(&format!("c {i}"))]).await.unwrap();
    }
    a.node.set_peers(vec![c.peer_url()]);
    let v = resolve(&a).await;
    assert_eq!(v["replaced"], true);
    assert_eq!(v["length"], 161);
    assert_eq!(tip_of(&a).await, tip_of(&c).await);
}
