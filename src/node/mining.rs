//! The mining part: block templates, the search, and what the last one achieved.
//!
//! One search at a time: concurrent `POST /mine` requests queue. A search follows the chain's
//! tip: when a peer's block moves it, the search is stopped (its shared flag raised) and started
//! again on the new tip, so the block returned is always on the main chain.

use super::state::{ChainState, ChainTip};
use super::tasks::Tasks;
use super::transfers::Transfers;
use super::NodeError;
use crate::chain::{
    block_reward, validate_transactions, Address, Block, Timestamp, Transaction, Transfer,
};
use crate::mining::{self, Miner, MiningStats, ProcessUsage, Progress};
use crate::network::message::{Mined, MiningReport};
use crate::storage::{Rejection, Tip};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A cheap-to-clone handle on the mining part.
#[derive(Clone)]
pub struct Mining {
    inner: Arc<Inner>,
}

struct Inner {
    chain: ChainState,
    transfers: Transfers,
    miner: Miner,
    /// Where block rewards go.
    address: Address,
    /// The node's tasks, whose shutdown stops a search.
    tasks: Tasks,
    /// One search at a time.
    one_search: tokio::sync::Mutex<()>,
    last_mined: Mutex<Option<MiningStats>>,
}

impl Mining {
    /// The mining part; a search stops when `tasks` shut down.
    pub fn new(
        chain: ChainState,
        transfers: Transfers,
        miner: Miner,
        address: Address,
        tasks: Tasks,
    ) -> Mining {
        Mining {
            inner: Arc::new(Inner {
                chain,
                transfers,
                miner,
                address,
                tasks,
                one_search: tokio::sync::Mutex::new(()),
                last_mined: Mutex::new(None),
            }),
        }
    }

    /// Where this node's block rewards go.
    pub fn address(&self) -> Address {
        self.inner.address
    }

    /// What the running search (if any) has done so far.
    pub fn progress(&self) -> Progress {
        self.inner.miner.progress()
    }

    /// The running search as a live view shows it, with the process's `usage`.
    pub fn report(&self, usage: ProcessUsage) -> MiningReport {
        let ChainTip { tip, next } = self.inner.chain.chain_tip();
        MiningReport {
            height: tip.height.next(),
            mining: self.progress(),
            next_target: next.next_target,
            process: Some(usage),
        }
    }

    /// The figures of the last block this node mined.
    pub fn last_mined(&self) -> Option<MiningStats> {
        self.inner.last_mined.lock().expect("stats lock").clone()
    }

    /// Mines `notes` into a block on the current tip, with the reward and the best-paying pending
    /// transfers. If a peer's block moves the tip during the search, the search stops and starts
    /// again on the new tip, so the block returned is always on the main chain when this
    /// returns. The block is stored, flushed and relayed. When the node shuts down, the search
    /// stops (within one chunk of nonces) and this fails with [`NodeError::ShuttingDown`].
    pub async fn mine(&self, notes: Vec<Transaction>) -> Result<Mined, NodeError> {
        // The node adds the reward and the pending transfers itself; anything but notes from
        // the caller would make a block that validation refuses after the work was spent.
        if let Some(index) = notes
            .iter()
            .position(|tx| !matches!(tx, Transaction::Note(_)))
        {
            return Err(NodeError::NotANote { index });
        }
        validate_transactions(&notes).map_err(NodeError::InvalidTransactions)?;
        let chain = &self.inner.chain;
        let tasks = &self.inner.tasks;
        let _one_search = tokio::select! {
            turn = self.inner.one_search.lock() => turn,
            _ = tasks.cancelled() => return Err(NodeError::ShuttingDown),
        };
        let mut tips = chain.subscribe();
        loop {
            if tasks.is_cancelled() {
                return Err(NodeError::ShuttingDown);
            }
            let ChainTip { tip, next } = *tips.borrow_and_update();
            let Some(entries) = self.block_entries(&notes, tip).await? else {
                continue;
            };
            let header = mining::template(&next, chain.params(), &entries, Timestamp::now());
            let stop = Arc::new(AtomicBool::new(false));
            let search = {
                let (mining, stop) = (self.clone(), stop.clone());
                tokio::task::spawn_blocking(move || mining.inner.miner.mine(header, &stop))
            };
            let (solved, stats) = follow_tip(search, &mut tips, &stop, tasks).await?;
            let Some(header) = solved else {
                log::info!("search on {} stopped: the tip moved", tip.hash.short());
                continue;
            };
            let block = Block {
                header,
                transactions: entries,
            };
            let hash = block.hash();
            let report = chain.accept(vec![block.clone()]).await?;
            if let Some(Rejection::Invalid(e)) = report.rejected {
                // The template follows the same rules validation checks; reaching this is a bug,
                // reported rather than retried forever.
                return Err(e.into());
            }
            if report.connected(&hash) {
                log::info!(
                    "mined block {} ({}): {} attempts in {:.0} ms, {:.2} MH/s on {} threads \
                     ({} kernel), CPU {}, memory {} MiB",
                    block.height(),
                    hash.short(),
                    stats.attempts,
                    stats.elapsed_ms,
                    stats.hash_rate / 1e6,
                    stats.threads,
                    self.inner.miner.kernel(),
                    mining::CpuFigure(stats.cpu_percent),
                    stats.memory_bytes / (1024 * 1024)
                );
                *self.inner.last_mined.lock().expect("stats lock") = Some(stats.clone());
                chain.relay().block(block.clone());
                return Ok(Mined::new(block, stats));
            }
            // A peer's block won the race for this height; mine again on top of it.
        }
    }

    /// A block's entries on `tip`: the reward, the best-paying pending transfers that fit, then
    /// `notes`; `None` if the tip moved meanwhile. Selected on the blocking pool, where the
    /// mempool catches up with the tip first.
    async fn block_entries(
        &self,
        notes: &[Transaction],
        tip: Tip,
    ) -> Result<Option<Vec<Transaction>>, NodeError> {
        let height = tip.height.next();
        let miner = self.inner.address;
        let mut fixed = vec![block_reward(miner, height, &[])];
        fixed.extend_from_slice(notes);
        let room_count = Block::MAX_TRANSACTIONS.saturating_sub(fixed.len());
        let room_bytes = Block::MAX_BYTES.saturating_sub(Block::encoded_len_with(&fixed));
        let room = room_count.min(room_bytes / Transfer::ENCODED_LEN);
        let transfers = self.inner.transfers.clone();
        let selected =
            tokio::task::spawn_blocking(move || transfers.select(tip.hash, room)).await??;
        let Some(selected) = selected else {
            return Ok(None);
        };
        let selected: Vec<Transaction> = selected.into_iter().map(Transaction::Transfer).collect();
        let mut entries = Vec::with_capacity(fixed.len() + selected.len());
        entries.push(block_reward(miner, height, &selected));
        entries.extend(selected);
        entries.extend_from_slice(notes);
        Ok(Some(entries))
    }
}

/// Waits for `search`, raising `stop` as soon as the tip moves away from the one it mines on,
/// or the node shuts down (then the search's end is waited for, and reported as the shutdown).
async fn follow_tip(
    mut search: tokio::task::JoinHandle<(Option<crate::chain::Header>, MiningStats)>,
    tips: &mut tokio::sync::watch::Receiver<ChainTip>,
    stop: &AtomicBool,
    tasks: &Tasks,
) -> Result<(Option<crate::chain::Header>, MiningStats), NodeError> {
    let shutdown = tasks.cancelled();
    tokio::pin!(shutdown);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            done = &mut search => {
                let done = done?;
                return match shutting_down {
                    true => Err(NodeError::ShuttingDown),
                    false => Ok(done),
                };
            }
            _ = &mut shutdown, if !shutting_down => {
                shutting_down = true;
                stop.store(true, Ordering::Relaxed);
            }
            changed = tips.changed(), if !stop.load(Ordering::Relaxed) => {
                // A closed channel means the chain is gone: stop too.
                let _ = changed;
                stop.store(true, Ordering::Relaxed);
            }
        }
    }
}
