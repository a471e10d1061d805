//! The `ferrochain` binary: parses arguments, then runs a node or the mining benchmark.

use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand};
use ferrochain::chain::{ChainParams, Difficulty};
use ferrochain::mining::Miner;
use ferrochain::network::load_peers_file;
use ferrochain::node::{Node, NodeConfig};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "ferrochain",
    version,
    about = "A durable proof-of-work blockchain node"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node: the REST API, the miner, and sync with peers.
    Node(NodeArgs),
    /// Measure this machine's mining hash rate on one thread and on all of them.
    Bench(BenchArgs),
}

#[derive(Args)]
struct NodeArgs {
    /// Port for the REST API (0 picks a free one and prints it).
    #[arg(default_value_t = 5000)]
    port: u16,
    /// Where the chain is stored [default: data/<PORT>].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Peers file, {"nodes": ["http://127.0.0.1:5001", ...]}; a missing file means no peers.
    #[arg(long, value_name = "FILE", default_value = "data/nodes.json")]
    peers: PathBuf,
    /// Leading zero bits every block hash needs, for a new chain [default: 20]. An existing chain
    /// keeps its own; asking for another is an error.
    #[arg(long, value_name = "BITS")]
    difficulty: Option<Difficulty>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    address: IpAddr,
    /// Mining threads [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

#[derive(Args)]
struct BenchArgs {
    /// Seconds to hash for each measurement.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Thread count for the multi-threaded run [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(
        "info,rocket=error,_=warn,hyper=warn,reqwest=warn,sled=warn,rustls=warn",
    ))
    .init();
    let result = match Cli::parse().command {
        Command::Node(args) => run_node(args),
        Command::Bench(args) => bench(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_node(args: NodeArgs) -> anyhow::Result<()> {
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| PathBuf::from("data").join(args.port.to_string()));
    let peers = load_peers_file(&args.peers)?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let node = Node::open(NodeConfig {
        params: args.difficulty.map(ChainParams::new),
        peers,
        mining_threads: args.threads,
        ..NodeConfig::new(&data_dir)
    })?;
    let figment = ferrochain::api::figment()
        .merge(("address", args.address))
        .merge(("port", args.port));
    rocket::execute(ferrochain::api::build(node, figment).launch())
        .map(drop)
        // Display marks Rocket's launch error as handled (unhandled ones panic on drop).
        .map_err(|e| anyhow!("cannot serve on {}:{}: {e}", args.address, args.port))
}

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.seconds.max(1));
    let all = args
        .threads
        .unwrap_or_else(rayon::current_num_threads)
        .max(1);
    println!("ferrochain mining benchmark: double SHA-256 of 96-byte headers, midstate reused");
    let mut counts = vec![1];
    if all > 1 {
        counts.push(all);
    }
    for threads in counts {
        let stats = Miner::new(Some(threads))?.benchmark(duration);
        println!(
            "{threads:>3} thread{}: {:>8.2} MH/s  ({} hashes in {:.2} s, CPU {:.0}%)",
            if threads == 1 { " " } else { "s" },
            stats.hash_rate / 1e6,
            stats.attempts,
            stats.elapsed_ms / 1000.0,
            stats.cpu_percent,
        );
    }
    Ok(())
}
