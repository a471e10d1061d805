//! How a node finds its peers: registration, the handshake, and periodic discovery rounds.
//!
//! Every round is bounded: at most [`DISCOVERY_FANOUT`] peers are talked to at once, each request
//! under the client's deadlines, and a round ends before the next one starts. What is learned
//! goes into the peer part; a peer found ahead of us is handed to the sync part.

use super::peers::Peers;
use super::state::ChainState;
use super::sync::ChainSync;
use super::NodeError;
use crate::chain::prefers;
use crate::network::{HandshakeError, Inserted, PeerSource, PeerUrl};
use futures::StreamExt;
use std::time::Duration;

/// Peers contacted at once in a discovery round or a batch of handshakes.
pub const DISCOVERY_FANOUT: usize = 8;
/// How often a node announces itself to its peers and learns theirs, by default.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(30);

/// What a `POST /nodes/register` did.
#[derive(Clone, Debug, Default)]
pub struct Registration {
    /// Peers new to this node (their handshake passed, or they did not answer it and wait as
    /// candidates with back-off).
    pub added: Vec<PeerUrl>,
    /// Some new peers were not taken because the node knows as many as it keeps.
    pub full: bool,
}

/// Discovery: the peer part, with the chain and sync it consults for peers ahead of us.
#[derive(Clone)]
pub struct Discovery {
    pub(super) peers: Peers,
    pub(super) chain: ChainState,
    pub(super) sync: ChainSync,
    pub(super) interval: Duration,
}

impl Discovery {
    /// Takes peers that announced themselves (`POST /nodes/register`). Each new one must pass
    /// the handshake: one on another chain refuses the whole request and adds nothing; one that
    /// does not answer is kept as a candidate with back-off, not used until a later discovery
    /// round reaches it. Known peers, repeats and this node itself are skipped. A list naming a
    /// banned peer is refused whole.
    pub async fn register(&self, urls: Vec<PeerUrl>) -> Result<Registration, NodeError> {
        let peers = &self.peers;
        peers.prune_bans();
        for url in &urls {
            peers.refuse_banned(url)?;
        }
        let (fresh, full) = peers.unknown(urls);
        let checks = fresh.iter().map(|url| peers.handshake(url));
        let results = futures::future::join_all(checks).await;
        if let Some(wrong) = results.iter().find_map(|r| match r {
            Err(HandshakeError::WrongChain(w)) => Some(w.clone()),
            _ => None,
        }) {
            log::info!("registration refused: {wrong}");
            return Err(wrong.into());
        }
        let mut registration = Registration {
            added: Vec::new(),
            full,
        };
        for (url, result) in fresh.into_iter().zip(results) {
            match peers.insert(&url, PeerSource::Registered) {
                Inserted::Added => {}
                Inserted::Known => continue,
                Inserted::Full => {
                    registration.full = true;
                    continue;
                }
            }
            match result {
                Ok(_) => {
                    log::info!("peer {url} registered");
                    peers.verified(&url);
                }
                Err(e) => {
                    log::info!(
                        "peer {url} registered but its handshake failed; kept as a candidate"
                    );
                    peers.failed(&url, &e);
                }
            }
            registration.added.push(url);
        }
        Ok(registration)
    }

    /// Runs discovery rounds once the API listens (so the node knows what to announce): one at
    /// once, then one every interval after the previous one ends. Ends when the node's tasks
    /// are cancelled (the caller races it against shutdown).
    pub async fn run(self) {
        self.peers.listening().await;
        loop {
            self.discover().await;
            tokio::time::sleep(self.interval).await;
        }
    }

    /// One discovery round. Each peer that is due (not banned, not backing off) is handshaken,
    /// told our public URL, and asked for its peers; new ones are handshaken and added. A peer
    /// whose status shows more work than we have is synced from in the background.
    pub async fn discover(&self) {
        self.peers.prune_bans();
        futures::stream::iter(self.peers.due())
            .for_each_concurrent(
                DISCOVERY_FANOUT,
                |peer| async move { self.visit(&peer).await },
            )
            .await;
    }

    async fn visit(&self, peer: &PeerUrl) {
        let peers = &self.peers;
        match peers.handshake(peer).await {
            Ok(status) => {
                peers.verified(peer);
                // A peer ahead of us syncs now rather than when its next block happens to
                // come: this is how nodes split by a partition (or a ban) converge once it
                // heals, and how a node that missed a relay catches up.
                if status
                    .total_work
                    .is_some_and(|w| prefers(w, self.chain.tip().work))
                {
                    self.sync.spawn_sync_with(peer.clone());
                }
            }
            Err(HandshakeError::Unreachable(e)) => return peers.failed(peer, &e),
            Err(HandshakeError::WrongChain(e)) => return peers.refuse_wrong_chain(peer, &e),
        }
        if let Some(me) = peers.public_url() {
            match peers.client().register(peer, &me).await {
                Ok(status) if status.is_success() => {}
                Ok(status) => {
                    let error = format!("{peer}: answered {status} to our registration");
                    return peers.failed(peer, &error);
                }
                Err(e) => return peers.failed(peer, &e),
            }
        }
        match peers.client().nodes(peer).await {
            Ok(listed) => self.learn(peer, listed).await,
            Err(e) => peers.failed(peer, &e),
        }
    }

    /// Adds the peers `from` listed that are new to us, as far as there is room: each is
    /// handshaken first; one on another chain is not added, one that does not answer is kept as
    /// a candidate with back-off.
    async fn learn(&self, from: &PeerUrl, listed: Vec<PeerUrl>) {
        let (fresh, _) = self.peers.unknown(listed);
        futures::stream::iter(fresh)
            .for_each_concurrent(DISCOVERY_FANOUT, |url| async move {
                let peers = &self.peers;
                let result = peers.handshake(&url).await;
                if let Err(HandshakeError::WrongChain(e)) = &result {
                    log::info!("not adding peer {url}, learned from {from}: {e}");
                    return;
                }
                if peers.insert(&url, PeerSource::Learned) != Inserted::Added {
                    return;
                }
                match result {
                    Ok(_) => {
                        log::info!("learned peer {url} from {from}");
                        peers.verified(&url);
                    }
                    Err(e) => {
                        log::info!("learned peer {url} from {from}, kept as a candidate");
                        peers.failed(&url, &e);
                    }
                }
            })
            .await;
    }
}
