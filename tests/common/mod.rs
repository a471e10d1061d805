//! Helpers shared by the integration tests: nodes on loopback port 0 in temp dirs, blocks mined
//! at an easy difficulty, hostile peers, and polling with deadlines.

#![allow(dead_code)] // each test binary uses a different subset

use ferrochain::chain::{
    Address, Block, ChainParams, Difficulty, Note, Timestamp, Transaction, Work,
};
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
        Self::start_on(dir, config, 0).await
    }

    /// [`TestNode::start_config`] listening on `port` (0: any free one).
    pub async fn start_on(dir: TempDir, config: NodeConfig, port: u16) -> TestNode {
        Self::start_tuned(dir, config, port, Vec::new()).await
    }

    /// [`TestNode::start_on`] with Rocket `settings` merged into the API's configuration.
    pub async fn start_tuned(
        dir: TempDir,
        config: NodeConfig,
        port: u16,
        settings: Vec<(&'static str, rocket::figment::value::Value)>,
    ) -> TestNode {
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
        let mut figment = ferrochain::api::figment()
            .merge(("address", "127.0.0.1"))
            .merge(("port", port))
            .merge(("log_level", "off"))
            .merge(("shutdown.ctrlc", false));
        for setting in settings {
            figment = figment.merge(setting);
        }
        let server = ferrochain::api::ignite(node.clone(), figment)
            .await
            .unwrap();
        let shutdown = server.shutdown();
        tokio::spawn(node.clone().run(shutdown.clone()));
        tokio::spawn(server.launch());
        let probe = node.clone();
        let addr = wait_for("the node to listen", || {
            let addr = probe.peers().local_addr();
            async move { addr }
        })
        .await;
        // A node started without peers has run its first discovery round (with nobody) before
        // the test goes on: peers it is given next are met by the test's own steps, not by a
        // round that happened to start at the same moment.
        if config.peers.is_empty() && config.flag_peers.is_empty() {
            wait_for("the first discovery round", || {
                let done = probe.discovery().rounds() > 0;
                async move { done.then_some(()) }
            })
            .await;
        }
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

    /// The block at the tip of the node's main chain.
    pub async fn tip_block(&self) -> Block {
        let chain = self.node.chain();
        chain.block(self.node.tip().hash).await.unwrap().unwrap()
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
            .peers()
            .set(nodes.iter().map(|p| p.peer_url()).collect());
    }
}

/// Polls `probe` every 20 ms until it yields `Some`, failing the test after 20 seconds.
pub async fn wait_for<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    wait_within(Duration::from_secs(20), what, probe).await
}

/// [`wait_for`] with the deadline a scenario promises (a block reaching a peer within seconds).
pub async fn wait_within<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting {limit:?} for {what}"
        );
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

/// The JSON a `GET` of `url` answers, or `None` if nothing answers or the body is not JSON
/// (a node still starting, say).
pub async fn try_get_json(url: &str) -> Option<serde_json::Value> {
    http().get(url).send().await.ok()?.json().await.ok()
}

/// The JSON a `GET` of `url` answers.
pub async fn get_json(url: &str) -> serde_json::Value {
    let answer = http().get(url).send().await.unwrap();
    answer.json().await.unwrap()
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

/// What a scripted peer answers: a status code and a JSON body.
pub type Answer = (u16, String);

/// The requests a scripted peer has read, in order: `"METHOD /path?query"` and the sender the
/// request named in `X-Ferrochain-Peer`, if any.
#[derive(Clone, Default)]
pub struct Requests(Arc<std::sync::Mutex<Vec<Request>>>);

/// `"METHOD /path?query"` and the `X-Ferrochain-Peer` it named.
pub type Request = (String, Option<String>);

impl Requests {
    pub fn log(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Each request with the sender it named.
    pub fn senders(&self) -> Vec<Request> {
        self.0.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// What a scripted peer on our chain answers to the handshake and discovery (`status`, as a
/// node on this chain answers `GET /status`), so that it stays usable; `None` for other paths.
pub fn as_a_node_would(status: &str, path: &str) -> Option<Answer> {
    match path {
        "/status" => Some((200, status.to_owned())),
        "/nodes" => Some((200, r#"{"nodes": []}"#.to_owned())),
        "/nodes/register" => Some((200, "{}".to_owned())),
        _ => None,
    }
}

/// A peer scripted by the test: a raw HTTP/1.1 server on loopback that reads each request (head
/// and `content-length` body) and answers `answer(method, path with query, body)`, one request
/// per connection. Returns its URL and the requests it has read so far.
pub async fn scripted_peer<F>(answer: F) -> (PeerUrl, Requests)
where
    F: Fn(&str, &str, &[u8]) -> Answer + Send + Sync + 'static,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Requests::default();
    let counter = requests.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (answer, counter) = (answer.clone(), counter.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16 * 1024];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let mut words = head.split_whitespace();
                let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                let sender = head.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("x-ferrochain-peer")
                        .then(|| value.trim().to_owned())
                });
                counter
                    .0
                    .lock()
                    .unwrap()
                    .push((format!("{method} {path}"), sender));
                let (status, body) = answer(method, path, &buf[head_end..head_end + length]);
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (PeerUrl::for_socket(addr), requests)
}

/// The work one block at the test difficulty adds to a chain.
pub fn block_work() -> Work {
    params().initial_target().work()
}

/// What a [`chain_peer`] claims beyond the blocks it serves.
#[derive(Clone, Copy, Debug, Default)]
pub struct Claim {
    /// A tip height other than its last block's.
    pub height: Option<u64>,
    /// Total work other than its blocks'.
    pub work: Option<Work>,
}

/// A peer serving `blocks` (genesis first) as its main chain through `GET /status`,
/// `POST /chain/locate` and `GET /chain?from=&limit=`, claiming what `claim` says about its tip.
/// Blocks are served as given, so a test can hand it edited or unmined ones.
pub async fn chain_peer(blocks: Vec<Block>, claim: Claim) -> (PeerUrl, Requests) {
    scripted_peer(move |method, path, body| chain_answer(&blocks, claim, method, path, body)).await
}

/// How a [`chain_peer`] serving `blocks` answers one request.
pub fn chain_answer(
    blocks: &[Block],
    claim: Claim,
    method: &str,
    path: &str,
    body: &[u8],
) -> Answer {
    let tip = blocks.last().unwrap();
    let height = claim.height.unwrap_or(tip.height().get());
    let work = claim.work.unwrap_or(Work::from_u128(
        block_work().to_u128() * blocks.len() as u128,
    ));
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let claimed = serde_json::json!({"height": height, "hash": tip.hash(), "work": work});
    match (method, route) {
        ("GET", "/status") => (
            200,
            serde_json::json!({"genesis": blocks[0].hash(), "height": height, "tip": tip.hash(),
                               "total_work": work})
            .to_string(),
        ),
        ("POST", "/chain/locate") => {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let fork = v["locator"].as_array().into_iter().flatten().find_map(|h| {
                blocks
                    .iter()
                    .find(|b| b.hash().to_string() == h.as_str().unwrap_or(""))
            });
            match fork {
                Some(b) => (
                    200,
                    serde_json::json!({"fork": {"height": b.height(), "hash": b.hash()},
                                       "tip": claimed})
                    .to_string(),
                ),
                None => (
                    422,
                    r#"{"error":"no_common_block","message":""}"#.to_owned(),
                ),
            }
        }
        ("GET", "/chain") => {
            let arg = |name: &str| {
                query.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    (k == name).then(|| v.parse::<usize>().ok())?
                })
            };
            let from = arg("from").unwrap_or(0).min(blocks.len());
            let limit = arg("limit").unwrap_or(blocks.len());
            let page = &blocks[from..(from + limit).min(blocks.len())];
            (
                200,
                serde_json::json!({"length": height + 1, "chain": page}).to_string(),
            )
        }
        _ => (404, r#"{"error":"not_found","message":""}"#.to_owned()),
    }
}

/// `n` valid blocks on `parent`, a millisecond apart from its timestamp (so a long chain stays
/// within the two hours a timestamp may run ahead), each with a note tagged `tag`.
pub fn build_chain(parent: &Block, n: usize, tag: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::with_capacity(n);
    for i in 0..n {
        let parent = blocks.last().unwrap_or(parent);
        let ts = parent.header.timestamp.saturating_add_millis(1);
        let txs = vec![note(&format!("{tag} {i}"))];
        blocks.push(mine_child_sequential(
            &params(),
            parent,
            test_miner(),
            txs,
            ts,
        ));
    }
    blocks
}

/// Offers `blocks` to `node` a thousand at a time and checks every one was stored.
pub async fn give(node: &TestNode, blocks: &[Block]) {
    for chunk in blocks.chunks(1000) {
        let report = node.node.chain().accept(chunk.to_vec()).await.unwrap();
        assert!(report.rejected.is_none(), "{:?}", report.rejected);
    }
}

/// The raw database at `path`, behind the node's back. A node dropped just before may hold
/// sled's own lock a moment longer (its thread pool finishes the last write), so retry briefly.
pub fn raw_db(path: &std::path::Path) -> sled::Db {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("cannot open {}: {e}", path.display()),
        }
    }
}

/// A loopback port nothing listens on now (bound, then released), and its peer URL: a node that
/// is down, until a test starts one there.
pub fn free_port() -> (u16, PeerUrl) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (addr.port(), PeerUrl::for_socket(addr))
}

/// The API of a fresh node through Rocket's local client (nothing listens), with Rocket
/// `settings` merged into its configuration.
pub fn local_client(
    settings: &[(&str, serde_json::Value)],
) -> (rocket::local::blocking::Client, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(NodeConfig {
        params: Some(params()),
        mining_threads: Some(2),
        ..NodeConfig::new(dir.path())
    })
    .unwrap();
    let mut figment = ferrochain::api::figment().merge(("log_level", "off"));
    for (key, value) in settings {
        figment = figment.merge((*key, value));
    }
    let rocket = ferrochain::api::build(node, figment);
    (
        rocket::local::blocking::Client::tracked(rocket).unwrap(),
        dir,
    )
}

/// Asserts an error answer: the status, JSON with the `error` code, and a message, which it
/// returns.
pub fn assert_error(
    resp: rocket::local::blocking::LocalResponse<'_>,
    status: rocket::http::Status,
    code: &str,
) -> String {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.content_type(), Some(rocket::http::ContentType::JSON));
    let v: serde_json::Value = resp.into_json().expect("a JSON body");
    assert_eq!(v["error"], code, "{v}");
    let message = v["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty());
    message
}
