//! A scripted network for the sync and discovery tests: peers that serve a chain of blocks from
//! memory and can lie about it, move it while it is read, or not answer at all. Implements
//! [`PeerApi`], so the node's parts run against it exactly as against real peers.

use super::events::Events;
use super::metrics::Metrics;
use super::peers::Peers;
use super::relay::Relay;
use super::state::ChainState;
use super::sync::ChainSync;
use super::tasks::Tasks;
use crate::chain::{Address, Block, BlockHash, ChainParams, Difficulty, Height, Timestamp};
use crate::chain::{Note, Transaction, Transfer, Work};
use crate::mining::mine_child_sequential;
use crate::network::{
    message::Announcement, ChainPage, ChainPoint, ClaimedTip, Located, PeerApi, PeerError,
    PeerStatus, PeerUrl,
};
use crate::storage::Store;
use futures::future::BoxFuture;
use reqwest::StatusCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

/// Easy enough that a block takes a few hundred hashes.
pub fn params() -> ChainParams {
    ChainParams::new(Difficulty::new(8).unwrap())
}

pub fn url(port: u16) -> PeerUrl {
    PeerUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap()
}

/// `count` blocks on top of `chain` (genesis first), each carrying `tag` so that two branches
/// built from the same parent differ.
pub fn extend(chain: &[Block], count: usize, tag: &str) -> Vec<Block> {
    let mut out = chain.to_vec();
    for i in 0..count {
        let parent = out.last().expect("a chain starts with genesis");
        let note = Transaction::Note(Note::new(format!("{tag} {i}")).unwrap());
        let at = Timestamp::from_millis(parent.header.timestamp.as_millis() + 1000);
        let miner = Address::from_bytes([7; 32]);
        out.push(mine_child_sequential(
            &params(),
            parent,
            miner,
            vec![note],
            at,
        ));
    }
    out
}

/// Genesis and `count` blocks.
pub fn chain_of(count: usize, tag: &str) -> Vec<Block> {
    extend(&[params().genesis().into_block()], count, tag)
}

/// The work a chain carries, genesis included, as the store counts it.
pub fn work_of(chain: &[Block]) -> Work {
    chain
        .iter()
        .map(|b| b.header.target.work())
        .fold(Work::default(), |a, b| a + b)
}

/// One scripted peer.
#[derive(Clone, Default)]
pub struct FakePeer {
    /// Its main chain, genesis first.
    pub chain: Vec<Block>,
    /// A tip it claims instead of its own (a lie, or a chain that moved).
    pub claim: Option<ClaimedTip>,
    /// A fork point it names instead of the block our locator and its chain share (a lie).
    pub fork: Option<ChainPoint>,
    /// It serves no block above this height.
    pub serve_up_to: Option<Height>,
    /// Chains it switches to, one after each page it serves: a peer reorganising mid-sync.
    pub next_chains: Vec<Vec<Block>>,
    /// It does not answer (every request times out).
    pub down: bool,
    /// What it lists in `GET /nodes`.
    pub listed: Vec<PeerUrl>,
    /// Its genesis, if not ours (a peer on another chain).
    pub genesis: Option<BlockHash>,
    /// A node from before announcements: `POST /blocks/announce` answers 404.
    pub legacy: bool,
}

impl FakePeer {
    pub fn serving(chain: Vec<Block>) -> FakePeer {
        FakePeer {
            chain,
            ..FakePeer::default()
        }
    }

    fn tip(&self) -> ClaimedTip {
        self.claim.unwrap_or_else(|| {
            let last = self.chain.last().expect("a chain starts with genesis");
            ClaimedTip {
                height: last.height(),
                hash: last.hash(),
                work: work_of(&self.chain),
            }
        })
    }
}

/// Peers by URL; a URL with no peer behind it times out.
#[derive(Default)]
pub struct FakeNet {
    peers: Mutex<HashMap<PeerUrl, FakePeer>>,
    /// Every request, as `"<peer> <what>"`.
    pub log: Mutex<Vec<String>>,
}

impl FakeNet {
    pub fn with(peers: Vec<(PeerUrl, FakePeer)>) -> Arc<FakeNet> {
        Arc::new(FakeNet {
            peers: Mutex::new(peers.into_iter().collect()),
            log: Mutex::default(),
        })
    }

    /// How many requests `what` (e.g. `"locate"`) went to `peer`.
    pub fn count(&self, peer: &PeerUrl, what: &str) -> usize {
        let wanted = format!("{peer} {what}");
        let log = self.log.lock().unwrap();
        log.iter().filter(|l| **l == wanted).count()
    }

    /// Runs `answer` on `peer`'s script, or times out if it has none or is down.
    fn ask<T>(
        &self,
        peer: &PeerUrl,
        what: &str,
        answer: impl FnOnce(&mut FakePeer) -> T,
    ) -> Result<T, PeerError> {
        self.log.lock().unwrap().push(format!("{peer} {what}"));
        let mut peers = self.peers.lock().unwrap();
        match peers.get_mut(peer).filter(|p| !p.down) {
            Some(script) => Ok(answer(script)),
            None => Err(PeerError::TimedOut {
                peer: peer.to_string(),
                after: crate::network::Timeouts::default().total,
            }),
        }
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl PeerApi for FakeNet {
    fn status<'a>(&'a self, peer: &'a PeerUrl) -> BoxFuture<'a, Result<PeerStatus, PeerError>> {
        ready(self.ask(peer, "status", |p| PeerStatus {
            genesis: p.genesis.unwrap_or_else(|| params().genesis_hash()),
            version: None,
            total_work: Some(p.tip().work),
            tip: Some(p.tip().hash),
        }))
    }

    fn locate<'a>(
        &'a self,
        peer: &'a PeerUrl,
        locator: &'a [BlockHash],
    ) -> BoxFuture<'a, Result<Located, PeerError>> {
        ready(self.ask(peer, "locate", |p| {
            let fork = locator
                .iter()
                .find_map(|h| p.chain.iter().find(|b| b.hash() == *h))
                .unwrap_or(&p.chain[0]);
            Located {
                fork: p.fork.unwrap_or(ChainPoint {
                    height: fork.height(),
                    hash: fork.hash(),
                }),
                tip: p.tip(),
            }
        }))
    }

    fn chain_page<'a>(
        &'a self,
        peer: &'a PeerUrl,
        from: Height,
        limit: usize,
        tip: BlockHash,
    ) -> BoxFuture<'a, Result<ChainPage, PeerError>> {
        let asked = self.ask(peer, "chain", |p| {
            // Like a real node: pages of the branch that ends in `tip`, while it is ours.
            let Some(end) = p
                .chain
                .iter()
                .position(|b| b.hash() == tip)
                .or(p.claim.map(|_| p.chain.len() - 1))
            else {
                return Err(PeerError::Status {
                    peer: peer.to_string(),
                    status: StatusCode::CONFLICT,
                });
            };
            let top = p
                .serve_up_to
                .map_or(end as u64, |h| h.get().min(end as u64));
            let blocks: Vec<&Block> = p
                .chain
                .iter()
                .skip(from.get() as usize)
                .take(limit)
                .take_while(|b| b.height().get() <= top)
                .collect();
            let page = ChainPage {
                length: p.chain.len() as u64,
                chain: serde_json::from_value(serde_json::json!(blocks)).unwrap(),
            };
            if !p.next_chains.is_empty() {
                p.chain = p.next_chains.remove(0);
                p.claim = None;
            }
            Ok(page)
        });
        ready(asked.and_then(|page| page))
    }

    fn register<'a>(
        &'a self,
        peer: &'a PeerUrl,
        _nodes: &'a [PeerUrl],
        _me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>> {
        ready(self.ask(peer, "register", |_| StatusCode::OK))
    }

    fn announce<'a>(
        &'a self,
        peer: &'a PeerUrl,
        _announcement: &'a Announcement,
        _me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>> {
        ready(self.ask(peer, "announce", |p| match p.legacy {
            true => StatusCode::NOT_FOUND,
            false => StatusCode::ACCEPTED,
        }))
    }

    fn block<'a>(
        &'a self,
        peer: &'a PeerUrl,
        hash: BlockHash,
    ) -> BoxFuture<'a, Result<(Block, usize), PeerError>> {
        let asked = self.ask(peer, "block", |p| {
            let found = p.chain.iter().find(|b| b.hash() == hash).cloned();
            found.ok_or_else(|| PeerError::Status {
                peer: peer.to_string(),
                status: StatusCode::NOT_FOUND,
            })
        });
        ready(
            asked.and_then(|found| {
                found.map(|b| (b.clone(), serde_json::to_vec(&b).unwrap().len()))
            }),
        )
    }

    fn nodes<'a>(&'a self, peer: &'a PeerUrl) -> BoxFuture<'a, Result<Vec<PeerUrl>, PeerError>> {
        ready(self.ask(peer, "nodes", |p| p.listed.clone()))
    }

    fn send_block<'a>(
        &'a self,
        peer: &'a PeerUrl,
        _block: &'a Block,
        _me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>> {
        ready(self.ask(peer, "add_block", |_| StatusCode::CREATED))
    }

    fn send_transfer<'a>(
        &'a self,
        peer: &'a PeerUrl,
        _transfer: &'a Transfer,
        _me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>> {
        ready(self.ask(peer, "transactions", |_| StatusCode::CREATED))
    }
}

/// A node's chain, peer and sync parts over a fresh store in a temp dir, talking to `net`.
pub struct Harness {
    pub chain: ChainState,
    pub peers: Peers,
    pub sync: ChainSync,
    /// Kept so the store's directory lives as long as the parts.
    _dir: TempDir,
}

impl Harness {
    pub fn new(net: Arc<FakeNet>, known: Vec<PeerUrl>) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), Some(params())).unwrap());
        let book = Peers::open_book(&store, 16, 16, &[], &known).unwrap();
        let (relay, _outbox) = Relay::new();
        let chain = ChainState::new(store.clone(), relay, Events::new(), Metrics::new()).unwrap();
        let peers = Peers::new(net, store, book, None, Metrics::new());
        let sync = ChainSync::new(chain.clone(), peers.clone(), Tasks::default());
        Harness {
            chain,
            peers,
            sync,
            _dir: dir,
        }
    }

    /// Stores `chain` (genesis first) as ours.
    pub async fn adopt(&self, chain: &[Block]) {
        let report = self.chain.accept(chain[1..].to_vec()).await.unwrap();
        assert!(report.rejected.is_none(), "{:?}", report.rejected);
    }

    pub fn state_of(&self, peer: &PeerUrl) -> crate::network::PeerView {
        let views = self.peers.views();
        views.into_iter().find(|v| v.url == *peer).unwrap()
    }
}
