//! The relay outbox: blocks and transfers that peers should hear of.
//!
//! Whoever learns of something worth relaying (a block that joined the main chain, a transfer
//! admitted or given back by a reorganisation) drops it here and goes on; the node's relay loop
//! (started by [`Node::run`](super::Node::run)) sends each to every usable peer and records how
//! they answered. The chain and the mempool so never call into the peer part, and a relay never
//! holds up the request that caused it.
//!
//! The outbox is bounded: relaying is best effort (a peer that missed a block syncs it), and a
//! node whose peers are slower than its blocks must not buffer without limit.

use super::peers::Peers;
use super::tasks::Tasks;
use crate::chain::{Block, Transfer};
use crate::network;
use tokio::sync::mpsc;

/// Items waiting in the outbox at most.
pub const OUTBOX: usize = 256;

/// Something to tell every peer.
#[derive(Debug)]
pub enum Outgoing {
    Block(Block),
    /// Sent one after another in one task (a reorganisation can give back thousands).
    Transfers(Vec<Transfer>),
}

/// The sending side of the outbox; cheap to clone.
#[derive(Clone)]
pub struct Relay {
    outbox: mpsc::Sender<Outgoing>,
}

impl Relay {
    pub fn new() -> (Relay, mpsc::Receiver<Outgoing>) {
        let (outbox, receiver) = mpsc::channel(OUTBOX);
        (Relay { outbox }, receiver)
    }

    pub fn block(&self, block: Block) {
        self.send(Outgoing::Block(block));
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
}

/// Sends what arrives in `outbox` to every usable peer, each item in a task of its own so one
/// silent peer does not delay the next block, until the outbox closes or the node shuts down.
pub async fn run(mut outbox: mpsc::Receiver<Outgoing>, peers: Peers, tasks: Tasks) {
    while let Some(item) = outbox.recv().await {
        let targets = peers.usable();
        if targets.is_empty() {
            continue;
        }
        let peers = peers.clone();
        tasks.spawn(async move {
            let me = peers.public_url();
            let client = peers.client();
            match item {
                Outgoing::Block(block) => {
                    let outcome = network::broadcast(client, &targets, &block, me.as_ref()).await;
                    peers.record_relay(outcome);
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
