//! The markup of the explorer's pages without JavaScript, written with `maud`: every value is
//! escaped as it goes in (a note is text, whatever it holds), and nothing here is inline
//! script or style, so the explorer's Content-Security-Policy holds for these pages too. They
//! reuse the script's stylesheet, classes and element ids, so both explorers look alike.
//!
//! Each function takes what the node answered and nothing else: gathering is the handlers' part
//! (`page.rs`), and these only lay it out.

use super::page::href;
use crate::chain::{Address, Block, BlockHash, Height, Transaction, Transfer};
use crate::network::message::{
    wire_name, AccountHistory, AccountView, HistoryItem, NodeStatus, TransactionView,
};
use crate::network::{PeerState, PeerView};
use crate::storage::HeaderSummary;
use maud::{html, Markup, DOCTYPE};
use rocket::http::Status;
use std::fmt::Display;

/// Where a block stands.
pub(super) enum Branch {
    /// On the main chain, `confirmations` deep, followed there by `next` (none at the tip).
    Main {
        confirmations: u64,
        next: Option<BlockHash>,
    },
    /// Beside it; `main` is the main chain's block at the same height, if it reaches it.
    Side { main: Option<BlockHash> },
}

/// A whole page: the bar with the search form, `body` as the page named `id`, the footer.
fn layout(title: &str, id: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ferrochain explorer" }
                link rel="icon" href="/explorer/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/explorer/explorer.css";
            }
            body {
                header.bar {
                    a.brand #home-link href=(href::home()) { "ferrochain " span { "explorer" } }
                    form.search role="search" method="get" action=(href::search()) autocomplete="off" {
                        label.hidden for="search" { "Search" }
                        input #search name="q" type="search" spellcheck="false"
                            placeholder="Height, hash, transaction id or fc1… address";
                        button type="submit" { "Search" }
                    }
                }
                main { div.page id=(id) { (body) } }
                footer.foot {
                    "Served by this node as plain pages, for browsers without JavaScript; "
                    a href="/" { "the live explorer" }
                    " and the node's JSON API ("
                    a href="/status" { "/status" } ", " a href="/openapi.json" { "/openapi.json" }
                    ") show the same."
                }
            }
        }
    }
}

fn section(id: &str, title: &str, body: Markup) -> Markup {
    html! { section.card id=(id) { h2 { (title) } (body) } }
}

/// A table of `rows` under `headings`, or `empty` when there are none.
fn table(id: &str, headings: &[&str], rows: Vec<Markup>, empty: &str) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty id=(id) { (empty) }
        } @else {
            div.scroll {
                table id=(id) {
                    thead { tr { @for h in headings { th scope="col" { (h) } } } }
                    tbody { @for row in rows { (row) } }
                }
            }
        }
    }
}

fn hash(text: impl Display) -> Markup {
    html! { code.hash { (text) } }
}

fn block_link(id: impl Display, text: Markup) -> Markup {
    html! { a href=(href::block(id)) { (text) } }
}

fn tx_link(id: impl Display, text: Markup) -> Markup {
    html! { a href=(href::transaction(id)) { (text) } }
}

fn address_link(address: impl Display + Copy) -> Markup {
    html! { a href=(href::address(address, None::<Height>)) { (hash(address)) } }
}

fn plural(n: impl Into<u64>, one: &str) -> String {
    let n = n.into();
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    }
}

/// A value as the JSON API writes it (`"ok"`, `"sent"`), so the page uses the API's words.
fn wire(value: &impl serde::Serialize) -> String {
    wire_name(value).unwrap_or_else(|| "?".to_owned())
}

fn stat(label: &str, value: &str, id: &str) -> Markup {
    html! { div.stat { span.label { (label) } strong id=(id) { (value) } } }
}

pub(super) fn home(
    status: &NodeStatus,
    recent: &[HeaderSummary],
    pending: &[Transfer],
    peers: &[PeerView],
) -> Markup {
    let usable = peers.iter().filter(|p| p.state == PeerState::Ok).count();
    let blocks = recent.iter().map(|b| {
        let (height, hash_) = (b.header.height, b.header.hash());
        html! { tr {
            td { (block_link(height, html! { (height) })) }
            td { a href=(href::block(hash_)) title=(hash_) { (hash(hash_.short())) } }
            td { (b.header.timestamp.utc()) " UTC" }
            td { (b.entries) }
            td { (b.bytes) " B" }
        } }
    });
    let mempool = pending.iter().map(|t| {
        html! { tr {
            td { (tx_link(t.txid(), hash(t.txid().short()))) }
            td { (address_link(t.from)) } td { (address_link(t.to)) }
            td { (t.amount) } td { (t.fee) }
        } }
    });
    let peer_rows = peers.iter().map(|p| {
        let ban = p.banned_until.map(|until| match &p.ban_reason {
            Some(reason) => format!("until {} UTC: {reason}", until.utc()),
            None => format!("until {} UTC", until.utc()),
        });
        let trouble = p
            .last_error
            .as_ref()
            .map(|e| format!("{}: {e}", plural(p.failures, "failure")));
        let notes: Vec<String> = ban.into_iter().chain(trouble).collect();
        html! { tr {
            td { span.url { (p.url) } }
            td { span class={ "badge state-" (wire(&p.state)) } { (wire(&p.state)) } }
            td { (wire(&p.source)) }
            td { @match p.last_heard { Some(t) => { (t.utc()) " UTC" }, None => "never" } }
            td { span.wrap { (notes.join("; ")) } }
        } }
    });
    let peer_state = match peers.len() {
        0 => "none".to_owned(),
        n => format!("{usable} of {n} usable"),
    };
    let body = html! {
        section.card #summary {
            h2 { "Tip" }
            p.tip { a href=(href::block(status.tip)) title="the block at the tip" {
                code.hash #tip-hash { (status.tip) }
            } }
            div.stats {
                (stat("Height", &status.height.to_string(), "tip-height"))
                (stat("Difficulty", &format!("{:.2} bits", status.difficulty), "difficulty"))
                (stat("Mempool", &plural(status.mempool as u64, "transfer"), "mempool-count"))
                (stat("Peers", &peer_state, "peer-count"))
                (stat("Sync", if status.syncing { "syncing" } else { "in step" }, "syncing"))
            }
        }
        (section("recent", "Recent blocks", table(
            "recent-blocks",
            &["Height", "Hash", "Mined", "Entries", "Size"],
            blocks.collect(),
            "No blocks yet.",
        )))
        (section("mempool", &format!("Mempool ({})", pending.len()), table(
            "mempool-list",
            &["Id", "From", "To", "Amount", "Fee"],
            mempool.collect(),
            "Empty: no transfer is waiting.",
        )))
        (section("peers", &format!("Peers ({})", peers.len()), table(
            "peer-list",
            &["Peer", "State", "Source", "Heard", "Ban or trouble"],
            peer_rows.collect(),
            "No peers.",
        )))
    };
    layout("the tip", "page-home", body)
}

pub(super) fn block(block: &Block, branch: &Branch) -> Markup {
    let (hash_, height) = (block.hash(), block.height());
    let previous = (height > Height::GENESIS).then_some(block.header.prev_hash);
    let next = match branch {
        Branch::Main { next, .. } => *next,
        Branch::Side { .. } => None,
    };
    let entries = block
        .transactions
        .iter()
        .enumerate()
        .map(|(i, tx)| entry_row(i, tx))
        .collect();
    let body = html! {
        section.card #block {
            h2 { "Block " (height) }
            dl.fields #block-fields {
                dt { "Height" } dd #block-height { (height) }
                dt { "Hash" } dd #block-hash { (hash(hash_)) }
                dt { "Branch" } dd #block-branch {
                    @match branch {
                        Branch::Main { .. } => span.badge.state-ok { "main chain" },
                        Branch::Side { main } => {
                            span.badge.state-banned { "side branch" }
                            @if let Some(main) = main {
                                " — the main chain has "
                                a href=(href::block(main)) title=(main) { (hash(main.short())) }
                                " at this height"
                            }
                        }
                    }
                }
                dt { "Confirmations" } dd #block-confirmations {
                    @match branch {
                        Branch::Main { confirmations, .. } => (confirmations),
                        Branch::Side { .. } => "0 (not on the main chain)",
                    }
                }
                dt { "Mined" } dd { (block.header.timestamp.utc()) " UTC" }
                dt { "Previous" } dd #block-previous {
                    @match previous {
                        Some(p) => (block_link(p, hash(p))),
                        None => "none (genesis)",
                    }
                }
                dt { "Next" } dd #block-next {
                    @match (next, branch) {
                        (Some(n), _) => (block_link(n, hash(n))),
                        (None, Branch::Main { .. }) => "none yet (this is the tip)",
                        (None, Branch::Side { .. }) => "not followed on the main chain",
                    }
                }
                dt { "Merkle root" } dd { (hash(block.header.merkle_root)) }
                dt { "Target" } dd { (block.header.target) }
                dt { "Nonce" } dd { (block.header.nonce) }
                dt { "Version" } dd { (block.header.version) }
            }
            nav.pager {
                @match previous { Some(p) => a #previous-link href=(href::block(p)) { "← previous" }, None => span {} }
                @match next { Some(n) => a #next-link href=(href::block(n)) { "next →" }, None => span {} }
            }
        }
        (section("entries", &format!("Entries ({})", block.transactions.len()), table(
            "entry-list",
            &["#", "Kind", "Id", "What"],
            entries,
            "No entries.",
        )))
    };
    layout(&format!("block {height}"), "page-block", body)
}

fn entry_row(i: usize, tx: &Transaction) -> Markup {
    html! { tr {
        td { (i) }
        @match tx {
            Transaction::Transfer(t) => {
                td { "transfer" }
                td { (tx_link(t.txid(), hash(t.txid().short()))) }
                td { (address_link(t.from)) " → " (address_link(t.to)) " " (t.amount)
                     " (fee " (t.fee) ", nonce " (t.nonce) ")" }
            }
            Transaction::Reward(r) => {
                td { "reward" }
                td { (tx_link(tx.txid(), hash(tx.txid().short()))) }
                td { (address_link(r.to)) " " (r.amount) }
            }
            Transaction::Note(n) => {
                td { "note" } td {}
                td { q.note { (n.as_str()) } }
            }
        }
    } }
}

/// A transaction's page; `confirmed` is its confirmations when the main chain holds it.
pub(super) fn transaction(view: &TransactionView, confirmed: Option<u64>) -> Markup {
    let (tx, place) = match view {
        TransactionView::Pending { transaction } => {
            (Transaction::Transfer(transaction.clone()), None)
        }
        TransactionView::Confirmed {
            block,
            index,
            transaction,
        } => (transaction.clone(), Some((*block, *index))),
    };
    let id = tx.txid();
    let body = html! {
        section.card #transaction {
            h2 { @if place.is_some() { "Transaction" } @else { "Pending transaction" } }
            dl.fields #tx-fields {
                dt { "Id" } dd #tx-id { (hash(id)) }
                dt { "Status" } dd #tx-status {
                    @if place.is_some() { span.badge.state-ok { "confirmed" } }
                    @else { span.badge.state-backoff { "pending (in the mempool)" } }
                }
                @if let Some((block, height)) = place {
                    dt { "Block" } dd #tx-block { (block_link(block, hash(block))) }
                    dt { "Height" } dd { (block_link(height, html! { (height) })) }
                }
                @if let Some(confirmations) = confirmed {
                    dt { "Confirmations" } dd #tx-confirmations { (confirmations) }
                }
                @match &tx {
                    Transaction::Transfer(t) => {
                        dt { "Kind" } dd { "transfer" }
                        dt { "From" } dd #tx-from { (address_link(t.from)) }
                        dt { "To" } dd #tx-to { (address_link(t.to)) }
                        dt { "Amount" } dd #tx-amount { (t.amount) }
                        dt { "Fee" } dd { (t.fee) }
                        dt { "Nonce" } dd { (t.nonce) }
                        dt { "Signature" } dd { (hash(wire(&t.signature))) }
                    }
                    Transaction::Reward(r) => {
                        dt { "Kind" } dd { "block reward" }
                        dt { "To" } dd #tx-to { (address_link(r.to)) }
                        dt { "Amount" } dd #tx-amount { (r.amount) }
                        dt { "For height" } dd { (r.height) }
                    }
                    Transaction::Note(n) => {
                        dt { "Kind" } dd { "note" }
                        dt { "Text" } dd { q.note { (n.as_str()) } }
                    }
                }
            }
        }
    };
    layout(&format!("transaction {}", id.short()), "page-tx", body)
}

/// An address's page: the account, what it has waiting (on the newest page only), and one page
/// of its history with a link to the older one; `older` says this is not the newest page.
pub(super) fn address(account: &AccountView, history: &AccountHistory, older: bool) -> Markup {
    let me = account.address;
    let pending = history.pending.iter().map(|t| {
        let (direction, with) = match t.from == me {
            true => ("sent", t.to),
            false => ("received", t.from),
        };
        html! { tr {
            td { (tx_link(t.txid(), hash(t.txid().short()))) }
            td { (direction) } td { (address_link(with)) }
            td { (t.amount) } td { (t.fee) }
        } }
    });
    let rows = history
        .transactions
        .iter()
        .map(|item| history_row(&me, item));
    let pending_now = match account.pending.count {
        0 => "nothing".to_owned(),
        n => format!(
            "{} spending {}",
            plural(n, "transfer"),
            account.pending.spend
        ),
    };
    let body = html! {
        section.card #account {
            h2 { "Address" }
            dl.fields #address-fields {
                dt { "Address" } dd #address { (hash(me)) }
                dt { "Balance" } dd #address-balance { (account.balance) }
                dt { "Nonce" } dd #address-nonce {
                    (account.nonce) " mined (next transfer: " (account.next_nonce) ")"
                }
                dt { "Pending" } dd #address-pending { (pending_now) }
            }
        }
        @if !older {
            (section("address-pending", &format!("Pending ({})", history.pending.len()), table(
                "pending-list",
                &["Id", "Direction", "With", "Amount", "Fee"],
                pending.collect(),
                "Nothing waiting in the mempool.",
            )))
        }
        section.card #history {
            h2 { @if older { "Older history" } @else { "History" } }
            (table(
                "history-list",
                &["Position", "Mined", "Direction", "With", "Amount", "Fee", "Confirmations", "Id"],
                rows.collect(),
                "No mined transfers or rewards here.",
            ))
            nav.pager {
                @if older { a #newest-link href=(href::address(me, None::<Height>)) { "← newest" } }
                @else { span {} }
                @match history.next {
                    Some(next) => a #older-link href=(href::address(me, Some(next))) { "older entries →" },
                    None => span {},
                }
            }
        }
    };
    layout(&format!("address {}", me.short()), "page-address", body)
}

fn history_row(me: &Address, item: &HistoryItem) -> Markup {
    let tx = &item.transaction;
    html! { tr {
        td { a href=(href::block(item.block)) title=(item.block) { (item.position) } }
        td { (item.time.utc()) " UTC" }
        td { @match wire(&item.direction).as_str() { "self" => "to self", d => (d) } }
        @match tx {
            Transaction::Transfer(t) => {
                td { (address_link(if t.from == *me { t.to } else { t.from })) }
                td { (t.amount) } td { (t.fee) }
            }
            Transaction::Reward(r) => { td { "block reward" } td { (r.amount) } td {} }
            Transaction::Note(_) => { td {} td {} td {} }
        }
        td { (item.confirmations) }
        td { (tx_link(tx.txid(), hash(tx.txid().short()))) }
    } }
}

/// A request the node refused, as a page: what it answered, and ways on.
pub(super) fn failure(status: Status, code: &str, message: &str) -> Markup {
    let body = html! {
        section.card #error-card {
            h2 { (status.reason().unwrap_or("Refused")) }
            p #error-message { (message) }
            p.empty { "Status " (status.code) ", " code { (code) } "." }
            p { a href=(href::home()) { "Back to the tip" } }
        }
    };
    layout(status.reason().unwrap_or("refused"), "page-missing", body)
}
