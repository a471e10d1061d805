//! Hostile peers served from the tests themselves: peers that claim more than they can show, a
//! longer branch whose blocks carry no proof of work, and a flood of invalid blocks. Each time
//! the honest node keeps its chain, answers `GET /status` within a deadline throughout, and
//! bans the peer with the reason shown in `GET /nodes`.
//!
//! These run on a fixed-difficulty chain, where a longer valid chain always has more work, so
//! "longer but lighter" is tested here as the lies a peer can tell about work (its claims, and
//! blocks without proof of work). A real longer chain of easier blocks, valid block by block,
//! needs retargeting and is in `tests/retarget.rs`.

mod common;

use common::*;
use ferrochain::chain::{
    Address, Amount, Block, Height, Signature, Timestamp, Transaction, Transfer, Work,
};
use ferrochain::mining::mine_child_sequential;
use ferrochain::network::{PeerUrl, PEER_HEADER};
use serde_json::Value;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long `GET /status` may take while the node is under attack.
const STATUS_DEADLINE: Duration = Duration::from_secs(1);

/// Runs `attack` while polling the node's `GET /status`; every answer must be a 200 within
/// [`STATUS_DEADLINE`]. Returns what the attack returned and how many polls were answered.
async fn responsive_while<T>(node: &TestNode, attack: impl Future<Output = T>) -> (T, usize) {
    let client = reqwest::Client::builder()
        .timeout(STATUS_DEADLINE)
        .build()
        .unwrap();
    let url = node.url("/status");
    let mut attack = std::pin::pin!(attack);
    let mut polls = 0;
    loop {
        tokio::select! {
            out = &mut attack => return (out, polls),
            answer = client.get(&url).send() => {
                let answer = answer.expect("GET /status answers within the deadline");
                assert_eq!(answer.status(), 200);
                polls += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn resolve(node: &TestNode) -> Value {
    let resp = http().get(node.url("/nodes/resolve")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn entry(node: &TestNode, peer: &PeerUrl) -> ferrochain::network::PeerView {
    let views = node.node.peers().views();
    views
        .into_iter()
        .find(|p| p.url == *peer)
        .expect("the peer is listed")
}

/// The node's main chain, genesis first.
async fn main_chain(node: &TestNode) -> Vec<Block> {
    let length = node.node.tip().length() as usize;
    let chain = node.node.chain();
    chain.main_chain(Height::GENESIS, length).await.unwrap()
}

/// An honest node with a few blocks of its own.
async fn honest_node(blocks: usize) -> TestNode {
    let node = TestNode::start(params()).await;
    for i in 0..blocks {
        node.node
            .mining()
            .mine(vec![note(&format!("honest {i}"))])
            .await
            .unwrap();
    }
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_claiming_more_work_than_its_blocks_carry_is_banned_and_the_chain_kept() {
    let honest = honest_node(5).await;
    let before = main_chain(&honest).await;
    // Three real blocks, presented as the tip of a chain of a thousand blocks' work.
    let genesis = params().genesis().into_block();
    let mut served = vec![genesis.clone()];
    served.extend(build_chain(&genesis, 3, "liar"));
    let claim = Claim {
        height: None,
        work: Some(Work::from_u128(block_work().to_u128() * 1000)),
    };
    let (liar, requests) = chain_peer(served, claim).await;
    honest.node.peers().set(vec![liar.clone()]);

    let (v, polls) = responsive_while(&honest, resolve(&honest)).await;
    assert!(polls > 0);
    assert_eq!(v["replaced"], false);
    let error = v["peers"][0]["error"].as_str().unwrap();
    assert!(error.contains("but its blocks carry"), "{error}");
    assert_eq!(main_chain(&honest).await, before);
    let view = entry(&honest, &liar);
    assert!(view.ban_reason.unwrap().contains("but its blocks carry"));

    // Banned: the next resolve does not ask it.
    let asked = requests.count();
    let v = resolve(&honest).await;
    assert_eq!(v["peers"][0]["skipped"], true, "{v}");
    assert_eq!(requests.count(), asked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_claiming_a_height_it_cannot_serve_is_banned_after_bounded_retries() {
    let honest = honest_node(2).await;
    let before = main_chain(&honest).await;
    let genesis = params().genesis().into_block();
    let mut served = vec![genesis.clone()];
    served.extend(build_chain(&genesis, 3, "short"));
    let claim = Claim {
        height: Some(10_000),
        work: Some(Work::from_u128(block_work().to_u128() * 10_001)),
    };
    let (liar, requests) = chain_peer(served.clone(), claim).await;
    honest.node.peers().set(vec![liar.clone()]);

    let (v, _) = responsive_while(&honest, resolve(&honest)).await;
    let error = v["peers"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("a tip at 10000 but serves blocks only up to 3"),
        "{error}"
    );
    // Each try is a locate and two pages (the blocks, then nothing), and there is a bound.
    let tries = ferrochain::node::MAX_RELOCATES + 1;
    let sync_requests = requests.log().into_iter().filter(|r| r.contains("/chain"));
    assert_eq!(
        sync_requests.count(),
        3 + 2 * (tries - 1),
        "{:?}",
        requests.log()
    );
    // The three real blocks were valid, and heavier than the honest two, so they were taken;
    // nothing else was.
    assert_eq!(honest.node.tip().hash, served[3].hash());
    assert!(honest
        .node
        .chain()
        .block(before[2].hash())
        .await
        .unwrap()
        .is_some());
    assert!(entry(&honest, &liar).ban_reason.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_longer_branch_whose_blocks_lack_proof_of_work_changes_nothing() {
    let honest = honest_node(6).await;
    let before = main_chain(&honest).await;
    // Our first three blocks, then thirty that look right but were never mined.
    let mut forged = before[..=3].to_vec();
    for i in 0..30 {
        let mut b = mine_on(forged.last().unwrap(), vec![note(&format!("forged {i}"))]);
        while params().initial_target().check_hash(&b.hash()) {
            b.header.nonce += 1;
        }
        forged.push(b);
    }
    let (liar, _) = chain_peer(forged, Claim::default()).await;
    honest.node.peers().set(vec![liar.clone()]);

    let (v, _) = responsive_while(&honest, resolve(&honest)).await;
    assert_eq!(v["replaced"], false);
    let error = v["peers"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("block 4") && error.contains("does not meet"),
        "{error}"
    );
    assert_eq!(main_chain(&honest).await, before);
    assert!(entry(&honest, &liar)
        .ban_reason
        .unwrap()
        .contains("does not meet"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_a_block_ahead_of_our_clock_is_backed_off_not_banned() {
    let honest = honest_node(2).await;
    // The peer's chain: ours, two good blocks, then one stamped three hours ahead of our clock
    // (the rule allows two). Its clock may be right and ours behind, so it is not a lie.
    let mut chain = main_chain(&honest).await;
    for i in 0..2 {
        chain.push(mine_on(
            chain.last().unwrap(),
            vec![note(&format!("good {i}"))],
        ));
    }
    let ahead = Timestamp::now().saturating_add_millis(3 * 60 * 60 * 1000);
    let early = mine_child_sequential(
        &params(),
        chain.last().unwrap(),
        test_miner(),
        vec![],
        ahead,
    );
    chain.push(early);
    let (peer, _) = chain_peer(chain.clone(), Claim::default()).await;
    honest.node.peers().set(vec![peer.clone()]);

    let v = resolve(&honest).await;
    let error = v["peers"][0]["error"].as_str().unwrap();
    assert!(error.contains("clock may be behind"), "{error}");
    // The good blocks before it are kept; the peer waits out a back-off instead of a ban.
    assert_eq!(main_chain(&honest).await, chain[..chain.len() - 1]);
    let view = entry(&honest, &peer);
    assert_eq!(view.ban_reason, None);
    assert_eq!(view.state, ferrochain::network::PeerState::Backoff);
}

/// An invalid block for the flood: a valid-looking reward, then `transfers` transfers with
/// made-up signatures, and no proof of work.
fn junk_block(parent: &Block, seed: u64, transfers: usize) -> Block {
    let payments: Vec<Transaction> = (0..transfers)
        .map(|i| {
            Transaction::Transfer(Transfer {
                from: Address::from_bytes([(i % 251) as u8; 32]),
                to: test_miner(),
                amount: Amount::from_units(1 + i as u64),
                fee: Amount::ZERO,
                nonce: seed,
                signature: Signature([7; 64]),
            })
        })
        .collect();
    let ts = parent.header.timestamp.saturating_add_millis(1);
    let mut block = mine_child_sequential(&params(), parent, test_miner(), payments, ts);
    block.header.nonce = seed;
    while params().initial_target().check_hash(&block.hash()) {
        block.header.nonce += 1 << 32;
    }
    block
}

async fn push(node: &TestNode, block: &Block, sender: Option<&str>) -> (u16, Value) {
    let mut request = http().post(node.url("/add_block")).json(block);
    if let Some(sender) = sender {
        request = request.header(PEER_HEADER, sender);
    }
    let resp = request.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_invalid_blocks_bans_its_sender_and_the_node_stays_responsive() {
    let honest = honest_node(2).await;
    let before = main_chain(&honest).await;
    let tip = before.last().unwrap().clone();
    // The flooder is a peer of the node, so we can see that it is not synced from afterwards.
    let (flooder, requests) = chain_peer(vec![before[0].clone()], Claim::default()).await;
    honest.node.peers().set(vec![flooder.clone()]);

    // Proof of work is checked before anything costly: a block with a thousand bad signatures
    // and no proof of work is refused for the proof of work.
    let heavy = junk_block(&tip, 0, 1000);
    let (code, v) = push(&honest, &heavy, None).await;
    assert_eq!(
        (code, v["error"].as_str()),
        (422, Some("bad_proof_of_work"))
    );
    // Anonymous, or naming a peer that does not live where the request comes from: refused,
    // and nobody is banned.
    let elsewhere = "http://10.255.255.1:5000";
    let (code, _) = push(&honest, &junk_block(&tip, 1, 1), Some(elsewhere)).await;
    assert_eq!(code, 422);
    assert!(honest
        .node
        .peers()
        .views()
        .iter()
        .all(|p| p.ban_reason.is_none()));

    // The flood: four streams of fifty, each block naming the flooder.
    let me = flooder.to_string();
    let flood = async {
        let streams = (0..4u64).map(|s| {
            let (tip, me) = (tip.clone(), me.clone());
            let honest = &honest;
            async move {
                let mut codes = Vec::new();
                for i in 0..50u64 {
                    let block = junk_block(&tip, 100 + s * 50 + i, 10);
                    codes.push(push(honest, &block, Some(&me)).await.0);
                }
                codes
            }
        });
        futures::future::join_all(streams).await
    };
    let started = Instant::now();
    let (codes, polls) = responsive_while(&honest, flood).await;
    let codes: Vec<u16> = codes.into_iter().flatten().collect();
    assert!(polls > 0);
    let refused = codes.iter().filter(|c| **c == 422).count();
    let banned = codes.iter().filter(|c| **c == 403).count();
    assert_eq!(refused + banned, 200, "{codes:?}");
    // Only the blocks already in flight when the first was refused were read.
    assert!(
        (1..=4).contains(&refused),
        "{refused} refused for their content"
    );
    eprintln!("200 junk blocks answered in {:?}", started.elapsed());

    let view = entry(&honest, &flooder);
    let reason = view.ban_reason.unwrap();
    assert!(reason.starts_with("sent invalid block 3"), "{reason}");
    assert!(reason.contains("does not meet"), "{reason}");
    let nodes: Value = http()
        .get(honest.url("/nodes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(nodes["peers"][0]["state"], "banned", "{nodes}");

    // Not synced from while banned, and the chain is what it was.
    let asked = requests.count();
    let v = resolve(&honest).await;
    assert_eq!(v["peers"][0]["skipped"], true);
    assert_eq!(requests.count(), asked);
    assert_eq!(main_chain(&honest).await, before);
    honest
        .node
        .mining()
        .mine(vec![note("still mining")])
        .await
        .unwrap();
}
