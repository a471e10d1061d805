//! How a node finds its peers and keeps in touch with them: registration, meeting a peer (the
//! handshake, then whichever side is behind is brought up to date), the retry timer, and the
//! periodic discovery rounds.
//!
//! A peer is met the moment it is learned (the peers file, `--peer`, a registration, a peer's
//! list or an address passed on), and again the moment its back-off ends: a timer waits for the
//! earliest end, so a peer backed off for 1 s is tried after 1 s, and whatever it missed while
//! it was away reaches it as soon as it answers. The rounds are the slow safety net.
//!
//! Everything is bounded: one meeting per peer at a time (a peer learned twice is met once),
//! at most [`MEETS_AT_ONCE`] meetings in flight (the others wait their turn, so what waits is
//! at most one per known peer), each request under the client's deadlines.

use super::peers::{Peers, Sender};
use super::relay;
use super::state::ChainState;
use super::sync::ChainSync;
use super::tasks::Tasks;
use super::NodeError;
use crate::chain::{prefers, Timestamp};
use crate::network::{HandshakeError, Inserted, PeerSource, PeerUrl, CANDIDATES_PER_SOURCE};
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Peers contacted at once in a discovery round or a batch of handshakes.
pub const DISCOVERY_FANOUT: usize = 8;
/// Meetings in flight at once, whatever started them.
pub const MEETS_AT_ONCE: usize = 16;
/// How often a node announces itself to its peers and learns theirs, by default. Peers are met
/// the moment they are learned; the rounds are the slow safety net.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(30);
/// Peers a newly registered peer's URL is passed on to (once, when it is new to us).
pub const ADDRESS_FANOUT: usize = 8;

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
    peers: Peers,
    chain: ChainState,
    sync: ChainSync,
    tasks: Tasks,
    interval: Duration,
    meetings: Arc<Meetings>,
    /// Discovery rounds completed since the start.
    rounds: Arc<std::sync::atomic::AtomicU64>,
}

/// The meetings under way: one per peer, a bounded number at once.
struct Meetings {
    peers: Mutex<HashSet<PeerUrl>>,
    slots: Semaphore,
}

/// A meeting with one peer, from its start to its end (or its cancellation).
struct Meeting<'a> {
    meetings: &'a Meetings,
    peer: PeerUrl,
}

impl Meetings {
    /// Starts a meeting with `peer`, unless one is under way.
    fn start(&self, peer: &PeerUrl) -> Option<Meeting<'_>> {
        let fresh = self
            .peers
            .lock()
            .expect("meetings lock")
            .insert(peer.clone());
        fresh.then(|| Meeting {
            meetings: self,
            peer: peer.clone(),
        })
    }
}

impl Drop for Meeting<'_> {
    fn drop(&mut self) {
        let mut peers = self.meetings.peers.lock().expect("meetings lock");
        peers.remove(&self.peer);
    }
}

impl Discovery {
    pub fn new(
        peers: Peers,
        chain: ChainState,
        sync: ChainSync,
        tasks: Tasks,
        interval: Duration,
    ) -> Discovery {
        Discovery {
            peers,
            chain,
            sync,
            tasks,
            interval,
            meetings: Arc::new(Meetings {
                peers: Mutex::new(HashSet::new()),
                slots: Semaphore::new(MEETS_AT_ONCE),
            }),
            rounds: Arc::default(),
        }
    }

    /// Discovery rounds completed since the node started (the first runs once it listens).
    pub fn rounds(&self) -> u64 {
        self.rounds.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Takes the peers of a `POST /nodes/register`. Each new one must pass the handshake: one
    /// on another chain refuses the whole request and adds nothing; one that does not answer is
    /// kept as a candidate with back-off. Repeats and this node itself are skipped. A list
    /// naming a banned peer is refused whole.
    ///
    /// A URL that is the request's own `sender` (it came from where that URL points) is a peer
    /// registering itself: it picked us, and takes inbound room. Any other URL is an address
    /// passed on to us, taken like one learned from a peer list.
    ///
    /// A peer is used the moment it is learned: each new one that passed the handshake is met
    /// at once in the background (see [`Discovery::meet`]) and its URL passed on to our peers.
    /// A known peer named again that we are not using (it was away, and is announcing itself
    /// back) is met at once too, rather than at the end of its back-off.
    pub async fn register(
        &self,
        urls: Vec<PeerUrl>,
        sender: Option<&Sender>,
    ) -> Result<Registration, NodeError> {
        let peers = &self.peers;
        peers.prune_bans();
        for url in &urls {
            peers.refuse_banned(url)?;
        }
        let own = match sender {
            Some(sender) if urls.contains(&sender.url) && peers.vouches_for(sender).await => {
                peers.heard_from(&sender.url);
                Some(sender.url.clone())
            }
            _ => None,
        };
        if !peers.takes_local_urls() {
            if let Some(local) = urls
                .iter()
                .find(|u| u.is_local_host() && own.as_ref() != Some(u))
            {
                return Err(NodeError::LocalPeerUrl(local.clone()));
            }
        }
        for url in urls.iter().filter(|u| peers.is_idle(u)) {
            self.spawn_meet(url.clone());
        }
        let (fresh, full) = peers.unknown(urls, own.as_ref());
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
        let mut candidates = 0;
        for (url, result) in fresh.into_iter().zip(results) {
            // Junk in one request adds a few candidates at most.
            if result.is_err() {
                if candidates == CANDIDATES_PER_SOURCE {
                    registration.full = true;
                    continue;
                }
                candidates += 1;
            }
            let source = match own.as_ref() == Some(&url) {
                true => PeerSource::Registered,
                false => PeerSource::Learned,
            };
            match peers.insert_met(&url, source, result.is_ok()) {
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
                    self.spawn_meet(url.clone());
                    self.spawn_pass_on(url.clone());
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
    /// once, then one every interval after the previous one ends; beside them, the retry timer.
    /// Ends when the node's tasks are cancelled (the caller races it against shutdown).
    pub async fn run(self) {
        self.peers.listening().await;
        self.tasks.spawn(self.clone().retry());
        let after_interval =
            || Timestamp::now().saturating_add_millis(self.interval.as_millis() as u64);
        loop {
            // Known once this round ends; until then, at least an interval away.
            self.peers.set_next_round(after_interval());
            self.discover().await;
            self.rounds
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            self.peers.set_next_round(after_interval());
            tokio::time::sleep(self.interval).await;
        }
    }

    /// The retry timer: meets each backed-off peer the moment its back-off ends. It sleeps
    /// until the earliest end, and wakes early when the book changes (a new failure may end
    /// sooner than anything it waited for).
    async fn retry(self) {
        let mut changes = self.peers.changes();
        loop {
            changes.borrow_and_update();
            let now = Timestamp::now();
            let mut next: Option<Timestamp> = None;
            for (peer, at) in self.peers.retries() {
                match at <= now {
                    true => self.spawn_meet(peer),
                    false => next = Some(next.map_or(at, |n| n.min(at))),
                }
            }
            let wait = next.map(|at| Duration::from_millis(at.as_millis() - now.as_millis()));
            let sleep = async {
                match wait {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = sleep => {}
            }
        }
    }

    /// One discovery round. Each peer that is due (not banned, not backing off) is handshaken,
    /// told our public URL, and asked for its peers; new ones are handshaken and added. A peer
    /// whose status shows more work than we have is synced from in the background.
    pub async fn discover(&self) {
        self.peers.prune_bans();
        futures::stream::iter(self.peers.due())
            .for_each_concurrent(DISCOVERY_FANOUT, |peer| async move {
                self.meet_once(&peer).await
            })
            .await;
    }

    /// Meets `peer` in the background: see [`Discovery::meet_once`].
    fn spawn_meet(&self, peer: PeerUrl) {
        let discovery = self.clone();
        self.tasks
            .spawn(async move { discovery.meet_once(&peer).await });
    }

    /// Meets `peer` unless a meeting with it is under way, once one of the
    /// [`MEETS_AT_ONCE`] slots is free; see [`Discovery::meet`].
    async fn meet_once(&self, peer: &PeerUrl) {
        let Some(_meeting) = self.meetings.start(peer) else {
            return;
        };
        // Closed only if the semaphore is, which it never is.
        let Ok(_slot) = self.meetings.slots.acquire().await else {
            return;
        };
        self.meet(peer).await;
    }

    /// Passes the URL of a newly registered peer on to up to [`ADDRESS_FANOUT`] of our peers
    /// (once: a node passes a URL on only when it is new to it), so nodes pointed at one seed
    /// learn each other within a round trip or two.
    fn spawn_pass_on(&self, fresh: PeerUrl) {
        let discovery = self.clone();
        self.tasks.spawn(async move {
            let peers = &discovery.peers;
            let me = peers.public_url();
            let fresh = std::slice::from_ref(&fresh);
            let targets: Vec<PeerUrl> = peers
                .usable()
                .into_iter()
                .filter(|p| *p != fresh[0])
                .take(ADDRESS_FANOUT)
                .collect();
            futures::stream::iter(targets)
                .for_each_concurrent(DISCOVERY_FANOUT, |target| {
                    let me = me.as_ref();
                    async move {
                        if let Err(e) = peers.client().register(&target, fresh, me).await {
                            log::debug!("passing {} on to {target} failed: {e}", fresh[0]);
                        }
                    }
                })
                .await;
        });
    }

    /// Tells `peer` of our tip, naming us as the sender (see [`relay::tell`]).
    async fn send_tip(&self, peer: &PeerUrl) {
        let block = match self.chain.block(self.chain.tip().hash).await {
            Ok(Some(block)) => block,
            Ok(None) => return,
            Err(e) => return log::warn!("reading our tip for {peer}: {e}"),
        };
        let me = self.peers.public_url();
        if let Err(e) = relay::tell(self.peers.client(), peer, &block, me.as_ref()).await {
            self.peers.failed(peer, &e);
        }
    }

    /// Meets a peer: the handshake, then whichever side has more work brings the other up to
    /// date (we sync from it if it is ahead, or send it our tip if it is behind), then we
    /// announce ourselves and learn its peers. A discovery round meets every due peer; a peer
    /// just learned is met at once.
    pub async fn meet(&self, peer: &PeerUrl) {
        let peers = &self.peers;
        match peers.handshake(peer).await {
            Ok(status) => {
                peers.verified(peer);
                // A peer ahead of us syncs now rather than when its next block happens to
                // come: this is how nodes split by a partition (or a ban) converge once it
                // heals, and how a node that missed a relay catches up.
                let ours = self.chain.tip();
                match status.total_work {
                    // Its tip is claimed like an announced block, so that an announcement of
                    // it and this sync do not both download the body.
                    Some(theirs) if prefers(theirs, ours.work) => match status.tip {
                        Some(tip) => self.sync.spawn_sync_for(peer.clone(), tip),
                        None => self.sync.spawn_sync_with(peer.clone()),
                    },
                    // A peer behind us (it missed a relay while it was away) gets our tip now;
                    // it fetches whatever lies between from us, as for any orphan.
                    Some(theirs) if prefers(ours.work, theirs) => self.send_tip(peer).await,
                    _ => {}
                }
            }
            Err(HandshakeError::Unreachable(e)) => return peers.failed(peer, &e),
            Err(HandshakeError::WrongChain(e)) => return peers.refuse_wrong_chain(peer, &e),
        }
        if let Some(me) = peers.public_url() {
            match peers
                .client()
                .register(peer, std::slice::from_ref(&me), Some(&me))
                .await
            {
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
    /// a candidate with back-off. Each one that answered is then met in the background.
    async fn learn(&self, from: &PeerUrl, mut listed: Vec<PeerUrl>) {
        if !self.peers.takes_local_urls() {
            listed.retain(|u| !u.is_local_host());
        }
        let (fresh, _) = self.peers.unknown(listed, None);
        let candidates = &std::sync::atomic::AtomicUsize::new(0);
        futures::stream::iter(fresh)
            .for_each_concurrent(DISCOVERY_FANOUT, |url| async move {
                let peers = &self.peers;
                let result = peers.handshake(&url).await;
                if let Err(HandshakeError::WrongChain(e)) = &result {
                    log::info!("not adding peer {url}, learned from {from}: {e}");
                    return;
                }
                // One peer's list adds a few candidates at most.
                let ordering = std::sync::atomic::Ordering::Relaxed;
                if result.is_err() && candidates.fetch_add(1, ordering) >= CANDIDATES_PER_SOURCE {
                    return;
                }
                if peers.insert_met(&url, PeerSource::Learned, result.is_ok()) != Inserted::Added {
                    return;
                }
                match result {
                    Ok(_) => {
                        log::info!("learned peer {url} from {from}");
                        peers.verified(&url);
                        self.spawn_meet(url);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::PeerState;
    use crate::node::fake::{chain_of, url, FakeNet, FakePeer, Harness};
    use crate::node::NodeError;
    use std::time::Instant;

    fn discovery(parts: &Harness) -> Discovery {
        Discovery::new(
            parts.peers.clone(),
            parts.chain.clone(),
            parts.sync.clone(),
            Tasks::default(),
            Duration::from_secs(3600),
        )
    }

    fn other_chain() -> FakePeer {
        FakePeer {
            genesis: Some(crate::chain::BlockHash::from_bytes([9; 32])),
            ..FakePeer::serving(chain_of(1, "other"))
        }
    }

    #[tokio::test]
    async fn a_registration_naming_a_peer_on_another_chain_adds_nothing() {
        let (good, wrong) = (url(1), url(2));
        let net = FakeNet::with(vec![
            (good.clone(), FakePeer::serving(chain_of(0, "good"))),
            (wrong.clone(), other_chain()),
        ]);
        let parts = Harness::new(net, vec![]);
        let refused = discovery(&parts).register(vec![good, wrong], None).await;
        assert!(
            matches!(refused, Err(NodeError::WrongChain(_))),
            "{refused:?}"
        );
        assert!(parts.peers.views().is_empty());
    }

    #[tokio::test]
    async fn a_registered_peer_that_does_not_answer_waits_as_a_candidate() {
        let (good, silent) = (url(1), url(2));
        let net = FakeNet::with(vec![(good.clone(), FakePeer::serving(chain_of(0, "good")))]);
        let parts = Harness::new(net, vec![]);
        let registration = discovery(&parts)
            .register(vec![good.clone(), silent.clone(), good.clone()], None)
            .await
            .unwrap();
        assert_eq!(registration.added, vec![good.clone(), silent.clone()]);
        assert!(parts.state_of(&good).verified);
        assert_eq!(parts.state_of(&good).state, PeerState::Ok);
        assert_eq!(parts.state_of(&silent).state, PeerState::Backoff);
        assert_eq!(
            parts.peers.usable(),
            vec![good],
            "only the handshaken one is used"
        );
    }

    #[tokio::test]
    async fn a_peer_registering_itself_takes_inbound_room_when_the_picked_peers_are_full() {
        let (newcomer, passed_on) = (url(100), url(101));
        let net = FakeNet::with(vec![
            (newcomer.clone(), FakePeer::serving(chain_of(0, "new"))),
            (passed_on.clone(), FakePeer::serving(chain_of(0, "other"))),
        ]);
        let parts = Harness::new(net, vec![]);
        for port in 1..=16 {
            assert_eq!(
                parts.peers.insert(&url(port), PeerSource::Learned),
                Inserted::Added
            );
        }
        let discovery = discovery(&parts);
        // An address passed on by someone else needs room among the peers we pick.
        let relayer = Sender::claimed(url(1), Some([127, 0, 0, 1].into()));
        let refused = discovery
            .register(vec![passed_on.clone()], Some(&relayer))
            .await
            .unwrap();
        assert!(refused.added.is_empty() && refused.full, "{refused:?}");
        // A peer naming itself, from where its URL points, picked us: it has room of its own.
        let itself = Sender::claimed(newcomer.clone(), Some([127, 0, 0, 1].into()));
        let taken = discovery
            .register(vec![newcomer.clone()], Some(&itself))
            .await
            .unwrap();
        assert_eq!(taken.added, vec![newcomer.clone()]);
        let view = parts.state_of(&newcomer);
        assert_eq!((view.source, view.verified), (PeerSource::Registered, true));
    }

    #[tokio::test]
    async fn a_round_learns_the_peers_of_a_peer_but_not_those_on_another_chain() {
        let (seed, friend, wrong, silent) = (url(1), url(2), url(3), url(4));
        let seed_script = FakePeer {
            listed: vec![friend.clone(), wrong.clone(), silent.clone()],
            ..FakePeer::serving(chain_of(0, "seed"))
        };
        let net = FakeNet::with(vec![
            (seed.clone(), seed_script),
            (friend.clone(), FakePeer::serving(chain_of(0, "friend"))),
            (wrong.clone(), other_chain()),
        ]);
        let parts = Harness::new(net.clone(), vec![seed.clone()]);
        discovery(&parts).discover().await;

        let known: Vec<PeerUrl> = parts.peers.views().into_iter().map(|v| v.url).collect();
        assert_eq!(known, vec![seed.clone(), friend.clone(), silent.clone()]);
        assert!(parts.state_of(&friend).verified);
        assert_eq!(parts.state_of(&silent).state, PeerState::Backoff);
        // Without a public URL the node does not announce itself.
        assert_eq!(net.count(&seed, "register"), 0);
    }

    #[tokio::test]
    async fn a_round_syncs_from_a_peer_that_is_ahead() {
        let ahead = url(1);
        let theirs = chain_of(12, "ahead");
        let net = FakeNet::with(vec![(ahead.clone(), FakePeer::serving(theirs.clone()))]);
        let parts = Harness::new(net, vec![ahead]);
        discovery(&parts).discover().await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while parts.chain.tip().hash != theirs.last().unwrap().hash() {
            assert!(Instant::now() < deadline, "the round never synced");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn a_named_peer_on_another_chain_is_banned_a_learned_one_forgotten() {
        let (named, seed, learned) = (url(1), url(2), url(3));
        let seed_script = FakePeer {
            listed: vec![learned.clone()],
            ..FakePeer::serving(chain_of(0, "seed"))
        };
        let net = FakeNet::with(vec![
            (named.clone(), other_chain()),
            (seed.clone(), seed_script),
            (learned.clone(), FakePeer::serving(chain_of(0, "learned"))),
        ]);
        let parts = Harness::new(net, vec![named.clone(), seed.clone()]);
        discovery(&parts).discover().await;
        assert_eq!(parts.state_of(&named).state, PeerState::Banned);
        assert!(parts.state_of(&learned).verified);
    }

    #[tokio::test]
    async fn a_learned_peer_found_on_another_chain_is_forgotten() {
        let learned = url(1);
        let net = FakeNet::with(vec![(learned.clone(), other_chain())]);
        let parts = Harness::new(net, vec![]);
        parts.peers.insert(&learned, PeerSource::Learned);
        discovery(&parts).discover().await;
        assert!(parts.peers.views().is_empty(), "{:?}", parts.peers.views());
    }
}
