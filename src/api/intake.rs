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

use super::error::ApiError;
use super::MAX_BLOCK_JSON;
use rocket::data::{Data, Limits, ToByteUnit};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::tokio::io::AsyncReadExt;
use std::time::Duration;
use tokio::sync::Semaphore;

/// A body past this many bytes is large.
pub const LARGE: usize = 1024 * 1024;
/// Large bodies read at once, at most.
pub const LARGE_AT_ONCE: usize = 8;
/// How long a client has to send its whole body.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// The node's budget of large bodies, managed by Rocket (one per server).
pub struct LargeBodies(Semaphore);

impl Default for LargeBodies {
    fn default() -> Self {
        LargeBodies(Semaphore::new(LARGE_AT_ONCE))
    }
}

/// How a route may read its body: the limit and the deadline, as configured.
pub struct Intake<'r> {
    limit: usize,
    deadline: Duration,
    large: Option<&'r Semaphore>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Intake<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let limits: &Limits = req.limits();
        let limit = limits.get("block").unwrap_or(MAX_BLOCK_JSON.bytes());
        let seconds = super::settings::of(req).body_timeout;
        Outcome::Success(Intake {
            limit: usize::try_from(limit.as_u64()).unwrap_or(usize::MAX),
            deadline: seconds.map_or(BODY_DEADLINE, Duration::from_secs),
            large: req.rocket().state::<LargeBodies>().map(|l| &l.0),
        })
    }
}

/// Reads a body of at most the `block` limit (413 `too_large` beyond it), within the deadline.
pub async fn read_body(body: Data<'_>, intake: &Intake<'_>) -> Result<Vec<u8>, ApiError> {
    let (limit, deadline) = (intake.limit, intake.deadline);
    match tokio::time::timeout(deadline, read_bounded(body, limit, intake.large)).await {
        Ok(read) => read,
        Err(_) => Err(ApiError::new(
            Status::RequestTimeout,
            "body_timeout",
            format!("the body did not arrive within {} s", deadline.as_secs()),
        )),
    }
}

async fn read_bounded(
    body: Data<'_>,
    limit: usize,
    large: Option<&Semaphore>,
) -> Result<Vec<u8>, ApiError> {
    let mut stream = body.open((limit + 1).bytes());
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    // Held from the moment the body turns large until it is read.
    let mut permit = None;
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| ApiError::bad_request("bad_body", format!("cannot read the body: {e}")))?;
        if n == 0 {
            return Ok(bytes);
        }
        if bytes.len() + n > limit {
            return Err(ApiError::new(
                Status::PayloadTooLarge,
                "too_large",
                format!("the body exceeds the {limit}-byte limit"),
            ));
        }
        bytes.extend_from_slice(&chunk[..n]);
        if let (None, Some(large)) = (&permit, large) {
            if bytes.len() > LARGE {
                permit = Some(large.try_acquire().map_err(|_| busy())?);
            }
        }
    }
}

fn busy() -> ApiError {
    ApiError::new(
        Status::ServiceUnavailable,
        "busy",
        format!("{LARGE_AT_ONCE} large bodies are being read; send again in a second"),
    )
    .retry_after(1)
}
