//! The peer part: every peer the node knows with its state, the client that talks to them, who
//! this node is to them, and the verdicts (answered, failed, banned) that follow what they do.
//!
//! The rules are the [`PeerBook`]'s; this part applies them and mirrors every change to the
//! store, so the peers a node learned (and its bans) survive a restart. Nothing else in the
//! node reaches the book: the other parts ask for usable peers and report how a peer behaved.

use super::metrics::Metrics;
use super::NodeError;
use crate::chain::{InvalidBlock, Rule, Timestamp};
use crate::network::{
    self, Failed, Inserted, PeerApi, PeerBook, PeerRecord, PeerSource, PeerUrl, PeerView,
    RelayOutcome, WrongChain,
};
use crate::storage::{Store, StoreError};
use std::fmt::Display;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Who sent a block or a transfer, as the `X-Ferrochain-Peer` header says, and the address the
/// request came from. The header is only a claim (anyone can name any peer): it is enough to
/// refuse a banned peer and to pick whom to ask for missing ancestors, but a sender is blamed
/// for an invalid block only if the request came from the address its URL names
/// ([`Peers::vouches_for`]), so nobody can get an honest peer banned by naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    pub url: PeerUrl,
    pub addr: Option<IpAddr>,
    /// The node fetched it from `url` itself, so it surely came from there.
    pub fetched: bool,
}

impl Sender {
    /// A sender that made a request from `addr`, naming itself `url`.
    pub fn claimed(url: PeerUrl, addr: Option<IpAddr>) -> Sender {
        Sender {
            url,
            addr,
            fetched: false,
        }
    }

    /// What the node fetched from `url` (after an announcement).
    pub fn fetched_from(url: PeerUrl) -> Sender {
        Sender {
            url,
            addr: None,
            fetched: true,
        }
    }
}

/// How this node is known: where it listens and what it announces.
#[derive(Clone, Debug, Default)]
struct Identity {
    /// The address the API listens on, once it does; used to skip ourselves in peer lists.
    local: Option<SocketAddr>,
    /// What this node announces: `--public-url`, or the listening address once known.
    public: Option<PeerUrl>,
    /// `--public-url` as given, which the listening address does not override.
    configured: Option<PeerUrl>,
}

/// A cheap-to-clone handle on the peer part.
#[derive(Clone)]
pub struct Peers {
    inner: Arc<Inner>,
}

struct Inner {
    client: Arc<dyn PeerApi>,
    /// Where the book is mirrored.
    store: Arc<Store>,
    /// A `std` mutex: held for bookkeeping and one small sled write, never across an `.await`.
    book: Mutex<PeerBook>,
    /// A watch rather than a lock, so discovery can wait for the address to be known.
    identity: watch::Sender<Identity>,
    /// Bumped at every change to the book, so the retry timer wakes when a peer backs off.
    changes: watch::Sender<u64>,
    /// When the next discovery round starts, as discovery last said (for `GET /nodes`).
    next_round: Mutex<Option<Timestamp>>,
    metrics: Metrics,
}

impl Peers {
    pub fn new(
        client: Arc<dyn PeerApi>,
        store: Arc<Store>,
        book: PeerBook,
        public_url: Option<PeerUrl>,
        metrics: Metrics,
    ) -> Peers {
        let identity = Identity {
            local: None,
            public: public_url.clone(),
            configured: public_url,
        };
        Peers {
            inner: Arc::new(Inner {
                client,
                store,
                book: Mutex::new(book),
                identity: watch::channel(identity).0,
                changes: watch::channel(0).0,
                next_round: Mutex::new(None),
                metrics,
            }),
        }
    }

    /// The book a node starts with: the stored records, with the operator's peers (`nodes.json`
    /// and `--peer`) added or marked as such. A stored operator peer that the operator no
    /// longer names is forgotten: removing a line from `nodes.json` means it.
    pub fn open_book(
        store: &Store,
        max_peers: usize,
        max_inbound: usize,
        file: &[PeerUrl],
        flag: &[PeerUrl],
    ) -> Result<PeerBook, StoreError> {
        let now = Timestamp::now();
        let named: Vec<(&PeerUrl, PeerSource)> = file
            .iter()
            .map(|u| (u, PeerSource::File))
            .chain(flag.iter().map(|u| (u, PeerSource::Flag)))
            .collect();
        let mut kept = Vec::new();
        for mut record in store.peers::<PeerRecord>()? {
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
        let mut book = PeerBook::with_records(max_peers, kept).inbound(max_inbound);
        for (url, source) in named {
            book.insert(PeerRecord::new(url.clone(), source, now));
        }
        for record in book.records() {
            store.put_peer(&record.url.to_string(), record)?;
        }
        Ok(book)
    }

    pub fn client(&self) -> &dyn PeerApi {
        &*self.inner.client
    }

    /// Records where the API listens, so the node skips itself in peer lists, and makes it the
    /// announced URL unless `--public-url` gave one. An unspecified address (0.0.0.0, `::`)
    /// says nothing about how peers reach us, so then the node announces nothing.
    pub fn set_local_addr(&self, addr: SocketAddr) {
        self.inner.identity.send_modify(|id| {
            id.local = Some(addr);
            if id.configured.is_some() {
                return;
            }
            id.public = match addr.ip().is_unspecified() {
                true => {
                    log::warn!(
                        "listening on {addr} without --public-url: this node will not announce \
                         itself to its peers (they can still add it with POST /nodes/register)"
                    );
                    None
                }
                false => Some(PeerUrl::for_socket(addr)),
            };
        });
    }

    /// Completes once the API listens (at once if it already does).
    pub async fn listening(&self) {
        let mut identity = self.inner.identity.subscribe();
        // Only fails if the sender is gone, which it cannot be while `self` lives.
        let _ = identity.wait_for(|id| id.local.is_some()).await;
    }

    /// The URL this node announces to its peers, if it has one.
    pub fn public_url(&self) -> Option<PeerUrl> {
        self.inner.identity.borrow().public.clone()
    }

    /// Where the API listens, once it does.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.identity.borrow().local
    }

    /// Whether URLs of this machine's own host (loopback, link-local, `localhost`) may be taken
    /// from others: only while the node listens on loopback itself. Beyond loopback, a
    /// registration or a peer list naming them would make the node probe its own host; the
    /// operator can still name them (`--peer`, the peers file).
    pub fn takes_local_urls(&self) -> bool {
        self.local_addr().is_none_or(|a| a.ip().is_loopback())
    }

    /// Whether `url` points at this node: its listening address or its announced URL.
    pub fn is_self(&self, url: &PeerUrl) -> bool {
        let id = self.inner.identity.borrow();
        id.local.is_some_and(|addr| url.is_local_node(addr)) || id.public.as_ref() == Some(url)
    }

    fn book(&self) -> std::sync::MutexGuard<'_, PeerBook> {
        self.inner.book.lock().expect("book lock")
    }

    /// Every known peer, in the order the node heard of them, minus this node itself: the plain
    /// list of `GET /nodes`, whatever each peer's state (URLs known only as banned are left out;
    /// [`Peers::views`] shows them).
    pub fn list(&self) -> Vec<PeerUrl> {
        let urls: Vec<PeerUrl> = {
            let book = self.book();
            let records = book.records().iter().filter(|r| r.source.is_peer());
            records.map(|r| r.url.clone()).collect()
        };
        urls.into_iter().filter(|u| !self.is_self(u)).collect()
    }

    /// Every known peer with its state, for `GET /nodes`.
    pub fn views(&self) -> Vec<PeerView> {
        let now = Timestamp::now();
        let round = *self.inner.next_round.lock().expect("next round lock");
        let book = self.book();
        let views: Vec<PeerView> = book.records().iter().map(|r| r.view(now, round)).collect();
        drop(book);
        views
            .into_iter()
            .filter(|v| !self.is_self(&v.url))
            .collect()
    }

    /// Peers to relay to and sync from now: not banned, not backing off, and either named by
    /// the operator or handshaken.
    pub fn usable(&self) -> Vec<PeerUrl> {
        let urls = self.book().usable(Timestamp::now());
        urls.into_iter().filter(|u| !self.is_self(u)).collect()
    }

    /// Whether `url` is a known peer that is not used now (backing off, or not handshaken) and
    /// not banned: one worth trying again when it shows up.
    pub fn is_idle(&self, url: &PeerUrl) -> bool {
        let now = Timestamp::now();
        let book = self.book();
        book.get(url)
            .is_some_and(|r| r.source.is_peer() && !r.banned_at(now) && !r.is_usable(now))
    }

    /// Peers due for a discovery round (not banned, not backing off).
    pub fn due(&self) -> Vec<PeerUrl> {
        let urls = self.book().due(Timestamp::now());
        urls.into_iter().filter(|u| !self.is_self(u)).collect()
    }

    /// Every known peer (but this node) with the reason it may not be asked now: only a ban.
    /// An explicit resolve asks backing-off and not yet handshaken peers too (each under the
    /// client's deadlines): the operator asked now, and a peer that was away may be back.
    pub fn plan(&self) -> Vec<(PeerUrl, Option<String>)> {
        let now = Timestamp::now();
        let plan: Vec<(PeerUrl, Option<String>)> = self
            .book()
            .records()
            .iter()
            .filter(|r| r.source.is_peer() || r.banned_at(now))
            .map(|r| (r.url.clone(), r.ban_reason(now)))
            .collect();
        plan.into_iter()
            .filter(|(url, _)| !self.is_self(url))
            .collect()
    }

    /// Of `urls`, those new to the book (without repeats, nor this node), at most as many as
    /// there is room for; and whether some were left out for lack of room. `own` is the URL of
    /// a peer registering itself, which takes inbound room; the others take the room for
    /// learned peers.
    pub fn unknown(&self, urls: Vec<PeerUrl>, own: Option<&PeerUrl>) -> (Vec<PeerUrl>, bool) {
        let mut seen = std::collections::HashSet::new();
        let (fresh, mut room, mut inbound) = {
            let book = self.book();
            let fresh: Vec<PeerUrl> = urls
                .into_iter()
                .filter(|u| !book.contains(u) && seen.insert(u.clone()))
                .collect();
            let room = book.room(PeerSource::Learned);
            (fresh, room, book.room(PeerSource::Registered))
        };
        let mut full = false;
        let mut taken = Vec::with_capacity(fresh.len());
        for url in fresh.into_iter().filter(|u| !self.is_self(u)) {
            let room = match own == Some(&url) {
                true => &mut inbound,
                false => &mut room,
            };
            match *room {
                0 => full = true,
                _ => {
                    *room -= 1;
                    taken.push(url);
                }
            }
        }
        (taken, full)
    }

    /// Adds a peer learned from `source`; says whether it was new, known, or found no room.
    pub fn insert(&self, url: &PeerUrl, source: PeerSource) -> Inserted {
        self.insert_met(url, source, false)
    }

    /// Adds a peer learned from `source` whose handshake `passed` or not: one that passed takes
    /// room among the peers in use, one that did not among the candidates.
    pub fn insert_met(&self, url: &PeerUrl, source: PeerSource, passed: bool) -> Inserted {
        let mut book = self.book();
        let mut record = PeerRecord::new(url.clone(), source, Timestamp::now());
        record.verified = passed;
        let inserted = book.insert(record);
        if inserted == Inserted::Added {
            self.persist(&book, url);
        }
        inserted
    }

    /// Replaces every known peer with `peers`, as if each were given with `--peer`.
    pub fn set(&self, peers: Vec<PeerUrl>) {
        let now = Timestamp::now();
        let mut book = self.book();
        let mut fresh = PeerBook::new(book.max()).inbound(book.max_inbound());
        for url in peers {
            fresh.insert(PeerRecord::new(url, PeerSource::Flag, now));
        }
        *book = fresh;
        if let Err(e) = self.inner.store.clear_peers() {
            log::warn!("cannot clear the stored peers: {e}");
        }
        for record in book.records() {
            self.persist(&book, &record.url);
        }
    }

    /// Adds `peers` as if each were given with `--peer` (used at once, no handshake, never
    /// dropped), skipping ones already known, repeated, or pointing at this node. Returns the
    /// ones added. The peers file is the operator's and is not rewritten.
    pub fn add(&self, peers: Vec<PeerUrl>) -> Vec<PeerUrl> {
        let mut added = Vec::new();
        for peer in peers {
            if !self.is_self(&peer) && self.insert(&peer, PeerSource::Flag) == Inserted::Added {
                added.push(peer);
            }
        }
        added
    }

    /// Writes the book's record of `url` to the store, or removes it if the book dropped it.
    /// Called with the book locked, so the store sees changes in the order the book made them.
    /// A failed write is logged, not returned: peer state is advisory.
    fn persist(&self, book: &PeerBook, url: &PeerUrl) {
        self.inner.changes.send_modify(|n| *n = n.wrapping_add(1));
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
    fn update(&self, url: &PeerUrl, change: impl FnOnce(&mut PeerBook, Timestamp) -> bool) {
        let mut book = self.book();
        if change(&mut book, Timestamp::now()) {
            self.persist(&book, url);
        }
    }

    /// The peer answered a request: its failures and back-off are cleared.
    pub fn answered(&self, url: &PeerUrl) {
        self.update(url, |book, now| book.succeeded(url, now));
    }

    /// The peer sent us something from where its URL points. Kept in memory only: it changes
    /// with every message, and is written with the record's next real change.
    pub fn heard_from(&self, url: &PeerUrl) {
        self.book().heard_from(url, Timestamp::now());
    }

    /// The peers backing off with when each is due again (not this node, not banned ones).
    pub fn retries(&self) -> Vec<(PeerUrl, Timestamp)> {
        let retries = self.book().retries(Timestamp::now());
        retries
            .into_iter()
            .filter(|(u, _)| !self.is_self(u))
            .collect()
    }

    /// A receiver that sees every change to the book (a failure, a success, a new peer).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// Records when the next discovery round starts, for `GET /nodes`.
    pub fn set_next_round(&self, at: Timestamp) {
        *self.inner.next_round.lock().expect("next round lock") = Some(at);
    }

    /// The peer passed its handshake.
    pub fn verified(&self, url: &PeerUrl) {
        self.update(url, |book, now| book.verified(url, now));
    }

    /// The peer could not be reached, timed out or answered nonsense: back it off (or drop it,
    /// if it is a discovered peer that kept failing), and say so.
    pub fn failed(&self, url: &PeerUrl, error: &dyn Display) {
        self.update(url, |book, now| {
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
    pub fn ban(&self, url: &PeerUrl, reason: &dyn Display) {
        self.update(url, |book, now| {
            let until = book.ban(url, reason.to_string(), now);
            self.inner.metrics.banned();
            log::warn!(
                "peer {url} banned for {} min: {reason}",
                until.as_millis().saturating_sub(now.as_millis()) / 60_000
            );
            true
        });
    }

    /// Forgets URLs that were known only for a ban that has ended.
    pub fn prune_bans(&self) {
        let mut book = self.book();
        for url in book.prune(Timestamp::now()) {
            log::info!("ban on {url} ended");
            self.persist(&book, &url);
        }
    }

    /// Bans `url` for `duration` at the operator's request (`POST /nodes/ban`): it is not
    /// contacted, and what it sends is refused, until then. A URL the node does not know is
    /// remembered for the ban alone. Returns when the ban ends.
    pub fn operator_ban(&self, url: &PeerUrl, duration: Duration, reason: String) -> Timestamp {
        let mut book = self.book();
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
        let mut book = self.book();
        let lifted = book.unban(url, Timestamp::now());
        if lifted {
            log::info!("ban on {url} lifted by the operator");
        }
        self.persist(&book, url);
        lifted
    }

    /// Refuses anything from `peer` while it is banned.
    pub fn refuse_banned(&self, peer: &PeerUrl) -> Result<(), NodeError> {
        let book = self.book();
        let now = Timestamp::now();
        match book.ban_on(peer, now) {
            Some(ban) => Err(NodeError::Banned {
                peer: peer.clone(),
                until: ban.until,
                reason: ban.reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// A peer on another chain: a discovered one is forgotten; one the operator named cannot be
    /// dropped, so it is banned, which keeps it out of relay and sync and shows the reason.
    pub fn refuse_wrong_chain(&self, url: &PeerUrl, error: &WrongChain) {
        let operator = self.book().get(url).map(|r| r.source.is_operator());
        match operator {
            Some(true) => self.ban(url, error),
            Some(false) => {
                log::info!("peer {url} dropped: {error}");
                let mut book = self.book();
                book.remove(url);
                self.persist(&book, url);
            }
            None => {}
        }
    }

    /// Bans the sender of an invalid block, if it is vouched for. A timestamp too far ahead is
    /// not held against anyone: it may be our clock that is behind.
    pub async fn blame(&self, sender: Option<&Sender>, error: &InvalidBlock) {
        let Some(sender) = sender else { return };
        if matches!(error.rule, Rule::TimestampTooNew { .. }) {
            return;
        }
        if self.vouches_for(sender).await {
            self.ban(&sender.url, &format_args!("sent {error}"));
        } else {
            log::info!(
                "{error}, sent by a request from {:?} naming {}, which does not live there",
                sender.addr,
                sender.url
            );
        }
    }

    /// Whether the request really came from the peer it names: the address it came from is one
    /// the peer's URL resolves to (looked up with a short deadline for a domain name).
    pub async fn vouches_for(&self, sender: &Sender) -> bool {
        if sender.fetched {
            return true;
        }
        let Some(addr) = sender.addr.map(|a| a.to_canonical()) else {
            return false;
        };
        match sender.url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip) == addr,
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).to_canonical() == addr,
            Some(url::Host::Domain(domain)) => {
                let port = sender.url.port().unwrap_or(0);
                let lookup = tokio::net::lookup_host((domain.to_owned(), port));
                match tokio::time::timeout(Duration::from_secs(2), lookup).await {
                    Ok(Ok(mut addrs)) => addrs.any(|a| a.ip().to_canonical() == addr),
                    _ => false,
                }
            }
            None => false,
        }
    }

    /// Backs off the peers a relay could not reach; the others answered.
    pub fn record_relay(&self, outcome: RelayOutcome) {
        for (peer, result) in outcome {
            match result {
                Ok(()) => self.answered(&peer),
                Err(e) => self.failed(&peer, &e),
            }
        }
    }

    /// Checks that `peer` answers and serves our chain (see [`network::handshake`]).
    pub async fn handshake(
        &self,
        peer: &PeerUrl,
    ) -> Result<network::PeerStatus, network::HandshakeError> {
        let genesis = self.inner.store.params().genesis_hash();
        network::handshake(self.client(), peer, &genesis).await
    }
}
