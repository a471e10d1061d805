//! Reading request bodies within bounds: no client can make the node hold gigabytes, or hold a
//! connection open by sending a body slowly.
//!
//! - A body is at most the `block` limit (the largest valid block as JSON) on the routes that
//!   take blocks, transfers or notes, and the `json` limit (64 KiB) on every other route.
//! - At most [`LARGE_AT_ONCE`] bodies past [`LARGE`] are read at once, across all clients: one
//!   more is answered 503 `busy` with `Retry-After`, so a flood of large bodies costs at most
//!   about 100 MiB.
//! - A body must arrive within [`BODY_DEADLINE`] (`body_timeout` in Rocket's configuration, in
//!   seconds), or the request is 408 `body_timeout`.
//!
//! The gate receives each body whole before Rocket sees the request ([`BodyBounds`]), keeping
//! the deadline and the budget of large bodies; the routes then take it under their own limit
//! ([`Intake`]).

use super::error::ApiError;
use super::MAX_BLOCK_JSON;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use rocket::data::{Data, Limits, ToByteUnit};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::tokio::io::AsyncReadExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A body past this many bytes is large.
pub const LARGE: usize = 1024 * 1024;
/// Large bodies read at once, at most.
pub const LARGE_AT_ONCE: usize = 8;
/// How long a client has to send its whole body.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// The largest body any route takes: the `block` limit.
fn block_limit(limits: &Limits) -> usize {
    let limit = limits.get("block").unwrap_or(MAX_BLOCK_JSON.bytes());
    usize::try_from(limit.as_u64()).unwrap_or(usize::MAX)
}

/// The bounds the gate receives bodies under: one server's.
pub struct BodyBounds {
    limit: usize,
    deadline: Duration,
    large: Arc<Semaphore>,
}

/// A body received whole (or, past the largest limit, its first bytes: enough for the route to
/// refuse it), and its place in the budget of large bodies while it is held.
pub struct Received {
    pub bytes: Vec<u8>,
    pub permit: Option<OwnedSemaphorePermit>,
}

impl BodyBounds {
    /// The bounds Rocket's configuration sets.
    pub fn new(config: &rocket::Config, settings: &super::settings::Settings) -> BodyBounds {
        BodyBounds {
            limit: block_limit(&config.limits),
            deadline: settings
                .body_timeout
                .map_or(BODY_DEADLINE, Duration::from_secs),
            large: Arc::new(Semaphore::new(LARGE_AT_ONCE)),
        }
    }

    /// Receives `body` within the deadline and the budget. At most one byte past the largest
    /// limit is kept: the route that takes the body then refuses it for its size. A body
    /// declared larger than every limit is refused unread.
    pub async fn receive(&self, body: Incoming) -> Result<Received, ApiError> {
        use hyper::body::Body as _;
        if body.is_end_stream() {
            return Ok(Received {
                bytes: Vec::new(),
                permit: None,
            });
        }
        if body.size_hint().lower() > self.limit as u64 {
            return Err(too_large(self.limit));
        }
        let deadline = self.deadline;
        tokio::time::timeout(deadline, self.read(body))
            .await
            .unwrap_or_else(|_| {
                Err(ApiError::new(
                    Status::RequestTimeout,
                    "body_timeout",
                    format!("the body did not arrive within {} s", deadline.as_secs()),
                ))
            })
    }

    async fn read(&self, mut body: Incoming) -> Result<Received, ApiError> {
        let mut received = Received {
            bytes: Vec::new(),
            permit: None,
        };
        while received.bytes.len() <= self.limit {
            let Some(frame) = body.frame().await else {
                break;
            };
            let frame = frame.map_err(|e| {
                ApiError::bad_request("bad_body", format!("cannot read the body: {e}"))
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let room = self.limit + 1 - received.bytes.len();
            received
                .bytes
                .extend_from_slice(&data[..data.len().min(room)]);
            // Held from the moment the body turns large until the request is answered.
            if received.bytes.len() > LARGE && received.permit.is_none() {
                let permit = self.large.clone().try_acquire_owned();
                received.permit = Some(permit.map_err(|_| busy())?);
            }
        }
        Ok(received)
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        Status::PayloadTooLarge,
        "too_large",
        format!("the body exceeds the {limit}-byte limit"),
    )
}

fn busy() -> ApiError {
    ApiError::new(
        Status::ServiceUnavailable,
        "busy",
        format!("{LARGE_AT_ONCE} large bodies are being read; send again in a second"),
    )
    .retry_after(1)
}

/// How a route may take its body: the `block` limit, as configured.
pub struct Intake {
    limit: usize,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Intake {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Intake {
            limit: block_limit(req.limits()),
        })
    }
}

/// Takes a body of at most the `block` limit (413 `too_large` beyond it).
pub async fn read_body(body: Data<'_>, intake: &Intake) -> Result<Vec<u8>, ApiError> {
    let limit = intake.limit;
    let mut bytes = Vec::new();
    body.open((limit + 1).bytes())
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ApiError::bad_request("bad_body", format!("cannot read the body: {e}")))?;
    if bytes.len() > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}
