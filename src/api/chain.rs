//! `GET /chain`, `POST /chain/locate`, `GET /chain/verify`, `GET /blocks/<height or hash>`,
//! `POST /add_block` and `POST /blocks/announce`. Bodies are the types of
//! [`crate::network::message`].

use super::body::Object;
use super::error::ApiError;
use super::intake::{read_body, Intake};
use super::sender::ClaimedSender;
use crate::chain::{Block, BlockHash, Height, WireBlock};
use crate::network::message::{
    open_object, Announced, AnnouncedStatus, Announcement, BlockAdded, ChainPage, ChainPoint,
    ClaimedTip, ErrorBody, HeaderPage, HeaderView, LocateRequest, Located, Verification,
};
use crate::network::PeerUrl;
use crate::node::{self, BlockOutcome, Node};
use crate::storage::MAX_LOCATOR;
use rocket::data::Data;
use rocket::http::uri::Origin;
use rocket::http::{ContentType, Status};
use rocket::response::stream::ByteStream;
use rocket::serde::json::{self, Json};
use rocket::State;

/// Most blocks one page of `GET /chain` holds.
pub const MAX_PAGE: usize = 1000;
/// A page stops growing past this many bytes (with at least one block), so a page of large
/// blocks stays far below what peers accept in one response.
pub const PAGE_BYTES: usize = 8 * 1024 * 1024;
/// Blocks read from the store per step while streaming.
const STREAM_BATCH: usize = 256;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![chain, headers, locate, verify, block, add_block, announce]
}

/// The description of [`routes`], for `GET /openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(chain, headers, locate, verify, block, add_block, announce))]
pub(super) struct Doc;

pub(super) fn parse_query<T: std::str::FromStr>(
    name: &str,
    value: Option<&str>,
) -> Result<Option<T>, ApiError> {
    value
        .map(|v| {
            decimal(v).ok_or_else(|| {
                ApiError::bad_request(
                    "bad_query",
                    format!("{name} must be a non-negative integer, got {v:?}"),
                )
            })
        })
        .transpose()
}

/// A number written in decimal digits only: Rust's parsers also take a leading `+`, which no
/// client means (`/blocks/+1`).
fn decimal<T: std::str::FromStr>(text: &str) -> Option<T> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}

/// Refuses a query that names a parameter twice (`?from=1&from=2`): which one was meant is
/// anybody's guess, and Rocket would silently take one.
pub(super) fn refuse_repeats(uri: &Origin<'_>) -> Result<(), ApiError> {
    let Some(query) = uri.query() else {
        return Ok(());
    };
    let mut seen = std::collections::HashSet::new();
    for (name, _) in query.segments() {
        if !seen.insert(name) {
            return Err(ApiError::bad_request(
                "bad_query",
                format!("the query names {name} more than once"),
            ));
        }
    }
    Ok(())
}

/// The whole main chain from genesis, or with `from`/`limit` one page of it. `length` is always
/// the length of the whole chain the answer is from. The body is streamed in batches, so serving a long chain needs no
/// more memory than a short one.
///
/// Every answer describes one branch: the main chain as it ends in `tip` (the caller names it,
/// as a syncing peer does with the tip it was told of, or else the tip when the request came),
/// never a mix of two branches however the chain reorganises while it is read. A page stops at
/// `tip`. A named `tip` that is no longer on the main chain is 409 `tip_moved` (locate again);
/// a reorganisation in the middle of a stream ends the stream early, still linked.
#[utoipa::path(
    get,
    path = "/chain",
    tag = "chain",
    params(
        ("from" = Option<u64>, Query, description = "First height of the page (0 if only `limit` is given)."),
        ("limit" = Option<usize>, Query, maximum = 1000, description = "Most blocks in the page (100 if only `from` is given; at most 1,000). Without `from` and `limit`, the whole chain."),
        ("tip" = Option<BlockHash>, Query, description = "The tip whose branch to read (a syncing peer names the tip it was told of)."),
    ),
    responses(
        (status = 200, description = "The chain, or one page of it; `length` is the whole chain's.", body = ChainPage),
        (status = 400, description = "`bad_query`: a parameter that is not a number or a hash, repeated, or a `limit` over 1,000.", body = ErrorBody),
        (status = 409, description = "`tip_moved`: the named tip is not on the main chain (locate again).", body = ErrorBody),
    )
)]
#[rocket::get("/chain?<from>&<limit>&<tip>")]
async fn chain(
    node: &State<Node>,
    uri: &Origin<'_>,
    from: Option<&str>,
    limit: Option<&str>,
    tip: Option<&str>,
) -> Result<(ContentType, ByteStream![Vec<u8>]), ApiError> {
    refuse_repeats(uri)?;
    let from = parse_query::<u64>("from", from)?;
    let limit = parse_query::<usize>("limit", limit)?;
    let anchor = match tip {
        None => node.chain().latest_tip(),
        Some(text) => {
            let hash: BlockHash = text.parse().map_err(|e| {
                ApiError::bad_request("bad_query", format!("tip must be a block hash: {e}"))
            })?;
            match node.chain().main_chain_tip(hash).await? {
                Some(tip) => tip,
                None => {
                    return Err(ApiError::new(
                        Status::Conflict,
                        "tip_moved",
                        format!(
                            "block {hash} is not on this node's main chain (it reorganised, or \
                             never had it): locate again"
                        ),
                    ))
                }
            }
        }
    };
    if let Some(limit) = limit.filter(|&l| l > MAX_PAGE) {
        return Err(ApiError::bad_request(
            "bad_query",
            format!(
                "limit is at most {MAX_PAGE} blocks a page, got {limit}: ask for the next page \
                 with from=, or leave out from and limit for the whole chain"
            ),
        ));
    }
    let paged = from.is_some() || limit.is_some();
    let from = Height::new(from.unwrap_or(0));
    let (limit, budget) = match paged {
        true => (limit.unwrap_or(100), PAGE_BYTES),
        false => (usize::MAX, usize::MAX),
    };
    let head = ChainPage {
        length: anchor.length(),
        chain: Vec::new(),
    };
    Ok(stream_chain(
        node.inner().clone(),
        &head,
        anchor.hash,
        from,
        limit,
        budget,
    ))
}

/// The main chain's headers from `from`, `limit` at a time (at most [`MAX_PAGE`], 100 if not
/// given), with each block's entry count and size: what a list of blocks or a chart of block
/// times needs, without the entries.
#[utoipa::path(
    get,
    path = "/headers",
    tag = "chain",
    params(
        ("from" = Option<u64>, Query, description = "First height (0 if not given)."),
        ("limit" = Option<usize>, Query, maximum = 1000, description = "Most headers in the page (100 if not given; at most 1,000)."),
    ),
    responses(
        (status = 200, description = "One page of headers; `length` is the whole chain's.", body = HeaderPage),
        (status = 400, description = "`bad_query`: a parameter that is not a number, repeated, or a `limit` over 1,000.", body = ErrorBody),
    )
)]
#[rocket::get("/headers?<from>&<limit>")]
async fn headers(
    node: &State<Node>,
    uri: &Origin<'_>,
    from: Option<&str>,
    limit: Option<&str>,
) -> Result<Json<HeaderPage>, ApiError> {
    refuse_repeats(uri)?;
    let from = Height::new(parse_query::<u64>("from", from)?.unwrap_or(0));
    let limit = parse_query::<usize>("limit", limit)?.unwrap_or(100);
    if limit > MAX_PAGE {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("limit is at most {MAX_PAGE} headers a page, got {limit}"),
        ));
    }
    let length = node.tip().length();
    let headers = node.chain().headers(from, limit).await?;
    Ok(Json(HeaderPage {
        length,
        headers: headers
            .into_iter()
            .map(|s| HeaderView {
                index: s.header.height,
                hash: s.header.hash(),
                version: s.header.version,
                timestamp: s.header.timestamp,
                previous_hash: s.header.prev_hash,
                merkle_root: s.header.merkle_root,
                target: s.header.target,
                nonce: s.header.nonce,
                entries: s.entries,
                bytes: s.bytes,
            })
            .collect(),
    }))
}

/// Streams `head` (a message whose last field, `chain`, is left out of it), then the main chain
/// that ends in `anchor`, from `from`, as that field: a JSON array of up to `limit` blocks and
/// `budget` bytes, then the closing brace.
pub(super) fn stream_chain(
    node: Node,
    head: &impl serde::Serialize,
    anchor: BlockHash,
    from: Height,
    limit: usize,
    budget: usize,
) -> (ContentType, ByteStream![Vec<u8>]) {
    // Writing to memory cannot fail, and the heads are plain structs of strings and numbers.
    let mut head = open_object(head, "chain").expect("a message head serialises");
    head.push(b'[');
    let stream = ByteStream! {
        yield head;
        let (mut next, mut sent, mut bytes) = (from, 0usize, 0usize);
        'pages: while sent < limit && bytes < budget {
            let want = STREAM_BATCH.min(limit - sent);
            let blocks = match node.chain().branch_page(anchor, next, want).await {
                Ok(Some(blocks)) => blocks,
                Ok(None) => {
                    // The branch being served left the main chain: end it here, linked, rather
                    // than go on with blocks of another branch.
                    log::info!("streaming the chain stopped at {next}: block {} left the main chain", anchor.short());
                    break;
                }
                Err(e) => {
                    // The status line is gone; end the document so the client sees a short,
                    // verifiable chain rather than broken JSON.
                    log::error!("streaming the chain failed at {next}: {e}");
                    break;
                }
            };
            let got = blocks.len();
            // One chunk per batch rather than per block: thousands of tiny chunks cost more in
            // the body channel and in writes than the JSON itself.
            let mut out = Vec::new();
            for block in blocks {
                let before = out.len();
                if sent > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut out, &block).expect("a block always serialises");
                bytes += out.len() - before;
                sent += 1;
                if bytes >= budget {
                    yield out;
                    break 'pages;
                }
            }
            yield out;
            if got < want {
                break;
            }
            next = Height::new(next.get() + got as u64);
        }
        yield b"]}".to_vec();
    };
    (ContentType::JSON, stream)
}

/// Where the caller's chain meets ours: the highest locator entry on our main chain (`fork`), and
/// our tip, so the caller knows what there is to fetch (`GET /chain?from=<fork height + 1>`). The
/// locator is checked whole before anything is looked up: at most [`MAX_LOCATOR`] entries, each a
/// 64-character hex hash; otherwise 422 `bad_locator`. 422 `no_common_block` when no entry is on
/// our main chain (the caller is on another chain, or sent made-up hashes).
#[utoipa::path(
    post,
    path = "/chain/locate",
    tag = "chain",
    request_body = LocateRequest,
    responses(
        (status = 200, description = "Where the chains meet, and this node's tip.", body = Located),
        (status = 422, description = "`bad_locator` (empty, too long, or an entry that is not a hash) or `no_common_block`.", body = ErrorBody),
    )
)]
#[rocket::post("/chain/locate", data = "<body>")]
async fn locate(
    node: &State<Node>,
    body: Result<Json<Object<LocateRequest>>, json::Error<'_>>,
) -> Result<Json<Located>, ApiError> {
    let Object(request) = body.map_err(ApiError::from_json)?.into_inner();
    let bad = |message: String| ApiError::new(Status::UnprocessableEntity, "bad_locator", message);
    if request.locator.is_empty() || request.locator.len() > MAX_LOCATOR {
        return Err(bad(format!(
            "a locator has 1 to {MAX_LOCATOR} block hashes, got {}",
            request.locator.len()
        )));
    }
    let locator = request
        .locator
        .iter()
        .enumerate()
        .map(|(i, h)| {
            h.parse::<BlockHash>()
                .map_err(|e| bad(format!("entry {i} of the locator: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (fork, tip) = node.chain().locate(locator).await?.ok_or_else(|| {
        ApiError::new(
            Status::UnprocessableEntity,
            "no_common_block",
            "no block of the locator is on this node's main chain (is the caller on another chain?)",
        )
    })?;
    Ok(Json(Located {
        fork: ChainPoint {
            height: fork.height,
            hash: fork.hash,
        },
        tip: ClaimedTip {
            height: tip.height,
            hash: tip.hash,
            work: tip.work,
        },
    }))
}

/// Re-verifies the stored chain from genesis: `{"valid", "length", "total_work"}`, plus
/// `"error"` (the first bad block and the rule it breaks) when it is not valid.
#[utoipa::path(
    get,
    path = "/chain/verify",
    tag = "chain",
    responses((status = 200, description = "The verdict, with the first bad block if there is one.", body = Verification))
)]
#[rocket::get("/chain/verify")]
async fn verify(node: &State<Node>) -> Result<Json<Verification>, ApiError> {
    let verified = node.verify().await?;
    Ok(Json(Verification::new(
        verified.length,
        verified.work,
        verified.error,
    )))
}

/// One block by main-chain height, or any stored block by hash.
#[utoipa::path(
    get,
    path = "/blocks/{id}",
    tag = "chain",
    params(("id" = String, Path, description = "A main-chain height, or a block hash (64 hex characters) of any stored block.")),
    responses(
        (status = 200, description = "The block.", body = Block),
        (status = 400, description = "`bad_block_id`: neither a height nor a hash.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such block.", body = ErrorBody),
    )
)]
#[rocket::get("/blocks/<id>")]
async fn block(node: &State<Node>, id: &str) -> Result<Json<Block>, ApiError> {
    find_block(node, id).await.map(Json)
}

/// The block `id` names, a main-chain height or the hash of any stored block, as
/// `GET /blocks/<id>` finds it: 400 `bad_block_id` for neither, 404 `not_found` for no such
/// block. The explorer's pages find blocks the same way.
pub(super) async fn find_block(node: &Node, id: &str) -> Result<Block, ApiError> {
    let found = if id.len() == 64 {
        let hash: BlockHash = id
            .parse()
            .map_err(|e| ApiError::bad_request("bad_block_id", format!("{e}")))?;
        node.chain().block(hash).await?
    } else {
        let height: u64 = decimal(id).ok_or_else(|| {
            ApiError::bad_request(
                "bad_block_id",
                format!("{id:?} is neither a height nor a 64-character block hash"),
            )
        })?;
        node.chain().block_at(Height::new(height)).await?
    };
    found.ok_or_else(|| ApiError::not_found(format!("no block {id}")))
}

/// A block from a peer or a client, in the JSON shape `GET /chain` shows. A relaying node names
/// itself in `X-Ferrochain-Peer`; a banned one is refused (403 `banned`) before its body is
/// read.
#[utoipa::path(
    post,
    path = "/add_block",
    tag = "chain",
    request_body = Block,
    params(("X-Ferrochain-Peer" = Option<PeerUrl>, Header, description = "The relaying node's own URL.")),
    responses(
        (status = 201, description = "Added to the main chain.", body = BlockAdded),
        (status = 200, description = "Already known.", body = BlockAdded),
        (status = 202, description = "Stored on a side branch, or waiting for its parent.", body = BlockAdded),
        (status = 403, description = "`banned`: the sender is banned.", body = ErrorBody),
        (status = 422, description = "The block breaks a rule; `error` names it (`bad_proof_of_work`, `hash_mismatch`, ...).", body = ErrorBody),
        (status = 507, description = "`storage_full`: the disk is full; nothing was written.", body = ErrorBody),
    )
)]
#[rocket::post("/add_block", data = "<body>")]
async fn add_block(
    node: &State<Node>,
    sender: ClaimedSender,
    intake: Intake,
    body: Data<'_>,
) -> Result<(Status, Json<BlockAdded>), ApiError> {
    let sender = sender.into_inner()?;
    let bytes = read_body(body, &intake).await?;
    let block = parse_object::<WireBlock>(&bytes)?
        .into_block()
        .map_err(|e| ApiError::new(Status::UnprocessableEntity, "hash_mismatch", e.to_string()))?;
    let (hash, height) = (block.hash(), block.height());
    let outcome = match &sender {
        // From a peer: counted as relay traffic.
        Some(sender) => node.receive_block(block, bytes.len(), sender).await?,
        None => node.submit(block).await?,
    };
    let (status, message) = match outcome {
        BlockOutcome::Connected => (Status::Created, "block added to the chain".to_owned()),
        BlockOutcome::Known => (Status::Ok, "block already known".to_owned()),
        BlockOutcome::SideBranch => (
            Status::Accepted,
            "block stored on a side branch with less work than the chain".to_owned(),
        ),
        BlockOutcome::Orphan { parent } => (
            Status::Accepted,
            format!("parent {parent} is unknown; the block waits while the node is catching up"),
        ),
    };
    Ok((
        status,
        Json(BlockAdded {
            message,
            hash,
            index: height,
        }),
    ))
}

/// A peer has a block: 200 `known` if this node has it too, 202 `fetching` if it fetches it
/// (once, from the first announcer; see the node's relay). The sender must name itself in
/// `X-Ferrochain-Peer` (400 `no_sender`), and the request come from where its URL points
/// (403 `not_from_sender`); 429 `busy` when the node fetches as many blocks as it does at once.
#[utoipa::path(
    post,
    path = "/blocks/announce",
    tag = "peers",
    request_body = Announcement,
    params(("X-Ferrochain-Peer" = PeerUrl, Header, description = "The announcing node's own URL.")),
    responses(
        (status = 200, description = "`known`: this node has the block.", body = Announced),
        (status = 202, description = "`fetching`: this node fetches it.", body = Announced),
        (status = 400, description = "`no_sender`: no `X-Ferrochain-Peer`.", body = ErrorBody),
        (status = 403, description = "`not_from_sender` or `banned`.", body = ErrorBody),
        (status = 429, description = "`busy`: the node fetches as many blocks as it does at once.", body = ErrorBody),
    )
)]
#[rocket::post("/blocks/announce", data = "<body>")]
async fn announce(
    node: &State<Node>,
    sender: ClaimedSender,
    intake: Intake,
    body: Data<'_>,
) -> Result<(Status, Json<Announced>), ApiError> {
    let sender = sender.into_inner()?;
    let bytes = read_body(body, &intake).await?;
    let announcement: Announcement = parse_object(&bytes)?;
    let answer = node
        .announced(announcement, bytes.len(), sender.as_ref())
        .await?;
    let (status, answer, message) = match answer {
        node::Announced::Known => (Status::Ok, AnnouncedStatus::Known, "block already known"),
        node::Announced::Fetching => (
            Status::Accepted,
            AnnouncedStatus::Fetching,
            "fetching the block",
        ),
    };
    Ok((
        status,
        Json(Announced {
            status: answer,
            message: message.to_owned(),
        }),
    ))
}

/// Reads a JSON body as `T`, with the errors Rocket's `Json` guard would give (413, 422, 400).
pub(super) async fn read_json<T: serde::de::DeserializeOwned>(
    body: Data<'_>,
    intake: Intake,
) -> Result<T, ApiError> {
    parse_object(&read_body(body, &intake).await?)
}

/// Parses a JSON object as `T` (an array of its fields, which serde would take, is refused).
pub(super) fn parse_object<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let Object(value) = serde_json::from_slice(bytes).map_err(ApiError::from_serde)?;
    Ok(value)
}
