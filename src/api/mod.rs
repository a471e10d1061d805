//! The REST API, served by Rocket: a thin edge that turns HTTP into [`Node`] calls. Every body
//! it reads or answers with is a type of [`crate::network::message`], where the peer client and
//! the CLI find the same ones.
//!
//! Building the `Rocket` is separate from launching it, so tests drive the same routes through
//! Rocket's local client. A real server is [`ignite`]d: its [`gate`] takes the public address
//! and Rocket listens behind it on loopback; real-socket tests launch it on port 0.

mod access;
mod body;
mod chain;
mod conduct;
mod error;
mod gate;
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
pub use gate::{Gate, DEFAULT_HEAD_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
pub use transactions::{DEFAULT_HISTORY_PAGE, MAX_HISTORY_PAGE};

use crate::chain::Block;
use crate::node::Node;
use anyhow::{anyhow, Context};
use rocket::data::{Limits, ToByteUnit};
use rocket::fairing::AdHoc;
use rocket::figment::providers::{Env, Format, Toml};
use rocket::figment::{Figment, Profile};
use rocket::{Build, Ignite, Rocket};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

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
pub async fn serve(node: Node, figment: Figment) -> anyhow::Result<()> {
    let server = ignite(node.clone(), figment).await?;
    let shutdown = server.shutdown();
    let running = tokio::spawn(node.run(shutdown.clone()));
    let served = server.launch().await;
    // A launch that failed before liftoff never triggers the shutdown the node waits for.
    shutdown.notify();
    if let Err(e) = running.await {
        log::error!("the node's background work ended abnormally: {e}");
    }
    served
}

/// A server ready to launch: its gate listening on the public address, Rocket ignited behind it.
pub struct Server {
    rocket: Rocket<Ignite>,
    gate: Arc<Gate>,
    listener: tokio::net::TcpListener,
}

impl Server {
    /// The address clients connect to (with the port chosen, if port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.gate.public_addr()
    }

    pub fn shutdown(&self) -> rocket::Shutdown {
        self.rocket.shutdown()
    }

    /// Serves until shutdown.
    pub async fn launch(self) -> anyhow::Result<()> {
        let accepting = tokio::spawn(self.gate.run(self.listener, self.rocket.shutdown()));
        // Display marks Rocket's launch error as handled (unhandled ones panic on drop).
        let served = self.rocket.launch().await.map_err(|e| anyhow!("{e}"));
        accepting.await.context("the gate ended abnormally")?;
        served.map(drop)
    }
}

/// Binds the public address `figment` names, and ignites the API for `node` behind it.
pub async fn ignite(node: Node, figment: Figment) -> anyhow::Result<Server> {
    let config: rocket::Config = figment.extract().context("bad server configuration")?;
    let node_settings: settings::Settings =
        figment.extract().context("bad server configuration")?;
    let public = SocketAddr::new(config.address, config.port);
    let listener = tokio::net::TcpListener::bind(public)
        .await
        .with_context(|| format!("cannot listen on {public}"))?;
    let limits = gate::Limits::new(&node_settings, crate::files::open_file_limit());
    let gate = Arc::new(Gate::new(listener.local_addr()?, limits));
    let behind = figment
        .merge(("address", Ipv4Addr::LOCALHOST))
        .merge(("port", 0));
    let rocket = build(node, behind)
        .manage(gate.clone())
        .ignite()
        .await
        .map_err(|e| anyhow!("{e}"))?;
    Ok(Server {
        rocket,
        gate,
        listener,
    })
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
                let behind = SocketAddr::new(config.address, config.port);
                let addr = match rocket.state::<Arc<Gate>>() {
                    Some(gate) => {
                        gate.set_upstream(behind);
                        gate.public_addr()
                    }
                    None => behind,
                };
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
