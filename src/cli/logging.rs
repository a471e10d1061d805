//! The process's log: `tracing` events, as readable lines or JSON lines on standard error, with
//! the `log` records of Rocket and the other dependencies (and of modules still writing through
//! `log`) bridged into the same stream.
//!
//! What is written is [`DEFAULT_FILTER`], adjusted by `RUST_LOG` (`tracing_subscriber`'s
//! `EnvFilter` syntax): `RUST_LOG=debug` makes the node say more without Rocket's per-request
//! notes, which come back with `RUST_LOG=rocket::server::_=info`.

use super::args::LogFormat;
use tracing_subscriber::EnvFilter;

/// What is written when `RUST_LOG` is not set: the node's own news, and the dependencies' only
/// when something is wrong. Rocket's per-request notes (`rocket::server::_`, which call every
/// 404 an error) are left out: a client asking for something that does not exist is not the
/// node's error, and the API answers it as such. A request that fails inside the node is logged
/// by the node, with its cause.
pub const DEFAULT_FILTER: &str = "info,rocket=error,rocket::server=warn,rocket::server::_=off,\
                                  _=warn,hyper=warn,reqwest=warn,sled=warn,rustls=warn";

/// Installs the log for this process, writing in `format`. Called once, first thing in `main`;
/// a second call (only tests would make one) leaves the first in place.
pub fn init(format: LogFormat) {
    // A directive of RUST_LOG replaces the default's for the same target, and adds the others.
    let directives = match std::env::var("RUST_LOG") {
        Ok(adjust) if !adjust.trim().is_empty() => format!("{DEFAULT_FILTER},{adjust}"),
        _ => DEFAULT_FILTER.to_owned(),
    };
    let filter = EnvFilter::builder().parse_lossy(directives);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init` also routes the `log` crate's records into tracing (tracing-log).
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
