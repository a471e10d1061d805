//! `GET /nodes/resolve`, `GET /nodes` and `GET /status`.

use super::chain::stream_chain;
use super::error::ApiError;
use crate::chain::Height;
use crate::node::{Node, NodeStatus};
use rocket::http::ContentType;
use rocket::response::stream::ByteStream;
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Value};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![resolve, nodes, status]
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

#[rocket::get("/nodes")]
fn nodes(node: &State<Node>) -> Json<Value> {
    Json(json!({ "nodes": node.peers() }))
}

#[rocket::get("/status")]
fn status(node: &State<Node>) -> Json<NodeStatus> {
    Json(node.status())
}
