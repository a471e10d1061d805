//! Relay between nodes: relayed blocks and transfers name their sender, blocks that arrive
//! before their parent wait in the orphan pool while the node fetches the missing ancestors
//! (from the sender when it can), and a sender is held to what it sends.

mod common;

use common::*;
use ferrochain::chain::{Amount, Block};
use ferrochain::network::{PeerUrl, PEER_HEADER};
use ferrochain::wallet::Keystore;
use serde_json::Value;

async fn post_block(node: &TestNode, block: &Block, sender: Option<&str>) -> (u16, Value) {
    let mut request = http().post(node.url("/add_block")).json(block);
    if let Some(sender) = sender {
        request = request.header(PEER_HEADER, sender);
    }
    let resp = request.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn status(node: &TestNode) -> Value {
    get_json(&node.url("/status")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_wait_for_their_parent_and_join_the_chain_when_it_arrives() {
    let node = TestNode::start(params()).await;
    let genesis = params().genesis().into_block();
    let blocks = build_chain(&genesis, 3, "early");

    // Newest first: each waits for a parent that is not there yet.
    for (i, b) in blocks[1..].iter().rev().enumerate() {
        let (code, v) = post_block(&node, b, None).await;
        assert_eq!(code, 202, "{v}");
        assert!(v["message"].as_str().unwrap().contains("unknown"), "{v}");
        assert_eq!(status(&node).await["orphans"], i + 1);
    }
    assert_eq!(node.node.tip().height.get(), 0);
    // A block without its proof of work is refused before it could wait.
    let mut unmined = blocks[2].clone();
    while params().initial_target().check_hash(&unmined.hash()) {
        unmined.header.nonce += 1;
    }
    let (code, v) = post_block(&node, &unmined, None).await;
    assert_eq!(
        (code, v["error"].as_str()),
        (422, Some("bad_proof_of_work"))
    );
    assert_eq!(status(&node).await["orphans"], 2);

    // The parent arrives: it and both orphans are on the chain when the answer comes.
    let (code, v) = post_block(&node, &blocks[0], None).await;
    assert_eq!(code, 201, "{v}");
    assert_eq!(node.node.tip().hash, blocks[2].hash());
    assert_eq!(status(&node).await["orphans"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphan_from_a_peer_makes_the_node_fetch_its_ancestors_from_that_peer() {
    let a = TestNode::start(params()).await;
    for i in 0..5 {
        a.node
            .mining()
            .mine(vec![note(&format!("a{i}"))])
            .await
            .unwrap();
    }
    // Another peer, which must not be asked: it would serve only genesis anyway.
    let genesis = params().genesis().into_block();
    let (other, other_requests) = chain_peer(vec![genesis], Claim::default()).await;
    let b = TestNode::start(params()).await;
    b.node.peers().set(vec![other, a.peer_url()]);

    let tip = a.tip_block().await;
    let (code, v) = post_block(&b, &tip, Some(&a.peer_url().to_string())).await;
    assert_eq!(code, 202, "{v}");
    wait_for("B to fetch the ancestors from A", || async {
        (b.node.tip().hash == tip.hash()).then_some(())
    })
    .await;
    assert_eq!(status(&b).await["orphans"], 0);
    let asked: Vec<String> = other_requests
        .log()
        .into_iter()
        .filter(|r| r.contains("/chain"))
        .collect();
    assert!(asked.is_empty(), "the other peer was asked: {asked:?}");
}

/// A node that takes announcements is told of a block by one, never sent the body; a node that
/// does not (an older node answers 404) gets the body pushed to `POST /add_block`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_is_announced_and_pushed_whole_only_to_a_node_that_takes_no_announcements() {
    let node = TestNode::start(params()).await;
    // Both answer the handshake like nodes on our chain, so they stay usable whenever the
    // node's first discovery round meets them.
    let us = status(&node).await.to_string();
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let heard = bodies.clone();
    let ours = us.clone();
    let (current, told) = scripted_peer(move |_, path, body| {
        if let Some(answer) = as_a_node_would(&ours, path) {
            return answer;
        }
        heard
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(body).into_owned());
        (202, "{}".to_owned())
    })
    .await;
    let (older, pushed) = scripted_peer(move |_, path, _| {
        as_a_node_would(&us, path).unwrap_or_else(|| match path {
            "/blocks/announce" => (404, "{}".to_owned()),
            _ => (201, "{}".to_owned()),
        })
    })
    .await;
    node.node.peers().set(vec![current, older]);
    let mined = node.node.mining().mine(vec![note("x")]).await.unwrap();
    let hash = mined.block.hash().to_string();
    wait_for("the older node to get the block whole", || {
        let found = pushed.log().into_iter().find(|r| r.contains("/add_block"));
        async move { found }
    })
    .await;
    let announced = told.log();
    assert!(
        announced.iter().any(|r| r.contains("/blocks/announce")),
        "{announced:?}"
    );
    assert!(
        !announced.iter().any(|r| r.contains("/add_block")),
        "{announced:?}"
    );
    let bodies = bodies.lock().unwrap().clone();
    assert!(bodies.iter().any(|b| b.contains(&hash)), "{bodies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayed_blocks_and_transfers_name_the_node_that_relays_them() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keystore::new(dir.path().join("wallets"));
    let alice = keys.create("alice").unwrap();
    let node =
        TestNode::start_with(tempfile::tempdir().unwrap(), params(), Some(alice.address)).await;
    let us = status(&node).await.to_string();
    let (peer, requests) = scripted_peer(move |_, path, _| {
        as_a_node_would(&us, path).unwrap_or((200, "{}".to_owned()))
    })
    .await;
    node.node.peers().set(vec![peer]);

    node.node
        .mining()
        .mine(vec![note("relayed")])
        .await
        .unwrap();
    let transfer = alice.sign_transfer(
        test_miner(),
        Amount::from_coins(1),
        Amount::from_units(1),
        0,
        &params().genesis_hash(),
    );
    node.node.submit_transfer(transfer).await.unwrap();
    let me = Some(node.peer_url().to_string());
    for path in ["POST /blocks/announce", "POST /transactions"] {
        let relayed = wait_for("the relay to reach the peer", || {
            let found = requests.senders().into_iter().find(|(r, _)| r == path);
            async move { found }
        })
        .await;
        assert_eq!(relayed.1, me, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_header_that_is_not_a_peer_url_is_a_400() {
    let node = TestNode::start(params()).await;
    let genesis = params().genesis().into_block();
    let block = mine_on(&genesis, vec![note("x")]);
    for bad in ["not a url", "http://127.0.0.1", "ftp://127.0.0.1:1"] {
        let (code, v) = post_block(&node, &block, Some(bad)).await;
        assert_eq!(
            (code, v["error"].as_str()),
            (400, Some("bad_peer_header")),
            "{bad}"
        );
    }
    assert_eq!(node.node.tip().height.get(), 0);
    let url = PeerUrl::parse("http://127.0.0.1:1").unwrap();
    assert!(node.node.peers().views().iter().all(|p| p.url != url));
}

async fn announce(node: &TestNode, block: &Block, sender: Option<&PeerUrl>) -> (u16, Value) {
    let body = serde_json::json!({ "hash": block.hash(), "index": block.height() });
    let mut request = http().post(node.url("/blocks/announce")).json(&body);
    if let Some(sender) = sender {
        request = request.header(PEER_HEADER, sender.to_string());
    }
    let resp = request.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_block_is_fetched_once_from_its_announcer() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    let mined = a.node.mining().mine(vec![note("announced")]).await.unwrap();
    let block = mined.block;

    let (code, v) = announce(&b, &block, None).await;
    assert_eq!((code, v["error"].as_str()), (400, Some("no_sender")), "{v}");
    let elsewhere = PeerUrl::parse("http://10.1.2.3:5000").unwrap();
    let (code, v) = announce(&b, &block, Some(&elsewhere)).await;
    assert_eq!(
        (code, v["error"].as_str()),
        (403, Some("not_from_sender")),
        "{v}"
    );
    assert_eq!(
        b.node.tip().height.get(),
        0,
        "refused announcements fetch nothing"
    );

    let (code, v) = announce(&b, &block, Some(&a.peer_url())).await;
    assert_eq!((code, v["status"].as_str()), (202, Some("fetching")), "{v}");
    wait_for("B to fetch the block from A", || async {
        (b.node.tip().hash == block.hash()).then_some(())
    })
    .await;
    let (code, v) = announce(&b, &block, Some(&a.peer_url())).await;
    assert_eq!((code, v["status"].as_str()), (200, Some("known")), "{v}");
    let traffic = &status(&b).await["relay"];
    // Counted from the first that named its sender.
    assert_eq!(traffic["announcements"], 3, "{traffic}");
    assert_eq!(traffic["blocks"], 1, "{traffic}");
    assert_eq!(traffic["duplicate_blocks"], 0, "{traffic}");
    let served = serde_json::to_vec(&block).unwrap().len();
    assert_eq!(traffic["block_bytes"], served, "{traffic}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announcer_serving_another_block_is_banned_one_without_it_is_not_backed_off() {
    let b = TestNode::start(params()).await;
    let genesis = params().genesis().into_block();
    let announced = mine_on(&genesis, vec![note("announced")]);
    let other = mine_on(&genesis, vec![note("something else")]);
    let other_json = serde_json::to_string(&other).unwrap();
    let (liar, _) = scripted_peer(move |_, _, _| (200, other_json.clone())).await;
    // A peer on our chain that lacks the block: it answers everything else as a node would.
    let us = status(&b).await.to_string();
    let (empty, asked) = scripted_peer(move |_, path, _| {
        as_a_node_would(&us, path).unwrap_or_else(|| match path {
            p if p.starts_with("/blocks/") && p != "/blocks/announce" => (
                404,
                r#"{"error": "not_found", "message": "no block"}"#.to_owned(),
            ),
            _ => (200, "{}".to_owned()),
        })
    })
    .await;
    b.node.peers().add(vec![empty.clone()]);
    let (code, _) = announce(&b, &announced, Some(&empty)).await;
    assert_eq!(code, 202);
    wait_for("B to ask the announcer for the block", || {
        let asked = asked.log().into_iter().find(|r| r.contains("/blocks/"));
        async move { asked }
    })
    .await;
    let (code, _) = announce(&b, &announced, Some(&liar)).await;
    assert_eq!(code, 202);
    wait_for(
        "B to ban the announcer that served another block",
        || async {
            let views = b.node.peers().views();
            let banned = views.iter().find(|v| v.url == liar)?;
            (banned.state == ferrochain::network::PeerState::Banned).then_some(())
        },
    )
    .await;
    assert_eq!(b.node.tip().height.get(), 0);
    let views = b.node.peers().views();
    let kept = views.iter().find(|v| v.url == empty).unwrap();
    assert_eq!(
        (kept.state, kept.failures),
        (ferrochain::network::PeerState::Ok, 0),
        "{kept:?}"
    );
}
