//! `GET /nodes/resolve`, `GET /nodes`, `POST /nodes/register`, `POST` and `DELETE /nodes/ban`
//! and `GET /status`: the node's peers as the API shows them. Bodies are the types of
//! [`crate::network::message`].

use super::access::Operator;
use super::body::Object;
use super::chain::stream_chain;
use super::error::ApiError;
use super::sender::ClaimedSender;
use crate::chain::Height;
use crate::network::message::{
    BanRequest, Banned, ErrorBody, NodeStatus, Peers, RegisterRequest, Registered, Resolved,
    UnbanRequest, Unbanned,
};
use crate::network::PeerUrl;
use crate::node::Node;
use rocket::http::{ContentType, Status};
use rocket::response::stream::ByteStream;
use rocket::serde::json::{self, Json};
use rocket::State;
use std::time::Duration;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![resolve, nodes, register, ban, unban, status]
}

/// The description of [`routes`], for `GET /openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(resolve, nodes, register, ban, unban, status))]
pub(super) struct Doc;

/// Syncs from every peer and adopts the valid chain with the most work. Answers with the
/// original API's fields (`message`, `replaced`, `length`, `chain`) plus how each peer fared.
#[utoipa::path(
    get,
    path = "/nodes/resolve",
    tag = "peers",
    security((), ("token" = [])),
    responses(
        (status = 200, description = "The outcome, each peer's part, and the main chain after it.", body = Resolved),
        (status = 401, description = "`unauthorized`: the API token is required and was missing or wrong.", body = ErrorBody),
    )
)]
#[rocket::get("/nodes/resolve")]
async fn resolve(
    node: &State<Node>,
    operator: Operator,
) -> Result<(ContentType, ByteStream![Vec<u8>]), ApiError> {
    operator.check()?;
    let resolved = node.sync().resolve().await?;
    // The chain follows the head as its last field.
    Ok(stream_chain(
        node.inner().clone(),
        &resolved,
        node.tip().hash,
        Height::GENESIS,
        usize::MAX,
        usize::MAX,
    ))
}

/// Every peer, as `GET /nodes` and the tail of the register and ban answers show them.
fn peer_list(node: &Node) -> Peers {
    Peers {
        nodes: node.peers().list(),
        peers: Some(node.peers().views()),
    }
}

/// The known peers: `nodes`, the plain list (the original API's), and `peers`, each with where
/// it came from and how it stands (`ok`, `backoff` with its last error, `banned` with the
/// reason and until when).
#[utoipa::path(
    get,
    path = "/nodes",
    tag = "peers",
    responses((status = 200, description = "The known peers.", body = Peers))
)]
#[rocket::get("/nodes")]
fn nodes(node: &State<Node>) -> Json<Peers> {
    Json(peer_list(node))
}

/// Adds peers that announce themselves (the peers file is not rewritten). The body is exactly
/// `{"nodes": [...]}`, a list of strings: a string where the list should be is a 422 (serde
/// refuses it), never read as a list of characters. Every entry must be a
/// node's base URL with its port, or nothing is added (422 `bad_peer_url`); known ones and the
/// node itself are skipped. Each new peer is handshaken: one on another chain refuses the
/// request (422 `wrong_chain`); one that does not answer is kept as a candidate with back-off.
/// 201 when something was added, 200 when nothing was new; both list all peers.
#[utoipa::path(
    post,
    path = "/nodes/register",
    tag = "peers",
    request_body = RegisterRequest,
    params(("X-Ferrochain-Peer" = Option<PeerUrl>, Header, description = "The registering node's own URL.")),
    responses(
        (status = 201, description = "Peers were added.", body = Registered),
        (status = 200, description = "Nothing new.", body = Registered),
        (status = 403, description = "`banned`: the sender is banned.", body = ErrorBody),
        (status = 422, description = "`no_nodes`, `bad_peer_url`, `local_peer_url` or `wrong_chain`.", body = ErrorBody),
    )
)]
#[rocket::post("/nodes/register", data = "<body>")]
async fn register(
    node: &State<Node>,
    sender: ClaimedSender,
    body: Result<Json<Object<RegisterRequest>>, json::Error<'_>>,
) -> Result<(Status, Json<Registered>), ApiError> {
    let sender = sender.into_inner()?;
    let Object(request) = body.map_err(ApiError::from_json)?.into_inner();
    if request.nodes.is_empty() {
        return Err(ApiError::new(
            Status::UnprocessableEntity,
            "no_nodes",
            "give at least one node: {\"nodes\": [\"http://host:port\", ...]}",
        ));
    }
    let peers = request
        .nodes
        .iter()
        .map(|url| PeerUrl::parse(url))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::new(Status::UnprocessableEntity, "bad_peer_url", e.to_string()))?;
    let registration = node.discovery().register(peers, sender.as_ref()).await?;
    let added = registration.added;
    let status = match added.is_empty() {
        true => Status::Ok,
        false => Status::Created,
    };
    let mut message = match added.len() {
        0 => "no new peers".to_owned(),
        1 => "1 peer added".to_owned(),
        n => format!("{n} peers added"),
    };
    if registration.full {
        message.push_str(" (the peer list is full)");
    }
    Ok((
        status,
        Json(Registered {
            message,
            added,
            list: peer_list(node),
        }),
    ))
}

/// Longest operator ban: a year. Longer is almost certainly a typo (seconds for milliseconds).
pub const MAX_BAN_SECONDS: u64 = 365 * 24 * 60 * 60;
/// Longest ban reason kept, in characters: it is stored and shown in every `GET /nodes`.
pub const MAX_BAN_REASON: usize = 256;

fn parse_node(url: &str) -> Result<PeerUrl, ApiError> {
    PeerUrl::parse(url)
        .map_err(|e| ApiError::new(Status::UnprocessableEntity, "bad_peer_url", e.to_string()))
}

/// The operator bans a peer for a while (Bitcoin's `setban ... add`): it is not contacted, and
/// its blocks, transfers and registrations are refused with 403 `banned`, until the ban ends or
/// is lifted. Any URL can be banned, known or not; a new ban replaces the old one. 200 with
/// when it ends and every peer's state; 422 for a bad URL, this node's own, a duration outside
/// 1 second to a year, or a reason over 256 characters.
#[utoipa::path(
    post,
    path = "/nodes/ban",
    tag = "peers",
    security((), ("token" = [])),
    request_body = BanRequest,
    responses(
        (status = 200, description = "Banned; when the ban ends, and every peer.", body = Banned),
        (status = 401, description = "`unauthorized`: the API token is required and was missing or wrong.", body = ErrorBody),
        (status = 422, description = "`bad_peer_url`, `own_url`, `bad_duration` or `bad_reason`.", body = ErrorBody),
    )
)]
#[rocket::post("/nodes/ban", data = "<body>")]
fn ban(
    node: &State<Node>,
    operator: Operator,
    body: Result<Json<Object<BanRequest>>, json::Error<'_>>,
) -> Result<Json<Banned>, ApiError> {
    operator.check()?;
    let Object(request) = body.map_err(ApiError::from_json)?.into_inner();
    let url = parse_node(&request.node)?;
    let unprocessable =
        |code, message: String| ApiError::new(Status::UnprocessableEntity, code, message);
    if node.peers().is_self(&url) {
        return Err(unprocessable(
            "own_url",
            format!("{url} is this node itself"),
        ));
    }
    if !(1..=MAX_BAN_SECONDS).contains(&request.seconds) {
        return Err(unprocessable(
            "bad_duration",
            format!(
                "seconds must be 1 to {MAX_BAN_SECONDS} (a year), got {}",
                request.seconds
            ),
        ));
    }
    let reason = request
        .reason
        .unwrap_or_else(|| "banned by the operator".to_owned());
    if reason.chars().count() > MAX_BAN_REASON {
        return Err(unprocessable(
            "bad_reason",
            format!("a reason has at most {MAX_BAN_REASON} characters"),
        ));
    }
    let until = node
        .peers()
        .operator_ban(&url, Duration::from_secs(request.seconds), reason);
    Ok(Json(Banned {
        message: format!("{url} banned"),
        node: url,
        banned_until: until,
        list: peer_list(node),
    }))
}

/// Lifts a ban (Bitcoin's `setban ... remove`): 200, or 404 when the URL has no ban in force.
#[utoipa::path(
    delete,
    path = "/nodes/ban",
    tag = "peers",
    security((), ("token" = [])),
    request_body = UnbanRequest,
    responses(
        (status = 200, description = "The ban is lifted.", body = Unbanned),
        (status = 401, description = "`unauthorized`: the API token is required and was missing or wrong.", body = ErrorBody),
        (status = 404, description = "`not_found`: no ban in force for that URL.", body = ErrorBody),
        (status = 422, description = "`bad_peer_url`.", body = ErrorBody),
    )
)]
#[rocket::delete("/nodes/ban", data = "<body>")]
fn unban(
    node: &State<Node>,
    operator: Operator,
    body: Result<Json<Object<UnbanRequest>>, json::Error<'_>>,
) -> Result<Json<Unbanned>, ApiError> {
    operator.check()?;
    let Object(request) = body.map_err(ApiError::from_json)?.into_inner();
    let url = parse_node(&request.node)?;
    if !node.peers().unban(&url) {
        return Err(ApiError::not_found(format!("{url} is not banned")));
    }
    Ok(Json(Unbanned {
        message: format!("ban on {url} lifted"),
        node: url,
        list: peer_list(node),
    }))
}

/// A snapshot of the node: its chain, rules, peers, miner and process. Cheap to poll: every
/// figure is kept up to date as it changes, not gathered per request.
#[utoipa::path(
    get,
    path = "/status",
    tag = "node",
    responses((status = 200, description = "The node now.", body = NodeStatus))
)]
#[rocket::get("/status")]
fn status(node: &State<Node>) -> Json<NodeStatus> {
    Json(node.status())
}
