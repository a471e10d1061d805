//! Human-readable rendering of the node's answers: aligned tables, UTC times, sizes and rates.
//!
//! Everything here turns values into `String`s and prints nothing, so the guided menu and the
//! subcommands show the same text and tests can check it without a terminal.

use crate::chain::{Address, Amount};
use crate::chain::{Block, BlockHash, Transaction, WireBlock, Work};
use crate::mining::MiningStats;
use crate::network::message::{
    wire_name, AccountHistory, AccountView, Direction, HistoryItem, Mined, NodeStatus, Peers,
    Resolved, TransactionView, Verification,
};
use crate::network::PeerState;
use std::fmt::Write;

/// How a column's cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Columns padded to their widest cell, two spaces apart; no borders, so it copies cleanly.
#[derive(Clone, Debug)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&str, Align)]) -> Table {
        Table {
            columns: columns.iter().map(|(h, a)| (h.to_string(), *a)).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    /// The header line, then one line per row; each line without trailing spaces.
    pub fn lines(&self) -> Vec<String> {
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.columns[i].0.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header: Vec<String> = self.columns.iter().map(|(h, _)| h.clone()).collect();
        std::iter::once(&header)
            .chain(&self.rows)
            .map(|cells| {
                let mut line = String::new();
                for (i, cell) in cells.iter().enumerate() {
                    let pad = widths[i] - cell.chars().count();
                    if i > 0 {
                        line.push_str("  ");
                    }
                    match self.columns[i].1 {
                        Align::Left => {
                            line.push_str(cell);
                            line.extend(std::iter::repeat_n(' ', pad));
                        }
                        Align::Right => {
                            line.extend(std::iter::repeat_n(' ', pad));
                            line.push_str(cell);
                        }
                    }
                }
                line.trim_end().to_owned()
            })
            .collect()
    }

    pub fn render(&self) -> String {
        self.lines().join("\n")
    }
}

/// Bytes in the largest binary unit that keeps the figure at or above 1.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `n` of a regular noun: `1 transfer`, `2 transfers`, `0 transfers`.
pub fn count(n: u64, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// How long a search for `work` expected hashes takes on average at `per_second`; `None`
/// before there is a rate to go by.
pub fn expected_time(work: Work, per_second: f64) -> Option<String> {
    // A u128 of expected hashes loses only precision no one reads as f64.
    (per_second > 0.0).then(|| duration_ms(work.to_u128() as f64 / per_second * 1000.0))
}

/// Hashes per second with an SI prefix.
pub fn hash_rate(per_second: f64) -> String {
    match per_second {
        r if r >= 1e9 => format!("{:.2} GH/s", r / 1e9),
        r if r >= 1e6 => format!("{:.2} MH/s", r / 1e6),
        r if r >= 1e3 => format!("{:.2} kH/s", r / 1e3),
        r => format!("{r:.0} H/s"),
    }
}

/// Milliseconds as seconds with a precision that suits the figure.
pub fn duration_ms(ms: f64) -> String {
    match ms {
        ms if ms < 10.0 => format!("{ms:.2} ms"),
        ms if ms < 1000.0 => format!("{ms:.1} ms"),
        ms if ms < 120_000.0 => format!("{:.2} s", ms / 1000.0),
        ms if ms < 7_200_000.0 => format!("{:.1} min", ms / 60_000.0),
        ms if ms < 172_800_000.0 => format!("{:.1} h", ms / 3_600_000.0),
        ms => format!("{:.1} days", ms / 86_400_000.0),
    }
}

/// A transaction as a person reads it: a note's text as is, a transfer or reward in words.
pub fn transaction(tx: &Transaction) -> String {
    match tx {
        Transaction::Note(note) => note.to_string(),
        Transaction::Transfer(t) => format!(
            "transfer {} {} -> {} (fee {}, nonce {})",
            t.amount,
            t.from.short(),
            t.to.short(),
            t.fee,
            t.nonce
        ),
        Transaction::Reward(r) => format!("reward {} -> {}", r.amount, r.to.short()),
    }
}

/// An account's balance and what it has pending.
pub fn account(name: Option<&str>, a: &AccountView) -> String {
    let mut rows = Vec::new();
    if let Some(name) = name {
        rows.push(("wallet", name.to_owned()));
    }
    rows.push(("address", a.address.to_string()));
    rows.push(("balance", a.balance.to_string()));
    rows.push(("sent", count(a.nonce, "transfer")));
    if a.pending.count > 0 {
        rows.push((
            "pending",
            format!(
                "{} spending {}",
                count(a.pending.count, "transfer"),
                a.pending.spend
            ),
        ));
    }
    rows.iter()
        .map(|(k, v)| format!("{k:>8}  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The wallets of a keystore.
pub fn wallets(list: &[(String, Address)]) -> String {
    if list.is_empty() {
        return "no wallets yet: create one with `ferrochain wallet new <name>`".to_owned();
    }
    let mut table = Table::new(&[("wallet", Align::Left), ("address", Align::Left)]);
    for (name, address) in list {
        table.row(vec![name.clone(), address.to_string()]);
    }
    table.render()
}

/// One line per wallet (name, short address, balance, in aligned columns) for a picker.
pub fn wallet_rows(list: &[(String, Address)], balances: &[Amount]) -> Vec<String> {
    let mut table = Table::new(&[
        ("wallet", Align::Left),
        ("address", Align::Left),
        ("balance", Align::Right),
    ]);
    for ((name, address), balance) in list.iter().zip(balances) {
        table.row(vec![name.clone(), address.short(), balance.to_string()]);
    }
    table.lines().split_off(1)
}

/// A transfer about to be signed, as the confirmation shows it.
pub struct TransferDraft<'a> {
    /// The paying wallet's name and address.
    pub from: (&'a str, &'a Address),
    /// The recipient's wallet name, if it is one of the keystore's, and its address.
    pub to: (Option<&'a str>, &'a Address),
    pub amount: Amount,
    pub fee: Amount,
    /// What the paying wallet could spend before this transfer.
    pub spendable: Amount,
}

/// Every field of a transfer before it is signed: who pays, who receives (by name and in
/// full), how much, the fee, and what is left.
pub fn transfer_draft(t: &TransferDraft) -> String {
    let total = t.amount.checked_add(t.fee);
    let left = total.and_then(|total| t.spendable.checked_sub(total));
    let rows = [
        ("from", format!("{} {}", t.from.0, t.from.1)),
        (
            "to",
            format!("{} {}", t.to.0.unwrap_or("(not a wallet here)"), t.to.1),
        ),
        ("amount", t.amount.to_string()),
        ("fee", t.fee.to_string()),
        (
            "total",
            match (total, left) {
                (Some(total), Some(left)) => format!("{total}, leaving {left} to spend"),
                (Some(total), None) => format!("{total}, more than the {} spendable", t.spendable),
                (None, _) => "more than any balance".to_owned(),
            },
        ),
    ];
    rows.iter()
        .map(|(k, v)| format!("{k:>8}  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The hash a block states, or the one its fields hash to when it states none.
pub fn block_hash(block: &WireBlock) -> BlockHash {
    match block.hash {
        Some(hash) => hash,
        // Building a block fails only on a stated hash that differs, and there is none here.
        None => block
            .clone()
            .into_block()
            .expect("no stated hash to contradict")
            .hash(),
    }
}

/// The columns of the chain table.
pub fn chain_table() -> Table {
    Table::new(&[
        ("HEIGHT", Align::Right),
        ("TIME (UTC)", Align::Left),
        ("HASH", Align::Left),
        ("TXS", Align::Right),
        ("DIFFICULTY", Align::Right),
    ])
}

/// One block as a row of [`chain_table`].
pub fn block_row(block: &WireBlock) -> Vec<String> {
    vec![
        block.index.to_string(),
        block.timestamp.utc(),
        block_hash(block).short(),
        block.transactions.len().to_string(),
        format!("{:.2}", block.target.difficulty_bits()),
    ]
}

/// `blocks` in the order given, as a table.
pub fn blocks(blocks: &[WireBlock]) -> String {
    let mut table = chain_table();
    for block in blocks {
        table.row(block_row(block));
    }
    table.render()
}

/// Every field of one block, then its transactions one per line.
pub fn block_details(block: &WireBlock) -> String {
    let mut out = String::new();
    let fields = [
        ("height", block.index.to_string()),
        ("hash", block_hash(block).to_string()),
        ("previous hash", block.previous_hash.to_string()),
        ("merkle root", block.merkle_root.to_string()),
        (
            "time",
            format!("{} UTC ({})", block.timestamp.utc(), block.timestamp),
        ),
        ("target", block.target.to_string()),
        ("nonce", block.nonce.to_string()),
        ("version", block.version.to_string()),
        ("transactions", block.transactions.len().to_string()),
    ];
    for (name, value) in fields {
        let _ = writeln!(out, "{name:>14}  {value}");
    }
    for (i, tx) in block.transactions.iter().enumerate() {
        let _ = writeln!(out, "{:>14}  {}", format!("#{}", i + 1), transaction(tx));
    }
    out.trim_end().to_owned()
}

/// A search's figures on one line.
pub fn mining_stats(stats: &MiningStats) -> String {
    format!(
        "{} in {}, {} on {}, node CPU {}, memory {}",
        count(stats.attempts, "attempt"),
        duration_ms(stats.elapsed_ms),
        hash_rate(stats.hash_rate),
        count(stats.threads as u64, "thread"),
        crate::mining::CpuFigure(stats.cpu_percent),
        bytes(stats.memory_bytes)
    )
}

/// The block a `POST /mine` produced and how the search went.
pub fn mined(mined: &Mined) -> String {
    format!(
        "{}\n{}\n{:>14}  {}",
        mined.message,
        block_details(&wire(&mined.block)),
        "search",
        mining_stats(&mined.stats)
    )
}

/// A block in the form a chain page shows it, with the hash it states.
fn wire(block: &Block) -> WireBlock {
    let h = &block.header;
    WireBlock {
        index: h.height,
        version: h.version,
        timestamp: h.timestamp,
        previous_hash: h.prev_hash,
        merkle_root: h.merkle_root,
        target: h.target,
        nonce: h.nonce,
        transactions: block.transactions.clone(),
        hash: Some(block.hash()),
    }
}

/// `GET /status` as a two-column list.
pub fn status(node: &str, s: &NodeStatus) -> String {
    let mut rows = vec![
        ("node", node.to_owned()),
        ("version", s.version.clone()),
        ("height", s.height.to_string()),
        ("tip", s.tip.to_string()),
        ("total work", s.total_work.to_string()),
        ("difficulty", s.next_target.to_string()),
        ("rules", s.params.to_string()),
        ("genesis", s.genesis.to_string()),
        (
            "peers",
            match s.peers.len() {
                0 => "none".to_owned(),
                _ => s
                    .peers
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        ),
        ("syncing", if s.syncing { "yes" } else { "no" }.to_owned()),
    ];
    if let Some(miner) = &s.miner {
        rows.push(("miner", miner.to_string()));
    }
    rows.push(("mempool", count(s.mempool as u64, "transfer")));
    let mining = match &s.mining {
        p if p.active => format!(
            "block {} for {}: {}, {}",
            s.height.next(),
            duration_ms(p.elapsed_ms),
            count(p.attempts, "attempt"),
            hash_rate(p.hash_rate)
        ),
        p => format!("idle ({})", count(p.threads as u64, "thread")),
    };
    let mining = match s.mining.kernel {
        Some(kernel) => format!("{mining}, {kernel} kernel"),
        None => mining,
    };
    rows.push(("mining", mining));
    if let Some(last) = &s.last_mined {
        rows.push(("last mined", mining_stats(last)));
    }
    if let Some(p) = &s.process {
        rows.push((
            "process",
            format!(
                "CPU {:.0}%, memory {}",
                p.cpu_percent,
                bytes(p.memory_bytes)
            ),
        ));
    }
    rows.iter()
        .map(|(k, v)| format!("{k:>10}  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The peer list, one per line, or a note that there is none; after `message` if there is one.
pub fn peers(message: Option<&str>, p: &Peers) -> String {
    let mut out = String::new();
    if let Some(message) = message {
        let _ = writeln!(out, "{message}");
    }
    match p.nodes.len() {
        0 => out.push_str("no peers"),
        n => {
            let _ = write!(out, "{}:", count(n as u64, "peer"));
            for node in &p.nodes {
                let _ = write!(out, "\n  {node}");
                let Some(line) = p.peers.iter().flatten().find(|l| l.url == *node) else {
                    continue;
                };
                let state = state_name(line.state);
                let _ = match (line.state, &line.ban_reason, &line.last_error) {
                    (PeerState::Ok, _, _) => Ok(()),
                    (_, Some(why), _) | (_, None, Some(why)) => write!(out, "  {state}: {why}"),
                    (_, None, None) => write!(out, "  {state}"),
                };
            }
        }
    }
    out
}

/// A peer state by the name the API gives it (`backoff`, `banned`, ...).
pub fn state_name(state: PeerState) -> String {
    wire_name(&state).unwrap_or_else(|| format!("{state:?}"))
}

/// How a resolve went, with a line per peer.
pub fn resolved(r: &Resolved) -> String {
    let mut out = format!(
        "{} (chain length {}, {})",
        r.message,
        r.length,
        if r.replaced { "replaced" } else { "kept" }
    );
    if r.peers.is_empty() {
        out.push_str("\nno peers to ask");
        return out;
    }
    let mut table = Table::new(&[
        ("PEER", Align::Left),
        ("BLOCKS ADDED", Align::Right),
        ("RESULT", Align::Left),
    ]);
    for p in &r.peers {
        table.row(vec![
            p.peer.to_string(),
            p.added.to_string(),
            p.error.clone().unwrap_or_else(|| "ok".to_owned()),
        ]);
    }
    out.push('\n');
    out.push_str(&table.render());
    out
}

/// The wallets of a keystore with their balances; `balances` is `None` when the node could not
/// be asked, and `why` then says why.
pub fn wallet_balances(
    list: &[(String, Address)],
    balances: Option<&[Amount]>,
    why: Option<&str>,
) -> String {
    if list.is_empty() {
        return wallets(list);
    }
    let Some(balances) = balances else {
        let why = why.unwrap_or("the node was not asked");
        return format!("{}\nno balances: {why}", wallets(list));
    };
    let mut table = Table::new(&[
        ("wallet", Align::Left),
        ("balance", Align::Right),
        ("address", Align::Left),
    ]);
    for ((name, address), balance) in list.iter().zip(balances) {
        table.row(vec![name.clone(), balance.to_string(), address.to_string()]);
    }
    table.render()
}

/// What a history entry did to the address's balance, signed: `+` received, `-` paid (the
/// amount and fee sent, or only the fee of a transfer to oneself).
fn balance_change(item: &HistoryItem) -> String {
    let (sign, amount) = match (&item.transaction, item.direction) {
        (Transaction::Transfer(t), Direction::Sent) => ("-", t.cost()),
        (Transaction::Transfer(t), Direction::ToSelf) => ("-", Some(t.fee)),
        (Transaction::Transfer(t), Direction::Received) => ("+", Some(t.amount)),
        (Transaction::Reward(r), _) => ("+", Some(r.amount)),
        (Transaction::Note(_), _) => ("", Some(Amount::ZERO)),
    };
    match amount {
        Some(amount) => format!("{sign}{amount}"),
        None => "overflow".to_owned(),
    }
}

/// The other side of a history entry, or what it was.
fn counterparty(item: &HistoryItem) -> String {
    match (&item.transaction, item.direction) {
        (Transaction::Transfer(t), Direction::Sent) => format!("to {}", t.to),
        (Transaction::Transfer(t), Direction::Received) => format!("from {}", t.from),
        (Transaction::Transfer(_), Direction::ToSelf) => "to itself".to_owned(),
        (Transaction::Reward(_), _) => "block reward".to_owned(),
        (Transaction::Note(n), _) => n.to_string(),
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Sent => "sent",
        Direction::Received => "received",
        Direction::ToSelf => "self",
    }
}

/// One page of an address's history: its pending transfers, then a table newest first, then
/// how to see older entries.
pub fn history(name: Option<&str>, h: &AccountHistory) -> String {
    let mut out = String::new();
    let whose = match name {
        Some(name) => format!("wallet {name} ({})", h.address),
        None => h.address.to_string(),
    };
    let _ = writeln!(out, "history of {whose} at height {}", h.height);
    for t in &h.pending {
        let what = match (t.from == h.address, t.to == h.address) {
            (true, true) => format!("to itself, fee {}", t.fee),
            (true, false) => format!("-{} to {} (fee {})", t.amount, t.to, t.fee),
            _ => format!("+{} from {}", t.amount, t.from),
        };
        let _ = writeln!(out, "pending  {what}  {}", t.txid().short());
    }
    if h.transactions.is_empty() {
        let _ = write!(
            out,
            "{}",
            match h.pending.is_empty() {
                true => "no transactions yet",
                false => "nothing mined yet",
            }
        );
        return out;
    }
    let mut table = Table::new(&[
        ("HEIGHT", Align::Right),
        ("CONFIRMATIONS", Align::Right),
        ("TIME (UTC)", Align::Left),
        ("", Align::Left),
        ("AMOUNT", Align::Right),
        ("WITH", Align::Left),
        ("ID", Align::Left),
    ]);
    for item in &h.transactions {
        table.row(vec![
            item.height.to_string(),
            item.confirmations.to_string(),
            item.time.utc(),
            direction_name(item.direction).to_owned(),
            balance_change(item),
            counterparty(item),
            item.transaction.txid().short(),
        ]);
    }
    out.push_str(&table.render());
    if let Some(next) = h.next {
        let _ = write!(out, "\nolder entries: add --before {next}");
    }
    out
}

/// Where a transaction stands, then the transaction.
pub fn transaction_status(v: &TransactionView) -> String {
    match v {
        TransactionView::Pending { transaction } => format!(
            "{:>8}  {}\n{:>8}  pending in the mempool\n{:>8}  {}",
            "id",
            transaction.txid(),
            "status",
            "entry",
            self::transaction(&Transaction::Transfer(transaction.clone()))
        ),
        TransactionView::Confirmed {
            block,
            index,
            transaction,
        } => format!(
            "{:>8}  {}\n{:>8}  mined in block {index} ({block})\n{:>8}  {}",
            "id",
            transaction.txid(),
            "status",
            "entry",
            self::transaction(transaction)
        ),
    }
}

/// The outcome of a verification, one line.
pub fn verification(v: &Verification) -> String {
    match &v.error {
        None => format!(
            "valid: {} from genesis to the tip, total work {}",
            count(v.length, "block"),
            v.total_work
        ),
        Some(e) => format!(
            "invalid: block {} ({}) breaks rule {}: {} ({} valid before it)",
            e.index,
            e.hash,
            e.rule,
            e.message,
            count(v.length, "block")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_columns_to_the_widest_cell() {
        let mut t = Table::new(&[("N", Align::Right), ("NAME", Align::Left)]);
        t.row(vec!["1".into(), "a".into()]);
        t.row(vec!["100".into(), "longer name".into()]);
        assert_eq!(t.lines(), ["  N  NAME", "  1  a", "100  longer name"]);
    }

    #[test]
    fn counts_use_the_singular_for_one() {
        assert_eq!(count(0, "transfer"), "0 transfers");
        assert_eq!(count(1, "transfer"), "1 transfer");
        assert_eq!(count(2, "transfer"), "2 transfers");
        let v = Verification::new(1, Work::from_u128(256), None);
        assert!(verification(&v).starts_with("valid: 1 block from genesis"));
    }

    #[test]
    fn the_chain_tables_header_lines_up_with_its_rows() {
        let mut t = chain_table();
        t.row(vec![
            "12".into(),
            "2026-12-02 10:14:59".into(),
            "00b847216cbfa3d5".into(),
            "1".into(),
            "8.00".into(),
        ]);
        t.row(vec![
            "1000".into(),
            "2026-12-02 10:15:01".into(),
            "2010f122605886bc".into(),
            "240".into(),
            "24.25".into(),
        ]);
        assert_eq!(
            t.lines(),
            [
                "HEIGHT  TIME (UTC)           HASH              TXS  DIFFICULTY",
                "    12  2026-12-02 10:14:59  00b847216cbfa3d5    1        8.00",
                "  1000  2026-12-02 10:15:01  2010f122605886bc  240       24.25",
            ]
        );
    }

    #[test]
    fn expected_time_is_the_work_over_the_rate() {
        assert_eq!(
            expected_time(Work::from_u128(1 << 20), (1 << 20) as f64),
            Some("1.00 s".to_owned())
        );
        assert_eq!(
            expected_time(Work::from_u128(1 << 32), 1e6),
            Some("71.6 min".to_owned())
        );
        assert_eq!(expected_time(Work::from_u128(1 << 20), 0.0), None);
        assert_eq!(duration_ms(3.0 * 86_400_000.0), "3.0 days");
    }

    #[test]
    fn sizes_and_rates_pick_a_readable_unit() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(20 * 1024 * 1024), "20.0 MiB");
        assert_eq!(hash_rate(950.0), "950 H/s");
        assert_eq!(hash_rate(2_500_000.0), "2.50 MH/s");
        assert_eq!(duration_ms(0.042), "0.04 ms");
        assert_eq!(duration_ms(12.34), "12.3 ms");
        assert_eq!(duration_ms(1500.0), "1.50 s");
    }
}
