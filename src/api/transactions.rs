//! Signed transfers and accounts: `POST /transactions`, `GET /transactions/pending`,
//! `GET /transactions/<id>` and `GET /accounts/<address>`.

use super::chain::read_json;
use super::error::ApiError;
use super::sender::ClaimedSender;
use crate::chain::{Address, Transfer, TxId};
use crate::node::{AccountView, Node, TransactionStatus, TransferSubmitted};
use rocket::data::{Data, Limits};
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Value};

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
    limits: &Limits,
    body: Data<'_>,
) -> Result<(Status, Json<Value>), ApiError> {
    let sender = sender.into_inner()?;
    let transfer: Transfer = read_json(body, limits).await?;
    Ok(
        match node.submit_transfer_from(transfer, sender.as_ref()).await? {
            TransferSubmitted::New(id) => (
                Status::Created,
                Json(json!({ "message": "transfer accepted into the mempool", "id": id })),
            ),
            TransferSubmitted::Known(id) => (
                Status::Ok,
                Json(json!({ "message": "transfer already pending", "id": id })),
            ),
        },
    )
}

#[rocket::get("/transactions/pending")]
async fn pending(node: &State<Node>) -> Result<Json<Value>, ApiError> {
    let transfers = node.transfers().pending().await?;
    Ok(Json(
        json!({ "count": transfers.len(), "transactions": transfers }),
    ))
}

#[rocket::get("/transactions/<id>", rank = 2)]
async fn transaction(node: &State<Node>, id: &str) -> Result<Json<Value>, ApiError> {
    let txid: TxId = id
        .parse()
        .map_err(|e| ApiError::bad_request("bad_transaction_id", format!("{e}")))?;
    match node.transaction(txid).await? {
        Some(TransactionStatus::Pending(t)) => {
            Ok(Json(json!({ "status": "pending", "transaction": t })))
        }
        Some(TransactionStatus::Confirmed {
            transaction,
            block,
            height,
        }) => Ok(Json(json!({
            "status": "confirmed",
            "block": block,
            "index": height,
            "transaction": transaction,
        }))),
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
