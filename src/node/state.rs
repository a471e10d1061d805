//! The chain as the node holds it: the store, the tip published to whoever follows it, and the
//! orphan pool.
//!
//! Every change to the chain goes through [`ChainState::accept`]: validate, write and flush on a
//! blocking thread, then publish the new tip once on a `watch` channel. The miner and the mempool
//! subscribe to it and react on their own; nothing here calls into them. Reads go to the
//! blocking pool too (sled may touch the disk), so an async worker never waits on I/O.
//!
//! Blocks that arrive before their parent wait in a bounded [`OrphanPool`] and join the chain
//! when it comes; those that then reach the main chain go to the relay.

use super::events::Events;
use super::metrics::Metrics;
use super::orphans::{OrphanPool, Pooled};
use super::relay::Relay;
use super::NodeError;
use crate::chain::{
    verify_signatures, Account, Address, Block, BlockHash, ChainParams, Height, Parent,
    SignatureCheck, Timestamp, Transfer, TxId, TxPosition,
};
use crate::storage::{
    AcceptReport, BlockMeta, ForkPoint, HeaderSummary, HistoryPage, Rejection, Store, StoreError,
    Tip,
};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The main chain's tip with the context its child is built and validated in (the target it
/// must meet, the median time it must pass): what the miner, `GET /status` and sync read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainTip {
    pub tip: Tip,
    pub next: Parent,
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

/// A cheap-to-clone handle on the chain.
#[derive(Clone)]
pub struct ChainState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    tip: watch::Sender<ChainTip>,
    /// A `std` mutex: held for pure bookkeeping, never across an `.await`.
    orphans: Mutex<OrphanPool>,
    relay: Relay,
    events: Events,
    metrics: Metrics,
    /// Held from a block's write to its events (on a blocking thread), so subscribers hear of
    /// blocks in the order the store took them.
    in_order: Mutex<()>,
}

impl ChainState {
    /// Takes over `store` (blocking: reads the tip's context).
    pub fn new(
        store: Arc<Store>,
        relay: Relay,
        events: Events,
        metrics: Metrics,
    ) -> Result<ChainState, NodeError> {
        let (tip, next) = store.tip_context()?;
        let (tip, _) = watch::channel(ChainTip { tip, next });
        Ok(ChainState {
            inner: Arc::new(Inner {
                store,
                tip,
                orphans: Mutex::new(OrphanPool::default()),
                relay,
                events,
                metrics,
                in_order: Mutex::new(()),
            }),
        })
    }

    /// Where the chain's changes are told.
    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    /// Where what the node does is counted.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn params(&self) -> &ChainParams {
        self.inner.store.params()
    }

    /// The tip as last published.
    pub fn tip(&self) -> Tip {
        self.inner.tip.borrow().tip
    }

    /// The tip with its child's context, as last published.
    pub fn chain_tip(&self) -> ChainTip {
        *self.inner.tip.borrow()
    }

    /// Follows the tip: the receiver sees every change (the latest, if several came at once).
    pub fn subscribe(&self) -> watch::Receiver<ChainTip> {
        self.inner.tip.subscribe()
    }

    /// Where blocks and transfers worth telling peers about go.
    pub fn relay(&self) -> &Relay {
        &self.inner.relay
    }

    /// The store, for work already on a blocking thread.
    pub(super) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Runs `read` on the store on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, NodeError> {
        let store = self.inner.store.clone();
        Ok(tokio::task::spawn_blocking(move || read(&store)).await??)
    }

    pub async fn block(&self, hash: BlockHash) -> Result<Option<Block>, NodeError> {
        self.read(move |s| s.block(&hash)).await
    }

    /// Whether the store holds `hash` (on any branch).
    pub async fn contains(&self, hash: BlockHash) -> Result<bool, NodeError> {
        self.read(move |s| s.contains(&hash)).await
    }

    pub async fn block_at(&self, height: Height) -> Result<Option<Block>, NodeError> {
        self.read(move |s| s.block_at(height)).await
    }

    /// Up to `limit` main-chain blocks from `from`.
    pub async fn main_chain(&self, from: Height, limit: usize) -> Result<Vec<Block>, NodeError> {
        self.read(move |s| s.main_chain(from, limit)).await
    }

    /// Up to `limit` main-chain headers from `from`, with their blocks' sizes.
    pub async fn headers(
        &self,
        from: Height,
        limit: usize,
    ) -> Result<Vec<HeaderSummary>, NodeError> {
        self.read(move |s| s.headers(from, limit)).await
    }

    /// A page of the main chain as it ends in `tip` (see [`Store::branch_page`]): one branch,
    /// whatever reorganises meanwhile; `None` once `tip` has left the main chain.
    pub async fn branch_page(
        &self,
        tip: BlockHash,
        from: Height,
        limit: usize,
    ) -> Result<Option<Vec<Block>>, NodeError> {
        self.read(move |s| s.branch_page(&tip, from, limit)).await
    }

    /// The main chain's end at `hash`, if `hash` is on the main chain.
    pub async fn main_chain_tip(&self, hash: BlockHash) -> Result<Option<Tip>, NodeError> {
        let meta = self.read(move |s| s.main_chain_meta(&hash)).await?;
        Ok(meta.map(|m| Tip {
            hash,
            height: m.height,
            work: m.chain_work,
        }))
    }

    pub async fn meta(&self, hash: BlockHash) -> Result<Option<BlockMeta>, NodeError> {
        self.read(move |s| s.meta(&hash)).await
    }

    /// Our main chain as a block locator (see `storage/locator.rs`).
    pub async fn locator(&self) -> Result<Vec<BlockHash>, NodeError> {
        self.read(|s| s.locator()).await
    }

    /// The highest entry of a peer's `locator` on our main chain, with that chain's tip, read
    /// together (see [`Store::locate`]).
    pub async fn locate(
        &self,
        locator: Vec<BlockHash>,
    ) -> Result<Option<(ForkPoint, Tip)>, NodeError> {
        self.read(move |s| s.locate(&locator)).await
    }

    /// The tip as the store holds it this instant: a moment ahead of the published one while
    /// a new tip is being published. What a read anchored to "the tip now" must use.
    pub fn latest_tip(&self) -> Tip {
        self.inner.store.tip()
    }

    pub async fn account(&self, address: Address) -> Result<Account, NodeError> {
        self.read(move |s| s.account(&address)).await
    }

    /// A page of `address`'s history at one tip (see [`Store::history`]).
    pub async fn history(
        &self,
        address: Address,
        before: Option<TxPosition>,
        limit: usize,
    ) -> Result<HistoryPage, NodeError> {
        self.read(move |s| s.history(&address, before, limit)).await
    }

    /// The main-chain block holding `txid`, with its height.
    pub async fn transaction_block(
        &self,
        txid: TxId,
    ) -> Result<Option<(BlockHash, Height)>, NodeError> {
        self.read(move |s| s.transaction_block(&txid)).await
    }

    /// Whether `hash` waits in the orphan pool.
    pub fn has_orphan(&self, hash: &BlockHash) -> bool {
        self.inner
            .orphans
            .lock()
            .expect("orphans lock")
            .contains(hash)
    }

    /// Blocks waiting in the orphan pool.
    pub fn orphan_count(&self) -> usize {
        self.inner.orphans.lock().expect("orphans lock").len()
    }

    /// Keeps `block`, whose parent is unknown, until the parent comes.
    pub fn keep_orphan(&self, block: Block) -> Pooled {
        let mut pool = self.inner.orphans.lock().expect("orphans lock");
        pool.insert(block, Timestamp::now())
    }

    /// Validates and stores `blocks`, flushing before it returns, and publishes the new tip.
    /// Orphans waiting for a block stored here are then offered in turn.
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
                    self.inner.relay.block(child);
                }
                parents.extend(report.stored.iter().map(|(h, _)| *h));
            }
        }
        Ok(())
    }

    /// [`ChainState::accept`] without the orphans.
    async fn accept_batch(&self, blocks: Vec<Block>) -> Result<AcceptReport, NodeError> {
        let state = self.clone();
        let report = tokio::task::spawn_blocking(move || {
            let store = state.store();
            let _in_order = state.inner.in_order.lock().expect("acceptance order lock");
            let report = store.accept(blocks, Timestamp::now(), &ParallelSignatures)?;
            if report.tip_changed() {
                // Told before the tip is published: the mempool's follower wakes on the
                // published tip, so what it tells of these blocks mostly comes after them (a
                // request reading the pool meanwhile may catch it up first).
                state.inner.events.chain_changed(&report);
                state.publish()?;
            }
            state.count(&report);
            Ok::<_, StoreError>(report)
        })
        .await??;
        if report.tip_changed() {
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

    /// Counts what one acceptance did.
    fn count(&self, report: &AcceptReport) {
        let metrics = &self.inner.metrics;
        metrics.blocks_accepted(report.connected.len());
        if !report.disconnected.is_empty() {
            metrics.reorganised(report.disconnected.len());
        }
        if let Some(Rejection::Invalid(invalid)) = &report.rejected {
            metrics.block_rejected(invalid);
        }
    }

    /// Publishes the store's tip if it is not the one published. The store is read while the
    /// channel is held, so of two accepts racing to publish, the later tip always wins.
    fn publish(&self) -> Result<(), StoreError> {
        let mut failed = None;
        self.inner
            .tip
            .send_if_modified(|published| match self.inner.store.tip_context() {
                Ok((tip, next)) if tip != published.tip => {
                    *published = ChainTip { tip, next };
                    true
                }
                Ok(_) => false,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            });
        failed.map_or(Ok(()), Err)
    }

    /// The blocks that left the main chain since `old` was its tip, highest first: `old` and its
    /// ancestors up to (not including) the first that is still on the main chain. Empty when
    /// the chain only grew. Blocking.
    pub(super) fn abandoned_since(&self, old: BlockHash) -> Result<Vec<Block>, StoreError> {
        let store = self.store();
        let mut abandoned = Vec::new();
        let mut hash = old;
        while let Some(meta) = store.meta(&hash)? {
            if store.hash_at(meta.height)? == Some(hash) {
                break;
            }
            let block = store
                .block(&hash)?
                .ok_or_else(|| StoreError::Corrupt(format!("indexed block {hash} missing")))?;
            abandoned.push(block);
            hash = meta.parent;
        }
        Ok(abandoned)
    }
}
