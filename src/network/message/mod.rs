//! Every request and response body of the REST API, defined once.
//!
//! The REST API is also the peer protocol, so the same types serve three sides: the Rocket
//! handlers in `api/` write them, the [`PeerClient`](super::PeerClient) reads what peers send,
//! and the CLI's client reads its node's answers. Each derives `Serialize` and `Deserialize`,
//! and a field names a JSON key exactly as it appears on the wire.
//!
//! Readers are lenient where the writer may be another version: a field older nodes lacked is
//! `#[serde(default)]` or an `Option`, unknown fields are ignored, an unknown peer state reads as
//! [`PeerState::Unknown`](super::PeerState::Unknown), and one unreadable entry of a peer list is skipped rather than
//! failing the list. Requests the API reads are strict (`deny_unknown_fields`): a typo in a
//! request is an error, not a silently ignored field.
//!
//! `GET /chain` and `GET /nodes/resolve` stream their chain behind a head serde wrote
//! ([`open_object`]), so their types describe the head; [`ChainPage`] reads the chain too.

mod events;
mod headers;
mod history;

pub use events::{
    BadEventId, BlockJoined, ChainReset, Event, EventId, MempoolChange, MiningReport, PeerChange,
    Reorganisation, Reorganisations,
};
pub use headers::{HeaderPage, HeaderView};
pub use history::{AccountHistory, Direction, HistoryItem};

use super::{PeerUrl, PeerView};
use crate::chain::InvalidBlock;
use crate::chain::{
    Address, Amount, Block, BlockHash, ChainParams, Height, Target, Timestamp, Transaction,
    Transfer, TxId, WireBlock, Work,
};
use crate::mempool::Pending;
use crate::mining::{MiningStats, ProcessUsage, Progress};
use serde::{Deserialize, Deserializer, Serialize};
use std::io::{self, Write};
use utoipa::ToSchema;

/// The word a value is written as in JSON (a peer state's `"ok"`, a direction's `"sent"`), for
/// views that show the API's own words; `None` for a value that is not written as a string.
pub fn wire_name(value: &impl Serialize) -> Option<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Some(name),
        _ => None,
    }
}

/// Every error answer: `{"error": "<code>", "message": "<what is wrong>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A short machine-readable code (`bad_proof_of_work`, `banned`, ...).
    pub error: String,
    pub message: String,
}

/// `GET /health/live` and `GET /health/ready` when the answer is yes (a no is an [`ErrorBody`]
/// with a 503).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `live` or `ready`.
    pub status: String,
    pub height: Height,
    /// Peers the node relays to and syncs from now.
    pub usable_peers: usize,
    pub syncing: bool,
}

/// `GET /status`: a snapshot of the node.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NodeStatus {
    pub height: Height,
    pub length: u64,
    pub tip: BlockHash,
    pub total_work: Work,
    /// The target the next block must meet, and the same as fractional leading zero bits.
    pub next_target: Target,
    pub difficulty: f64,
    /// The chain's rules: starting difficulty and retargeting.
    pub params: ChainParams,
    pub genesis: BlockHash,
    pub version: String,
    pub peers: Vec<PeerUrl>,
    pub mining: Progress,
    pub last_mined: Option<MiningStats>,
    pub syncing: bool,
    /// The node's CPU (since the previous `status` call) and memory, for live views; older
    /// nodes do not send it.
    #[serde(default)]
    pub process: Option<ProcessUsage>,
    /// Where the node's block rewards go (nodes since signed transfers).
    #[serde(default)]
    pub miner: Option<Address>,
    /// Transfers waiting in the mempool (0 from nodes that have none).
    #[serde(default)]
    pub mempool: usize,
    /// Blocks waiting in the orphan pool for their parent.
    #[serde(default)]
    pub orphans: usize,
    /// What the node has received from its peers since it started (nodes since announcements).
    #[serde(default)]
    pub relay: Option<RelayTraffic>,
}

/// What a node received from its peers since it started, for `GET /status` and the network
/// benchmark: how much block relay costs, and whether any block body came twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RelayTraffic {
    /// Announcements (`POST /blocks/announce`) received, and the bytes of their bodies.
    pub announcements: u64,
    pub announcement_bytes: u64,
    /// Block bodies received one at a time (fetched after an announcement, or pushed to
    /// `POST /add_block` by a peer), and their bytes.
    pub blocks: u64,
    pub block_bytes: u64,
    /// Of those, bodies of blocks the node already had.
    pub duplicate_blocks: u64,
    /// New blocks taken from sync pages (a node that was behind, or an orphan's ancestors).
    pub synced_blocks: u64,
}

/// What the handshake reads of a peer's [`NodeStatus`]: not another message, the same one read
/// only as far as the same-chain check needs, so that any node that names its genesis can be
/// handshaken, whatever else its status holds or lacks (the first nodes sent no `total_work`).
/// A test below keeps it in step with `NodeStatus`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PeerStatus {
    /// Derived from the chain parameters, so equal genesis hashes mean the same chain.
    pub genesis: BlockHash,
    #[serde(default)]
    pub version: Option<String>,
    /// The work the peer claims for its chain: a hint that it has blocks we lack (only the
    /// blocks it then serves count).
    #[serde(default)]
    pub total_work: Option<Work>,
    /// Its tip, as it claims: a node already fetching that block need not sync for it.
    #[serde(default)]
    pub tip: Option<BlockHash>,
}

/// `GET /chain`: one page of the main chain, and the whole chain's length.
///
/// The node streams `chain` behind the serialised head, so serialising a `ChainPage` writes only
/// `length`; reading one reads both.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ChainPage {
    /// What the node claims its chain length is. Informational only: a peer's is never trusted.
    pub length: u64,
    #[serde(skip_serializing)]
    pub chain: Vec<WireBlock>,
}

/// `POST /chain/locate`: `{"locator": [hash, ...]}`, our main chain's hashes newest first (see
/// `storage/locator.rs`). Entries are strings so the node can say which one is not a hash.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocateRequest {
    pub locator: Vec<String>,
}

impl LocateRequest {
    pub fn new(locator: &[BlockHash]) -> LocateRequest {
        LocateRequest {
            locator: locator.iter().map(ToString::to_string).collect(),
        }
    }
}

/// The answer to `POST /chain/locate`: where our chains meet, and what the node claims to have.
/// The claims are hints for what to fetch; only the blocks it then serves count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Located {
    /// The highest entry of the locator on the answering node's main chain.
    pub fork: ChainPoint,
    pub tip: ClaimedTip,
}

/// A block named by height and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChainPoint {
    pub height: Height,
    pub hash: BlockHash,
}

/// The tip a node claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClaimedTip {
    pub height: Height,
    pub hash: BlockHash,
    pub work: Work,
}

/// `GET /chain/verify`, and what `ferrochain verify --json` prints for the same check done on
/// the CLI's side: `{"valid", "length", "total_work"}` and, for an invalid chain, `"error"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Verification {
    pub valid: bool,
    /// Blocks checked and found valid, from genesis.
    pub length: u64,
    pub total_work: Work,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<BadBlock>,
}

/// The first block that breaks a rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BadBlock {
    pub index: Height,
    pub hash: BlockHash,
    /// The rule's code, as in the API's errors (`bad_proof_of_work`, `hash_mismatch`, ...).
    pub rule: String,
    pub message: String,
}

impl From<InvalidBlock> for BadBlock {
    fn from(e: InvalidBlock) -> Self {
        BadBlock {
            index: e.height,
            hash: e.hash,
            rule: e.rule.code().to_owned(),
            message: e.to_string(),
        }
    }
}

impl Verification {
    /// The answer for a verification of `length` blocks carrying `total_work`, stopped by
    /// `error` if one broke a rule.
    pub fn new(length: u64, total_work: Work, error: Option<InvalidBlock>) -> Verification {
        Verification {
            valid: error.is_none(),
            length,
            total_work,
            error: error.map(BadBlock::from),
        }
    }
}

/// The answer to `POST /add_block`: what became of the block.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockAdded {
    pub message: String,
    pub hash: BlockHash,
    pub index: Height,
}

/// `POST /blocks/announce`: the sender has this block on its main chain. A node that lacks it
/// fetches it once, from the sender (`GET /blocks/<hash>`); the announcement itself is all a
/// node that has it receives. The sender names itself in `X-Ferrochain-Peer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Announcement {
    pub hash: BlockHash,
    pub index: Height,
}

/// The answer to an announcement: 200 `known`, or 202 `fetching` (this node fetches the block,
/// from this sender or from whoever announced it first).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Announced {
    pub status: AnnouncedStatus,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnnouncedStatus {
    Known,
    Fetching,
}

/// `POST /mine`: notes to mine into a block; no body (or an empty one) mines none.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MineRequest {
    #[serde(default)]
    pub transactions: Vec<Transaction>,
}

/// A block this node mined, with the search's figures: the answer to `POST /mine`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Mined {
    pub message: String,
    /// Read as a peer's block is: a stated hash must be the block's own.
    #[serde(deserialize_with = "checked_block")]
    pub block: Block,
    pub stats: MiningStats,
}

impl Mined {
    pub fn new(block: Block, stats: MiningStats) -> Mined {
        Mined {
            message: format!("block {} mined", block.height()),
            block,
            stats,
        }
    }
}

/// The answer to `POST /transactions`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Submitted {
    pub message: String,
    pub id: TxId,
}

/// `GET /transactions/pending`, highest fee first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PendingTransfers {
    pub count: usize,
    pub transactions: Vec<Transfer>,
}

/// `GET /transactions/<id>`: where a transaction stands, tagged by `status`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum TransactionView {
    /// Waiting in the mempool.
    Pending { transaction: Transfer },
    /// On the main chain, in `block` at height `index`.
    Confirmed {
        block: BlockHash,
        index: Height,
        transaction: Transaction,
    },
}

/// `GET /accounts/<address>`: an account at the tip, with what it has waiting in the mempool.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    pub address: Address,
    pub balance: Amount,
    /// Transfers this account has had mined.
    pub nonce: u64,
    pub pending: Pending,
    /// The nonce the account's next transfer must carry.
    pub next_nonce: u64,
}

/// `GET /nodes`: the known peers. It is also the tail of the register and ban answers.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Peers {
    /// The plain list of URLs (the original API's). An entry that is not a peer URL is skipped.
    #[serde(deserialize_with = "each_readable")]
    pub nodes: Vec<PeerUrl>,
    /// Each peer with where it came from and how it stands; `None` from nodes before discovery.
    /// An entry this version cannot read is skipped.
    #[serde(
        default,
        deserialize_with = "each_readable_if_any",
        skip_serializing_if = "Option::is_none"
    )]
    pub peers: Option<Vec<PeerView>>,
}

/// `POST /nodes/register`: `{"nodes": [url, ...]}`, a list of strings (each checked by the node,
/// so it can name the bad one).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub nodes: Vec<String>,
}

/// The answer to `POST /nodes/register`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Registered {
    pub message: String,
    /// Peers new to the node (nodes before discovery do not say).
    #[serde(default)]
    pub added: Vec<PeerUrl>,
    #[serde(flatten)]
    pub list: Peers,
}

/// `POST /nodes/ban`: `{"node": url, "seconds": n, "reason": "..."}` (`reason` optional).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BanRequest {
    pub node: String,
    pub seconds: u64,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The answer to `POST /nodes/ban`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Banned {
    pub message: String,
    pub node: PeerUrl,
    pub banned_until: Timestamp,
    #[serde(flatten)]
    pub list: Peers,
}

/// `DELETE /nodes/ban`: `{"node": url}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnbanRequest {
    pub node: String,
}

/// The answer to `DELETE /nodes/ban`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Unbanned {
    pub message: String,
    pub node: PeerUrl,
    #[serde(flatten)]
    pub list: Peers,
}

/// How syncing from one peer went.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PeerSync {
    pub peer: PeerUrl,
    /// New valid blocks stored from this peer.
    pub added: usize,
    /// Why the peer's chain was not (fully) taken, if it was not.
    pub error: Option<String>,
    /// The peer was not asked: banned, backing off, or not handshaken (`error` says which).
    #[serde(default)]
    pub skipped: bool,
}

/// `GET /nodes/resolve`: the original API's fields and how each peer fared. The node streams the
/// whole main chain behind them as `chain`; readers here skip it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Resolved {
    pub message: String,
    pub replaced: bool,
    /// The main chain's length after the resolve.
    pub length: u64,
    pub peers: Vec<PeerSync>,
}

impl Resolved {
    pub fn new(replaced: bool, length: u64, peers: Vec<PeerSync>) -> Resolved {
        let message = match replaced {
            true => "Our chain was replaced",
            false => "Our chain is authoritative",
        };
        Resolved {
            message: message.to_owned(),
            replaced,
            length,
            peers,
        }
    }
}

/// `head` as a JSON object left open for one more field named `key`: everything up to and
/// including `"key":`. The caller writes that field's value (a long array, streamed) and then
/// the closing `}`. `head` must serialise as an object, as every struct here does.
pub fn open_object(head: &impl Serialize, key: &str) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        LeaveOpen {
            key,
            depth: 0,
            fields: 0,
        },
    );
    head.serialize(&mut ser)?;
    Ok(out)
}

/// Compact JSON, except that the outermost object, instead of closing, names one more field.
struct LeaveOpen<'k> {
    key: &'k str,
    /// Objects open, the outermost included.
    depth: usize,
    /// Fields the outermost object has so far.
    fields: usize,
}

impl serde_json::ser::Formatter for LeaveOpen<'_> {
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        w.write_all(b"{")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if self.depth == 1 {
            self.fields += 1;
        }
        match first {
            true => Ok(()),
            false => w.write_all(b","),
        }
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.depth > 0 {
            return w.write_all(b"}");
        }
        let first = self.fields == 0;
        self.begin_object_key(w, first)?;
        serde_json::to_writer(&mut *w, self.key)?;
        w.write_all(b":")
    }
}

/// A block as a peer sends it, held to the hash it states.
fn checked_block<'de, D: Deserializer<'de>>(d: D) -> Result<Block, D::Error> {
    WireBlock::deserialize(d)?
        .into_block()
        .map_err(serde::de::Error::custom)
}

/// A list of which each entry is read on its own, and dropped if it cannot be: one bad entry
/// from a peer should not cost the others.
fn each_readable<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let entries = Vec::<serde_json::Value>::deserialize(d)?;
    Ok(entries
        .into_iter()
        .filter_map(|entry| T::deserialize(entry).ok())
        .collect())
}

/// [`each_readable`] for a list that may be absent (or `null`).
fn each_readable_if_any<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let entries = Option::<Vec<serde_json::Value>>::deserialize(d)?;
    Ok(entries.map(|entries| {
        entries
            .into_iter()
            .filter_map(|entry| T::deserialize(entry).ok())
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Note, Timestamp};
    use crate::network::{PeerRecord, PeerSource, PeerState};
    use serde_json::{json, Value};

    fn url(port: u16) -> PeerUrl {
        PeerUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap()
    }

    fn genesis() -> Block {
        ChainParams::default().genesis().into_block()
    }

    fn status() -> NodeStatus {
        let params = ChainParams::default();
        let block = genesis();
        NodeStatus {
            height: Height::GENESIS,
            length: 1,
            tip: block.hash(),
            total_work: Work::from_u128(256),
            next_target: block.header.target,
            difficulty: block.header.target.difficulty_bits(),
            params,
            genesis: block.hash(),
            version: "0.4.0".to_owned(),
            peers: vec![url(5001)],
            mining: Progress::default(),
            last_mined: None,
            syncing: false,
            process: Some(ProcessUsage::default()),
            miner: Some(Address::from_bytes([7; 32])),
            mempool: 3,
            orphans: 1,
            relay: Some(RelayTraffic::default()),
        }
    }

    /// The streamed answers: a head written by [`open_object`], then the array, then `}`.
    fn streamed(head: &impl Serialize, chain: &[Block]) -> String {
        let mut out = open_object(head, "chain").unwrap();
        out.extend(serde_json::to_vec(chain).unwrap());
        out.push(b'}');
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_open_object_takes_one_more_field_after_its_own() {
        let peers = vec![PeerSync {
            peer: url(5001),
            added: 2,
            error: Some("a \"quoted\" } reason".to_owned()),
            skipped: false,
        }];
        let head = Resolved::new(true, 3, peers);
        let text = streamed(&head, &[genesis()]);
        let v: Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["message", "replaced", "length", "peers", "chain"]);
        assert_eq!(v["message"], "Our chain was replaced");
        assert_eq!(v["peers"][0]["error"], "a \"quoted\" } reason");
        assert_eq!(v["chain"][0]["hash"], genesis().hash().to_string());

        // An object with no fields of its own gets the one field alone.
        let empty = streamed(&serde_json::Map::new(), &[]);
        assert_eq!(empty, r#"{"chain":[]}"#);
    }

    #[test]
    fn the_resolve_answer_reads_back_without_its_chain() {
        let text = streamed(&Resolved::new(false, 1, Vec::new()), &[genesis()]);
        let read: Resolved = serde_json::from_str(&text).unwrap();
        assert!(!read.replaced);
        assert_eq!(read.length, 1);
        assert_eq!(read.message, "Our chain is authoritative");
        // An older node's peer line has no `skipped`.
        let old = json!({"message": "m", "replaced": false, "length": 1,
                         "peers": [{"peer": "http://127.0.0.1:5001", "added": 0, "error": null}],
                         "chain": []});
        let read: Resolved = serde_json::from_value(old).unwrap();
        assert!(!read.peers[0].skipped);
    }

    #[test]
    fn a_chain_page_head_is_its_length_and_a_page_reads_whole() {
        let head = ChainPage {
            length: 5,
            chain: Vec::new(),
        };
        assert_eq!(serde_json::to_value(&head).unwrap(), json!({"length": 5}));
        let page: ChainPage = serde_json::from_str(&streamed(&head, &[genesis()])).unwrap();
        assert_eq!(page.length, 5);
        assert_eq!(page.chain.len(), 1);
        assert_eq!(page.chain[0].hash, Some(genesis().hash()));
    }

    #[test]
    fn a_status_reads_back_and_older_ones_still_read() {
        let sent = serde_json::to_value(status()).unwrap();
        let read: NodeStatus = serde_json::from_value(sent.clone()).unwrap();
        assert_eq!(serde_json::to_value(&read).unwrap(), sent);

        // Before process figures, signed transfers and the orphan pool; plus a field from a
        // newer node.
        let mut old = sent.clone();
        let fields = old.as_object_mut().unwrap();
        for gone in ["process", "miner", "mempool", "orphans"] {
            fields.remove(gone);
        }
        fields.insert("from_the_future".into(), json!(1));
        let read: NodeStatus = serde_json::from_value(old).unwrap();
        assert_eq!((read.process, read.miner), (None, None));
        assert_eq!((read.mempool, read.orphans), (0, 0));
    }

    #[test]
    fn the_handshake_reads_what_a_status_says_and_needs_only_the_genesis() {
        let full = status();
        let read: PeerStatus =
            serde_json::from_value(serde_json::to_value(&full).unwrap()).unwrap();
        assert_eq!(read.genesis, full.genesis);
        assert_eq!(read.version.as_deref(), Some(full.version.as_str()));
        assert_eq!(read.total_work, Some(full.total_work));

        let minimal: PeerStatus = serde_json::from_value(json!({"genesis": full.genesis})).unwrap();
        assert_eq!((minimal.version, minimal.total_work), (None, None));
    }

    #[test]
    fn peer_lists_skip_what_they_cannot_read_and_know_no_state_as_unknown() {
        let now = Timestamp::from_millis(1_000);
        let view = PeerRecord::new(url(5001), PeerSource::Flag, now).view(now, None);
        let sent = serde_json::to_value(Peers {
            nodes: vec![url(5001)],
            peers: Some(vec![view]),
        })
        .unwrap();
        assert_eq!(sent["peers"][0]["state"], "ok");
        let read: Peers = serde_json::from_value(sent.clone()).unwrap();
        assert_eq!(serde_json::to_value(&read).unwrap(), sent);

        let mut newer = sent;
        newer["nodes"] = json!([
            "http://127.0.0.1:5001",
            "not a url",
            7,
            "http://127.0.0.1:5002"
        ]);
        let mut quarantined = newer["peers"][0].clone();
        quarantined["state"] = json!("quarantined");
        quarantined["url"] = json!("http://127.0.0.1:5002");
        newer["peers"] = json!([newer["peers"][0].clone(), quarantined, {"url": 5}, "x"]);
        let read: Peers = serde_json::from_value(newer).unwrap();
        assert_eq!(read.nodes, [url(5001), url(5002)]);
        let states: Vec<PeerState> = read.peers.unwrap().iter().map(|p| p.state).collect();
        assert_eq!(states, [PeerState::Ok, PeerState::Unknown]);

        // Before discovery: the plain list only, and a registration answer without `added`.
        let old: Peers =
            serde_json::from_value(json!({"nodes": ["http://127.0.0.1:5001"]})).unwrap();
        assert!(old.peers.is_none());
        let old: Registered = serde_json::from_value(
            json!({"message": "1 peer added", "nodes": ["http://127.0.0.1:5001"]}),
        )
        .unwrap();
        assert_eq!((old.added.len(), old.list.nodes.len()), (0, 1));
    }

    #[test]
    fn answers_with_a_peer_list_keep_their_fields_in_order() {
        let banned = Banned {
            message: "banned".to_owned(),
            node: url(5001),
            banned_until: Timestamp::from_millis(9),
            list: Peers {
                nodes: Vec::new(),
                peers: Some(Vec::new()),
            },
        };
        assert_eq!(
            serde_json::to_string(&banned).unwrap(),
            r#"{"message":"banned","node":"http://127.0.0.1:5001","banned_until":9,"nodes":[],"peers":[]}"#
        );
    }

    #[test]
    fn a_mined_block_reads_back_only_with_its_own_hash() {
        let sent = serde_json::to_value(Mined::new(genesis(), MiningStats::default())).unwrap();
        assert_eq!(sent["message"], "block 0 mined");
        let read: Mined = serde_json::from_value(sent.clone()).unwrap();
        assert_eq!(read.block, genesis());
        let mut edited = sent;
        edited["block"]["nonce"] = json!(genesis().header.nonce + 1);
        let err = serde_json::from_value::<Mined>(edited).unwrap_err();
        assert!(err.to_string().contains("claims hash"), "{err}");
    }

    #[test]
    fn a_transaction_is_tagged_by_its_status() {
        let note = Transaction::Note(Note::new("hello").unwrap());
        let confirmed = TransactionView::Confirmed {
            block: genesis().hash(),
            index: Height::new(4),
            transaction: note.clone(),
        };
        let sent = serde_json::to_value(&confirmed).unwrap();
        assert_eq!(
            sent,
            json!({"status": "confirmed", "block": genesis().hash(), "index": 4,
                   "transaction": note})
        );
        let read: TransactionView = serde_json::from_value(sent).unwrap();
        assert!(matches!(read, TransactionView::Confirmed { index, .. } if index.get() == 4));
    }

    #[test]
    fn requests_refuse_fields_they_do_not_have() {
        let locate = serde_json::to_value(LocateRequest::new(&[genesis().hash()])).unwrap();
        assert_eq!(locate, json!({"locator": [genesis().hash()]}));
        assert!(serde_json::from_value::<LocateRequest>(json!({"locator": [], "x": 1})).is_err());
        let ban = json!({"node": "http://127.0.0.1:5001", "seconds": 60});
        let read: BanRequest = serde_json::from_value(ban).unwrap();
        assert_eq!((read.seconds, read.reason), (60, None));
        assert!(serde_json::from_value::<UnbanRequest>(json!({"node": "x", "y": 1})).is_err());
        let mine: MineRequest = serde_json::from_value(json!({})).unwrap();
        assert!(mine.transactions.is_empty());
    }

    #[test]
    fn an_error_body_is_the_code_and_the_message() {
        let body = ErrorBody {
            error: "banned".to_owned(),
            message: "go away".to_owned(),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":"banned","message":"go away"}"#
        );
    }
}
