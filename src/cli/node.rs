//! The `node` subcommand: a node assembled from its arguments (chain rules, data directory,
//! peers, miner) and served over the REST API until it stops.

use super::args::NodeArgs;
use crate::files;
use crate::network::load_peers_file;
use crate::node::{Node, NodeConfig};
use crate::wallet::Keystore;
use anyhow::{anyhow, Context};
use std::path::PathBuf;

/// Opens the node `args` describe and serves it on `args.address`:`args.port` until shutdown.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    // Checked before anything touches the disk, so a bad flag leaves no empty chain behind.
    let params = args.chain.params()?;
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| PathBuf::from("data").join(args.port.to_string()));
    let peers = load_peers_file(&args.peers)?;
    // Everything the node creates from here on is its owner's alone, whatever the umask.
    files::restrict_umask();
    if let Some(limit) = files::raise_open_file_limit() {
        log::info!("open files: up to {limit} (connections each take one)");
    }
    files::private_dir(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let miner = match &args.miner {
        Some(m) => Some(Keystore::new(&args.wallet_dir).resolve(m)?),
        None => None,
    };
    let node = Node::open(NodeConfig {
        params,
        peers,
        flag_peers: args.peer,
        public_url: args.public_url,
        proxy: args.proxy,
        max_peers: args.max_peers,
        max_inbound: args.max_inbound,
        mining_threads: args.threads,
        miner,
        disk_reserve: args.disk_reserve << 20,
        ..NodeConfig::new(&data_dir)
    })?;
    let figment = crate::api::figment()
        .merge(("address", args.address))
        .merge(("port", args.port))
        .merge(("require_token", args.require_token));
    rocket::execute(crate::api::serve(node, figment))
        .with_context(|| format!("cannot serve on {}:{}", args.address, args.port))
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
