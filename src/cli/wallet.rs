//! The `wallet` and `send` subcommands: keystore commands that never reach a node (`new`,
//! `recover`, `export`, `import`) print here, in words or as `--json`; the ones that do (`list`
//! for balances, `show`, `history`, `send`) resolve the wallet first and then ask the node.
//!
//! A command that needs an encrypted wallet's key gets the passphrase from `--passphrase-file`,
//! else from `FERROCHAIN_PASSPHRASE`, else by asking on the terminal; without any of them it
//! fails saying so. Showing addresses, balances and histories never needs it.

use super::args::{Endpoint, PassphraseArgs, WalletAction};
use super::client::{Client, ClientError};
use super::commands::CommandError;
use super::{finish, view, Action, Format};
use crate::chain::{Address, Amount};
use crate::wallet::{Keystore, Passphrase, RecoveryPhrase, Wallet, WalletError, PHRASE_WORDS};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The variable a passphrase can come from in scripts.
pub const PASSPHRASE_ENV: &str = "FERROCHAIN_PASSPHRASE";

/// A wallet in `--json` output: `wallet new` prints one, `wallet list` a `{"wallets": [..]}`.
#[derive(serde::Serialize)]
struct WalletDoc<'a> {
    name: &'a str,
    address: &'a Address,
    /// Whether the key file is encrypted.
    encrypted: bool,
    /// `wallet new --phrase` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_phrase: Option<String>,
    /// `wallet list` only, when the node answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    balance: Option<Amount>,
}

#[derive(serde::Serialize)]
struct WalletList<'a> {
    wallets: Vec<WalletDoc<'a>>,
    /// Why there are no balances, when the node could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    balances_unavailable: Option<String>,
}

/// The keystore's wallets with their balances at `client`'s node, for `wallet list` and the
/// guided menu's wallet picker. A node that cannot be asked leaves `balances` `None`, with the
/// reason in `unavailable`.
pub struct WalletBalances {
    pub wallets: Vec<(String, Address)>,
    /// In the order of `wallets`.
    pub balances: Option<Vec<Amount>>,
    pub unavailable: Option<ClientError>,
}

/// Reads the keystore and asks the node for each wallet's balance; stops asking at the first
/// failure (a node that is down answers no wallet).
pub fn balances(client: &Client, keys: &Keystore) -> Result<WalletBalances, WalletError> {
    let wallets = keys.list()?;
    let asked: Result<Vec<Amount>, ClientError> = wallets
        .iter()
        .map(|(_, address)| client.account(address).map(|a| a.value.balance))
        .collect();
    let (balances, unavailable) = match asked {
        Ok(balances) => (Some(balances), None),
        Err(e) => (None, Some(e)),
    };
    Ok(WalletBalances {
        wallets,
        balances,
        unavailable,
    })
}

/// Wallet `name` with its key, asking for the passphrase (see [`passphrase`]) if it is
/// encrypted.
pub fn unlock(keys: &Keystore, name: &str, from: &PassphraseArgs) -> Result<Wallet, CommandError> {
    let stored = keys.open(name)?;
    if !stored.is_encrypted() {
        return Ok(stored.unlock(None)?);
    }
    let prompt = format!("Passphrase of wallet {name}");
    let passphrase = passphrase(from, &prompt, false)?;
    Ok(stored.unlock(Some(&passphrase))?)
}

/// Why no passphrase could be had.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    #[error(
        "a passphrase is needed: give --passphrase-file FILE or set {PASSPHRASE_ENV}, or run \
         this in a terminal to be asked"
    )]
    NoSource,
    #[error("cannot read the passphrase file {}: {error}", path.display())]
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot read the passphrase: {0}")]
    Prompt(#[from] dialoguer::Error),
    #[error(transparent)]
    Empty(#[from] WalletError),
}

impl From<PassphraseError> for CommandError {
    fn from(e: PassphraseError) -> Self {
        match e {
            PassphraseError::Empty(e) => CommandError::Wallet(e),
            other => CommandError::Passphrase(other.to_string()),
        }
    }
}

/// A passphrase from `--passphrase-file` (its first line), else `FERROCHAIN_PASSPHRASE`, else
/// a hidden prompt on the terminal (asked twice when `new`, so a typo cannot lock a key away).
pub fn passphrase(
    from: &PassphraseArgs,
    prompt: &str,
    new: bool,
) -> Result<Passphrase, PassphraseError> {
    if let Some(path) = &from.passphrase_file {
        let text = std::fs::read_to_string(path).map_err(|error| PassphraseError::File {
            path: path.clone(),
            error,
        })?;
        let line = text.lines().next().unwrap_or_default();
        return Ok(Passphrase::new(line)?);
    }
    if let Ok(text) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Passphrase::new(text)?);
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(PassphraseError::NoSource);
    }
    let mut ask = dialoguer::Password::new().with_prompt(prompt);
    if new {
        ask = ask.with_confirmation("Repeat it", "the two passphrases differ");
    }
    Ok(Passphrase::new(ask.interact()?)?)
}

/// The passphrase a key file is to be encrypted with.
fn passphrase_for_new(from: &PassphraseArgs) -> Result<Passphrase, PassphraseError> {
    passphrase(from, "Passphrase for the key file", true)
}

/// The passphrase a new key file is encrypted with, if `encrypt`.
fn new_passphrase(
    encrypt: bool,
    from: &PassphraseArgs,
) -> Result<Option<Passphrase>, PassphraseError> {
    match encrypt {
        true => passphrase_for_new(from).map(Some),
        false => Ok(None),
    }
}

/// A recovery phrase typed at a prompt, or read whole from standard input when that is not a
/// terminal.
fn read_phrase() -> Result<RecoveryPhrase, CommandError> {
    let text = match std::io::stdin().is_terminal() {
        true => dialoguer::Input::<String>::new()
            .with_prompt(format!("Recovery phrase ({PHRASE_WORDS} words)"))
            .interact_text()
            .map_err(|e| CommandError::Passphrase(format!("cannot read the phrase: {e}")))?,
        false => std::io::read_to_string(std::io::stdin())
            .map_err(|e| CommandError::Passphrase(format!("cannot read the phrase: {e}")))?,
    };
    Ok(RecoveryPhrase::parse(&text)?)
}

/// Runs a `wallet` subcommand against the keystore in `wallet_dir`.
pub fn run(action: WalletAction, wallet_dir: PathBuf) -> ExitCode {
    let keys = Keystore::new(wallet_dir);
    match action {
        WalletAction::New {
            name,
            phrase,
            encrypt,
            passphrase,
            json,
        } => {
            let created = (|| {
                let words = RecoveryPhrase::generate();
                let sealed = new_passphrase(encrypt, &passphrase)?;
                let wallet = keys.create_from(&name, &words, sealed.as_ref())?;
                let shown = phrase.then(|| words.words());
                print_created(&keys, &wallet, encrypt, shown, json, "created")
            })();
            finish(Format::of(json), created)
        }
        WalletAction::Recover {
            name,
            encrypt,
            passphrase,
            json,
        } => {
            let recovered = (|| {
                // The name is checked before the phrase is asked for.
                if !Keystore::valid_name(&name) {
                    return Err(WalletError::BadName(name.clone()).into());
                }
                if keys.path(&name).exists() {
                    return Err(WalletError::Exists {
                        name: name.clone(),
                        dir: keys.dir().to_owned(),
                    }
                    .into());
                }
                let words = read_phrase()?;
                let sealed = new_passphrase(encrypt, &passphrase)?;
                let wallet = keys.create_from(&name, &words, sealed.as_ref())?;
                print_created(&keys, &wallet, encrypt, None, json, "recovered")
            })();
            finish(Format::of(json), recovered)
        }
        WalletAction::Encrypt { name, passphrase } => {
            let sealed = (|| {
                // Refused before the passphrase is asked for: a missing or sealed wallet.
                if keys.open(&name)?.is_encrypted() {
                    return Err(WalletError::AlreadyEncrypted { name: name.clone() }.into());
                }
                let passphrase = passphrase_for_new(&passphrase)?;
                let w = keys.encrypt(&name, &passphrase)?;
                println!(
                    "encrypted wallet {} ({}): its key opens only with the passphrase now",
                    w.name, w.address
                );
                Ok(())
            })();
            finish(Format::Human, sealed)
        }
        WalletAction::Export { name, file } => {
            let exported = keys.export(&name, &file).map(|w| {
                let how = match w.is_encrypted() {
                    true => "encrypted: it opens only with the wallet's passphrase",
                    false => "NOT encrypted: whoever reads it can spend from the wallet",
                };
                println!(
                    "exported wallet {} ({}) to {}\nthe file is {how}",
                    w.name,
                    w.address,
                    file.display()
                );
            });
            finish(Format::Human, exported.map_err(Into::into))
        }
        WalletAction::Import { file, name } => {
            let imported = keys.import(&file, name.as_deref()).map(|w| {
                println!(
                    "imported wallet {} with address {} into {}",
                    w.name,
                    w.address,
                    keys.dir().display()
                );
            });
            finish(Format::Human, imported.map_err(Into::into))
        }
        WalletAction::List { endpoint } => {
            let format = endpoint.format();
            finish(format, list(&keys, endpoint))
        }
        WalletAction::Show { name, endpoint } => match keys.open(&name) {
            Ok(w) => endpoint.run(Action::Account {
                name: Some(w.name),
                address: w.address,
            }),
            Err(e) => finish(endpoint.format(), Err(e.into())),
        },
        WalletAction::History {
            name,
            limit,
            before,
            endpoint,
        } => match keys.open(&name) {
            Ok(w) => endpoint.run(Action::History {
                name: Some(w.name),
                address: w.address,
                limit,
                before,
            }),
            Err(e) => finish(endpoint.format(), Err(e.into())),
        },
    }
}

/// Prints a wallet just made (or rebuilt), with its phrase if `phrase` holds one.
fn print_created(
    keys: &Keystore,
    w: &Wallet,
    encrypted: bool,
    phrase: Option<String>,
    json: bool,
    verb: &str,
) -> Result<(), CommandError> {
    if json {
        println!(
            "{}",
            to_json(&WalletDoc {
                name: &w.name,
                address: &w.address,
                encrypted,
                recovery_phrase: phrase,
                balance: None,
            })
        );
        return Ok(());
    }
    let sealed = match encrypted {
        true => "encrypted with your passphrase",
        false => "not encrypted",
    };
    println!(
        "{verb} wallet {} with address {}\nits key is in {} ({sealed})",
        w.name,
        w.address,
        keys.path(&w.name).display()
    );
    match phrase {
        Some(words) => println!(
            "recovery phrase (write it down and keep it offline; anyone who has it can spend \
             from this wallet, and `ferrochain wallet recover` rebuilds the wallet from it):\n\n  \
             {words}\n"
        ),
        None if verb == "created" => println!(
            "back it up with `ferrochain wallet export {} FILE` (or create wallets with --phrase \
             to get a recovery phrase)",
            w.name
        ),
        None => {}
    }
    Ok(())
}

/// `wallet list`: names and addresses, with balances when the node answers; without them (and
/// the reason on stderr, or in the JSON) when it does not.
fn list(keys: &Keystore, endpoint: Endpoint) -> Result<(), CommandError> {
    let json = endpoint.format() == Format::Json;
    let client = Client::new(endpoint.node, endpoint.token);
    let found = match keys.list()?.is_empty() {
        // No wallets: no need to ask the node anything.
        true => WalletBalances {
            wallets: Vec::new(),
            balances: Some(Vec::new()),
            unavailable: None,
        },
        false => balances(&client, keys)?,
    };
    let why = found.unavailable.as_ref().map(ToString::to_string);
    if json {
        let wallets = found
            .wallets
            .iter()
            .enumerate()
            .map(|(i, (name, address))| WalletDoc {
                name,
                address,
                encrypted: keys.open(name).is_ok_and(|w| w.is_encrypted()),
                recovery_phrase: None,
                balance: found.balances.as_ref().map(|b| b[i]),
            })
            .collect();
        println!(
            "{}",
            to_json(&WalletList {
                wallets,
                balances_unavailable: why,
            })
        );
        return Ok(());
    }
    println!(
        "{}",
        view::wallet_balances(&found.wallets, found.balances.as_deref(), why.as_deref())
    );
    Ok(())
}

/// Runs `send`: signs `amount` (and `fee`) from the wallet `from` to `to` (an address or a
/// wallet name) and submits it to the node.
pub fn send(
    wallet_dir: PathBuf,
    from: &str,
    to: &str,
    amount: Amount,
    fee: Amount,
    passphrase: &PassphraseArgs,
    endpoint: Endpoint,
) -> ExitCode {
    // Both ends are resolved before the key is opened or anything signed: a mistyped address
    // stops here.
    let keys = Keystore::new(wallet_dir);
    let resolved = keys
        .open(from)
        .and_then(|_| keys.resolve(to))
        .map_err(CommandError::from)
        .and_then(|to| Ok((unlock(&keys, from, passphrase)?, to)));
    match resolved {
        Ok((wallet, to)) => endpoint.run(Action::Send {
            from: Arc::new(wallet),
            to,
            amount,
            fee,
        }),
        Err(e) => finish(endpoint.format(), Err(e)),
    }
}

fn to_json(doc: &impl serde::Serialize) -> String {
    // Cannot fail: names are strings and addresses serialise as strings.
    serde_json::to_string(doc).expect("a wallet serialises")
}
