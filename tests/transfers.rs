//! Value on the chain end to end: wallets sign, nodes check, blocks settle, and reorganisations
//! move balances and the mempool exactly.

mod common;

use common::*;
use ferrochain::chain::{Address, Amount, Block, ChainParams, Height, Transfer};
use ferrochain::wallet::{Keystore, Wallet};
use serde_json::Value;
use std::time::Duration;

const COIN: u64 = Amount::UNITS_PER_COIN;

fn subsidy() -> u64 {
    ChainParams::SUBSIDY.units()
}

async fn get(node: &TestNode, path: &str) -> (u16, Value) {
    let resp = http().get(node.url(path)).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn post_transfer(node: &TestNode, t: &Transfer) -> (u16, Value) {
    let resp = http()
        .post(node.url("/transactions"))
        .json(t)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn post_block(node: &TestNode, b: &Block) -> u16 {
    let resp = http()
        .post(node.url("/add_block"))
        .json(b)
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}

async fn mine(node: &TestNode) -> Value {
    let resp = http().post(node.url("/mine")).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn balance(node: &TestNode, address: Address) -> u64 {
    let (status, v) = get(node, &format!("/accounts/{address}")).await;
    assert_eq!(status, 200, "{v}");
    v["balance"].as_u64().unwrap()
}

/// Sends a block paying the reward to `wallet` to `nodes`, so the wallet has coins to spend.
async fn fund(wallet: &Wallet, nodes: &[&TestNode]) -> Block {
    let tip = nodes[0].tip_block().await;
    let block = mine_on_to(&params(), &tip, wallet.address, vec![]);
    for n in nodes {
        assert_eq!(post_block(n, &block).await, 201);
    }
    block
}

fn wallets() -> (tempfile::TempDir, Keystore) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keystore::new(dir.path().join("wallets"));
    (dir, keys)
}

fn chain_id() -> ferrochain::chain::BlockHash {
    params().genesis_hash()
}

/// A transfer of whole `coins` plus a fee in units, signed by `from` for the test chain.
fn pay(from: &Wallet, to: Address, coins: u64, fee: u64, nonce: u64) -> Transfer {
    from.sign_transfer(
        to,
        Amount::from_coins(coins),
        Amount::from_units(fee),
        nonce,
        &chain_id(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_wallets_trade_through_a_node_and_the_balances_match() {
    let (_d, keys) = wallets();
    let (alice, bob, carol) = (
        keys.create("alice").unwrap(),
        keys.create("bob").unwrap(),
        keys.create("carol").unwrap(),
    );
    // Carol runs the node and collects its rewards and fees.
    let node =
        TestNode::start_with(tempfile::tempdir().unwrap(), params(), Some(carol.address)).await;
    fund(&alice, &[&node]).await;
    assert_eq!(balance(&node, alice.address).await, subsidy());

    let to_bob = pay(&alice, bob.address, 10, 1_000, 0);
    let (status, v) = post_transfer(&node, &to_bob).await;
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(id, to_bob.txid().to_string());
    let (_, pending) = get(&node, &format!("/transactions/{id}")).await;
    assert_eq!(pending["status"], "pending");
    let (_, account) = get(&node, &format!("/accounts/{}", alice.address)).await;
    assert_eq!(account["pending"]["count"], 1);
    assert_eq!(account["pending"]["spend"], 10 * COIN + 1_000);
    assert_eq!(account["next_nonce"], 1);
    let (_, list) = get(&node, "/transactions/pending").await;
    assert_eq!(list["count"], 1);

    // POST /mine with no body mines the pending transfer, paying its fee to the node's miner.
    let mined = mine(&node).await;
    assert_eq!(mined["block"]["transactions"][1]["id"], id);
    let (_, confirmed) = get(&node, &format!("/transactions/{id}")).await;
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["index"], mined["block"]["index"]);

    let back = pay(&bob, alice.address, 3, 500, 0);
    assert_eq!(post_transfer(&node, &back).await.0, 201);
    mine(&node).await;

    assert_eq!(
        balance(&node, alice.address).await,
        subsidy() - 10 * COIN - 1_000 + 3 * COIN
    );
    assert_eq!(
        balance(&node, bob.address).await,
        10 * COIN - 3 * COIN - 500
    );
    assert_eq!(
        balance(&node, carol.address).await,
        2 * subsidy() + 1_000 + 500
    );
    let (_, account) = get(&node, &format!("/accounts/{}", bob.address)).await;
    assert_eq!(
        (
            account["nonce"].as_u64(),
            account["pending"]["count"].as_u64()
        ),
        (Some(1), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_transfers_are_refused_by_rule_and_change_nothing() {
    let (_d, keys) = wallets();
    let (alice, bob) = (keys.create("alice").unwrap(), keys.create("bob").unwrap());
    let node = TestNode::start(params()).await;
    fund(&alice, &[&node]).await;

    let t = pay(&alice, bob.address, 1, 0, 0);
    let mut forged = t.clone();
    forged.amount = Amount::from_coins(2);
    let cases = [
        (forged, "bad_signature"),
        (pay(&alice, bob.address, 51, 0, 0), "insufficient_balance"),
        (
            alice.sign_transfer(bob.address, Amount::ZERO, Amount::ZERO, 0, &chain_id()),
            "zero_amount",
        ),
        (pay(&alice, bob.address, 1, 0, 5), "bad_nonce"),
        // Signed for another chain.
        (
            alice.sign_transfer(
                bob.address,
                Amount::from_coins(1),
                Amount::ZERO,
                0,
                &Block::clone(&ChainParams::default().genesis().into_block()).hash(),
            ),
            "bad_signature",
        ),
        // Spends bob's empty account.
        (pay(&bob, alice.address, 1, 0, 0), "insufficient_balance"),
    ];
    for (bad, code) in cases {
        let (status, v) = post_transfer(&node, &bad).await;
        assert_eq!((status, v["error"].as_str().unwrap()), (422, code), "{v}");
    }
    // Malformed bodies: a mistyped address is caught by its checksum.
    let mut json = serde_json::to_value(&t).unwrap();
    let addr = json["to"].as_str().unwrap().to_owned();
    let typo = format!(
        "{}{}",
        &addr[..addr.len() - 1],
        if addr.ends_with('q') { 'p' } else { 'q' }
    );
    json["to"] = typo.into();
    let resp = http()
        .post(node.url("/transactions"))
        .json(&json)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["message"].as_str().unwrap().contains("not an address"),
        "{v}"
    );
    let (status, v) = get(&node, "/accounts/not-an-address").await;
    assert_eq!((status, v["error"].as_str().unwrap()), (400, "bad_address"));
    assert_eq!(get(&node, "/transactions/pending").await.1["count"], 0);

    // The good one goes through once; offering it again is not a second payment.
    assert_eq!(post_transfer(&node, &t).await.0, 201);
    assert_eq!(post_transfer(&node, &t).await.0, 200);
    assert_eq!(get(&node, "/transactions/pending").await.1["count"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_transfer_is_refused_by_the_mempool_and_in_blocks() {
    let (_d, keys) = wallets();
    let (alice, bob) = (keys.create("alice").unwrap(), keys.create("bob").unwrap());
    let node = TestNode::start(params()).await;
    fund(&alice, &[&node]).await;
    let t = pay(&alice, bob.address, 5, 0, 0);
    assert_eq!(post_transfer(&node, &t).await.0, 201);
    mine(&node).await;
    assert_eq!(balance(&node, bob.address).await, 5 * COIN);

    let (status, v) = post_transfer(&node, &t).await;
    assert_eq!(
        (status, v["error"].as_str().unwrap()),
        (422, "bad_nonce"),
        "{v}"
    );
    // A block that carries the replay is invalid too.
    let tip = node.tip_block().await;
    let replay = mine_on(&tip, vec![ferrochain::chain::Transaction::Transfer(t)]);
    let resp = http()
        .post(node.url("/add_block"))
        .json(&replay)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "bad_nonce", "{v}");
    assert_eq!(balance(&node, bob.address).await, 5 * COIN);
    assert_eq!(node.node.tip().hash, tip.hash());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_spend_offered_to_two_nodes_resolves_to_exactly_one() {
    let (_d, keys) = wallets();
    let (alice, bob, carol) = (
        keys.create("alice").unwrap(),
        keys.create("bob").unwrap(),
        keys.create("carol").unwrap(),
    );
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    fund(&alice, &[&a, &b]).await;

    // Both spend alice's nonce 0 and most of her balance.
    let to_bob = pay(&alice, bob.address, 40, 0, 0);
    let to_carol = pay(&alice, carol.address, 40, 0, 0);
    assert_eq!(post_transfer(&a, &to_bob).await.0, 201);
    assert_eq!(post_transfer(&b, &to_carol).await.0, 201);
    // Each node refuses the other spend while its own is pending.
    assert_eq!(post_transfer(&a, &to_carol).await.1["error"], "bad_nonce");
    mine(&a).await;
    mine(&b).await;
    mine(&b).await;

    connect_all(&[&a, &b]);
    let resp = http().get(a.url("/nodes/resolve")).send().await.unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["replaced"], true);
    for n in [&a, &b] {
        assert_eq!(balance(n, carol.address).await, 40 * COIN);
        assert_eq!(balance(n, bob.address).await, 0);
        assert_eq!(balance(n, alice.address).await, subsidy() - 40 * COIN);
    }
    let (_, gone) = get(&a, &format!("/transactions/{}", to_bob.txid())).await;
    assert_eq!(
        gone["error"], "not_found",
        "the losing spend left A's mempool: {gone}"
    );
    assert_eq!(
        get(&a, &format!("/transactions/{}", to_carol.txid()))
            .await
            .1["status"],
        "confirmed"
    );

    // After the reorganisation the two relay as before, within seconds either way.
    for (miner, other) in [(&b, &a), (&a, &b)] {
        let mined = mine(miner).await;
        let hash = mined["block"]["hash"].as_str().unwrap().to_owned();
        wait_within(
            Duration::from_secs(3),
            "the next block to reach the other node",
            || async { (other.node.tip().hash.to_string() == hash).then_some(()) },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorganisation_returns_abandoned_transfers_to_the_mempool() {
    let (_d, keys) = wallets();
    let (alice, bob) = (keys.create("alice").unwrap(), keys.create("bob").unwrap());
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    fund(&alice, &[&a, &b]).await;

    let t = pay(&alice, bob.address, 7, 100, 0);
    assert_eq!(post_transfer(&a, &t).await.0, 201);
    mine(&a).await;
    assert_eq!(balance(&a, bob.address).await, 7 * COIN);

    // B never saw the transfer and outgrows A.
    for _ in 0..3 {
        mine(&b).await;
    }
    a.node.peers().set(vec![b.peer_url()]);
    let resp = http().get(a.url("/nodes/resolve")).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["replaced"], true);

    // Balances follow B's branch; the transfer is pending again, not lost.
    assert_eq!(balance(&a, bob.address).await, 0);
    assert_eq!(balance(&a, alice.address).await, subsidy());
    let (_, status) = get(&a, &format!("/transactions/{}", t.txid())).await;
    assert_eq!(status["status"], "pending", "{status}");
    let mined = mine(&a).await;
    assert_eq!(
        mined["block"]["transactions"][1]["id"],
        t.txid().to_string()
    );
    assert_eq!(balance(&a, bob.address).await, 7 * COIN);
    // Funding block, three of B's, and the one that mined the transfer again.
    assert_eq!(a.node.tip().height, Height::new(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_transfer_is_relayed_to_peers_once() {
    let (_d, keys) = wallets();
    let (alice, bob) = (keys.create("alice").unwrap(), keys.create("bob").unwrap());
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    let c = TestNode::start(params()).await;
    fund(&alice, &[&a, &b, &c]).await;
    connect_all(&[&a, &b, &c]);
    let t = pay(&alice, bob.address, 1, 0, 0);
    assert_eq!(post_transfer(&a, &t).await.0, 201);
    for n in [&b, &c] {
        wait_for("the transfer to reach every mempool", || async {
            let (_, v) = get(n, &format!("/transactions/{}", t.txid())).await;
            (v["status"] == "pending").then_some(())
        })
        .await;
    }
    // A block mined anywhere settles it everywhere, and every mempool empties.
    mine(&c).await;
    for n in [&a, &b, &c] {
        wait_for("the block to settle the transfer", || async {
            let (_, v) = get(n, "/transactions/pending").await;
            (v["count"] == 0 && balance(n, bob.address).await == COIN).then_some(())
        })
        .await;
    }
}
