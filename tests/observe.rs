//! Watching a node: `GET /events` as server-sent events (and their resumption after a
//! reorganisation), `GET /chain/reorgs`, `GET /metrics` read by a Prometheus text-format parser
//! (and by `promtool` where it is installed), the health checks, and `ferrochain watch`.

mod common;

use common::*;
use ferrochain::chain::{Amount, Block, Transfer};
use ferrochain::node::NodeConfig;
use ferrochain::wallet::{Keystore, Wallet};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// One server-sent event: its id, its name and its JSON.
#[derive(Debug)]
struct Sse {
    id: Option<String>,
    name: String,
    data: Value,
}

/// A subscription to a node's `GET /events`, read with a framing of its own (blank lines end
/// events, `field: value` lines, `:` comments).
struct Subscription {
    response: reqwest::Response,
    buffer: String,
}

impl Subscription {
    async fn open(node: &TestNode, last: Option<&str>) -> Subscription {
        let mut request = http().get(node.url("/events"));
        if let Some(id) = last {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Subscription {
            response,
            buffer: String::new(),
        }
    }

    /// The next event, within the deadline the tests give a node to act.
    async fn next(&mut self) -> Sse {
        tokio::time::timeout(Duration::from_secs(20), self.read())
            .await
            .expect("an event within 20 s")
    }

    async fn read(&mut self) -> Sse {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut name, mut data) = (None, String::new(), None);
                for line in frame.lines() {
                    match line.split_once(':') {
                        Some(("id", v)) => id = Some(v.trim_start().to_owned()),
                        Some(("event", v)) => name = v.trim_start().to_owned(),
                        Some(("data", v)) => {
                            data = Some(serde_json::from_str(v.trim_start()).unwrap())
                        }
                        _ => {}
                    }
                }
                // A search's periodic reports may fall anywhere between the events these
                // tests follow; the mining view's own test reads them.
                if let Some(data) = data.filter(|_| name != "mining") {
                    return Sse { id, name, data };
                }
            }
            let chunk = self
                .response
                .chunk()
                .await
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Events until `done` holds for one, returned with all those before it.
    async fn until(&mut self, mut done: impl FnMut(&Sse) -> bool) -> Vec<Sse> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let last = done(&event);
            seen.push(event);
            if last {
                return seen;
            }
        }
    }
}

fn id_of(block: &Block) -> String {
    format!("{}:{}", block.height(), block.hash())
}

fn chain_id() -> ferrochain::chain::BlockHash {
    params().genesis_hash()
}

fn pay(from: &Wallet, to: &Wallet) -> Transfer {
    from.sign_transfer(
        to.address,
        Amount::from_coins(1),
        Amount::from_units(1_000),
        0,
        &chain_id(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_tell_of_blocks_transfers_and_reorganisations_and_a_client_resumes_after_one() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keystore::new(dir.path().join("wallets"));
    let (alice, bob) = (keys.create("alice").unwrap(), keys.create("bob").unwrap());
    let node = TestNode::start(params()).await;
    let mut events = Subscription::open(&node, None).await;

    // A block paying alice joins the chain.
    let genesis = node.tip_block().await;
    let funded = mine_on_to(&params(), &genesis, alice.address, vec![]);
    give(&node, std::slice::from_ref(&funded)).await;
    let joined = events.next().await;
    assert_eq!(joined.name, "block");
    assert_eq!(joined.id.as_deref(), Some(id_of(&funded).as_str()));
    assert_eq!(joined.data["height"], 1);
    assert_eq!(joined.data["hash"], funded.hash().to_string());

    // Her transfer enters the mempool, and leaves it when mined into block 2.
    let transfer = pay(&alice, &bob);
    let txid = transfer.txid().to_string();
    let resp = http()
        .post(node.url("/transactions"))
        .json(&transfer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let entered = events.next().await;
    assert_eq!(entered.name, "mempool", "{entered:?}");
    assert_eq!(entered.data["entered"][0], txid);
    assert_eq!(entered.data["size"], 1);
    assert!(entered.id.is_none(), "only chain events carry an id");
    let mined = node.node.mining().mine(vec![]).await.unwrap().block;
    let seen = events
        .until(|e| e.name == "mempool" && e.data["left"][0] == txid.as_str())
        .await;
    assert!(
        seen.iter()
            .any(|e| e.id.as_deref() == Some(id_of(&mined).as_str())),
        "{seen:?}"
    );

    // A heavier branch from block 1 replaces block 2: one reorg event, then its blocks in
    // order, and the transfer is pending again.
    let branch = build_chain(&funded, 3, "branch");
    give(&node, &branch).await;
    // Chain events keep their order; mempool events may come between them.
    let before = events.until(|e| e.name != "mempool").await;
    let reorg = before.last().unwrap();
    assert_eq!(reorg.name, "reorg", "{reorg:?}");
    assert_eq!(reorg.data["depth"], 1);
    assert_eq!(reorg.data["fork_height"], 1);
    assert_eq!(reorg.data["replaced"][0], mined.hash().to_string());
    assert_eq!(reorg.id.as_deref(), Some(id_of(&funded).as_str()));
    for block in &branch {
        let joined = events.until(|e| e.name != "mempool").await.pop().unwrap();
        assert_eq!(joined.id.as_deref(), Some(id_of(block).as_str()));
    }
    events
        .until(|e| e.name == "mempool" && e.data["entered"][0] == txid.as_str())
        .await;
    let reorgs = get_json(&node.url("/chain/reorgs")).await;
    assert_eq!(reorgs["reorgs"][0]["depth"], 1, "{reorgs}");
    assert_eq!(reorgs["reorgs"][0]["tip"], branch[2].hash().to_string());

    // A client that last saw block 2 is told to start again; one that last saw block 1 gets
    // the branch's blocks it missed, in order.
    let mut resumed = Subscription::open(&node, Some(&id_of(&mined))).await;
    let reset = resumed.next().await;
    assert_eq!(reset.name, "reset", "{reset:?}");
    assert_eq!(reset.data["tip"], branch[2].hash().to_string());
    let mut resumed = Subscription::open(&node, Some(&id_of(&funded))).await;
    for block in &branch {
        let missed = resumed.next().await;
        assert_eq!(missed.name, "block");
        assert_eq!(missed.id.as_deref(), Some(id_of(block).as_str()));
    }

    let resp = http()
        .get(node.url("/events"))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "bad_event_id", "{body}");
}

/// A client far behind gets every block it missed, in order, however many pages of the store
/// that takes, and then the live ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_far_behind_gets_every_missed_block_in_order() {
    let node = TestNode::start(params()).await;
    let genesis = node.tip_block().await;
    let blocks = build_chain(&genesis, 40, "missed");
    give(&node, &blocks).await;
    let mut resumed = Subscription::open(&node, Some(&id_of(&genesis))).await;
    for block in &blocks {
        let missed = resumed.next().await;
        assert_eq!(missed.id.as_deref(), Some(id_of(block).as_str()));
    }
    let mined = node.node.mining().mine(vec![]).await.unwrap().block;
    let live = resumed.until(|e| e.name == "block").await.pop().unwrap();
    assert_eq!(live.id.as_deref(), Some(id_of(&mined).as_str()));
}

/// The samples of a scrape, by name and labels (`name{a="1",b="2"}` with labels sorted).
async fn scrape(node: &TestNode) -> HashMap<String, f64> {
    let resp = http().get(node.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    check_with_promtool(&text);
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("the Prometheus text format");
    let mut samples = HashMap::new();
    for sample in parsed.samples {
        let value = match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => continue,
        };
        let mut labels: Vec<String> = sample
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        labels.sort();
        let key = match labels.is_empty() {
            true => sample.metric.clone(),
            false => format!("{}{{{}}}", sample.metric, labels.join(",")),
        };
        samples.insert(key, value);
    }
    samples
}

/// `promtool check metrics`, where Prometheus's own tool is installed.
fn check_with_promtool(text: &str) {
    use std::io::Write;
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("skipped promtool: not installed");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_as_blocks_are_mined_refused_and_requests_answered() {
    let node = TestNode::start(params()).await;
    let before = scrape(&node).await;
    assert_eq!(before["ferrochain_chain_height"], 0.0);
    assert_eq!(before["ferrochain_build_info{version=\"0.4.0\"}"], 1.0);
    assert_eq!(before["ferrochain_peers{state=\"ok\"}"], 0.0);

    for _ in 0..2 {
        let resp = http().post(node.url("/mine")).send().await.unwrap();
        assert_eq!(resp.status(), 201);
    }
    // A block with a forged hash is refused by its proof of work.
    let mut forged = mine_on(&node.tip_block().await, vec![note("forged")]);
    forged.header.nonce = forged.header.nonce.wrapping_add(1);
    let resp = http()
        .post(node.url("/add_block"))
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error());

    let after = scrape(&node).await;
    assert_eq!(after["ferrochain_chain_height"], 2.0);
    assert_eq!(after["ferrochain_blocks_accepted_total"], 2.0);
    assert!(after["ferrochain_chain_work"] > before["ferrochain_chain_work"]);
    let refused: f64 = after
        .iter()
        .filter(|(k, _)| k.starts_with("ferrochain_blocks_rejected_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(refused, 1.0, "{after:?}");
    assert_eq!(
        after["ferrochain_http_requests_total{method=\"POST\",route=\"/mine\",status=\"201\"}"],
        2.0
    );
    assert!(after
        .keys()
        .any(|k| k.starts_with("ferrochain_mining_kernel_info{kernel=")));
    assert!(after["ferrochain_process_resident_memory_bytes"] > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_waits_for_the_peers_it_is_told_to_need() {
    let lonely = |min_peers| {
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig {
            min_peers,
            ..test_config(dir.path(), params())
        };
        TestNode::start_config(dir, config)
    };
    let node = lonely(1).await;
    let live = http().get(node.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let ready = http().get(node.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let why: Value = ready.json().await.unwrap();
    assert_eq!(why["error"], "not_ready", "{why}");
    assert!(
        why["message"].as_str().unwrap().contains("--min-peers"),
        "{why}"
    );

    let peer = lonely(0).await;
    let ok = http().get(peer.url("/health/ready")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    connect_all(&[&node, &peer]);
    wait_for("the node to be ready with its peer", || async {
        let resp = http().get(node.url("/health/ready")).send().await.ok()?;
        (resp.status() == 200).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_each_event_as_it_comes() {
    let node = TestNode::start(params()).await;
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ferrochain"))
        .args(["watch", "--json", "--count", "2", "--node"])
        .arg(node.url(""))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the watcher to subscribe", || async {
        let metrics = scrape(&node).await;
        (metrics["ferrochain_event_subscribers"] == 1.0).then_some(())
    })
    .await;
    // Blocks from elsewhere, not the node's miner: a search would add its `mining` reports.
    let first = mine_on(&node.tip_block().await, vec![]);
    let mined = vec![first.clone(), mine_on(&first, vec![])];
    give(&node, &mined).await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (line, block) in lines.iter().zip(&mined) {
        assert_eq!(line["event"], "block");
        assert_eq!(line["hash"], block.hash().to_string());
    }
}
