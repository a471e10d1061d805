//! A live network: a peer is used the moment it is learned, and an explicit resolve asks peers
//! that were away. Each scenario holds the nodes to a deadline of 3 s; the periodic discovery
//! round (30 s here) plays no part.

mod common;

use common::*;
use ferrochain::network::PeerUrl;
use std::time::Duration;

/// What the issue promises: the nodes hold the same chain, or know each other, within seconds.
const LIVE: Duration = Duration::from_secs(3);

/// A node started with `peers` (as with `--peer`), on `port` (0: any).
async fn node_with(peers: Vec<PeerUrl>, port: u16) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let config = ferrochain::node::NodeConfig {
        flag_peers: peers,
        ..test_config(dir.path(), params())
    };
    TestNode::start_on(dir, config, port).await
}

async fn knows(node: &TestNode, peer: &PeerUrl) -> bool {
    node.node.peers().list().contains(peer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_peer_learns_of_us_at_once() {
    let a = node_with(vec![], 0).await;
    let b = node_with(vec![], 0).await;
    let resp = http()
        .post(b.url("/nodes/register"))
        .json(&serde_json::json!({ "nodes": [a.peer_url()] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    wait_within(LIVE, "A to list B", || async {
        knows(&a, &b.peer_url()).await.then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_asks_a_peer_that_was_down_and_takes_its_longer_chain() {
    let (port, a_url) = free_port();
    let b = node_with(vec![a_url.clone()], 0).await;
    b.node.mining().mine(vec![note("b alone")]).await.unwrap();
    // B tried A and backed it off.
    wait_within(LIVE, "B to back A off", || async {
        let views = b.node.peers().views();
        views
            .iter()
            .any(|v| v.url == a_url && v.failures > 0)
            .then_some(())
    })
    .await;

    let a = node_with(vec![], port).await;
    for i in 0..3 {
        a.node
            .mining()
            .mine(vec![note(&format!("a {i}"))])
            .await
            .unwrap();
    }
    let resolved = b.node.sync().resolve().await.unwrap();
    assert!(resolved.replaced, "{resolved:?}");
    assert_eq!(b.node.tip().hash, a.node.tip().hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_started_one_after_another_relay_a_block_to_all_at_once() {
    // Each lists the others; the first starts while the others are still down.
    let (ports, urls): (Vec<u16>, Vec<PeerUrl>) = (0..3).map(|_| free_port()).unzip();
    let others = |i: usize| -> Vec<PeerUrl> {
        (0..3)
            .filter(|j| *j != i)
            .map(|j| urls[j].clone())
            .collect()
    };
    let mut nodes = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        nodes.push(node_with(others(i), *port).await);
    }
    // Mined at once: the relay may still find the others backing off on the first node; they
    // get the block when it meets them, as each announces itself.
    let mined = nodes[0]
        .node
        .mining()
        .mine(vec![note("right after the third is up")])
        .await
        .unwrap();
    let hash = mined.block.hash();
    for n in &nodes[1..] {
        wait_within(LIVE, "the block to reach every node", || async {
            (n.node.tip().hash == hash).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_pointed_at_one_seed_know_each_other_within_seconds() {
    let seed = node_with(vec![], 0).await;
    let mut nodes = vec![];
    for _ in 0..4 {
        nodes.push(node_with(vec![seed.peer_url()], 0).await);
    }
    for n in &nodes {
        for other in nodes.iter().chain([&seed]) {
            if other.addr == n.addr {
                continue;
            }
            wait_within(LIVE, "every node to know every other", || async {
                knows(n, &other.peer_url()).await.then_some(())
            })
            .await;
        }
    }
}
