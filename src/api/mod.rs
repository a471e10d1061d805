//! The REST API, served by Rocket: a thin edge that turns HTTP into [`Node`] calls. Every body
//! it reads or answers with is a type of [`crate::network::message`], where the peer client and
//! the CLI find the same ones.
//!
//! Building the `Rocket` is separate from launching it, so tests drive the same routes through
//! Rocket's local client, and real-socket tests launch it on port 0.

mod access;
mod body;
mod chain;
mod conduct;
mod error;
mod intake;
mod mine;
mod nodes;
mod sender;
mod settings;
mod site;
mod transactions;

pub use access::Access;
pub use chain::{MAX_PAGE, PAGE_BYTES};
pub use error::ApiError;

use crate::chain::Block;
use crate::node::Node;
use rocket::data::{Limits, ToByteUnit};
use rocket::fairing::AdHoc;
use rocket::figment::providers::{Env, Format, Toml};
use rocket::figment::{Figment, Profile};
use rocket::{Build, Rocket};
use std::net::SocketAddr;

/// Largest JSON body of a valid block: every byte of a maximal block's entries escaped as
/// `\u00XX` (six characters), plus the header fields.
pub const MAX_BLOCK_JSON: usize = 6 * Block::MAX_BYTES + 4096;
/// Largest body of every other JSON route (registrations, bans, locators), `json` in Rocket's
/// limits.
pub const SMALL_JSON: usize = 64 * 1024;

/// The node's Rocket configuration: built-in defaults, then `Rocket.toml` (if the working
/// directory has one, or `ROCKET_CONFIG` names one), then `ROCKET_*` variables. The built-ins
/// match the shipped `Rocket.toml`, so a node started elsewhere behaves the same.
pub fn figment() -> Figment {
    let defaults = rocket::Config {
        limits: Limits::default()
            .limit("block", MAX_BLOCK_JSON.bytes())
            .limit("json", SMALL_JSON.bytes()),
        ident: rocket::config::Ident::try_new("ferrochain").expect("a valid server name"),
        ..rocket::Config::default()
    };
    Figment::from(defaults)
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .select(Profile::from_env_or(
            "ROCKET_PROFILE",
            rocket::Config::DEFAULT_PROFILE,
        ))
}

/// Serves `node`'s API, configured by `figment`, and runs the node beside it until the server
/// shuts down (Ctrl-C, or a failed launch); then the node's background work ends too.
pub async fn serve(node: Node, figment: Figment) -> Result<(), rocket::Error> {
    let rocket = build(node.clone(), figment).ignite().await?;
    let shutdown = rocket.shutdown();
    let running = tokio::spawn(node.run(shutdown.clone()));
    let served = rocket.launch().await;
    // A launch that failed before liftoff never triggers the shutdown the node waits for.
    shutdown.notify();
    if let Err(e) = running.await {
        log::error!("the node's background work ended abnormally: {e}");
    }
    served.map(drop)
}

/// The API for `node`, configured by `figment`, ready to launch. The node's background work
/// is not started: see [`serve`], or call [`Node::run`] beside the launch.
pub fn build(node: Node, figment: Figment) -> Rocket<Build> {
    let token_file = node.token_file().to_owned();
    rocket::custom(figment)
        .attach(AdHoc::config::<settings::Settings>())
        .attach(access::fairing(token_file))
        .manage(intake::LargeBodies::default())
        .manage(conduct::Conduct::new())
        .attach(conduct::Scoring)
        .manage(node)
        .mount("/", chain::routes())
        .mount("/", mine::routes())
        .mount("/", nodes::routes())
        .mount("/", transactions::routes())
        .mount("/", site::routes())
        .attach(site::SameSite)
        .register("/", rocket::catchers![error::default_catcher])
        .attach(AdHoc::on_liftoff("announce", |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                let addr = SocketAddr::new(config.address, config.port);
                if let Some(node) = rocket.state::<Node>() {
                    node.peers().set_local_addr(addr);
                    let tip = node.tip();
                    // Scripts and tests read this line to learn the port when started on port 0.
                    println!(
                        "ferrochain node listening on http://{addr} (height {}, tip {}, {} peers)",
                        tip.height,
                        tip.hash.short(),
                        node.peers().list().len()
                    );
                }
            })
        }))
}
