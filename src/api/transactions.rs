//! Signed transfers and accounts: `POST /transactions`, `GET /transactions/pending`,
//! `GET /transactions/<id>` and `GET /accounts/<address>`. Bodies are the types of
//! [`crate::network::message`].

use super::chain::read_json;
use super::error::ApiError;
use super::intake::Intake;
use super::sender::ClaimedSender;
use crate::chain::{Address, Transfer, TxId};
use crate::network::message::{AccountView, PendingTransfers, Submitted, TransactionView};
use crate::node::{Node, TransactionStatus, TransferSubmitted};
use rocket::data::Data;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![submit, pending, transaction, account]
}

/// A transfer signed by a wallet: 201 when admitted (and relayed), 200 when already pending,
/// 422 naming the rule it breaks. A relaying node names itself in `X-Ferrochain-Peer`; a banned
/// one is refused (403 `banned`).
#[rocket::post("/transactions", data = "<body>")]
async fn submit(
    node: &State<Node>,
    sender: ClaimedSender,
    intake: Intake<'_>,
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

#[rocket::get("/transactions/pending")]
async fn pending(node: &State<Node>) -> Result<Json<PendingTransfers>, ApiError> {
    let transactions = node.transfers().pending().await?;
    Ok(Json(PendingTransfers {
        count: transactions.len(),
        transactions,
    }))
}

#[rocket::get("/transactions/<id>", rank = 2)]
async fn transaction(node: &State<Node>, id: &str) -> Result<Json<TransactionView>, ApiError> {
    let txid: TxId = id
        .parse()
        .map_err(|e| ApiError::bad_request("bad_transaction_id", format!("{e}")))?;
    match node.transaction(txid).await? {
        Some(TransactionStatus::Pending(transaction)) => {
            Ok(Json(TransactionView::Pending { transaction }))
        }
        Some(TransactionStatus::Confirmed {
            transaction,
            block,
            height,
        }) => Ok(Json(TransactionView::Confirmed {
            block,
            index: height,
            transaction,
        })),
        None => Err(ApiError::not_found(format!("no transaction {txid}"))),
    }
}

#[rocket::get("/accounts/<address>")]
async fn account(node: &State<Node>, address: &str) -> Result<Json<AccountView>, ApiError> {
    let address: Address = address
        .parse()
        .map_err(|e| ApiError::bad_request("bad_address", format!("{e}")))?;
    Ok(Json(node.account(address).await?))
}
