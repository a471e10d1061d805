//! Talking to peers: their addresses, the messages of the REST API (which is also the peer
//! protocol), the hardened HTTP client, the peer book with its back-off and ban rules, the
//! handshake, and transfer broadcast (blocks are announced by the node's relay part).
//!
//! Nothing here touches the store or serves HTTP: the node decides what to remember and when to
//! talk, this module only knows how. [`message`] sits here, below the node, because both sides
//! use it: the peer client reads it, and `api` and `cli` above the node write and read it.

mod book;
mod client;
pub mod message;
mod peer;
mod protocol;

pub use book::{
    backoff, Ban, Failed, Inserted, PeerBook, PeerRecord, PeerSource, PeerState, PeerView,
    BACKOFF_BASE, BACKOFF_MAX, BAN, CANDIDATES_PER_SOURCE, CANDIDATE_FAILED, DEFAULT_MAX_INBOUND,
    DEFAULT_MAX_PEERS, DROP_AFTER_FAILURES, DROP_AFTER_SILENCE, MAX_BANNED,
};
pub use client::{
    cause, PeerClient, PeerError, Timeouts, MAX_LISTED_PEERS, MAX_RESPONSE_BYTES,
    MAX_SMALL_RESPONSE_BYTES, PEER_HEADER,
};
// The peer-protocol answers the sync and the handshake read, where the node has always found them.
pub use message::{ChainPage, ChainPoint, ClaimedTip, Located, PeerStatus};
pub use peer::{load_peers_file, PeerUrl, PeerUrlError, PeersFileError};
pub use protocol::PeerApi;

use crate::chain::{BlockHash, Transfer};

/// A peer that answered the handshake for another chain: a different genesis means different
/// chain parameters (difficulty or block version), so none of its blocks could ever be ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{peer} is on another chain: its genesis is {theirs}, ours is {ours} \
     (it was started with other chain parameters, such as another --difficulty)"
)]
pub struct WrongChain {
    pub peer: PeerUrl,
    pub ours: BlockHash,
    pub theirs: BlockHash,
}

/// Why a peer failed its handshake.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// It did not answer `GET /status` usefully; it may be down for now.
    #[error(transparent)]
    Unreachable(#[from] PeerError),
    #[error(transparent)]
    WrongChain(#[from] WrongChain),
}

/// Checks that `peer` answers and serves the chain that starts at `genesis`.
pub async fn handshake(
    client: &dyn PeerApi,
    peer: &PeerUrl,
    genesis: &BlockHash,
) -> Result<PeerStatus, HandshakeError> {
    let status = client.status(peer).await?;
    if status.genesis != *genesis {
        return Err(WrongChain {
            peer: peer.clone(),
            ours: *genesis,
            theirs: status.genesis,
        }
        .into());
    }
    Ok(status)
}

/// How each peer took a relay: `Err` only when it could not be reached or did not answer (a
/// refusal is an answer, and the sender's business to log, not a peer failure).
pub type RelayOutcome = Vec<(PeerUrl, Result<(), PeerError>)>;

/// Sends a transfer to every peer at once (`POST /transactions`), naming us as the sender;
/// failures are logged.
pub async fn broadcast_transfer(
    client: &dyn PeerApi,
    peers: &[PeerUrl],
    transfer: &Transfer,
    me: Option<&PeerUrl>,
) -> RelayOutcome {
    let sends = peers.iter().map(|peer| async move {
        let result = client.send_transfer(peer, transfer, me).await.map(drop);
        if let Err(e) = &result {
            log::info!("relay of transfer {} failed: {e}", transfer.txid().short());
        }
        (peer.clone(), result)
    });
    futures::future::join_all(sends).await
}
