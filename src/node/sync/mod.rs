//! The sync part: taking what a peer has and we lack, and resolving conflicts with every peer.
//!
//! One sync with one peer is a [`Session`]: it locates the fork point with a block locator,
//! downloads the peer's chain above it page by page (the next page downloads while this one is
//! validated and written), and ends in a typed [`SyncError`] that decides the verdict: a peer
//! that did not answer is backed off, one whose chain kept moving is backed off without blame,
//! one that lied is banned. Syncs with one peer run one at a time.

use super::peers::{Peers, Sender};
use super::relay::Claim;
use super::state::ChainState;
use super::tasks::Tasks;
use super::NodeError;
use crate::chain::{prefers, Block, BlockHash, HashMismatch, Height, InvalidBlock, Rule, Work};
use crate::network::message::{PeerSync, Resolved};
use crate::network::{ChainPage, ClaimedTip, PeerApi, PeerError, PeerUrl};
use crate::storage::{Rejection, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Blocks asked of a peer per request while syncing.
pub const SYNC_PAGE: usize = 500;
/// Times one sync locates the fork point again after the peer's chain moved under it.
pub const MAX_RELOCATES: usize = 3;

/// Why a sync stopped before it had everything the peer claimed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The peer could not be reached or answered nonsense: back it off.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// The peer sent an invalid block, or claims what it cannot show: ban it.
    #[error("peer sent {0}")]
    Lie(#[from] Lie),
    /// The peer's chain kept changing under the sync, or it is ahead of our clock; honest, but
    /// no use now: back it off, blame no one.
    #[error("peer gave up: {0}")]
    Unsettled(#[from] Unsettled),
    /// This node failed (its store); nothing to hold against the peer.
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Node(e.into())
    }
}

/// What an honest peer never sends.
#[derive(Debug, thiserror::Error)]
pub enum Lie {
    #[error("fork point {hash} at {height} that is not in our locator")]
    ForkNotInLocator { hash: BlockHash, height: Height },
    #[error("a tip at {claimed} with work {work} below its fork point with us at {fork}")]
    TipBelowFork {
        claimed: Height,
        work: Work,
        fork: Height,
    },
    #[error("a tip at {claimed} but serves blocks only up to {served}")]
    ShortChain { claimed: Height, served: Height },
    #[error("{count} blocks where at most {limit} were asked for")]
    TooManyBlocks { count: usize, limit: usize },
    #[error("block {got} where block {expected} was due")]
    WrongHeight { got: Height, expected: Height },
    #[error("block {height} that does not follow the block before it")]
    Unlinked { height: Height },
    #[error(transparent)]
    HashMismatch(#[from] HashMismatch),
    #[error(transparent)]
    Invalid(#[from] InvalidBlock),
    #[error("block {hash} that links nowhere")]
    Orphan { hash: BlockHash },
    #[error("a tip {hash} with work {claimed}, but its blocks carry {carried}")]
    WorkMismatch {
        hash: BlockHash,
        claimed: Work,
        carried: Work,
    },
}

/// Why an honest peer's chain could not be taken now.
#[derive(Debug, thiserror::Error)]
pub enum Unsettled {
    #[error(
        "its chain kept moving while we read it (block {height} no longer follows {})",
        .parent.short()
    )]
    KeptMoving { height: Height, parent: BlockHash },
    /// A block from the future may be our clock's fault.
    #[error("{0} (this node's clock may be behind)")]
    ClockBehind(InvalidBlock),
    /// The tip it told us of left its main chain while we read up to it.
    #[error("its tip {} left its main chain while we read it", .tip.short())]
    TipMoved { tip: BlockHash },
}

/// A cheap-to-clone handle on the sync part.
#[derive(Clone)]
pub struct ChainSync {
    inner: Arc<Inner>,
}

struct Inner {
    chain: ChainState,
    peers: Peers,
    tasks: Tasks,
    /// A background resolve is running (`GET /status` shows it as `syncing`).
    catching_up: AtomicBool,
    /// One sync at a time per peer: a resolve, a discovery round and an orphan can all want to
    /// sync from the same peer at once, and two downloads of the same blocks would only compete
    /// for the store. The entry is removed when no sync holds or waits for it.
    sessions: Mutex<HashMap<PeerUrl, Arc<tokio::sync::Mutex<()>>>>,
}

impl ChainSync {
    pub fn new(chain: ChainState, peers: Peers, tasks: Tasks) -> ChainSync {
        ChainSync {
            inner: Arc::new(Inner {
                chain,
                peers,
                tasks,
                catching_up: AtomicBool::new(false),
                sessions: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Whether a background catch-up is running.
    pub fn is_syncing(&self) -> bool {
        self.inner.catching_up.load(Ordering::Relaxed)
    }

    /// Syncs from every peer (see [`ChainSync::sync_with`]) and so adopts the chain with the
    /// most work. Peers that fail or lie are reported and skipped; the good ones still count.
    ///
    /// Banned and backed-off peers, and discovered ones whose handshake has not passed, are not
    /// asked; they are listed with `skipped` and the reason. A new tip is relayed.
    pub async fn resolve(&self) -> Result<Resolved, NodeError> {
        let chain = &self.inner.chain;
        let before = chain.tip();
        self.inner.peers.prune_bans();
        let syncs = self
            .inner
            .peers
            .plan()
            .into_iter()
            .map(|(peer, skip)| async move {
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
        // Each sync that moved the tip announced it.
        let tip = chain.tip();
        Ok(Resolved::new(tip.hash != before.hash, tip.length(), peers))
    }

    /// Syncs from `peer` and applies the verdict to the peer book: a peer that does not answer
    /// is backed off, one that sends an invalid block or lies about its chain is banned. Only a
    /// failure of this node itself (its store) is an error. A sync already running with the same
    /// peer is waited for first; this one then usually finds nothing left to fetch.
    pub async fn sync_with(&self, peer: &PeerUrl) -> Result<PeerSync, NodeError> {
        let lock = self.session_lock(peer);
        let result = {
            let _one_at_a_time = lock.lock().await;
            self.sync_verdict(peer).await
        };
        self.release_session_lock(peer, lock);
        result
    }

    /// Runs one session and applies its verdict. A session that moved our tip announces the
    /// new tip to every other peer: a node that caught up passes what it learned on at once.
    async fn sync_verdict(&self, peer: &PeerUrl) -> Result<PeerSync, NodeError> {
        let (chain, peers) = (&self.inner.chain, &self.inner.peers);
        let before = chain.tip().hash;
        let started = std::time::Instant::now();
        let mut session = Session::new(chain, peers.client(), peer);
        let outcome = session.run().await;
        chain.relay().traffic().synced(session.added);
        chain.metrics().synced(session.added, started.elapsed());
        let tip = chain.tip().hash;
        if tip != before {
            if let Some(block) = chain.block(tip).await? {
                // Those that announced it while we synced have it too.
                let mut skip = chain.relay().announcers(&tip);
                skip.push(peer.clone());
                chain.relay().block_except(block, skip);
            }
        }
        let error = match outcome {
            Ok(()) => {
                peers.answered(peer);
                None
            }
            Err(SyncError::Node(e)) => return Err(e),
            Err(e @ (SyncError::Peer(_) | SyncError::Unsettled(_))) => {
                log::info!("sync from {peer} stopped: {e}");
                peers.failed(peer, &e);
                Some(e.to_string())
            }
            Err(e @ SyncError::Lie(_)) => {
                log::info!("sync from {peer} stopped: {e}");
                peers.ban(peer, &e);
                Some(e.to_string())
            }
        };
        Ok(PeerSync {
            peer: peer.clone(),
            added: session.added,
            error,
            skipped: false,
        })
    }

    /// Starts a background resolve unless one is already running.
    pub fn spawn_catch_up(&self) {
        if self.inner.catching_up.swap(true, Ordering::AcqRel) {
            return;
        }
        let sync = self.clone();
        self.inner.tasks.spawn(async move {
            if let Err(e) = sync.resolve().await {
                log::warn!("catching up from peers failed: {e}");
            }
            sync.inner.catching_up.store(false, Ordering::Release);
        });
    }

    /// Syncs from `peer` in the background unless a sync with it is already running.
    pub fn spawn_sync_with(&self, peer: PeerUrl) {
        self.spawn_session(peer, None);
    }

    /// Syncs from `peer`, whose tip is `tip`, in the background, unless that block is being
    /// fetched already (its announcement came first) or a sync with `peer` is running. The
    /// tip is claimed in the relay's fetch table while the sync runs, so an announcement of it
    /// that comes meanwhile waits for the sync instead of downloading the body a second time.
    /// If the sync fails, such an announcement is not fetched: the block comes with the next
    /// meeting of a peer that has it, as one past the fetch bound does.
    pub fn spawn_sync_for(&self, peer: PeerUrl, tip: BlockHash) {
        let relay = self.inner.chain.relay();
        match relay.claim(tip, &peer) {
            Claim::Fetch => self.spawn_session(peer, Some(tip)),
            Claim::Joined => {}
            // Too many fetches to track one more: the sync brings the block all the same.
            Claim::Busy => self.spawn_session(peer, None),
        }
    }

    /// Runs [`ChainSync::sync_with`] in the background, then ends the relay's claim on
    /// `claimed`, if it holds one.
    fn spawn_session(&self, peer: PeerUrl, claimed: Option<BlockHash>) {
        let relay = self.inner.chain.relay().clone();
        if self.session_lock(&peer).try_lock().is_err() {
            if let Some(hash) = claimed {
                relay.fetched(&hash);
            }
            return;
        }
        let sync = self.clone();
        self.inner.tasks.spawn(async move {
            match sync.sync_with(&peer).await {
                Ok(done) if done.added > 0 => log::info!("took {} blocks from {peer}", done.added),
                Ok(_) => {}
                Err(e) => log::warn!("syncing from {peer} failed: {e}"),
            }
            if let Some(hash) = claimed {
                relay.fetched(&hash);
            }
        });
    }

    /// Fetches the ancestors of an orphan in the background: from its sender if that is a peer
    /// we use, else from every peer.
    pub fn fetch_ancestors(&self, sender: Option<&Sender>) {
        let usable = sender.filter(|s| self.inner.peers.usable().contains(&s.url));
        match usable {
            Some(sender) => self.spawn_sync_with(sender.url.clone()),
            None => self.spawn_catch_up(),
        }
    }

    /// The lock that keeps syncs with `peer` one at a time.
    fn session_lock(&self, peer: &PeerUrl) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.sessions.lock().expect("sessions lock");
        locks.entry(peer.clone()).or_default().clone()
    }

    /// Forgets the lock of `peer` once nobody holds or waits for it (the map and `lock` itself
    /// are the only references left).
    fn release_session_lock(&self, peer: &PeerUrl, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.inner.sessions.lock().expect("sessions lock");
        if Arc::strong_count(&lock) == 2 {
            locks.remove(peer);
        }
    }
}

/// One sync with one peer: fetches what `peer` has and we lack, and offers it to the chain page
/// by page. Known blocks are skipped, new ones validated against their parents and stored (a
/// heavier branch becomes the main chain as soon as it outweighs ours).
pub struct Session<'a> {
    chain: &'a ChainState,
    client: &'a dyn PeerApi,
    peer: &'a PeerUrl,
    /// New valid blocks stored so far.
    pub added: usize,
    relocates: usize,
}

impl<'a> Session<'a> {
    pub fn new(chain: &'a ChainState, client: &'a dyn PeerApi, peer: &'a PeerUrl) -> Self {
        Session {
            chain,
            client,
            peer,
            added: 0,
            relocates: 0,
        }
    }

    /// Counts one more locate; past [`MAX_RELOCATES`] the reason becomes the sync's end.
    fn relocate<E: Into<SyncError>>(&mut self, why: E) -> Result<(), SyncError> {
        self.relocates += 1;
        match self.relocates > MAX_RELOCATES {
            true => Err(why.into()),
            false => Ok(()),
        }
    }

    /// First the peer is sent our block locator and answers where our chains meet, with its
    /// tip. If it claims no more work than we have, there is nothing to fetch. Otherwise its main
    /// chain is read from just above the fork point. Every page must continue the one before:
    /// a page whose first block does not link to what we have means the peer's chain moved
    /// (it reorganised) while we read it, so we locate again, at most [`MAX_RELOCATES`] times.
    /// A page that does not link inside itself, an invalid block, or a claimed tip the peer does
    /// not serve (after re-locating) is a [`Lie`].
    pub async fn run(&mut self) -> Result<(), SyncError> {
        while let Some(claimed) = self.locate().await? {
            if self.download(claimed).await? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Where our chains meet, and what the peer claims above it; `None` when it claims no more
    /// work than we have.
    async fn locate(&mut self) -> Result<Option<(Height, BlockHash, ClaimedTip)>, SyncError> {
        let locator = self.chain.locator().await?;
        let located = self.client.locate(self.peer, &locator).await?;
        let (fork, claimed) = (located.fork, located.tip);
        let ours = self.chain.meta(fork.hash).await?;
        if !locator.contains(&fork.hash) || ours.map(|m| m.height) != Some(fork.height) {
            return Err(Lie::ForkNotInLocator {
                hash: fork.hash,
                height: fork.height,
            }
            .into());
        }
        if !prefers(claimed.work, self.chain.tip().work) {
            return Ok(None);
        }
        if claimed.height <= fork.height {
            return Err(Lie::TipBelowFork {
                claimed: claimed.height,
                work: claimed.work,
                fork: fork.height,
            }
            .into());
        }
        Ok(Some((fork.height, fork.hash, claimed)))
    }

    /// Downloads from above the fork point up to the claimed tip. `Ok(true)` when done,
    /// `Ok(false)` when the peer's chain moved and must be located again.
    async fn download(
        &mut self,
        (fork, fork_hash, claimed): (Height, BlockHash, ClaimedTip),
    ) -> Result<bool, SyncError> {
        let (mut from, mut parent) = (fork.next(), fork_hash);
        let tip = claimed.hash;
        let mut page = self
            .client
            .chain_page(self.peer, from, SYNC_PAGE, tip)
            .await;
        loop {
            let received = match page {
                // An honest peer that reorganised: locate again, blame no one.
                Err(PeerError::Status { status, .. })
                    if status == reqwest::StatusCode::CONFLICT =>
                {
                    self.relocate(Unsettled::TipMoved { tip })?;
                    return Ok(false);
                }
                other => other?,
            };
            let blocks = check_page(received, from, SYNC_PAGE)?;
            let Some(last) = blocks.last().map(|b| (b.hash(), b.height())) else {
                // The peer serves less than it claimed. Its chain may have moved to a shorter
                // one since it answered; ask again before calling it a lie.
                self.relocate(Lie::ShortChain {
                    claimed: claimed.height,
                    served: from.prev().unwrap_or_default(),
                })?;
                return Ok(false);
            };
            if blocks[0].header.prev_hash != parent {
                self.relocate(Unsettled::KeptMoving {
                    height: from,
                    parent,
                })?;
                return Ok(false);
            }
            // The next page downloads (and its JSON decodes) while this one is validated and
            // written on a blocking thread: the two overlap instead of taking turns.
            let more = last.1 < claimed.height;
            let next_from = last.1.next();
            let prefetch = async {
                match more {
                    true => Some(
                        self.client
                            .chain_page(self.peer, next_from, SYNC_PAGE, tip)
                            .await,
                    ),
                    false => None,
                }
            };
            let (report, next) = tokio::join!(self.chain.accept(blocks), prefetch);
            let report = report?;
            self.added += report.stored.len();
            match report.rejected {
                Some(Rejection::Invalid(e)) if matches!(e.rule, Rule::TimestampTooNew { .. }) => {
                    return Err(Unsettled::ClockBehind(e).into())
                }
                Some(Rejection::Invalid(e)) => return Err(Lie::Invalid(e).into()),
                // Cannot happen: the page links to a block we have, and inside itself.
                Some(Rejection::Orphan { hash, .. }) => return Err(Lie::Orphan { hash }.into()),
                None => {}
            }
            let Some(next) = next else {
                self.check_claim(&claimed, last.0).await?;
                return Ok(true);
            };
            (page, from, parent) = (next, next_from, last.0);
        }
    }

    /// Once a sync reached the height a peer claimed: if it ended on the claimed tip, the work
    /// the peer claimed must be what its blocks carry.
    async fn check_claim(&self, claimed: &ClaimedTip, last: BlockHash) -> Result<(), SyncError> {
        if last != claimed.hash {
            // The peer grew or reorganised meanwhile; what we stored was checked block by block.
            return Ok(());
        }
        let carried = self.chain.meta(last).await?.map(|m| m.chain_work);
        match carried {
            Some(work) if work == claimed.work => Ok(()),
            _ => Err(Lie::WorkMismatch {
                hash: claimed.hash,
                claimed: claimed.work,
                carried: carried.unwrap_or_default(),
            }
            .into()),
        }
    }
}

/// The blocks of a `GET /chain` page asked for from `from`: at most `limit`, at consecutive
/// heights from `from`, each the child of the one before. Anything else is a lie.
fn check_page(page: ChainPage, from: Height, limit: usize) -> Result<Vec<Block>, Lie> {
    let count = page.chain.len();
    if count > limit {
        return Err(Lie::TooManyBlocks { count, limit });
    }
    let mut blocks: Vec<Block> = Vec::with_capacity(count);
    for (i, wire) in page.chain.into_iter().enumerate() {
        let expected = Height::new(from.get() + i as u64);
        if wire.index != expected {
            return Err(Lie::WrongHeight {
                got: wire.index,
                expected,
            });
        }
        let block = wire.into_block()?;
        if let Some(prev) = blocks.last() {
            if block.header.prev_hash != prev.hash() {
                return Err(Lie::Unlinked { height: expected });
            }
        }
        blocks.push(block);
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests;
