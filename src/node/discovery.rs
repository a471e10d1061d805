//! How a node finds its peers and keeps track of them: registration, the handshake, periodic
//! discovery, and the bookkeeping of failures and bans.
//!
//! The rules themselves are the [`PeerBook`]'s; this file applies them to what the network
//! reports and mirrors every change to the store, so the peers a node learned survive a restart.
//! Every round is bounded: at most [`DISCOVERY_FANOUT`] peers are talked to at once, each request
//! under the client's deadlines, and a round ends before the next one starts.

use super::{Node, NodeConfig, NodeError};
use crate::chain::{prefers, Timestamp};
use crate::network::{
    self, Failed, HandshakeError, Inserted, PeerBook, PeerRecord, PeerSource, PeerUrl, PeerView,
};
use crate::storage::Store;
use futures::StreamExt;
use std::collections::HashSet;
use std::fmt::Display;
use std::future::Future;

/// Peers contacted at once in a discovery round or a batch of handshakes.
pub const DISCOVERY_FANOUT: usize = 8;

/// What a `POST /nodes/register` did.
#[derive(Clone, Debug, Default)]
pub struct Registration {
    /// Peers new to this node (their handshake passed, or they did not answer it and wait as
    /// candidates with back-off).
    pub added: Vec<PeerUrl>,
    /// Some new peers were not taken because the node knows as many as it keeps.
    pub full: bool,
}

/// The book a node starts with: the stored records, with the operator's peers (`nodes.json`,
/// `--peer`) added or marked as such. A stored operator peer that the operator no longer names
/// is forgotten: removing a line from `nodes.json` means it.
pub(super) fn open_book(store: &Store, config: &NodeConfig) -> Result<PeerBook, NodeError> {
    let now = Timestamp::now();
    let named: Vec<(&PeerUrl, PeerSource)> = config
        .peers
        .iter()
        .map(|u| (u, PeerSource::File))
        .chain(config.flag_peers.iter().map(|u| (u, PeerSource::Flag)))
        .collect();
    let stored: Vec<PeerRecord> = store.peers()?;
    let mut kept = Vec::with_capacity(stored.len());
    for mut record in stored {
        match named.iter().find(|(u, _)| **u == record.url) {
            Some((_, source)) => record.source = *source,
            None if record.source.is_operator() => {
                log::info!(
                    "forgetting peer {}: no longer in the peers file or --peer",
                    record.url
                );
                store.remove_peer(&record.url.to_string())?;
                continue;
            }
            None => {}
        }
        kept.push(record);
    }
    let mut book = PeerBook::with_records(config.max_peers, kept);
    for (url, source) in named {
        book.insert(PeerRecord::new(url.clone(), source, now));
    }
    for record in book.records() {
        store.put_peer(&record.url.to_string(), record)?;
    }
    Ok(book)
}

impl Node {
    /// Every known peer with its state, for `GET /nodes`.
    pub fn peer_views(&self) -> Vec<PeerView> {
        let now = Timestamp::now();
        let views: Vec<PeerView> = {
            let book = self.inner.book.lock().expect("book lock");
            book.records().iter().map(|r| r.view(now)).collect()
        };
        views
            .into_iter()
            .filter(|v| !self.is_self(&v.url))
            .collect()
    }

    /// Writes the book's record of `url` to the store, or removes it if the book dropped it.
    /// Called with the book locked, so the store sees changes in the order the book made them.
    /// A failed write is logged, not returned: peer state is advisory.
    pub(super) fn persist(&self, book: &PeerBook, url: &PeerUrl) {
        let key = url.to_string();
        let written = match book.get(url) {
            Some(record) => self.inner.store.put_peer(&key, record),
            None => self.inner.store.remove_peer(&key),
        };
        if let Err(e) = written {
            log::warn!("cannot store the state of peer {url}: {e}");
        }
    }

    /// Applies `change` to the book and stores the record of `url` if it said something changed.
    fn update_peer(&self, url: &PeerUrl, change: impl FnOnce(&mut PeerBook, Timestamp) -> bool) {
        let mut book = self.inner.book.lock().expect("book lock");
        if change(&mut book, Timestamp::now()) {
            self.persist(&book, url);
        }
    }

    /// The peer answered a request: its failures and back-off are cleared.
    pub(super) fn peer_answered(&self, url: &PeerUrl) {
        self.update_peer(url, |book, now| book.succeeded(url, now));
    }

    /// The peer passed its handshake.
    fn peer_verified(&self, url: &PeerUrl) {
        self.update_peer(url, |book, now| book.verified(url, now));
    }

    /// The peer could not be reached, timed out or answered nonsense: back it off (or drop it,
    /// if it is a discovered peer that kept failing), and say so.
    pub(super) fn peer_failed(&self, url: &PeerUrl, error: &dyn Display) {
        self.update_peer(url, |book, now| {
            match book.failed(url, error.to_string(), now) {
                Failed::BackedOff { until, failures } => {
                    log::info!(
                    "peer {url} backed off for {} s after {failures} failure(s) in a row: {error}",
                    until.as_millis().saturating_sub(now.as_millis()).div_ceil(1000)
                )
                }
                Failed::Dropped { failures } => {
                    log::info!("peer {url} dropped after {failures} failure(s) in a row: {error}")
                }
                Failed::Unknown => return false,
            }
            true
        });
    }

    /// The peer sent an invalid block or chain: ignore it for a while, and say why.
    pub(super) fn ban_peer(&self, url: &PeerUrl, reason: &dyn Display) {
        self.update_peer(url, |book, now| {
            let until = book.ban(url, reason.to_string(), now);
            log::warn!(
                "peer {url} banned for {} min: {reason}",
                until.as_millis().saturating_sub(now.as_millis()) / 60_000
            );
            true
        });
    }

    /// Forgets URLs that were known only for a ban that has ended.
    pub(super) fn prune_bans(&self) {
        let mut book = self.inner.book.lock().expect("book lock");
        for url in book.prune(Timestamp::now()) {
            log::info!("ban on {url} ended");
            self.persist(&book, &url);
        }
    }

    /// Bans `url` for `duration` at the operator's request (`POST /nodes/ban`): it is not
    /// contacted, and what it sends is refused, until then. A URL the node does not know is
    /// remembered for the ban alone. Returns when the ban ends.
    pub fn ban(&self, url: &PeerUrl, duration: std::time::Duration, reason: String) -> Timestamp {
        let mut book = self.inner.book.lock().expect("book lock");
        let until = book.ban_for(url, reason.clone(), duration, Timestamp::now());
        log::warn!(
            "peer {url} banned by the operator until {} ms: {reason}",
            until.as_millis()
        );
        self.persist(&book, url);
        until
    }

    /// Lifts a ban (`DELETE /nodes/ban`); returns whether one was in force.
    pub fn unban(&self, url: &PeerUrl) -> bool {
        let mut book = self.inner.book.lock().expect("book lock");
        let lifted = book.unban(url, Timestamp::now());
        if lifted {
            log::info!("ban on {url} lifted by the operator");
        }
        self.persist(&book, url);
        lifted
    }

    /// A peer on another chain: a discovered one is forgotten; one the operator named cannot be
    /// dropped, so it is banned, which keeps it out of relay and sync and shows the reason.
    fn refuse_wrong_chain(&self, url: &PeerUrl, error: &network::WrongChain) {
        let operator = {
            let book = self.inner.book.lock().expect("book lock");
            book.get(url).map(|r| r.source.is_operator())
        };
        match operator {
            Some(true) => self.ban_peer(url, error),
            Some(false) => {
                log::info!("peer {url} dropped: {error}");
                let mut book = self.inner.book.lock().expect("book lock");
                book.remove(url);
                self.persist(&book, url);
            }
            None => {}
        }
    }

    /// Takes peers that announced themselves (`POST /nodes/register`). Each new one must pass
    /// the handshake: one on another chain refuses the whole request and adds nothing; one that
    /// does not answer is kept as a candidate with back-off, not used until a later discovery
    /// round reaches it. Known peers, repeats and this node itself are skipped. A list naming a
    /// banned peer is refused whole.
    pub async fn register(&self, urls: Vec<PeerUrl>) -> Result<Registration, NodeError> {
        self.prune_bans();
        for url in &urls {
            self.refuse_banned(url)?;
        }
        let mut seen = HashSet::new();
        let (mut fresh, room) = {
            let book = self.inner.book.lock().expect("book lock");
            let fresh: Vec<PeerUrl> = urls
                .into_iter()
                .filter(|u| !book.contains(u) && seen.insert(u.clone()))
                .collect();
            (fresh, book.max().saturating_sub(book.peer_count()))
        };
        fresh.retain(|u| !self.is_self(u));
        let full = fresh.len() > room;
        fresh.truncate(room);
        let genesis = self.params().genesis_hash();
        let client = &self.inner.client;
        let checks = fresh
            .iter()
            .map(|url| async move { network::handshake(client, url, &genesis).await });
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
            let inserted = {
                let mut book = self.inner.book.lock().expect("book lock");
                let now = Timestamp::now();
                let inserted =
                    book.insert(PeerRecord::new(url.clone(), PeerSource::Registered, now));
                if inserted == Inserted::Added {
                    self.persist(&book, &url);
                }
                inserted
            };
            match inserted {
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
                    self.peer_verified(&url);
                }
                Err(e) => {
                    log::info!(
                        "peer {url} registered but its handshake failed; kept as a candidate"
                    );
                    self.peer_failed(&url, &e);
                }
            }
            registration.added.push(url);
        }
        Ok(registration)
    }

    /// Runs discovery rounds until `stop` completes: one at once, then one every
    /// [`NodeConfig::discovery_interval`] after the previous one ends. The API starts this on
    /// the server's runtime once it listens, with the server's shutdown as `stop`.
    pub async fn run_discovery(self, stop: impl Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = self.discover() => {}
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(self.inner.discovery_interval) => {}
            }
        }
    }

    /// One discovery round. Each peer that is due (not banned, not backing off) is handshaken,
    /// told our public URL, and asked for its peers; new ones are handshaken and added. A peer
    /// whose status shows more work than we have is synced from in the background.
    pub async fn discover(&self) {
        self.prune_bans();
        let due = {
            let book = self.inner.book.lock().expect("book lock");
            book.due(Timestamp::now())
        };
        futures::stream::iter(due.into_iter().filter(|u| !self.is_self(u)))
            .for_each_concurrent(
                DISCOVERY_FANOUT,
                |peer| async move { self.visit(&peer).await },
            )
            .await;
    }

    async fn visit(&self, peer: &PeerUrl) {
        let client = &self.inner.client;
        match network::handshake(client, peer, &self.params().genesis_hash()).await {
            Ok(status) => {
                self.peer_verified(peer);
                // A peer ahead of us syncs now rather than when its next block happens to
                // come: this is how nodes split by a partition (or a ban) converge once it
                // heals, and how a node that missed a relay catches up.
                if status
                    .total_work
                    .is_some_and(|w| prefers(w, self.tip().work))
                {
                    self.spawn_sync_with(peer.clone());
                }
            }
            Err(HandshakeError::Unreachable(e)) => return self.peer_failed(peer, &e),
            Err(HandshakeError::WrongChain(e)) => return self.refuse_wrong_chain(peer, &e),
        }
        if let Some(me) = self.public_url() {
            match client.register(peer, &me).await {
                Ok(status) if status.is_success() => {}
                Ok(status) => {
                    let error = format!("{peer}: answered {status} to our registration");
                    return self.peer_failed(peer, &error);
                }
                Err(e) => return self.peer_failed(peer, &e),
            }
        }
        match client.nodes(peer).await {
            Ok(listed) => self.learn(peer, listed).await,
            Err(e) => self.peer_failed(peer, &e),
        }
    }

    /// Adds the peers `from` listed that are new to us, as far as there is room: each is
    /// handshaken first; one on another chain is not added, one that does not answer is kept as
    /// a candidate with back-off.
    async fn learn(&self, from: &PeerUrl, listed: Vec<PeerUrl>) {
        let mut seen = HashSet::new();
        let mut fresh: Vec<PeerUrl> = {
            let book = self.inner.book.lock().expect("book lock");
            let room = book.max().saturating_sub(book.peer_count());
            listed
                .into_iter()
                .filter(|u| !book.contains(u) && seen.insert(u.clone()))
                .take(room)
                .collect()
        };
        fresh.retain(|u| !self.is_self(u));
        let genesis = self.params().genesis_hash();
        futures::stream::iter(fresh)
            .for_each_concurrent(DISCOVERY_FANOUT, |url| async move {
                let result = network::handshake(&self.inner.client, &url, &genesis).await;
                if let Err(HandshakeError::WrongChain(e)) = &result {
                    log::info!("not adding peer {url}, learned from {from}: {e}");
                    return;
                }
                let added = {
                    let mut book = self.inner.book.lock().expect("book lock");
                    let record =
                        PeerRecord::new(url.clone(), PeerSource::Learned, Timestamp::now());
                    let added = book.insert(record) == Inserted::Added;
                    if added {
                        self.persist(&book, &url);
                    }
                    added
                };
                if !added {
                    return;
                }
                match result {
                    Ok(_) => {
                        log::info!("learned peer {url} from {from}");
                        self.peer_verified(&url);
                    }
                    Err(e) => {
                        log::info!("learned peer {url} from {from}, kept as a candidate");
                        self.peer_failed(&url, &e);
                    }
                }
            })
            .await;
    }
}
