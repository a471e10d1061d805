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

/// The README's "Several nodes" walkthrough with the real binary: three nodes started back to
/// back (the seed may not listen yet when the others start), and a second later the third
/// lists both others as healthy, and a block mined on the seed reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_forms_its_mesh_and_relays_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let (ports, urls): (Vec<u16>, Vec<PeerUrl>) = (0..3).map(|_| free_port()).unzip();
    let mut children: Vec<std::process::Child> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ferrochain"));
        cmd.args([
            "node",
            &port.to_string(),
            "--difficulty",
            &TEST_BITS.to_string(),
        ])
        .arg("--data-dir")
        .arg(dir.path().join(port.to_string()))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        if i > 0 {
            cmd.args(["--peer", &urls[0].to_string()]);
        }
        children.push(cmd.spawn().unwrap());
    }
    let third = urls[2].join("/nodes");
    let listed = wait_within(LIVE, "the third node to list both others as ok", || async {
        let v = try_get_json(&third).await?;
        let ok: Vec<String> = v["peers"]
            .as_array()?
            .iter()
            .filter(|p| p["state"] == "ok" && p["verified"] == true)
            .map(|p| p["url"].as_str().unwrap_or_default().to_owned())
            .collect();
        let both = [&urls[0], &urls[1]]
            .iter()
            .all(|u| ok.contains(&u.to_string()));
        both.then_some(v)
    })
    .await;
    for peer in listed["peers"].as_array().unwrap() {
        assert!(peer["last_heard"].is_u64(), "{peer}");
        assert!(peer["next_try"].is_u64(), "{peer}");
    }
    let mined: serde_json::Value = http()
        .post(urls[0].join("/mine"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hash = mined["block"]["hash"].as_str().unwrap().to_owned();
    for url in &urls[1..] {
        let status = url.join("/status");
        wait_within(LIVE, "the block to reach every node", || async {
            let v = try_get_json(&status).await?;
            (v["tip"] == hash.as_str()).then_some(())
        })
        .await;
    }
    for mut child in children {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

/// A peer that was down when a block was mined gets it when it is back, from the miner's retry
/// timer alone: the returning node knows nobody, no registration and no round brings it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_mined_while_a_peer_was_down_reaches_it_when_its_back_off_ends() {
    let (port, a_url) = free_port();
    let b = node_with(vec![a_url.clone()], 0).await;
    let mined = b
        .node
        .mining()
        .mine(vec![note("while A is away")])
        .await
        .unwrap();
    wait_within(LIVE, "B to back A off", || async {
        let views = b.node.peers().views();
        let a = views.into_iter().find(|v| v.url == a_url)?;
        (a.failures > 0).then_some(())
    })
    .await;
    let a = node_with(vec![], port).await;
    let next_try = b
        .node
        .peers()
        .views()
        .into_iter()
        .find(|v| v.url == a_url)
        .and_then(|v| v.next_try)
        .unwrap();
    let wait = next_try
        .as_millis()
        .saturating_sub(ferrochain::chain::Timestamp::now().as_millis());
    wait_within(
        LIVE + Duration::from_millis(wait),
        "the block to reach A once B's back-off ends",
        || async { (a.node.tip().hash == mined.block.hash()).then_some(()) },
    )
    .await;
}

/// A sync cut short because the peer went away is finished when it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_goes_away_mid_sync_is_synced_from_when_it_comes_back() {
    let (port, a_url) = free_port();
    let a = node_with(vec![], port).await;
    let genesis = params().genesis().into_block();
    let blocks = build_chain(&genesis, 3000, "a");
    a.node.chain().accept(blocks.clone()).await.unwrap();
    let top = a.node.tip();

    let b = node_with(vec![a_url.clone()], 0).await;
    wait_within(LIVE, "B to start syncing", || async {
        (b.node.tip().height.get() > 0).then_some(())
    })
    .await;
    let dir = a.stop();
    let cut_at = b.node.tip().height;
    assert!(cut_at < top.height, "B finished before A went away");
    let config = ferrochain::node::NodeConfig {
        ..test_config(dir.path(), params())
    };
    let _a = TestNode::start_on(dir, config, port).await;
    wait_within(LIVE, "B to finish the sync once A is back", || async {
        (b.node.tip().hash == top.hash).then_some(())
    })
    .await;
}

/// Twenty nodes, each started with one earlier node as its only seed and at most 8 peers of its
/// own choosing: every block mined anywhere reaches every node within seconds, each body
/// downloaded once per node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_of_a_sparse_twenty_node_network_gets_every_block() {
    const NODES: usize = 20;
    // A fixed sequence, so a failure can be replayed.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut pick = move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    };
    let mut nodes: Vec<TestNode> = Vec::new();
    for i in 0..NODES {
        let seed = (i > 0).then(|| nodes[pick(i)].peer_url());
        let dir = tempfile::tempdir().unwrap();
        let config = ferrochain::node::NodeConfig {
            flag_peers: seed.into_iter().collect(),
            max_peers: 8,
            mining_threads: Some(1),
            ..test_config(dir.path(), params())
        };
        nodes.push(TestNode::start_on(dir, config, 0).await);
    }
    // Every node is known to someone who relays to it.
    for n in &nodes {
        wait_within(LIVE, "every node to be used by a peer", || async {
            let me = n.peer_url();
            let used = nodes.iter().any(|o| o.node.peers().usable().contains(&me));
            used.then_some(())
        })
        .await;
    }
    for round in 0..5 {
        let miner = &nodes[pick(NODES)];
        let mined = miner
            .node
            .mining()
            .mine(vec![note(&format!("round {round}"))])
            .await
            .unwrap();
        let hash = mined.block.hash();
        for n in &nodes {
            wait_within(LIVE, "the block to reach every node", || async {
                (n.node.tip().hash == hash).then_some(())
            })
            .await;
        }
    }
    for n in &nodes {
        let traffic = n.node.status().relay.unwrap();
        assert_eq!(traffic.duplicate_blocks, 0, "{traffic:?}");
    }
}
