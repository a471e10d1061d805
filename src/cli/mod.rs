//! The command line: the `ferrochain` binary's arguments and what each subcommand does.
//!
//! [`args`] holds the clap types (every flag, default and help text); `main.rs` only parses
//! them and dispatches. The `node` subcommand assembles a node and serves its API ([`node`]),
//! `bench` measures the hash rate ([`mod@bench`]), and `wallet` manages the local keystore
//! ([`wallet`]). Everything else is the client: a guided menu and scriptable subcommands that
//! drive a node over its REST API, never by touching its store.
//!
//! Both ways into the client end at the same typed requests: the subcommands turn arguments
//! into an [`Action`] and [`run`] it; the guided menu ([`guided`]) turns dialoguer prompts into
//! the same requests and shows the same views; its questions are [`prompt`]s that Esc leaves, and
//! [`terminal`] restores the terminal on Ctrl-C. [`client`] is the only code that speaks HTTP,
//! [`view`] the only code that formats a node's answers, and [`verify`] checks a downloaded
//! chain with the node's own consensus core.

pub mod args;
pub mod bench;
pub mod client;
pub mod commands;
pub mod config;
pub mod guided;
pub mod logging;
pub mod mine;
pub mod node;
pub mod prompt;
pub mod terminal;
pub mod verify;
pub mod view;
pub mod wallet;
pub mod watch;

pub use client::{Client, ClientError, DEFAULT_NODE, START_NODE};
pub use commands::{finish, run, Action, Format};
pub use node::rotate_token;
