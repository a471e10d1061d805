//! The schemas of the types whose JSON the chain writes by hand (hashes as hex, addresses in
//! bech32m, a transaction as a note string or a tagged object, a block with its computed hash):
//! a derive cannot see through a hand-written `Serialize`, so each form is stated here, once, in
//! JSON Schema. Types with derived serde derive their schema where they are defined.
//!
//! The contract test checks every answer of the running node against these, so a schema that
//! drifts from what the node writes fails there.

use crate::chain::{
    Address, Block, BlockHash, MerkleRoot, Note, Signature, Target, Transaction, Transfer, TxId,
    TxPosition, Work,
};
use crate::network::PeerUrl;
use serde_json::{json, Value};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A schema written in this file, as utoipa holds it.
fn parse(value: Value) -> RefOr<Schema> {
    serde_json::from_value(value).expect("the schemas in wire.rs are valid OpenAPI")
}

/// A reference to the component `T`.
fn reference<T: ToSchema>() -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", T::name()) })
}

/// Adds `T` and what it refers to, for a schema that refers to `T`.
fn collect<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

/// Implements the schema traits for `$ty` from a JSON Schema, registering the components it
/// refers to.
macro_rules! wire_schema {
    ($ty:ty, refers to [$($dep:ty),*], $schema:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                parse($schema)
            }
        }

        impl ToSchema for $ty {
            fn schemas(_out: &mut Vec<(String, RefOr<Schema>)>) {
                $(collect::<$dep>(_out);)*
            }
        }
    };
}

/// A 32-byte hash in lowercase hex (either case is read).
fn hex32(what: &str) -> Value {
    json!({
        "type": "string",
        "pattern": "^[0-9a-fA-F]{64}$",
        "description": what,
        "example": "00000a3f5c1e9b7d2c4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4",
    })
}

wire_schema!(BlockHash, refers to [], hex32("A block's hash: the double SHA-256 of its header."));
wire_schema!(TxId, refers to [], hex32("A transaction's id: the double SHA-256 of its encoding."));
wire_schema!(MerkleRoot, refers to [], hex32("The root of the Merkle tree over a block's transaction ids."));

wire_schema!(Address, refers to [], json!({
    "type": "string",
    "pattern": "^fc1[02-9ac-hj-np-z]{58}$",
    "description": "An account: an Ed25519 public key in bech32m with the prefix `fc`.",
    "example": "fc1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7rusqyp0mu6g",
}));

wire_schema!(Target, refers to [], json!({
    "type": "string",
    "pattern": "^[0-9a-fA-F]{8}$",
    "description": "The target a block's hash must stay under, in its 32-bit compact form as eight hex digits.",
    "example": "1d00ffff",
}));

wire_schema!(Work, refers to [], json!({
    "type": "string",
    "pattern": "^[0-9]+$",
    "description": "Expected hashes behind a block or a chain, in decimal (a string: it exceeds what JavaScript numbers hold).",
    "example": "1048576",
}));

wire_schema!(Signature, refers to [], json!({
    "type": "string",
    "pattern": "^[0-9a-fA-F]{128}$",
    "description": "An Ed25519 signature, 64 bytes in hex.",
}));

wire_schema!(TxPosition, refers to [], json!({
    "type": "string",
    "pattern": "^[0-9]+-[0-9]+$",
    "description": "Where a transaction is on the main chain: `<height>-<index in the block>`.",
    "example": "42-1",
}));

wire_schema!(PeerUrl, refers to [], json!({
    "type": "string",
    "format": "uri",
    "description": "A node's base URL, with its port.",
    "example": "http://127.0.0.1:5001/",
}));

wire_schema!(Note, refers to [], json!({
    "type": "string",
    "minLength": 1,
    "maxLength": Note::MAX_BYTES,
    "description": "A free-text entry, as in the original API (at most 256 bytes of UTF-8).",
}));

wire_schema!(Transfer, refers to [Address, Signature, TxId], json!({
    "type": "object",
    "description": "Coins moved from one account to another, signed by the sender. \
                    Amounts are in units of 10^-8 coin; `nonce` is the sender's count of mined \
                    transfers. `id` is written by the node and ignored when read.",
    "required": ["from", "to", "amount", "fee", "nonce", "signature"],
    "additionalProperties": false,
    "properties": {
        "type": { "type": "string", "enum": ["transfer"] },
        "from": reference::<Address>(),
        "to": reference::<Address>(),
        "amount": { "type": "integer", "format": "int64", "minimum": 0 },
        "fee": { "type": "integer", "format": "int64", "minimum": 0 },
        "nonce": { "type": "integer", "format": "int64", "minimum": 0 },
        "signature": reference::<Signature>(),
        "id": reference::<TxId>(),
    },
}));

/// A block reward has no type of its own in the chain (it is one kind of [`Transaction`]); its
/// schema is a part of `Transaction`'s.
fn reward() -> Value {
    json!({
        "type": "object",
        "title": "Reward",
        "description": "The block reward: the subsidy plus the block's fees, paid to the miner. \
                        Always a block's first entry.",
        "required": ["type", "to", "amount", "height"],
        "properties": {
            "type": { "type": "string", "enum": ["reward"] },
            "to": reference::<Address>(),
            "amount": { "type": "integer", "format": "int64", "minimum": 0 },
            "height": { "type": "integer", "format": "int64", "minimum": 0 },
            "id": reference::<TxId>(),
        },
    })
}

wire_schema!(Transaction, refers to [Note, Transfer, Address, TxId], json!({
    "description": "One entry of a block: a note (a plain string), a transfer, or the reward.",
    "oneOf": [reference::<Note>(), reference::<Transfer>(), reward()],
}));

wire_schema!(Block, refers to [BlockHash, MerkleRoot, Target, Transaction], json!({
    "type": "object",
    "description": "A block in the original API's shape plus its header's fields. The node \
                    always writes `hash`; a block sent to it may leave it out, and one that \
                    states it must state its own.",
    "required": ["index", "version", "timestamp", "previous_hash", "merkle_root", "target",
                 "nonce", "transactions"],
    "properties": {
        "index": { "type": "integer", "format": "int64", "minimum": 0, "description": "Height." },
        "version": { "type": "integer", "format": "int32", "minimum": 0 },
        "timestamp": { "type": "integer", "format": "int64", "minimum": 0, "description": "Unix milliseconds." },
        "previous_hash": reference::<BlockHash>(),
        "merkle_root": reference::<MerkleRoot>(),
        "target": reference::<Target>(),
        "nonce": { "type": "integer", "format": "int64", "minimum": 0 },
        "transactions": { "type": "array", "items": reference::<Transaction>() },
        "hash": reference::<BlockHash>(),
    },
}));
