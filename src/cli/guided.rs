//! The guided CLI: a dialoguer menu that loops until Exit.
//!
//! Every answer is checked where it is typed (a note with the chain's own rules, a peer with
//! [`PeerUrl::parse`]); a bad one is explained and asked again. A request the node refuses, or a
//! node that stops answering, is reported in one line and the menu comes back: only a terminal
//! that goes away ends the session early.

use super::client::{Client, ClientError};
use super::commands::verify_progress;
use super::{mine, verify, view};
use crate::chain::{Height, Note, Transaction};
use crate::network::PeerUrl;
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
    Peers,
    Status,
    Exit,
}

/// The main menu, in order. Wallets and balances (the wallet part of the CLI issue) take their
/// place after `Verify`, as one more entry here and one more arm in [`run`].
const MENU: [(Menu, &str); 6] = [
    (Menu::Mine, "Add transactions and mine a block"),
    (Menu::ViewChain, "View the blockchain"),
    (Menu::Verify, "Verify the blockchain"),
    (Menu::Peers, "Peers and sync"),
    (Menu::Status, "Node status"),
    (Menu::Exit, "Exit"),
];

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
}

/// Runs the menu against `client`'s node until the user picks Exit (or presses Esc or `q`).
/// A node that does not answer at the start is an error: there would be nothing to show.
pub fn run(client: &Client) -> Result<(), GuidedError> {
    if !Term::stderr().is_term() {
        return Err(GuidedError::NoTerminal);
    }
    let status = client.status()?.value;
    println!(
        "ferrochain node at {}: height {}, difficulty {}, {} peer{}",
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
            Menu::Mine => mine_block(client, &theme),
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

/// Collects entries for a block, then mines it with the live view.
fn mine_block(client: &Client, theme: &ColorfulTheme) -> Result<(), ActionError> {
    let mut draft: Vec<Transaction> = Vec::new();
    loop {
        // Signed transfers from a wallet (the wallet part of the CLI issue) join this list as
        // another kind of entry; `draft` already holds any `Transaction`.
        let items = [
            "Add a note (free text)".to_owned(),
            format!(
                "Mine the block ({} transaction{})",
                draft.len(),
                if draft.len() == 1 { "" } else { "s" }
            ),
            "Back to the menu (discard)".to_owned(),
        ];
        let choice = Select::with_theme(theme)
            .with_prompt("New block")
            .items(&items)
            .default(0)
            .interact_opt()?;
        match choice {
            Some(0) => {
                let note = ask_note(theme, &draft)?;
                println!("  added: {note}");
                draft.push(Transaction::Note(note));
            }
            Some(1) => {
                let mined = mine::mine(client, draft, true)?;
                println!("{}", view::mined(&mined.value));
                return Ok(());
            }
            _ => return Ok(()),
        }
    }
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
    let mut selected = 0;
    loop {
        let Some(choice) = Select::with_theme(theme)
            .with_prompt("Peers and sync")
            .items(items)
            .default(selected)
            .interact_opt()?
        else {
            return Ok(());
        };
        selected = choice;
        // Node errors are shown here so that the peers menu stays open.
        let result: Result<(), ActionError> = match choice {
            0 => client
                .peers()
                .map(|p| println!("{}", view::peers(&p.value)))
                .map_err(Into::into),
            1 => {
                let peer = ask_peer(theme)?;
                client
                    .register(&[peer])
                    .map(|p| println!("{}", view::peers(&p.value)))
                    .map_err(Into::into)
            }
            2 => {
                println!("asking every peer for its chain...");
                client
                    .resolve()
                    .map(|r| println!("{}", view::resolved(&r.value)))
                    .map_err(Into::into)
            }
            _ => return Ok(()),
        };
        match result {
            Err(ActionError::Terminal(e)) => return Err(e.into()),
            Err(e) => eprintln!("error: {e}"),
            Ok(()) => {}
        }
    }
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
