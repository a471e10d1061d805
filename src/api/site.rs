//! Browsers cannot drive the node from another site.
//!
//! A page on any site can make a browser send requests to `localhost`, and a DNS name an
//! attacker controls can be re-pointed at 127.0.0.1 (DNS rebinding). So every request is checked
//! before it is routed, here and only here:
//!
//! - **Host** must name the node: an IP address (a rebinding attack needs a name), `localhost`,
//!   the host of the node's public URL, or one of the `allowed_hosts` the operator configures;
//!   otherwise 403 `bad_host`.
//! - **Origin**, when a browser sends one, must be the node's own (the origin of the Host the
//!   request names) or one of the `allowed_origins`; otherwise 403 `cross_origin`. Peers, the
//!   CLI and `curl` send none.
//! - A **body** sent with `POST`, `PUT`, `PATCH` or `DELETE` must be declared JSON
//!   (`Content-Type: application/json`), so a cross-site form or `text/plain` post, which a
//!   browser sends without asking, is refused (415 `not_json`). A bodyless `POST /mine` stays
//!   valid.
//!
//! An address refused for misbehaviour (see `conduct.rs`) is turned away first, with 429
//! `misbehaving`; then a request the gate refused before Rocket saw it (a body too slow, too
//! large or over budget, see `intake`; a method no route could take), with the gate's error.
//!
//! A refused request is routed to [`refused`], which answers the error JSON; its handler never
//! runs, so it changes nothing.

use super::conduct::Conduct;
use super::error::ApiError;
use super::settings::{self, Settings};
use crate::node::Node;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::{Method, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::Data;

/// Where refused requests are sent.
const REFUSED: &str = "/_refused";

/// Why a request was refused, kept in the request's local cache for [`refused`].
#[derive(Clone, Debug, Default)]
struct Refusal(Option<ApiError>);

/// The gate's refusal of a request, noted before Rocket sees it and answered by the fairing.
#[derive(Clone, Debug, Default)]
struct Early(Option<ApiError>);

/// Refuses `req` with `error` before it is routed: the gate's way to answer through Rocket,
/// so the refusal is logged, counted and scored like every other.
pub fn refuse_early(req: &Request<'_>, error: ApiError) {
    req.local_cache(|| Early(Some(error)));
}

/// The fairing that checks every request (see the module's documentation).
pub struct SameSite;

#[rocket::async_trait]
impl Fairing for SameSite {
    fn info(&self) -> Info {
        Info {
            name: "same site",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, data: &mut Data<'_>) {
        // Whether a body follows a state-changing request: its first byte, peeked (and kept
        // for the handler), since a chunked body declares no length.
        let has_body = changes_state(req.method()) && !data.peek(1).await.is_empty();
        let settings = settings::of(req);
        let public = req
            .rocket()
            .state::<Node>()
            .and_then(|n| n.peers().public_url());
        let public_host = public
            .as_ref()
            .and_then(|u| u.host())
            .map(|h| h.to_string());
        let client = req.remote();
        let misbehaving = client
            .zip(req.rocket().state::<Conduct>())
            .and_then(|(remote, conduct)| conduct.refused(remote.ip().to_canonical()));
        let early = req.local_cache(Early::default).0.clone();
        let refused = match misbehaving {
            Some(left) => Some(
                ApiError::new(
                    Status::TooManyRequests,
                    "misbehaving",
                    format!(
                        "too many bad requests from this address; refused for {} s more",
                        left.as_secs() + 1
                    ),
                )
                .retry_after(left.as_secs() as u32 + 1),
            ),
            None => early.or_else(|| refusal(req, has_body, &settings, public_host.as_deref())),
        };
        if let Some(refusal) = refused {
            log::info!(
                "refused {} {} from {:?}: {}",
                req.method(),
                req.uri(),
                client,
                refusal.message
            );
            req.local_cache(|| Refusal(Some(refusal)));
            req.set_method(Method::Get);
            req.set_uri(Origin::parse(REFUSED).expect("a valid path"));
        }
    }
}

fn refusal(
    req: &Request<'_>,
    has_body: bool,
    config: &Settings,
    public_host: Option<&str>,
) -> Option<ApiError> {
    let host = req.headers().get_one("Host");
    if let Some(host) = host {
        let name = host_name(host);
        let allowed = name.parse::<std::net::IpAddr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || public_host.is_some_and(|p| p.trim_matches(['[', ']']).eq_ignore_ascii_case(name))
            || config
                .allowed_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name));
        if !allowed {
            return Some(ApiError::new(
                Status::Forbidden,
                "bad_host",
                format!(
                    "Host {host:?} does not name this node (allowed: IP addresses, localhost, \
                     the public URL's host, and allowed_hosts)"
                ),
            ));
        }
    }
    if let Some(origin) = req.headers().get_one("Origin") {
        let own = host
            .is_some_and(|h| origin_authority(origin).is_some_and(|a| a.eq_ignore_ascii_case(h)));
        if !own && !config.allowed_origins.iter().any(|o| o == origin) {
            return Some(ApiError::new(
                Status::Forbidden,
                "cross_origin",
                format!(
                    "requests from {origin} are refused: only this node's own pages (and \
                     allowed_origins) may call it from a browser"
                ),
            ));
        }
    }
    let json = req.content_type().is_some_and(|c| c.is_json());
    if has_body && !json {
        return Some(ApiError::new(
            Status::UnsupportedMediaType,
            "not_json",
            format!(
                "{} {} takes a JSON body: send it with Content-Type: application/json",
                req.method(),
                req.uri().path()
            ),
        ));
    }
    None
}

fn changes_state(method: Method) -> bool {
    matches!(
        method,
        Method::Post | Method::Put | Method::Patch | Method::Delete
    )
}

/// The host of a `Host` header, without its port (and without the brackets of an IPv6 address).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// The `host:port` of an `Origin` header (`scheme://host:port`).
fn origin_authority(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    Some(rest.trim_end_matches('/'))
}

/// The request guard of [`refused`]: the refusal the fairing recorded.
struct Recorded(Option<ApiError>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Recorded {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Recorded(req.local_cache(Refusal::default).0.clone()))
    }
}

/// Answers a refused request with its error.
#[rocket::get("/_refused")]
fn refused(recorded: Recorded) -> ApiError {
    recorded
        .0
        .unwrap_or_else(|| ApiError::not_found("no such resource: GET /_refused".to_owned()))
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![refused]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_and_origins_are_read_without_ports() {
        assert_eq!(host_name("localhost:5000"), "localhost");
        assert_eq!(host_name("127.0.0.1:5000"), "127.0.0.1");
        assert_eq!(host_name("[::1]:5000"), "::1");
        assert_eq!(host_name("example.com"), "example.com");
        assert_eq!(
            origin_authority("http://localhost:5000"),
            Some("localhost:5000")
        );
        assert_eq!(origin_authority("null"), None);
    }
}
