//! Talking to peers: their addresses, the hardened HTTP client, and block broadcast.

mod client;
mod peer;

pub use client::{ChainPage, PeerClient, PeerError, Timeouts, MAX_RESPONSE_BYTES};
pub use peer::{load_peers_file, PeerUrl, PeerUrlError, PeersFileError};

use crate::chain::{Block, Transfer};

/// Sends `block` to every peer at once and waits for all of them (each bounded by the client's
/// deadlines). Failures are logged and otherwise ignored: a down peer will catch up by syncing.
pub async fn broadcast(client: &PeerClient, peers: &[PeerUrl], block: &Block) {
    let sends = peers.iter().map(|peer| async move {
        match client.send_block(peer, block).await {
            Ok(status) if status.is_success() => {}
            Ok(status) => log::info!(
                "peer {peer} answered {status} to block {} ({})",
                block.height(),
                block.hash().short()
            ),
            Err(e) => log::info!("relay of block {} failed: {e}", block.height()),
        }
    });
    futures::future::join_all(sends).await;
}

/// Sends a transfer to every peer at once (`POST /transactions`); failures are logged.
pub async fn broadcast_transfer(client: &PeerClient, peers: &[PeerUrl], transfer: &Transfer) {
    let sends = peers.iter().map(|peer| async move {
        if let Err(e) = client.send_transfer(peer, transfer).await {
            log::info!("relay of transfer {} failed: {e}", transfer.txid().short());
        }
    });
    futures::future::join_all(sends).await;
}
