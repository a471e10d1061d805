//! The events part: what happens on the node, told to every subscriber as it happens
//! (`GET /events`, `ferrochain watch`, the explorer), and the recent reorganisations.
//!
//! One `tokio::sync::broadcast` channel carries them: a send never waits, every subscriber reads
//! the same ring of [`BUFFER`] events at its own pace, and one that falls further behind is told
//! it lagged, which ends its stream. So a slow client is dropped, and never slows the node.
//!
//! The chain part sends its events while it holds the order of acceptance, so subscribers see
//! blocks join in the order the store took them; the mempool sends what entered and left it;
//! peer changes are found by comparing the peer list each time the book changes.

use super::peers::Peers;
use super::state::ChainState;
use super::NodeError;
use crate::chain::{Block, Height, Timestamp};
use crate::network::message::{
    BlockJoined, ChainReset, Event, EventId, MempoolChange, MiningReport, PeerChange,
    Reorganisation, Reorganisations,
};
use crate::network::{PeerState, PeerUrl};
use crate::storage::AcceptReport;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Events a subscriber may fall behind by before it is dropped.
pub const BUFFER: usize = 1024;
/// Reorganisations kept for `GET /chain/reorgs`.
pub const REORGS_KEPT: usize = 64;
/// How often a running search is reported.
pub const MINING_REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The events part's handle; cheap to clone.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

struct Inner {
    sender: broadcast::Sender<Event>,
    /// Newest first. A `std` mutex: held to push or copy, never across an `.await`.
    reorgs: Mutex<VecDeque<Reorganisation>>,
}

impl Default for Events {
    fn default() -> Self {
        Events::new()
    }
}

impl Events {
    pub fn new() -> Events {
        Events {
            inner: Arc::new(Inner {
                sender: broadcast::channel(BUFFER).0,
                reorgs: Mutex::new(VecDeque::new()),
            }),
        }
    }

    /// Every event sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.sender.subscribe()
    }

    /// Subscribers connected now.
    pub fn subscribers(&self) -> usize {
        self.inner.sender.receiver_count()
    }

    pub fn send(&self, event: Event) {
        // An error only says nobody listens.
        let _ = self.inner.sender.send(event);
    }

    /// Tells what one acceptance did to the main chain: the reorganisation, if blocks left it,
    /// then each block that joined, in height order.
    pub fn chain_changed(&self, report: &AcceptReport) {
        if let Some(lowest) = report.disconnected.last() {
            let reorg = Reorganisation {
                fork_height: lowest.height().prev().unwrap_or(Height::GENESIS),
                fork: lowest.header.prev_hash,
                depth: report.disconnected.len(),
                replaced: report.disconnected.iter().map(Block::hash).collect(),
                tip: report.tip_after.hash,
                tip_height: report.tip_after.height,
                time: Timestamp::now(),
            };
            {
                let mut reorgs = self.inner.reorgs.lock().expect("reorgs lock");
                reorgs.push_front(reorg.clone());
                reorgs.truncate(REORGS_KEPT);
            }
            self.send(Event::Reorg(reorg));
        }
        for block in &report.connected {
            self.send(Event::Block(joined(block)));
        }
    }

    /// The reorganisations since the node started (at most [`REORGS_KEPT`]), newest first.
    pub fn reorgs(&self) -> Reorganisations {
        let reorgs = self.inner.reorgs.lock().expect("reorgs lock");
        Reorganisations {
            reorgs: reorgs.iter().cloned().collect(),
        }
    }

    /// Tells of transfers that entered or left the mempool, if any did.
    pub fn mempool_changed(&self, change: MempoolChange) {
        if !change.entered.is_empty() || !change.left.is_empty() {
            self.send(Event::Mempool(change));
        }
    }

    /// Reports the running search every [`MINING_REPORT_EVERY`] while one runs and someone
    /// listens, and once when it ends, until the node shuts down. `report` reads the miner.
    pub async fn follow_mining(self, report: impl Fn() -> MiningReport + Send) {
        let mut ticks = tokio::time::interval(MINING_REPORT_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut was_active = false;
        loop {
            ticks.tick().await;
            if self.subscribers() == 0 {
                was_active = false;
                continue;
            }
            let now = report();
            let active = now.mining.active;
            if active || was_active {
                self.send(Event::Mining(now));
            }
            was_active = active;
        }
    }

    /// Tells of every peer added, forgotten or changing state, until the node shuts down.
    pub async fn follow_peers(self, peers: Peers) {
        let mut changes = peers.changes();
        let mut known = peer_states(&peers);
        while changes.changed().await.is_ok() {
            let now = peer_states(&peers);
            for (url, state) in &now {
                if known.get(url) != Some(state) {
                    self.send(Event::Peer(PeerChange {
                        url: url.clone(),
                        state: Some(*state),
                    }));
                }
            }
            for url in known.keys().filter(|u| !now.contains_key(*u)) {
                self.send(Event::Peer(PeerChange {
                    url: url.clone(),
                    state: None,
                }));
            }
            known = now;
        }
    }
}

/// The event of `block` joining the main chain.
pub fn joined(block: &Block) -> BlockJoined {
    BlockJoined {
        height: block.height(),
        hash: block.hash(),
        previous_hash: block.header.prev_hash,
        timestamp: block.header.timestamp,
        transactions: block.transactions.len(),
    }
}

fn peer_states(peers: &Peers) -> HashMap<PeerUrl, PeerState> {
    peers
        .views()
        .into_iter()
        .map(|v| (v.url, v.state))
        .collect()
}

/// Missed blocks replayed to a resuming subscriber at most; further behind, it is sent a reset.
pub const MAX_REPLAY: u64 = 1000;

/// The chain events a subscriber that saw the main chain up to `seen` missed: the blocks above
/// it, in height order; or one reset, if `seen` left the main chain or lies more than
/// [`MAX_REPLAY`] blocks behind.
pub async fn missed_since(chain: &ChainState, seen: EventId) -> Result<Vec<Event>, NodeError> {
    let tip = chain.tip();
    let on_main = match chain.block_at(seen.height).await? {
        Some(block) => block.hash() == seen.hash,
        None => false,
    };
    let behind = tip.height.get().saturating_sub(seen.height.get());
    if !on_main || behind > MAX_REPLAY {
        return Ok(vec![Event::Reset(ChainReset {
            height: tip.height,
            tip: tip.hash,
        })]);
    }
    // Read a few blocks at a time: only their summaries are kept, and a block may be 2 MiB.
    let mut missed = Vec::with_capacity(behind as usize);
    let mut from = seen.height.next();
    while from <= tip.height {
        let blocks = chain.main_chain(from, REPLAY_PAGE).await?;
        let Some(last) = blocks.last() else { break };
        from = last.height().next();
        missed.extend(blocks.iter().map(|b| Event::Block(joined(b))));
    }
    Ok(missed)
}

/// Blocks read at once while replaying missed events.
const REPLAY_PAGE: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    fn change(size: usize) -> Event {
        Event::Mempool(MempoolChange {
            entered: Vec::new(),
            left: Vec::new(),
            size,
        })
    }

    #[test]
    fn a_subscriber_that_falls_a_buffer_behind_is_told_it_lagged() {
        let events = Events::new();
        let mut slow = events.subscribe();
        // Sending never waits for the subscriber that does not read.
        for size in 0..BUFFER + 10 {
            events.send(change(size));
        }
        assert!(matches!(slow.try_recv(), Err(TryRecvError::Lagged(10))));
        // What is left to it is the newest BUFFER events, and a newcomer is not held back.
        assert_eq!(slow.try_recv().unwrap(), change(10));
        let mut fresh = events.subscribe();
        events.send(change(0));
        assert_eq!(fresh.try_recv().unwrap(), change(0));
        assert_eq!(events.subscribers(), 2);
    }
}
