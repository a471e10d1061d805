//! `GET /health/live` and `GET /health/ready`, for load balancers and orchestrators: 200 with
//! a [`Health`] body, or 503 `not_ready` saying why.

use super::error::ApiError;
use crate::network::message::{ErrorBody, Health};
use crate::node::Node;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![live, ready]
}

/// The description of [`routes`], for `GET /openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(live, ready))]
pub(super) struct Doc;

/// The process serves requests: the answer itself is the check.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "node",
    responses((status = 200, description = "Serving.", body = Health))
)]
#[rocket::get("/health/live")]
fn live(node: &State<Node>) -> Json<Health> {
    let (health, _) = node.readiness();
    Json(Health {
        status: "live".to_owned(),
        ..health
    })
}

/// The node is not catching up with its peers and has the usable peers `--min-peers` asks for.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "node",
    responses(
        (status = 200, description = "Ready.", body = Health),
        (status = 503, description = "`not_ready`, with the reason, and `Retry-After`.", body = ErrorBody),
    )
)]
#[rocket::get("/health/ready")]
fn ready(node: &State<Node>) -> Result<Json<Health>, ApiError> {
    match node.readiness() {
        (health, Ok(())) => Ok(Json(health)),
        (_, Err(why)) => {
            Err(
                ApiError::new(Status::ServiceUnavailable, "not_ready", why.to_string())
                    .retry_after(1),
            )
        }
    }
}
