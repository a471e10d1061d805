//! Peer discovery and misbehaving peers, on loopback: nodes grow a network from one seed, refuse
//! peers on another chain and malformed registrations, back off peers that fail, ban peers that
//! serve invalid chains, and remember what they learned across a restart.

mod common;

use common::*;
use ferrochain::chain::{Amount, BlockHash, ChainParams, Difficulty, Transfer};
use ferrochain::network::PeerUrl;
use ferrochain::node::NodeConfig;
use ferrochain::storage::Store;
use ferrochain::wallet::{Keystore, Wallet};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tempfile::TempDir;

/// Fast enough that a few rounds fit well inside a test's deadline.
const ROUND: Duration = Duration::from_millis(200);

/// A node that runs discovery every [`ROUND`], starting from `seeds` (as with `--peer`).
async fn discovering(params: ChainParams, seeds: &[&TestNode]) -> TestNode {
    discovering_in(tempfile::tempdir().unwrap(), params, seeds).await
}

async fn discovering_in(dir: TempDir, params: ChainParams, seeds: &[&TestNode]) -> TestNode {
    let config = NodeConfig {
        flag_peers: seeds.iter().map(|s| s.peer_url()).collect(),
        discovery_interval: ROUND,
        ..test_config(dir.path(), params)
    };
    TestNode::start_config(dir, config).await
}

async fn get(node: &TestNode, path: &str) -> Value {
    let resp = http().get(node.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn nodes_of(node: &TestNode) -> Value {
    get(node, "/nodes").await
}

/// The plain `nodes` list of `GET /nodes`, as a set.
async fn known_by(node: &TestNode) -> BTreeSet<String> {
    nodes_of(node).await["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The entry for `peer` in `GET /nodes`'s `peers`.
async fn peer_entry(node: &TestNode, peer: &PeerUrl) -> Option<Value> {
    let v = nodes_of(node).await;
    let peers = v["peers"].as_array().unwrap().clone();
    peers
        .into_iter()
        .find(|p| p["url"] == peer.to_string().as_str())
}

/// Waits until each of `nodes` lists exactly the others in `GET /nodes`.
async fn all_know_each_other(nodes: &[&TestNode]) {
    for node in nodes {
        let others: BTreeSet<String> = nodes
            .iter()
            .filter(|n| n.addr != node.addr)
            .map(|n| n.peer_url().to_string())
            .collect();
        wait_for("every node to know all the others", || {
            let others = others.clone();
            async move { (known_by(node).await == others).then_some(()) }
        })
        .await;
    }
}

async fn register(node: &TestNode, body: &Value) -> (u16, Value) {
    post(node, "/nodes/register", body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_started_from_one_seed_all_learn_each_other() {
    let a = discovering(params(), &[]).await;
    let b = discovering(params(), &[&a]).await;
    let c = discovering(params(), &[&a]).await;
    let d = discovering(params(), &[&a]).await;
    all_know_each_other(&[&a, &b, &c, &d]).await;
    // The seed heard of the others through their registrations; they are used, not candidates.
    for n in [&b, &c, &d] {
        let entry = peer_entry(&a, &n.peer_url()).await.unwrap();
        assert_eq!(entry["source"], "registered", "{entry}");
        assert_eq!(entry["state"], "ok", "{entry}");
        assert_eq!(entry["verified"], true, "{entry}");
    }
    assert_eq!(
        peer_entry(&b, &a.peer_url()).await.unwrap()["source"],
        "flag"
    );
    assert_eq!(a.node.usable_peers().len(), 3);

    // The network now relays: a block mined on D reaches B, which only knew A at start.
    let mined = d
        .node
        .mine(vec![note("found through the seed")])
        .await
        .unwrap();
    let hash = mined.block.hash();
    for n in [&a, &b, &c] {
        wait_for("the block to reach every node", || async {
            (n.node.tip().hash == hash).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_another_chain_is_refused_both_ways() {
    let a = TestNode::start(params()).await;
    let other_params = ChainParams::new(Difficulty::new(TEST_BITS + 1).unwrap());
    let x = TestNode::start(other_params).await;

    let (status, v) = register(&a, &json!({ "nodes": [x.peer_url()] })).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"], "wrong_chain");
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("another chain"), "{message}");
    assert!(message.contains(&x.peer_url().to_string()), "{message}");
    assert_eq!(nodes_of(&a).await["nodes"], json!([]));

    // The other node, told of A by its operator, finds out at its handshake: A cannot be
    // dropped (the operator named it), so it is banned with the reason and never used.
    let y = discovering(other_params, &[&a]).await;
    let entry = wait_for("the seed on another chain to be banned", || async {
        peer_entry(&y, &a.peer_url())
            .await
            .filter(|e| e["state"] == "banned")
    })
    .await;
    assert!(
        entry["ban_reason"]
            .as_str()
            .unwrap()
            .contains("another chain"),
        "{entry}"
    );
    assert!(entry["banned_until"].as_u64().is_some(), "{entry}");
    assert!(y.node.usable_peers().is_empty());
    // Y never made it into A's list either.
    assert_eq!(nodes_of(&a).await["nodes"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_registrations_are_4xx_and_change_nothing() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    let (status, v) = register(&a, &json!({ "nodes": [b.peer_url()] })).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["added"], json!([b.peer_url()]));
    let before = nodes_of(&a).await["nodes"].clone();
    assert_eq!(before, json!([b.peer_url()]));

    for (body, code) in [
        // A string where the list belongs is refused, never split into characters.
        (json!({ "nodes": "http://x:1" }), "invalid_json"),
        (json!({ "nodes": ["ftp://x:1"] }), "bad_peer_url"),
        (json!({ "nodes": ["http://x"] }), "bad_peer_url"),
        (json!({}), "invalid_json"),
        (json!({ "nodes": [1, 2] }), "invalid_json"),
        (json!({ "nodes": [] }), "no_nodes"),
    ] {
        let (status, v) = register(&a, &body).await;
        assert!((400..500).contains(&status), "{body}: {status} {v}");
        assert_eq!(v["error"], code, "{body}: {v}");
        assert!(!v["message"].as_str().unwrap().is_empty());
        assert_eq!(nodes_of(&a).await["nodes"], before, "{body}");
    }
    let (_, v) = register(&a, &json!({ "nodes": ["http://x"] })).await;
    assert!(v["message"].as_str().unwrap().contains("port"), "{v}");

    // The node's own URL is skipped: nothing new.
    let (status, v) = register(&a, &json!({ "nodes": [a.peer_url()] })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["message"], "no new peers");
    assert_eq!(nodes_of(&a).await["nodes"], before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_bans_are_checked_shown_honoured_and_lifted() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    let (status, _) = register(&a, &json!({ "nodes": [b.peer_url()] })).await;
    assert_eq!(status, 201);
    let b_url = b.peer_url().to_string();
    for (body, status, code) in [
        (json!({"node": "not a url"}), 422, "bad_peer_url"),
        (json!({"node": "http://127.0.0.1:1"}), 404, "unknown_peer"),
        (
            json!({"node": b_url, "seconds": 0}),
            422,
            "bad_ban_duration",
        ),
        (
            json!({"node": b_url, "seconds": 400_000_000}),
            422,
            "bad_ban_duration",
        ),
        (json!({"node": b_url, "for": 10}), 422, "invalid_json"),
        (json!([b_url]), 422, "invalid_json"),
    ] {
        let (got, v) = post(&a, "/nodes/ban", &body).await;
        assert_eq!(
            (
                got,
                v["error"].as_str().unwrap_or_else(|| panic!("{body}: {v}"))
            ),
            (status, code),
            "{body}: {v}"
        );
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(peer_entry(&a, &b.peer_url()).await.unwrap()["state"], "ok");

    let (status, v) = post(&a, "/nodes/ban", &json!({"node": b_url, "seconds": 600})).await;
    assert_eq!(status, 200, "{v}");
    let entry = peer_entry(&a, &b.peer_url()).await.unwrap();
    assert_eq!(entry["state"], "banned", "{entry}");
    assert_eq!(
        entry["ban_reason"],
        "banned by the operator: no reason given"
    );
    assert!(a.node.usable_peers().is_empty());
    // Neither relay nor resolve goes to it: B's heavier chain stays unknown to A.
    let mined = b.node.mine(vec![]).await.unwrap();
    let resolved = a.node.resolve().await.unwrap();
    assert!(!resolved.replaced && resolved.peers[0].skipped);
    // Nor does a restart lift it: bans are kept with the peer's record.
    let dir = a.stop();
    let a = TestNode::start_in(dir, params()).await;
    let entry = peer_entry(&a, &b.peer_url()).await.unwrap();
    assert_eq!(entry["state"], "banned", "{entry}");

    let (status, v) = post(&a, "/nodes/unban", &json!({"node": b_url})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(peer_entry(&a, &b.peer_url()).await.unwrap()["state"], "ok");
    assert!(a.node.resolve().await.unwrap().replaced);
    assert_eq!(a.node.tip().hash, mined.block.hash());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_peer_is_backed_off_with_its_error_and_skipped() {
    let node = TestNode::start(params()).await;
    let (broken, accepted) =
        hostile_peer_counted(Hostile::Respond(b"garbage, not HTTP".to_vec())).await;
    node.node.set_peers(vec![broken.clone()]);

    let v = get(&node, "/nodes/resolve").await;
    assert!(v["peers"][0]["error"].is_string(), "{v}");
    let entry = peer_entry(&node, &broken).await.unwrap();
    assert_eq!(entry["state"], "backoff", "{entry}");
    assert_eq!(entry["failures"], 1);
    assert_eq!(entry["source"], "flag");
    assert!(
        entry["last_error"]
            .as_str()
            .unwrap()
            .contains("request failed"),
        "{entry}"
    );
    assert!(entry["retry_at"].as_u64().is_some(), "{entry}");
    assert!(node.node.usable_peers().is_empty());

    // Within its back-off, resolve does not ask it again and says why.
    let asked = accepted.load(Ordering::SeqCst);
    let v = get(&node, "/nodes/resolve").await;
    let report = &v["peers"][0];
    assert_eq!(report["skipped"], true, "{v}");
    assert!(
        report["error"].as_str().unwrap().contains("backing off"),
        "{v}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), asked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_serving_an_invalid_chain_is_banned_and_skipped_by_the_next_resolve() {
    let node = TestNode::start(params()).await;
    let honest = TestNode::start(params()).await;
    honest.node.mine(vec![note("honest")]).await.unwrap();

    let mut edited = vec![params().genesis().into_block()];
    for i in 0..3 {
        let b = mine_on(edited.last().unwrap(), vec![note(&format!("block {i}"))]);
        edited.push(b);
    }
    edited[2].transactions[1] = note("edited after mining");
    let (liar, accepted) = chain_peer(edited, Claim::default()).await;
    node.node.set_peers(vec![liar.clone(), honest.peer_url()]);

    let v = get(&node, "/nodes/resolve").await;
    assert!(
        v["peers"][0]["error"]
            .as_str()
            .unwrap()
            .contains("Merkle root"),
        "{v}"
    );
    assert_eq!(v["peers"][1]["error"], Value::Null, "{v}");
    // Blocks before the bad one were valid and are kept; the honest chain is as heavy, and
    // the node keeps what it has on a tie.
    assert_eq!(node.node.tip().height.get(), 1);

    let entry = peer_entry(&node, &liar).await.unwrap();
    assert_eq!(entry["state"], "banned", "{entry}");
    assert!(
        entry["ban_reason"]
            .as_str()
            .unwrap()
            .contains("Merkle root"),
        "{entry}"
    );
    let until = entry["banned_until"].as_u64().unwrap();
    let now = ferrochain::chain::Timestamp::now().as_millis();
    assert!(
        until > now + 9 * 60 * 1000,
        "banned for about 10 minutes: {entry}"
    );
    assert_eq!(
        peer_entry(&node, &honest.peer_url()).await.unwrap()["state"],
        "ok"
    );

    let asked = accepted.count();
    let v = get(&node, "/nodes/resolve").await;
    assert_eq!(v["peers"][0]["skipped"], true, "{v}");
    assert!(
        v["peers"][0]["error"].as_str().unwrap().contains("banned"),
        "{v}"
    );
    assert_eq!(v["peers"][1]["skipped"], false, "{v}");
    assert_eq!(accepted.count(), asked, "the banned peer was asked");
    // Relays skip it too.
    assert_eq!(node.node.usable_peers(), [honest.peer_url()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learned_peers_survive_a_restart() {
    let seed = discovering(params(), &[]).await;
    let other = discovering(params(), &[&seed]).await;
    let node = discovering(params(), &[&seed]).await;
    let other_url = other.peer_url();
    wait_for("the node to learn the seed's other peer", || async {
        peer_entry(&node, &other_url)
            .await
            .filter(|e| e["state"] == "ok")
    })
    .await;
    let learned = peer_entry(&node, &other_url).await.unwrap();
    assert!(
        learned["source"] == "learned" || learned["source"] == "registered",
        "{learned}"
    );

    // Nobody is left to tell the node about `other` again: what it lists now, it remembered.
    let seed_url = seed.peer_url();
    drop(seed.stop());
    drop(other.stop());
    let dir = node.stop();
    let node = discovering_in(dir, params(), &[]).await;
    let listed = known_by(&node).await;
    assert!(listed.contains(&other_url.to_string()), "{listed:?}");
    let entry = peer_entry(&node, &other_url).await.unwrap();
    assert_eq!(entry["source"], learned["source"]);
    // The seed was a --peer that the restarted node was not given again: forgotten.
    assert!(!listed.contains(&seed_url.to_string()), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_2_store_is_upgraded_and_keeps_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start_in(dir, params()).await;
    let mined = node
        .node
        .mine(vec![note("before the upgrade")])
        .await
        .unwrap();
    let dir = node.stop();
    // Wait for the node to let go of the store, then make it what a schema-2 build left (the
    // peers tree is what schema 3 added).
    let path = dir.path().to_owned();
    wait_for("the store to be released", || {
        let path = path.clone();
        async move {
            let db = sled::open(&path).ok()?;
            db.drop_tree("peers").unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert("schema_version", &2u32.to_le_bytes())
                .unwrap();
            db.flush().unwrap();
            Some(())
        }
    })
    .await;

    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        ferrochain::storage::SCHEMA_VERSION
    );
    assert_eq!(store.tip().hash, mined.block.hash());
    drop(store);

    // The upgraded store serves the chain and keeps peers.
    let peer = TestNode::start(params()).await;
    let node = TestNode::start_in(dir, params()).await;
    assert_eq!(node.node.tip().hash, mined.block.hash());
    let (status, v) = register(&node, &json!({ "nodes": [peer.peer_url()] })).await;
    assert_eq!(status, 201, "{v}");
    let node = TestNode::start_in(node.stop(), params()).await;
    assert_eq!(nodes_of(&node).await["nodes"], json!([peer.peer_url()]));
}

const BIN: &str = env!("CARGO_BIN_EXE_ferrochain");

/// The real binary on port 0 with `args`; returns it and the URL it prints once it listens.
fn spawn_binary(args: &[&str]) -> (std::process::Child, String) {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["node", "0", "--difficulty", &TEST_BITS.to_string()])
        .args(["--retarget-interval", "0"])
        .args(args)
        .env("RUST_LOG", "warn");
    spawn_listening(cmd)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_takes_peer_flags_announces_itself_and_leaves_nodes_json_alone() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nodes.json");
    let text = format!("{{\"nodes\": [\"{}\"]}}\n", a.peer_url());
    std::fs::write(&file, &text).unwrap();
    let data = dir.path().join("chain");
    let b_url = b.peer_url().to_string();
    let (mut child, url) = spawn_binary(&[
        "--peers",
        file.to_str().unwrap(),
        "--peer",
        &b_url,
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let me = PeerUrl::parse(&url).unwrap();
    // Its first discovery round announces the default public URL (the listening address).
    for seed in [&a, &b] {
        wait_for("the binary to register with its seeds", || async {
            seed.node.peers().contains(&me).then_some(())
        })
        .await;
    }
    let v: Value = http()
        .get(format!("{url}/nodes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sources: Vec<(&str, &str)> = v["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["url"].as_str().unwrap(), p["source"].as_str().unwrap()))
        .collect();
    let a_url = a.peer_url().to_string();
    assert!(sources.contains(&(a_url.as_str(), "file")), "{v}");
    assert!(sources.contains(&(b_url.as_str(), "flag")), "{v}");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

#[test]
fn a_node_on_every_address_has_no_default_public_url() {
    // Checked without listening: 0.0.0.0 would open a port beyond loopback.
    let dir = tempfile::tempdir().unwrap();
    let node = ferrochain::node::Node::open(test_config(dir.path(), params())).unwrap();
    node.set_local_addr("0.0.0.0:5000".parse().unwrap());
    assert_eq!(node.public_url(), None);
    node.set_local_addr("127.0.0.1:5000".parse().unwrap());
    assert_eq!(
        node.public_url().unwrap().to_string(),
        "http://127.0.0.1:5000"
    );
    // A URL given with --public-url wins over the listening address.
    let given = PeerUrl::parse("http://node.example:443").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = NodeConfig {
        public_url: Some(given.clone()),
        ..test_config(dir.path(), params())
    };
    let node = ferrochain::node::Node::open(config).unwrap();
    node.set_local_addr("0.0.0.0:5000".parse().unwrap());
    assert_eq!(node.public_url(), Some(given));
}

async fn post(node: &TestNode, path: &str, body: &Value) -> (u16, Value) {
    let resp = http().post(node.url(path)).json(body).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// Makes every node of `side` ban (or, with `ban` false, unban) every node of `other`, and the
/// other way round, through the API.
async fn set_partition(side: &[&TestNode], other: &[&TestNode], ban: bool) {
    for (from, to) in [(side, other), (other, side)] {
        for n in from {
            for peer in to {
                let (path, body) = match ban {
                    true => (
                        "/nodes/ban",
                        json!({"node": peer.peer_url(), "seconds": 3600, "reason": "partition drill"}),
                    ),
                    false => ("/nodes/unban", json!({"node": peer.peer_url()})),
                };
                let (status, v) = post(n, path, &body).await;
                assert_eq!(status, 200, "{v}");
            }
        }
    }
}

/// Waits until every node's tip is `hash`.
async fn all_at(nodes: &[&TestNode], hash: BlockHash, what: &str) {
    for n in nodes {
        wait_for(what, || async { (n.node.tip().hash == hash).then_some(()) }).await;
    }
}

/// A transfer of one coin, signed for the test chain.
fn one_coin(from: &Wallet, to: &Wallet, nonce: u64) -> Transfer {
    from.sign_transfer(
        to.address,
        Amount::from_coins(1),
        Amount::from_units(100),
        nonce,
        &params().genesis_hash(),
    )
}

/// The drill: five nodes grown from one seed split into two groups (by operator bans),
/// mine and trade apart, heal, and all end on the heaviest chain with every transfer confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_split_mine_apart_heal_and_converge_without_losing_a_transfer() {
    let keys_dir = tempfile::tempdir().unwrap();
    let keys = Keystore::new(keys_dir.path());
    let wallets: Vec<Wallet> = (0..5)
        .map(|i| keys.create(&format!("w{i}")).unwrap())
        .collect();
    // Node i pays its rewards to wallet i; nodes 1 to 4 know only the seed, node 0.
    let start = |i: usize, seeds: Vec<PeerUrl>| {
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig {
            flag_peers: seeds,
            discovery_interval: ROUND,
            miner: Some(wallets[i].address),
            ..test_config(dir.path(), params())
        };
        TestNode::start_config(dir, config)
    };
    let seed = start(0, vec![]).await;
    let mut nodes = vec![seed];
    for i in 1..5 {
        let node = start(i, vec![nodes[0].peer_url()]).await;
        nodes.push(node);
    }
    let all: Vec<&TestNode> = nodes.iter().collect();
    all_know_each_other(&all).await;
    for n in &all {
        wait_for("every peer to pass its handshake", || async {
            (n.node.usable_peers().len() == 4).then_some(())
        })
        .await;
    }

    // Mining on several nodes: wallets 1 and 3 get coins, and every node follows.
    for i in [1, 3] {
        let mined = all[i].node.mine(vec![]).await.unwrap();
        all_at(
            &all,
            mined.block.hash(),
            "the shared blocks to reach everyone",
        )
        .await;
    }

    // The split: nodes 0 and 1 on one side, 2, 3 and 4 on the other.
    let (left, right) = (&all[..2], &all[2..]);
    set_partition(left, right, true).await;
    let entry = peer_entry(all[0], &all[2].peer_url()).await.unwrap();
    assert_eq!(entry["state"], "banned", "{entry}");
    assert!(entry["ban_reason"]
        .as_str()
        .unwrap()
        .contains("partition drill"));

    // Apart, each side trades and mines: the left 2 blocks, the right 3 (so more work).
    let t_left = one_coin(&wallets[1], &wallets[0], 0);
    let t_right = one_coin(&wallets[3], &wallets[2], 0);
    assert_eq!(post(all[1], "/transactions", &json!(t_left)).await.0, 201);
    assert_eq!(post(all[3], "/transactions", &json!(t_right)).await.0, 201);
    /// Mines on each of `miners` in turn, each block reaching its whole `side` before the next.
    async fn mine_on_side(all: &[&TestNode], miners: &[usize], side: &[&TestNode]) -> BlockHash {
        let mut tip = all[0].node.tip().hash;
        for &i in miners {
            tip = all[i].node.mine(vec![]).await.unwrap().block.hash();
            all_at(side, tip, "one side to agree").await;
        }
        tip
    }
    let left_tip = mine_on_side(&all, &[1, 0], left).await;
    let right_tip = mine_on_side(&all, &[3, 2, 4], right).await;
    assert_ne!(left_tip, right_tip);
    // Nothing crossed the split.
    for n in left {
        assert_eq!(n.node.tip().hash, left_tip);
        assert_eq!(n.node.tip().height.get(), 4);
    }
    assert!(all[2].node.transaction(&t_left.txid()).unwrap().is_none());
    assert!(all[0].node.transaction(&t_right.txid()).unwrap().is_none());

    // Heal. The next block the heavier side finds reaches the left side, whose nodes catch up
    // from their peers and reorganise onto the heavier chain; the left side's transfer goes back
    // to their mempools.
    set_partition(left, right, false).await;
    let healed = all[4].node.mine(vec![]).await.unwrap().block.hash();
    all_at(&all, healed, "every node to converge on the heaviest chain").await;
    assert_eq!(all[0].node.tip().height.get(), 6);
    for n in left {
        wait_for("the abandoned transfer to be pending again", || async {
            n.node
                .transaction(&t_left.txid())
                .unwrap()
                .is_some()
                .then_some(())
        })
        .await;
    }
    // A node of the side that lost mines it again; it reaches everyone, and on every node both
    // transfers are confirmed on one chain that verifies.
    let last = all[1].node.mine(vec![]).await.unwrap();
    assert!(last
        .block
        .transactions
        .iter()
        .any(|t| t.txid() == t_left.txid()));
    all_at(&all, last.block.hash(), "the last block to reach everyone").await;
    for n in &all {
        for t in [&t_left, &t_right] {
            let v = get(n, &format!("/transactions/{}", t.txid())).await;
            assert_eq!(v["status"], "confirmed", "{v}");
        }
        let verified = n.node.verify().await.unwrap();
        assert!(verified.error.is_none(), "{:?}", verified.error);
    }
}
