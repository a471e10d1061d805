//! Signed transfers and accounts: `POST /transactions`, `GET /transactions/pending`,
//! `GET /transactions/<id>`, `GET /accounts/<address>` and its history,
//! `GET /accounts/<address>/transactions`. Bodies are the types of [`crate::network::message`].

use super::chain::{parse_query, read_json, refuse_repeats};
use super::error::ApiError;
use super::intake::Intake;
use super::sender::ClaimedSender;
use crate::chain::{Address, Transfer, TxId, TxPosition};
use crate::network::message::{
    AccountHistory, AccountView, ErrorBody, PendingTransfers, Submitted, TransactionView,
};
use crate::network::PeerUrl;
use crate::node::{Node, TransactionStatus, TransferSubmitted};
use rocket::data::Data;
use rocket::http::uri::Origin;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![submit, pending, transaction, account, history]
}

/// The description of [`routes`], for `GET /openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(submit, pending, transaction, account, history))]
pub(super) struct Doc;

/// Most entries one page of `GET /accounts/<address>/transactions` holds; a larger `limit` is
/// refused rather than cut, so a client never mistakes a short page for the whole history.
pub const MAX_HISTORY_PAGE: usize = 500;
/// Entries of a history page when no `limit` is given.
pub const DEFAULT_HISTORY_PAGE: usize = 50;

/// A transfer signed by a wallet: 201 when admitted (and relayed), 200 when already pending,
/// 422 naming the rule it breaks. A relaying node names itself in `X-Ferrochain-Peer`; a banned
/// one is refused (403 `banned`).
#[utoipa::path(
    post,
    path = "/transactions",
    tag = "transfers",
    request_body = Transfer,
    params(("X-Ferrochain-Peer" = Option<PeerUrl>, Header, description = "The relaying node's own URL.")),
    responses(
        (status = 201, description = "Admitted to the mempool, and relayed.", body = Submitted),
        (status = 200, description = "Already pending.", body = Submitted),
        (status = 403, description = "`banned`: the sender is banned.", body = ErrorBody),
        (status = 422, description = "The transfer breaks a rule; `error` names it (`bad_signature`, `bad_nonce`, `insufficient_funds`, ...).", body = ErrorBody),
        (status = 503, description = "`mempool_full`: no room now.", body = ErrorBody),
    )
)]
#[rocket::post("/transactions", data = "<body>")]
async fn submit(
    node: &State<Node>,
    sender: ClaimedSender,
    intake: Intake,
    body: Data<'_>,
) -> Result<(Status, Json<Submitted>), ApiError> {
    let sender = sender.into_inner()?;
    let transfer: Transfer = read_json(body, intake).await?;
    let (status, message, id) = match node.submit_transfer_from(transfer, sender.as_ref()).await? {
        TransferSubmitted::New(id) => (Status::Created, "transfer accepted into the mempool", id),
        TransferSubmitted::Known(id) => (Status::Ok, "transfer already pending", id),
    };
    Ok((
        status,
        Json(Submitted {
            message: message.to_owned(),
            id,
        }),
    ))
}

/// The transfers waiting in the mempool, highest fee first.
#[utoipa::path(
    get,
    path = "/transactions/pending",
    tag = "transfers",
    responses((status = 200, description = "The mempool.", body = PendingTransfers))
)]
#[rocket::get("/transactions/pending")]
async fn pending(node: &State<Node>) -> Result<Json<PendingTransfers>, ApiError> {
    let transactions = node.transfers().pending().await?;
    Ok(Json(PendingTransfers {
        count: transactions.len(),
        transactions,
    }))
}

/// A transaction by id: waiting in the mempool, or on the main chain with its block.
#[utoipa::path(
    get,
    path = "/transactions/{id}",
    tag = "transfers",
    params(("id" = TxId, Path, description = "The transaction's id.")),
    responses(
        (status = 200, description = "Where it stands.", body = TransactionView),
        (status = 400, description = "`bad_transaction_id`.", body = ErrorBody),
        (status = 404, description = "`not_found`: neither pending nor on the main chain.", body = ErrorBody),
    )
)]
#[rocket::get("/transactions/<id>", rank = 2)]
async fn transaction(node: &State<Node>, id: &str) -> Result<Json<TransactionView>, ApiError> {
    find_transaction(node, id).await.map(Json)
}

/// Where the transaction `id` stands, as `GET /transactions/<id>` answers: 400
/// `bad_transaction_id`, or 404 `not_found` when it is neither pending nor on the main chain.
/// The explorer's pages find transactions the same way.
pub(super) async fn find_transaction(node: &Node, id: &str) -> Result<TransactionView, ApiError> {
    let txid: TxId = id
        .parse()
        .map_err(|e| ApiError::bad_request("bad_transaction_id", format!("{e}")))?;
    match node.transaction(txid).await? {
        Some(TransactionStatus::Pending(transaction)) => {
            Ok(TransactionView::Pending { transaction })
        }
        Some(TransactionStatus::Confirmed {
            transaction,
            block,
            height,
        }) => Ok(TransactionView::Confirmed {
            block,
            index: height,
            transaction,
        }),
        None => Err(ApiError::not_found(format!("no transaction {txid}"))),
    }
}

/// An account at the tip: balance and nonce, and what it has waiting in the mempool.
#[utoipa::path(
    get,
    path = "/accounts/{address}",
    tag = "transfers",
    params(("address" = Address, Path, description = "The account's address.")),
    responses(
        (status = 200, description = "The account.", body = AccountView),
        (status = 400, description = "`bad_address`, saying what is wrong with it.", body = ErrorBody),
    )
)]
#[rocket::get("/accounts/<address>")]
async fn account(node: &State<Node>, address: &str) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(node.account(parse_address(address)?).await?))
}

pub(super) fn parse_address(text: &str) -> Result<Address, ApiError> {
    text.parse()
        .map_err(|e| ApiError::bad_request("bad_address", format!("{e}")))
}

/// An address's mined transfers and rewards, newest first, `limit` at a time (1 to
/// [`MAX_HISTORY_PAGE`], [`DEFAULT_HISTORY_PAGE`] if not given), from the newest or from just
/// before `before` (the previous page's `next`). The first page also lists the address's
/// transfers waiting in the mempool.
#[utoipa::path(
    get,
    path = "/accounts/{address}/transactions",
    tag = "transfers",
    params(
        ("address" = Address, Path, description = "The account's address."),
        ("before" = Option<TxPosition>, Query, description = "The previous page's `next`."),
        ("limit" = Option<usize>, Query, minimum = 1, maximum = 500, description = "Entries in the page (50 if not given)."),
    ),
    responses(
        (status = 200, description = "One page of the history, newest first.", body = AccountHistory),
        (status = 400, description = "`bad_address` or `bad_query`.", body = ErrorBody),
    )
)]
#[rocket::get("/accounts/<address>/transactions?<before>&<limit>")]
async fn history(
    node: &State<Node>,
    uri: &Origin<'_>,
    address: &str,
    before: Option<&str>,
    limit: Option<&str>,
) -> Result<Json<AccountHistory>, ApiError> {
    refuse_repeats(uri)?;
    let address = parse_address(address)?;
    let before = parse_before(before)?;
    let limit = parse_query::<usize>("limit", limit)?.unwrap_or(DEFAULT_HISTORY_PAGE);
    if !(1..=MAX_HISTORY_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("limit must be from 1 to {MAX_HISTORY_PAGE}, got {limit}"),
        ));
    }
    Ok(Json(node.history(address, before, limit).await?))
}

/// A history page's `before`, the previous page's `next`: 400 `bad_query` if it is not a
/// chain position.
pub(super) fn parse_before(before: Option<&str>) -> Result<Option<TxPosition>, ApiError> {
    before
        .map(|b| {
            b.parse::<TxPosition>()
                .map_err(|e| ApiError::bad_request("bad_query", format!("before: {e}")))
        })
        .transpose()
}
