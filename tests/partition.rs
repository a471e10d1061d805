//! The network test: five nodes on loopback grow a network from one seed, mine on
//! several nodes, are split in two by bans (`POST /nodes/ban` on every node), mine and trade
//! apart, are healed (`DELETE /nodes/ban`), and all converge on the heaviest chain with every
//! transfer confirmed.

mod common;

use common::*;
use ferrochain::chain::{Address, Amount, BlockHash, TxId};
use ferrochain::node::NodeConfig;
use ferrochain::wallet::{Keystore, Wallet};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

/// Discovery rounds this often, so healing shows within a test's deadline.
const ROUND: Duration = Duration::from_millis(200);

async fn start(seed: Option<&TestNode>, miner: Option<Address>) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let config = NodeConfig {
        flag_peers: seed.iter().map(|s| s.peer_url()).collect(),
        discovery_interval: ROUND,
        miner,
        ..test_config(dir.path(), params())
    };
    TestNode::start_config(dir, config).await
}

async fn call(method: reqwest::Method, node: &TestNode, path: &str, body: Value) -> Value {
    let resp = http()
        .request(method, node.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

async fn get(node: &TestNode, path: &str) -> Value {
    let resp = http().get(node.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

/// Mines a block on `node` through the API and returns its hash.
async fn mine(node: &TestNode) -> BlockHash {
    let v = call(reqwest::Method::POST, node, "/mine", json!({})).await;
    v["block"]["hash"].as_str().unwrap().parse().unwrap()
}

async fn wait_until_all_at(nodes: &[&TestNode], tip: BlockHash, what: &str) {
    for n in nodes {
        wait_for(what, || async { (n.node.tip().hash == tip).then_some(()) }).await;
    }
}

/// Pays `coins` to `to` from `from` with its next nonce `nonce`, through `node`.
async fn pay(node: &TestNode, from: &Wallet, to: Address, nonce: u64) -> TxId {
    let transfer = from.sign_transfer(
        to,
        Amount::from_coins(1),
        Amount::from_units(1000),
        nonce,
        &params().genesis_hash(),
    );
    let v = call(
        reqwest::Method::POST,
        node,
        "/transactions",
        json!(transfer),
    )
    .await;
    v["id"].as_str().unwrap().parse().unwrap()
}

async fn wait_for_mempool(node: &TestNode, count: u64) {
    wait_for("the transfers to reach the miner", || async {
        (get(node, "/status").await["mempool"] == count).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_split_mine_apart_heal_and_converge_without_losing_a_transfer() {
    let keys_dir = tempfile::tempdir().unwrap();
    let keys = Keystore::new(keys_dir.path().join("wallets"));
    let (alice, bob) = (keys.create("alice").unwrap(), keys.create("bob").unwrap());
    let (carol, dave) = (
        Address::from_bytes([0xca; 32]),
        Address::from_bytes([0xda; 32]),
    );

    // Node 0 is the seed and pays alice; node 3 pays bob; the others pay their own keys.
    let seed = start(None, Some(alice.address)).await;
    let n1 = start(Some(&seed), None).await;
    let n2 = start(Some(&seed), None).await;
    let n3 = start(Some(&seed), Some(bob.address)).await;
    let n4 = start(Some(&seed), None).await;
    let all = [&seed, &n1, &n2, &n3, &n4];
    for node in all {
        let others: BTreeSet<_> = all
            .iter()
            .filter(|n| n.addr != node.addr)
            .map(|n| n.peer_url())
            .collect();
        wait_for("every node to use the four others", || {
            let usable: BTreeSet<_> = node.node.peers().usable().into_iter().collect();
            let done = usable == others;
            async move { done.then_some(()) }
        })
        .await;
    }

    // Mining on several nodes, each block reaching all before the next: alice and bob get
    // their first coins.
    for miner in [&seed, &n3, &n1] {
        let tip = mine(miner).await;
        wait_until_all_at(
            &all,
            tip,
            "a block mined before the split to reach every node",
        )
        .await;
    }

    // The split: every node bans every node of the other side.
    let (side_a, side_b) = ([&seed, &n1, &n2], [&n3, &n4]);
    for (ours, theirs) in [(&side_a[..], &side_b[..]), (&side_b[..], &side_a[..])] {
        for node in ours {
            for other in theirs {
                let body = json!({"node": other.peer_url(), "seconds": 600, "reason": "split"});
                call(reqwest::Method::POST, node, "/nodes/ban", body).await;
            }
        }
    }

    // Side A: alice pays carol three times through n1; mined on the seed, then two more
    // blocks on n2. Side B: bob pays dave twice through n4; one block mined on n3.
    let mut sent = Vec::new();
    for nonce in 0..3 {
        sent.push(pay(&n1, &alice, carol, nonce).await);
    }
    for nonce in 0..2 {
        sent.push(pay(&n4, &bob, dave, nonce).await);
    }
    wait_for_mempool(&seed, 3).await;
    wait_for_mempool(&n3, 2).await;
    let mut tip_a = mine(&seed).await;
    wait_until_all_at(&side_a, tip_a, "side A to share its block").await;
    for _ in 0..2 {
        tip_a = mine(&n2).await;
        wait_until_all_at(&side_a, tip_a, "side A to share its blocks").await;
    }
    let tip_b = mine(&n3).await;
    wait_until_all_at(&side_b, tip_b, "side B to share its block").await;
    // Apart, each side kept its own chain and its own transfers.
    assert_eq!(n4.node.tip().hash, tip_b);
    assert_eq!(
        (seed.node.tip().height.get(), n4.node.tip().height.get()),
        (6, 4)
    );

    // Heal: every ban is lifted, and nothing is mined meanwhile: discovery rounds find the
    // heavier side and every node takes its chain.
    for (ours, theirs) in [(&side_a[..], &side_b[..]), (&side_b[..], &side_a[..])] {
        for node in ours {
            for other in theirs {
                let body = json!({"node": other.peer_url()});
                call(reqwest::Method::DELETE, node, "/nodes/ban", body).await;
            }
        }
    }
    wait_until_all_at(&all, tip_a, "every node to converge on the heavier chain").await;

    // Bob's transfers left the chain with side B's block and went back to side B's mempools,
    // from where they are relayed again: side A, which never saw them, has them pending too,
    // and the next block it mines confirms them on the common chain.
    wait_for_mempool(&n4, 2).await;
    wait_for_mempool(&seed, 2).await;
    let last = mine(&seed).await;
    wait_until_all_at(&all, last, "the last block to reach every node").await;
    for node in all {
        for id in &sent {
            let v = get(node, &format!("/transactions/{id}")).await;
            assert_eq!(v["status"], "confirmed", "{id} on {}: {v}", node.addr);
        }
        let verified = get(node, "/chain/verify").await;
        assert_eq!(verified["valid"], true, "{verified}");
    }
    let balance = get(&n2, &format!("/accounts/{carol}")).await["balance"].clone();
    assert_eq!(balance, 3 * Amount::from_coins(1).units());
    let balance = get(&n2, &format!("/accounts/{dave}")).await["balance"].clone();
    assert_eq!(balance, 2 * Amount::from_coins(1).units());
}
