//! The one HTTP client every request to a peer goes through.
//!
//! Peers are untrusted: each request has a connect timeout and a total deadline, redirects are
//! never followed (a peer cannot point us at another address), and bodies are read in chunks
//! with a hard cap, so a peer that is silent, slow, endless or huge costs a bounded amount of
//! time and memory and surfaces as a [`PeerError`].

use super::message::{
    Announcement, ChainPage, LocateRequest, Located, PeerStatus, Peers, RegisterRequest,
};
use super::peer::PeerUrl;
use super::PeerState;
use crate::chain::{Block, BlockHash, Height, Transfer, WireBlock};
use std::time::Duration;

/// Largest response body accepted from a peer: a full page of blocks with room to spare.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// Largest `GET /status` or `GET /nodes` body accepted: far more than an honest one needs.
pub const MAX_SMALL_RESPONSE_BYTES: usize = 256 * 1024;
/// The header in which a node names itself (its public URL) when it relays a block or a
/// transfer, so the receiver knows whom to ask for missing ancestors and whom to blame.
pub const PEER_HEADER: &str = "X-Ferrochain-Peer";
/// Most peer URLs taken from one `GET /nodes` answer; the rest are ignored.
pub const MAX_LISTED_PEERS: usize = 256;

/// Deadlines for peer requests.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    /// For the whole request, body included.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            total: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The request did not get through; `cause` says why in words ("connection refused"), from
    /// the innermost error the HTTP client wraps.
    #[error("{peer}: request failed: {cause}")]
    Request { peer: String, cause: String },
    /// No answer within the client's deadline (connecting, or the whole request).
    #[error("{peer}: request failed: timed out after {}", seconds(*after))]
    TimedOut { peer: String, after: Duration },
    #[error("{peer}: answered {status}")]
    Status {
        peer: String,
        status: reqwest::StatusCode,
    },
    #[error("{peer}: response exceeds {limit} bytes")]
    TooLarge { peer: String, limit: usize },
    #[error("{peer}: unreadable response: {error}")]
    Json {
        peer: String,
        error: serde_json::Error,
    },
    /// It answered with something that contradicts itself (a block whose stated hash is not
    /// its hash).
    #[error("{peer}: {reason}")]
    Invalid { peer: String, reason: String },
}

/// A cheap-to-clone client (reqwest shares its connection pool between clones).
#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    timeouts: Timeouts,
}

impl PeerClient {
    /// A client with `timeouts` that goes through `proxy` if one is given, and otherwise
    /// straight to each peer: proxy variables in the environment (`HTTP_PROXY`, ...) are
    /// ignored, so peer traffic never silently takes a route the operator's shell happens to name.
    pub fn new(timeouts: Timeouts, proxy: Option<&url::Url>) -> PeerClient {
        let builder = reqwest::Client::builder();
        let builder = match proxy {
            Some(proxy) => builder.proxy(
                reqwest::Proxy::all(proxy.as_str()).expect("a parsed URL is a valid proxy address"),
            ),
            None => builder.no_proxy(),
        };
        let http = builder
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.total)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ferrochain/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building fails only if the TLS backend cannot initialise, which is a broken build.
            .expect("the HTTP client builds with a static configuration");
        PeerClient { http, timeouts }
    }

    /// Blocks `from..from + limit` of the peer's main chain.
    pub async fn chain_page(
        &self,
        peer: &PeerUrl,
        from: Height,
        limit: usize,
        tip: BlockHash,
    ) -> Result<ChainPage, PeerError> {
        let url = peer.join(&format!("/chain?from={from}&limit={limit}&tip={tip}"));
        self.get_json(peer, &url, MAX_RESPONSE_BYTES).await
    }

    /// `POST /chain/locate`: where `peer`'s main chain meets the chain `locator` describes.
    pub async fn locate(
        &self,
        peer: &PeerUrl,
        locator: &[BlockHash],
    ) -> Result<Located, PeerError> {
        let body = LocateRequest::new(locator);
        self.post_json_read(peer, "/chain/locate", &body, MAX_SMALL_RESPONSE_BYTES)
            .await
    }

    /// `GET /status`, read only as far as the handshake needs.
    pub async fn status(&self, peer: &PeerUrl) -> Result<PeerStatus, PeerError> {
        self.get_json(peer, &peer.join("/status"), MAX_SMALL_RESPONSE_BYTES)
            .await
    }

    /// `POST /nodes/register` with `{"nodes": nodes}`, naming us (`me`) as the sender; returns
    /// the peer's status code. Naming ourselves in `nodes` is how a node registers; naming others
    /// passes their addresses on.
    pub async fn register(
        &self,
        peer: &PeerUrl,
        nodes: &[PeerUrl],
        me: Option<&PeerUrl>,
    ) -> Result<reqwest::StatusCode, PeerError> {
        let body = RegisterRequest {
            nodes: nodes.iter().map(PeerUrl::to_string).collect(),
        };
        self.post_json(peer, "/nodes/register", &body, me).await
    }

    /// `POST /blocks/announce`, naming us as the sender; returns the peer's status code.
    pub async fn announce(
        &self,
        peer: &PeerUrl,
        announcement: &Announcement,
        me: Option<&PeerUrl>,
    ) -> Result<reqwest::StatusCode, PeerError> {
        self.post_json(peer, "/blocks/announce", announcement, me)
            .await
    }

    /// `GET /blocks/<hash>`: one block, with the size of the body it came in.
    pub async fn block(
        &self,
        peer: &PeerUrl,
        hash: BlockHash,
    ) -> Result<(Block, usize), PeerError> {
        let url = peer.join(&format!("/blocks/{hash}"));
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(request_failed(peer, self.timeouts))?;
        let body = read_ok(peer, resp, MAX_RESPONSE_BYTES, self.timeouts).await?;
        let wire: WireBlock = parse(peer, &body)?;
        let block = wire.into_block().map_err(|e| PeerError::Invalid {
            peer: peer.to_string(),
            reason: e.to_string(),
        })?;
        Ok((block, body.len()))
    }

    /// The peers `peer` lists in `GET /nodes`, at most [`MAX_LISTED_PEERS`]. When the peer shows
    /// states, only those it finds healthy are taken; entries that are not valid peer URLs are
    /// skipped (by the [`Peers`] reader), since one peer's bad entry should not cost us the others.
    pub async fn nodes(&self, peer: &PeerUrl) -> Result<Vec<PeerUrl>, PeerError> {
        let answer: Peers = self
            .get_json(peer, &peer.join("/nodes"), MAX_SMALL_RESPONSE_BYTES)
            .await?;
        let urls = match answer.peers {
            Some(peers) => peers
                .into_iter()
                .filter(|p| p.state == PeerState::Ok)
                .map(|p| p.url)
                .collect(),
            None => answer.nodes,
        };
        Ok(urls.into_iter().take(MAX_LISTED_PEERS).collect())
    }

    /// `POST /add_block`, naming us as the sender when we have a public URL; returns the peer's
    /// status code (2xx: taken or known).
    pub async fn send_block(
        &self,
        peer: &PeerUrl,
        block: &Block,
        me: Option<&PeerUrl>,
    ) -> Result<reqwest::StatusCode, PeerError> {
        self.post_json(peer, "/add_block", block, me).await
    }

    /// `POST /transactions`, naming us as the sender; returns the peer's status code.
    pub async fn send_transfer(
        &self,
        peer: &PeerUrl,
        transfer: &Transfer,
        me: Option<&PeerUrl>,
    ) -> Result<reqwest::StatusCode, PeerError> {
        self.post_json(peer, "/transactions", transfer, me).await
    }

    async fn post_json(
        &self,
        peer: &PeerUrl,
        path: &str,
        body: &impl serde::Serialize,
        me: Option<&PeerUrl>,
    ) -> Result<reqwest::StatusCode, PeerError> {
        let mut request = self.http.post(peer.join(path)).json(body);
        if let Some(me) = me {
            request = request.header(PEER_HEADER, me.to_string());
        }
        let resp = request
            .send()
            .await
            .map_err(request_failed(peer, self.timeouts))?;
        let status = resp.status();
        // Drain (bounded) so the connection can be reused; the body itself is not needed.
        read_capped(peer, resp, 64 * 1024, self.timeouts).await.ok();
        Ok(status)
    }

    /// Posts `body` and reads a JSON answer of at most `limit` bytes; a non-2xx status fails.
    async fn post_json_read<T: serde::de::DeserializeOwned>(
        &self,
        peer: &PeerUrl,
        path: &str,
        body: &impl serde::Serialize,
        limit: usize,
    ) -> Result<T, PeerError> {
        let resp = self
            .http
            .post(peer.join(path))
            .json(body)
            .send()
            .await
            .map_err(request_failed(peer, self.timeouts))?;
        read_json(peer, resp, limit, self.timeouts).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        peer: &PeerUrl,
        url: &str,
        limit: usize,
    ) -> Result<T, PeerError> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(request_failed(peer, self.timeouts))?;
        read_json(peer, resp, limit, self.timeouts).await
    }
}

/// The body of a 2xx answer as `T`; any other status is an error.
async fn read_json<T: serde::de::DeserializeOwned>(
    peer: &PeerUrl,
    resp: reqwest::Response,
    limit: usize,
    timeouts: Timeouts,
) -> Result<T, PeerError> {
    parse(peer, &read_ok(peer, resp, limit, timeouts).await?)
}

/// The body of a 2xx answer, at most `limit` bytes; any other status is an error.
async fn read_ok(
    peer: &PeerUrl,
    resp: reqwest::Response,
    limit: usize,
    timeouts: Timeouts,
) -> Result<Vec<u8>, PeerError> {
    if !resp.status().is_success() {
        return Err(PeerError::Status {
            peer: peer.to_string(),
            status: resp.status(),
        });
    }
    read_capped(peer, resp, limit, timeouts).await
}

fn parse<T: serde::de::DeserializeOwned>(peer: &PeerUrl, body: &[u8]) -> Result<T, PeerError> {
    serde_json::from_slice(body).map_err(|error| PeerError::Json {
        peer: peer.to_string(),
        error,
    })
}

/// Turns a transport error talking to `peer` into a [`PeerError`] naming it and its cause.
fn request_failed(
    peer: &PeerUrl,
    timeouts: Timeouts,
) -> impl FnOnce(reqwest::Error) -> PeerError + '_ {
    move |error| match (error.is_timeout(), error.is_connect()) {
        (true, true) => PeerError::TimedOut {
            peer: peer.to_string(),
            after: timeouts.connect,
        },
        (true, false) => PeerError::TimedOut {
            peer: peer.to_string(),
            after: timeouts.total,
        },
        (false, _) => PeerError::Request {
            peer: peer.to_string(),
            cause: cause(&error),
        },
    }
}

/// Why a request failed, in words: the innermost error the HTTP client wraps ("connection
/// refused"), rather than its own outer "error sending request for url (...)".
pub fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    let mut io = None;
    while let Some(next) = innermost.source() {
        if let Some(e) = next.downcast_ref::<std::io::Error>() {
            io = Some(e);
        }
        innermost = next;
    }
    use std::io::ErrorKind;
    match io.map(std::io::Error::kind) {
        Some(ErrorKind::ConnectionRefused) => "connection refused".to_owned(),
        Some(ErrorKind::ConnectionReset) => "connection reset by the peer".to_owned(),
        Some(ErrorKind::ConnectionAborted) => "connection aborted".to_owned(),
        Some(ErrorKind::UnexpectedEof) => "the peer closed the connection early".to_owned(),
        _ => innermost.to_string(),
    }
}

/// A deadline as people read it: `15 s`, `0.5 s`.
fn seconds(d: Duration) -> String {
    match d.subsec_millis() {
        0 => format!("{} s", d.as_secs()),
        _ => format!("{:.1} s", d.as_secs_f64()),
    }
}

/// Reads a body chunk by chunk, failing as soon as it passes `limit`; a declared length over the
/// limit fails before anything is read.
async fn read_capped(
    peer: &PeerUrl,
    mut resp: reqwest::Response,
    limit: usize,
    timeouts: Timeouts,
) -> Result<Vec<u8>, PeerError> {
    let too_large = || PeerError::TooLarge {
        peer: peer.to_string(),
        limit,
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(request_failed(peer, timeouts))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
