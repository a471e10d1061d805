//! The `ferrochain` binary: parses arguments, then runs a node, the mining benchmark, or the
//! command-line client (guided or one subcommand) from [`ferrochain::cli`].

use anyhow::{anyhow, Context};
use clap::{Args, CommandFactory, Parser, Subcommand};
use ferrochain::chain::{Amount, ChainParams, Difficulty, Height, Note, Retarget, Transaction};
use ferrochain::cli::{self, Action, Format, DEFAULT_NODE};
use ferrochain::mining::Miner;
use ferrochain::network::{load_peers_file, PeerUrl};
use ferrochain::node::{Node, NodeConfig};
use ferrochain::wallet::{self, Keystore};
use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "ferrochain",
    version,
    about = "A durable proof-of-work blockchain node",
    after_help = "With no command in a terminal, starts the guided CLI (`ferrochain cli`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node: the REST API, the miner, and sync with peers.
    Node(NodeArgs),
    /// Measure this machine's mining hash rate on one thread and on all of them.
    Bench(BenchArgs),
    /// The guided CLI: a menu to mine, view and verify the chain, and manage peers.
    Cli(GuidedArgs),
    #[command(flatten)]
    Client(ClientCommand),
    /// Print a shell completion script (e.g. `ferrochain completions bash > ~/.ferrochain.bash`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The scriptable client commands: one request to a node each, no prompts.
#[derive(Subcommand)]
enum ClientCommand {
    /// Mine a block on the node, with a live view of the search.
    Mine {
        /// A free-text transaction (1 to 256 bytes); repeat for several, none for an empty block.
        #[arg(long = "tx", value_name = "TEXT", value_parser = parse_note)]
        transactions: Vec<Transaction>,
        #[command(flatten)]
        target: Target,
    },
    /// Show blocks of the main chain as a table, newest first.
    Chain {
        /// Lowest height to show [default: the newest LIMIT blocks].
        #[arg(long, value_name = "H")]
        from: Option<u64>,
        /// Most blocks to show.
        #[arg(long, value_name = "N", default_value_t = 20,
              value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
        #[command(flatten)]
        target: Target,
    },
    /// Download the node's chain and verify every block here, with the node's own rules.
    Verify(Target),
    /// The node's height, tip, work, peers, mining and resource use.
    Status(Target),
    /// Have the node sync with its peers and adopt the heaviest valid chain.
    Resolve(Target),
    /// List the node's peers, or add one.
    Peers {
        #[command(subcommand)]
        action: Option<PeersAction>,
        #[command(flatten)]
        target: Target,
    },
    /// Wallets: keys kept in a keystore on this machine (never sent to a node).
    Wallet {
        #[command(subcommand)]
        action: WalletAction,
        /// The keystore directory.
        #[arg(long, value_name = "DIR", default_value = wallet::DEFAULT_DIR, global = true)]
        wallet_dir: PathBuf,
    },
    /// Sign a transfer with a wallet's key and submit it to the node.
    Send {
        /// The paying wallet.
        #[arg(long, value_name = "WALLET")]
        from: String,
        /// The recipient: an address (fc1...) or a wallet name in the keystore.
        #[arg(long, value_name = "ADDRESS|WALLET")]
        to: String,
        /// FER to send, up to 8 decimals (2, 0.5, ...).
        #[arg(long, value_name = "FER", value_parser = parse_positive_amount)]
        amount: Amount,
        /// FER paid to the miner; higher fees are mined first.
        #[arg(long, value_name = "FER", default_value = "0.00001")]
        fee: Amount,
        /// The keystore directory.
        #[arg(long, value_name = "DIR", default_value = wallet::DEFAULT_DIR)]
        wallet_dir: PathBuf,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
enum WalletAction {
    /// Create a wallet with a new key.
    New {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List the wallets in the keystore.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A wallet's address and, from the node, its balance and pending transfers.
    Show {
        name: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
enum PeersAction {
    /// Add peers to the node's list (kept in its store; each must be on the same chain).
    Add {
        /// A node's base URL, such as http://127.0.0.1:5001.
        #[arg(value_name = "URL", required = true, value_parser = parse_url)]
        urls: Vec<PeerUrl>,
    },
    /// Make the node ignore a known peer for a while: no relay, sync or discovery with it.
    Ban {
        #[arg(value_name = "URL", value_parser = parse_url)]
        url: PeerUrl,
        /// How long, in seconds (up to a year).
        #[arg(long, default_value_t = 86_400)]
        seconds: u64,
        /// Why, shown in the node's peer list.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a peer's ban (the operator's or one the node set).
    Unban {
        #[arg(value_name = "URL", value_parser = parse_url)]
        url: PeerUrl,
    },
}

#[derive(Args)]
struct GuidedArgs {
    #[command(flatten)]
    node: NodeArg,
    /// The keystore directory.
    #[arg(long, value_name = "DIR", default_value = wallet::DEFAULT_DIR)]
    wallet_dir: PathBuf,
}

#[derive(Args)]
struct NodeArg {
    /// The node's base URL.
    #[arg(long, value_name = "URL", default_value = DEFAULT_NODE, value_parser = parse_url)]
    node: PeerUrl,
}

#[derive(Args)]
struct Target {
    /// The node's base URL.
    #[arg(long, value_name = "URL", default_value = DEFAULT_NODE, value_parser = parse_url,
          global = true)]
    node: PeerUrl,
    /// Print the node's JSON answer instead of a table (errors too, as {"error", "message"}).
    #[arg(long, global = true)]
    json: bool,
}

impl Target {
    fn format(&self) -> Format {
        Format::of(self.json)
    }

    fn run(self, action: Action) -> ExitCode {
        let format = self.format();
        cli::run(self.node, format, action)
    }
}

fn parse_url(s: &str) -> Result<PeerUrl, String> {
    PeerUrl::parse(s).map_err(|e| e.to_string())
}

fn parse_positive_amount(s: &str) -> Result<Amount, String> {
    match s.parse::<Amount>() {
        Ok(a) if a == Amount::ZERO => Err("the amount must be more than 0".to_owned()),
        Ok(a) => Ok(a),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_note(s: &str) -> Result<Transaction, String> {
    Note::new(s)
        .map(Transaction::Note)
        .map_err(|e| e.to_string())
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
    /// It is only read, never rewritten.
    #[arg(long, value_name = "FILE", default_value = "data/nodes.json")]
    peers: PathBuf,
    /// A peer to start from, besides the peers file (repeat for several). One member of a
    /// network is enough: the node learns the others from it.
    #[arg(long = "peer", value_name = "URL", value_parser = parse_url)]
    peer: Vec<PeerUrl>,
    /// The URL this node announces to its peers [default: http://ADDR:PORT once it listens;
    /// none when listening on 0.0.0.0 or ::].
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    public_url: Option<PeerUrl>,
    #[command(flatten)]
    chain: ChainArgs,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    address: IpAddr,
    /// Mining threads [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Where block rewards go: an address (fc1...) or a wallet name in the keystore
    /// [default: the node's own key, created in the data directory as miner.key].
    #[arg(long, value_name = "ADDRESS|WALLET")]
    miner: Option<String>,
    /// The keystore `--miner` names a wallet in.
    #[arg(long, value_name = "DIR", default_value = wallet::DEFAULT_DIR)]
    wallet_dir: PathBuf,
}

/// The rules of a new chain. An existing chain keeps its own; asking for others is an error.
#[derive(Args)]
#[command(next_help_heading = "Chain rules (for a new chain)")]
struct ChainArgs {
    /// Leading zero bits the first blocks' hashes need; also the easiest the chain ever gets
    /// [default: 20].
    #[arg(long, value_name = "BITS")]
    difficulty: Option<Difficulty>,
    /// Blocks between difficulty adjustments; 0 keeps the difficulty fixed [default: 30].
    #[arg(long, value_name = "BLOCKS")]
    retarget_interval: Option<u32>,
    /// The time between blocks that adjustments aim for [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    block_time: Option<u64>,
    /// Most the difficulty moves at one adjustment, as a factor either way [default: 4].
    #[arg(long, value_name = "FACTOR")]
    retarget_step: Option<u32>,
}

impl ChainArgs {
    /// The parameters asked for, the defaults filling what was not; `None` if nothing was asked
    /// (an existing chain then keeps its own, a new one gets the defaults).
    fn params(&self) -> anyhow::Result<Option<ChainParams>> {
        let ChainArgs {
            difficulty,
            retarget_interval,
            block_time,
            retarget_step,
        } = *self;
        if difficulty.is_none()
            && retarget_interval.is_none()
            && block_time.is_none()
            && retarget_step.is_none()
        {
            return Ok(None);
        }
        let defaults = ChainParams::DEFAULT_RETARGET;
        let retarget = match retarget_interval.unwrap_or(defaults.interval()) {
            0 if block_time.is_some() || retarget_step.is_some() => {
                anyhow::bail!("--block-time and --retarget-step need retargeting on, not --retarget-interval 0")
            }
            0 => None,
            interval => Some(Retarget::new(
                interval,
                block_time.unwrap_or(defaults.block_time_ms()),
                retarget_step.unwrap_or(defaults.max_factor()),
            )?),
        };
        let difficulty = difficulty.unwrap_or(ChainParams::DEFAULT_DIFFICULTY);
        Ok(Some(ChainParams::new(difficulty).with_retarget(retarget)))
    }
}

/// Seconds, with up to three decimals, as milliseconds.
fn parse_seconds(s: &str) -> Result<u64, String> {
    let seconds: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s:?}"))?;
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 {
        return Err(format!(
            "a block time is more than 0 and at most 86400 seconds, got {s}"
        ));
    }
    Ok((seconds * 1000.0).round() as u64)
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
        Some(Command::Node(args)) => run_node(args),
        Some(Command::Bench(args)) => bench(args),
        Some(Command::Cli(GuidedArgs {
            node: NodeArg { node },
            wallet_dir,
        })) => return guided(node, &Keystore::new(wallet_dir)),
        Some(Command::Client(command)) => return run_client(command),
        Some(Command::Completions { shell }) => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "ferrochain", &mut out);
            return ExitCode::SUCCESS;
        }
        None if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() => {
            let node = PeerUrl::parse(DEFAULT_NODE).expect("a valid default URL");
            return guided(node, &Keystore::new(wallet::DEFAULT_DIR));
        }
        None => {
            // Nobody to prompt: a script that forgot its command gets the usage and a failure.
            eprintln!("{}", Cli::command().render_help());
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn guided(node: PeerUrl, keys: &Keystore) -> ExitCode {
    match cli::guided::run(&cli::Client::new(node), keys) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_client(command: ClientCommand) -> ExitCode {
    match command {
        ClientCommand::Mine {
            transactions,
            target,
        } => target.run(Action::Mine(transactions)),
        ClientCommand::Chain {
            from,
            limit,
            target,
        } => target.run(Action::Chain {
            from: from.map(Height::new),
            limit: limit.into(),
        }),
        ClientCommand::Verify(target) => target.run(Action::Verify),
        ClientCommand::Status(target) => target.run(Action::Status),
        ClientCommand::Resolve(target) => target.run(Action::Resolve),
        ClientCommand::Peers { action, target } => target.run(match action {
            None => Action::Peers,
            Some(PeersAction::Add { urls }) => Action::AddPeers(urls),
            Some(PeersAction::Ban {
                url,
                seconds,
                reason,
            }) => Action::BanPeer {
                peer: url,
                seconds,
                reason,
            },
            Some(PeersAction::Unban { url }) => Action::UnbanPeer(url),
        }),
        ClientCommand::Wallet { action, wallet_dir } => {
            let keys = Keystore::new(wallet_dir);
            match action {
                WalletAction::New { name, json } => {
                    let created = keys.create(&name).map(|w| {
                        let shown = match json {
                            true => serde_json::json!({ "name": w.name, "address": w.address })
                                .to_string(),
                            false => format!(
                                "created wallet {} with address {}\nits key is in {}",
                                w.name,
                                w.address,
                                keys.dir().display()
                            ),
                        };
                        println!("{shown}");
                    });
                    cli::finish(Format::of(json), created.map_err(Into::into))
                }
                WalletAction::List { json } => {
                    let listed = keys.list().map(|list| match json {
                        true => {
                            let docs: Vec<_> = list
                                .iter()
                                .map(|(name, address)| serde_json::json!({ "name": name, "address": address }))
                                .collect();
                            println!("{}", serde_json::json!({ "wallets": docs }));
                        }
                        false => println!("{}", cli::view::wallets(&list)),
                    });
                    cli::finish(Format::of(json), listed.map_err(Into::into))
                }
                WalletAction::Show { name, target } => match keys.load(&name) {
                    Ok(w) => target.run(Action::Account {
                        name: Some(w.name),
                        address: w.address,
                    }),
                    Err(e) => cli::finish(target.format(), Err(e.into())),
                },
            }
        }
        ClientCommand::Send {
            from,
            to,
            amount,
            fee,
            wallet_dir,
            target,
        } => {
            // Both ends are resolved before anything is signed: a mistyped address stops here.
            let keys = Keystore::new(wallet_dir);
            let resolved = keys
                .load(&from)
                .and_then(|wallet| Ok((wallet, keys.resolve(&to)?)));
            match resolved {
                Ok((wallet, to)) => target.run(Action::Send {
                    from: Arc::new(wallet),
                    to,
                    amount,
                    fee,
                }),
                Err(e) => cli::finish(target.format(), Err(e.into())),
            }
        }
    }
}

fn run_node(args: NodeArgs) -> anyhow::Result<()> {
    // Checked before anything touches the disk, so a bad flag leaves no empty chain behind.
    let params = args.chain.params()?;
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| PathBuf::from("data").join(args.port.to_string()));
    let peers = load_peers_file(&args.peers)?;
    std::fs::create_dir_all(&data_dir)
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
        mining_threads: args.threads,
        miner,
        ..NodeConfig::new(&data_dir)
    })?;
    let figment = ferrochain::api::figment()
        .merge(("address", args.address))
        .merge(("port", args.port));
    rocket::execute(ferrochain::api::serve(node, figment))
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
