//! Wallet histories through the API: `GET /accounts/<address>/transactions` after transfers,
//! paged, with confirmations, and after a reorganisation that takes a transfer off the main
//! chain (it drops out of the history and is pending again).

mod common;

use common::*;
use ferrochain::api::MAX_HISTORY_PAGE;
use ferrochain::chain::{Address, Amount, Block, Transfer};
use ferrochain::wallet::{Keystore, Wallet};
use serde_json::Value;

const COIN: u64 = Amount::UNITS_PER_COIN;

async fn get(node: &TestNode, path: &str) -> (u16, Value) {
    let resp = http().get(node.url(path)).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn history(node: &TestNode, address: Address, query: &str) -> Value {
    let (status, v) = get(node, &format!("/accounts/{address}/transactions{query}")).await;
    assert_eq!(status, 200, "{v}");
    v
}

/// The ids of a history page's mined entries, in order.
fn ids(page: &Value) -> Vec<String> {
    page["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["transaction"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn post_transfer(node: &TestNode, t: &Transfer) {
    let resp = http()
        .post(node.url("/transactions"))
        .json(t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

async fn mine(node: &TestNode) -> Value {
    let resp = http().post(node.url("/mine")).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

/// A block paying its reward to `wallet`, given to `nodes`.
async fn fund(wallet: &Wallet, nodes: &[&TestNode]) -> Block {
    let tip = nodes[0].tip_block().await;
    let block = mine_on_to(&params(), &tip, wallet.address, vec![]);
    for n in nodes {
        let resp = http()
            .post(n.url("/add_block"))
            .json(&block)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    block
}

fn pay(from: &Wallet, to: Address, coins: u64, nonce: u64) -> Transfer {
    from.sign_transfer(
        to,
        Amount::from_coins(coins),
        Amount::from_units(1_000),
        nonce,
        &params().genesis_hash(),
    )
}

fn wallets() -> (tempfile::TempDir, Keystore) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keystore::new(dir.path().join("wallets"));
    (dir, keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_shows_in_both_histories_with_its_confirmations() {
    let (_d, keys) = wallets();
    let (alice, bob) = (keys.create("alice").unwrap(), keys.create("bob").unwrap());
    let node = TestNode::start(params()).await;
    let funding = fund(&alice, &[&node]).await;

    let t = pay(&alice, bob.address, 10, 0);
    post_transfer(&node, &t).await;
    // Before it is mined: pending on both sides, nothing mined for bob yet.
    let bobs = history(&node, bob.address, "").await;
    assert_eq!(bobs["pending"][0]["id"], t.txid().to_string());
    assert!(ids(&bobs).is_empty());

    let mined = mine(&node).await;
    let height = mined["block"]["index"].as_u64().unwrap();
    mine(&node).await;

    let alices = history(&node, alice.address, "").await;
    assert_eq!(alices["height"], height + 1);
    assert!(alices["pending"].as_array().unwrap().is_empty());
    assert_eq!(
        ids(&alices),
        [
            t.txid().to_string(),
            funding.transactions[0].txid().to_string()
        ]
    );
    let sent = &alices["transactions"][0];
    assert_eq!(sent["direction"], "sent");
    assert_eq!(sent["height"], height);
    assert_eq!(sent["position"], format!("{height}-1"));
    assert_eq!(sent["confirmations"], 2);
    assert_eq!(sent["block"], mined["block"]["hash"]);
    assert_eq!(sent["transaction"]["amount"], 10 * COIN);
    let reward = &alices["transactions"][1];
    assert_eq!(
        (&reward["direction"], &reward["confirmations"]),
        (&Value::from("received"), &Value::from(3))
    );
    assert_eq!(reward["transaction"]["type"], "reward");
    assert_eq!(alices["next"], Value::Null);

    let bobs = history(&node, bob.address, "").await;
    assert_eq!(ids(&bobs), [t.txid().to_string()]);
    assert_eq!(bobs["transactions"][0]["direction"], "received");

    // One entry a page: the cursor walks back to the first entry and then says there is no more.
    let first = history(&node, alice.address, "?limit=1").await;
    assert_eq!(ids(&first), [t.txid().to_string()]);
    let next = first["next"].as_str().unwrap().to_owned();
    assert_eq!(next, format!("{height}-1"));
    let second = history(&node, alice.address, &format!("?limit=1&before={next}")).await;
    assert_eq!(ids(&second), [funding.transactions[0].txid().to_string()]);
    assert_eq!(second["next"], Value::Null);
    // Later pages leave out what is pending (it is newer than anything mined).
    assert!(second["pending"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_history_requests_are_refused_and_say_why() {
    let node = TestNode::start(params()).await;
    let someone = Address::from_bytes([5; 32]);
    let cases = [
        (
            "/accounts/bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq/transactions".to_owned(),
            "Bitcoin",
        ),
        (
            format!("/accounts/{someone}/transactions?limit=0"),
            "limit must be from 1 to",
        ),
        (
            format!(
                "/accounts/{someone}/transactions?limit={}",
                MAX_HISTORY_PAGE + 1
            ),
            "limit must be from 1 to 500",
        ),
        (
            format!("/accounts/{someone}/transactions?limit=-1"),
            "non-negative",
        ),
        (
            format!("/accounts/{someone}/transactions?before=12"),
            "<height>-<index>",
        ),
        (
            format!("/accounts/{someone}/transactions?limit=1&limit=2"),
            "more than once",
        ),
    ];
    for (path, says) in cases {
        let (status, v) = get(&node, &path).await;
        assert_eq!(status, 400, "{path}: {v}");
        assert!(v["message"].as_str().unwrap().contains(says), "{path}: {v}");
    }
    // The largest page is allowed, and an address with nothing has an empty history.
    let empty = history(&node, someone, &format!("?limit={MAX_HISTORY_PAGE}")).await;
    assert!(ids(&empty).is_empty());
    assert_eq!(empty["next"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorganisation_takes_a_transfer_out_of_the_history_and_back_to_pending() {
    let (_d, keys) = wallets();
    let (alice, bob) = (keys.create("alice").unwrap(), keys.create("bob").unwrap());
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    fund(&alice, &[&a, &b]).await;

    let t = pay(&alice, bob.address, 7, 0);
    post_transfer(&a, &t).await;
    mine(&a).await;
    assert_eq!(
        ids(&history(&a, bob.address, "").await),
        [t.txid().to_string()]
    );

    // B never saw the transfer and outgrows A.
    for _ in 0..3 {
        mine(&b).await;
    }
    a.node.peers().set(vec![b.peer_url()]);
    let resp = http().get(a.url("/nodes/resolve")).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["replaced"], true);

    // The block that held it left the main chain: no mined entry, pending again.
    let bobs = history(&a, bob.address, "").await;
    assert!(ids(&bobs).is_empty(), "{bobs}");
    assert_eq!(bobs["pending"][0]["id"], t.txid().to_string());
    let alices = history(&a, alice.address, "").await;
    assert_eq!(
        alices["transactions"].as_array().unwrap().len(),
        1,
        "{alices}"
    );
    assert_eq!(alices["transactions"][0]["direction"], "received");

    // Mined again on the new chain, at a new height, with its confirmations counted there.
    let mined = mine(&a).await;
    let bobs = history(&a, bob.address, "").await;
    assert_eq!(ids(&bobs), [t.txid().to_string()]);
    assert_eq!(bobs["transactions"][0]["height"], mined["block"]["index"]);
    assert_eq!(bobs["transactions"][0]["confirmations"], 1);
}
