//! `GET /metrics`, the node's metrics for Prometheus, and the fairing that times every request.

use crate::node::Node;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::ContentType;
use rocket::{Data, Request, Response, State};
use std::time::Instant;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![metrics]
}

/// The description of [`routes`], for `GET /openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(metrics))]
pub(super) struct Doc;

/// Prometheus's text format, version 0.0.4.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "node",
    responses((status = 200, description = "Every metric, `ferrochain_*`.", content_type = "text/plain; version=0.0.4", body = String))
)]
#[rocket::get("/metrics")]
fn metrics(node: &State<Node>) -> (ContentType, String) {
    let text =
        ContentType::new("text", "plain").with_params([("version", "0.0.4"), ("charset", "utf-8")]);
    (text, node.render_metrics())
}

/// Counts and times every answered request by its route's pattern (`/blocks/<id>`, so the
/// label set stays small whatever clients ask for), method and status.
pub struct HttpMetrics;

/// When the request came, in its local cache.
struct Arrived(Instant);

#[rocket::async_trait]
impl Fairing for HttpMetrics {
    fn info(&self) -> Info {
        Info {
            name: "HTTP metrics",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Arrived(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(node) = req.rocket().state::<Node>() else {
            return;
        };
        let took = req.local_cache(|| Arrived(Instant::now())).0.elapsed();
        let route = req
            .route()
            .map_or_else(|| "unmatched".to_owned(), |r| r.uri.to_string());
        node.metrics()
            .http(&route, req.method().as_str(), res.status().code, took);
    }
}
