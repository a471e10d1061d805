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
mod events;
mod explorer;
mod gate;
mod health;
mod intake;
mod metrics;
mod mine;
mod nodes;
mod openapi;
mod sender;
mod settings;
mod site;
mod transactions;

pub use access::Access;
pub use chain::{MAX_PAGE, PAGE_BYTES};
pub use error::ApiError;
pub use gate::{Gate, DEFAULT_HEAD_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
pub use openapi::{document as openapi_document, UNDESCRIBED};
pub use transactions::{DEFAULT_HISTORY_PAGE, MAX_HISTORY_PAGE};

use crate::chain::Block;
use crate::node::Node;
use anyhow::{anyhow, Context};
use rocket::data::{Limits, ToByteUnit};
use rocket::fairing::AdHoc;
use rocket::figment::providers::{Env, Format, Toml};
use rocket::figment::{Figment, Profile};
use rocket::{Build, Ignite, Rocket};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Largest JSON body of a valid block: every byte of a maximal block's entries escaped as
/// `\u00XX` (six characters), plus the header fields.
pub const MAX_BLOCK_JSON: usize = 6 * Block::MAX_BYTES + 4096;
/// How long a stopping server waits for the connections still open to be answered and closed
/// before it stops Rocket (which then closes what is left).
const DRAIN: std::time::Duration = std::time::Duration::from_secs(3);
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

/// Serves `node`'s API, configured by `figment`, and runs the node beside it until SIGINT or
/// SIGTERM (or a failed launch); then the node's background work ends too.
pub async fn serve(node: Node, figment: Figment) -> anyhow::Result<()> {
    let listener = bind(&figment).await?;
    serve_on(node, figment, listener).await
}

/// [`serve`] on a listener already bound (see [`bind`]).
///
/// The node stops in order, at once: a signal stops the search and the other background work
/// (a waiting `POST /mine` is answered 503 `shutting_down`), the gate takes no new connection
/// and closes each one once it is answered, and Rocket stops when none is left, so the process
/// ends within moments of the signal at any difficulty, with every block flushed.
pub async fn serve_on(
    node: Node,
    figment: Figment,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<()> {
    // The signals are the node's to handle, in the order above (Rocket, launched in the
    // process rather than on a socket of its own, listens for none).
    let server = ignite_on(node.clone(), figment, listener).await?;
    let stopping = server.stopping();
    tokio::spawn(stop_on_signal(stopping.clone()));
    let running = tokio::spawn(node.clone().run(stopping.clone().cancelled_owned()));
    let served = server.launch().await;
    // A launch that failed before liftoff never had a signal to stop the node.
    stopping.cancel();
    if let Err(e) = running.await {
        tracing::error!("the node's background work ended abnormally: {e}");
    }
    let tip = node.tip();
    match &served {
        Ok(()) => tracing::info!(height = tip.height.get(), tip = %tip.hash, "node stopped"),
        Err(e) => tracing::error!(height = tip.height.get(), "node stopped: {e:#}"),
    }
    served
}

/// Cancels `stopping` at the first SIGINT or SIGTERM.
async fn stop_on_signal(stopping: CancellationToken) {
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => drop(term.recv().await),
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    let signal = tokio::select! {
        _ = stopping.cancelled() => return,
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = terminate => "SIGTERM",
    };
    tracing::info!("{signal} received: stopping");
    stopping.cancel();
}

/// A server ready to launch: its gate listening on the public address, Rocket ignited to
/// serve its requests.
pub struct Server {
    rocket: Rocket<Ignite>,
    gate: Arc<Gate>,
    listener: tokio::net::TcpListener,
    bodies: intake::BodyBounds,
    stopping: CancellationToken,
}

impl Server {
    /// The address clients connect to (with the port chosen, if port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.gate.public_addr()
    }

    /// Rocket's own shutdown: notifying it stops the server as [`Server::stopping`] does.
    pub fn shutdown(&self) -> rocket::Shutdown {
        self.rocket.shutdown()
    }

    /// The orderly stop: cancelling it stops the gate, lets every connection that waits for an
    /// answer get it, and then shuts Rocket down (ending the event streams).
    pub fn stopping(&self) -> CancellationToken {
        self.stopping.clone()
    }

    /// Serves until shutdown.
    pub async fn launch(self) -> anyhow::Result<()> {
        let Server {
            rocket,
            gate,
            listener,
            bodies,
            stopping,
        } = self;
        // Rocket shut down directly stops the gate too.
        let (rocket_shutdown, stop) = (rocket.shutdown(), stopping.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = rocket_shutdown => stop.cancel(),
                _ = stop.cancelled() => {}
            }
        });
        // Rocket launches in this process, serving the gate's connections; its liftoff
        // announces the node. Display marks its error as handled (unhandled ones panic on drop).
        let client = rocket::local::asynchronous::Client::untracked(rocket)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let dispatch = Arc::new(gate::Dispatch::new(client, bodies));
        let accepting = tokio::spawn(gate.clone().run(listener, dispatch.clone(), stopping));
        accepting.await.context("the gate ended abnormally")?;
        // Every connection waiting for its answer gets it before the process ends.
        drain(&gate).await;
        dispatch.rocket().shutdown().notify();
        Ok(())
    }
}

/// Completes once every connection through `gate` has closed, or after [`DRAIN`].
async fn drain(gate: &Gate) {
    let drained = async {
        while gate.open() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    let _ = tokio::time::timeout(DRAIN, drained).await;
}

/// Binds the public address `figment` names, and ignites the API for `node` behind it.
pub async fn ignite(node: Node, figment: Figment) -> anyhow::Result<Server> {
    let listener = bind(&figment).await?;
    ignite_on(node, figment, listener).await
}

/// Binds the public address `figment` names: the first step of a start, taken before anything
/// is created on disk, so a port in use fails a start that has changed nothing.
pub async fn bind(figment: &Figment) -> anyhow::Result<tokio::net::TcpListener> {
    let config: rocket::Config = figment.extract().context("bad server configuration")?;
    let public = SocketAddr::new(config.address, config.port);
    tokio::net::TcpListener::bind(public)
        .await
        .with_context(|| format!("cannot listen on {public}"))
}

/// Ignites the API for `node` behind a gate accepting on `listener`.
pub async fn ignite_on(
    node: Node,
    figment: Figment,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<Server> {
    let node_settings: settings::Settings =
        figment.extract().context("bad server configuration")?;
    let limits = gate::Limits::new(&node_settings, crate::files::open_file_limit());
    let gate = Arc::new(Gate::new(listener.local_addr()?, limits));
    let rocket = build(node, figment)
        .manage(gate.clone())
        .ignite()
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let bodies = intake::BodyBounds::new(rocket.config(), &node_settings);
    Ok(Server {
        rocket,
        gate,
        listener,
        bodies,
        stopping: CancellationToken::new(),
    })
}

/// The API for `node`, configured by `figment`, ready to launch. The node's background work
/// is not started: see [`serve`], or call [`Node::run`] beside the launch.
pub fn build(node: Node, figment: Figment) -> Rocket<Build> {
    let token_file = node.token_file().to_owned();
    rocket::custom(figment)
        .attach(AdHoc::config::<settings::Settings>())
        .attach(access::fairing(token_file))
        .manage(conduct::Conduct::new())
        .attach(conduct::Scoring)
        .manage(node)
        .attach(metrics::HttpMetrics)
        .mount("/", chain::routes())
        .mount("/", events::routes())
        .mount("/", health::routes())
        .mount("/", metrics::routes())
        .mount("/", mine::routes())
        .mount("/", nodes::routes())
        .mount("/", transactions::routes())
        .mount("/", site::routes())
        .mount("/", explorer::routes())
        .mount("/", openapi::routes())
        .attach(site::SameSite)
        .register("/", rocket::catchers![error::default_catcher])
        .attach(AdHoc::on_liftoff("announce", |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                let addr = match rocket.state::<Arc<Gate>>() {
                    Some(gate) => gate.public_addr(),
                    None => SocketAddr::new(config.address, config.port),
                };
                if let Some(node) = rocket.state::<Node>() {
                    node.peers().set_local_addr(addr);
                    started(node, addr);
                }
            })
        }))
        .attach(AdHoc::on_response("failures and closing", |req, res| {
            Box::pin(async move {
                // Rocket's own per-request notes are not logged (a 404 is the client's
                // business); an internal failure is, whatever produced it.
                if res.status() == rocket::http::Status::InternalServerError {
                    tracing::error!(
                        method = %req.method(),
                        uri = %req.uri(),
                        "answered 500 internal error"
                    );
                }
                // A stopping server closes each connection once it is answered.
                if req
                    .rocket()
                    .state::<Arc<Gate>>()
                    .is_some_and(|g| g.is_stopping())
                {
                    res.set_raw_header("Connection", "close");
                }
            })
        }))
}

/// Says the node is up: the line scripts read, and the start summary in the log.
fn started(node: &Node, addr: SocketAddr) {
    let tip = node.tip();
    let peers = node.peers().list();
    // Scripts and tests read this line to learn the port when started on port 0.
    println!(
        "ferrochain node listening on http://{addr} (height {}, tip {}, {} peers)",
        tip.height,
        tip.hash.short(),
        peers.len()
    );
    let data_dir = std::path::absolute(node.data_dir()).unwrap_or_else(|_| node.data_dir().into());
    let public_url = node.peers().public_url();
    tracing::info!(
        data_dir = %data_dir.display(),
        rules = %node.params(),
        miner = %node.mining().address(),
        listen = %format_args!("http://{addr}"),
        public_url = %public_url.as_ref().map_or("none".to_owned(), ToString::to_string),
        peers = %peers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        height = tip.height.get(),
        tip = %tip.hash,
        "node started"
    );
}
