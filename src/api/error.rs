//! `ApiError`: the one place an error becomes an HTTP status and a JSON body.

use crate::mempool::MempoolError;
use crate::network::message::ErrorBody;
use crate::node::NodeError;
use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::serde::json::{self, Json};
use rocket::Request;

/// Every error the API returns, answered as an [`ErrorBody`]:
/// `{"error": "<code>", "message": "<what is wrong>"}`.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: Status,
    pub code: &'static str,
    pub message: String,
    /// Seconds after which the client may try again (`Retry-After`), for a 503 or 429.
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// The same error, telling the client when it may try again.
    pub fn retry_after(self, seconds: u32) -> Self {
        ApiError {
            retry_after: Some(seconds),
            ..self
        }
    }

    pub fn new(status: Status, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Status::BadRequest, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Status::NotFound, "not_found", message)
    }

    /// Maps a JSON body that could not be read the way Rocket's own guard would (413 too large,
    /// 422 well-formed but wrong shape, 400 not JSON), keeping serde's precise message.
    pub fn from_json(e: json::Error<'_>) -> Self {
        match e {
            json::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => Self::new(
                Status::PayloadTooLarge,
                "too_large",
                "the body exceeds the size limit",
            ),
            json::Error::Io(io) => {
                Self::bad_request("bad_body", format!("cannot read the body: {io}"))
            }
            json::Error::Parse(_, e) => Self::from_serde(e),
        }
    }

    /// A body read in full that serde could not take: 422 well-formed but the wrong shape, 400
    /// not JSON.
    pub fn from_serde(e: serde_json::Error) -> Self {
        match e.classify() {
            serde_json::error::Category::Data => {
                Self::new(Status::UnprocessableEntity, "invalid_json", e.to_string())
            }
            _ => Self::bad_request("malformed_json", e.to_string()),
        }
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::InvalidBlock(invalid) => Self::new(
                Status::UnprocessableEntity,
                invalid.rule.code(),
                invalid.to_string(),
            ),
            NodeError::InvalidTransactions(rule) => {
                Self::new(Status::UnprocessableEntity, rule.code(), rule.to_string())
            }
            e @ NodeError::NotANote { .. } => {
                Self::new(Status::UnprocessableEntity, "not_a_note", e.to_string())
            }
            NodeError::Transaction(e) => {
                // A full pool may have room later; a broken rule stays broken.
                let status = match e {
                    MempoolError::Full { .. } => Status::ServiceUnavailable,
                    MempoolError::Known(_) | MempoolError::Invalid(_) => {
                        Status::UnprocessableEntity
                    }
                };
                Self::new(status, e.code(), e.to_string())
            }
            NodeError::WrongChain(e) => {
                Self::new(Status::UnprocessableEntity, "wrong_chain", e.to_string())
            }
            e @ NodeError::Banned { .. } => Self::new(Status::Forbidden, "banned", e.to_string()),
            e @ NodeError::AnonymousAnnouncement => Self::bad_request("no_sender", e.to_string()),
            e @ NodeError::NotFromSender(_) => {
                Self::new(Status::Forbidden, "not_from_sender", e.to_string())
            }
            e @ NodeError::Busy => Self::new(Status::TooManyRequests, "busy", e.to_string()),
            e @ NodeError::ShuttingDown => {
                Self::new(Status::ServiceUnavailable, "shutting_down", e.to_string())
            }
            e @ NodeError::LocalPeerUrl(_) => {
                Self::new(Status::UnprocessableEntity, "local_peer_url", e.to_string())
            }
            // A full disk refuses writes; reads go on.
            NodeError::Store(e) if e.is_storage_full() => Self::new(
                Status::InsufficientStorage,
                "storage_full",
                format!("the block was not stored: {e}"),
            )
            .retry_after(60),
            other => {
                tracing::error!("request failed: {other}");
                Self::new(
                    Status::InternalServerError,
                    "internal_error",
                    other.to_string(),
                )
            }
        }
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let body = ErrorBody {
            error: self.code.to_owned(),
            message: self.message,
        };
        let mut response = response::Response::build_from(Json(body).respond_to(req)?);
        response.status(self.status);
        if let Some(seconds) = self.retry_after {
            response.raw_header("Retry-After", seconds.to_string());
        }
        response.ok()
    }
}

/// Rocket's own errors (no route, body too large, unparsable guard) in the same JSON shape.
#[rocket::catch(default)]
pub fn default_catcher(status: Status, req: &Request<'_>) -> ApiError {
    // No route for this method, but one for this path: the method is wrong, not the path.
    let allowed = match status.code {
        404 => other_methods(req),
        _ => Vec::new(),
    };
    if !allowed.is_empty() {
        let allowed: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
        return ApiError::new(
            Status::MethodNotAllowed,
            "method_not_allowed",
            format!(
                "{} {} is not served; this path takes {}",
                req.method(),
                req.uri().path(),
                allowed.join(", ")
            ),
        );
    }
    let code = match status.code {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        500..=599 => "internal_error",
        _ => "error",
    };
    let message = match status.code {
        404 => format!("no such resource: {} {}", req.method(), req.uri()),
        413 => "the body exceeds the size limit".to_owned(),
        _ => format!(
            "{} {}: {}",
            req.method(),
            req.uri(),
            status.reason_lossy().to_lowercase()
        ),
    };
    ApiError::new(status, code, message)
}

/// The methods of the routes whose path matches the request's, other than its own.
fn other_methods(req: &Request<'_>) -> Vec<rocket::http::Method> {
    let path: Vec<&str> = req.uri().path().segments().collect();
    let mut methods: Vec<rocket::http::Method> = req
        .rocket()
        .routes()
        .filter(|route| route.method != req.method() && path_matches(route, &path))
        .map(|route| route.method)
        .collect();
    methods.sort_by_key(|m| m.as_str());
    methods.dedup();
    methods
}

/// Whether a route's path pattern (`/blocks/<id>`) matches the request's `segments`.
fn path_matches(route: &rocket::Route, segments: &[&str]) -> bool {
    let pattern: Vec<&str> = route
        .uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if pattern
        .last()
        .is_some_and(|p| p.starts_with('<') && p.ends_with("..>"))
    {
        return segments.len() + 1 >= pattern.len()
            && pattern[..pattern.len() - 1]
                .iter()
                .zip(segments)
                .all(|(p, s)| p.starts_with('<') || p == s);
    }
    pattern.len() == segments.len()
        && pattern
            .iter()
            .zip(segments)
            .all(|(p, s)| (p.starts_with('<') && p.ends_with('>')) || p == s)
}
