//! `GET /events`, the node's events as server-sent events, and `GET /chain/reorgs`.
//!
//! A subscriber gets every event from when it connects. One that reconnects with
//! `Last-Event-ID` (browsers send it by themselves) first gets the chain events it missed since
//! that block, or one `reset` if the block left the main chain. One that falls more than
//! [`EVENT_BUFFER`](crate::node::EVENT_BUFFER) events behind is dropped: it reconnects, and
//! resumes from its last id. Streams end when the node stops.

use super::error::ApiError;
use crate::chain::BlockHash;
use crate::network::message::{ErrorBody, Event, EventId, Reorganisations};
use crate::node::Node;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::stream::{Event as Sse, EventStream};
use rocket::serde::json::Json;
use rocket::State;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// A comment line this often keeps quiet streams open through the gate and proxies.
const HEARTBEAT: Duration = Duration::from_secs(5);

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![events, reorgs]
}

/// The description of [`routes`], for `GET /openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(events, reorgs))]
pub(super) struct Doc;

/// The `Last-Event-ID` header, if the client sent one.
struct LastEventId(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LastEventId {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let id = req.headers().get_one("Last-Event-ID").map(str::to_owned);
        Outcome::Success(LastEventId(id))
    }
}

/// The node's events as they happen, as server-sent events: `block`, `reorg`, `mempool`,
/// `peer` and `reset`, each with its JSON as `data`; chain events carry `height:hash` as their
/// id. A client that reconnects with `Last-Event-ID` first gets the blocks it missed.
#[utoipa::path(
    get,
    path = "/events",
    tag = "node",
    params(("Last-Event-ID" = Option<String>, Header, description = "The id of the last chain event seen, `height:hash`.")),
    responses(
        (status = 200, description = "The stream; each event's `data` is one of these.", content_type = "text/event-stream", body = Event),
        (status = 400, description = "`bad_event_id`.", body = ErrorBody),
    )
)]
#[rocket::get("/events")]
async fn events(node: &State<Node>, last: LastEventId) -> Result<EventStream![], ApiError> {
    let seen = match last.0.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) => Some(
            id.parse::<EventId>()
                .map_err(|e| ApiError::bad_request("bad_event_id", e.to_string()))?,
        ),
    };
    // Subscribed before the missed blocks are read, so none falls between the two; a block
    // both in the replay and on the channel is sent once.
    let mut live = node.events().subscribe();
    let missed = match seen {
        Some(seen) => node.missed_events(seen).await?,
        None => Vec::new(),
    };
    let replayed: HashSet<BlockHash> = missed
        .iter()
        .filter_map(|e| match e {
            Event::Block(b) => Some(b.hash),
            _ => None,
        })
        .collect();
    let stopping = node.tasks().cancelled();
    Ok(EventStream! {
        for event in missed {
            yield sse(&event);
        }
        tokio::pin!(stopping);
        loop {
            let event = tokio::select! {
                _ = &mut stopping => break,
                received = live.recv() => received,
            };
            match event {
                Ok(Event::Block(b)) if replayed.contains(&b.hash) => {}
                Ok(event) => yield sse(&event),
                // Too slow: dropped, never waited for.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => break,
            }
        }
    }
    .heartbeat(HEARTBEAT))
}

/// One event as SSE: its name, its id if it is a chain event, its JSON.
fn sse(event: &Event) -> Sse {
    let sse = Sse::json(event).event(event.name());
    match event.id() {
        Some(id) => sse.id(id.to_string()),
        None => sse,
    }
}

/// The reorganisations since the node started, newest first.
#[utoipa::path(
    get,
    path = "/chain/reorgs",
    tag = "chain",
    responses((status = 200, description = "The recent reorganisations, newest first.", body = Reorganisations))
)]
#[rocket::get("/chain/reorgs")]
fn reorgs(node: &State<Node>) -> Json<Reorganisations> {
    Json(node.events().reorgs())
}
