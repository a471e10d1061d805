//! A typed, blocking HTTP client for one node's REST API: the only way the CLI reaches a node.
//!
//! Every call returns the node's answer twice: parsed into a type for the human-readable views,
//! and as the exact text the node sent, which `--json` prints unchanged. The types are those of
//! [`crate::network::message`], the same the node writes. A node that cannot be reached at all
//! is one error, [`ClientError::Unreachable`], whose message says how to start one.

use super::watch::EventReader;
use crate::chain::{Address, BlockHash, Height, Transaction, Transfer, TxPosition, WireBlock};
use crate::network::message::{
    AccountHistory, AccountView, BanRequest, Banned, ChainPage, ErrorBody, MineRequest, Mined,
    NodeStatus, Peers, RegisterRequest, Registered, Resolved, Submitted, TransactionView,
    UnbanRequest, Unbanned,
};
use crate::network::PeerUrl;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The command that starts a node, named (with the port and address) in the "no node answers"
/// message.
pub const START_NODE: &str = "ferrochain node";
/// The node a CLI talks to unless told otherwise.
pub const DEFAULT_NODE: &str = "http://127.0.0.1:5000";

/// How long to wait for a TCP connection: a node on the same machine answers at once.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long any request but mining may take: resolve downloads whole chains from peers.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long `POST /mine` may take. A search has no natural bound (it depends on the difficulty
/// and the machine), so this only stops a CLI from waiting on a node that hung.
const MINE_TIMEOUT: Duration = Duration::from_secs(3600);
/// How long the event stream may last: as long as anyone watches (a year).
const STREAM_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no node answers at {node}; {start}")]
    Unreachable { node: String, start: String },
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
    #[error("request {what} to {node} failed: {}", crate::network::cause(error))]
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

/// One request to the node: its builder, how errors name it (`GET /status`), and how long it
/// may take.
struct Request {
    builder: reqwest::blocking::RequestBuilder,
    what: String,
    timeout: Duration,
}

impl Request {
    fn json(self, body: &impl serde::Serialize) -> Request {
        Request {
            builder: self.builder.json(body),
            ..self
        }
    }

    /// Allows the request `timeout` instead of [`REQUEST_TIMEOUT`].
    fn within(self, timeout: Duration) -> Request {
        Request { timeout, ..self }
    }
}

/// A blocking client bound to one node. Cheap to clone (clones share connections), so the live
/// mining view polls from one thread while another waits for the block.
#[derive(Clone)]
pub struct Client {
    http: reqwest::blocking::Client,
    node: PeerUrl,
    /// Sent as `Authorization: Bearer` with every request, if known.
    token: Option<String>,
}

/// `text` as one URL path segment: what a user types as an id cannot reach another route.
fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The token of a node on this machine started from this directory with the default data
/// directory (`data/<PORT>/api.token`), if this user can read it.
fn local_token(node: &PeerUrl) -> Option<String> {
    let local = is_local(&node.host()?);
    let path = std::path::Path::new("data")
        .join(node.port()?.to_string())
        .join(crate::token::TOKEN_FILE);
    local
        .then(|| crate::token::ApiToken::read(&path).ok())?
        .map(|t| t.as_str().to_owned())
}

/// How to start a node where `node` points: on this machine, the command with its port; on
/// another host, the command to run there.
pub fn start_hint(node: &PeerUrl) -> String {
    let port = node.port().unwrap_or(5000);
    let command = match port {
        5000 => START_NODE.to_owned(),
        port => format!("{START_NODE} {port}"),
    };
    match node.host() {
        Some(host) if is_local(&host) => format!("start one there with `{command}`"),
        Some(host) => format!("start one on {host} with `{command} --address 0.0.0.0`"),
        None => format!("start one with `{command}`"),
    }
}

/// Whether `host` is this machine.
fn is_local(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

impl Client {
    /// A client of `node`, sending `token` (or, if none is given, the one found in the default
    /// data directory of a node on this machine).
    pub fn new(node: PeerUrl, token: Option<String>) -> Client {
        let token = token.or_else(|| local_token(&node));
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("ferrochain-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building fails only if the TLS backend cannot initialise, which is a broken build.
            .expect("the HTTP client builds with a static configuration");
        Client { http, node, token }
    }

    pub fn node(&self) -> &PeerUrl {
        &self.node
    }

    pub fn status(&self) -> Result<Answer<NodeStatus>, ClientError> {
        self.send(self.get("/status"))
    }

    /// Up to `limit` main-chain blocks from `from` (the node caps a page at 1000).
    pub fn chain(&self, from: Height, limit: usize) -> Result<Answer<ChainPage>, ClientError> {
        self.send(self.get(&format!("/chain?from={from}&limit={limit}")))
    }

    /// Up to `limit` blocks from `from` of the node's main chain as it ends in `tip`; a 409
    /// `tip_moved` once `tip` has left the main chain.
    pub fn chain_to(
        &self,
        from: Height,
        limit: usize,
        tip: BlockHash,
    ) -> Result<Answer<ChainPage>, ClientError> {
        self.send(self.get(&format!("/chain?from={from}&limit={limit}&tip={tip}")))
    }

    /// Mines `transactions` into a block; blocks until the node has found it.
    pub fn mine(&self, transactions: &[Transaction]) -> Result<Answer<Mined>, ClientError> {
        let body = MineRequest {
            transactions: transactions.to_vec(),
        };
        self.send(self.post("/mine", &body).within(MINE_TIMEOUT))
    }

    /// `GET /accounts/<address>`: balance, nonce and pending transfers.
    pub fn account(&self, address: &Address) -> Result<Answer<AccountView>, ClientError> {
        self.send(self.get(&format!("/accounts/{address}")))
    }

    /// `GET /accounts/<address>/transactions`: up to `limit` entries of the address's history,
    /// newest first, older than `before` if given.
    pub fn history(
        &self,
        address: &Address,
        before: Option<TxPosition>,
        limit: usize,
    ) -> Result<Answer<AccountHistory>, ClientError> {
        let mut path = format!("/accounts/{address}/transactions?limit={limit}");
        if let Some(before) = before {
            path.push_str(&format!("&before={before}"));
        }
        self.send(self.get(&path))
    }

    /// `GET /blocks/<id>`: a main-chain block by height, or any stored block by hash. The id
    /// is sent as typed (one path segment); the node says what is wrong with a bad one.
    pub fn block(&self, id: &str) -> Result<Answer<WireBlock>, ClientError> {
        self.send(self.get(&format!("/blocks/{}", segment(id))))
    }

    /// `GET /transactions/<id>`: pending or mined.
    pub fn transaction(&self, id: &str) -> Result<Answer<TransactionView>, ClientError> {
        self.send(self.get(&format!("/transactions/{}", segment(id))))
    }

    /// `POST /transactions` with a transfer signed here.
    pub fn submit_transfer(&self, transfer: &Transfer) -> Result<Answer<Submitted>, ClientError> {
        self.send(self.post("/transactions", transfer))
    }

    /// `GET /nodes/resolve`, read without the chain it also carries.
    pub fn resolve(&self) -> Result<Answer<Resolved>, ClientError> {
        self.send(self.get("/nodes/resolve"))
    }

    pub fn peers(&self) -> Result<Answer<Peers>, ClientError> {
        self.send(self.get("/nodes"))
    }

    pub fn register(&self, peers: &[PeerUrl]) -> Result<Answer<Registered>, ClientError> {
        let body = RegisterRequest {
            nodes: peers.iter().map(ToString::to_string).collect(),
        };
        self.send(self.post("/nodes/register", &body))
    }

    /// `POST /nodes/ban`: ignore `peer` for `seconds`.
    pub fn ban(
        &self,
        peer: &PeerUrl,
        seconds: u64,
        reason: Option<&str>,
    ) -> Result<Answer<Banned>, ClientError> {
        let body = BanRequest {
            node: peer.to_string(),
            seconds,
            reason: reason.map(str::to_owned),
        };
        self.send(self.post("/nodes/ban", &body))
    }

    /// `DELETE /nodes/ban`: lift `peer`'s ban.
    pub fn unban(&self, peer: &PeerUrl) -> Result<Answer<Unbanned>, ClientError> {
        let body = UnbanRequest {
            node: peer.to_string(),
        };
        self.send(
            self.request(reqwest::Method::DELETE, "/nodes/ban")
                .json(&body),
        )
    }

    fn get(&self, path: &str) -> Request {
        self.request(reqwest::Method::GET, path)
    }

    fn post(&self, path: &str, body: &impl serde::Serialize) -> Request {
        self.request(reqwest::Method::POST, path).json(body)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> Request {
        let mut builder = self.http.request(method.clone(), self.node.join(path));
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        Request {
            what: format!("{method} {path}"),
            builder,
            timeout: REQUEST_TIMEOUT,
        }
    }

    fn send<T: DeserializeOwned>(&self, request: Request) -> Result<Answer<T>, ClientError> {
        let Request {
            builder,
            what,
            timeout,
        } = request;
        let what = what.as_str();
        let http_error = |error| self.http_error(what, timeout, error);
        let response = builder.timeout(timeout).send().map_err(http_error)?;
        let status = response.status();
        let raw = response.text().map_err(http_error)?;
        if !status.is_success() {
            return Err(self.refusal(what, status, raw));
        }
        let value = serde_json::from_str(&raw).map_err(|e| self.unreadable(what, e.to_string()))?;
        Ok(Answer { value, raw })
    }

    /// The node's events as they come (`GET /events`), from after `last` (an event id) if
    /// given. The stream has no deadline: it lasts as long as the node keeps it open.
    pub fn events(&self, last: Option<&str>) -> Result<EventReader, ClientError> {
        let what = "GET /events";
        let mut builder = self.get("/events").builder;
        if let Some(id) = last {
            builder = builder.header("Last-Event-ID", id);
        }
        let response = builder
            .timeout(STREAM_TIMEOUT)
            .send()
            .map_err(|e| self.http_error(what, REQUEST_TIMEOUT, e))?;
        let status = response.status();
        if !status.is_success() {
            let raw = response
                .text()
                .map_err(|e| self.http_error(what, REQUEST_TIMEOUT, e))?;
            return Err(self.refusal(what, status, raw));
        }
        Ok(EventReader::new(std::io::BufReader::new(response)))
    }

    fn http_error(&self, what: &str, timeout: Duration, error: reqwest::Error) -> ClientError {
        if error.is_connect() {
            ClientError::Unreachable {
                node: self.node.to_string(),
                start: start_hint(&self.node),
            }
        } else if error.is_timeout() {
            ClientError::Timeout {
                node: self.node.to_string(),
                what: what.to_owned(),
                timeout,
            }
        } else {
            ClientError::Http {
                node: self.node.to_string(),
                what: what.to_owned(),
                error,
            }
        }
    }

    /// The node's answer to `what` could not be read: `error` says why.
    pub(super) fn unreadable(&self, what: &str, error: String) -> ClientError {
        ClientError::Unreadable {
            node: self.node.to_string(),
            what: what.to_owned(),
            error,
        }
    }

    /// The node's error answer `raw`, sent with `status`.
    fn refusal(&self, what: &str, status: reqwest::StatusCode, raw: String) -> ClientError {
        match serde_json::from_str::<ErrorBody>(&raw) {
            Ok(body) => ClientError::Api {
                what: what.to_owned(),
                status: status.as_u16(),
                code: body.error,
                message: body.message,
                body: raw,
            },
            Err(_) => self.unreadable(what, format!("HTTP {status} without an error document")),
        }
    }
}
