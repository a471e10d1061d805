//! The guided CLI: a dialoguer menu that loops until Exit.
//!
//! Every answer is checked where it is typed (a note with the chain's own rules, a peer with
//! [`PeerUrl::parse`]); a bad one is explained and asked again. A request the node refuses, or a
//! node that stops answering, is reported in one line and the menu comes back: only a terminal
//! that goes away ends the session early.

use super::client::{Client, ClientError};
use super::commands::{self, verify_progress, CommandError};
use super::{mine, verify, view};
use crate::chain::{Amount, ParseAmountError};
use crate::chain::{Height, Note, Transaction};
use crate::network::PeerUrl;
use crate::wallet::{Keystore, Wallet, WalletError};
use dialoguer::console::Term;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Input, Select};

/// Blocks per screen when viewing the chain.
const BLOCKS_PER_SCREEN: u64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Menu {
    Mine,
    ViewChain,
    Verify,
    Wallets,
    Peers,
    Status,
    Exit,
}

/// The main menu, in order.
const MENU: [(Menu, &str); 7] = [
    (Menu::Mine, "Add transactions and mine a block"),
    (Menu::ViewChain, "View the blockchain"),
    (Menu::Verify, "Verify the blockchain"),
    (Menu::Wallets, "Wallets and balances"),
    (Menu::Peers, "Peers and sync"),
    (Menu::Status, "Node status"),
    (Menu::Exit, "Exit"),
];

/// The fee the guided CLI pays per transfer: enough to be mined promptly on a quiet chain.
const FEE: Amount = Amount::from_units(1_000);

/// Why the guided CLI stopped before Exit.
#[derive(Debug, thiserror::Error)]
pub enum GuidedError {
    #[error(
        "the guided CLI needs a terminal; in scripts, use the subcommands (ferrochain --help)"
    )]
    NoTerminal,
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("the terminal went away: {0}")]
    Terminal(#[from] dialoguer::Error),
}

/// What one menu action can run into: a node problem is shown and the menu goes on; a terminal
/// problem ends the session.
#[derive(Debug, thiserror::Error)]
enum ActionError {
    #[error(transparent)]
    Node(#[from] ClientError),
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    #[error(transparent)]
    Terminal(#[from] dialoguer::Error),
    #[error(transparent)]
    Wallet(#[from] WalletError),
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// Runs the menu against `client`'s node until the user picks Exit (or presses Esc or `q`).
/// A node that does not answer at the start is an error: there would be nothing to show.
pub fn run(client: &Client, keys: &Keystore) -> Result<(), GuidedError> {
    if !Term::stderr().is_term() {
        return Err(GuidedError::NoTerminal);
    }
    let status = client.status()?.value;
    println!(
        "ferrochain node at {}: height {}, difficulty {:.2} bits, {} peer{}",
        client.node(),
        status.height,
        status.difficulty,
        status.peers.len(),
        if status.peers.len() == 1 { "" } else { "s" }
    );
    let theme = ColorfulTheme::default();
    let mut last = 0;
    loop {
        let labels: Vec<&str> = MENU.iter().map(|(_, label)| *label).collect();
        let Some(choice) = Select::with_theme(&theme)
            .with_prompt("What would you like to do?")
            .items(&labels)
            .default(last)
            .interact_opt()?
        else {
            break;
        };
        last = choice;
        let result = match MENU[choice].0 {
            Menu::Mine => mine_block(client, keys, &theme),
            Menu::Wallets => wallets(client, keys, &theme),
            Menu::ViewChain => view_chain(client, &theme),
            Menu::Verify => verify_chain(client),
            Menu::Peers => peers(client, &theme),
            Menu::Status => client
                .status()
                .map(|s| println!("{}", view::status(&client.node().to_string(), &s.value)))
                .map_err(ActionError::from),
            Menu::Exit => break,
        };
        match result {
            Ok(()) => {}
            Err(ActionError::Terminal(e)) => return Err(e.into()),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    println!("bye");
    Ok(())
}

/// Collects entries for a block, then mines it with the live view. Transfers are signed and
/// handed to the node's mempool as they are entered (that is where the node picks them from);
/// notes wait here until the block is mined.
fn mine_block(client: &Client, keys: &Keystore, theme: &ColorfulTheme) -> Result<(), ActionError> {
    let mut draft: Vec<Transaction> = Vec::new();
    let mut sent = 0;
    loop {
        let count = draft.len() + sent;
        let items = [
            "Send coins from a wallet".to_owned(),
            "Add a note (free text)".to_owned(),
            format!(
                "Mine the block ({count} transaction{} + pending transfers)",
                if count == 1 { "" } else { "s" }
            ),
            "Back to the menu (notes are discarded, sent transfers stay pending)".to_owned(),
        ];
        let choice = Select::with_theme(theme)
            .with_prompt("New block")
            .items(&items)
            .default(0)
            .interact_opt()?;
        match choice {
            Some(0) => match send_coins(client, keys, theme) {
                Ok(()) => sent += 1,
                Err(ActionError::Terminal(e)) => return Err(e.into()),
                Err(e) => eprintln!("error: {e}"),
            },
            Some(1) => {
                let note = ask_note(theme, &draft)?;
                println!("  added: {note}");
                draft.push(Transaction::Note(note));
            }
            Some(2) => {
                let mined = mine::mine(client, draft, true)?;
                println!("{}", view::mined(&mined.value));
                return Ok(());
            }
            _ => return Ok(()),
        }
    }
}

/// Picks a wallet (creating one if asked), a recipient and an amount the wallet can pay, then
/// signs here and submits the transfer.
fn send_coins(client: &Client, keys: &Keystore, theme: &ColorfulTheme) -> Result<(), ActionError> {
    let Some(wallet) = pick_wallet(keys, theme)? else {
        return Ok(());
    };
    let account = client.account(&wallet.address)?.value;
    let available = account
        .balance
        .checked_sub(account.pending.spend)
        .unwrap_or(Amount::ZERO);
    println!("  {} has {available} to spend", wallet.name);
    let to: String = Input::with_theme(theme)
        .with_prompt("Recipient (an address fc1... or a wallet name)")
        .allow_empty(true)
        .validate_with(|text: &String| -> Result<(), String> {
            keys.resolve(text.trim())
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .interact_text()?;
    let to = keys.resolve(to.trim())?;
    let amount: String = Input::with_theme(theme)
        .with_prompt(format!("Amount in FER (the fee is {FEE})"))
        .allow_empty(true)
        .validate_with(|text: &String| -> Result<(), String> {
            let amount: Amount = text.parse().map_err(|e: ParseAmountError| e.to_string())?;
            let cost = amount.checked_add(FEE);
            match amount {
                a if a == Amount::ZERO => Err("the amount must be more than 0".into()),
                _ if cost.is_none_or(|c| c > available) => Err(format!(
                    "{} can spend at most {available} (with the fee of {FEE})",
                    wallet.name
                )),
                _ => Ok(()),
            }
        })
        .interact_text()?;
    let amount: Amount = amount.parse().expect("validated amount");
    let submitted = commands::send(client, &wallet, to, amount, FEE)?;
    println!(
        "  sent {amount} from {} to {to}: transfer {} is pending",
        wallet.name, submitted.value.id
    );
    Ok(())
}

/// Chooses a wallet of the keystore, or creates one; `None` when the user backs out.
fn pick_wallet(keys: &Keystore, theme: &ColorfulTheme) -> Result<Option<Wallet>, ActionError> {
    let list = keys.list()?;
    let mut items: Vec<String> = list
        .iter()
        .map(|(name, address)| format!("{name}  {}", address.short()))
        .collect();
    items.push("Create a new wallet".to_owned());
    let Some(choice) = Select::with_theme(theme)
        .with_prompt("Sending wallet")
        .items(&items)
        .default(0)
        .interact_opt()?
    else {
        return Ok(None);
    };
    match list.get(choice) {
        Some((name, _)) => Ok(Some(keys.load(name)?)),
        None => create_wallet(keys, theme).map(Some),
    }
}

/// Asks for a new wallet's name until one is free and valid, then creates it.
fn create_wallet(keys: &Keystore, theme: &ColorfulTheme) -> Result<Wallet, ActionError> {
    let taken: Vec<String> = keys.list()?.into_iter().map(|(name, _)| name).collect();
    let name: String = Input::with_theme(theme)
        .with_prompt("New wallet name (letters, digits, - or _)")
        .allow_empty(true)
        .validate_with(|text: &String| -> Result<(), String> {
            if taken.iter().any(|t| t == text.trim()) {
                return Err(format!("a wallet named {:?} already exists", text.trim()));
            }
            match Keystore::valid_name(text.trim()) {
                true => Ok(()),
                false => Err(WalletError::BadName(text.clone()).to_string()),
            }
        })
        .interact_text()?;
    let wallet = keys.create(name.trim())?;
    println!(
        "  created wallet {} with address {}\n  its key is in {} (keep it safe)",
        wallet.name,
        wallet.address,
        keys.dir().display()
    );
    Ok(wallet)
}

/// The keystore's wallets with their balances, and wallet creation.
fn wallets(client: &Client, keys: &Keystore, theme: &ColorfulTheme) -> Result<(), ActionError> {
    let items = [
        "List wallets and balances",
        "Create a wallet",
        "Back to the menu",
    ];
    submenu(
        theme,
        "Wallets and balances",
        &items,
        |choice| match choice {
            0 => Some(list_balances(client, keys)),
            1 => Some(create_wallet(keys, theme).map(drop)),
            _ => None,
        },
    )
}

/// A menu that stays open until Back (`act` answers `None`), Esc or `q`. Node and wallet
/// errors are shown and the menu goes on; only a terminal error ends it.
fn submenu(
    theme: &ColorfulTheme,
    prompt: &str,
    items: &[&str],
    mut act: impl FnMut(usize) -> Option<Result<(), ActionError>>,
) -> Result<(), ActionError> {
    let mut selected = 0;
    loop {
        let Some(choice) = Select::with_theme(theme)
            .with_prompt(prompt)
            .items(items)
            .default(selected)
            .interact_opt()?
        else {
            return Ok(());
        };
        selected = choice;
        match act(choice) {
            None => return Ok(()),
            Some(Err(ActionError::Terminal(e))) => return Err(e.into()),
            Some(Err(e)) => eprintln!("error: {e}"),
            Some(Ok(())) => {}
        }
    }
}

fn list_balances(client: &Client, keys: &Keystore) -> Result<(), ActionError> {
    let list = keys.list()?;
    if list.is_empty() {
        println!("{}", view::wallets(&list));
        return Ok(());
    }
    for (name, address) in &list {
        let account = client.account(address)?.value;
        println!("{}\n", view::account(Some(name), &account));
    }
    Ok(())
}

/// Asks for a note until one is valid and not already in the block.
fn ask_note(theme: &ColorfulTheme, draft: &[Transaction]) -> Result<Note, dialoguer::Error> {
    let text: String = Input::with_theme(theme)
        .with_prompt(format!("Note (1 to {} bytes)", Note::MAX_BYTES))
        // Empty input reaches the validator, which says why it is refused.
        .allow_empty(true)
        .validate_with(|text: &String| -> Result<(), String> {
            let note = Note::new(text.as_str()).map_err(|e| e.to_string())?;
            match draft.contains(&Transaction::Note(note)) {
                true => Err("this block already has that note; entries must be unique".into()),
                false => Ok(()),
            }
        })
        .interact_text()?;
    // The validator accepted exactly this text.
    Ok(Note::new(text).expect("validated note"))
}

/// Screens of blocks, newest first; pick one to see all of it.
fn view_chain(client: &Client, theme: &ColorfulTheme) -> Result<(), ActionError> {
    let length = client.status()?.value.length;
    // The newest height on screen.
    let mut top = length.saturating_sub(1);
    let mut selected = 0;
    loop {
        let from = (top + 1).saturating_sub(BLOCKS_PER_SCREEN);
        let page = client
            .chain(Height::new(from), (top + 1 - from) as usize)?
            .value;
        let mut blocks = page.chain;
        blocks.reverse();
        let mut table = view::chain_table();
        for block in &blocks {
            table.row(view::block_row(block));
        }
        let mut lines = table.lines();
        let header = lines.remove(0);
        let newest = page.length.saturating_sub(1);
        let older = blocks.last().is_some_and(|b| b.index.get() > 0);
        let newer = top < newest;
        let mut items = lines;
        if older {
            items.push("Older blocks".to_owned());
        }
        if newer {
            items.push("Newer blocks".to_owned());
        }
        items.push("Back to the menu".to_owned());
        println!(
            "Blocks {from} to {top} of {} (newest first). Select a block for its details.",
            page.length
        );
        // Two columns line up the header with the items after the theme's selection marker.
        println!("  {header}");
        let Some(choice) = Select::with_theme(theme)
            .with_prompt("Blocks")
            .items(&items)
            .default(selected.min(items.len() - 1))
            .max_length(BLOCKS_PER_SCREEN as usize + 3)
            .interact_opt()?
        else {
            return Ok(());
        };
        selected = choice;
        if let Some(block) = blocks.get(choice) {
            println!("{}", view::block_details(block));
            continue;
        }
        match items[choice].as_str() {
            "Older blocks" => {
                top = from.saturating_sub(1);
                selected = 0;
            }
            "Newer blocks" => {
                top = (top + BLOCKS_PER_SCREEN).min(newest);
                selected = 0;
            }
            _ => return Ok(()),
        }
    }
}

fn verify_chain(client: &Client) -> Result<(), ActionError> {
    let progress = verify_progress();
    let verified = verify::verify(client, &progress);
    progress.finish_and_clear();
    println!("{}", view::verification(&verified?));
    Ok(())
}

fn peers(client: &Client, theme: &ColorfulTheme) -> Result<(), ActionError> {
    let items = [
        "List peers",
        "Add a peer",
        "Resolve conflicts (adopt the heaviest valid chain among the peers)",
        "Back to the menu",
    ];
    submenu(theme, "Peers and sync", &items, |choice| match choice {
        0 => Some(
            client
                .peers()
                .map(|p| println!("{}", view::peers(None, &p.value)))
                .map_err(Into::into),
        ),
        1 => Some(ask_peer(theme).map_err(Into::into).and_then(|peer| {
            client
                .register(&[peer])
                .map(|r| println!("{}", view::peers(Some(&r.value.message), &r.value.list)))
                .map_err(Into::into)
        })),
        2 => {
            println!("asking every peer for its chain...");
            Some(
                client
                    .resolve()
                    .map(|r| println!("{}", view::resolved(&r.value)))
                    .map_err(Into::into),
            )
        }
        _ => None,
    })
}

/// Asks for a peer's base URL until one parses.
fn ask_peer(theme: &ColorfulTheme) -> Result<PeerUrl, dialoguer::Error> {
    let text: String = Input::with_theme(theme)
        .with_prompt("Peer URL (http://host:port)")
        .allow_empty(true)
        .validate_with(|text: &String| -> Result<(), String> {
            PeerUrl::parse(text).map(drop).map_err(|e| e.to_string())
        })
        .interact_text()?;
    Ok(PeerUrl::parse(&text).expect("validated URL"))
}
