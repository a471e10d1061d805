//! `cargo bench`: the figures the issues ask for.
//!
//! - Mining hash rate on one thread and on every core (what `ferrochain bench` prints).
//! - A fresh node resolving to a peer's 10,000-block chain: wall time of `GET /nodes/resolve`,
//!   and the resident memory of both node processes afterwards.
//!
//! The sync figures run the real binary: node A serves a chain built beforehand at an easy
//! difficulty, node B starts empty with A in its peers file.

use ferrochain::chain::{Block, ChainParams, Difficulty, Note, Parent, Timestamp, Transaction};
use ferrochain::mining::{solve_sequential, template, Miner};
use ferrochain::storage::Store;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHAIN_BLOCKS: u64 = 10_000;
const BITS: u64 = 8;

fn main() {
    // `cargo bench -- <filter>` passes arguments; this bench takes none.
    mining();
    sync();
}

fn mining() {
    let all = rayon::current_num_threads();
    println!("mining hash rate (double SHA-256 of 96-byte headers, midstate reused):");
    for threads in [1, all] {
        let stats = Miner::new(Some(threads))
            .unwrap()
            .benchmark(Duration::from_secs(3));
        println!(
            "  {threads} thread(s): {:.2} MH/s ({} hashes in {:.2} s)",
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
        let txs = vec![Transaction::Note(
            Note::new(format!("Alice pays Bob {i} BTC")).unwrap(),
        )];
        let p = Parent {
            hash: parent.hash(),
            height: parent.height(),
            median_time_past: parent.header.timestamp,
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
                .accept(std::mem::take(&mut batch), Timestamp::now())
                .unwrap();
            assert!(report.rejected.is_none(), "{:?}", report.rejected);
        }
    }
    assert_eq!(store.tip().height.get(), CHAIN_BLOCKS);
}

fn spawn_node(data_dir: &Path, peers: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrochain"))
        .args(["node", "0", "--difficulty", &BITS.to_string()])
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
    let peers = dir.path().join("peers.json");
    std::fs::write(&peers, format!(r#"{{"nodes": ["{a_url}"]}}"#)).unwrap();
    let (mut b, b_url) = spawn_node(&dir.path().join("b"), &peers);

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
            "  fresh node B resolves to A's chain ({} blocks): {:.3} s",
            v["length"],
            elapsed.as_secs_f64()
        );
    });
    println!(
        "  resident memory after serving / syncing: node A {:.1} MiB, node B {:.1} MiB",
        rss_mib(a.id()),
        rss_mib(b.id())
    );
    for child in [&mut a, &mut b] {
        child.kill().ok();
        child.wait().ok();
    }
}
