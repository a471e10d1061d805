//! `POST /mine`: mine the given entries into a block on the tip.

use super::access::Operator;
use super::chain::parse_object;
use super::error::ApiError;
use super::intake::{read_body, Intake};
use crate::network::message::{MineRequest, Mined};
use crate::node::Node;
use rocket::data::Data;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![mine]
}

/// The body is optional: no body (or an empty one) mines a block with no entries.
#[rocket::post("/mine", data = "<data>")]
async fn mine(
    node: &State<Node>,
    operator: Operator,
    intake: Intake<'_>,
    data: Data<'_>,
) -> Result<(Status, Json<Mined>), ApiError> {
    operator.check()?;
    let body = read_body(data, &intake).await?;
    let request = match body.trim_ascii() {
        [] => MineRequest::default(),
        text => parse_object(text)?,
    };
    let mined = node.mining().mine(request.transactions).await?;
    Ok((Status::Created, Json(mined)))
}
