//! Helpers shared by the integration tests: nodes on loopback port 0 in temp dirs, blocks mined
//! at an easy difficulty, hostile peers, and polling with deadlines.

#![allow(dead_code)] // each test binary uses a different subset

use ferrochain::chain::{Address, Block, ChainParams, Difficulty, Note, Timestamp, Transaction};
use ferrochain::mining::mine_child_sequential;
use ferrochain::network::{PeerUrl, Timeouts};
use ferrochain::node::{Node, NodeConfig, NodeError};
use ferrochain::storage::StoreError;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Easy enough that a block takes a few hundred hashes.
pub const TEST_BITS: u64 = 8;

pub fn params() -> ChainParams {
    ChainParams::new(Difficulty::new(TEST_BITS).unwrap())
}

pub fn note(text: &str) -> Transaction {
    Transaction::Note(Note::new(text).unwrap())
}

/// Deadlines short enough that tests with dead or silent peers finish quickly.
pub fn test_timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(500),
        total: Duration::from_secs(2),
    }
}

/// A node with its API launched on 127.0.0.1, port 0.
pub struct TestNode {
    pub node: Node,
    pub addr: SocketAddr,
    pub dir: TempDir,
    shutdown: rocket::Shutdown,
}

impl TestNode {
    pub async fn start(params: ChainParams) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, params).await
    }

    pub async fn start_in(dir: TempDir, params: ChainParams) -> TestNode {
        Self::start_with(dir, params, None).await
    }

    /// A node whose block rewards go to `miner` (or to its own key).
    pub async fn start_with(dir: TempDir, params: ChainParams, miner: Option<Address>) -> TestNode {
        let config = NodeConfig {
            miner,
            ..test_config(dir.path(), params)
        };
        Self::start_config(dir, config).await
    }

    /// A node opened with `config` in `dir`. If the directory is still held by a node that is
    /// shutting down (a restart), opening is retried until it is released.
    pub async fn start_config(dir: TempDir, config: NodeConfig) -> TestNode {
        let node = wait_for("the data directory to be free", || {
            let config = config.clone();
            async move {
                match tokio::task::spawn_blocking(move || Node::open(config))
                    .await
                    .unwrap()
                {
                    Ok(node) => Some(node),
                    Err(NodeError::Store(StoreError::Locked(_))) => None,
                    Err(e) => panic!("cannot open the node: {e}"),
                }
            }
        })
        .await;
        let figment = ferrochain::api::figment()
            .merge(("address", "127.0.0.1"))
            .merge(("port", 0))
            .merge(("log_level", "off"))
            .merge(("shutdown.ctrlc", false));
        let rocket = ferrochain::api::build(node.clone(), figment)
            .ignite()
            .await
            .unwrap();
        let shutdown = rocket.shutdown();
        tokio::spawn(rocket.launch());
        let probe = node.clone();
        let addr = wait_for("the node to listen", || {
            let addr = probe.local_addr();
            async move { addr }
        })
        .await;
        TestNode {
            node,
            addr,
            dir,
            shutdown,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn peer_url(&self) -> PeerUrl {
        PeerUrl::for_socket(self.addr)
    }

    pub fn stop(self) -> TempDir {
        self.shutdown.notify();
        self.dir
    }
}

/// The configuration every test node starts from: `params`, two mining threads, short
/// deadlines.
pub fn test_config(dir: &std::path::Path, params: ChainParams) -> NodeConfig {
    NodeConfig {
        params: Some(params),
        mining_threads: Some(2),
        timeouts: test_timeouts(),
        ..NodeConfig::new(dir)
    }
}

/// Points every node at all the others.
pub fn connect_all(nodes: &[&TestNode]) {
    for n in nodes {
        n.node
            .set_peers(nodes.iter().map(|p| p.peer_url()).collect());
    }
}

/// Polls `probe` every 20 ms until it yields `Some`, failing the test after 20 seconds.
pub async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A valid child of `parent` carrying `transactions`, mined with the reference search.
pub fn mine_on(parent: &Block, transactions: Vec<Transaction>) -> Block {
    mine_on_with(&params(), parent, transactions)
}

/// Where blocks mined by the tests themselves pay their reward.
pub fn test_miner() -> Address {
    Address::from_bytes([0xee; 32])
}

/// [`mine_on`] for a chain with other parameters. The block's reward (subsidy plus the
/// transfers' fees) goes to [`test_miner`] and comes first.
pub fn mine_on_with(params: &ChainParams, parent: &Block, transactions: Vec<Transaction>) -> Block {
    mine_on_to(params, parent, test_miner(), transactions)
}

/// [`mine_on_with`] paying the reward to `miner`.
pub fn mine_on_to(
    params: &ChainParams,
    parent: &Block,
    miner: Address,
    transactions: Vec<Transaction>,
) -> Block {
    mine_child_sequential(params, parent, miner, transactions, Timestamp::now())
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A hostile peer: a raw TCP server on loopback that reads a request head and then does whatever
/// `behaviour` says (answer bytes, stall, or close).
#[derive(Clone)]
pub enum Hostile {
    /// Sends these bytes as the whole response, then closes.
    Respond(Vec<u8>),
    /// Accepts and never answers.
    Silent,
    /// Sends a valid response head and then body bytes forever.
    Endless,
}

pub async fn hostile_peer(behaviour: Hostile) -> PeerUrl {
    hostile_peer_counted(behaviour).await.0
}

/// [`hostile_peer`], with the number of connections it has accepted so far.
pub async fn hostile_peer_counted(behaviour: Hostile) -> (PeerUrl, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let behaviour = behaviour.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buf).await;
                match behaviour {
                    Hostile::Respond(bytes) => {
                        let _ = socket.write_all(&bytes).await;
                    }
                    Hostile::Silent => {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                    Hostile::Endless => {
                        let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n";
                        if socket.write_all(head).await.is_err() {
                            return;
                        }
                        let chunk = vec![b' '; 64 * 1024];
                        while socket.write_all(&chunk).await.is_ok() {}
                    }
                }
            });
        }
    });
    (PeerUrl::for_socket(addr), accepted)
}

/// An HTTP response with a JSON body.
pub fn json_response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Spawns `cmd` (a `ferrochain node` on port 0) and waits, up to 30 seconds, for the line it
/// prints once it listens; returns the child and the node's URL. The child's stdout keeps being
/// drained so the node never blocks on it.
pub fn spawn_listening(mut cmd: std::process::Command) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the node prints its address once it listens");
    (child, url)
}

/// The whole main chain of the node at `base` (`http://host:port`), read through `GET /chain`.
pub async fn fetch_chain(base: &str) -> Vec<Block> {
    let v: serde_json::Value = http()
        .get(format!("{base}/chain"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wire: Vec<ferrochain::chain::WireBlock> =
        serde_json::from_value(v["chain"].clone()).unwrap();
    wire.into_iter().map(|w| w.into_block().unwrap()).collect()
}
