//! `GET /nodes/resolve`, `GET /nodes`, `POST /nodes/register`, `POST /nodes/ban`,
//! `POST /nodes/unban` and `GET /status`: the node's peers as the API shows them.

use super::body::Object;
use super::chain::stream_chain;
use super::error::ApiError;
use crate::chain::Height;
use crate::network::PeerUrl;
use crate::node::{Node, NodeStatus};
use rocket::http::{ContentType, Status};
use rocket::response::stream::ByteStream;
use rocket::serde::json::{self, Json};
use rocket::State;
use serde_json::{json, Value};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![resolve, nodes, register, ban, unban, status]
}

/// Syncs from every peer and adopts the valid chain with the most work. Answers with the
/// original API's fields (`message`, `replaced`, `length`, `chain`) plus how each peer fared.
#[rocket::get("/nodes/resolve")]
async fn resolve(node: &State<Node>) -> Result<(ContentType, ByteStream![Vec<u8>]), ApiError> {
    let resolved = node.resolve().await?;
    let message = match resolved.replaced {
        true => "Our chain was replaced",
        false => "Our chain is authoritative",
    };
    let head = json!({
        "message": message,
        "replaced": resolved.replaced,
        "length": resolved.tip.length(),
        "peers": resolved.peers,
    })
    .to_string();
    // Reopen the object to append the streamed chain as its last field.
    let head = format!(r#"{},"chain":"#, head.trim_end_matches('}'));
    Ok(stream_chain(
        node.inner().clone(),
        head,
        Height::GENESIS,
        usize::MAX,
        usize::MAX,
    ))
}

/// The known peers: `nodes`, the plain list (the original API's), and `peers`, each with where
/// it came from and how it stands (`ok`, `backoff` with its last error, `banned` with the
/// reason and until when).
#[rocket::get("/nodes")]
fn nodes(node: &State<Node>) -> Json<Value> {
    Json(json!({ "nodes": node.peers(), "peers": node.peer_views() }))
}

/// Exactly `{"nodes": [...]}`: a list of strings. A string where the list should be is a 422
/// (serde refuses it), never read as a list of characters.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    nodes: Vec<String>,
}

/// Adds peers that announce themselves (the peers file is not rewritten). Every entry must be a
/// node's base URL with its port, or nothing is added (422 `bad_peer_url`); known ones and the
/// node itself are skipped. Each new peer is handshaken: one on another chain refuses the
/// request (422 `wrong_chain`); one that does not answer is kept as a candidate with back-off.
/// 201 when something was added, 200 when nothing was new; both list all peers.
#[rocket::post("/nodes/register", data = "<body>")]
async fn register(
    node: &State<Node>,
    body: Result<Json<Object<RegisterRequest>>, json::Error<'_>>,
) -> Result<(Status, Json<Value>), ApiError> {
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
        .map(|url| parse_peer_url(url))
        .collect::<Result<Vec<_>, _>>()?;
    let registration = node.register(peers).await?;
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
        Json(json!({
            "message": message,
            "added": added,
            "nodes": node.peers(),
            "peers": node.peer_views(),
        })),
    ))
}

/// The longest ban an operator can set: a year.
const MAX_BAN_SECONDS: u64 = 365 * 24 * 60 * 60;

/// `{"node": url, "seconds": n, "reason": "..."}`; `seconds` defaults to a day.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BanRequest {
    node: String,
    #[serde(default = "a_day")]
    seconds: u64,
    #[serde(default)]
    reason: Option<String>,
}

fn a_day() -> u64 {
    24 * 60 * 60
}

/// `{"node": url}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UnbanRequest {
    node: String,
}

fn parse_peer_url(url: &str) -> Result<PeerUrl, ApiError> {
    PeerUrl::parse(url)
        .map_err(|e| ApiError::new(Status::UnprocessableEntity, "bad_peer_url", e.to_string()))
}

/// The answer to a ban or unban: what happened, and the peers as `GET /nodes` shows them.
fn peers_answer(node: &Node, message: String) -> Json<Value> {
    Json(json!({
        "message": message,
        "nodes": node.peers(),
        "peers": node.peer_views(),
    }))
}

/// Ignores a known peer for `seconds` (1 to a year): no relay, sync or discovery with it. Its
/// state shows as `banned` with the reason in `GET /nodes`. 404 `unknown_peer` for a peer the
/// node does not know; 422 for a bad URL or duration.
#[rocket::post("/nodes/ban", data = "<body>")]
fn ban(
    node: &State<Node>,
    body: Result<Json<Object<BanRequest>>, json::Error<'_>>,
) -> Result<Json<Value>, ApiError> {
    let Object(request) = body.map_err(ApiError::from_json)?.into_inner();
    let url = parse_peer_url(&request.node)?;
    if !(1..=MAX_BAN_SECONDS).contains(&request.seconds) {
        return Err(ApiError::new(
            Status::UnprocessableEntity,
            "bad_ban_duration",
            format!(
                "a ban lasts 1 to {MAX_BAN_SECONDS} seconds, got {}",
                request.seconds
            ),
        ));
    }
    let reason = request.reason.unwrap_or_else(|| "no reason given".into());
    let duration = std::time::Duration::from_secs(request.seconds);
    node.ban(&url, duration, &reason)?;
    let message = format!("{url} banned for {} s", request.seconds);
    Ok(peers_answer(node, message))
}

/// Lifts a peer's ban (the operator's or one the node set itself) and its back-off.
#[rocket::post("/nodes/unban", data = "<body>")]
fn unban(
    node: &State<Node>,
    body: Result<Json<Object<UnbanRequest>>, json::Error<'_>>,
) -> Result<Json<Value>, ApiError> {
    let Object(request) = body.map_err(ApiError::from_json)?.into_inner();
    let url = parse_peer_url(&request.node)?;
    node.unban(&url)?;
    Ok(peers_answer(node, format!("{url} unbanned")))
}

#[rocket::get("/status")]
fn status(node: &State<Node>) -> Result<Json<NodeStatus>, ApiError> {
    Ok(Json(node.status()?))
}
