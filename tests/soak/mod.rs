//! The crash soak, shared by `tests/soak.rs` (a few cycles, run by CI) and `benches/soak.rs`
//! (200 cycles): the real binary under mining (`POST /mine`), block intake (`POST /add_block`,
//! now and then a heavier competing branch) and signed transfers (`POST /transactions`) at once,
//! killed with SIGKILL while requests are in flight, and restarted on the same data directory,
//! cycle after cycle. After every restart, every block the node ever acknowledged is checked.
//!
//! What is asserted is what the node promises. Blocks: a block and the new tip are flushed
//! before the node answers 2xx (README, "Durability"), so every acknowledged block must still be
//! stored after `kill -9` (on the main chain or, once a heavier branch took over, on a side
//! branch), and the main chain must be at least as heavy as any acknowledged block. Transfers:
//! the mempool lives in memory only and nothing promises it survives a crash, so an acknowledged
//! transfer that no block on the main chain carries may be gone after a restart; it is counted
//! as dropped, not lost. A transfer is lost only if the main chain carries it and the node's
//! transaction lookup (`GET /transactions/<id>`) does not report it confirmed in that block.
//!
//! The difficulty is fixed (`--retarget-interval 0`), so a block's work is the same at every
//! height and "at least as heavy" is "at least as high".
//!
//! `FERROCHAIN_SOAK_CYCLES` sets the number of cycles, `FERROCHAIN_SOAK_SEED` the seed of the
//! kill delays and branch choices (printed in the report, to replay a run's timing).

use crate::common::spawn_listening;
use ferrochain::chain::{
    Address, Amount, Block, ChainParams, Difficulty, Note, Timestamp, Transaction, WireBlock,
};
use ferrochain::mining::mine_child_sequential;
use ferrochain::network::message::PendingTransfers;
use ferrochain::wallet::{Keystore, Wallet};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ferrochain");

/// A few thousand hashes a block: instant for the node and for the soak's own blocks, yet not
/// so easy that the chain grows by thousands of blocks a cycle.
const BITS: u64 = 12;
/// The kill comes this long (a random pick in the range) after the load starts.
const KILL_AFTER_MS: std::ops::RangeInclusive<u64> = 20..=300;
/// One intake round in this many offers a competing branch instead of one block on the tip.
const BRANCH_ONE_IN: u64 = 4;
/// Blocks of a competing branch: forked one below the tip, so two already outweigh the tip.
const BRANCH_BLOCKS: usize = 3;
/// Bounds on every wait: one request, a start, the workers winding down after the kill.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const START_TIMEOUT: Duration = Duration::from_secs(30);
const WIND_DOWN_TIMEOUT: Duration = Duration::from_secs(20);

/// How many cycles, and the seed of their timing.
pub struct Settings {
    pub cycles: usize,
    pub seed: u64,
}

impl Settings {
    /// `default_cycles` unless `FERROCHAIN_SOAK_CYCLES` says otherwise; the seed from
    /// `FERROCHAIN_SOAK_SEED`, or from the clock.
    pub fn from_env(default_cycles: usize) -> Settings {
        let number = |name: &str| {
            std::env::var(name).ok().map(|v| {
                v.trim()
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("{name} must be a whole number, got {v:?}"))
            })
        };
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_nanos() as u64;
        Settings {
            cycles: number("FERROCHAIN_SOAK_CYCLES").map_or(default_cycles, |n| n as usize),
            seed: number("FERROCHAIN_SOAK_SEED").unwrap_or(clock),
        }
    }
}

/// Runs the soak on a runtime of its own and reports what it found. Panics only when the soak
/// itself cannot go on (the node does not start, or does not answer right after starting).
pub fn run(settings: &Settings) -> Report {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(Soak::new(settings).run(settings.cycles))
}

/// Which request acknowledged a block.
#[derive(Clone, Copy)]
enum Route {
    /// `POST /mine`: mined by the node.
    Mine,
    /// `POST /add_block` of a block mined here on the node's tip.
    AddBlock,
    /// `POST /add_block` of a block of a competing branch.
    Branch,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Route::Mine => "POST /mine",
            Route::AddBlock => "POST /add_block (on the tip)",
            Route::Branch => "POST /add_block (competing branch)",
        })
    }
}

/// A block the node acknowledged with a 2xx answer.
struct AckedBlock {
    hash: String,
    height: u64,
    cycle: usize,
    route: Route,
    status: u16,
}

/// What one worker saw in one cycle.
#[derive(Default)]
struct Acks {
    blocks: Vec<AckedBlock>,
    /// Ids of acknowledged transfers.
    transfers: Vec<String>,
    /// Requests the node refused, by route, status and error code.
    refused: BTreeMap<String, u64>,
    /// Requests that got no answer: cut by the kill.
    cut: u64,
    branches: u64,
    /// Branches that became the main chain (one of their blocks answered 201).
    takeovers: u64,
}

impl Acks {
    fn refuse(&mut self, route: &str, status: u16, answer: &Value) {
        let code = answer["error"].as_str().unwrap_or("?");
        *self
            .refused
            .entry(format!("{route} {status} {code}"))
            .or_default() += 1;
    }

    fn merge(&mut self, other: Acks) {
        self.blocks.extend(other.blocks);
        self.transfers.extend(other.transfers);
        for (what, n) in other.refused {
            *self.refused.entry(what).or_default() += n;
        }
        self.cut += other.cut;
        self.branches += other.branches;
        self.takeovers += other.takeovers;
    }
}

/// What the soak found.
pub struct Report {
    pub cycles: usize,
    pub seed: u64,
    pub blocks_mined: usize,
    pub blocks_added: usize,
    pub branch_blocks: usize,
    pub branches: u64,
    pub takeovers: u64,
    pub transfers: usize,
    /// Where the acknowledged transfers stood at the last check.
    pub confirmed: usize,
    pub pending: usize,
    pub dropped: usize,
    /// Requests the node refused, by route, status and error code.
    pub refused: BTreeMap<String, u64>,
    pub cut: u64,
    /// Acknowledged blocks no longer stored, each described once (hash, request, cycle).
    pub lost_blocks: Vec<String>,
    /// Transfers the main chain carries that the node's lookup does not report confirmed there.
    pub lost_transfers: Vec<String>,
    /// Anything else the node promised and broke: a main chain lighter than an acknowledged
    /// block, an invalid stored chain.
    pub problems: Vec<String>,
    pub restarts: Vec<Duration>,
    pub final_height: u64,
    /// The whole soak, first start to the final verification.
    pub elapsed: Duration,
}

impl Report {
    /// No acknowledged block lost, no transfer lost, no broken promise.
    pub fn is_clean(&self) -> bool {
        self.lost_blocks.is_empty()
            && self.lost_transfers.is_empty()
            && self.problems.is_empty()
            && self.wrong_nonce_refusals() == 0
    }

    /// Transfers refused for their nonce. The soak signs each with the exact next nonce, so
    /// every such refusal is the node judging a nonce against the wrong tip.
    pub fn wrong_nonce_refusals(&self) -> u64 {
        self.refused
            .iter()
            .filter(|(what, _)| {
                what.starts_with("POST /transactions") && what.ends_with("bad_nonce")
            })
            .map(|(_, n)| n)
            .sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let acked = self.blocks_mined + self.blocks_added + self.branch_blocks;
        writeln!(
            f,
            "crash soak: {} kill -9 cycles in {:.1} s, seed {}, difficulty {BITS} bits",
            self.cycles,
            self.elapsed.as_secs_f64(),
            self.seed
        )?;
        writeln!(
            f,
            "  acknowledged blocks:    {acked} ({} by POST /mine, {} by POST /add_block on the \
             tip, {} on {} competing branches, {} of which took over)",
            self.blocks_mined, self.blocks_added, self.branch_blocks, self.branches, self.takeovers
        )?;
        writeln!(
            f,
            "  acknowledged transfers: {} (at the last check: {} confirmed, {} pending, {} dropped \
             with the mempool, which is not kept across a crash)",
            self.transfers, self.confirmed, self.pending, self.dropped
        )?;
        writeln!(f, "  lost blocks:            {}", self.lost_blocks.len())?;
        writeln!(f, "  lost transfers:         {}", self.lost_transfers.len())?;
        writeln!(f, "  other problems:         {}", self.problems.len())?;
        let (median, p99, max) = percentiles(&self.restarts);
        writeln!(
            f,
            "  restart time:           median {} ms, p99 {} ms, max {} ms ({} restarts, spawn to \
             the first GET /status answer)",
            millis(median),
            millis(p99),
            millis(max),
            self.restarts.len()
        )?;
        writeln!(
            f,
            "  requests cut by a kill: {}; final height {}",
            self.cut, self.final_height
        )?;
        for (what, n) in &self.refused {
            writeln!(f, "  refused: {what}: {n}")?;
        }
        for line in self
            .lost_blocks
            .iter()
            .chain(&self.lost_transfers)
            .chain(&self.problems)
        {
            writeln!(f, "  - {line}")?;
        }
        Ok(())
    }
}

fn millis(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Median, 99th percentile (nearest rank) and maximum; zeros when there is nothing.
fn percentiles(samples: &[Duration]) -> (Duration, Duration, Duration) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = |p: f64| {
        let i = ((p * sorted.len() as f64).ceil() as usize).saturating_sub(1);
        sorted.get(i).copied().unwrap_or_default()
    };
    (rank(0.5), rank(0.99), rank(1.0))
}

/// SplitMix64: enough randomness for delays and choices, and a run's timing can be replayed
/// from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn in_range(&mut self, range: std::ops::RangeInclusive<u64>) -> u64 {
        range.start() + self.next() % (range.end() - range.start() + 1)
    }
}

fn params() -> ChainParams {
    ChainParams::new(Difficulty::new(BITS).expect("a supported difficulty"))
}

/// Where the blocks mined here pay their reward.
fn soak_miner() -> Address {
    Address::from_bytes([0x5e; 32])
}

/// Where the soak's transfers go.
fn payee() -> Address {
    Address::from_bytes([0x5f; 32])
}

fn note(text: String) -> Transaction {
    Transaction::Note(Note::new(text).expect("a short note"))
}

fn client() -> reqwest::Client {
    // Loopback only: no proxy from the environment.
    reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("an HTTP client")
}

/// A `ferrochain node` process on loopback.
struct Running {
    child: Child,
    url: String,
}

impl Running {
    /// Spawns the node on `dir` and waits until it answers `GET /status`; returns it and how long
    /// that took.
    async fn start(dir: &Path) -> (Running, Duration) {
        let mut cmd = Command::new(BIN);
        cmd.arg("node")
            .arg("0")
            .arg("--data-dir")
            .arg(dir.join("chain"))
            .arg("--peers")
            .arg(dir.join("no-peers.json"))
            .arg("--difficulty")
            .arg(BITS.to_string())
            .arg("--retarget-interval")
            .arg("0")
            // One mining thread leaves the other core to the soak's own load.
            .arg("--threads")
            .arg("1")
            .env("RUST_LOG", "warn");
        let began = Instant::now();
        let (child, url) = tokio::task::spawn_blocking(move || spawn_listening(cmd))
            .await
            .expect("the spawn did not panic");
        let running = Running { child, url };
        let client = client();
        loop {
            if let Ok(resp) = client.get(running.url("/status")).send().await {
                if resp.status() == 200 {
                    return (running, began.elapsed());
                }
            }
            assert!(
                began.elapsed() < START_TIMEOUT,
                "the node at {} did not answer GET /status within {START_TIMEOUT:?}",
                running.url
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// SIGKILL: no shutdown hook, no final flush.
    fn kill(mut self) {
        self.child.kill().expect("the node can be killed");
        self.child.wait().expect("the killed node is reaped");
    }
}

/// A soak that panics half-way leaves no node running.
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The soak's state across cycles.
struct Soak {
    dir: tempfile::TempDir,
    seed: u64,
    rng: Rng,
    wallet: Arc<Wallet>,
    /// Each transfer moves a different amount, so no two are the same transfer even when a
    /// nonce is used again after the mempool was lost.
    amounts: Arc<AtomicU64>,
    acks: Acks,
    restarts: Vec<Duration>,
    lost_blocks: HashMap<String, String>,
    lost_transfers: HashMap<String, String>,
    problems: Vec<String>,
    standing: Standing,
}

/// Where the acknowledged transfers stood at a check.
#[derive(Default)]
struct Standing {
    confirmed: usize,
    pending: usize,
    dropped: usize,
}

impl Soak {
    fn new(settings: &Settings) -> Soak {
        let dir = tempfile::tempdir().expect("a temp dir");
        let wallet = Keystore::new(dir.path().join("wallets"))
            .create("soak")
            .expect("a wallet");
        Soak {
            dir,
            seed: settings.seed,
            rng: Rng(settings.seed),
            wallet: Arc::new(wallet),
            amounts: Arc::new(AtomicU64::new(1)),
            acks: Acks::default(),
            restarts: Vec::new(),
            lost_blocks: HashMap::new(),
            lost_transfers: HashMap::new(),
            problems: Vec::new(),
            standing: Standing::default(),
        }
    }

    async fn run(mut self, cycles: usize) -> Report {
        let began = Instant::now();
        let (mut node, _) = Running::start(self.dir.path()).await;
        self.fund(&node).await;
        for cycle in 0..cycles {
            node = self.cycle(node, cycle).await;
        }
        let final_height = self.verify(&node).await;
        node.kill();
        self.report(cycles, final_height, began.elapsed())
    }

    /// Pays the first block to the soak's wallet, and mines two more on it, so that no competing
    /// branch (forked one below the tip) ever takes the wallet's coins away. The three count as
    /// acknowledged in the first cycle.
    async fn fund(&mut self, node: &Running) {
        let client = client();
        let status = get_json(&client, &node.url("/status")).await;
        assert_eq!(
            status["genesis"].as_str(),
            Some(params().genesis_hash().to_string().as_str()),
            "the node runs the chain the soak mines for"
        );
        let genesis = get_block(&client, &node.url("/blocks/0")).await;
        let funding = mine_child_sequential(
            &params(),
            &genesis,
            self.wallet.address,
            vec![note("soak funding".to_owned())],
            Timestamp::now(),
        );
        let resp = client
            .post(node.url("/add_block"))
            .json(&funding)
            .send()
            .await
            .expect("the node answers");
        assert_eq!(resp.status(), 201, "the funding block joins the chain");
        self.acks.blocks.push(AckedBlock {
            hash: funding.hash().to_string(),
            height: 1,
            cycle: 0,
            route: Route::AddBlock,
            status: 201,
        });
        for _ in 0..2 {
            let resp = client
                .post(node.url("/mine"))
                .send()
                .await
                .expect("the node answers");
            assert_eq!(resp.status(), 201, "the node mines");
            let v: Value = resp.json().await.expect("the mined block");
            self.acks.blocks.push(mined(&v, 0));
        }
    }

    /// One cycle: load, kill, restart, check. Returns the restarted node.
    async fn cycle(&mut self, node: Running, cycle: usize) -> Running {
        let client = client();
        let stop = Arc::new(AtomicBool::new(false));
        let workers = [
            tokio::spawn(mine(client.clone(), node.url.clone(), stop.clone(), cycle)),
            tokio::spawn(intake(
                client.clone(),
                node.url.clone(),
                stop.clone(),
                cycle,
                Rng(self.rng.next()),
            )),
            tokio::spawn(pay(
                client,
                node.url.clone(),
                stop.clone(),
                self.wallet.clone(),
                self.amounts.clone(),
            )),
        ];
        let delay = self.rng.in_range(KILL_AFTER_MS);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        // Workers start no new request from here on; those under way are cut by the kill.
        stop.store(true, Ordering::SeqCst);
        node.kill();
        let first_transfer = self.acks.transfers.len();
        let done = tokio::time::timeout(WIND_DOWN_TIMEOUT, futures::future::join_all(workers))
            .await
            .unwrap_or_else(|_| panic!("cycle {cycle}: a worker was still busy after the kill"));
        for acks in done {
            self.acks.merge(acks.expect("a worker did not panic"));
        }
        let (node, took) = Running::start(self.dir.path()).await;
        self.restarts.push(took);
        self.check(&node, cycle, first_transfer).await;
        node
    }

    /// Checks every block acknowledged so far and every acknowledged transfer against the
    /// restarted node; transfers from `first_transfer` on were acknowledged in this cycle.
    async fn check(&mut self, node: &Running, cycle: usize, first_transfer: usize) {
        let client = client();
        let chain: ChainBody = client
            .get(node.url("/chain"))
            .send()
            .await
            .expect("the restarted node serves its chain")
            .json()
            .await
            .expect("the chain is JSON");
        let main: HashSet<&str> = chain.chain.iter().map(|b| b.hash.as_str()).collect();
        let height = chain.chain.last().map_or(0, |b| b.index);

        for block in &self.acks.blocks {
            if main.contains(block.hash.as_str()) || self.lost_blocks.contains_key(&block.hash) {
                continue;
            }
            // Off the main chain: a heavier branch took over, and the block must still be
            // stored on its side branch.
            let resp = client
                .get(node.url(&format!("/blocks/{}", block.hash)))
                .send()
                .await
                .expect("the restarted node answers");
            match resp.status().as_u16() {
                200 => {}
                404 => {
                    self.lost_blocks.insert(
                        block.hash.clone(),
                        format!(
                            "lost block {} at height {}: acknowledged {} by {} in cycle {}, \
                             gone after the restart of cycle {cycle}",
                            block.hash, block.height, block.status, block.route, block.cycle
                        ),
                    );
                }
                other => panic!("GET /blocks/{} answered {other}", block.hash),
            }
        }
        // A lost block is reported as such; the rest must not be above the main chain's tip.
        let held = self
            .acks
            .blocks
            .iter()
            .filter(|b| !self.lost_blocks.contains_key(&b.hash));
        if let Some(highest) = held.max_by_key(|b| b.height) {
            if highest.height > height {
                self.problems.push(format!(
                    "after the restart of cycle {cycle} the main chain ends at height {height}, \
                     below the acknowledged block {} at height {} ({}, cycle {})",
                    highest.hash, highest.height, highest.route, highest.cycle
                ));
            }
        }

        // Transfers: where each acknowledged one stands on the restarted node.
        let carried: HashMap<&str, &str> = chain
            .chain
            .iter()
            .flat_map(|b| {
                b.transactions
                    .iter()
                    .filter(|tx| tx["type"] == "transfer")
                    .filter_map(move |tx| Some((tx["id"].as_str()?, b.hash.as_str())))
            })
            .collect();
        let pending: PendingTransfers = client
            .get(node.url("/transactions/pending"))
            .send()
            .await
            .expect("the restarted node answers")
            .json()
            .await
            .expect("the mempool is JSON");
        let pending: HashSet<String> = pending
            .transactions
            .iter()
            .map(|t| t.txid().to_string())
            .collect();
        let mut standing = Standing::default();
        for id in &self.acks.transfers {
            if carried.contains_key(id.as_str()) {
                standing.confirmed += 1;
            } else if pending.contains(id) {
                standing.pending += 1;
            } else {
                standing.dropped += 1;
            }
        }
        self.standing = standing;

        // The node's own lookup must agree with its chain for the transfers acknowledged in this
        // cycle (earlier ones were looked up after their own cycle).
        for id in &self.acks.transfers[first_transfer..] {
            let Some(&block) = carried.get(id.as_str()) else {
                continue;
            };
            let v = get_json(&client, &node.url(&format!("/transactions/{id}"))).await;
            if v["status"] != "confirmed" || v["block"] != block {
                self.lost_transfers.insert(
                    id.clone(),
                    format!(
                        "lost transfer {id}: block {block} on the main chain carries it, but after \
                         the restart of cycle {cycle} GET /transactions/{id} answered {v}"
                    ),
                );
            }
        }
    }

    /// The stored chain re-verified from genesis at the end; returns its height.
    async fn verify(&mut self, node: &Running) -> u64 {
        let client = client();
        let v = get_json(&client, &node.url("/chain/verify")).await;
        if v["valid"] != true {
            self.problems
                .push(format!("GET /chain/verify after the last restart: {v}"));
        }
        v["length"].as_u64().map_or(0, |length| length - 1)
    }

    fn report(self, cycles: usize, final_height: u64, elapsed: Duration) -> Report {
        let (mut mined, mut added, mut branch) = (0, 0, 0);
        for block in &self.acks.blocks {
            match block.route {
                Route::Mine => mined += 1,
                Route::AddBlock => added += 1,
                Route::Branch => branch += 1,
            }
        }
        let sorted = |found: HashMap<String, String>| {
            let mut lines: Vec<String> = found.into_values().collect();
            lines.sort();
            lines
        };
        Report {
            cycles,
            seed: self.seed,
            blocks_mined: mined,
            blocks_added: added,
            branch_blocks: branch,
            branches: self.acks.branches,
            takeovers: self.acks.takeovers,
            transfers: self.acks.transfers.len(),
            confirmed: self.standing.confirmed,
            pending: self.standing.pending,
            dropped: self.standing.dropped,
            refused: self.acks.refused,
            cut: self.acks.cut,
            lost_blocks: sorted(self.lost_blocks),
            lost_transfers: sorted(self.lost_transfers),
            problems: self.problems,
            restarts: self.restarts,
            final_height,
            elapsed,
        }
    }
}

/// The parts of `GET /chain` the checks read.
#[derive(Deserialize)]
struct ChainBody {
    chain: Vec<ChainBlock>,
}

#[derive(Deserialize)]
struct ChainBlock {
    hash: String,
    index: u64,
    transactions: Vec<Value>,
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

async fn get_block(client: &reqwest::Client, url: &str) -> Block {
    let wire: WireBlock = serde_json::from_value(get_json(client, url).await)
        .unwrap_or_else(|e| panic!("GET {url} is not a block: {e}"));
    wire.into_block()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// The answer to a request, or `None` when there was none (the node was killed under it).
async fn answer(request: reqwest::RequestBuilder) -> Option<(u16, Value)> {
    let resp = request.send().await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.json().await.ok()?))
}

/// The block at `url` (`GET /blocks/<height or hash>`), or `None` if the node did not answer.
async fn fetch_block(client: &reqwest::Client, url: String) -> Option<Block> {
    let (status, v) = answer(client.get(url)).await?;
    if status != 200 {
        return None;
    }
    let wire: WireBlock = serde_json::from_value(v).ok()?;
    wire.into_block().ok()
}

/// `POST /mine` in a loop, each with a note of its own.
async fn mine(client: reqwest::Client, url: String, stop: Arc<AtomicBool>, cycle: usize) -> Acks {
    let mut acks = Acks::default();
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let body = json!({ "transactions": [format!("soak {cycle}.{i}")] });
        match answer(client.post(format!("{url}/mine")).json(&body)).await {
            None => acks.cut += 1,
            Some((201, v)) => acks.blocks.push(mined(&v, cycle)),
            Some((status, v)) => acks.refuse("POST /mine", status, &v),
        }
    }
    acks
}

/// The block a 201 answer of `POST /mine` names.
fn mined(answer: &Value, cycle: usize) -> AckedBlock {
    let block = &answer["block"];
    AckedBlock {
        hash: block["hash"].as_str().expect("the block's hash").to_owned(),
        height: block["index"].as_u64().expect("the block's height"),
        cycle,
        route: Route::Mine,
        status: 201,
    }
}

/// Blocks mined here, offered with `POST /add_block`: mostly one on the node's tip, sometimes a
/// competing branch forked one below the tip.
async fn intake(
    client: reqwest::Client,
    url: String,
    stop: Arc<AtomicBool>,
    cycle: usize,
    mut rng: Rng,
) -> Acks {
    let mut acks = Acks::default();
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let status = match answer(client.get(format!("{url}/status"))).await {
            Some((200, status)) => status,
            Some((code, v)) => {
                acks.refuse("GET /status", code, &v);
                continue;
            }
            None => {
                acks.cut += 1;
                continue;
            }
        };
        let height = status["height"].as_u64().unwrap_or_default();
        let tip = status["tip"].as_str().unwrap_or_default().to_owned();
        // The funding block sits at height 1 and the soak starts at height 3: a fork at
        // `height - 1` never takes it away.
        let branch = height >= 3 && rng.next().is_multiple_of(BRANCH_ONE_IN);
        let (parent, count, route) = match branch {
            true => ((height - 1).to_string(), BRANCH_BLOCKS, Route::Branch),
            false => (tip, 1, Route::AddBlock),
        };
        let Some(mut parent) = fetch_block(&client, format!("{url}/blocks/{parent}")).await else {
            acks.cut += 1;
            continue;
        };
        if branch {
            acks.branches += 1;
        }
        // Mined ahead of posting, so that a branch arrives as fast as it can.
        let blocks = tokio::task::spawn_blocking(move || {
            let mut blocks = Vec::with_capacity(count);
            for k in 0..count {
                let block = mine_child_sequential(
                    &params(),
                    &parent,
                    soak_miner(),
                    vec![note(format!("soak intake {cycle}.{i}.{k}"))],
                    Timestamp::now(),
                );
                parent = block.clone();
                blocks.push(block);
            }
            blocks
        })
        .await
        .expect("mining did not panic");
        let mut took_over = false;
        for block in blocks {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            match answer(client.post(format!("{url}/add_block")).json(&block)).await {
                // 202 is a side branch here (a parent unknown to the node would also be 202,
                // but every parent is a block the node served or acknowledged).
                Some((status @ 200..=202, _)) => {
                    took_over |= status == 201 && branch;
                    acks.blocks.push(AckedBlock {
                        hash: block.hash().to_string(),
                        height: block.height().get(),
                        cycle,
                        route,
                        status,
                    });
                }
                None => {
                    acks.cut += 1;
                    break;
                }
                Some((status, v)) => {
                    acks.refuse("POST /add_block", status, &v);
                    break;
                }
            }
        }
        if took_over {
            acks.takeovers += 1;
        }
    }
    acks
}

/// Signed transfers from the soak's wallet, `POST /transactions`, each with the next nonce.
///
/// The nonce is read from the node once, when the cycle starts: the mempool is empty then (a
/// restart emptied it), so the account's next nonce is exact. From there the soak counts on its
/// own, and a refused transfer is offered again as it was rather than replaced: a new transfer
/// with a nonce the node may still give back (from a block a reorganisation abandons) would push
/// an acknowledged one out, and the soak would count as dropped what it displaced itself.
async fn pay(
    client: reqwest::Client,
    url: String,
    stop: Arc<AtomicBool>,
    wallet: Arc<Wallet>,
    amounts: Arc<AtomicU64>,
) -> Acks {
    let mut acks = Acks::default();
    let chain = params().genesis_hash();
    let mut nonce = None;
    let mut refused = None;
    while !stop.load(Ordering::SeqCst) {
        let next = match nonce {
            Some(n) => n,
            None => match next_nonce(&client, &url, wallet.address).await {
                Some(n) => *nonce.insert(n),
                None => {
                    acks.cut += 1;
                    continue;
                }
            },
        };
        let transfer = refused.take().unwrap_or_else(|| {
            let amount = Amount::from_units(amounts.fetch_add(1, Ordering::SeqCst));
            wallet.sign_transfer(payee(), amount, Amount::ZERO, next, &chain)
        });
        match answer(client.post(format!("{url}/transactions")).json(&transfer)).await {
            Some((200 | 201, _)) => {
                acks.transfers.push(transfer.txid().to_string());
                nonce = Some(next + 1);
            }
            None => acks.cut += 1,
            Some((status, v)) => {
                acks.refuse("POST /transactions", status, &v);
                refused = Some(transfer);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    acks
}

async fn next_nonce(client: &reqwest::Client, url: &str, address: Address) -> Option<u64> {
    match answer(client.get(format!("{url}/accounts/{address}"))).await? {
        (200, v) => v["next_nonce"].as_u64(),
        _ => None,
    }
}
