//! Difficulty retargeting end to end: blocks mined through the API carry the targets the chain
//! requires, a second node accepts them block by block, a block that keeps an outdated target at
//! a period's start is refused, and a longer chain of easier blocks loses to a shorter one with
//! more work.

mod common;

use common::{params, test_miner, TestNode};
use ferrochain::chain::{
    block_reward, Block, ChainParams, Parent, Retarget, Target, Timestamp, WireBlock,
};
use ferrochain::mining::{solve_sequential, template};
use ferrochain::node::{Node, NodeConfig};
use rocket::http::Status;
use rocket::local::blocking::Client;
use serde_json::Value;
use tempfile::TempDir;

const INTERVAL: u64 = 4;

/// A retarget every 4 blocks toward a minute a block: blocks mined back to back in a test are
/// always far too fast, so each period is exactly four times harder than the last.
fn retargeting() -> ChainParams {
    params().with_retarget(Some(Retarget::new(INTERVAL as u32, 60_000, 4).unwrap()))
}

fn client() -> (Client, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(NodeConfig {
        params: Some(retargeting()),
        mining_threads: Some(2),
        ..NodeConfig::new(dir.path())
    })
    .unwrap();
    let figment = ferrochain::api::figment().merge(("log_level", "off"));
    (
        Client::tracked(ferrochain::api::build(node, figment)).unwrap(),
        dir,
    )
}

fn json(client: &Client, uri: &str) -> Value {
    client.get(uri).dispatch().into_json().unwrap()
}

fn chain(client: &Client) -> Vec<Block> {
    let v = json(client, "/chain");
    let wire: Vec<WireBlock> = serde_json::from_value(v["chain"].clone()).unwrap();
    wire.into_iter().map(|w| w.into_block().unwrap()).collect()
}

#[test]
fn mined_blocks_follow_the_retarget_and_another_node_accepts_them() {
    let (miner, _a) = client();
    let initial = retargeting().initial_target().value();
    for _ in 0..3 * INTERVAL {
        assert_eq!(miner.post("/mine").dispatch().status(), Status::Created);
    }
    let blocks = chain(&miner);
    // The first period is measured from the genesis block, stamped long ago, so it stays as
    // easy as the chain allows; each later one is four times harder than the one before.
    let expected = |height: usize| initial >> (2 * (height as u64 / INTERVAL).saturating_sub(1));
    for block in &blocks {
        let h = block.height().get() as usize;
        assert_eq!(block.header.target.value(), expected(h), "block {h}");
    }
    let status = json(&miner, "/status");
    let next: Target = serde_json::from_value(status["next_target"].clone()).unwrap();
    assert_eq!(next, blocks.last().unwrap().header.target);
    assert_eq!(status["difficulty"], 12.0);
    assert_eq!(status["params"]["retarget"]["interval"], INTERVAL);
    let verified = json(&miner, "/chain/verify");
    assert_eq!(verified["valid"], true, "{verified}");

    // A second node takes the chain one block at a time, each checked against its own view of
    // the required target.
    let (other, _b) = client();
    for block in &blocks[1..blocks.len() - 1] {
        let resp = other.post("/add_block").json(block).dispatch();
        assert_eq!(resp.status(), Status::Created, "block {}", block.height());
    }
    // The last block again, but claiming the previous period's easier target (re-mined so the
    // work matches its claim): refused, and the node's chain stays as it was.
    let parent = &blocks[blocks.len() - 2];
    let mut stale = blocks.last().unwrap().clone();
    assert_eq!(stale.height().get(), 3 * INTERVAL);
    stale.header.target = parent.header.target;
    stale.header = ferrochain::mining::solve_sequential(stale.header);
    let resp = other.post("/add_block").json(&stale).dispatch();
    assert_eq!(resp.status(), Status::UnprocessableEntity);
    let err: Value = resp.into_json().unwrap();
    assert_eq!(err["error"], "bad_target", "{err}");
    assert_eq!(json(&other, "/status")["height"], 3 * INTERVAL - 1);
    let resp = other
        .post("/add_block")
        .json(blocks.last().unwrap())
        .dispatch();
    assert_eq!(resp.status(), Status::Created);
    assert_eq!(
        json(&other, "/status")["tip"],
        blocks.last().unwrap().hash().to_string()
    );
}

/// `n` blocks on genesis a minute apart, ending now: on the pace the chain aims for, so every
/// block keeps the starting (easiest) target.
fn on_pace_chain(params: &ChainParams, n: u64) -> Vec<Block> {
    let mut parent = params.genesis().into_block();
    let start = Timestamp::now().as_millis() - n * 60_000;
    (1..=n)
        .map(|i| {
            let context = Parent {
                hash: parent.hash(),
                height: parent.height(),
                timestamp: parent.header.timestamp,
                median_time_past: parent.header.timestamp,
                next_target: params.initial_target(),
            };
            let txs = vec![block_reward(test_miner(), context.height.next(), &[])];
            let ts = Timestamp::from_millis(start + i * 60_000);
            let block = Block {
                header: solve_sequential(template(&context, params, &txs, ts)),
                transactions: txs,
            };
            parent = block.clone();
            block
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_longer_chain_with_less_work_does_not_win() {
    let params = retargeting();
    // A mines 12 blocks back to back: blocks 8 to 11 are four times harder than the start, block
    // 12 sixteen times: 7 + 4 * 4 + 16 = 39 times the work of an easy block.
    let a = TestNode::start(params).await;
    for _ in 0..3 * INTERVAL {
        a.node.mining().mine(vec![]).await.unwrap();
    }
    // B holds 24 easy blocks, every one valid: twice A's length, 24 easy blocks of work.
    let b = TestNode::start(params).await;
    let report = b
        .node
        .chain()
        .accept(on_pace_chain(&params, 24))
        .await
        .unwrap();
    assert!(report.rejected.is_none(), "{:?}", report.rejected);
    assert_eq!(b.node.tip().height.get(), 24);
    assert!(b.node.tip().work < a.node.tip().work);

    // A asks B and keeps its own chain; B asks A and switches to the shorter, heavier one.
    let a_tip = a.node.tip();
    a.node.peers().set(vec![b.peer_url()]);
    let resolved = a.node.sync().resolve().await.unwrap();
    assert!(!resolved.replaced);
    assert_eq!(a.node.tip(), a_tip);
    b.node.peers().set(vec![a.peer_url()]);
    let resolved = b.node.sync().resolve().await.unwrap();
    assert!(resolved.replaced);
    assert_eq!(b.node.tip(), a_tip);
    let verified = b.node.verify().await.unwrap();
    assert!(verified.error.is_none(), "{:?}", verified.error);
    assert_eq!(verified.work, a_tip.work);
}
