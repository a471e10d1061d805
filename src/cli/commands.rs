//! The scriptable subcommands: one [`Action`], no prompts, one document on stdout.
//!
//! Human output is the tables of [`view`]; `--json` output is exactly the JSON the node sent
//! (for `verify`, a [`Verification`] in the shape of the node's `GET /chain/verify`). A failure
//! is one line on stderr and exit status 1; under `--json`, stdout also gets one error document:
//! the node's own `{"error", "message"}` when it refused, or the same shape made here.

use super::client::{Answer, Client, ClientError};
use super::verify::{self, VerifyError};
use super::{mine, view};
use crate::chain::{Address, AddressError, Amount};
use crate::chain::{Height, Transaction, TxPosition};
use crate::network::message::{ErrorBody, Peers, Submitted, Verification};
use crate::network::PeerUrl;
use crate::wallet::{Keystore, Wallet, WalletError};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

/// The fee offered when none is given: enough to be mined promptly on a quiet chain.
pub const DEFAULT_FEE: Amount = Amount::from_units(1_000);

/// History entries shown at once unless told otherwise.
pub const HISTORY_ENTRIES: usize = 20;

/// What a subcommand asks of the node.
#[derive(Clone, Debug)]
pub enum Action {
    /// Mine these transactions (none: an empty block) into a block.
    Mine(Vec<Transaction>),
    /// Up to `limit` blocks from height `from`, or the newest `limit` without one.
    Chain {
        from: Option<Height>,
        limit: usize,
    },
    /// Download the chain and verify it here.
    Verify,
    /// Verify the store in a data directory, offline.
    VerifyLocal(std::path::PathBuf),
    Status,
    /// Print the node's events as they come, `count` of them or until interrupted.
    Watch {
        count: Option<u64>,
    },
    /// Sync with the node's peers and adopt the heaviest valid chain.
    Resolve,
    Peers,
    AddPeers(Vec<PeerUrl>),
    /// Ignore a peer for a while (the operator's ban).
    BanPeer {
        peer: PeerUrl,
        seconds: u64,
        reason: Option<String>,
    },
    UnbanPeer(PeerUrl),
    /// A wallet's (or any address's) balance and pending transfers.
    Account {
        name: Option<String>,
        address: Address,
    },
    /// An address's history, newest first: `limit` entries older than `before`.
    History {
        name: Option<String>,
        address: Address,
        limit: usize,
        before: Option<TxPosition>,
    },
    /// One block, by height or hash as typed.
    Block(String),
    /// One transaction, by id as typed.
    Transaction(String),
    /// An address or a wallet's name as typed: its account and latest history.
    Address {
        text: String,
        wallet_dir: std::path::PathBuf,
    },
    /// Sign a transfer here with `from`'s key and submit it.
    Send {
        from: Arc<Wallet>,
        to: Address,
        amount: Amount,
        fee: Amount,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

impl Format {
    /// `Json` when `--json` was given.
    pub fn of(json: bool) -> Format {
        match json {
            true => Format::Json,
            false => Format::Human,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Verify(VerifyError),
    /// Already reported on stdout; this is the line for stderr.
    #[error("the chain is invalid: block {index} breaks rule {rule}")]
    InvalidChain { index: Height, rule: String },
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Wallet(#[from] WalletError),
    #[error(transparent)]
    Address(#[from] AddressError),
    /// A passphrase or recovery phrase could not be read.
    #[error("{0}")]
    Passphrase(String),
}

impl From<VerifyError> for CommandError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Client(e) => CommandError::Client(e),
            other => CommandError::Verify(other),
        }
    }
}

impl CommandError {
    /// The `--json` error document, or `None` when the output already is one.
    fn json(&self) -> Option<String> {
        let code = match self {
            CommandError::Client(ClientError::Api { body, .. }) => return Some(body.clone()),
            CommandError::Client(e) => e.code(),
            CommandError::Verify(VerifyError::GenesisMismatch { .. }) => "unknown_chain",
            CommandError::Verify(_) => "bad_chain",
            // Text that is neither a wallet nor an address is a bad address, wherever it came.
            CommandError::Wallet(WalletError::Unresolved { .. }) => "bad_address",
            CommandError::Wallet(_) => "wallet",
            CommandError::Address(_) => "bad_address",
            CommandError::Passphrase(_) => "passphrase",
            CommandError::InvalidChain { .. } | CommandError::Output(_) => return None,
        };
        let body = ErrorBody {
            error: code.to_owned(),
            message: self.to_string(),
        };
        Some(serde_json::to_string(&body).expect("an error body serialises"))
    }
}

/// Runs `action` against the node `client` talks to and reports how it went as an exit status.
pub fn run(client: Client, format: Format, action: Action) -> ExitCode {
    finish(format, execute(&client, format, action))
}

/// Reports a command's outcome: nothing more on success; on failure one line on stderr (and the
/// error document on stdout under `--json`) and exit status 1.
pub fn finish(format: Format, result: Result<(), CommandError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if format == Format::Json {
                if let Some(doc) = e.json() {
                    // Best effort: the line on stderr below is the report that matters.
                    let _ = writeln!(std::io::stdout().lock(), "{doc}");
                }
            }
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `text` and a newline to stdout, as an error rather than a panic when stdout is gone
/// (`ferrochain chain | head`).
fn print(text: &str) -> Result<(), CommandError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Prints the message and the peer list a registration, ban or unban answered with.
fn peers_answer(json: bool, raw: &str, message: &str, list: &Peers) -> Result<(), CommandError> {
    match json {
        true => print(raw),
        false => print(&view::peers(Some(message), list)),
    }
}

pub fn execute(client: &Client, format: Format, action: Action) -> Result<(), CommandError> {
    let json = format == Format::Json;
    match action {
        Action::Mine(transactions) => {
            let mined = mine::mine(client, transactions, !json)?;
            match json {
                true => print(&mined.raw),
                false => print(&view::mined(&mined.value)),
            }
        }
        Action::Chain { from, limit } => chain(client, json, from, limit),
        Action::Verify => {
            let progress = match json {
                true => ProgressBar::hidden(),
                false => verify_progress(),
            };
            let verified = verify::verify(client, &progress);
            progress.finish_and_clear();
            let verified = verified?;
            match json {
                true => print(&serde_json::to_string(&verified).expect("serialisable"))?,
                false => print(&view::verification(&verified))?,
            }
            invalid_chain(&verified)
        }
        Action::VerifyLocal(dir) => {
            let verified = verify::verify_local(&dir)?;
            match json {
                true => print(&serde_json::to_string(&verified).expect("serialisable"))?,
                false => print(&view::verification(&verified))?,
            }
            invalid_chain(&verified)
        }
        Action::Status => {
            let status = client.status()?;
            match json {
                true => print(&status.raw),
                false => print(&view::status(&client.node().to_string(), &status.value)),
            }
        }
        Action::Watch { count } => super::watch::watch(client, json, count),
        Action::Resolve => {
            let resolved = client.resolve()?;
            match json {
                true => print(&resolved.raw),
                false => print(&view::resolved(&resolved.value)),
            }
        }
        Action::Peers => {
            let peers = client.peers()?;
            match json {
                true => print(&peers.raw),
                false => print(&view::peers(None, &peers.value)),
            }
        }
        Action::AddPeers(urls) => {
            let Answer { value, raw } = client.register(&urls)?;
            peers_answer(json, &raw, &value.message, &value.list)
        }
        Action::BanPeer {
            peer,
            seconds,
            reason,
        } => {
            let Answer { value, raw } = client.ban(&peer, seconds, reason.as_deref())?;
            peers_answer(json, &raw, &value.message, &value.list)
        }
        Action::UnbanPeer(peer) => {
            let Answer { value, raw } = client.unban(&peer)?;
            peers_answer(json, &raw, &value.message, &value.list)
        }
        Action::Account { name, address } => {
            let account = client.account(&address)?;
            match json {
                true => print(&account.raw),
                false => print(&view::account(name.as_deref(), &account.value)),
            }
        }
        Action::History {
            name,
            address,
            limit,
            before,
        } => {
            let page = client.history(&address, before, limit)?;
            match json {
                true => print(&page.raw),
                false => print(&view::history(name.as_deref(), &page.value)),
            }
        }
        Action::Block(id) => {
            let block = client.block(&id)?;
            match json {
                true => print(&block.raw),
                false => print(&view::block_details(&block.value)),
            }
        }
        Action::Transaction(id) => {
            let found = client.transaction(&id)?;
            match json {
                true => print(&found.raw),
                false => print(&view::transaction_status(&found.value)),
            }
        }
        Action::Address { text, wallet_dir } => {
            let address = Keystore::new(wallet_dir).resolve(&text)?;
            // Named when it was a wallet's name rather than the address itself.
            let name = text.parse::<Address>().is_err().then_some(text);
            let account = client.account(&address)?;
            let history = client.history(&address, None, ADDRESS_HISTORY)?;
            match json {
                true => print(&format!(
                    "{{\"account\":{},\"history\":{}}}",
                    account.raw.trim(),
                    history.raw.trim()
                )),
                false => print(&format!(
                    "{}\n\n{}",
                    view::account(name.as_deref(), &account.value),
                    view::history(name.as_deref(), &history.value)
                )),
            }
        }
        Action::Send {
            from,
            to,
            amount,
            fee,
        } => {
            let sent = send(client, &from, to, amount, fee)?;
            match json {
                true => print(&sent.raw),
                false => print(&format!(
                    "sent {amount} from {} to {} (fee {fee}): transfer {} is pending",
                    from.name, to, sent.value.id
                )),
            }
        }
    }
}

/// History entries `ferrochain address` shows under the account.
const ADDRESS_HISTORY: usize = 10;

/// Signs a transfer from `from` for the node's chain with the sender's next nonce (counting its
/// pending transfers), and submits it. The key never leaves this process.
pub fn send(
    client: &Client,
    from: &Wallet,
    to: Address,
    amount: Amount,
    fee: Amount,
) -> Result<Answer<Submitted>, CommandError> {
    let chain = client.status()?.value.genesis;
    let nonce = client.account(&from.address)?.value.next_nonce;
    let transfer = from.sign_transfer(to, amount, fee, nonce, &chain);
    Ok(client.submit_transfer(&transfer)?)
}

/// A progress bar for verification on stderr (hidden when stderr is not a terminal).
pub fn verify_progress() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("verifying {bar:40} {pos}/{len} blocks ({per_sec})")
            .expect("a valid template"),
    );
    bar
}

/// Turns an invalid chain into the failure that sets the exit status.
fn invalid_chain(v: &Verification) -> Result<(), CommandError> {
    match &v.error {
        None => Ok(()),
        Some(bad) => Err(CommandError::InvalidChain {
            index: bad.index,
            rule: bad.rule.clone(),
        }),
    }
}

fn chain(
    client: &Client,
    json: bool,
    from: Option<Height>,
    limit: usize,
) -> Result<(), CommandError> {
    let from = match from {
        Some(from) => from,
        None => {
            let length = client.status()?.value.length;
            Height::new(length.saturating_sub(limit as u64))
        }
    };
    let page = client.chain(from, limit)?;
    if json {
        return print(&page.raw);
    }
    let blocks = &page.value.chain;
    let (Some(first), Some(last)) = (blocks.first(), blocks.last()) else {
        return print(&format!(
            "no blocks from height {from} (the chain has {}, 0 to {})",
            view::count(page.value.length, "block"),
            page.value.length.saturating_sub(1)
        ));
    };
    let newest_first: Vec<_> = blocks.iter().rev().cloned().collect();
    print(&format!(
        "{}\nblocks {} to {} of {}, newest first",
        view::blocks(&newest_first),
        first.index,
        last.index,
        page.value.length,
    ))
}
