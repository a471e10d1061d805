//! ferrochain: a durable proof-of-work blockchain node.
//!
//! # Layout
//!
//! Arrows point down; nothing reaches up.
//!
//! - [`chain`]: the pure core. Hashes, heights, targets and work as their own types; headers,
//!   blocks and transactions with one canonical encoding; consensus rules, difficulty
//!   retargeting (given a closure that looks up past timestamps); fork choice by work. No I/O,
//!   no threads, no clock.
//! - [`storage`]: the only code that touches sled. Blocks by hash, the main chain's height index,
//!   accounts, each address's history, the tip, chain parameters and the schema version, written
//!   together in one transaction; and the known peers with their state, apart. Block locators and the fork-point lookup, views of
//!   the height index.
//! - [`mining`]: the nonce search, sequential (the reference) and fanned across rayon threads
//!   with a shared stop flag; hash-rate benchmark and process statistics.
//! - [`network`]: the HTTP client every peer request goes through (timeouts, size caps, no
//!   redirects), the peer protocol as a trait ([`network::PeerApi`]), peer URLs, the peer book
//!   (back-off, drop and ban rules, pure), the same-chain handshake and transfer broadcast.
//!   - [`network::message`]: every request and response body of the REST API, which is also the
//!     peer protocol, defined once with serde both ways: the API writes them, the peer client
//!     and the CLI read them.
//! - [`mempool`]: signed transfers waiting for a block, checked against the tip's accounts.
//! - [`wallet`]: the client-side keystore (recovery phrases, passphrase-encrypted key files,
//!   export and import); private keys never reach the node.
//! - [`files`]: files outside sled (keys, the API token), private and written atomically.
//! - [`token`]: the API token that opens the operator's routes.
//! - [`node`]: [`Node`](node::Node), the cheap-to-clone handle over the node's parts, each owning
//!   its state: the chain (store, published tip, orphans, acceptance: validate, store, flush,
//!   then relay), peers (book, verdicts and bans, the peer client behind the
//!   [`PeerApi`](network::PeerApi) trait), sync (locator sessions with typed outcomes),
//!   discovery, mining and transfers (both following the published tip), the relay outbox, and
//!   the owned background tasks that [`Node::run`](node::Node::run) starts and ends.
//! - [`api`]: the Rocket REST API, a thin edge over `Node`.
//! - [`cli`]: the command line, beside `api` at the top. Its clap types ([`cli::args`], which
//!   `main.rs` only parses and dispatches); the `node` subcommand that assembles a node and
//!   serves `api` ([`cli::node`]); and the client: a guided dialoguer menu and scriptable
//!   subcommands that reach a node only through its REST API (a blocking reqwest client), and
//!   verify a downloaded chain with [`chain::ChainVerifier`].

pub mod api;
pub mod chain;
pub mod cli;
pub mod files;
pub mod mempool;
pub mod mining;
pub mod network;
pub mod node;
pub mod storage;
pub mod token;
pub mod wallet;
