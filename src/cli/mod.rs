//! The command-line client: a guided menu and scriptable subcommands that drive a node over its
//! REST API, never by touching its store.
//!
//! Both ways in end at the same typed requests: the subcommands turn arguments into an
//! [`Action`] and [`run`] it; the guided menu ([`guided`]) turns dialoguer prompts into the same
//! requests and shows the same views. [`client`] is the only code that speaks HTTP, [`view`]
//! the only code that formats, and [`verify`] checks a downloaded chain with the node's own
//! consensus core.

pub mod client;
pub mod commands;
pub mod guided;
pub mod mine;
pub mod verify;
pub mod view;

pub use client::{Client, ClientError, DEFAULT_NODE, START_NODE};
pub use commands::{finish, run, Action, Format};
