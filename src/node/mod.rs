//! The node: a cheap-to-clone handle over its parts, and the lifecycle that runs them.
//!
//! # Parts
//!
//! Each part owns its state behind its own handle; none can reach another's data. They hear of a
//! new tip from one published value, and hand blocks and transfers worth relaying to one outbox.
//!
//! - [`ChainState`] (`state.rs`): the store, the tip (a `watch` channel), the orphan pool, and
//!   block acceptance: validate, write and flush on a blocking thread, then publish.
//! - [`Peers`] (`peers.rs`): the peer book with its verdicts (answered, failed, banned), the peer
//!   client, and who this node is to its peers (listening address, public URL).
//! - [`ChainSync`] (`sync.rs`): one sync [`Session`](sync::Session) per peer at a time, with
//!   typed outcomes that decide back-off or ban; resolve; fetching an orphan's ancestors.
//! - [`Discovery`] (`discovery.rs`): registration, the handshake and periodic discovery rounds.
//! - [`Mining`] (`mining.rs`): templates and the search, which stops when the tip moves.
//! - [`Transfers`] (`transfers.rs`): the mempool, which follows the tip on its own.
//! - `relay.rs`: the outbox and the loop that sends what it holds to every usable peer.
//! - `tasks.rs`: every background task, owned, and ended by [`Node::run`].
//!
//! The handle itself opens the parts ([`Node::open`]), runs their background work
//! ([`Node::run`]), and does what spans parts: taking a block or a transfer from a client or a
//! peer (checks, acceptance, orphans, blame), and `GET /status`.

mod discovery;
mod events;
#[cfg(test)]
mod fake;
mod metrics;
mod mining;
mod orphans;
mod peers;
mod relay;
mod state;
mod sync;
mod tasks;
mod transfers;

pub use discovery::{Discovery, Registration, DISCOVERY_FANOUT, DISCOVERY_INTERVAL, MEETS_AT_ONCE};
pub use events::{Events, BUFFER as EVENT_BUFFER, REORGS_KEPT};
pub use metrics::{Gauges, Metrics};
pub use mining::Mining;
pub use orphans::{OrphanPool, Pooled, MAX_ORPHANS, MAX_ORPHAN_BYTES, ORPHAN_TTL};
pub use peers::{Peers, Sender};
pub use relay::{Claim, Outgoing, Relay, Traffic, MAX_ANNOUNCERS, MAX_FETCHES, OUTBOX};
pub use state::{ChainState, ChainTip, ParallelSignatures};
pub use sync::{ChainSync, Lie, Session, SyncError, Unsettled, MAX_RELOCATES, SYNC_PAGE};
pub use tasks::{Tasks, SHUTDOWN_GRACE};
pub use transfers::{TransferSubmitted, Transfers};

use crate::chain::{
    validate_signature, Address, Block, BlockHash, ChainParams, Height, InvalidBlock, Timestamp,
    Transaction, Transfer, TxId, TxPosition,
};
use crate::mempool::{Mempool, MempoolError};
use crate::mining::{Kernel, Miner, MinerError, ProcessUsage, UsageMonitor};
use crate::network::message::{
    AccountHistory, AccountView, Announcement, Event, EventId, Health, HistoryItem, NodeStatus,
};
use crate::network::{
    PeerBook, PeerClient, PeerError, PeerState, PeerUrl, Timeouts, WrongChain, DEFAULT_MAX_INBOUND,
    DEFAULT_MAX_PEERS,
};
use crate::storage::{Rejection, Store, StoreError, Tip};
pub use crate::storage::{Verified, VERIFY_RESTARTS};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

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
    /// Most peers picked (the operator's and learned ones); learned ones beyond it are ignored,
    /// the operator's always kept.
    pub max_peers: usize,
    /// Most peers kept that registered themselves with this node, beside the ones it picked.
    pub max_inbound: usize,
    /// Mining threads; `None` is one per core.
    pub mining_threads: Option<usize>,
    /// The mining kernel; `None` is the fastest the CPU has.
    pub mining_kernel: Option<Kernel>,
    pub timeouts: Timeouts,
    /// A proxy for every request to a peer (`--proxy`); `None` goes straight to each peer,
    /// whatever proxy variables the environment sets.
    pub proxy: Option<url::Url>,
    /// Where block rewards go; `None` uses (and on first start creates) the node's own key,
    /// `miner.key` in the data directory.
    pub miner: Option<Address>,
    pub mempool_capacity: usize,
    /// Free bytes the store's disk keeps: a block that would leave less is refused (507).
    pub disk_reserve: u64,
    /// Usable peers the node needs to call itself ready (`GET /health/ready`).
    pub min_peers: usize,
}

/// How old a reading of the process's CPU and memory may be when `GET /status` or a scrape
/// shows it.
pub const USAGE_MAX_AGE: Duration = Duration::from_secs(1);

/// Why a node is not ready to serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("the node is catching up with its peers")]
    Syncing,
    #[error("{usable} usable peers, {needed} needed (--min-peers)")]
    FewPeers { usable: usize, needed: usize },
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
            max_inbound: DEFAULT_MAX_INBOUND,
            mining_threads: None,
            mining_kernel: None,
            timeouts: Timeouts::default(),
            proxy: None,
            miner: None,
            mempool_capacity: Mempool::DEFAULT_CAPACITY,
            disk_reserve: crate::storage::DEFAULT_RESERVE,
            min_peers: 0,
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
    InvalidTransactions(crate::chain::Rule),
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error(
        "entry {index} is not a note: mining takes free-text entries only (send transfers to \
         POST /transactions; the node adds the reward itself)"
    )]
    NotANote { index: usize },
    #[error(transparent)]
    Transaction(#[from] MempoolError),
    #[error("cannot use the node's mining key: {0}")]
    MinerKey(#[from] crate::wallet::WalletError),
    #[error(transparent)]
    Token(#[from] crate::token::TokenError),
    /// A peer offered in a registration serves another chain. Boxed: it is rare, and large
    /// beside the other variants every `Result` of the node carries.
    #[error(transparent)]
    WrongChain(Box<WrongChain>),
    /// An announcement that does not name its sender, so there is nobody to fetch from.
    #[error(
        "an announcement must name its sender in the {} header: the block is fetched from it",
        crate::network::PEER_HEADER
    )]
    AnonymousAnnouncement,
    /// An announcement naming a sender it did not come from: the node would fetch from a URL
    /// the announcer picked, on someone else's behalf.
    #[error("the announcement did not come from {0}, the sender it names")]
    NotFromSender(PeerUrl),
    /// The node is shutting down: a search it was running has been stopped.
    #[error("the node is shutting down; the search was stopped and no block was mined")]
    ShuttingDown,
    /// A registration naming a URL on this machine's own host, to a node reachable beyond it.
    #[error(
        "{0} names a host on this node's own machine or link; a node reachable beyond loopback \
         takes such peers only from its operator (--peer or the peers file)"
    )]
    LocalPeerUrl(PeerUrl),
    /// As many blocks as the node fetches at once are being fetched.
    #[error("{MAX_FETCHES} blocks are being fetched; announce again later")]
    Busy,
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

/// What became of an announcement ([`Node::announced`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Announced {
    /// The node has the block (or holds it as an orphan).
    Known,
    /// The node fetches it, from this announcer or from the one that came first.
    Fetching,
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

#[derive(Clone)]
pub struct Node {
    inner: Arc<Parts>,
}

struct Parts {
    chain: ChainState,
    peers: Peers,
    sync: ChainSync,
    discovery: Discovery,
    mining: Mining,
    transfers: Transfers,
    tasks: Tasks,
    /// The relay outbox's receiving end, until [`Node::run`] takes it.
    outbox: Mutex<Option<mpsc::Receiver<Outgoing>>>,
    /// A `std` mutex: sampling the process takes microseconds and never awaits.
    usage: Mutex<UsageMonitor>,
    /// The API token's file in the data directory (see [`crate::token`]).
    token_file: PathBuf,
    data_dir: PathBuf,
    min_peers: usize,
}

impl Node {
    /// Opens the store (creating or upgrading it), starts the mining pool and assembles the
    /// parts. Blocking. Nothing runs in the background until [`Node::run`].
    pub fn open(config: NodeConfig) -> Result<Node, NodeError> {
        let store = Arc::new(Store::open(&config.data_dir, config.params)?);
        store.set_reserve(config.disk_reserve);
        let kernel = config.mining_kernel.unwrap_or_else(Kernel::best);
        let miner = Miner::with_kernel(config.mining_threads, kernel)?;
        let address = match config.miner {
            Some(address) => address,
            None => crate::wallet::load_or_create_node_key(&config.data_dir.join("miner.key"))?,
        };
        let token_file = crate::token::ApiToken::load_or_create(&config.data_dir)?;
        let book: PeerBook = Peers::open_book(
            &store,
            config.max_peers,
            config.max_inbound,
            &config.peers,
            &config.flag_peers,
        )?;
        let (relay, outbox) = Relay::new();
        let tasks = Tasks::default();
        let events = Events::new();
        let metrics = Metrics::new();
        let chain = ChainState::new(store.clone(), relay, events.clone(), metrics.clone())?;
        let client = Arc::new(PeerClient::new(config.timeouts, config.proxy.as_ref()));
        let peers = Peers::new(client, store, book, config.public_url, metrics);
        let sync = ChainSync::new(chain.clone(), peers.clone(), tasks.clone());
        let transfers = Transfers::new(chain.clone(), config.mempool_capacity, events);
        let mining = Mining::new(
            chain.clone(),
            transfers.clone(),
            miner,
            address,
            tasks.clone(),
        );
        let discovery = Discovery::new(
            peers.clone(),
            chain.clone(),
            sync.clone(),
            tasks.clone(),
            config.discovery_interval,
        );
        Ok(Node {
            inner: Arc::new(Parts {
                chain,
                peers,
                sync,
                discovery,
                mining,
                transfers,
                tasks,
                outbox: Mutex::new(Some(outbox)),
                usage: Mutex::new(UsageMonitor::new()),
                token_file,
                data_dir: config.data_dir,
                min_peers: config.min_peers,
            }),
        })
    }

    /// Runs the node's background work until `shutdown` completes: the relay loop, discovery
    /// rounds (from when the API listens), the mempool following the tip, and the peer and
    /// mining events; then ends every
    /// task the node started, relays and syncs included, and returns. Call it once, beside
    /// launching the API.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let tasks = &self.inner.tasks;
        match self.inner.outbox.lock().expect("outbox lock").take() {
            Some(outbox) => {
                tasks.spawn(relay::run(outbox, self.inner.peers.clone(), tasks.clone()))
            }
            None => log::warn!("Node::run called twice; the second run relays nothing"),
        }
        tasks.spawn(self.inner.discovery.clone().run());
        tasks.spawn(
            self.inner
                .transfers
                .clone()
                .follow(self.inner.chain.subscribe()),
        );
        let events = self.inner.chain.events().clone();
        tasks.spawn(events.clone().follow_peers(self.inner.peers.clone()));
        let node = self.clone();
        tasks.spawn(events.follow_mining(move || node.inner.mining.report(node.usage())));
        shutdown.await;
        tasks.shut_down().await;
        // Blocks were flushed as they were taken; this writes what may wait (the peer book).
        let chain = self.inner.chain.clone();
        match tokio::task::spawn_blocking(move || chain.store().flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("cannot flush the store at shutdown: {e}"),
            Err(e) => tracing::error!("cannot flush the store at shutdown: {e}"),
        }
    }

    pub fn chain(&self) -> &ChainState {
        &self.inner.chain
    }

    pub fn peers(&self) -> &Peers {
        &self.inner.peers
    }

    pub fn sync(&self) -> &ChainSync {
        &self.inner.sync
    }

    pub fn discovery(&self) -> &Discovery {
        &self.inner.discovery
    }

    pub fn mining(&self) -> &Mining {
        &self.inner.mining
    }

    /// The node's health: `Ok` when it is ready to serve (not catching up with its peers, and
    /// with at least `--min-peers` usable peers), else why not.
    pub fn readiness(&self) -> (Health, Result<(), NotReady>) {
        let usable = self.inner.peers.usable().len();
        let syncing = self.inner.sync.is_syncing();
        let health = Health {
            status: "ready".to_owned(),
            height: self.tip().height,
            usable_peers: usable,
            syncing,
        };
        let verdict = match self.inner.min_peers {
            _ if syncing => Err(NotReady::Syncing),
            needed if usable < needed => Err(NotReady::FewPeers { usable, needed }),
            _ => Ok(()),
        };
        (health, verdict)
    }

    /// The process's CPU and memory, read at most once every [`USAGE_MAX_AGE`].
    fn usage(&self) -> ProcessUsage {
        let mut monitor = self.inner.usage.lock().expect("usage lock");
        monitor.recent(USAGE_MAX_AGE)
    }

    /// Where what the node does is counted.
    pub fn metrics(&self) -> &Metrics {
        self.inner.chain.metrics()
    }

    /// The Prometheus text exposition of the node's metrics.
    pub fn render_metrics(&self) -> String {
        let ChainTip { tip, next } = self.inner.chain.chain_tip();
        let peers: Vec<PeerState> = self.inner.peers.views().iter().map(|v| v.state).collect();
        let progress = self.inner.mining.progress();
        self.metrics().render(&Gauges {
            height: tip.height.get(),
            total_work: tip.work.to_u128() as f64,
            difficulty: next.next_target.difficulty_bits(),
            orphans: self.inner.chain.orphan_count(),
            mempool_transfers: self.inner.transfers.len(),
            mempool_bytes: self.inner.transfers.bytes(),
            peers: &peers,
            hash_rate: if progress.active {
                progress.hash_rate
            } else {
                0.0
            },
            mining: progress.active,
            threads: progress.threads,
            kernel: progress.kernel,
            process: Some(self.usage()),
            event_subscribers: self.events().subscribers(),
        })
    }

    /// What happens on the node, as it happens.
    pub fn events(&self) -> &Events {
        self.inner.chain.events()
    }

    /// The chain events a subscriber that saw the main chain up to `seen` missed (see
    /// [`events::missed_since`]).
    pub async fn missed_events(&self, seen: EventId) -> Result<Vec<Event>, NodeError> {
        events::missed_since(&self.inner.chain, seen).await
    }

    pub fn transfers(&self) -> &Transfers {
        &self.inner.transfers
    }

    /// The node's background tasks.
    pub fn tasks(&self) -> &Tasks {
        &self.inner.tasks
    }

    pub fn params(&self) -> &ChainParams {
        self.inner.chain.params()
    }

    /// The directory holding the node's store, keys and token.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.inner.data_dir
    }

    /// The file holding the token the operator's routes ask for (`api.token` in the data
    /// directory), created on the first start.
    pub fn token_file(&self) -> &std::path::Path {
        &self.inner.token_file
    }

    pub fn tip(&self) -> Tip {
        self.inner.chain.tip()
    }

    /// A snapshot for `GET /status`, from published values only: no store read, no lock that a
    /// rebuild or a search holds.
    pub fn status(&self) -> NodeStatus {
        let ChainTip { tip, next } = self.inner.chain.chain_tip();
        let mining = &self.inner.mining;
        NodeStatus {
            height: tip.height,
            length: tip.length(),
            tip: tip.hash,
            total_work: tip.work,
            next_target: next.next_target,
            difficulty: next.next_target.difficulty_bits(),
            params: *self.params(),
            genesis: self.params().genesis_hash(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            peers: self.inner.peers.list(),
            mining: mining.progress(),
            last_mined: mining.last_mined(),
            syncing: self.inner.sync.is_syncing(),
            process: Some(self.usage()),
            miner: Some(mining.address()),
            mempool: self.inner.transfers.len(),
            orphans: self.inner.chain.orphan_count(),
            relay: Some(self.inner.chain.relay().traffic().snapshot()),
        }
    }

    /// A block body from a peer (`POST /add_block` naming a sender, or fetched after an
    /// announcement): taken as by [`Node::submit_from`], and counted with its size.
    pub async fn receive_block(
        &self,
        block: Block,
        bytes: usize,
        sender: &Sender,
    ) -> Result<BlockOutcome, NodeError> {
        let outcome = self.submit_from(block, Some(sender)).await;
        let known = matches!(outcome, Ok(BlockOutcome::Known));
        self.inner.chain.relay().traffic().block(bytes, known);
        outcome
    }

    /// A peer announces a block it has (`POST /blocks/announce`, `bytes` long). A block we have
    /// (or hold as an orphan) is known; one we lack is fetched from the sender in the background,
    /// unless it is being fetched already (then the sender is another place to fetch it from).
    /// The sender must be named, not banned, and the request must come from where its URL
    /// points: the node fetches from it, so nobody can send it to an address of their choosing,
    /// or make it pester an honest peer for blocks that peer never had.
    pub async fn announced(
        &self,
        announcement: Announcement,
        bytes: usize,
        sender: Option<&Sender>,
    ) -> Result<Announced, NodeError> {
        let (chain, peers) = (&self.inner.chain, &self.inner.peers);
        let sender = sender.ok_or(NodeError::AnonymousAnnouncement)?;
        peers.refuse_banned(&sender.url)?;
        chain.relay().traffic().announcement(bytes);
        let hash = announcement.hash;
        if !peers.vouches_for(sender).await {
            return Err(NodeError::NotFromSender(sender.url.clone()));
        }
        peers.heard_from(&sender.url);
        // Claimed before the store is asked: a fetch ends (and leaves the table) only once its
        // block is stored, so either the claim joins it or the store has the block. Asked the
        // other way round, an announcement could miss both and fetch the body a second time.
        match chain.relay().claim(hash, &sender.url) {
            Claim::Fetch => {}
            Claim::Joined => return Ok(Announced::Fetching),
            Claim::Busy => return Err(NodeError::Busy),
        }
        let known = match chain.has_orphan(&hash) {
            true => Ok(true),
            false => chain.contains(hash).await,
        };
        if !matches!(known, Ok(false)) {
            chain.relay().fetched(&hash);
            return known.map(|_| Announced::Known);
        }
        let node = self.clone();
        self.inner
            .tasks
            .spawn(async move { node.fetch(hash).await });
        Ok(Announced::Fetching)
    }

    /// Fetches an announced block from its announcers, first come first asked, until one serves
    /// it, and takes it like any block from that peer. An announcer that cannot be reached is
    /// backed off; one that answers it lacks the block (it may have reorganised) is not; one
    /// that serves another block than the one it announced is banned.
    async fn fetch(&self, hash: BlockHash) {
        let (peers, relay) = (&self.inner.peers, self.inner.chain.relay());
        let announced = std::time::Instant::now();
        let mut tried: Vec<PeerUrl> = Vec::new();
        loop {
            // A sync may have brought it meanwhile.
            if let Ok(true) = self.inner.chain.contains(hash).await {
                break;
            }
            let announcers = relay.announcers(&hash);
            let Some(peer) = announcers.iter().find(|p| !tried.contains(p)).cloned() else {
                log::info!("no announcer of block {} could serve it", hash.short());
                break;
            };
            tried.push(peer.clone());
            match peers.client().block(&peer, hash).await {
                Ok((block, _)) if block.hash() != hash => {
                    let lie = format!("served block {} for {}", block.hash(), hash);
                    peers.ban(&peer, &lie);
                }
                Ok((block, bytes)) => {
                    let sender = Sender::fetched_from(peer);
                    match self.receive_block(block, bytes, &sender).await {
                        Ok(_) => self.metrics().relay_fetched(announced.elapsed()),
                        Err(e) => log::info!("announced block {} refused: {e}", hash.short()),
                    }
                    break;
                }
                Err(e @ PeerError::Status { .. }) => {
                    log::info!("announced block {} not served: {e}", hash.short())
                }
                Err(e) => peers.failed(&peer, &e),
            }
        }
        relay.fetched(&hash);
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
        let (chain, peers) = (&self.inner.chain, &self.inner.peers);
        if let Some(sender) = sender {
            peers.refuse_banned(&sender.url)?;
        }
        let hash = block.hash();
        if let Err(e) = self.precheck(&block, hash) {
            chain.metrics().block_rejected(&e);
            peers.blame(sender, &e).await;
            return Err(e.into());
        }
        let report = chain.accept(vec![block.clone()]).await?;
        match report.rejected {
            Some(Rejection::Invalid(e)) => {
                peers.blame(sender, &e).await;
                Err(e.into())
            }
            Some(Rejection::Orphan { parent, height, .. }) => {
                if chain.keep_orphan(block) == Pooled::Added {
                    log::info!(
                        "block {height} ({}) waits for its parent {}",
                        hash.short(),
                        parent.short()
                    );
                }
                self.inner.sync.fetch_ancestors(sender);
                Ok(BlockOutcome::Orphan { parent })
            }
            None if report.known > 0 => Ok(BlockOutcome::Known),
            None if report.connected(&hash) => {
                // Those that sent or announced it have it; the others are told.
                let mut skip = chain.relay().announcers(&hash);
                skip.extend(sender.map(|s| s.url.clone()));
                chain.relay().block_except(block, skip);
                Ok(BlockOutcome::Connected)
            }
            None => Ok(BlockOutcome::SideBranch),
        }
    }

    /// The rules a block can be held to without its parent (the core's
    /// [`validate_standalone`](crate::chain::validate_standalone)): they keep junk out of the
    /// orphan pool, and make a flood cost one hash per block here and real work for whoever
    /// sends it.
    fn precheck(&self, block: &Block, hash: BlockHash) -> Result<(), InvalidBlock> {
        let checked = crate::chain::validate_standalone(block, self.params())?;
        debug_assert_eq!(checked, hash, "the caller hashed this block's header");
        Ok(())
    }

    /// Takes a signed transfer from a client (`POST /transactions`); see
    /// [`Node::submit_transfer_from`].
    pub async fn submit_transfer(
        &self,
        transfer: Transfer,
    ) -> Result<TransferSubmitted, NodeError> {
        self.submit_transfer_from(transfer, None).await
    }

    /// Takes a signed transfer from a client or a peer: checks the signature, then the sender's
    /// balance and nonce against the tip plus what is already pending, then relays it once to
    /// every peer. A banned sender is refused unread, and one vouched for is banned when the
    /// signature is bad, which no honest node relays. Other refusals (nonce, balance) are not
    /// held against it: they can follow from a reorganisation.
    pub async fn submit_transfer_from(
        &self,
        transfer: Transfer,
        sender: Option<&Sender>,
    ) -> Result<TransferSubmitted, NodeError> {
        let peers = &self.inner.peers;
        if let Some(sender) = sender {
            peers.refuse_banned(&sender.url)?;
        }
        if let Err(rule) = validate_signature(&transfer, &self.params().genesis_hash()) {
            let error = MempoolError::from(rule);
            if let Some(sender) = sender {
                if peers.vouches_for(sender).await {
                    peers.ban(&sender.url, &format_args!("sent {error}"));
                }
            }
            return Err(error.into());
        }
        self.inner.transfers.admit(transfer).await
    }

    /// A transaction by id: pending in the mempool, or on the main chain.
    pub async fn transaction(&self, txid: TxId) -> Result<Option<TransactionStatus>, NodeError> {
        if let Some(t) = self.inner.transfers.get(txid).await? {
            return Ok(Some(TransactionStatus::Pending(t)));
        }
        let chain = &self.inner.chain;
        let Some((block, height)) = chain.transaction_block(txid).await? else {
            return Ok(None);
        };
        let transaction = chain
            .block(block)
            .await?
            .and_then(|b| b.transactions.into_iter().find(|tx| tx.txid() == txid));
        Ok(transaction.map(|transaction| TransactionStatus::Confirmed {
            transaction,
            block,
            height,
        }))
    }

    /// An account at the tip with its pending transfers.
    pub async fn account(&self, address: Address) -> Result<AccountView, NodeError> {
        let (account, pending) = self.inner.transfers.account(address).await?;
        Ok(AccountView {
            address,
            balance: account.balance,
            nonce: account.nonce,
            pending,
            next_nonce: account.nonce + pending.count,
        })
    }

    /// Up to `limit` of `address`'s mined transactions, newest first, older than `before` (from
    /// the newest without it); the first page also lists its transfers waiting in the mempool.
    pub async fn history(
        &self,
        address: Address,
        before: Option<TxPosition>,
        limit: usize,
    ) -> Result<AccountHistory, NodeError> {
        let page = self.inner.chain.history(address, before, limit).await?;
        let pending = match before {
            Some(_) => Vec::new(),
            None => {
                let mut pending = self.inner.transfers.pending().await?;
                pending.retain(|t| t.from == address || t.to == address);
                pending
            }
        };
        let tip = page.tip;
        let transactions = page
            .entries
            .into_iter()
            .filter_map(|e| {
                HistoryItem::new(
                    &address,
                    e.transaction,
                    e.at,
                    e.block,
                    e.timestamp,
                    tip.height,
                )
            })
            .collect();
        Ok(AccountHistory {
            address,
            height: tip.height,
            tip: tip.hash,
            pending,
            transactions,
            next: page.next,
        })
    }

    /// Re-verifies the stored main chain from genesis with the same rules as incoming blocks,
    /// on the blocking pool (it is pure CPU and disk); see [`Store::verify_main_chain`].
    pub async fn verify(&self) -> Result<Verified, NodeError> {
        let chain = self.inner.chain.clone();
        let verified = tokio::task::spawn_blocking(move || chain.store().verify_main_chain());
        Ok(verified.await??)
    }
}
