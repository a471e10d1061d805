//! The guided CLI: a dialoguer menu that loops until Exit.
//!
//! Every answer is checked where it is typed (a note with the chain's own rules, a peer with
//! [`PeerUrl::parse`]); a bad one is explained and asked again. Esc or `q` goes back from every
//! menu and every question ([`TextPrompt`]), and nothing is sent before it is confirmed. A request the node refuses, or a
//! node that stops answering, is reported in one line and the menu comes back: only a terminal
//! that goes away ends the session early.

use super::client::{Client, ClientError};
use super::commands::{self, verify_progress, CommandError, DEFAULT_FEE, HISTORY_ENTRIES};
use super::prompt::{self, term_columns, TextPrompt};
use super::wallet::{self, WalletBalances};
use super::{mine, terminal, verify, view};
use crate::chain::Address;
use crate::chain::{Amount, ParseAmountError};
use crate::chain::{Height, Note, Transaction};
use crate::network::PeerUrl;
use crate::wallet::{Keystore, Passphrase, Wallet, WalletError};
use dialoguer::console::{measure_text_width, Term};
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Select};

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

/// How to move around, shown once at the start.
const KEYS: &str = "Arrows or j/k move, Enter picks, Esc or q goes back, Ctrl-C quits.";

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

/// Drawing on the terminal failed: the same as a prompt failing.
impl From<std::io::Error> for ActionError {
    fn from(e: std::io::Error) -> Self {
        ActionError::Terminal(e.into())
    }
}

/// Runs the menu against `client`'s node until the user picks Exit (or presses Esc or `q`).
/// A node that does not answer at the start is an error: there would be nothing to show.
/// Ctrl-C anywhere ends the session with the terminal restored (see [`terminal`]).
pub fn run(client: &Client, keys: &Keystore) -> Result<(), GuidedError> {
    if !Term::stderr().is_term() {
        return Err(GuidedError::NoTerminal);
    }
    terminal::restore_on_interrupt();
    let result = session(client, keys);
    if let Err(GuidedError::Terminal(e)) = &result {
        if terminal::check_interrupt(e) {
            terminal::leave();
        }
    }
    result
}

fn session(client: &Client, keys: &Keystore) -> Result<(), GuidedError> {
    let status = client.status()?.value;
    println!(
        "ferrochain node at {}: height {}, difficulty {:.2} bits, {}",
        client.node(),
        status.height,
        status.difficulty,
        view::count(status.peers.len() as u64, "peer"),
    );
    println!("{KEYS}");
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
/// notes wait here until the block is mined. Only a transfer the node accepted counts.
fn mine_block(client: &Client, keys: &Keystore, theme: &ColorfulTheme) -> Result<(), ActionError> {
    let mut draft: Vec<Transaction> = Vec::new();
    let mut sent = 0;
    loop {
        let count = (draft.len() + sent) as u64;
        let items = [
            "Send coins from a wallet".to_owned(),
            "Add a note (free text)".to_owned(),
            format!(
                "Mine the block ({} + pending transfers)",
                view::count(count, "transaction")
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
                Ok(Sent::Yes) => sent += 1,
                Ok(Sent::No) => {}
                Err(ActionError::Terminal(e)) => return Err(e.into()),
                Err(e) => eprintln!("error: {e}"),
            },
            Some(1) => {
                if let Some(note) = ask_note(theme, &draft)? {
                    println!("  added: {note}");
                    draft.push(Transaction::Note(note));
                }
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

/// Whether "Send coins" submitted a transfer, or the user backed out before it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sent {
    Yes,
    No,
}

/// The most a wallet with `spendable` can send when the transfer pays `fee`: amount and fee
/// both come out of the balance. `None` when the fee leaves nothing to send.
fn most_sendable(spendable: Amount, fee: Amount) -> Option<Amount> {
    spendable
        .checked_sub(fee)
        .filter(|most| *most > Amount::ZERO)
}

/// Picks a paying wallet (creating one if asked) and checks it has coins to send; then asks
/// for a recipient (questioning the wallet's own address), a fee and an amount within the
/// balance, shows the whole transfer, and signs and submits it only once confirmed. Esc or
/// `q` in any step leaves without sending.
fn send_coins(
    client: &Client,
    keys: &Keystore,
    theme: &ColorfulTheme,
) -> Result<Sent, ActionError> {
    let Some((name, address)) = pick_wallet(client, keys, theme)? else {
        return Ok(Sent::No);
    };
    // Until the confirmation only the name and address are needed; the key is opened to sign.
    let account = client.account(&address)?.value;
    let spendable = account
        .balance
        .checked_sub(account.pending.spend)
        .unwrap_or(Amount::ZERO);
    let pending = match account.pending.count {
        0 => String::new(),
        n => format!(
            " ({} pending spend {})",
            view::count(n, "transfer"),
            account.pending.spend
        ),
    };
    println!("  {} has {spendable} to spend{pending}", name);
    if spendable == Amount::ZERO {
        println!(
            "  nothing to send from {}: it needs coins first (a transfer to it, or blocks mined \
             with it as the node's --miner)",
            name
        );
        return Ok(Sent::No);
    }
    let known = keys.list()?;
    let to = loop {
        let Some(to) = TextPrompt::new(theme, "Recipient (an address fc1... or a wallet name)")
            .ask(|text| keys.resolve(text.trim()).map_err(|e| e.to_string()))?
        else {
            return Ok(Sent::No);
        };
        if to != address {
            break to;
        }
        let question = format!(
            "{} is {}'s own address: send it coins from itself (only the fee changes hands)?",
            to.short(),
            name
        );
        if Confirm::with_theme(theme)
            .with_prompt(question)
            .interact_opt()?
            == Some(true)
        {
            break to;
        }
    };
    let Some(fee) = TextPrompt::new(theme, "Fee in FER, paid to the miner")
        .default(DEFAULT_FEE.to_string())
        .ask(|text| {
            let fee: Amount = text.parse().map_err(|e: ParseAmountError| e.to_string())?;
            match most_sendable(spendable, fee) {
                Some(_) => Ok(fee),
                None => Err(format!(
                    "{} has {spendable} to spend: a fee of {fee} leaves nothing to send",
                    name
                )),
            }
        })?
    else {
        return Ok(Sent::No);
    };
    // The fee was accepted only if it leaves something to send.
    let most = most_sendable(spendable, fee).expect("a fee that leaves something to send");
    let Some(amount) =
        TextPrompt::new(theme, format!("Amount in FER (at most {most})")).ask(|text| {
            let amount: Amount = text.parse().map_err(|e: ParseAmountError| e.to_string())?;
            match amount {
                a if a == Amount::ZERO => Err("the amount must be more than 0".into()),
                a if a > most => Err(format!(
                    "{} can send at most {most} ({spendable} less the fee of {fee})",
                    name
                )),
                a => Ok(a),
            }
        })?
    else {
        return Ok(Sent::No);
    };
    let recipient = known
        .iter()
        .find(|(_, address)| *address == to)
        .map(|(name, _)| name.as_str());
    let transfer = view::TransferDraft {
        from: (&name, &address),
        to: (recipient, &to),
        amount,
        fee,
        spendable,
    };
    println!("{}", view::transfer_draft(&transfer));
    let confirmed = Confirm::with_theme(theme)
        .with_prompt("Sign and send this transfer?")
        .interact_opt()?;
    let unlocked = match confirmed {
        Some(true) => unlock(keys, &name, theme)?,
        _ => None,
    };
    let Some(signer) = unlocked else {
        println!("  not sent");
        return Ok(Sent::No);
    };
    let submitted = commands::send(client, &signer, to, amount, fee)?;
    println!(
        "  sent {amount} from {} to {} (fee {fee}): transfer {} is pending",
        name,
        recipient.map_or_else(|| to.to_string(), str::to_owned),
        submitted.value.id
    );
    Ok(Sent::Yes)
}

/// The wallet's key: at once from a plain key file, else once its passphrase is typed (asked
/// again when wrong); `None` when the user backs out.
fn unlock(
    keys: &Keystore,
    name: &str,
    theme: &ColorfulTheme,
) -> Result<Option<Wallet>, ActionError> {
    let stored = keys.open(name)?;
    if !stored.is_encrypted() {
        return Ok(Some(stored.unlock(None)?));
    }
    let prompt = format!("Passphrase of wallet {name}");
    Ok(TextPrompt::new(theme, prompt).hidden().ask(|text| {
        let passphrase = Passphrase::new(text).map_err(|e| e.to_string())?;
        keys.open(name)
            .and_then(|stored| stored.unlock(Some(&passphrase)))
            .map_err(|e| e.to_string())
    })?)
}

/// Chooses a wallet of the keystore, shown with its balance, or creates one; its name and
/// address, or `None` when the user backs out.
fn pick_wallet(
    client: &Client,
    keys: &Keystore,
    theme: &ColorfulTheme,
) -> Result<Option<(String, Address)>, ActionError> {
    let WalletBalances {
        wallets: list,
        balances,
        unavailable,
    } = wallet::balances(client, keys)?;
    if let Some(e) = unavailable {
        // Sending needs the node: one that cannot say the balances ends the form here.
        return Err(e.into());
    }
    // Only wallets shown with a balance can be picked.
    let balances = balances.unwrap_or_default();
    let list: Vec<(String, Address)> = list.into_iter().take(balances.len()).collect();
    let mut items = view::wallet_rows(&list, &balances);
    items.push("Create a new wallet".to_owned());
    let Some(choice) = Select::with_theme(theme)
        .with_prompt("Sending wallet")
        .items(&items)
        .default(0)
        .interact_opt()?
    else {
        return Ok(None);
    };
    match list.into_iter().nth(choice) {
        Some(picked) => Ok(Some(picked)),
        None => Ok(create_wallet(keys, theme)?.map(|w| (w.name, w.address))),
    }
}

/// Asks for a new wallet's name until one is free and valid, then creates it; `None` when the
/// user backs out.
fn create_wallet(keys: &Keystore, theme: &ColorfulTheme) -> Result<Option<Wallet>, ActionError> {
    let taken: Vec<String> = keys.list()?.into_iter().map(|(name, _)| name).collect();
    let Some(name) =
        TextPrompt::new(theme, "New wallet name (letters, digits, - or _)").ask(|text| {
            let name = text.trim();
            if taken.iter().any(|t| t == name) {
                return Err(format!("a wallet named {name:?} already exists"));
            }
            match Keystore::valid_name(name) {
                true => Ok(name.to_owned()),
                false => Err(WalletError::BadName(text.to_owned()).to_string()),
            }
        })?
    else {
        return Ok(None);
    };
    let wallet = keys.create(&name)?;
    println!(
        "  created wallet {} with address {}\n  its key is in {} (keep it safe)",
        wallet.name,
        wallet.address,
        keys.dir().display()
    );
    Ok(Some(wallet))
}

/// The keystore's wallets with their balances, and wallet creation.
fn wallets(client: &Client, keys: &Keystore, theme: &ColorfulTheme) -> Result<(), ActionError> {
    let items = [
        "List wallets and balances",
        "Create a wallet",
        "History of a wallet (transfers sent and received, newest first)",
        "Back to the menu",
    ];
    submenu(
        theme,
        "Wallets and balances",
        &items,
        |choice| match choice {
            0 => Some(list_balances(client, keys)),
            1 => Some(create_wallet(keys, theme).map(drop)),
            2 => Some(wallet_history(client, keys, theme)),
            _ => None,
        },
    )
}

/// The latest entries of a picked wallet's history, as `ferrochain wallet history` shows them.
fn wallet_history(
    client: &Client,
    keys: &Keystore,
    theme: &ColorfulTheme,
) -> Result<(), ActionError> {
    let list = keys.list()?;
    if list.is_empty() {
        println!("{}", view::wallets(&list));
        return Ok(());
    }
    let names: Vec<&str> = list.iter().map(|(name, _)| name.as_str()).collect();
    let Some(choice) = Select::with_theme(theme)
        .with_prompt("Whose history?")
        .items(&names)
        .default(0)
        .interact_opt()?
    else {
        return Ok(());
    };
    let (name, address) = &list[choice];
    let page = client.history(address, None, HISTORY_ENTRIES)?.value;
    println!("{}", view::history(Some(name), &page));
    Ok(())
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

/// Asks for a note until one is valid and not already in the block; `None` when the user
/// backs out.
fn ask_note(
    theme: &ColorfulTheme,
    draft: &[Transaction],
) -> Result<Option<Note>, dialoguer::Error> {
    TextPrompt::new(theme, format!("Note (1 to {} bytes)", Note::MAX_BYTES)).ask(|text| {
        // Empty input reaches the parser too, which says why it is refused.
        let note = Note::new(text).map_err(|e| e.to_string())?;
        match draft.contains(&Transaction::Note(note.clone())) {
            true => Err("this block already has that note; entries must be unique".into()),
            false => Ok(note),
        }
    })
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
        let mut items = table.lines();
        // The header is the list's prompt: the theme draws it directly above the rows, shifted
        // as far as they are (its prompt mark and the item marker are one column each), and
        // clears it with them once a row is picked.
        let header = items.remove(0);
        let newest = page.length.saturating_sub(1);
        let older = blocks.last().is_some_and(|b| b.index.get() > 0);
        let newer = top < newest;
        if older {
            items.push("Older blocks".to_owned());
        }
        if newer {
            items.push("Newer blocks".to_owned());
        }
        items.push("Back to the menu".to_owned());
        let term = Term::stderr();
        let title = format!(
            "Blocks {from} to {top} of {} (newest first). Select a block for its details.",
            page.length
        );
        term.write_line(&title)?;
        let choice = Select::with_theme(theme)
            .with_prompt(header)
            .report(false)
            .items(&items)
            .default(selected.min(items.len() - 1))
            .max_length(BLOCKS_PER_SCREEN as usize + 3)
            .interact_opt()?;
        term.clear_last_lines(prompt::rows(
            measure_text_width(&title),
            term_columns(&term),
        ))?;
        let Some(choice) = choice else {
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
        1 => Some(match ask_peer(theme) {
            Ok(Some(peer)) => client
                .register(&[peer])
                .map(|r| println!("{}", view::peers(Some(&r.value.message), &r.value.list)))
                .map_err(Into::into),
            Ok(None) => Ok(()),
            Err(e) => Err(e.into()),
        }),
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

/// Asks for a peer's base URL until one parses; `None` when the user backs out.
fn ask_peer(theme: &ColorfulTheme) -> Result<Option<PeerUrl>, dialoguer::Error> {
    TextPrompt::new(theme, "Peer URL (http://host:port)")
        .ask(|text| PeerUrl::parse(text).map_err(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialoguer::theme::Theme;

    fn fer(text: &str) -> Amount {
        text.parse().unwrap()
    }

    #[test]
    fn the_most_a_wallet_can_send_is_its_balance_less_the_fee() {
        assert_eq!(
            most_sendable(fer("2.5"), fer("0.00001")),
            Some(fer("2.49999"))
        );
        assert_eq!(most_sendable(fer("2.5"), Amount::ZERO), Some(fer("2.5")));
        assert_eq!(
            most_sendable(Amount::from_units(1_001), Amount::from_units(1_000)),
            Some(Amount::from_units(1))
        );
        // A fee that takes it all, or more, leaves nothing to send.
        assert_eq!(most_sendable(fer("0.00001"), fer("0.00001")), None);
        assert_eq!(most_sendable(fer("0.00001"), fer("1")), None);
        assert_eq!(most_sendable(Amount::ZERO, Amount::ZERO), None);
    }

    #[test]
    fn a_header_drawn_as_the_prompt_starts_in_the_rows_column() {
        let theme = ColorfulTheme::default();
        let (mut prompt, mut active, mut inactive) = (String::new(), String::new(), String::new());
        theme.format_select_prompt(&mut prompt, "HEIGHT").unwrap();
        theme
            .format_select_prompt_item(&mut active, "3", true)
            .unwrap();
        theme
            .format_select_prompt_item(&mut inactive, "3", false)
            .unwrap();
        let column = |line: &str, text: &str| {
            let plain = dialoguer::console::strip_ansi_codes(line);
            measure_text_width(&plain[..plain.find(text).unwrap()])
        };
        assert_eq!(column(&prompt, "HEIGHT"), 2);
        assert_eq!(column(&active, "3"), 2);
        assert_eq!(column(&inactive, "3"), 2);
    }
}
