//! The explorer without JavaScript: the home, block, transaction and address views as pages
//! rendered on the node, under `/explorer/html`, and a search that sends a height, hash,
//! transaction id or address to its page.
//!
//! Each page is gathered from the same node calls as the JSON routes (the block and
//! transaction lookups are theirs, shared), so a page shows exactly what the API would; only
//! the form differs. Values reach the markup through [`template`]'s escaping, never as raw
//! text. A request the node refuses (a bad id, a block it does not have) is an HTML page with
//! the status and message [`ApiError`] gives it; the node's own failures answer as every route
//! does, in JSON.

use super::template::{self, Branch};
use crate::api::chain::{find_block, refuse_repeats};
use crate::api::error::ApiError;
use crate::api::transactions::{find_transaction, parse_address, parse_before};
use crate::api::DEFAULT_HISTORY_PAGE;
use crate::chain::{Address, Height, TxId, TxPosition};
use crate::network::message::{ErrorBody, TransactionView};
use crate::node::Node;
use maud::Markup;
use rocket::http::uri::Origin;
use rocket::http::{ContentType, Status};
use rocket::request::Request;
use rocket::response::{self, Redirect, Responder, Response};
use rocket::State;
use std::io::Cursor;

pub(super) fn routes() -> Vec<rocket::Route> {
    rocket::routes![
        home_page,
        block_page,
        transaction_page,
        address_page,
        search
    ]
}

/// Blocks the home page lists.
const RECENT: usize = 20;
/// Times the home page reads the tip and its recent blocks again when the tip moves in between.
const HOME_TRIES: usize = 3;

/// Where each page is, from its route: a link can only point where a route serves.
pub(super) mod href {
    use rocket::uri;
    use std::fmt::Display;

    pub fn home() -> String {
        uri!(super::home_page).to_string()
    }

    pub fn search() -> String {
        uri!(super::search(_)).to_string()
    }

    pub fn block(id: impl Display) -> String {
        uri!(super::block_page(id.to_string())).to_string()
    }

    pub fn transaction(id: impl Display) -> String {
        uri!(super::transaction_page(id.to_string())).to_string()
    }

    /// The address's page: its newest history, or the page older than `before`.
    pub fn address(address: impl Display, before: Option<impl Display>) -> String {
        let before = before.map(|b| b.to_string());
        uri!(super::address_page(address.to_string(), before)).to_string()
    }
}

/// A rendered page as an answer, with the explorer's headers.
pub(super) struct Page(Markup);

impl<'r> Responder<'r, 'static> for Page {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let body = self.0.into_string();
        super::secured(&mut Response::build())
            .header(ContentType::HTML)
            .sized_body(body.len(), Cursor::new(body))
            .ok()
    }
}

/// Why a page cannot be shown: a refused request (4xx) as a page that says why, with the
/// status the API gives it; anything else as the API's JSON error, as any route answers it.
pub(super) struct Failed(ApiError);

impl<E: Into<ApiError>> From<E> for Failed {
    fn from(e: E) -> Self {
        Failed(e.into())
    }
}

impl<'r> Responder<'r, 'static> for Failed {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let ApiError { status, code, .. } = self.0;
        if status.class() != rocket::http::StatusClass::ClientError {
            return self.0.respond_to(req);
        }
        let page = Page(template::failure(status, code, &self.0.message)).respond_to(req)?;
        Response::build_from(page).status(status).ok()
    }
}

/// The tip: its full hash, height and difficulty, the recent blocks, the mempool and the peers.
#[utoipa::path(
    get,
    path = "/explorer/html",
    tag = "explorer",
    responses((status = 200, description = "The home page, without JavaScript.", content_type = "text/html", body = String))
)]
#[rocket::get("/explorer/html")]
pub(super) async fn home_page(node: &State<Node>) -> Result<Page, Failed> {
    let mut status = node.status();
    let mut recent = Vec::new();
    for _ in 0..HOME_TRIES {
        // Headers only, as `GET /headers` reads them: a block can be 2 MiB. Read again if the
        // tip moved in between, so the list ends in the tip the page names.
        let from = Height::new(status.length.saturating_sub(RECENT as u64));
        recent = node.chain().headers(from, RECENT).await?;
        if recent.last().map(|h| h.header.hash()) == Some(status.tip) {
            break;
        }
        status = node.status();
    }
    recent.reverse();
    let pending = node.transfers().pending().await?;
    let peers = node.peers().views();
    Ok(Page(template::home(&status, &recent, &pending, &peers)))
}

/// One block, by main-chain height or by hash (as `GET /blocks/{id}` finds it): its header,
/// its entries, its neighbours, and whether the main chain holds it.
#[utoipa::path(
    get,
    path = "/explorer/html/block/{id}",
    tag = "explorer",
    params(("id" = String, Path, description = "A main-chain height, or a block hash (64 hex characters) of any stored block.")),
    responses(
        (status = 200, description = "The block's page.", content_type = "text/html", body = String),
        (status = 400, description = "`bad_block_id`: neither a height nor a hash, as a page.", content_type = "text/html", body = String),
        (status = 404, description = "`not_found`: no such block, as a page (a path that names no page answers the API's JSON error).", content((String = "text/html"), (ErrorBody = "application/json"))),
    )
)]
#[rocket::get("/explorer/html/block/<id>")]
pub(super) async fn block_page(node: &State<Node>, id: &str) -> Result<Page, Failed> {
    let block = find_block(node, id).await?;
    let tip = node.tip().height;
    let (hash, height) = (block.hash(), block.height());
    // As the script tells: the main chain holds the block if its height index points at it,
    // and the next block is the one above it that names it as its parent. Headers suffice;
    // the blocks themselves can be megabytes.
    let headers = node.chain().headers(height, 2).await?;
    let main = headers
        .first()
        .filter(|s| s.header.height == height)
        .map(|s| s.header.hash());
    let branch = match main {
        Some(main) if main == hash => Branch::Main {
            confirmations: confirmations(tip, height),
            next: headers
                .get(1)
                .filter(|s| s.header.prev_hash == hash)
                .map(|s| s.header.hash()),
        },
        main => Branch::Side { main },
    };
    Ok(Page(template::block(&block, &branch)))
}

/// One transaction (as `GET /transactions/{id}` finds it): pending, or confirmed with its block.
#[utoipa::path(
    get,
    path = "/explorer/html/tx/{id}",
    tag = "explorer",
    params(("id" = TxId, Path, description = "The transaction's id.")),
    responses(
        (status = 200, description = "The transaction's page.", content_type = "text/html", body = String),
        (status = 400, description = "`bad_transaction_id`, as a page.", content_type = "text/html", body = String),
        (status = 404, description = "`not_found`: neither pending nor on the main chain, as a page (a path that names no page answers the API's JSON error).", content((String = "text/html"), (ErrorBody = "application/json"))),
    )
)]
#[rocket::get("/explorer/html/tx/<id>")]
pub(super) async fn transaction_page(node: &State<Node>, id: &str) -> Result<Page, Failed> {
    let view = find_transaction(node, id).await?;
    let confirmed = match &view {
        TransactionView::Confirmed { index, .. } => Some(confirmations(node.tip().height, *index)),
        TransactionView::Pending { .. } => None,
    };
    Ok(Page(template::transaction(&view, confirmed)))
}

/// An address: its account at the tip and one page of its history (the newest, with what it
/// has waiting in the mempool, or the page older than `before`), linking to the next.
#[utoipa::path(
    get,
    path = "/explorer/html/address/{address}",
    tag = "explorer",
    params(
        ("address" = Address, Path, description = "The account's address."),
        ("before" = Option<TxPosition>, Query, description = "The previous page's last position: the page of older entries."),
    ),
    responses(
        (status = 200, description = "The address's page.", content_type = "text/html", body = String),
        (status = 400, description = "`bad_address` or `bad_query`, as a page.", content_type = "text/html", body = String),
        (status = 404, description = "A path that names no page: the API's JSON error.", body = ErrorBody),
    )
)]
#[rocket::get("/explorer/html/address/<address>?<before>")]
pub(super) async fn address_page(
    node: &State<Node>,
    uri: &Origin<'_>,
    address: &str,
    before: Option<&str>,
) -> Result<Page, Failed> {
    refuse_repeats(uri)?;
    let address = parse_address(address)?;
    let before = parse_before(before)?;
    let account = node.account(address).await?;
    let history = node.history(address, before, DEFAULT_HISTORY_PAGE).await?;
    Ok(Page(template::address(
        &account,
        &history,
        before.is_some(),
    )))
}

/// The search box: a height or a hash of a block this node has, a transaction id, or an address
/// is sent to its page (303); an empty search to the home page. What matches nothing is a page
/// saying so.
#[utoipa::path(
    get,
    path = "/explorer/html/search",
    tag = "explorer",
    params(("q" = Option<String>, Query, description = "A height, a block hash, a transaction id or an address.")),
    responses(
        (status = 303, description = "To the page of what `q` names.", headers(("Location" = String, description = "The page."))),
        (status = 400, description = "`bad_query` (`q` repeated) or `bad_address`, as a page.", content_type = "text/html", body = String),
        (status = 404, description = "`not_found`: nothing matches, as a page.", content_type = "text/html", body = String),
    )
)]
#[rocket::get("/explorer/html/search?<q>")]
pub(super) async fn search(
    node: &State<Node>,
    uri: &Origin<'_>,
    q: Option<&str>,
) -> Result<Redirect, Failed> {
    refuse_repeats(uri)?;
    let q = q.unwrap_or_default().trim();
    let found = |href: String| Ok(Redirect::to(href));
    if q.is_empty() {
        return found(href::home());
    }
    let digits = q.bytes().all(|b| b.is_ascii_digit());
    let hex = q.len() == 64 && q.bytes().all(|b| b.is_ascii_hexdigit());
    if digits && q.len() != 64 {
        return match find_block(node, q).await {
            Ok(block) => found(href::block(block.height())),
            Err(e) if e.status == Status::NotFound => Err(ApiError::not_found(format!(
                "no block at height {q} (the chain's height is {})",
                node.status().height
            ))
            .into()),
            Err(e) => Err(e.into()),
        };
    }
    if hex {
        let id = q.to_ascii_lowercase();
        match find_block(node, &id).await {
            Ok(block) => return found(href::block(block.hash())),
            Err(e) if e.status != Status::NotFound => return Err(e.into()),
            Err(_) => {}
        }
        return match find_transaction(node, &id).await {
            Ok(_) => found(href::transaction(id)),
            Err(e) if e.status == Status::NotFound => Err(ApiError::not_found(format!(
                "nothing matches {q}: no block or transaction has that hash"
            ))
            .into()),
            Err(e) => Err(e.into()),
        };
    }
    if q.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("fc1")) {
        return found(href::address(parse_address(q)?, None::<TxPosition>));
    }
    Err(ApiError::not_found(format!(
        "nothing matches {q:?}: enter a block height, a 64-character block hash or transaction \
         id, or an address starting with fc1"
    ))
    .into())
}

/// Blocks on top of one at `height`, its own included, seen from a tip at `tip`: as the
/// history's entries count them.
fn confirmations(tip: Height, height: Height) -> u64 {
    (tip.get() + 1).saturating_sub(height.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_point_at_the_pages_routes() {
        assert_eq!(href::home(), "/explorer/html");
        assert_eq!(href::search(), "/explorer/html/search");
        assert_eq!(href::block(Height::new(7)), "/explorer/html/block/7");
        assert_eq!(
            href::address("fc1xyz", Some("12-1")),
            "/explorer/html/address/fc1xyz?before=12-1"
        );
        assert_eq!(
            href::address("fc1xyz", None::<&str>),
            "/explorer/html/address/fc1xyz"
        );
        assert_eq!(confirmations(Height::new(9), Height::new(9)), 1);
        assert_eq!(confirmations(Height::new(9), Height::new(0)), 10);
        assert_eq!(confirmations(Height::new(3), Height::new(5)), 0);
    }
}
