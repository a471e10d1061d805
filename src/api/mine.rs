//! `POST /mine`: mine the given entries into a block on the tip.

use super::access::Operator;
use super::chain::parse_object;
use super::error::ApiError;
use super::intake::{read_body, Intake};
use crate::network::message::{ErrorBody, MineRequest, Mined};
use crate::node::Node;
use rocket::data::Data;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![mine]
}

/// The description of [`routes`], for `GET /openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(mine))]
pub(super) struct Doc;

/// The body is optional: no body (or an empty one) mines a block with no entries.
#[utoipa::path(
    post,
    path = "/mine",
    tag = "chain",
    security((), ("token" = [])),
    request_body(content = Option<MineRequest>, description = "Notes to mine; optional."),
    responses(
        (status = 201, description = "The block mined, with the search's figures.", body = Mined),
        (status = 401, description = "`unauthorized`: the API token is required and was missing or wrong.", body = ErrorBody),
        (status = 422, description = "An entry that is not a note (`not_a_note`), or notes too large for a block.", body = ErrorBody),
        (status = 503, description = "`shutting_down`: the node stopped before the block was found.", body = ErrorBody),
    )
)]
#[rocket::post("/mine", data = "<data>")]
async fn mine(
    node: &State<Node>,
    operator: Operator,
    intake: Intake,
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
