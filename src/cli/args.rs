//! The command line as clap types: every subcommand, flag, default and help text of the
//! `ferrochain` binary, the parsers of flag values, and how a client subcommand becomes an
//! [`Action`].
//!
//! Value parsers return typed errors (clap prints their message after the offending flag), so
//! an argument's rule is written once, here or in the type it parses into.

use super::{wallet, Action, Format, DEFAULT_NODE};
use crate::chain::{
    Amount, ChainParams, Difficulty, Height, Note, NoteError, ParseAmountError, Retarget,
    RetargetError, Transaction,
};
use crate::network::{PeerUrl, PeerUrlError};
use clap::{Args, Parser, Subcommand};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ferrochain",
    version,
    about = "A durable proof-of-work blockchain node",
    after_help = "With no command in a terminal, starts the guided CLI (`ferrochain cli`)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a node: the REST API, the miner, and sync with peers.
    Node(NodeArgs),
    /// Measure this machine's mining hash rate on one thread and on all of them.
    Bench(BenchArgs),
    /// The guided CLI: a menu to mine, view and verify the chain, and manage peers.
    Cli(GuidedArgs),
    #[command(flatten)]
    Client(ClientCommand),
    /// Manage the API token that opens a node's operator routes.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Print a shell completion script (e.g. `ferrochain completions bash > ~/.ferrochain.bash`).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// What `ferrochain token` does.
#[derive(Subcommand)]
pub enum TokenAction {
    /// Replace the token with a new one (a running node asks for the new one at once).
    Rotate {
        /// The node's data directory.
        #[arg(long, value_name = "DIR", default_value = "data/5000")]
        data_dir: PathBuf,
    },
}

/// The scriptable client commands: one request to a node each, no prompts.
#[derive(Subcommand)]
pub enum ClientCommand {
    /// Mine a block on the node, with a live view of the search.
    Mine {
        /// A free-text transaction (1 to 256 bytes); repeat for several, none for an empty block.
        #[arg(long = "tx", value_name = "TEXT", value_parser = parse_note)]
        transactions: Vec<Transaction>,
        #[command(flatten)]
        endpoint: Endpoint,
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
        endpoint: Endpoint,
    },
    /// Download the node's chain and verify every block here, with the node's own rules (or,
    /// with --local, verify a data directory's store offline).
    Verify {
        /// Check the store in this data directory itself, with no node running on it.
        #[arg(long, value_name = "DIR")]
        local: Option<PathBuf>,
        #[command(flatten)]
        endpoint: Endpoint,
    },
    /// The node's height, tip, work, peers, mining and resource use.
    Status(Endpoint),
    /// Print the node's events as they come: blocks joining the chain, reorganisations, the
    /// mempool and peers (with --json, each event's JSON on a line of its own).
    Watch {
        /// Stop after this many events [default: run until interrupted].
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
        #[command(flatten)]
        endpoint: Endpoint,
    },
    /// Have the node sync with its peers and adopt the heaviest valid chain.
    Resolve(Endpoint),
    /// List the node's peers, or add one.
    Peers {
        #[command(subcommand)]
        action: Option<PeersAction>,
        #[command(flatten)]
        endpoint: Endpoint,
    },
    /// Wallets: keys kept in a keystore on this machine (never sent to a node).
    Wallet {
        #[command(subcommand)]
        action: WalletAction,
        /// The keystore directory.
        #[arg(long, value_name = "DIR", default_value = crate::wallet::DEFAULT_DIR, global = true)]
        wallet_dir: PathBuf,
    },
    /// One block of the node's chain, by main-chain height or by hash (any branch).
    Block {
        /// The block's height on the main chain, or its hash.
        #[arg(value_name = "HEIGHT|HASH")]
        id: String,
        #[command(flatten)]
        endpoint: Endpoint,
    },
    /// One transaction by id: pending in the mempool, or mined (with its block and height).
    Tx {
        /// The transaction's id (64 hex digits).
        #[arg(value_name = "ID")]
        id: String,
        #[command(flatten)]
        endpoint: Endpoint,
    },
    /// An address's balance, pending transfers and latest history.
    Address {
        /// The address (fc1...), or the name of a wallet in the keystore.
        #[arg(value_name = "fc1...|WALLET")]
        address: String,
        /// The keystore directory, where a wallet's name is looked up.
        #[arg(long, value_name = "DIR", default_value = crate::wallet::DEFAULT_DIR)]
        wallet_dir: PathBuf,
        #[command(flatten)]
        endpoint: Endpoint,
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
        #[arg(long, value_name = "FER", value_parser = parse_positive_amount,
              allow_negative_numbers = true)]
        amount: Amount,
        /// FER paid to the miner; higher fees are mined first.
        #[arg(long, value_name = "FER", default_value_t = super::commands::DEFAULT_FEE,
              value_parser = parse_fee, allow_negative_numbers = true)]
        fee: Amount,
        /// The keystore directory.
        #[arg(long, value_name = "DIR", default_value = crate::wallet::DEFAULT_DIR)]
        wallet_dir: PathBuf,
        #[command(flatten)]
        passphrase: PassphraseArgs,
        #[command(flatten)]
        endpoint: Endpoint,
    },
}

/// Where the passphrase of an encrypted wallet comes from when a command needs its key: this
/// file, else the FERROCHAIN_PASSPHRASE variable, else a prompt on the terminal.
#[derive(Args, Clone, Default)]
pub struct PassphraseArgs {
    /// Read the wallet's passphrase from the first line of this file instead of asking
    /// (FERROCHAIN_PASSPHRASE=... also gives it).
    #[arg(long, value_name = "FILE", global = true)]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum WalletAction {
    /// Create a wallet with a new key.
    New {
        /// The wallet's name: 1 to 32 letters, digits, - or _.
        name: String,
        /// Print the wallet's recovery phrase (24 words that rebuild its key): write it down.
        #[arg(long)]
        phrase: bool,
        /// Encrypt the key file with a passphrase (asked twice, or --passphrase-file).
        #[arg(long)]
        encrypt: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
        /// Print the new wallet as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild a wallet from its recovery phrase (asked for, or read from standard input).
    Recover {
        /// The name to keep the rebuilt wallet under.
        name: String,
        /// Encrypt the rebuilt key file with a passphrase.
        #[arg(long)]
        encrypt: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
        /// Print the rebuilt wallet as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Encrypt a wallet's key file, kept in the clear until now, with a passphrase.
    Encrypt {
        /// The wallet's name.
        name: String,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Copy a wallet's key file (encrypted or not, as it is) to FILE, for a backup.
    Export {
        /// The wallet's name.
        name: String,
        /// Where to write the copy.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Add the wallet in a key file (one `wallet export` wrote) to the keystore.
    Import {
        /// The key file to add.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The name to keep it under [default: the name in the file].
        #[arg(long)]
        name: Option<String>,
    },
    /// List the wallets in the keystore, with their balances if the node answers.
    List {
        #[command(flatten)]
        endpoint: Endpoint,
    },
    /// A wallet's transfers and rewards, newest first, with height and confirmations.
    History {
        /// The wallet's name.
        name: String,
        /// Most entries to show (the node gives at most 500 at once).
        #[arg(long, value_name = "N", default_value_t = super::commands::HISTORY_ENTRIES)]
        limit: usize,
        /// Show entries older than this position (the `next` of an earlier page, such as 12-1).
        #[arg(long, value_name = "POSITION")]
        before: Option<crate::chain::TxPosition>,
        #[command(flatten)]
        endpoint: Endpoint,
    },
    /// A wallet's address and, from the node, its balance and pending transfers.
    Show {
        /// The wallet's name.
        name: String,
        #[command(flatten)]
        endpoint: Endpoint,
    },
}

#[derive(Subcommand)]
pub enum PeersAction {
    /// Add peers to the node's list (kept in its store; each must be on the same chain).
    Add {
        /// A node's base URL, such as http://127.0.0.1:5001.
        #[arg(value_name = "URL", required = true, value_parser = PeerUrl::parse)]
        urls: Vec<PeerUrl>,
    },
    /// Make the node ignore a known peer for a while: no relay, sync or discovery with it.
    Ban {
        /// The peer's base URL.
        #[arg(value_name = "URL", value_parser = PeerUrl::parse)]
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
        /// The peer's base URL.
        #[arg(value_name = "URL", value_parser = PeerUrl::parse)]
        url: PeerUrl,
    },
}

#[derive(Args)]
pub struct GuidedArgs {
    #[command(flatten)]
    pub node: NodeArg,
    /// The keystore directory.
    #[arg(long, value_name = "DIR", default_value = crate::wallet::DEFAULT_DIR)]
    pub wallet_dir: PathBuf,
}

#[derive(Args)]
pub struct NodeArg {
    /// The node: a URL, HOST:PORT or a port on this machine.
    #[arg(long, value_name = "URL", default_value = DEFAULT_NODE, value_parser = parse_node)]
    pub node: PeerUrl,
    /// The node's API token, for the operator's routes [default: read from data/<PORT>/api.token
    /// for a node on this machine].
    #[arg(
        long,
        value_name = "TOKEN",
        env = "FERROCHAIN_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

/// Where a client subcommand sends its request (`--node`) and how it prints the answer
/// (`--json`).
#[derive(Args)]
pub struct Endpoint {
    /// The node: a URL, HOST:PORT or a port on this machine.
    #[arg(long, value_name = "URL", default_value = DEFAULT_NODE, value_parser = parse_node,
          global = true)]
    pub node: PeerUrl,
    /// Print the node's JSON answer instead of a table (errors too, as {"error", "message"}).
    #[arg(long, global = true)]
    pub json: bool,
    /// The node's API token, for the operator's routes (mine, resolve, bans) [default: read from
    /// data/<PORT>/api.token for a node on this machine].
    #[arg(
        long,
        value_name = "TOKEN",
        env = "FERROCHAIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub token: Option<String>,
}

impl Endpoint {
    pub fn format(&self) -> Format {
        Format::of(self.json)
    }

    /// Runs `action` against this node and reports how it went as an exit status.
    pub fn run(self, action: Action) -> ExitCode {
        let format = self.format();
        super::run(super::Client::new(self.node, self.token), format, action)
    }
}

impl ClientCommand {
    /// Runs the subcommand: one request to the node (wallet commands may make none), and the
    /// exit status saying how it went.
    pub fn run(self) -> ExitCode {
        match self {
            ClientCommand::Mine {
                transactions,
                endpoint,
            } => endpoint.run(Action::Mine(transactions)),
            ClientCommand::Chain {
                from,
                limit,
                endpoint,
            } => endpoint.run(Action::Chain {
                from: from.map(Height::new),
                limit: limit.into(),
            }),
            ClientCommand::Verify {
                local: None,
                endpoint,
            } => endpoint.run(Action::Verify),
            ClientCommand::Verify {
                local: Some(dir),
                endpoint,
            } => endpoint.run(Action::VerifyLocal(dir)),
            ClientCommand::Status(endpoint) => endpoint.run(Action::Status),
            ClientCommand::Resolve(endpoint) => endpoint.run(Action::Resolve),
            ClientCommand::Watch { count, endpoint } => endpoint.run(Action::Watch { count }),
            ClientCommand::Peers { action, endpoint } => endpoint.run(match action {
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
            ClientCommand::Block { id, endpoint } => endpoint.run(Action::Block(id)),
            ClientCommand::Tx { id, endpoint } => endpoint.run(Action::Transaction(id)),
            ClientCommand::Address {
                address,
                wallet_dir,
                endpoint,
            } => endpoint.run(Action::Address {
                text: address,
                wallet_dir,
            }),
            ClientCommand::Wallet { action, wallet_dir } => wallet::run(action, wallet_dir),
            ClientCommand::Send {
                from,
                to,
                amount,
                fee,
                wallet_dir,
                passphrase,
                endpoint,
            } => wallet::send(wallet_dir, &from, &to, amount, fee, &passphrase, endpoint),
        }
    }
}

/// A `--amount` or `--fee` that no transfer can carry, refused before anything is signed.
#[derive(Debug, thiserror::Error)]
pub enum PositiveAmountError {
    #[error("the amount must be more than 0")]
    Zero,
    #[error("amounts cannot be negative, got {0}")]
    Negative(String),
    #[error(transparent)]
    Unparsable(#[from] ParseAmountError),
}

/// An amount of FER that may be 0 (a fee), but not negative.
fn parse_fee(s: &str) -> Result<Amount, PositiveAmountError> {
    if s.trim().starts_with('-') {
        return Err(PositiveAmountError::Negative(s.trim().to_owned()));
    }
    Ok(s.parse::<Amount>()?)
}

fn parse_positive_amount(s: &str) -> Result<Amount, PositiveAmountError> {
    match parse_fee(s)? {
        amount if amount == Amount::ZERO => Err(PositiveAmountError::Zero),
        amount => Ok(amount),
    }
}

/// A `--node` that names no node.
#[derive(Debug, thiserror::Error)]
pub enum NodeAddrError {
    #[error("port 0 names no node; give the port the node listens on")]
    PortZero,
    #[error(transparent)]
    Url(#[from] PeerUrlError),
}

/// A node's URL from what a user types: a URL (`http://10.0.0.5:5000`), `HOST:PORT`
/// (`10.0.0.5:5000`, `[::1]:5000`), or a bare port for a node on this machine (`5001`).
pub fn parse_node(s: &str) -> Result<PeerUrl, NodeAddrError> {
    let text = s.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u16>() {
            Ok(0) => Err(NodeAddrError::PortZero),
            Ok(port) => Ok(PeerUrl::parse(&format!("http://127.0.0.1:{port}"))?),
            Err(_) => Err(PeerUrlError::Unparsable {
                input: s.to_owned(),
                reason: "a port is at most 65535".to_owned(),
            }
            .into()),
        };
    }
    match text.contains("://") {
        true => Ok(PeerUrl::parse(text)?),
        false => Ok(PeerUrl::parse(&format!("http://{text}"))?),
    }
}

/// A kernel this CPU can run, so that a node asked for another fails before it starts.
fn parse_available_kernel(s: &str) -> Result<crate::mining::Kernel, crate::mining::KernelError> {
    s.parse::<crate::mining::Kernel>()?.validate_available()
}

/// A thread count: at least one (a miner with no threads would never find a block).
#[derive(Debug, thiserror::Error)]
pub enum ThreadsError {
    #[error("not a number of threads: {0:?}")]
    NotANumber(String),
    #[error("at least 1 thread is needed, got 0")]
    Zero,
}

fn parse_threads(s: &str) -> Result<usize, ThreadsError> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err(ThreadsError::Zero),
        Ok(n) => Ok(n),
        Err(_) => Err(ThreadsError::NotANumber(s.to_owned())),
    }
}

fn parse_note(s: &str) -> Result<Transaction, NoteError> {
    Note::new(s).map(Transaction::Note)
}

// The doc comments are the help text, where `<PORT>` is a placeholder, not HTML.
#[allow(rustdoc::invalid_html_tags)]
#[derive(Args)]
pub struct NodeArgs {
    /// Port for the REST API (0 picks a free one and prints it).
    #[arg(default_value_t = 5000)]
    pub port: u16,
    /// A configuration file: TOML whose keys are these options' names (`data-dir = "..."`)
    /// [default: ferrochain.toml in the data directory, if there is one].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the chain is stored [default: data/<PORT>].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Free disk space, in MiB, kept beside the store: a block that would leave less is
    /// refused (507) and the node takes blocks again once space is back.
    #[arg(long, value_name = "MIB", default_value_t = crate::storage::DEFAULT_RESERVE >> 20)]
    pub disk_reserve: u64,
    /// How log lines are written to standard error (RUST_LOG picks which are written).
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Address to listen on (0.0.0.0 for other machines).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1", help_heading = NETWORK)]
    pub address: IpAddr,
    /// The URL this node announces to its peers [default: http://ADDR:PORT once it listens;
    /// none when listening on 0.0.0.0 or ::].
    #[arg(long, value_name = "URL", value_parser = PeerUrl::parse, help_heading = NETWORK)]
    pub public_url: Option<PeerUrl>,
    /// Peers file, {"nodes": ["http://127.0.0.1:5001", ...]}; a missing file means no peers.
    /// It is only read, never rewritten.
    #[arg(long, value_name = "FILE", default_value = "data/nodes.json", help_heading = NETWORK)]
    pub peers: PathBuf,
    /// A peer to start from, besides the peers file (repeat for several, or separate them
    /// with commas). One member of a network is enough: the node learns the others from it.
    #[arg(long = "peer", value_name = "URL", value_parser = PeerUrl::parse, value_delimiter = ',',
          help_heading = NETWORK)]
    pub peer: Vec<PeerUrl>,
    /// Peers this node picks at most (from the peers file, --peer and what it learns); the
    /// operator's are always kept, even past it.
    #[arg(long, value_name = "N", default_value_t = crate::network::DEFAULT_MAX_PEERS,
          help_heading = NETWORK)]
    pub max_peers: usize,
    /// Usable peers the node needs before GET /health/ready answers 200.
    #[arg(long, value_name = "N", default_value_t = 0, help_heading = NETWORK)]
    pub min_peers: usize,
    /// Peers that registered themselves this node keeps at most, beside the ones it picks.
    #[arg(long, value_name = "N", default_value_t = crate::network::DEFAULT_MAX_INBOUND,
          help_heading = NETWORK)]
    pub max_inbound: usize,
    /// Send every request to peers through this HTTP proxy (proxy variables such as HTTP_PROXY
    /// are ignored).
    #[arg(long, value_name = "URL", help_heading = NETWORK)]
    pub proxy: Option<url::Url>,
    /// Ask for the API token (data directory/api.token) on the operator's routes (mining, bans,
    /// resolve) even on loopback; beyond loopback it is always asked for.
    #[arg(long, help_heading = NETWORK)]
    pub require_token: bool,
    /// Mining threads [default: one per core].
    #[arg(long, value_name = "N", value_parser = parse_threads, help_heading = MINING)]
    pub threads: Option<usize>,
    /// Mining kernel: sha-ni, avx512, avx2 or portable; refused if this CPU cannot run it
    /// [default: the fastest this CPU offers; `ferrochain bench` lists them].
    #[arg(long, value_name = "NAME", value_parser = parse_available_kernel,
          help_heading = MINING)]
    pub kernel: Option<crate::mining::Kernel>,
    /// Where block rewards go: an address (fc1...) or a wallet name in the keystore
    /// [default: the node's own key, created in the data directory as miner.key].
    #[arg(long, value_name = "ADDRESS|WALLET", help_heading = MINING)]
    pub miner: Option<String>,
    /// The keystore `--miner` names a wallet in.
    #[arg(long, value_name = "DIR", default_value = crate::wallet::DEFAULT_DIR,
          help_heading = MINING)]
    pub wallet_dir: PathBuf,
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// The help heading of a node's network options.
const NETWORK: &str = "Network";
/// The help heading of a node's mining options.
const MINING: &str = "Mining";

/// How the node writes its log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The rules of a new chain. An existing chain keeps its own; asking for others is an error.
#[derive(Args)]
#[command(next_help_heading = "Chain rules (for a new chain)")]
pub struct ChainArgs {
    /// Leading zero bits the first blocks' hashes need; also the easiest the chain ever gets
    /// [default: 20].
    #[arg(long, value_name = "BITS")]
    pub difficulty: Option<Difficulty>,
    /// Blocks between difficulty adjustments; 0 keeps the difficulty fixed [default: 30].
    #[arg(long, value_name = "BLOCKS")]
    pub retarget_interval: Option<u32>,
    /// The time between blocks that adjustments aim for [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub block_time: Option<u64>,
    /// Most the difficulty moves at one adjustment, as a factor either way [default: 4].
    #[arg(long, value_name = "FACTOR")]
    pub retarget_step: Option<u32>,
}

/// Chain-rule flags that do not make a chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainArgsError {
    #[error("--block-time and --retarget-step need retargeting on, not --retarget-interval 0")]
    RetargetOff,
    #[error(transparent)]
    Retarget(#[from] RetargetError),
}

impl ChainArgs {
    /// The parameters asked for, the defaults filling what was not; `None` if nothing was asked
    /// (an existing chain then keeps its own, a new one gets the defaults).
    pub fn params(&self) -> Result<Option<ChainParams>, ChainArgsError> {
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
                return Err(ChainArgsError::RetargetOff)
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

/// A `--block-time` that is not a time between blocks.
#[derive(Debug, thiserror::Error)]
pub enum BlockTimeError {
    #[error("not a number of seconds: {0:?}")]
    NotANumber(String),
    #[error("a block time is more than 0 and at most 86400 seconds, got {0}")]
    OutOfRange(String),
}

/// Seconds, with up to three decimals, as milliseconds.
fn parse_seconds(s: &str) -> Result<u64, BlockTimeError> {
    let seconds: f64 = s
        .parse()
        .map_err(|_| BlockTimeError::NotANumber(s.to_owned()))?;
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 {
        return Err(BlockTimeError::OutOfRange(s.to_owned()));
    }
    Ok((seconds * 1000.0).round() as u64)
}

#[derive(Args)]
pub struct BenchArgs {
    /// Seconds to hash for each measurement (1 to 3600).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,
    /// Thread count for the multi-threaded run [default: one per core].
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Mining kernel to measure: sha-ni, avx512, avx2 or portable [default: the fastest this
    /// CPU offers; the benchmark lists them].
    #[arg(long, value_name = "NAME")]
    pub kernel: Option<crate::mining::Kernel>,
    /// Print the figures as one JSON document.
    #[arg(long)]
    pub json: bool,
}
