//! The `wallet` and `send` subcommands: keystore commands that never reach a node (`new`,
//! `list`) print here, in words or as `--json`; the ones that do (`show`, `send`) resolve the
//! wallet first and then run as an [`Action`].

use super::args::{Endpoint, WalletAction};
use super::{finish, view, Action, Format};
use crate::chain::{Address, Amount};
use crate::wallet::Keystore;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// A wallet in `--json` output: `wallet new` prints one, `wallet list` a `{"wallets": [..]}`.
#[derive(serde::Serialize)]
struct WalletDoc<'a> {
    name: &'a str,
    address: &'a Address,
}

#[derive(serde::Serialize)]
struct WalletList<'a> {
    wallets: Vec<WalletDoc<'a>>,
}

/// Runs a `wallet` subcommand against the keystore in `wallet_dir`.
pub fn run(action: WalletAction, wallet_dir: PathBuf) -> ExitCode {
    let keys = Keystore::new(wallet_dir);
    match action {
        WalletAction::New { name, json } => {
            let created = keys.create(&name).map(|w| {
                let shown = match json {
                    true => to_json(&WalletDoc {
                        name: &w.name,
                        address: &w.address,
                    }),
                    false => format!(
                        "created wallet {} with address {}\nits key is in {}",
                        w.name,
                        w.address,
                        keys.dir().display()
                    ),
                };
                println!("{shown}");
            });
            finish(Format::of(json), created.map_err(Into::into))
        }
        WalletAction::List { json } => {
            let listed = keys.list().map(|list| match json {
                true => {
                    let wallets = list
                        .iter()
                        .map(|(name, address)| WalletDoc { name, address })
                        .collect();
                    println!("{}", to_json(&WalletList { wallets }));
                }
                false => println!("{}", view::wallets(&list)),
            });
            finish(Format::of(json), listed.map_err(Into::into))
        }
        WalletAction::Show { name, endpoint } => match keys.load(&name) {
            Ok(w) => endpoint.run(Action::Account {
                name: Some(w.name),
                address: w.address,
            }),
            Err(e) => finish(endpoint.format(), Err(e.into())),
        },
    }
}

/// Runs `send`: signs `amount` (and `fee`) from the wallet `from` to `to` (an address or a
/// wallet name) and submits it to the node.
pub fn send(
    wallet_dir: PathBuf,
    from: &str,
    to: &str,
    amount: Amount,
    fee: Amount,
    endpoint: Endpoint,
) -> ExitCode {
    // Both ends are resolved before anything is signed: a mistyped address stops here.
    let keys = Keystore::new(wallet_dir);
    let resolved = keys
        .load(from)
        .and_then(|wallet| Ok((wallet, keys.resolve(to)?)));
    match resolved {
        Ok((wallet, to)) => endpoint.run(Action::Send {
            from: Arc::new(wallet),
            to,
            amount,
            fee,
        }),
        Err(e) => finish(endpoint.format(), Err(e.into())),
    }
}

fn to_json(doc: &impl serde::Serialize) -> String {
    // Cannot fail: names are strings and addresses serialise as strings.
    serde_json::to_string(doc).expect("a wallet serialises")
}
