//! The `node` subcommand: a node assembled from its arguments (chain rules, data directory,
//! peers, miner) and served over the REST API until it stops.

use super::args::NodeArgs;
use super::config;
use crate::files;
use crate::network::load_peers_file;
use crate::node::{Node, NodeConfig};
use crate::wallet::Keystore;
use anyhow::{anyhow, Context};
use std::path::Path;

/// Opens the node `args` describe and serves it on `args.address`:`args.port` until shutdown.
///
/// A start that fails changes nothing on disk: every argument is checked and the port bound
/// before the data directory is created, and a directory this start created is removed again
/// if the node cannot open in it.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    let params = args.chain.params()?;
    let data_dir = config::data_dir(args.data_dir.as_deref(), args.port);
    let peers = load_peers_file(&args.peers)?;
    let miner = match &args.miner {
        Some(m) => Some(Keystore::new(&args.wallet_dir).resolve(m)?),
        None => None,
    };
    // Everything the node creates from here on is its owner's alone, whatever the umask.
    files::restrict_umask();
    if let Some(limit) = files::raise_open_file_limit() {
        tracing::info!("open files: up to {limit} (connections each take one)");
    }
    let figment = crate::api::figment()
        .merge(("address", args.address))
        .merge(("port", args.port))
        .merge(("require_token", args.require_token));
    let config = NodeConfig {
        params,
        peers,
        flag_peers: args.peer,
        public_url: args.public_url,
        proxy: args.proxy,
        max_peers: args.max_peers,
        max_inbound: args.max_inbound,
        mining_threads: args.threads,
        mining_kernel: args.kernel,
        miner,
        disk_reserve: args.disk_reserve << 20,
        min_peers: args.min_peers,
        ..NodeConfig::new(&data_dir)
    };
    rocket::execute(async move {
        let listener = crate::api::bind(&figment).await?;
        let node = tokio::task::spawn_blocking(move || open(config)).await??;
        crate::api::serve_on(node, figment, listener).await
    })
}

/// Creates the data directory and opens the node in it; if that fails, removes what it created.
fn open(config: NodeConfig) -> anyhow::Result<Node> {
    let dir = config.data_dir.clone();
    // The outermost directory that does not exist yet: what this start would leave behind.
    let created = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .last()
        .map(Path::to_owned);
    files::private_dir(&dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    Node::open(config).map_err(|e| {
        if let Some(created) = &created {
            if let Err(cleanup) = std::fs::remove_dir_all(created) {
                tracing::warn!("cannot remove {}: {cleanup}", created.display());
            }
        }
        anyhow::Error::from(e)
    })
}

/// `ferrochain token rotate`: a new token in `data_dir`, which a running node asks for at once.
pub fn rotate_token(data_dir: &std::path::Path) -> anyhow::Result<()> {
    if !data_dir.is_dir() {
        return Err(anyhow!(
            "{} is not a node's data directory (give --data-dir)",
            data_dir.display()
        ));
    }
    let path = crate::token::ApiToken::rotate(data_dir)?;
    println!("new API token written to {}", path.display());
    Ok(())
}
