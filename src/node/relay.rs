//! Block and transfer relay: the outbox of what peers should hear of, the blocks being fetched
//! after an announcement, and the count of what peers sent.
//!
//! # The scheme
//!
//! A block that joins our main chain is *announced* to every usable peer (`POST /blocks/announce`,
//! its hash and height, under a hundred bytes), except those known to have it already: the peer
//! it came from and every peer that announced it to us. A peer that lacks it fetches it once,
//! from whoever announced it first (`GET /blocks/<hash>`), and tries the next announcer if that
//! one fails; announcements for a block it is already fetching only add an announcer. So each node
//! downloads each block body once, and the rest of relay costs one small request per peer
//! and block, as with Bitcoin's `inv`/`getdata` and its header announcements.
//!
//! A peer that does not take announcements (a node from before them answers 404) gets the block
//! pushed whole to `POST /add_block`, which stays for the seed's clients and older nodes.
//! Transfers are pushed whole (`POST /transactions`): one is about the size of an announcement.
//!
//! # Bounds
//!
//! - The outbox holds at most [`OUTBOX`] items; past it a new item is dropped (peers that miss a
//!   block get it when they next meet us, and a new tip is announced anyway).
//! - At most [`MAX_FETCHES`] blocks are fetched at once; an announcement past it is answered 429
//!   and dropped (its sender is met again, or its next block leads to a sync).
//! - At most [`MAX_ANNOUNCERS`] announcers are remembered per block.

use super::peers::Peers;
use super::tasks::Tasks;
use crate::chain::{Block, BlockHash, Transfer};
use crate::network::message::{Announcement, RelayTraffic};
use crate::network::{self, PeerApi, PeerError, PeerUrl};
use reqwest::StatusCode;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Items waiting in the outbox at most.
pub const OUTBOX: usize = 256;
/// Blocks fetched at once at most.
pub const MAX_FETCHES: usize = 64;
/// Announcers remembered per block being fetched (whom to try if the first fails).
pub const MAX_ANNOUNCERS: usize = 8;

/// Something to tell every peer.
#[derive(Debug)]
pub enum Outgoing {
    /// A block that joined the main chain; `skip` are peers that have it already.
    Block { block: Block, skip: Vec<PeerUrl> },
    /// Sent one after another in one task (a reorganisation can give back thousands).
    Transfers(Vec<Transfer>),
}

/// The relay part's handle; cheap to clone.
#[derive(Clone)]
pub struct Relay {
    outbox: mpsc::Sender<Outgoing>,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Blocks being fetched, with the peers that announced each, in the order they did.
    fetching: Mutex<HashMap<BlockHash, Vec<PeerUrl>>>,
    traffic: Traffic,
}

/// What [`Relay::claim`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Nobody fetches the block yet: the caller does, from the announcer.
    Fetch,
    /// It is being fetched; the announcer is remembered in case that fails.
    Joined,
    /// [`MAX_FETCHES`] blocks are being fetched.
    Busy,
}

impl Relay {
    pub fn new() -> (Relay, mpsc::Receiver<Outgoing>) {
        let (outbox, receiver) = mpsc::channel(OUTBOX);
        let shared = Arc::new(Shared::default());
        (Relay { outbox, shared }, receiver)
    }

    /// Announces `block` to every usable peer.
    pub fn block(&self, block: Block) {
        self.block_except(block, Vec::new());
    }

    /// Announces `block` to every usable peer but those in `skip`, which have it.
    pub fn block_except(&self, block: Block, skip: Vec<PeerUrl>) {
        self.send(Outgoing::Block { block, skip });
    }

    pub fn transfers(&self, transfers: Vec<Transfer>) {
        if !transfers.is_empty() {
            self.send(Outgoing::Transfers(transfers));
        }
    }

    fn send(&self, item: Outgoing) {
        // Full: peers are far behind and will sync. Closed: the node is shutting down.
        if let Err(e) = self.outbox.try_send(item) {
            log::debug!("relay outbox: {e}");
        }
    }

    /// `announcer` announced `hash`: whether the caller should fetch it.
    pub fn claim(&self, hash: BlockHash, announcer: &PeerUrl) -> Claim {
        let mut fetching = self.shared.fetching.lock().expect("fetch table lock");
        if let Some(announcers) = fetching.get_mut(&hash) {
            if announcers.len() < MAX_ANNOUNCERS && !announcers.contains(announcer) {
                announcers.push(announcer.clone());
            }
            return Claim::Joined;
        }
        if fetching.len() >= MAX_FETCHES {
            return Claim::Busy;
        }
        fetching.insert(hash, vec![announcer.clone()]);
        Claim::Fetch
    }

    /// Every peer that announced `hash` so far (they have it), or none once it is fetched.
    pub fn announcers(&self, hash: &BlockHash) -> Vec<PeerUrl> {
        let fetching = self.shared.fetching.lock().expect("fetch table lock");
        fetching.get(hash).cloned().unwrap_or_default()
    }

    /// The fetch of `hash` is over (the block is stored, or nobody could serve it).
    pub fn fetched(&self, hash: &BlockHash) {
        let mut fetching = self.shared.fetching.lock().expect("fetch table lock");
        fetching.remove(hash);
    }

    pub fn traffic(&self) -> &Traffic {
        &self.shared.traffic
    }
}

/// Counters of what peers sent, read by `GET /status`. Relaxed atomics: each is a tally on its
/// own, and a reader wants a recent figure, not a consistent set.
#[derive(Default)]
pub struct Traffic {
    announcements: AtomicU64,
    announcement_bytes: AtomicU64,
    blocks: AtomicU64,
    block_bytes: AtomicU64,
    duplicate_blocks: AtomicU64,
    synced_blocks: AtomicU64,
}

impl Traffic {
    pub fn announcement(&self, bytes: usize) {
        self.announcements.fetch_add(1, Ordering::Relaxed);
        self.announcement_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A block body came from a peer; `known` if we had it already.
    pub fn block(&self, bytes: usize, known: bool) {
        self.blocks.fetch_add(1, Ordering::Relaxed);
        self.block_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        if known {
            self.duplicate_blocks.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn synced(&self, blocks: usize) {
        self.synced_blocks
            .fetch_add(blocks as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> RelayTraffic {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        RelayTraffic {
            announcements: read(&self.announcements),
            announcement_bytes: read(&self.announcement_bytes),
            blocks: read(&self.blocks),
            block_bytes: read(&self.block_bytes),
            duplicate_blocks: read(&self.duplicate_blocks),
            synced_blocks: read(&self.synced_blocks),
        }
    }
}

/// Tells `peer` of `block`, naming us (`me`) as the sender: an announcement, or the block
/// itself for a peer that does not take announcements (404, or any refusal but "busy").
pub async fn tell(
    client: &dyn PeerApi,
    peer: &PeerUrl,
    block: &Block,
    me: Option<&PeerUrl>,
) -> Result<(), PeerError> {
    let announcement = Announcement {
        hash: block.hash(),
        index: block.height(),
    };
    let status = client.announce(peer, &announcement, me).await?;
    if status.is_success() || status == StatusCode::TOO_MANY_REQUESTS {
        return Ok(());
    }
    log::debug!(
        "peer {peer} answered {status} to an announcement; sending block {} whole",
        block.height()
    );
    match client.send_block(peer, block, me).await? {
        status if status.is_success() => {}
        status => log::info!(
            "peer {peer} answered {status} to block {} ({})",
            block.height(),
            block.hash().short()
        ),
    }
    Ok(())
}

/// Sends what arrives in `outbox` to the usable peers, each item in a task of its own so one
/// silent peer does not delay the next block, until the outbox closes or the node shuts down.
pub async fn run(mut outbox: mpsc::Receiver<Outgoing>, peers: Peers, tasks: Tasks) {
    while let Some(item) = outbox.recv().await {
        let mut targets = peers.usable();
        if let Outgoing::Block { skip, .. } = &item {
            targets.retain(|p| !skip.contains(p));
        }
        if targets.is_empty() {
            continue;
        }
        let peers = peers.clone();
        tasks.spawn(async move {
            let me = peers.public_url();
            let client = peers.client();
            match item {
                Outgoing::Block { block, .. } => {
                    let tells = targets.iter().map(|peer| async {
                        let told = tell(client, peer, &block, me.as_ref()).await;
                        if let Err(e) = &told {
                            log::info!("relay of block {} failed: {e}", block.height());
                        }
                        (peer.clone(), told)
                    });
                    peers.record_relay(futures::future::join_all(tells).await);
                }
                Outgoing::Transfers(transfers) => {
                    for transfer in &transfers {
                        let outcome =
                            network::broadcast_transfer(client, &targets, transfer, me.as_ref())
                                .await;
                        peers.record_relay(outcome);
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::fake::url;

    #[test]
    fn a_block_is_fetched_once_and_its_announcers_are_remembered_within_bounds() {
        let (relay, _outbox) = Relay::new();
        let hash = BlockHash::from_bytes([1; 32]);
        assert_eq!(relay.claim(hash, &url(1)), Claim::Fetch);
        assert_eq!(relay.claim(hash, &url(2)), Claim::Joined);
        assert_eq!(relay.claim(hash, &url(2)), Claim::Joined);
        for port in 3..20 {
            relay.claim(hash, &url(port));
        }
        let announcers = relay.announcers(&hash);
        assert_eq!(announcers.len(), MAX_ANNOUNCERS);
        assert_eq!(announcers[..2], [url(1), url(2)]);
        relay.fetched(&hash);
        assert!(relay.announcers(&hash).is_empty());
        assert_eq!(
            relay.claim(hash, &url(3)),
            Claim::Fetch,
            "fetched again if lost"
        );

        for i in 1..MAX_FETCHES as u8 {
            assert_eq!(
                relay.claim(BlockHash::from_bytes([i + 1; 32]), &url(1)),
                Claim::Fetch
            );
        }
        let one_more = BlockHash::from_bytes([255; 32]);
        assert_eq!(relay.claim(one_more, &url(1)), Claim::Busy);
    }
}
