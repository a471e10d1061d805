//! The `X-Ferrochain-Peer` header as a request guard: who a relayed block or transfer says it
//! comes from, with the address the request really came from. A banned sender is refused here,
//! before the handler reads the body.

use super::error::ApiError;
use crate::network::{PeerUrl, PEER_HEADER};
use crate::node::{Node, Sender};
use rocket::request::{FromRequest, Outcome, Request};

/// The sender a request names, if any. A header that is not a peer URL, or names a banned peer,
/// is kept as an error for the handler to return (a guard failure would lose the message to the
/// generic catcher).
pub struct ClaimedSender(Result<Option<Sender>, ApiError>);

impl ClaimedSender {
    pub fn into_inner(self) -> Result<Option<Sender>, ApiError> {
        self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClaimedSender {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let claimed = match req.headers().get_one(PEER_HEADER) {
            None => Ok(None),
            Some(value) => PeerUrl::parse(value)
                .map(|url| {
                    // The connection's address, not `client_ip()`, which believes `X-Real-IP`:
                    // the sender must not be able to pick the address it is checked against.
                    Some(Sender::claimed(url, req.remote().map(|r| r.ip())))
                })
                .map_err(|e| {
                    ApiError::bad_request("bad_peer_header", format!("{PEER_HEADER}: {e}"))
                }),
        };
        let admitted = claimed.and_then(|sender| {
            if let (Some(sender), Some(node)) = (&sender, req.rocket().state::<Node>()) {
                node.peers().refuse_banned(&sender.url)?;
            }
            Ok(sender)
        });
        Outcome::Success(ClaimedSender(admitted))
    }
}
