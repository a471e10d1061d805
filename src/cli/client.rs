//! A typed, blocking HTTP client for one node's REST API: the only way the CLI reaches a node.
//!
//! Every call returns the node's answer twice: parsed into a type for the human-readable views,
//! and as the exact text the node sent, which `--json` prints unchanged. A node that cannot be
//! reached at all is one error, [`ClientError::Unreachable`], whose message says how to start one.

use crate::chain::{
    Address, BlockHash, ChainParams, Height, Target, Transaction, Transfer, TxId, WireBlock, Work,
};
use crate::mining::{MiningStats, ProcessUsage, Progress};
use crate::network::{ChainPage, PeerUrl};
use crate::node::AccountView;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The command that starts a node, named in the "no node answers" message.
pub const START_NODE: &str = "cargo run --release -- node";
/// The node a CLI talks to unless told otherwise.
pub const DEFAULT_NODE: &str = "http://127.0.0.1:5000";

/// How long to wait for a TCP connection: a node on the same machine answers at once.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long any request but mining may take: resolve downloads whole chains from peers.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long `POST /mine` may take. A search has no natural bound (it depends on the difficulty
/// and the machine), so this only stops a CLI from waiting on a node that hung.
const MINE_TIMEOUT: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no node answers at {node}; start one with `{START_NODE}`")]
    Unreachable { node: String },
    #[error("{node} did not answer {what} within {secs} s", secs = timeout.as_secs())]
    Timeout {
        node: String,
        what: String,
        timeout: Duration,
    },
    /// The node answered with an error; `body` is its JSON, printed as is under `--json`.
    #[error("the node refused {what}: {message} ({code}, HTTP {status})")]
    Api {
        what: String,
        status: u16,
        code: String,
        message: String,
        body: String,
    },
    #[error("{node} sent an answer to {what} that this CLI cannot read: {error}")]
    Unreadable {
        node: String,
        what: String,
        error: String,
    },
    #[error("request {what} to {node} failed: {error}")]
    Http {
        node: String,
        what: String,
        error: reqwest::Error,
    },
}

impl ClientError {
    /// A short machine-readable name, the `error` field of the `--json` error document.
    pub fn code(&self) -> &str {
        match self {
            ClientError::Unreachable { .. } => "node_unreachable",
            ClientError::Timeout { .. } => "timeout",
            ClientError::Api { code, .. } => code,
            ClientError::Unreadable { .. } => "unreadable_answer",
            ClientError::Http { .. } => "http_error",
        }
    }
}

/// A parsed answer and the exact text it came from.
#[derive(Debug)]
pub struct Answer<T> {
    pub value: T,
    pub raw: String,
}

/// `GET /status`, as the CLI reads it. Fields a newer node adds are ignored; `process` is
/// optional so an older node still works (without CPU and memory in the live view).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct NodeStatus {
    pub height: Height,
    pub length: u64,
    pub tip: BlockHash,
    pub total_work: Work,
    pub next_target: Target,
    pub difficulty: f64,
    pub params: ChainParams,
    pub genesis: BlockHash,
    pub version: String,
    pub peers: Vec<String>,
    pub mining: Progress,
    pub last_mined: Option<MiningStats>,
    pub syncing: bool,
    #[serde(default)]
    pub process: Option<ProcessUsage>,
    /// Where the node's rewards go (nodes since signed transfers).
    #[serde(default)]
    pub miner: Option<Address>,
    /// Transfers waiting in its mempool.
    #[serde(default)]
    pub mempool: Option<usize>,
}

/// `POST /transactions`.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Submitted {
    pub message: String,
    pub id: TxId,
}

/// `POST /mine`.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Mined {
    pub message: String,
    pub block: WireBlock,
    pub stats: MiningStats,
}

/// How one peer fared in `GET /nodes/resolve`.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct PeerSync {
    pub peer: String,
    pub added: usize,
    pub error: Option<String>,
}

/// `GET /nodes/resolve`, without the chain it also carries.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Resolved {
    pub message: String,
    pub replaced: bool,
    pub length: u64,
    pub peers: Vec<PeerSync>,
}

/// `GET /nodes` and `POST /nodes/register`.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Peers {
    #[serde(default)]
    pub message: Option<String>,
    pub nodes: Vec<String>,
    /// How each peer stands (nodes before discovery send only `nodes`).
    #[serde(default)]
    pub peers: Vec<PeerLine>,
}

/// One entry of `peers` in `GET /nodes`: the fields the CLI shows.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct PeerLine {
    pub url: String,
    pub state: String,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub ban_reason: Option<String>,
}

#[derive(serde::Deserialize)]
struct ApiErrorBody {
    error: String,
    message: String,
}

/// A blocking client bound to one node. Cheap to clone (clones share connections), so the live
/// mining view polls from one thread while another waits for the block.
#[derive(Clone)]
pub struct Client {
    http: reqwest::blocking::Client,
    node: PeerUrl,
}

impl Client {
    pub fn new(node: PeerUrl) -> Client {
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("ferrochain-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building fails only if the TLS backend cannot initialise, which is a broken build.
            .expect("the HTTP client builds with a static configuration");
        Client { http, node }
    }

    pub fn node(&self) -> &PeerUrl {
        &self.node
    }

    pub fn status(&self) -> Result<Answer<NodeStatus>, ClientError> {
        self.send("GET /status", self.http.get(self.node.join("/status")))
    }

    /// Up to `limit` main-chain blocks from `from` (the node caps a page at 1000).
    pub fn chain(&self, from: Height, limit: usize) -> Result<Answer<ChainPage>, ClientError> {
        let path = format!("/chain?from={from}&limit={limit}");
        self.send(&format!("GET {path}"), self.http.get(self.node.join(&path)))
    }

    /// Mines `transactions` into a block; blocks until the node has found it.
    pub fn mine(&self, transactions: &[Transaction]) -> Result<Answer<Mined>, ClientError> {
        let body = serde_json::json!({ "transactions": transactions });
        let request = self
            .http
            .post(self.node.join("/mine"))
            .json(&body)
            .timeout(MINE_TIMEOUT);
        self.send("POST /mine", request)
    }

    /// `GET /accounts/<address>`: balance, nonce and pending transfers.
    pub fn account(&self, address: &Address) -> Result<Answer<AccountView>, ClientError> {
        let path = format!("/accounts/{address}");
        self.send(&format!("GET {path}"), self.http.get(self.node.join(&path)))
    }

    /// `POST /transactions` with a transfer signed here.
    pub fn submit_transfer(&self, transfer: &Transfer) -> Result<Answer<Submitted>, ClientError> {
        self.send(
            "POST /transactions",
            self.http
                .post(self.node.join("/transactions"))
                .json(transfer),
        )
    }

    pub fn resolve(&self) -> Result<Answer<Resolved>, ClientError> {
        self.send(
            "GET /nodes/resolve",
            self.http.get(self.node.join("/nodes/resolve")),
        )
    }

    pub fn peers(&self) -> Result<Answer<Peers>, ClientError> {
        self.send("GET /nodes", self.http.get(self.node.join("/nodes")))
    }

    pub fn register(&self, peers: &[PeerUrl]) -> Result<Answer<Peers>, ClientError> {
        let body = serde_json::json!({ "nodes": peers });
        self.send(
            "POST /nodes/register",
            self.http
                .post(self.node.join("/nodes/register"))
                .json(&body),
        )
    }

    /// `POST /nodes/ban`: ignore `peer` for `seconds`.
    pub fn ban(
        &self,
        peer: &PeerUrl,
        seconds: u64,
        reason: Option<&str>,
    ) -> Result<Answer<Peers>, ClientError> {
        let body = serde_json::json!({ "node": peer, "seconds": seconds, "reason": reason });
        self.send(
            "POST /nodes/ban",
            self.http.post(self.node.join("/nodes/ban")).json(&body),
        )
    }

    /// `DELETE /nodes/ban`: lift `peer`'s ban.
    pub fn unban(&self, peer: &PeerUrl) -> Result<Answer<Peers>, ClientError> {
        let body = serde_json::json!({ "node": peer });
        self.send(
            "DELETE /nodes/ban",
            self.http.delete(self.node.join("/nodes/ban")).json(&body),
        )
    }

    fn send<T: DeserializeOwned>(
        &self,
        what: &str,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<Answer<T>, ClientError> {
        let http_error = |error: reqwest::Error| {
            if error.is_connect() {
                ClientError::Unreachable {
                    node: self.node.to_string(),
                }
            } else if error.is_timeout() {
                ClientError::Timeout {
                    node: self.node.to_string(),
                    what: what.to_owned(),
                    timeout: if what == "POST /mine" {
                        MINE_TIMEOUT
                    } else {
                        REQUEST_TIMEOUT
                    },
                }
            } else {
                ClientError::Http {
                    node: self.node.to_string(),
                    what: what.to_owned(),
                    error,
                }
            }
        };
        let response = request.send().map_err(http_error)?;
        let status = response.status();
        let raw = response.text().map_err(http_error)?;
        let unreadable = |error: String| ClientError::Unreadable {
            node: self.node.to_string(),
            what: what.to_owned(),
            error,
        };
        if !status.is_success() {
            let body: ApiErrorBody = serde_json::from_str(&raw)
                .map_err(|_| unreadable(format!("HTTP {status} without an error document")))?;
            return Err(ClientError::Api {
                what: what.to_owned(),
                status: status.as_u16(),
                code: body.error,
                message: body.message,
                body: raw,
            });
        }
        let value = serde_json::from_str(&raw).map_err(|e| unreadable(e.to_string()))?;
        Ok(Answer { value, raw })
    }
}
