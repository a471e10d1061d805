//! `POST /mine`: mine the given entries into a block on the tip.

use super::error::ApiError;
use crate::chain::Transaction;
use crate::node::Node;
use rocket::data::{Data, ToByteUnit};
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Value};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![mine]
}

#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MineRequest {
    #[serde(default)]
    transactions: Vec<Transaction>,
}

/// The body is optional: no body (or an empty one) mines a block with no entries.
#[rocket::post("/mine", data = "<data>")]
async fn mine(
    node: &State<Node>,
    limits: &rocket::data::Limits,
    data: Data<'_>,
) -> Result<(Status, Json<Value>), ApiError> {
    let limit = limits.get("json").unwrap_or_else(|| 1.mebibytes());
    let body = data
        .open(limit)
        .into_string()
        .await
        .map_err(|e| ApiError::bad_request("bad_body", format!("cannot read the body: {e}")))?;
    if !body.is_complete() {
        return Err(ApiError::new(
            Status::PayloadTooLarge,
            "too_large",
            format!("the body exceeds the {limit} limit"),
        ));
    }
    let request = match body.trim() {
        "" => MineRequest::default(),
        text => serde_json::from_str(text).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => {
                ApiError::new(Status::UnprocessableEntity, "invalid_json", e.to_string())
            }
            _ => ApiError::bad_request("malformed_json", e.to_string()),
        })?,
    };
    let mined = node.mine(request.transactions).await?;
    Ok((
        Status::Created,
        Json(json!({
            "message": format!("block {} mined", mined.block.height()),
            "block": mined.block,
            "stats": mined.stats,
        })),
    ))
}
