//! Peer discovery and misbehaving peers, on loopback: nodes grow a network from one seed, refuse
//! peers on another chain and malformed registrations, back off peers that fail, ban peers that
//! serve invalid chains, and remember what they learned across a restart.

mod common;

use common::*;
use ferrochain::chain::{ChainParams, Difficulty};
use ferrochain::network::PeerUrl;
use ferrochain::node::NodeConfig;
use ferrochain::storage::Store;
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

async fn post(node: &TestNode, path: &str, body: &Value) -> (u16, Value) {
    let resp = http().post(node.url(path)).json(body).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
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
    assert_eq!(a.node.peers().usable().len(), 3);

    // The network now relays: a block mined on D reaches B, which only knew A at start.
    let mined = d
        .node
        .mining()
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
    assert!(y.node.peers().usable().is_empty());
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
async fn a_failing_peer_is_backed_off_with_its_error_and_asked_again_by_an_explicit_resolve() {
    let node = TestNode::start(params()).await;
    let (broken, accepted) =
        hostile_peer_counted(Hostile::Respond(b"garbage, not HTTP".to_vec())).await;
    node.node.peers().set(vec![broken.clone()]);

    let v = get(&node, "/nodes/resolve").await;
    assert!(v["peers"][0]["error"].is_string(), "{v}");
    let entry = peer_entry(&node, &broken).await.unwrap();
    assert_eq!(entry["state"], "backoff", "{entry}");
    // One failure at least: the node's first discovery round may have met it too.
    let failures = entry["failures"].as_u64().unwrap();
    assert!(failures >= 1, "{entry}");
    assert_eq!(entry["source"], "flag");
    assert!(
        entry["last_error"]
            .as_str()
            .unwrap()
            .contains("request failed"),
        "{entry}"
    );
    assert!(entry["retry_at"].as_u64().is_some(), "{entry}");
    assert!(node.node.peers().usable().is_empty());

    // Within its back-off, an explicit resolve still asks it (the operator asked now, and a
    // peer that was away may be back), and reports how that went; it backs off further.
    let asked = accepted.load(Ordering::SeqCst);
    let v = get(&node, "/nodes/resolve").await;
    let report = &v["peers"][0];
    assert_eq!(report["skipped"], false, "{v}");
    assert!(
        report["error"].as_str().unwrap().contains("request failed"),
        "{v}"
    );
    assert!(accepted.load(Ordering::SeqCst) > asked);
    let after = peer_entry(&node, &broken).await.unwrap()["failures"].as_u64();
    assert!(after.unwrap() > failures, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_serving_an_invalid_chain_is_banned_and_skipped_by_the_next_resolve() {
    let node = TestNode::start(params()).await;
    let honest = TestNode::start(params()).await;
    honest
        .node
        .mining()
        .mine(vec![note("honest")])
        .await
        .unwrap();

    let mut edited = vec![params().genesis().into_block()];
    for i in 0..3 {
        let b = mine_on(edited.last().unwrap(), vec![note(&format!("block {i}"))]);
        edited.push(b);
    }
    edited[2].transactions[1] = note("edited after mining");
    let (liar, accepted) = chain_peer(edited, Claim::default()).await;
    node.node.peers().set(vec![liar.clone(), honest.peer_url()]);

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
    assert_eq!(node.node.peers().usable(), [honest.peer_url()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_a_ban_is_lifted_a_discovery_round_syncs_from_the_peer_ahead() {
    let a = discovering(params(), &[]).await;
    let b = discovering(params(), &[&a]).await;
    wait_for("A to know B", || async {
        a.node
            .peers()
            .usable()
            .contains(&b.peer_url())
            .then_some(())
    })
    .await;
    // B ignores A for a while: A's blocks do not reach it.
    let v: Value = http()
        .post(b.url("/nodes/ban"))
        .json(&json!({"node": a.peer_url(), "seconds": 600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["peers"][0]["state"], "banned", "{v}");
    // A gets ahead without relaying anything (blocks stored, not mined or submitted), so the
    // only way for B to learn of them is to ask.
    let genesis = params().genesis().into_block();
    give(&a, &build_chain(&genesis, 3, "a")).await;
    assert_eq!(b.node.tip().height.get(), 0);

    // Lifted: no block is relayed, yet B's next round sees A's work and fetches the chain.
    let resp = http()
        .delete(b.url("/nodes/ban"))
        .json(&json!({"node": a.peer_url()}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let want = a.node.tip().hash;
    wait_for("B to sync from A in a discovery round", || async {
        (b.node.tip().hash == want).then_some(())
    })
    .await;
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
async fn an_operator_ban_survives_a_restart() {
    let node = discovering(params(), &[]).await;
    let banned = PeerUrl::parse("http://127.0.0.1:9").unwrap();
    let resp = http()
        .post(node.url("/nodes/ban"))
        .json(&json!({"node": banned, "seconds": 3600, "reason": "kept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let before = peer_entry(&node, &banned).await.unwrap();

    let node = discovering_in(node.stop(), params(), &[]).await;
    let after = peer_entry(&node, &banned).await.unwrap();
    assert_eq!(after, before);
    assert_eq!(after["state"], "banned");
    assert_eq!(after["ban_reason"], "kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_2_store_is_upgraded_and_keeps_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start_in(dir, params()).await;
    let mined = node
        .node
        .mining()
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
    // The peer is kept. The node may also have learned, from that peer, the URL it had before
    // the restart (a new port here), which now answers nothing: a candidate, not itself.
    let nodes = nodes_of(&node).await;
    let nodes = nodes["nodes"].as_array().unwrap();
    assert!(nodes.contains(&json!(peer.peer_url())), "{nodes:?}");
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
            seed.node.peers().list().contains(&me).then_some(())
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
    node.peers().set_local_addr("0.0.0.0:5000".parse().unwrap());
    assert_eq!(node.peers().public_url(), None);
    node.peers()
        .set_local_addr("127.0.0.1:5000".parse().unwrap());
    assert_eq!(
        node.peers().public_url().unwrap().to_string(),
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
    node.peers().set_local_addr("0.0.0.0:5000".parse().unwrap());
    assert_eq!(node.peers().public_url(), Some(given));
}
