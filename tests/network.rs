//! Real-socket tests: nodes on loopback ports share blocks, converge on the heaviest valid chain,
//! and shrug off peers that lie, stall or flood.

mod common;

use common::*;
use ferrochain::chain::{Block, ChainParams, Difficulty, Height, Work};
use ferrochain::network::PeerUrl;
use ferrochain::node::{MAX_RELOCATES, SYNC_PAGE};
use ferrochain::storage::locator_heights;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn tip_of(node: &TestNode) -> String {
    let v = get_json(&node.url("/status")).await;
    v["tip"].as_str().unwrap().to_owned()
}

async fn mine_http(node: &TestNode, txs: &[&str]) -> Value {
    let resp = http()
        .post(node.url("/mine"))
        .json(&json!({ "transactions": txs }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn resolve(node: &TestNode) -> Value {
    let resp = http().get(node.url("/nodes/resolve")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn chain_of(node: &TestNode) -> Vec<Block> {
    fetch_chain(&node.url("")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_mined_on_one_node_reaches_the_others() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    let c = TestNode::start(params()).await;
    connect_all(&[&a, &b, &c]);
    // Each node's list holds all three URLs; a node never counts itself.
    assert_eq!(a.node.peers().list(), vec![b.peer_url(), c.peer_url()]);

    for round in 0..3 {
        let mined = mine_http(&a, &[&format!("round {round}")]).await;
        let hash = mined["block"]["hash"].as_str().unwrap().to_owned();
        for n in [&b, &c] {
            wait_for("the block to reach every peer", || async {
                (tip_of(n).await == hash).then_some(())
            })
            .await;
        }
    }
    // A relayed block is relayed once by each node that found it new: no storms, no gaps.
    assert_eq!(chain_of(&b).await, chain_of(&a).await);
    assert_eq!(chain_of(&c).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_that_mined_apart_converge_on_the_heavier_chain_after_resolve() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    let c = TestNode::start(params()).await;
    for i in 0..3 {
        mine_http(&a, &[&format!("a{i}")]).await;
    }
    for i in 0..5 {
        mine_http(&b, &[&format!("b{i}")]).await;
    }
    connect_all(&[&a, &b, &c]);

    let v = resolve(&a).await;
    assert_eq!(v["replaced"], true);
    assert_eq!(v["message"], "Our chain was replaced");
    assert_eq!(v["length"], 6);
    assert_eq!(v["chain"].as_array().unwrap().len(), 6);
    assert_eq!(chain_of(&a).await, chain_of(&b).await);

    // The heavier node keeps its chain; a fresh node adopts it.
    let v = resolve(&b).await;
    assert_eq!(v["replaced"], false);
    assert_eq!(v["message"], "Our chain is authoritative");
    resolve(&c).await;
    assert_eq!(tip_of(&c).await, tip_of(&b).await);

    // A's abandoned blocks are still stored by hash, on a side branch.
    let a_blocks = a
        .node
        .chain()
        .block_at(Height::new(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a_blocks.transactions[1..], [note("b0")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_work_keeps_the_chain_a_node_has() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    mine_http(&a, &["a"]).await;
    mine_http(&b, &["b"]).await;
    connect_all(&[&a, &b]);
    let before = tip_of(&a).await;
    assert_eq!(resolve(&a).await["replaced"], false);
    assert_eq!(tip_of(&a).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_blocks_are_refused_and_not_relayed() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    connect_all(&[&a, &b]);
    let genesis = params().genesis().into_block();
    let good = mine_on(&genesis, vec![note("Alice pays Bob 10 BTC")]);

    let mut edited = serde_json::to_value(&good).unwrap();
    edited["transactions"][1] = json!("Alice pays Bob 99 BTC");
    let mut easy = good.clone();
    easy.header.target = Difficulty::new(2).unwrap().target();
    while !easy.header.target.check_hash(&easy.hash()) {
        easy.header.nonce += 1;
    }
    for (bad, rule) in [
        (edited, "bad_merkle_root"),
        (serde_json::to_value(&easy).unwrap(), "bad_target"),
    ] {
        let resp = http()
            .post(a.url("/add_block"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], rule);
    }
    assert_eq!(chain_of(&a).await.len(), 1);

    // The untouched block goes through and is relayed, proving the relay path was open.
    let resp = http()
        .post(a.url("/add_block"))
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let hash = good.hash().to_string();
    wait_for("the good block to be relayed", || async {
        (tip_of(&b).await == hash).then_some(())
    })
    .await;
    assert_eq!(chain_of(&b).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_claiming_a_long_invalid_chain_is_ignored() {
    let honest = TestNode::start(params()).await;
    mine_http(&honest, &["real"]).await;
    let before = chain_of(&honest).await;
    let genesis = params().genesis().into_block();

    // A long chain whose blocks carry no proof of work.
    let mut forged = vec![genesis.clone()];
    for i in 0..50 {
        let mut b = mine_on(forged.last().unwrap(), vec![note(&format!("forged {i}"))]);
        while params().initial_target().check_hash(&b.hash()) {
            b.header.nonce += 1;
        }
        forged.push(b);
    }
    let (no_work, _) = chain_peer(forged, Claim::default()).await;

    // A chain mined properly, then edited.
    let mut edited = vec![genesis.clone()];
    for i in 0..5 {
        let b = mine_on(edited.last().unwrap(), vec![note(&format!("honest {i}"))]);
        edited.push(b);
    }
    edited[1].transactions[1] = note("edited after mining");
    let (tampered, _) = chain_peer(edited, Claim::default()).await;

    // A claimed height and work with nothing behind them.
    let claim = Claim {
        height: Some(5000),
        work: Some(Work::from_u128(block_work().to_u128() * 5001)),
    };
    let (empty_claim, asked) = chain_peer(vec![genesis], claim).await;

    honest
        .node
        .peers()
        .set(vec![no_work, tampered, empty_claim.clone()]);
    let v = resolve(&honest).await;
    assert_eq!(v["replaced"], false);
    let errors: Vec<&str> = v["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["error"].as_str().unwrap_or(""))
        .collect();
    assert!(errors[0].contains("does not meet"), "{errors:?}");
    assert!(errors[1].contains("Merkle root"), "{errors:?}");
    assert!(
        errors[2].contains("a tip at 5000 but serves blocks only up to 0"),
        "{errors:?}"
    );
    // It was asked again a bounded number of times (a locate and a page per try), then banned.
    assert_eq!(asked.count(), 2 * (MAX_RELOCATES + 1), "{:?}", asked.log());
    let views = honest.node.peers().views();
    assert!(views.iter().all(|p| p.ban_reason.is_some()), "{views:?}");
    assert_eq!(chain_of(&honest).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_finishes_with_the_good_peers_despite_broken_ones() {
    let good = TestNode::start(params()).await;
    for i in 0..3 {
        mine_http(&good, &[&format!("good {i}")]).await;
    }
    let node = TestNode::start(params()).await;

    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        PeerUrl::for_socket(l.local_addr().unwrap())
    };
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nlocation: {}\r\ncontent-length: 0\r\n\r\n",
        good.url("/chain")
    );
    let peers = vec![
        down,
        hostile_peer(Hostile::Silent).await,
        hostile_peer(Hostile::Endless).await,
        hostile_peer(Hostile::Respond(b"garbage, not HTTP".to_vec())).await,
        hostile_peer(Hostile::Respond(json_response(
            "200 OK",
            "{\"length\": \"x\"}",
        )))
        .await,
        hostile_peer(Hostile::Respond(json_response(
            "500 Internal Server Error",
            "{}",
        )))
        .await,
        hostile_peer(Hostile::Respond(
            b"HTTP/1.1 200 OK\r\ncontent-length: 999999999999\r\n\r\n".to_vec(),
        ))
        .await,
        hostile_peer(Hostile::Respond(redirect.into_bytes())).await,
        good.peer_url(),
    ];
    let bad_count = peers.len() - 1;
    node.node.peers().set(peers);

    let started = Instant::now();
    let v = resolve(&node).await;
    // Bounded by the 2-second request deadline, not by the silent or endless peers.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(v["replaced"], true);
    assert_eq!(v["length"], 4);
    assert_eq!(tip_of(&node).await, tip_of(&good).await);
    let reports = v["peers"].as_array().unwrap();
    let failed = reports.iter().filter(|p| !p["error"].is_null()).count();
    assert_eq!(failed, bad_count, "{reports:#?}");
    assert!(reports[bad_count]["error"].is_null());
    assert_eq!(reports[bad_count]["added"], 3);

    // The node still answers normally afterwards.
    mine_http(&node, &["still alive"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_with_an_unknown_parent_makes_the_node_catch_up() {
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    for i in 0..4 {
        mine_http(&a, &[&format!("a{i}")]).await;
    }
    b.node.peers().set(vec![a.peer_url()]);
    // Offer B only A's tip: its parent is unknown to B.
    let tip = a
        .node
        .chain()
        .block_at(Height::new(4))
        .await
        .unwrap()
        .unwrap();
    let resp = http()
        .post(b.url("/add_block"))
        .json(&tip)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let want = tip.hash().to_string();
    wait_for("B to catch up from A", || async {
        (tip_of(&b).await == want).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_block_stops_a_stale_search_and_mining_resumes_on_the_new_tip() {
    // Hard enough that a search lasts long enough (about a million hashes) to be interrupted.
    let params = ChainParams::new(Difficulty::new(20).unwrap());
    let a = TestNode::start(params).await;
    for round in 0..6 {
        let tip = a.tip_block().await;
        let rival = mine_on_with(&params, &tip, vec![note(&format!("rival {round}"))]);
        let miner = a.node.clone();
        let mining = tokio::spawn(async move { miner.mining().mine(vec![note("ours")]).await });
        let deadline = Instant::now() + Duration::from_secs(20);
        while !a.node.status().mining.active && !mining.is_finished() {
            assert!(Instant::now() < deadline, "the search never started");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        a.node.submit(rival.clone()).await.unwrap();
        let mined = mining.await.unwrap().unwrap();
        if mined.block.header.prev_hash == rival.hash() {
            // The search on the old tip was abandoned and the entries mined on the rival.
            assert_eq!(mined.block.height(), rival.height().next());
            assert_eq!(a.node.tip().hash, mined.block.hash());
            assert_eq!(mined.block.transactions[1..], [note("ours")]);
            return;
        }
        // Our search won the race before the rival arrived; try again.
        assert_eq!(a.node.tip().hash, mined.block.hash());
    }
    panic!("the rival block never arrived during a search in 6 rounds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_nearly_in_sync_fetches_only_the_blocks_it_lacks() {
    let genesis = params().genesis().into_block();
    let mut chain = vec![genesis.clone()];
    chain.extend(build_chain(&genesis, 9_950, "long"));
    let node = TestNode::start(params()).await;
    give(&node, &chain[1..9_941]).await;
    assert_eq!(node.node.tip().height.get(), 9_940);

    let (peer, requests) = chain_peer(chain.clone(), Claim::default()).await;
    node.node.peers().set(vec![peer]);
    let v = resolve(&node).await;
    assert_eq!(v["replaced"], true);
    assert_eq!(v["peers"][0]["added"], 10, "{}", v["peers"]);
    assert_eq!(node.node.tip().hash, chain[9_950].hash());
    // One locate, then one page from just above the fork point: nothing it already had. (The
    // node also relays its new tip to the peer, which is not part of the sync.)
    let sync_requests = || {
        let log = requests.log().into_iter();
        log.filter(|r| r != "POST /add_block").collect::<Vec<_>>()
    };
    assert_eq!(
        sync_requests(),
        [
            "POST /chain/locate".to_owned(),
            format!(
                "GET /chain?from=9941&limit={SYNC_PAGE}&tip={}",
                chain[9_950].hash()
            )
        ]
    );

    // In sync now: the locate answer shows no more work, so no page is asked for.
    resolve(&node).await;
    assert_eq!(sync_requests().len(), 3);
    assert_eq!(sync_requests()[2], "POST /chain/locate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_reorganises_mid_sync_is_located_again_not_read_from_genesis() {
    let genesis = params().genesis().into_block();
    let mut before = vec![genesis.clone()];
    before.extend(build_chain(&genesis, SYNC_PAGE + 100, "before"));
    // After its first page is served, the peer switches to a heavier chain that parted from
    // the first one 100 blocks below the end of that page.
    let part = SYNC_PAGE - 100;
    let mut after = before[..=part].to_vec();
    after.extend(build_chain(&before[part], 300, "after"));
    let old_tip = before.last().unwrap().hash();
    let new_tip = after.last().unwrap().hash();
    let served = Arc::new(AtomicUsize::new(0));
    let (peer, requests) = scripted_peer(move |method, path, body| {
        let page = path.starts_with("/chain?");
        let chain = match served.load(Ordering::SeqCst) {
            0 => &before,
            _ => &after,
        };
        let answer = chain_answer(chain, Claim::default(), method, path, body);
        if page {
            served.fetch_add(1, Ordering::SeqCst);
        }
        answer
    })
    .await;

    let node = TestNode::start(params()).await;
    node.node.peers().set(vec![peer]);
    let v = resolve(&node).await;
    assert_eq!(v["peers"][0]["error"], Value::Null, "{v}");
    assert_eq!(node.node.tip().hash, new_tip);
    // The first page, then one that no longer follows it; then a new locate meets the node at
    // the highest entry of its locator below the parting point, and the rest comes from there:
    // nothing is read from genesis again.
    let fork = locator_heights(Height::new(SYNC_PAGE as u64))
        .into_iter()
        .find(|h| h.get() <= part as u64)
        .unwrap();
    assert!(fork.get() > 0);
    let log: Vec<String> = requests
        .log()
        .into_iter()
        .filter(|r| r != "POST /add_block")
        .collect();
    assert_eq!(
        log,
        [
            "POST /chain/locate".to_owned(),
            format!("GET /chain?from=1&limit={SYNC_PAGE}&tip={old_tip}"),
            format!(
                "GET /chain?from={}&limit={SYNC_PAGE}&tip={old_tip}",
                SYNC_PAGE + 1
            ),
            "POST /chain/locate".to_owned(),
            format!(
                "GET /chain?from={}&limit={SYNC_PAGE}&tip={new_tip}",
                fork.get() + 1
            ),
        ]
    );
    assert_eq!(v["peers"][0]["added"], SYNC_PAGE + 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_with_one_peer_at_once_download_its_blocks_once() {
    let genesis = params().genesis().into_block();
    let mut chain = vec![genesis.clone()];
    chain.extend(build_chain(&genesis, 2 * SYNC_PAGE + 200, "twice"));
    let (peer, requests) = chain_peer(chain.clone(), Claim::default()).await;
    let node = TestNode::start(params()).await;
    node.node.peers().set(vec![peer.clone()]);

    let (first, second) = tokio::join!(
        node.node.sync().sync_with(&peer),
        node.node.sync().sync_with(&peer)
    );
    let added = first.unwrap().added + second.unwrap().added;
    assert_eq!(added, chain.len() - 1);
    assert_eq!(node.node.tip().hash, chain.last().unwrap().hash());
    // The second waited for the first, then found nothing more to fetch.
    let log: Vec<String> = requests
        .log()
        .into_iter()
        .filter(|r| r != "POST /add_block")
        .collect();
    let pages: Vec<String> = (0..3)
        .map(|i| {
            let (from, tip) = (1 + i * SYNC_PAGE, chain.last().unwrap().hash());
            format!("GET /chain?from={from}&limit={SYNC_PAGE}&tip={tip}")
        })
        .collect();
    let mut expected = vec!["POST /chain/locate".to_owned()];
    expected.extend(pages);
    expected.push("POST /chain/locate".to_owned());
    assert_eq!(log, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_fork_with_more_work_on_the_peer_side_is_resolved() {
    let genesis = params().genesis().into_block();
    let shared = build_chain(&genesis, 50, "shared");
    let ours = build_chain(shared.last().unwrap(), 120, "ours");
    let theirs = build_chain(shared.last().unwrap(), 130, "theirs");
    let a = TestNode::start(params()).await;
    let c = TestNode::start(params()).await;
    give(&a, &shared).await;
    give(&a, &ours).await;
    give(&c, &shared).await;
    give(&c, &theirs).await;

    a.node.peers().set(vec![c.peer_url()]);
    let v = resolve(&a).await;
    assert_eq!(v["replaced"], true);
    assert_eq!(v["length"], 181);
    // Only C's blocks above the fork point at 50 were fetched and stored.
    assert_eq!(v["peers"][0]["added"], 130, "{}", v["peers"]);
    assert_eq!(tip_of(&a).await, tip_of(&c).await);
    assert_eq!(
        a.node
            .chain()
            .block_at(Height::new(50))
            .await
            .unwrap()
            .unwrap(),
        shared[49]
    );
    // A's own branch is kept on the side, by hash.
    assert!(a
        .node
        .chain()
        .block(ours[119].hash())
        .await
        .unwrap()
        .is_some());

    // C, heavier, finds nothing to take from A.
    c.node.peers().set(vec![a.peer_url()]);
    let v = resolve(&c).await;
    assert_eq!(v["replaced"], false);
    assert_eq!(v["peers"][0]["added"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_reorganises_while_it_serves_a_sync_is_followed_not_banned() {
    // A serves one branch; while B syncs it page by page, a heavier branch forking low takes
    // over on A. B's pages are anchored to the tip A told it of, so B never sees a page mixing
    // the two: it locates again and follows A to the new branch.
    let a = TestNode::start(params()).await;
    let b = TestNode::start(params()).await;
    let genesis = params().genesis().into_block();
    let first = build_chain(&genesis, 4 * SYNC_PAGE, "first");
    let second = build_chain(&first[9], 4 * SYNC_PAGE, "second");
    give(&a, &first).await;
    // All but the blocks that make the second branch heavier: stored on A as a side branch.
    let (early, late) = second.split_at(4 * SYNC_PAGE - 20);
    give(&a, early).await;
    assert_eq!(a.node.tip().hash, first.last().unwrap().hash());
    b.node.peers().set(vec![a.peer_url()]);

    let syncing = {
        let (node, peer) = (b.node.clone(), a.peer_url());
        tokio::spawn(async move { node.sync().sync_with(&peer).await })
    };
    wait_for("B to take A's first page", || {
        let height = b.node.tip().height;
        async move { (height > Height::GENESIS).then_some(()) }
    })
    .await;
    give(&a, late).await;
    assert_eq!(a.node.tip().hash, second.last().unwrap().hash());

    let sync = syncing.await.unwrap().unwrap();
    assert_eq!(sync.error, None, "{sync:?}");
    // Whichever way the race went, B follows A to the heavier branch, and A keeps its good name.
    let target = second.last().unwrap().hash();
    wait_for("B to hold A's new branch", || {
        let (node, peer) = (b.node.clone(), a.peer_url());
        async move {
            node.sync().sync_with(&peer).await.unwrap();
            (node.tip().hash == target).then_some(())
        }
    })
    .await;
    let view = b.node.peers().views().into_iter().next().unwrap();
    assert_eq!(view.ban_reason, None, "{view:?}");
    assert!(b.node.verify().await.unwrap().error.is_none());
}
