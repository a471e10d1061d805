//! The block explorer: `GET /` serves its page and `GET /explorer/<file>` its script and style,
//! all embedded in the binary (no CDN, nothing fetched from the internet); `GET /explorer/html`
//! and the pages under it show the same views without JavaScript ([`page`]).
//!
//! The page is a client of the same REST API as everyone else (`/status`, `/chain`, `/blocks`,
//! `/transactions`, `/accounts`, `/nodes`, `/chain/reorgs`, `/events`): nothing here knows the
//! chain, so the explorer can never show what the API would not. It routes by the URL's
//! fragment (`/#/block/<height or hash>`, `/#/tx/<id>`, `/#/address/<address>`), so the
//! server has one page to serve and the JSON routes keep every path they had. The pages
//! without JavaScript are rendered from the very node calls those JSON routes make.
//!
//! Assets are answered with an `ETag` (a digest of their bytes) and `Cache-Control: no-cache`:
//! a browser revalidates each time and gets a bodiless 304 while the binary is the same, and
//! never keeps a previous version's script after an upgrade. A strict Content-Security-Policy
//! allows scripts, styles and requests only from the node itself, a second wall behind the
//! script's rule of putting data into the page as text only (and, for the rendered pages,
//! behind their templates' escaping of every value).

mod page;
mod template;

use super::error::ApiError;
use crate::network::message::ErrorBody;
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Builder, Responder, Response};
use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::sync::OnceLock;

pub fn routes() -> Vec<rocket::Route> {
    let mut routes = rocket::routes![index, asset];
    routes.extend(page::routes());
    routes
}

/// The description of [`routes`], for `GET /openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    index,
    asset,
    page::home_page,
    page::block_page,
    page::transaction_page,
    page::address_page,
    page::search
))]
pub(super) struct Doc;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: fn() -> ContentType,
    bytes: &'static [u8],
}

/// Every file the explorer serves; `index.html` is served at `/` only.
const ASSETS: [Asset; 4] = [
    Asset {
        name: "index.html",
        content_type: || ContentType::HTML,
        bytes: include_bytes!("explorer/index.html"),
    },
    Asset {
        name: "explorer.css",
        content_type: || ContentType::CSS,
        bytes: include_bytes!("explorer/explorer.css"),
    },
    Asset {
        name: "explorer.js",
        content_type: || ContentType::JavaScript,
        bytes: include_bytes!("explorer/explorer.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: || ContentType::SVG,
        bytes: include_bytes!("explorer/favicon.svg"),
    },
];

/// Scripts, styles, images and requests from the node only; no frames, no plugins, no
/// inline script (the page has none).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The strong validator of each asset, in [`ASSETS`] order, computed on first use.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", hex::encode(&Sha256::digest(a.bytes)[..12])))
            .collect()
    })
}

/// An embedded file as an answer: its bytes (or 304 when the browser's copy is current) with
/// its content type, validator and the explorer's security headers.
struct Served(usize);

impl<'r> Responder<'r, 'static> for Served {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let asset = &ASSETS[self.0];
        let etag = &etags()[self.0];
        let fresh = req
            .headers()
            .get("If-None-Match")
            .flat_map(|v| v.split(','))
            .any(|tag| tag.trim() == etag || tag.trim() == "*");
        let mut answer = Response::build();
        secured(&mut answer)
            .header((asset.content_type)())
            .header(Header::new("ETag", etag.clone()));
        match fresh {
            true => answer.status(Status::NotModified),
            false => answer.sized_body(asset.bytes.len(), Cursor::new(asset.bytes)),
        };
        answer.ok()
    }
}

/// The headers of everything the explorer serves, files and rendered pages alike: revalidate
/// each time, take the declared content type at its word, and the policy above.
fn secured<'a, 'r>(answer: &'a mut Builder<'r>) -> &'a mut Builder<'r> {
    answer
        .header(Header::new("Cache-Control", "no-cache"))
        .header(Header::new("X-Content-Type-Options", "nosniff"))
        .header(Header::new("Content-Security-Policy", CSP))
        .header(Header::new("Referrer-Policy", "no-referrer"))
}

/// The explorer's page.
#[utoipa::path(
    get,
    path = "/",
    tag = "explorer",
    responses(
        (status = 200, description = "The explorer's page.", content_type = "text/html", body = String),
        (status = 304, description = "Not modified: the `If-None-Match` validator is current."),
    )
)]
#[rocket::get("/")]
fn index() -> Served {
    Served(0)
}

/// The page's script, style and icon. The page itself is not served here: it has one address.
#[utoipa::path(
    get,
    path = "/explorer/{file}",
    tag = "explorer",
    params(("file" = String, Path, description = "`explorer.js`, `explorer.css` or `favicon.svg`.")),
    responses(
        (status = 200, description = "The file.", content((String = "text/javascript"), (String = "text/css"), (String = "image/svg+xml"))),
        (status = 304, description = "Not modified: the `If-None-Match` validator is current."),
        (status = 404, description = "`not_found`.", body = ErrorBody),
    )
)]
#[rocket::get("/explorer/<file>")]
fn asset(file: &str) -> Result<Served, ApiError> {
    ASSETS
        .iter()
        .position(|a| a.name == file && a.name != "index.html")
        .map(Served)
        .ok_or_else(|| ApiError::not_found(format!("no explorer file {file:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_its_own_validator_and_the_page_names_only_served_files() {
        let tags = etags();
        assert_eq!(tags.len(), ASSETS.len());
        for (i, tag) in tags.iter().enumerate() {
            assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 26);
            assert!(!tags[..i].contains(tag), "two assets share {tag}");
        }
        let page = std::str::from_utf8(ASSETS[0].bytes).unwrap();
        for asset in &ASSETS[1..] {
            assert!(
                page.contains(&format!("/explorer/{}", asset.name)),
                "index.html does not use {}",
                asset.name
            );
        }
        // Nothing from elsewhere, and no inline script the policy would block.
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains("<script>"));
        // Without a script, the page sends browsers to the rendered pages and its search box
        // to theirs.
        let noscript = &page[page.find("<noscript>").unwrap()..page.find("</noscript>").unwrap()];
        assert!(noscript.contains(&format!("href=\"{}\"", page::href::home())));
        assert!(page.contains(&format!("action=\"{}\"", page::href::search())));
    }
}
