//! The node: a cheap-to-clone handle over the store, the miner and the peer client.
//!
//! Everything that changes the chain goes through [`Node::accept`]: validate, write and flush
//! (on a blocking thread, never on an async worker), stop any search the new tip made stale, and
//! only then relay. The API and the tests talk to a `Node`; nothing above it touches sled,
//! rayon or reqwest directly.
//!
//! Peers live in a [`PeerBook`] kept in memory and mirrored to the store; how the node finds,
//! checks, backs off and bans them is in `node/discovery.rs`. Blocks that arrive before their
//! parent wait in a bounded [`OrphanPool`] (`node/orphans.rs`) while the node fetches the
//! missing ancestors from the peer that sent them.

mod discovery;
mod orphans;

pub use discovery::Registration;
pub use orphans::{OrphanPool, Pooled, MAX_ORPHANS, MAX_ORPHAN_BYTES, ORPHAN_TTL};

use crate::chain::{
    block_reward, merkle_root, prefers, validate_transactions, verify_signatures, Account, Address,
    Block, BlockHash, ChainParams, ChainVerifier, Height, InvalidBlock, Rule, SignatureCheck,
    Timestamp, Transaction, Transfer, TxId, Work,
};
use crate::mempool::{Mempool, MempoolError};
use crate::mining::{self, Miner, MinerError, MiningStats, UsageMonitor};
use crate::network::message::{AccountView, Mined, NodeStatus, PeerSync, Resolved};
use crate::network::{
    self, ChainPage, ClaimedTip, PeerBook, PeerClient, PeerError, PeerRecord, PeerSource, PeerUrl,
    RelayOutcome, Timeouts, WrongChain, DEFAULT_MAX_PEERS,
};
use crate::storage::{AcceptReport, ForkPoint, Rejection, Store, StoreError, Tip};
use std::collections::HashMap;
use std::net::IpAddr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Blocks asked of a peer per request while syncing.
pub const SYNC_PAGE: usize = 500;
/// Times one sync locates the fork point again after the peer's chain moved under it.
pub const MAX_RELOCATES: usize = 3;
/// Blocks read per step when re-verifying the stored chain.
const VERIFY_PAGE: usize = 1000;
/// How often a node announces itself to its peers and learns theirs, by default.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(30);

/// How a node is set up; see `ferrochain node --help` for the command-line side.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub data_dir: PathBuf,
    /// Parameters for a new chain, or a check against the stored chain's; `None` takes whatever
    /// the store holds (or the defaults for a new store).
    pub params: Option<ChainParams>,
    /// Peers from the peers file (`nodes.json`): used at once, never dropped.
    pub peers: Vec<PeerUrl>,
    /// Peers from `--peer`: like the file's, but named on the command line.
    pub flag_peers: Vec<PeerUrl>,
    /// The URL this node announces to its peers; `None` uses the address it listens on (unless
    /// that is 0.0.0.0 or `::`, which no peer can reach, and then it announces nothing).
    pub public_url: Option<PeerUrl>,
    /// Time between discovery rounds (announce, learn, retry backed-off peers).
    pub discovery_interval: Duration,
    /// Most peers kept; discovered ones beyond it are ignored (the operator's are always kept).
    pub max_peers: usize,
    /// Mining threads; `None` is one per core.
    pub mining_threads: Option<usize>,
    pub timeouts: Timeouts,
    /// Where block rewards go; `None` uses (and on first start creates) the node's own key,
    /// `miner.key` in the data directory.
    pub miner: Option<Address>,
    pub mempool_capacity: usize,
}

impl NodeConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        NodeConfig {
            data_dir: data_dir.into(),
            params: None,
            peers: Vec::new(),
            flag_peers: Vec::new(),
            public_url: None,
            discovery_interval: DISCOVERY_INTERVAL,
            max_peers: DEFAULT_MAX_PEERS,
            mining_threads: None,
            timeouts: Timeouts::default(),
            miner: None,
            mempool_capacity: Mempool::DEFAULT_CAPACITY,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Miner(#[from] MinerError),
    #[error(transparent)]
    InvalidBlock(#[from] InvalidBlock),
    /// Entries offered for mining break a block rule.
    #[error("cannot mine these transactions: {0}")]
    InvalidTransactions(Rule),
    #[error("a background task failed: {0}")]
    Task(String),
    #[error(
        "entry {index} is not a note: mining takes free-text entries only (send transfers to \
         POST /transactions; the node adds the reward itself)"
    )]
    NotANote { index: usize },
    #[error(transparent)]
    Transaction(#[from] MempoolError),
    #[error("cannot use the node's mining key: {0}")]
    MinerKey(#[from] crate::wallet::WalletError),
    /// A peer offered in a registration serves another chain. Boxed: it is rare, and large
    /// beside the other variants every `Result` of the node carries.
    #[error(transparent)]
    WrongChain(Box<WrongChain>),
    /// A banned peer sent something; it is refused unread.
    #[error("{peer} is banned until {} ms (Unix time): {reason}", until.as_millis())]
    Banned {
        peer: PeerUrl,
        until: Timestamp,
        reason: String,
    },
}

impl From<WrongChain> for NodeError {
    fn from(e: WrongChain) -> Self {
        NodeError::WrongChain(Box::new(e))
    }
}

impl From<tokio::task::JoinError> for NodeError {
    fn from(e: tokio::task::JoinError) -> Self {
        NodeError::Task(e.to_string())
    }
}

/// What became of a block offered with [`Node::submit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockOutcome {
    /// Stored and now on the main chain (possibly after a reorganisation).
    Connected,
    /// Stored on a side branch with no more work than the main chain.
    SideBranch,
    /// Already stored.
    Known,
    /// The parent is unknown; the node is catching up from its peers.
    Orphan { parent: BlockHash },
}

/// Who sent a block or a transfer, as the `X-Ferrochain-Peer` header says, and the address the
/// request came from. The header is only a claim (anyone can name any peer): it is enough to
/// refuse a banned peer and to pick whom to ask for missing ancestors, but a sender is blamed
/// for an invalid block only if the request came from the address its URL names
/// ([`Node::vouches_for`]), so nobody can get an honest peer banned by naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    pub url: PeerUrl,
    pub addr: Option<IpAddr>,
}

/// What became of a transfer offered with [`Node::submit_transfer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferSubmitted {
    /// Admitted to the mempool and relayed.
    New(TxId),
    /// Already pending.
    Known(TxId),
}

/// Where a transaction stands.
#[derive(Clone, Debug)]
pub enum TransactionStatus {
    Pending(Transfer),
    Confirmed {
        transaction: Transaction,
        block: BlockHash,
        height: Height,
    },
}

/// The result of [`Node::verify`].
#[derive(Clone, Debug)]
pub struct Verified {
    /// Blocks checked and found valid.
    pub length: u64,
    pub work: Work,
    /// The first invalid block, if any.
    pub error: Option<InvalidBlock>,
}

#[derive(Debug, thiserror::Error)]
enum SyncError {
    /// The peer could not be reached or answered nonsense: back it off.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// The peer sent an invalid block, or claims what it cannot show: ban it.
    #[error("peer sent {0}")]
    Invalid(String),
    /// The peer's chain kept changing under the sync; honest, but no use now.
    #[error("peer gave up: {0}")]
    Unsettled(String),
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Node(e.into())
    }
}

#[derive(Clone)]
pub struct Node {
    inner: Arc<Shared>,
}

struct Shared {
    store: Store,
    miner: Miner,
    client: PeerClient,
    /// Every known peer with its state. A `std` mutex: it is held for bookkeeping and one
    /// small sled write, never across an `.await`.
    book: Mutex<PeerBook>,
    /// The address the API listens on, once it does; used to skip ourselves in peer lists.
    local_addr: RwLock<Option<SocketAddr>>,
    /// What this node announces: `--public-url`, or the listening address once known.
    public_url: RwLock<Option<PeerUrl>>,
    /// `--public-url` as given, which the listening address does not override.
    configured_public_url: Option<PeerUrl>,
    discovery_interval: Duration,
    /// One search at a time: concurrent `POST /mine` requests queue here.
    mining: tokio::sync::Mutex<()>,
    /// Stop flag of the running search; raised when the tip moves under it.
    search: Mutex<Option<Arc<AtomicBool>>>,
    last_mined: Mutex<Option<MiningStats>>,
    syncing: AtomicBool,
    /// One sync at a time per peer: a resolve, a discovery round and an orphan can all want to
    /// sync from the same peer at once, and two downloads of the same blocks would only compete
    /// for the store. The entry is removed when no sync holds or waits for it.
    syncing_with: Mutex<HashMap<PeerUrl, Arc<tokio::sync::Mutex<()>>>>,
    orphans: Mutex<OrphanPool>,
    usage: Mutex<UsageMonitor>,
    mempool: Mutex<Mempool>,
    miner_address: Address,
}

/// Verifies a block's signatures across every core of rayon's global pool, in batches.
pub struct ParallelSignatures;

impl ParallelSignatures {
    /// Large enough to amortise batch verification, small enough to keep both cores busy.
    const CHUNK: usize = 256;
}

impl SignatureCheck for ParallelSignatures {
    fn check(&self, transfers: &[&Transfer], chain: &BlockHash) -> Result<(), usize> {
        use rayon::prelude::*;
        let first_bad = transfers
            .par_chunks(Self::CHUNK)
            .enumerate()
            .filter_map(|(i, chunk)| {
                verify_signatures(chunk, chain)
                    .err()
                    .map(|j| i * Self::CHUNK + j)
            })
            .min();
        first_bad.map_or(Ok(()), Err)
    }
}

impl Node {
    /// Opens the store (creating or upgrading it) and starts the mining pool. Blocking.
    pub fn open(config: NodeConfig) -> Result<Node, NodeError> {
        let store = Store::open(&config.data_dir, config.params)?;
        let miner = Miner::new(config.mining_threads)?;
        let miner_address = match config.miner {
            Some(address) => address,
            None => crate::wallet::load_or_create_node_key(&config.data_dir.join("miner.key"))?,
        };
        let mempool = Mempool::new(config.mempool_capacity, store.tip().hash);
        let book = discovery::open_book(&store, &config)?;
        Ok(Node {
            inner: Arc::new(Shared {
                store,
                miner,
                client: PeerClient::new(config.timeouts),
                book: Mutex::new(book),
                local_addr: RwLock::new(None),
                public_url: RwLock::new(config.public_url.clone()),
                configured_public_url: config.public_url,
                discovery_interval: config.discovery_interval,
                mining: tokio::sync::Mutex::new(()),
                search: Mutex::new(None),
                last_mined: Mutex::new(None),
                syncing: AtomicBool::new(false),
                syncing_with: Mutex::new(HashMap::new()),
                orphans: Mutex::new(OrphanPool::default()),
                usage: Mutex::new(UsageMonitor::new()),
                mempool: Mutex::new(mempool),
                miner_address,
            }),
        })
    }

    pub fn params(&self) -> &ChainParams {
        self.inner.store.params()
    }

    pub fn tip(&self) -> Tip {
        self.inner.store.tip()
    }

    /// Records where the API listens, so the node skips itself in peer lists, and makes it the
    /// announced URL unless `--public-url` gave one. An unspecified address (0.0.0.0, `::`)
    /// says nothing about how peers reach us, so then the node announces nothing.
    pub fn set_local_addr(&self, addr: SocketAddr) {
        *self.inner.local_addr.write().expect("addr lock") = Some(addr);
        if self.inner.configured_public_url.is_some() {
            return;
        }
        let public = match addr.ip().is_unspecified() {
            true => {
                log::warn!(
                    "listening on {addr} without --public-url: this node will not announce                      itself to its peers (they can still add it with POST /nodes/register)"
                );
                None
            }
            false => Some(PeerUrl::for_socket(addr)),
        };
        *self.inner.public_url.write().expect("public url lock") = public;
    }

    /// The URL this node announces to its peers, if it has one.
    pub fn public_url(&self) -> Option<PeerUrl> {
        self.inner
            .public_url
            .read()
            .expect("public url lock")
            .clone()
    }

    /// Where the API listens, once it does.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        *self.inner.local_addr.read().expect("addr lock")
    }

    /// Whether `url` points at this node: its listening address or its announced URL.
    pub fn is_self(&self, url: &PeerUrl) -> bool {
        self.local_addr()
            .is_some_and(|addr| url.is_local_node(addr))
            || self.public_url().as_ref() == Some(url)
    }

    /// Every known peer, in the order the node heard of them, minus this node itself: the plain
    /// list of `GET /nodes`, whatever each peer's state (URLs known only as banned are left out;
    /// `GET /nodes` shows them under `peers`).
    pub fn peers(&self) -> Vec<PeerUrl> {
        let urls: Vec<PeerUrl> = {
            let book = self.inner.book.lock().expect("book lock");
            let records = book.records().iter().filter(|r| r.source.is_peer());
            records.map(|r| r.url.clone()).collect()
        };
        urls.into_iter().filter(|u| !self.is_self(u)).collect()
    }

    /// Peers to relay to and sync from now: not banned, not backing off, and either named by
    /// the operator or handshaken.
    pub fn usable_peers(&self) -> Vec<PeerUrl> {
        let urls = self
            .inner
            .book
            .lock()
            .expect("book lock")
            .usable(Timestamp::now());
        urls.into_iter().filter(|u| !self.is_self(u)).collect()
    }

    /// Replaces every known peer with `peers`, as if each were given with `--peer`.
    pub fn set_peers(&self, peers: Vec<PeerUrl>) {
        let now = Timestamp::now();
        let mut book = self.inner.book.lock().expect("book lock");
        let mut fresh = PeerBook::new(book.max());
        for url in peers {
            fresh.insert(PeerRecord::new(url, PeerSource::Flag, now));
        }
        *book = fresh;
        if let Err(e) = self.inner.store.clear_peers() {
            log::warn!("cannot clear the stored peers: {e}");
        }
        for record in book.records() {
            self.persist(&book, &record.url);
        }
    }

    /// Adds `peers` as if each were given with `--peer` (used at once, no handshake, never
    /// dropped), skipping ones already known, repeated, or pointing at this node. Returns the
    /// ones added. The peers file is the operator's and is not rewritten.
    pub fn add_peers(&self, peers: Vec<PeerUrl>) -> Vec<PeerUrl> {
        let now = Timestamp::now();
        let mut book = self.inner.book.lock().expect("book lock");
        let mut added = Vec::new();
        for peer in peers {
            if self.is_self(&peer) {
                continue;
            }
            let record = PeerRecord::new(peer.clone(), PeerSource::Flag, now);
            if book.insert(record) == network::Inserted::Added {
                self.persist(&book, &peer);
                added.push(peer);
            }
        }
        added
    }

    pub fn status(&self) -> Result<NodeStatus, NodeError> {
        let (tip, parent) = self.inner.store.tip_context()?;
        Ok(NodeStatus {
            height: tip.height,
            length: tip.length(),
            tip: tip.hash,
            total_work: tip.work,
            next_target: parent.next_target,
            difficulty: parent.next_target.difficulty_bits(),
            params: *self.params(),
            genesis: self.params().genesis_hash(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            peers: self.peers(),
            mining: self.inner.miner.progress(),
            last_mined: self.inner.last_mined.lock().expect("stats lock").clone(),
            syncing: self.inner.syncing.load(Ordering::Relaxed),
            process: Some(self.inner.usage.lock().expect("usage lock").usage()),
            miner: Some(self.inner.miner_address),
            mempool: self.inner.mempool.lock().expect("mempool lock").len(),
            orphans: self.inner.orphans.lock().expect("orphans lock").len(),
        })
    }

    /// Up to `limit` main-chain blocks from `from`.
    pub async fn chain(&self, from: Height, limit: usize) -> Result<Vec<Block>, NodeError> {
        let node = self.clone();
        Ok(tokio::task::spawn_blocking(move || node.inner.store.main_chain(from, limit)).await??)
    }

    pub fn block_at(&self, height: Height) -> Result<Option<Block>, NodeError> {
        Ok(self.inner.store.block_at(height)?)
    }

    pub fn block(&self, hash: &BlockHash) -> Result<Option<Block>, NodeError> {
        Ok(self.inner.store.block(hash)?)
    }

    /// Re-verifies the stored main chain from genesis with the same rules as incoming blocks, a
    /// page at a time, and reports the first block that breaks one.
    pub async fn verify(&self) -> Result<Verified, NodeError> {
        let params = *self.params();
        let now = Timestamp::now();
        let mut verifier = ChainVerifier::new(&params, now);
        let mut from = Height::GENESIS;
        loop {
            let page = self.chain(from, VERIFY_PAGE).await?;
            let count = page.len();
            for block in page {
                if let Err(e) = verifier.push(block) {
                    return Ok(Verified {
                        length: from.get(),
                        work: verifier.work(),
                        error: Some(e),
                    });
                }
                from = from.next();
            }
            if count < VERIFY_PAGE {
                return Ok(Verified {
                    length: from.get(),
                    work: verifier.work(),
                    error: None,
                });
            }
        }
    }

    /// Validates and stores `blocks`, flushing before it returns; stops a search the new tip
    /// made stale. Orphans waiting for a block stored here are then offered in turn.
    pub async fn accept(&self, blocks: Vec<Block>) -> Result<AcceptReport, NodeError> {
        let report = self.accept_batch(blocks).await?;
        if !report.stored.is_empty() {
            let parents = report.stored.iter().map(|(hash, _)| *hash).collect();
            self.connect_orphans(parents).await?;
        }
        Ok(report)
    }

    /// Offers the orphans waiting for `parents` (and then for those, and so on), one at a time
    /// so one invalid orphan does not hold back its siblings. Those that join the main chain
    /// are relayed, like any new block.
    async fn connect_orphans(&self, mut parents: Vec<BlockHash>) -> Result<(), NodeError> {
        while let Some(parent) = parents.pop() {
            let children = {
                let mut pool = self.inner.orphans.lock().expect("orphans lock");
                if pool.is_empty() {
                    return Ok(());
                }
                pool.take_children(&parent)
            };
            for child in children {
                let hash = child.hash();
                let report = self.accept_batch(vec![child.clone()]).await?;
                if let Some(Rejection::Invalid(e)) = &report.rejected {
                    log::info!("orphan {} is invalid: {e}", hash.short());
                }
                if report.connected(&hash) {
                    log::info!(
                        "orphan {} ({}) joined the chain",
                        child.height(),
                        hash.short()
                    );
                    self.spawn_relay(child);
                }
                parents.extend(report.stored.iter().map(|(h, _)| *h));
            }
        }
        Ok(())
    }

    /// [`Node::accept`] without the orphans.
    async fn accept_batch(&self, blocks: Vec<Block>) -> Result<AcceptReport, NodeError> {
        let node = self.clone();
        let report = tokio::task::spawn_blocking(move || {
            node.inner
                .store
                .accept(blocks, Timestamp::now(), &ParallelSignatures)
        })
        .await??;
        if report.tip_changed() {
            // The mempool follows the tip before a stopped search builds its next template.
            let returned = report
                .disconnected
                .iter()
                .flat_map(|b| b.transactions.iter().filter_map(Transaction::as_transfer))
                .cloned()
                .collect();
            self.refresh_mempool(returned);
            if let Some(stop) = self.inner.search.lock().expect("search lock").as_ref() {
                stop.store(true, Ordering::Relaxed);
            }
            log::info!(
                "new tip {} at height {}{}",
                report.tip_after.hash.short(),
                report.tip_after.height,
                match report.disconnected.len() {
                    0 => String::new(),
                    n => format!(" (reorganisation: {n} blocks replaced)"),
                }
            );
        }
        Ok(report)
    }

    /// Takes a block from a client (`POST /add_block`); see [`Node::submit_from`].
    pub async fn submit(&self, block: Block) -> Result<BlockOutcome, NodeError> {
        self.submit_from(block, None).await
    }

    /// Takes a block from a client or a peer (`POST /add_block`), `sender` being who the request
    /// says sent it. A banned sender is refused before anything is checked. Then the checks that
    /// need no parent (proof of work first, then the Merkle root; signatures are never reached
    /// by a block that fails these), then the store's full validation. New blocks that join the
    /// main chain are relayed to every peer. A block whose parent is unknown waits in the orphan
    /// pool while its ancestors are fetched from the sender (or from every peer if the sender
    /// is unknown or not usable). An invalid block gets its sender banned, if the request came
    /// from where the sender's URL points.
    pub async fn submit_from(
        &self,
        block: Block,
        sender: Option<&Sender>,
    ) -> Result<BlockOutcome, NodeError> {
        if let Some(sender) = sender {
            self.refuse_banned(&sender.url)?;
        }
        let hash = block.hash();
        if let Err(e) = self.precheck(&block, hash) {
            self.blame(sender, &e).await;
            return Err(e.into());
        }
        let report = self.accept(vec![block.clone()]).await?;
        match report.rejected {
            Some(Rejection::Invalid(e)) => {
                self.blame(sender, &e).await;
                Err(e.into())
            }
            Some(Rejection::Orphan { parent, height, .. }) => {
                let pooled = {
                    let mut pool = self.inner.orphans.lock().expect("orphans lock");
                    pool.insert(block, Timestamp::now())
                };
                if pooled == Pooled::Added {
                    log::info!(
                        "block {height} ({}) waits for its parent {}",
                        hash.short(),
                        parent.short()
                    );
                }
                self.fetch_ancestors(sender);
                Ok(BlockOutcome::Orphan { parent })
            }
            None if report.known > 0 => Ok(BlockOutcome::Known),
            None if report.connected(&hash) => {
                self.spawn_relay(block);
                Ok(BlockOutcome::Connected)
            }
            None => Ok(BlockOutcome::SideBranch),
        }
    }

    /// The rules a block can be held to without its parent, cheapest first: a target no easier
    /// than the chain ever allows, met by the proof of work (one hash), the entry limits, then
    /// the Merkle root (a hash per entry). Which target the block must carry depends on its
    /// ancestors, so full validation checks that; this only keeps junk out of the orphan pool and
    /// makes a flood cost one hash per block here and real work at the chain's easiest target
    /// for whoever sends it.
    fn precheck(&self, block: &Block, hash: BlockHash) -> Result<(), InvalidBlock> {
        let invalid = |rule| InvalidBlock {
            height: block.height(),
            hash,
            rule,
        };
        let (target, easiest) = (block.header.target, self.params().initial_target());
        if target.value() > easiest.value() {
            return Err(invalid(Rule::BadTarget {
                required: easiest,
                got: target,
            }));
        }
        if !target.check_hash(&hash) {
            return Err(invalid(Rule::BadProofOfWork { hash, target }));
        }
        validate_transactions(&block.transactions).map_err(invalid)?;
        let computed = merkle_root(block.transactions.iter().map(Transaction::txid));
        if computed != block.header.merkle_root {
            return Err(invalid(Rule::BadMerkleRoot {
                computed,
                got: block.header.merkle_root,
            }));
        }
        Ok(())
    }

    /// Refuses anything from `peer` while it is banned.
    pub fn refuse_banned(&self, peer: &PeerUrl) -> Result<(), NodeError> {
        let book = self.inner.book.lock().expect("book lock");
        let now = Timestamp::now();
        match book
            .get(peer)
            .and_then(|r| r.ban.as_ref().filter(|_| r.banned_at(now)))
        {
            Some(ban) => Err(NodeError::Banned {
                peer: peer.clone(),
                until: ban.until,
                reason: ban.reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Bans the sender of an invalid block, if it is vouched for. A timestamp too far ahead is
    /// not held against anyone: it may be our clock that is behind.
    async fn blame(&self, sender: Option<&Sender>, error: &InvalidBlock) {
        let Some(sender) = sender else { return };
        if matches!(error.rule, Rule::TimestampTooNew { .. }) {
            return;
        }
        if self.vouches_for(sender).await {
            self.ban_peer(&sender.url, &format_args!("sent {error}"));
        } else {
            log::info!(
                "{error}, sent by a request from {:?} naming {}, which does not live there",
                sender.addr,
                sender.url
            );
        }
    }

    /// Whether the request really came from the peer it names: the address it came from is one
    /// the peer's URL resolves to (looked up with a short deadline for a domain name).
    pub async fn vouches_for(&self, sender: &Sender) -> bool {
        let Some(addr) = sender.addr.map(|a| a.to_canonical()) else {
            return false;
        };
        match sender.url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip) == addr,
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).to_canonical() == addr,
            Some(url::Host::Domain(domain)) => {
                let port = sender.url.port().unwrap_or(0);
                let lookup = tokio::net::lookup_host((domain.to_owned(), port));
                match tokio::time::timeout(Duration::from_secs(2), lookup).await {
                    Ok(Ok(mut addrs)) => addrs.any(|a| a.ip().to_canonical() == addr),
                    _ => false,
                }
            }
            None => false,
        }
    }

    /// Fetches the ancestors of an orphan in the background: from its sender if that is a peer
    /// we use, else from every peer.
    fn fetch_ancestors(&self, sender: Option<&Sender>) {
        let usable = sender.filter(|s| self.usable_peers().contains(&s.url));
        match usable {
            Some(sender) => self.spawn_sync_with(sender.url.clone()),
            None => self.spawn_catch_up(),
        }
    }

    /// Mines `transactions` into a block on the current tip. If a peer's block moves the tip
    /// during the search, the search stops and starts again on the new tip, so the block returned
    /// is always on the main chain when this returns. The block is stored, flushed and relayed.
    pub async fn mine(&self, transactions: Vec<Transaction>) -> Result<Mined, NodeError> {
        // The node adds the reward and the pending transfers itself; anything but notes from
        // the caller would make a block that validation refuses after the work was spent.
        if let Some(index) = transactions
            .iter()
            .position(|tx| !matches!(tx, Transaction::Note(_)))
        {
            return Err(NodeError::NotANote { index });
        }
        validate_transactions(&transactions).map_err(NodeError::InvalidTransactions)?;
        let _one_search = self.inner.mining.lock().await;
        loop {
            let node = self.clone();
            let (tip, parent) =
                tokio::task::spawn_blocking(move || node.inner.store.tip_context()).await??;
            let entries = self.block_entries(&transactions, tip.hash);
            let header = mining::template(&parent, self.params(), &entries, Timestamp::now());
            let stop = Arc::new(AtomicBool::new(false));
            *self.inner.search.lock().expect("search lock") = Some(stop.clone());
            // A block accepted between reading the tip and registering the flag could not stop
            // this search, so look again now that it is registered.
            if self.tip().hash != tip.hash {
                continue;
            }
            let node = self.clone();
            let (solved, stats) =
                tokio::task::spawn_blocking(move || node.inner.miner.mine(header, &stop)).await?;
            *self.inner.search.lock().expect("search lock") = None;
            let Some(header) = solved else {
                log::info!("search on {} stopped: the tip moved", tip.hash.short());
                continue;
            };
            let block = Block {
                header,
                transactions: entries,
            };
            let hash = block.hash();
            let report = self.accept(vec![block.clone()]).await?;
            if let Some(Rejection::Invalid(e)) = report.rejected {
                // The template follows the same rules validation checks; reaching this is a bug,
                // reported rather than retried forever.
                return Err(e.into());
            }
            if report.connected(&hash) {
                log::info!(
                    "mined block {} ({}): {} attempts in {:.0} ms, {:.2} MH/s on {} threads, \
                     CPU {:.0}%, memory {} MiB",
                    block.height(),
                    hash.short(),
                    stats.attempts,
                    stats.elapsed_ms,
                    stats.hash_rate / 1e6,
                    stats.threads,
                    stats.cpu_percent,
                    stats.memory_bytes / (1024 * 1024)
                );
                *self.inner.last_mined.lock().expect("stats lock") = Some(stats.clone());
                self.spawn_relay(block.clone());
                return Ok(Mined::new(block, stats));
            }
            // A peer's block won the race for this height; mine again on top of it.
        }
    }

    /// A block's entries on `tip`: the reward, the best-paying pending transfers that fit, then
    /// `notes`. The mempool is checked against `tip` first, so every transfer is valid on it.
    fn block_entries(&self, notes: &[Transaction], tip: BlockHash) -> Vec<Transaction> {
        let height = self.tip().height.next();
        let miner = self.inner.miner_address;
        let mut fixed = vec![block_reward(miner, height, &[])];
        fixed.extend_from_slice(notes);
        let room_count = Block::MAX_TRANSACTIONS.saturating_sub(fixed.len());
        let room_bytes = Block::MAX_BYTES.saturating_sub(Block::encoded_len_with(&fixed));
        let transfers: Vec<Transaction> = {
            let mut pool = self.inner.mempool.lock().expect("mempool lock");
            if pool.tip() != tip {
                self.rebuild_locked(&mut pool, tip, Vec::new());
            }
            pool.select(room_count.min(room_bytes / Transfer::ENCODED_LEN))
                .into_iter()
                .map(Transaction::Transfer)
                .collect()
        };
        let mut entries = Vec::with_capacity(fixed.len() + transfers.len());
        entries.push(block_reward(miner, height, &transfers));
        entries.extend(transfers);
        entries.extend_from_slice(notes);
        entries
    }

    /// Re-checks the mempool against the current tip, taking back `returned` transfers.
    /// Rebuilds the mempool on the new tip with the transfers of `returned` (abandoned) blocks,
    /// and relays those that are pending again: peers that were on our old branch mined them
    /// there and dropped them, so without a relay they would wait for a miner on this node.
    fn refresh_mempool(&self, returned: Vec<Transfer>) {
        let tip = self.tip().hash;
        let back: Vec<Transfer> = {
            let mut pool = self.inner.mempool.lock().expect("mempool lock");
            self.rebuild_locked(&mut pool, tip, returned.clone());
            returned
                .into_iter()
                .filter(|t| pool.get(&t.txid()).is_some())
                .collect()
        };
        self.spawn_relay_transfers(back);
    }

    fn rebuild_locked(&self, pool: &mut Mempool, tip: BlockHash, returned: Vec<Transfer>) {
        let store = &self.inner.store;
        let dropped = pool.rebuild(tip, returned, |address| {
            store.account(address).unwrap_or_else(|e| {
                // An unreadable account drops its transfers from the pool; blocks that touch it
                // fail loudly in the store.
                log::error!("reading account {address}: {e}");
                Account::default()
            })
        });
        if dropped > 0 {
            log::info!("mempool: {dropped} transfers mined or no longer valid");
        }
    }

    /// Takes a signed transfer from a client or a peer (`POST /transactions`): checks the
    /// signature and the sender's balance and nonce against the tip plus what is already
    /// pending, then relays it once to every peer.
    pub fn submit_transfer(&self, transfer: Transfer) -> Result<TransferSubmitted, NodeError> {
        let txid = transfer.txid();
        if !transfer.verify_signature(&self.params().genesis_hash()) {
            return Err(MempoolError::BadSignature { txid }.into());
        }
        self.admit_transfer(transfer)
    }

    /// [`Node::submit_transfer`] from `sender`: refused unread if it is banned, and banned (if
    /// vouched for) when the signature is bad, which no honest node relays. Other refusals
    /// (nonce, balance) are not held against it: they can follow from a reorganisation.
    pub async fn submit_transfer_from(
        &self,
        transfer: Transfer,
        sender: Option<&Sender>,
    ) -> Result<TransferSubmitted, NodeError> {
        let Some(sender) = sender else {
            return self.submit_transfer(transfer);
        };
        self.refuse_banned(&sender.url)?;
        let txid = transfer.txid();
        if !transfer.verify_signature(&self.params().genesis_hash()) {
            let error = MempoolError::BadSignature { txid };
            if self.vouches_for(sender).await {
                self.ban_peer(&sender.url, &format_args!("sent {error}"));
            }
            return Err(error.into());
        }
        self.admit_transfer(transfer)
    }

    /// Checks a transfer with a good signature against the tip and the mempool, and relays it.
    fn admit_transfer(&self, transfer: Transfer) -> Result<TransferSubmitted, NodeError> {
        let result = {
            let mut pool = self.inner.mempool.lock().expect("mempool lock");
            let tip = self.tip().hash;
            if pool.tip() != tip {
                self.rebuild_locked(&mut pool, tip, Vec::new());
            }
            let sender = self.inner.store.account(&transfer.from)?;
            pool.insert(transfer.clone(), sender)
        };
        match result {
            Ok(txid) => {
                self.spawn_relay_transfer(transfer);
                Ok(TransferSubmitted::New(txid))
            }
            Err(MempoolError::Known(txid)) => Ok(TransferSubmitted::Known(txid)),
            Err(e) => Err(e.into()),
        }
    }

    /// Pending transfers, highest fee first.
    pub fn pending_transfers(&self) -> Vec<Transfer> {
        self.inner.mempool.lock().expect("mempool lock").by_fee()
    }

    /// A transaction by id: pending in the mempool, or on the main chain.
    pub fn transaction(&self, txid: &TxId) -> Result<Option<TransactionStatus>, NodeError> {
        if let Some(t) = self.inner.mempool.lock().expect("mempool lock").get(txid) {
            return Ok(Some(TransactionStatus::Pending(t.clone())));
        }
        let Some((block, height)) = self.inner.store.transaction_block(txid)? else {
            return Ok(None);
        };
        let transaction = self
            .block(&block)?
            .and_then(|b| b.transactions.into_iter().find(|tx| tx.txid() == *txid));
        Ok(transaction.map(|transaction| TransactionStatus::Confirmed {
            transaction,
            block,
            height,
        }))
    }

    /// An account at the tip with its pending transfers.
    pub fn account(&self, address: &Address) -> Result<AccountView, NodeError> {
        let pool = self.inner.mempool.lock().expect("mempool lock");
        let account = self.inner.store.account(address)?;
        let pending = pool.pending(address);
        Ok(AccountView {
            address: *address,
            balance: account.balance,
            nonce: account.nonce,
            pending,
            next_nonce: account.nonce + pending.count,
        })
    }

    /// Syncs from every peer (see [`Node::sync_with`]) and so adopts the chain with the most
    /// work. Peers that fail or lie are reported and skipped; the good ones still count.
    ///
    /// Banned and backed-off peers, and discovered ones whose handshake has not passed, are not
    /// asked; they are listed with `skipped` and the reason.
    pub async fn resolve(&self) -> Result<Resolved, NodeError> {
        let before = self.tip();
        self.prune_bans();
        let now = Timestamp::now();
        let plan: Vec<(PeerUrl, Option<String>)> = {
            let book = self.inner.book.lock().expect("book lock");
            book.records()
                .iter()
                .map(|r| (r.url.clone(), r.skip_reason(now)))
                .collect()
        };
        let plan = plan.into_iter().filter(|(url, _)| !self.is_self(url));
        let syncs = plan.map(|(peer, skip)| async move {
            match skip {
                Some(reason) => Ok(PeerSync {
                    peer,
                    added: 0,
                    error: Some(reason),
                    skipped: true,
                }),
                None => self.sync_with(&peer).await,
            }
        });
        let peers = futures::future::join_all(syncs)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let tip = self.tip();
        let replaced = tip.hash != before.hash;
        if replaced {
            if let Some(block) = self.block(&tip.hash)? {
                self.spawn_relay(block);
            }
        }
        Ok(Resolved::new(replaced, tip.length(), peers))
    }

    /// Syncs from `peer` (see `sync_from`) and applies the verdict to the peer book: a peer that
    /// does not answer is backed off, one that sends an invalid block or lies about its chain is
    /// banned. Only a failure of this node itself (its store) is an error. A sync already
    /// running with the same peer is waited for first; this one then usually finds nothing left
    /// to fetch.
    pub async fn sync_with(&self, peer: &PeerUrl) -> Result<PeerSync, NodeError> {
        let lock = self.sync_lock(peer);
        let result = {
            let _one_at_a_time = lock.lock().await;
            self.sync_verdict(peer).await
        };
        self.release_sync_lock(peer, lock);
        result
    }

    async fn sync_verdict(&self, peer: &PeerUrl) -> Result<PeerSync, NodeError> {
        let mut added = 0;
        let error = match self.sync_from(peer, &mut added).await {
            Ok(()) => {
                self.peer_answered(peer);
                None
            }
            Err(SyncError::Node(e)) => return Err(e),
            Err(e @ (SyncError::Peer(_) | SyncError::Unsettled(_))) => {
                log::info!("sync from {peer} stopped: {e}");
                self.peer_failed(peer, &e);
                Some(e.to_string())
            }
            Err(e @ SyncError::Invalid(_)) => {
                log::info!("sync from {peer} stopped: {e}");
                self.ban_peer(peer, &e);
                Some(e.to_string())
            }
        };
        Ok(PeerSync {
            peer: peer.clone(),
            added,
            error,
            skipped: false,
        })
    }

    /// Our main chain as a block locator (see `storage/locator.rs`).
    pub async fn locator(&self) -> Result<Vec<BlockHash>, NodeError> {
        let node = self.clone();
        Ok(tokio::task::spawn_blocking(move || node.inner.store.locator()).await??)
    }

    /// The highest entry of a peer's `locator` on our main chain.
    pub async fn find_fork(&self, locator: Vec<BlockHash>) -> Result<Option<ForkPoint>, NodeError> {
        let node = self.clone();
        Ok(tokio::task::spawn_blocking(move || node.inner.store.find_fork(&locator)).await??)
    }

    /// Fetches what `peer` has and we lack, and offers it to [`Node::accept`] page by page: known
    /// blocks are skipped, new ones validated against their parents and stored (a heavier branch
    /// becomes the main chain as soon as it outweighs ours).
    ///
    /// First the peer is sent our block locator and answers where our chains meet, with its tip.
    /// If it claims no more work than we have, there is nothing to fetch. Otherwise its main
    /// chain is read from just above the fork point. Every page must continue the one before:
    /// a page whose first block does not link to what we have means the peer's chain moved
    /// (it reorganised) while we read it, so we locate again, at most [`MAX_RELOCATES`] times.
    /// A page that does not link inside itself, an invalid block, or a claimed tip the peer does
    /// not serve (after re-locating) is a lie: [`SyncError::Invalid`].
    async fn sync_from(&self, peer: &PeerUrl, added: &mut usize) -> Result<(), SyncError> {
        let client = &self.inner.client;
        let mut relocates = 0;
        let mut relocate = |why: String| {
            relocates += 1;
            match relocates > MAX_RELOCATES {
                true => Err(why),
                false => Ok(()),
            }
        };
        'locate: loop {
            let locator = self.locator().await?;
            let located = client.locate(peer, &locator).await?;
            let (fork, claimed) = (located.fork, located.tip);
            let ours = self.inner.store.meta(&fork.hash)?;
            if !locator.contains(&fork.hash) || ours.map(|m| m.height) != Some(fork.height) {
                return Err(SyncError::Invalid(format!(
                    "fork point {} at {} that is not in our locator",
                    fork.hash, fork.height
                )));
            }
            if !prefers(claimed.work, self.tip().work) {
                return Ok(());
            }
            if claimed.height <= fork.height {
                return Err(SyncError::Invalid(format!(
                    "a tip at {} with work {} below its fork point with us at {}",
                    claimed.height, claimed.work, fork.height
                )));
            }
            let (mut from, mut parent) = (fork.height.next(), fork.hash);
            let mut page = client.chain_page(peer, from, SYNC_PAGE).await;
            loop {
                let blocks = check_page(page?, from, SYNC_PAGE)?;
                let Some(last) = blocks.last().map(|b| (b.hash(), b.height())) else {
                    // The peer serves less than it claimed. Its chain may have moved to a shorter
                    // one since it answered; ask again before calling it a lie.
                    let why = format!(
                        "a tip at {} but serves blocks only up to {}",
                        claimed.height,
                        from.prev().unwrap_or_default()
                    );
                    relocate(why).map_err(SyncError::Invalid)?;
                    continue 'locate;
                };
                if blocks[0].header.prev_hash != parent {
                    let why = format!(
                        "its chain kept moving while we read it (block {} no longer follows {})",
                        from,
                        parent.short()
                    );
                    relocate(why).map_err(SyncError::Unsettled)?;
                    continue 'locate;
                }
                // The next page downloads (and its JSON decodes) while this one is validated
                // and written on a blocking thread: the two overlap instead of taking turns.
                let more = last.1 < claimed.height;
                let next_from = last.1.next();
                let prefetch = async {
                    match more {
                        true => Some(client.chain_page(peer, next_from, SYNC_PAGE).await),
                        false => None,
                    }
                };
                let (report, next) = tokio::join!(self.accept(blocks), prefetch);
                let report = report?;
                *added += report.stored.len();
                match report.rejected {
                    // A block from the future may be our clock's fault: stop, blame no one.
                    Some(Rejection::Invalid(e))
                        if matches!(e.rule, Rule::TimestampTooNew { .. }) =>
                    {
                        return Err(SyncError::Unsettled(format!(
                            "{e} (this node's clock may be behind)"
                        )))
                    }
                    Some(Rejection::Invalid(e)) => return Err(SyncError::Invalid(e.to_string())),
                    Some(Rejection::Orphan { hash, .. }) => {
                        // Cannot happen: the page links to a block we have, and inside itself.
                        return Err(SyncError::Invalid(format!(
                            "block {hash} that links nowhere"
                        )));
                    }
                    None => {}
                }
                let Some(next) = next else {
                    return self.check_claim(&claimed, last.0);
                };
                (page, from, parent) = (next, next_from, last.0);
            }
        }
    }

    /// Once a sync reached the height a peer claimed: if it ended on the claimed tip, the work
    /// the peer claimed must be what its blocks carry.
    fn check_claim(&self, claimed: &ClaimedTip, last: BlockHash) -> Result<(), SyncError> {
        if last != claimed.hash {
            // The peer grew or reorganised meanwhile; what we stored was checked block by block.
            return Ok(());
        }
        let work = self.inner.store.meta(&last)?.map(|m| m.chain_work);
        match work {
            Some(work) if work == claimed.work => Ok(()),
            _ => Err(SyncError::Invalid(format!(
                "a tip {} with work {}, but its blocks carry {}",
                claimed.hash,
                claimed.work,
                work.unwrap_or_default()
            ))),
        }
    }

    /// Starts a background resolve unless one is already running.
    fn spawn_catch_up(&self) {
        if self.inner.syncing.swap(true, Ordering::AcqRel) {
            return;
        }
        let node = self.clone();
        tokio::spawn(async move {
            if let Err(e) = node.resolve().await {
                log::warn!("catching up from peers failed: {e}");
            }
            node.inner.syncing.store(false, Ordering::Release);
        });
    }

    /// Syncs from `peer` in the background unless a sync with it is already running.
    fn spawn_sync_with(&self, peer: PeerUrl) {
        if self.sync_lock(&peer).try_lock().is_err() {
            return;
        }
        let node = self.clone();
        tokio::spawn(async move {
            match node.sync_with(&peer).await {
                Ok(sync) if sync.added > 0 => {
                    log::info!("took {} blocks from {peer}", sync.added)
                }
                Ok(_) => {}
                Err(e) => log::warn!("syncing from {peer} failed: {e}"),
            }
        });
    }

    /// The lock that keeps syncs with `peer` one at a time.
    fn sync_lock(&self, peer: &PeerUrl) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.syncing_with.lock().expect("syncing lock");
        locks.entry(peer.clone()).or_default().clone()
    }

    /// Forgets the sync lock of `peer` once nobody holds or waits for it (the map and `lock`
    /// itself are the only references left).
    fn release_sync_lock(&self, peer: &PeerUrl, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.inner.syncing_with.lock().expect("syncing lock");
        if Arc::strong_count(&lock) == 2 {
            locks.remove(peer);
        }
    }

    /// Sends `transfer` to every usable peer in the background.
    fn spawn_relay_transfer(&self, transfer: Transfer) {
        self.spawn_relay_transfers(vec![transfer]);
    }

    /// Sends `transfers` to every usable peer in the background, one after another (however
    /// many a reorganisation gave back, one task does it).
    fn spawn_relay_transfers(&self, transfers: Vec<Transfer>) {
        let peers = self.usable_peers();
        if peers.is_empty() || transfers.is_empty() {
            return;
        }
        let node = self.clone();
        tokio::spawn(async move {
            let me = node.public_url();
            for transfer in &transfers {
                let outcome =
                    network::broadcast_transfer(&node.inner.client, &peers, transfer, me.as_ref())
                        .await;
                node.record_relay(outcome);
            }
        });
    }

    /// Sends `block` to every usable peer in the background.
    fn spawn_relay(&self, block: Block) {
        let peers = self.usable_peers();
        if peers.is_empty() {
            return;
        }
        let node = self.clone();
        tokio::spawn(async move {
            let me = node.public_url();
            let outcome = network::broadcast(&node.inner.client, &peers, &block, me.as_ref()).await;
            node.record_relay(outcome);
        });
    }

    /// Backs off the peers a relay could not reach; the others answered.
    fn record_relay(&self, outcome: RelayOutcome) {
        for (peer, result) in outcome {
            match result {
                Ok(()) => self.peer_answered(&peer),
                Err(e) => self.peer_failed(&peer, &e),
            }
        }
    }
}

/// The blocks of a `GET /chain` page asked for from `from`: at most `limit`, at consecutive
/// heights from `from`, each the child of the one before. Anything else is a lie.
fn check_page(page: ChainPage, from: Height, limit: usize) -> Result<Vec<Block>, SyncError> {
    let count = page.chain.len();
    if count > limit {
        return Err(SyncError::Invalid(format!(
            "{count} blocks where at most {limit} were asked for"
        )));
    }
    let mut blocks: Vec<Block> = Vec::with_capacity(count);
    for (i, wire) in page.chain.into_iter().enumerate() {
        let expected = Height::new(from.get() + i as u64);
        if wire.index != expected {
            return Err(SyncError::Invalid(format!(
                "block {} where block {expected} was due",
                wire.index
            )));
        }
        let block = wire
            .into_block()
            .map_err(|e| SyncError::Invalid(e.to_string()))?;
        if let Some(prev) = blocks.last() {
            if block.header.prev_hash != prev.hash() {
                return Err(SyncError::Invalid(format!(
                    "block {expected} that does not follow the block before it"
                )));
            }
        }
        blocks.push(block);
    }
    Ok(blocks)
}
