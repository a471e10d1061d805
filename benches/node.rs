//! `cargo bench`: the figures the issues ask for.
//!
//! - Mining hash rate on one thread and on every core with the default kernel (what
//!   `ferrochain bench` prints), then with each other kernel the CPU offers.
//! - Signed transfers validated per second inside a 10,000-transfer block, on one thread and
//!   on every core, and through the store (validation, balances, write and flush).
//! - Signed transfers accepted per second by `POST /transactions` from a concurrent client.
//! - A fresh node resolving to a peer's 10,000-block chain: wall time of `GET /nodes/resolve`;
//!   and a fresh node started with the peer in its peers file, from launch to holding the chain;
//!   the resident memory of the node processes afterwards.
//!
//! - Fifty nodes on loopback, each started with one earlier node as its only seed and at most
//!   8 peers of its own: how long until every node has its peers, then 100 blocks mined on
//!   random nodes: propagation to all fifty, bytes received per node per block against the
//!   block's size, and how often a node received a body it already had.
//!
//! - Polling: requests per second (wrk, 2 threads, 32 connections) of `GET /status`,
//!   `GET /health/live` and `GET /metrics` beside a bare Rocket JSON route in the same run, and
//!   the time `GET /metrics` takes with a full mempool.
//!
//! The sync figures run the real binary: node A serves a chain built beforehand at an easy
//! difficulty, nodes B and C start empty.

use ed25519_dalek::SigningKey;
use ferrochain::chain::{
    block_reward, validate_block, Address, Amount, Block, ChainParams, Difficulty, Note, Parent,
    SingleThread, Timestamp, Transaction, Transfer,
};
use ferrochain::mining::{mine_child_sequential, solve_sequential, template, Kernel, Miner};
use ferrochain::node::{Node, NodeConfig, ParallelSignatures};
use ferrochain::storage::Store;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHAIN_BLOCKS: u64 = 10_000;
const BITS: u64 = 8;

fn main() {
    // `cargo bench -- sync propagation` runs only the sections named; cargo's own flags (such as
    // `--bench`) are not names.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let sections: [(&str, fn()); 8] = [
        ("mining", mining),
        ("transfers", transfers_in_a_block),
        ("http", transfers_over_http),
        ("sync", sync),
        ("propagation", propagation),
        ("status", status_under_load),
        ("polling", polling),
        ("network", network),
    ];
    for (name, run) in sections {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            run();
        }
    }
}

/// Opens a node and serves its API on 127.0.0.1, port 0, on a runtime of its own thread;
/// returns the node and the address it listens on.
fn launch(config: NodeConfig) -> (Node, std::net::SocketAddr) {
    let node = Node::open(config).unwrap();
    let figment = ferrochain::api::figment()
        .merge(("port", 0))
        .merge(("log_level", "off"))
        .merge(("shutdown.ctrlc", false));
    let served = node.clone();
    std::thread::spawn(move || {
        if let Err(e) = rocket::execute(ferrochain::api::serve(served, figment)) {
            panic!("the bench node stopped: {e}");
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(addr) = node.peers().local_addr() {
            return (node, addr);
        }
        assert!(Instant::now() < deadline, "the node never listened");
        std::thread::sleep(Duration::from_millis(10));
    }
}

const NETWORK: usize = 5;
const ROUNDS: usize = 20;

/// Five nodes, each with the other four as peers: how long a block mined on one takes to be the
/// tip of all five, counted from the moment the miner's `mine` returns (the block is stored and
/// its relay has started).
fn propagation() {
    let params = ChainParams::new(Difficulty::new(BITS).unwrap());
    let dirs: Vec<_> = (0..NETWORK).map(|_| tempfile::tempdir().unwrap()).collect();
    let nodes: Vec<(Node, std::net::SocketAddr)> = dirs
        .iter()
        .map(|d| {
            launch(NodeConfig {
                params: Some(params),
                ..NodeConfig::new(d.path())
            })
        })
        .collect();
    let urls: Vec<_> = nodes
        .iter()
        .map(|(_, addr)| ferrochain::network::PeerUrl::for_socket(*addr))
        .collect();
    for (node, _) in &nodes {
        node.peers().set(urls.clone());
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut times: Vec<f64> = rt.block_on(async {
        let mut times = Vec::with_capacity(ROUNDS);
        for round in 0..ROUNDS {
            let (miner, _) = &nodes[round % NETWORK];
            let note = Transaction::Note(Note::new(format!("round {round}")).unwrap());
            let mined = miner.mining().mine(vec![note]).await.unwrap();
            let started = Instant::now();
            let hash = mined.block.hash();
            let deadline = started + Duration::from_secs(10);
            while nodes.iter().any(|(n, _)| n.tip().hash != hash) {
                assert!(
                    Instant::now() < deadline,
                    "round {round} never reached every node"
                );
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times
    });
    times.sort_by(f64::total_cmp);
    println!(
        "\npropagation: a block mined on one of {NETWORK} nodes (all connected) reaches all of them: \
         median {:.1} ms, slowest {:.1} ms over {ROUNDS} blocks",
        times[ROUNDS / 2],
        times[ROUNDS - 1]
    );
}

fn mining() {
    let all = rayon::current_num_threads();
    println!("mining hash rate (double SHA-256 of 96-byte headers, midstate reused):");
    // The default kernel first (the figure earlier versions printed), then every other kernel
    // this CPU offers on all threads.
    let best = Kernel::best();
    let runs = [(best, 1), (best, all)].into_iter().chain(
        Kernel::available()
            .into_iter()
            .filter(|k| *k != best)
            .map(|k| (k, all)),
    );
    for (kernel, threads) in runs {
        let stats = Miner::with_kernel(Some(threads), kernel)
            .unwrap()
            .benchmark(Duration::from_secs(3));
        println!(
            "  {kernel}, {threads} thread(s): {:.2} MH/s ({} hashes in {:.2} s)",
            stats.hash_rate / 1e6,
            stats.attempts,
            stats.elapsed_ms / 1000.0
        );
    }
}

/// Builds a chain of `CHAIN_BLOCKS` blocks after genesis directly in a store.
fn build_chain(dir: &Path) {
    let params = ChainParams::new(Difficulty::new(BITS).unwrap());
    let store = Store::open(dir, Some(params)).unwrap();
    let mut parent = params.genesis().into_block();
    let start = Timestamp::now().saturating_add_millis(0);
    let mut batch = Vec::new();
    for i in 0..CHAIN_BLOCKS {
        let txs = vec![
            block_reward(Address::from_bytes([1; 32]), parent.height().next(), &[]),
            Transaction::Note(Note::new(format!("Alice pays Bob {i} BTC")).unwrap()),
        ];
        let p = Parent {
            hash: parent.hash(),
            height: parent.height(),
            timestamp: parent.header.timestamp,
            median_time_past: parent.header.timestamp,
            next_target: params.initial_target(),
        };
        // One millisecond apart, ending before "now", so every timestamp rule holds.
        let ts = Timestamp::from_millis(start.as_millis() - CHAIN_BLOCKS + i);
        let block = Block {
            header: solve_sequential(template(&p, &params, &txs, ts)),
            transactions: txs,
        };
        parent = block.clone();
        batch.push(block);
        if batch.len() == 1000 {
            let report = store
                .accept(std::mem::take(&mut batch), Timestamp::now(), &SingleThread)
                .unwrap();
            assert!(report.rejected.is_none(), "{:?}", report.rejected);
        }
    }
    assert_eq!(store.tip().height.get(), CHAIN_BLOCKS);
}

fn spawn_node(data_dir: &Path, peers: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrochain"))
        .args(["node", "0", "--difficulty", &BITS.to_string()])
        .args(["--retarget-interval", "0"])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--peers")
        .arg(peers)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the node prints its address")
        .to_owned();
    (child, url)
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn sync() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    build_chain(&dir.path().join("a"));
    println!(
        "\nsync: built a {CHAIN_BLOCKS}-block chain at {BITS} bits in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let no_peers = dir.path().join("none.json");
    let (mut a, a_url) = spawn_node(&dir.path().join("a"), &no_peers);
    // B starts without peers and is then told of A: registration only handshakes, so nothing
    // is synced before the timed resolve (a node started with A in its peers file would begin
    // syncing in its first discovery round, ahead of the clock).
    let (mut b, b_url) = spawn_node(&dir.path().join("b"), &no_peers);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    rt.block_on(async {
        let started = Instant::now();
        let body = client
            .get(format!("{a_url}/chain"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        println!(
            "  GET /chain of {} blocks from node A: {:.3} s, {:.1} MiB",
            CHAIN_BLOCKS + 1,
            started.elapsed().as_secs_f64(),
            body.len() as f64 / (1024.0 * 1024.0)
        );

        let resp = client
            .post(format!("{b_url}/nodes/register"))
            .json(&serde_json::json!({ "nodes": [a_url] }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let started = Instant::now();
        let v: serde_json::Value = client
            .get(format!("{b_url}/nodes/resolve"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(v["replaced"], true);
        assert_eq!(v["length"], CHAIN_BLOCKS + 1);
        println!(
            "  fresh node B resolves to A's chain ({} blocks, the whole chain in the answer): \
             {:.3} s",
            v["length"],
            elapsed.as_secs_f64()
        );
    });
    // C starts with A in its peers file and syncs on its own, in its first discovery round:
    // timed from the launch of the process to the moment its status shows A's tip.
    let peers = dir.path().join("peers.json");
    std::fs::write(&peers, format!(r#"{{"nodes": ["{a_url}"]}}"#)).unwrap();
    let started = Instant::now();
    let (mut c, c_url) = spawn_node(&dir.path().join("c"), &peers);
    let elapsed = rt.block_on(async {
        let deadline = started + Duration::from_secs(60);
        loop {
            let v: serde_json::Value = client
                .get(format!("{c_url}/status"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if v["height"] == CHAIN_BLOCKS {
                return started.elapsed();
            }
            assert!(Instant::now() < deadline, "node C never synced");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    println!(
        "  fresh node C, started with A as its peer, holds A's chain {:.3} s after its launch",
        elapsed.as_secs_f64()
    );
    println!(
        "  resident memory after serving / syncing: node A {:.1} MiB, node B {:.1} MiB, \
         node C {:.1} MiB",
        rss_mib(a.id()),
        rss_mib(b.id()),
        rss_mib(c.id())
    );
    for child in [&mut a, &mut b, &mut c] {
        child.kill().ok();
        child.wait().ok();
    }
}

fn key(i: u32) -> SigningKey {
    let mut seed = [7u8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    SigningKey::from_bytes(&seed)
}

fn address(key: &SigningKey) -> Address {
    Address::from_public_key(&key.verifying_key())
}

/// A mined child of `parent` with its reward to `miner`, then `transfers`, a second later.
fn child(
    params: &ChainParams,
    parent: &Block,
    miner: Address,
    transfers: Vec<Transaction>,
) -> Block {
    let ts = parent.header.timestamp.saturating_add_millis(1000);
    mine_child_sequential(params, parent, miner, transfers, ts)
}

fn pay(
    from: &SigningKey,
    to: Address,
    units: u64,
    nonce: u64,
    chain: &ferrochain::chain::BlockHash,
) -> Transaction {
    Transaction::Transfer(Transfer::sign(
        from,
        to,
        Amount::from_units(units),
        Amount::from_units(1),
        nonce,
        chain,
    ))
}

const SENDERS: u32 = 100;
const PER_SENDER: u64 = 100;

fn transfers_in_a_block() {
    let params = ChainParams::new(Difficulty::new(BITS).unwrap());
    let chain = params.genesis_hash();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params)).unwrap();
    let genesis = params.genesis().into_block();
    // Block 1 pays the funder; block 2 funds 100 senders; block 3 holds 100 transfers from each.
    let funder = key(u32::MAX);
    let b1 = child(&params, &genesis, address(&funder), vec![]);
    let senders: Vec<SigningKey> = (0..SENDERS).map(key).collect();
    let funding = senders
        .iter()
        .enumerate()
        .map(|(i, s)| pay(&funder, address(s), 1_000_000, i as u64, &chain))
        .collect();
    let b2 = child(&params, &b1, address(&funder), funding);
    let started = Instant::now();
    let transfers: Vec<Transaction> = (0..PER_SENDER)
        .flat_map(|n| senders.iter().map(move |s| (s, n)))
        .map(|(s, n)| pay(s, address(&key(7_000 + n as u32)), 10, n, &chain))
        .collect();
    let count = transfers.len();
    let sign_time = started.elapsed();
    let b3 = child(&params, &b2, address(&funder), transfers);
    store
        .accept(vec![b1, b2.clone()], Timestamp::now(), &SingleThread)
        .unwrap();
    println!(
        "\nsigned transfers: a block of {count} transfers ({:.2} MiB), signed in {:.2} s",
        b3.encoded_len() as f64 / (1024.0 * 1024.0),
        sign_time.as_secs_f64()
    );
    let parent = Parent {
        hash: b2.hash(),
        height: b2.height(),
        timestamp: b2.header.timestamp,
        median_time_past: b2.header.timestamp,
        next_target: params.initial_target(),
    };
    for (name, check) in [
        (
            "1 thread",
            &SingleThread as &dyn ferrochain::chain::SignatureCheck,
        ),
        ("all cores", &ParallelSignatures),
    ] {
        let runs = 5;
        let started = Instant::now();
        for _ in 0..runs {
            validate_block(b3.clone(), &parent, &params, Timestamp::now(), check).unwrap();
        }
        let per_block = started.elapsed().as_secs_f64() / runs as f64;
        println!(
            "  validate_block, signatures on {name}: {:.1} ms per block, {:.0} transfers/s",
            per_block * 1000.0,
            count as f64 / per_block
        );
    }
    let started = Instant::now();
    let report = store
        .accept(vec![b3], Timestamp::now(), &ParallelSignatures)
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert!(report.rejected.is_none(), "{:?}", report.rejected);
    println!(
        "  Store::accept (validate, apply balances, write, flush): {:.1} ms, {:.0} transfers/s",
        elapsed * 1000.0,
        count as f64 / elapsed
    );
}

/// A node on the bench chain whose rewards go to `miner`, serving on port 0.
fn launch_mining_to(dir: &Path, miner: &SigningKey) -> (Node, std::net::SocketAddr) {
    launch(NodeConfig {
        params: Some(ChainParams::new(Difficulty::new(BITS).unwrap())),
        miner: Some(address(miner)),
        ..NodeConfig::new(dir)
    })
}

/// Gives each of `senders` 0.01 FER from `funder`, the node's miner: a block for the funder's
/// reward, the transfers, and a block that confirms them.
async fn fund(node: &Node, funder: &SigningKey, senders: &[SigningKey]) {
    let chain = node.params().genesis_hash();
    node.mining().mine(Vec::new()).await.unwrap();
    for (i, s) in senders.iter().enumerate() {
        let units = Amount::from_units(1_000_000);
        let t = Transfer::sign(funder, address(s), units, Amount::ZERO, i as u64, &chain);
        node.submit_transfer(t).await.unwrap();
    }
    node.mining().mine(Vec::new()).await.unwrap();
}

const HTTP_SENDERS: u32 = 200;
const HTTP_PER_SENDER: u64 = 100;
const HTTP_CONNECTIONS: usize = 32;

fn transfers_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let funder = key(u32::MAX - 1);
    let (node, addr) = launch_mining_to(dir.path(), &funder);
    let chain = node.params().genesis_hash();
    let url = format!("http://{addr}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let senders: Vec<SigningKey> = (0..HTTP_SENDERS).map(|i| key(10_000 + i)).collect();
    rt.block_on(fund(&node, &funder, &senders));

    // Signed up front: the figure is the node's, not the client's signing speed.
    let batches: Vec<Vec<String>> = senders
        .chunks(senders.len() / HTTP_CONNECTIONS)
        .map(|group| {
            (0..HTTP_PER_SENDER)
                .flat_map(|n| group.iter().map(move |s| (s, n)))
                .map(|(s, n)| {
                    let t = Transfer::sign(
                        s,
                        address(&key(7)),
                        Amount::from_units(5),
                        Amount::from_units(1),
                        n,
                        &chain,
                    );
                    serde_json::to_string(&t).unwrap()
                })
                .collect()
        })
        .collect();
    let total: usize = batches.iter().map(Vec::len).sum();
    let started = Instant::now();
    rt.block_on(async {
        let tasks = batches.into_iter().map(|batch| {
            let client = client.clone();
            let url = format!("{url}/transactions");
            tokio::spawn(async move {
                for body in batch {
                    let resp = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(
                        resp.status(),
                        201,
                        "{}",
                        resp.text().await.unwrap_or_default()
                    );
                }
            })
        });
        for t in futures::future::join_all(tasks).await {
            t.unwrap();
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(node.status().mempool, total);
    println!(
        "  POST /transactions: {total} transfers over {HTTP_CONNECTIONS} connections in {:.2} s: {:.0} transfers/s",
        elapsed,
        total as f64 / elapsed
    );
}

const REBUILD_SENDERS: u32 = 1_000;
const REBUILD_PER_SENDER: u64 = 100;
const VERIFY_CLIENTS: usize = 8;

/// `GET /status` latencies over HTTP, sorted, taken back to back until `done` says stop.
async fn poll_status(url: String, done: impl Fn() -> bool) -> Vec<f64> {
    let client = reqwest::Client::new();
    let mut latencies = Vec::new();
    while !done() {
        let started = Instant::now();
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.bytes().await.unwrap();
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

fn percentiles(what: &str, latencies: &[f64]) {
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "  GET /status {what}: {} requests, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// How `GET /status` answers while the node does heavy work: the mempool rebuilt after a new
/// block with 100,000 transfers waiting, and eight clients looping on `GET /chain/verify`.
fn status_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let funder = key(u32::MAX - 2);
    let (node, addr) = launch_mining_to(dir.path(), &funder);
    let chain = node.params().genesis_hash();
    let url = format!("http://{addr}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let senders: Vec<SigningKey> = (0..REBUILD_SENDERS).map(|i| key(20_000 + i)).collect();
    rt.block_on(async {
        fund(&node, &funder, &senders).await;
        let transfers: Vec<Transfer> = (0..REBUILD_PER_SENDER)
            .flat_map(|n| senders.iter().map(move |s| (s, n)))
            .map(|(s, n)| {
                let to = address(&key(7));
                Transfer::sign(
                    s,
                    to,
                    Amount::from_units(5),
                    Amount::from_units(1),
                    n,
                    &chain,
                )
            })
            .collect();
        for t in transfers {
            node.submit_transfer(t).await.unwrap();
        }
    });
    let waiting = node.status().mempool;
    assert_eq!(
        waiting,
        (REBUILD_SENDERS as u64 * REBUILD_PER_SENDER) as usize
    );

    // A block takes some of them; the rest are re-checked against the new tip.
    let latencies = rt.block_on(async {
        let watched = node.clone();
        let poller = tokio::spawn(poll_status(format!("{url}/status"), move || {
            watched.status().mempool < waiting
        }));
        let started = Instant::now();
        let mined = node.mining().mine(Vec::new()).await.unwrap();
        let latencies = poller.await.unwrap();
        println!(
            "  mempool rebuild: {waiting} transfers waiting, {} mined, {} left, rebuilt {:.0} ms after mining began",
            mined.block.transactions.len() - 1,
            node.status().mempool,
            started.elapsed().as_secs_f64() * 1000.0
        );
        latencies
    });
    percentiles("during the rebuild", &latencies);

    let latencies = rt.block_on(async {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let verifiers: Vec<_> = (0..VERIFY_CLIENTS)
            .map(|_| {
                let (stop, url) = (stop.clone(), format!("{url}/chain/verify"));
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let resp = client.get(&url).send().await.unwrap();
                        assert_eq!(resp.status(), 200);
                        resp.bytes().await.unwrap();
                    }
                })
            })
            .collect();
        let until = Instant::now() + Duration::from_secs(3);
        let latencies = poll_status(format!("{url}/status"), || Instant::now() > until).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for v in verifiers {
            v.await.unwrap();
        }
        latencies
    });
    percentiles(
        &format!("with {VERIFY_CLIENTS} clients looping on GET /chain/verify"),
        &latencies,
    );
}

const FIFTY: usize = 50;
const FIFTY_BLOCKS: usize = 100;
/// Peers each of the fifty picks at most.
const PICKED: usize = 8;

/// A fixed pseudo-random sequence (xorshift), so a run can be repeated.
struct Pick(u64);

impl Pick {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The fifty-node network: see the top of this file.
fn network() {
    let params = ChainParams::new(Difficulty::new(BITS).unwrap());
    let mut pick = Pick(0x9e37_79b9_7f4a_7c15);
    let dirs: Vec<_> = (0..FIFTY).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes: Vec<(Node, std::net::SocketAddr)> = Vec::with_capacity(FIFTY);
    let first = Instant::now();
    for (i, dir) in dirs.iter().enumerate() {
        let seed =
            (i > 0).then(|| ferrochain::network::PeerUrl::for_socket(nodes[pick.below(i)].1));
        nodes.push(launch(NodeConfig {
            params: Some(params),
            flag_peers: seed.into_iter().collect(),
            max_peers: PICKED,
            mining_threads: Some(1),
            ..NodeConfig::new(dir.path())
        }));
    }
    let last = Instant::now();
    // Has its peers: it uses as many peers as it picks at most, and every node is used by
    // someone (so someone relays to it).
    let deadline = last + Duration::from_secs(60);
    loop {
        let usable: Vec<Vec<ferrochain::network::PeerUrl>> =
            nodes.iter().map(|(n, _)| n.peers().usable()).collect();
        let full = usable.iter().all(|u| u.len() >= PICKED);
        let reached = nodes.iter().all(|(_, addr)| {
            let url = ferrochain::network::PeerUrl::for_socket(*addr);
            usable.iter().any(|u| u.contains(&url))
        });
        if full && reached {
            break;
        }
        if Instant::now() > deadline {
            let short = usable.iter().filter(|u| u.len() < PICKED).count();
            println!("  after 60 s, {short} nodes still use fewer than {PICKED} peers");
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let degrees: Vec<usize> = nodes
        .iter()
        .map(|(n, _)| n.peers().usable().len())
        .collect();
    println!(
        "\nnetwork: {FIFTY} nodes launched in {:.2} s, each seeded with one earlier node; every \
         node uses >= {PICKED} peers and is used by one {:.2} s after the last launch \
         ({:.2} s after the first); peers used per node: min {}, max {}",
        (last - first).as_secs_f64(),
        last.elapsed().as_secs_f64(),
        first.elapsed().as_secs_f64(),
        degrees.iter().min().unwrap(),
        degrees.iter().max().unwrap()
    );

    let traffic = |nodes: &[(Node, std::net::SocketAddr)]| -> Vec<ferrochain::network::message::RelayTraffic> {
        nodes.iter().map(|(n, _)| n.status().relay.unwrap()).collect()
    };
    let before = traffic(&nodes);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut spreads, block_bytes) = rt.block_on(async {
        let mut spreads = Vec::with_capacity(FIFTY_BLOCKS);
        let mut block_bytes = 0usize;
        for round in 0..FIFTY_BLOCKS {
            let (miner, _) = &nodes[pick.below(FIFTY)];
            // Eight notes of 200 bytes: a block of about 2.5 KB, beside a 90-byte announcement.
            let notes = (0..8)
                .map(|i| {
                    let text = format!("round {round} note {i} {}", "x".repeat(180));
                    Transaction::Note(Note::new(text).unwrap())
                })
                .collect();
            let mined = miner.mining().mine(notes).await.unwrap();
            let started = Instant::now();
            let hash = mined.block.hash();
            block_bytes += serde_json::to_vec(&mined.block).unwrap().len();
            let deadline = started + Duration::from_secs(30);
            while nodes.iter().any(|(n, _)| n.tip().hash != hash) {
                assert!(
                    Instant::now() < deadline,
                    "block {round} never reached every node"
                );
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            spreads.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        (spreads, block_bytes)
    });
    let after = traffic(&nodes);
    spreads.sort_by(f64::total_cmp);
    let at = |q: f64| spreads[((spreads.len() - 1) as f64 * q).round() as usize];
    println!(
        "  {FIFTY_BLOCKS} blocks mined on random nodes reach all {FIFTY}: p50 {:.1} ms, p99 {:.1} ms, \
         max {:.1} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    );
    let sum = |f: fn(&ferrochain::network::message::RelayTraffic) -> u64| -> u64 {
        after.iter().zip(&before).map(|(a, b)| f(a) - f(b)).sum()
    };
    let receivers = ((FIFTY - 1) * FIFTY_BLOCKS) as f64;
    let announced = sum(|t| t.announcement_bytes) as f64 / receivers;
    let bodies = sum(|t| t.block_bytes) as f64 / receivers;
    let block = block_bytes as f64 / FIFTY_BLOCKS as f64;
    let announcements = sum(|t| t.announcements) as f64 / receivers;
    println!(
        "  received per node per block: {:.0} bytes ({:.1} announcements, {:.0} bytes; bodies {:.0} \
         bytes) against a block of {:.0} bytes: {:.2}x the block; pushing every block to every \
         peer instead would have sent {:.2}x",
        announced + bodies,
        announcements,
        announced,
        bodies,
        block,
        (announced + bodies) / block,
        announcements
    );
    println!(
        "  bodies received: {} for {} (node, block) pairs; of them already held: {}; blocks \
         taken from sync pages: {}",
        sum(|t| t.blocks),
        (FIFTY - 1) * FIFTY_BLOCKS,
        sum(|t| t.duplicate_blocks),
        sum(|t| t.synced_blocks)
    );
}

/// The bare route `polling` compares the node's routes with: Rocket answering a constant JSON.
#[rocket::get("/bare")]
fn bare() -> rocket::serde::json::Json<serde_json::Value> {
    rocket::serde::json::Json(serde_json::json!({"status": "ok"}))
}

/// A bare Rocket app with [`bare`], on port 0 of a runtime of its own thread; its address.
fn launch_bare() -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let figment = rocket::Config::figment()
            .merge(("port", 0))
            .merge(("log_level", "off"))
            .merge(("shutdown.ctrlc", false));
        let rocket = rocket::custom(figment)
            .mount("/", rocket::routes![bare])
            .attach(rocket::fairing::AdHoc::on_liftoff("port", move |r| {
                let addr = std::net::SocketAddr::new(r.config().address, r.config().port);
                Box::pin(async move { tx.send(addr).unwrap() })
            }));
        rocket::execute(rocket.launch()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(20)).unwrap()
}

/// Requests per second wrk measures on `url` (2 threads, 32 connections, `seconds`).
fn wrk(url: &str, seconds: u64) -> f64 {
    let out = Command::new("wrk")
        .args(["-t2", "-c32", &format!("-d{seconds}s"), url])
        .output()
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .unwrap_or_else(|| panic!("wrk printed no rate: {text}"));
    assert!(
        !text.contains("Non-2xx"),
        "{url} answered errors under load: {text}"
    );
    rate.trim().parse().unwrap()
}

/// See the top of this file. Rounds alternate between the routes, so a change in the machine's
/// load during the run falls on all of them.
fn polling() {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("polling: skipped, wrk is not installed (Debian's wrk package)");
        return;
    }
    const ROUNDS: usize = 3;
    const SECONDS: u64 = 4;
    const FULL: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let funder = key(u32::MAX - 3);
    let (node, addr) = launch(NodeConfig {
        params: Some(ChainParams::new(Difficulty::new(BITS).unwrap())),
        miner: Some(address(&funder)),
        mempool_capacity: FULL,
        ..NodeConfig::new(dir.path())
    });
    let bare_addr = launch_bare();
    let routes = [
        ("bare Rocket route", format!("http://{bare_addr}/bare")),
        ("GET /health/live", format!("http://{addr}/health/live")),
        ("GET /status", format!("http://{addr}/status")),
        ("GET /metrics", format!("http://{addr}/metrics")),
    ];
    let mut rates = vec![0.0; routes.len()];
    for _ in 0..ROUNDS {
        for (i, (_, url)) in routes.iter().enumerate() {
            rates[i] += wrk(url, SECONDS) / ROUNDS as f64;
        }
    }
    println!("polling (wrk -t2 -c32, {ROUNDS} rounds of {SECONDS} s each, alternating):");
    for ((what, _), rate) in routes.iter().zip(&rates) {
        println!(
            "  {what}: {rate:.0} requests/s, {:.2}x the bare route",
            rate / rates[0]
        );
    }

    // A full mempool, then GET /metrics timed one request at a time.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let senders: Vec<SigningKey> = (0..200).map(|i| key(40_000 + i)).collect();
    let chain = node.params().genesis_hash();
    rt.block_on(async {
        fund(&node, &funder, &senders).await;
        for n in 0..(FULL / senders.len()) as u64 {
            for s in &senders {
                let to = address(&key(7));
                let t = Transfer::sign(
                    s,
                    to,
                    Amount::from_units(5),
                    Amount::from_units(1),
                    n,
                    &chain,
                );
                node.submit_transfer(t).await.unwrap();
            }
        }
    });
    assert_eq!(node.status().mempool, FULL);
    let client = reqwest::blocking::Client::new();
    let mut took: Vec<f64> = (0..200)
        .map(|_| {
            let started = Instant::now();
            let text = client
                .get(format!("http://{addr}/metrics"))
                .send()
                .unwrap()
                .text()
                .unwrap();
            assert!(text.contains(&format!("ferrochain_mempool_transfers {FULL}")));
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    took.sort_by(f64::total_cmp);
    println!(
        "  GET /metrics with a full mempool ({FULL} transfers): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        took[took.len() / 2],
        took[took.len() * 99 / 100],
        took[took.len() - 1]
    );
}
