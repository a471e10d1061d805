//! Balances and nonces: the value rules a block must satisfy against the state of its parent,
//! and the rules every transfer is held to, in a block or in the mempool.
//!
//! The per-transfer rules are three functions, one per kind of knowledge they need:
//! [`validate_amounts`] (none), [`validate_spend`] (the sender's account) and
//! [`validate_signature`] (the chain). Block validation, [`apply_block`] and the node's mempool
//! call them, so a transfer is refused for the same reason, with the same [`Rule`], wherever it
//! is checked.
//!
//! The caller loads the accounts a block touches (its [`touched`] addresses) into a map, and
//! [`apply_block`] checks every transfer and the reward against them while updating them. Keeping
//! the state outside makes this pure: storage loads from sled and keeps undo data, the CLI's
//! verifier keeps everything in memory.

use super::address::Address;
use super::amount::Amount;
use super::block::Block;
use super::hash::BlockHash;
use super::header::Height;
use super::params::ChainParams;
use super::rule::Rule;
use super::transaction::{Reward, Transaction, Transfer};
use std::collections::HashMap;

/// An account's state: its balance, and how many transfers it has sent (the nonce its next
/// transfer must carry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    pub balance: Amount,
    pub nonce: u64,
}

impl Account {
    pub const ENCODED_LEN: usize = 16;

    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[..8].copy_from_slice(&self.balance.units().to_le_bytes());
        out[8..].copy_from_slice(&self.nonce.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Account> {
        let bytes: &[u8; Self::ENCODED_LEN] = bytes.try_into().ok()?;
        Some(Account {
            balance: Amount::from_units(u64::from_le_bytes(bytes[..8].try_into().ok()?)),
            nonce: u64::from_le_bytes(bytes[8..].try_into().ok()?),
        })
    }
}

/// Account states by address. Addresses missing from the map are treated as empty accounts.
pub type Accounts = HashMap<Address, Account>;

/// The addresses one transaction pays from or to, each once: a transfer's sender and
/// recipient (one address when someone pays themselves), a reward's miner, no one for a note.
pub fn parties(tx: &Transaction) -> impl Iterator<Item = Address> {
    let (first, second) = match tx {
        Transaction::Note(_) => (None, None),
        Transaction::Transfer(t) => (Some(t.from), (t.to != t.from).then_some(t.to)),
        Transaction::Reward(r) => (Some(r.to), None),
    };
    first.into_iter().chain(second)
}

/// Every address whose account `transactions` read or change, without repeats.
pub fn touched(transactions: &[Transaction]) -> Vec<Address> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for address in transactions.iter().flat_map(parties) {
        if seen.insert(address) {
            out.push(address);
        }
    }
    out
}

/// The reward entry for a block at `height` holding `transactions`: the subsidy plus every
/// transfer's fee, paid to `to`. (Fees of a valid set of transfers cannot overflow: each is
/// covered by a `u64` balance; the sum saturates rather than panic on an invalid set, which
/// validation then refuses.)
pub fn block_reward(to: Address, height: Height, transactions: &[Transaction]) -> Transaction {
    let fees = transactions
        .iter()
        .filter_map(Transaction::as_transfer)
        .fold(Amount::ZERO, |sum, t| {
            sum.checked_add(t.fee)
                .unwrap_or(Amount::from_units(u64::MAX))
        });
    let amount = ChainParams::SUBSIDY
        .checked_add(fees)
        .unwrap_or(Amount::from_units(u64::MAX));
    Transaction::Reward(Reward { to, amount, height })
}

/// The rules a transfer is held to on its own: it moves something, and its amount plus its fee
/// fit in an amount. Returns that cost. (The transfer's id, a hash, is computed only to name a
/// broken rule.)
pub fn validate_amounts(transfer: &Transfer) -> Result<Amount, Rule> {
    if transfer.amount == Amount::ZERO {
        return Err(Rule::ZeroAmount {
            txid: transfer.txid(),
        });
    }
    transfer.cost().ok_or_else(|| Rule::AmountOverflow {
        txid: transfer.txid(),
    })
}

/// The rules a transfer is held to against the account it spends from: it carries the
/// account's next nonce (so it is neither a replay nor ahead of a missing one), and the
/// account's balance covers its cost. Returns the account once the transfer has left it.
///
/// `sender` is whatever state the transfer follows: the parent's account, less the block's
/// earlier transfers, in [`apply_block`]; the tip's account, less what is already pending, in
/// the mempool.
pub fn validate_spend(sender: &Account, transfer: &Transfer) -> Result<Account, Rule> {
    let cost = transfer.cost().ok_or_else(|| Rule::AmountOverflow {
        txid: transfer.txid(),
    })?;
    if transfer.nonce != sender.nonce {
        return Err(Rule::BadNonce {
            txid: transfer.txid(),
            expected: sender.nonce,
            got: transfer.nonce,
        });
    }
    let balance = sender
        .balance
        .checked_sub(cost)
        .ok_or_else(|| Rule::InsufficientBalance {
            txid: transfer.txid(),
            balance: sender.balance,
            needed: cost,
        })?;
    Ok(Account {
        balance,
        nonce: sender.nonce + 1,
    })
}

/// The rule a transfer is held to against the chain: its signature verifies for `chain` (the
/// genesis hash), strictly. Blocks check theirs in a batch instead (see
/// [`SignatureCheck`](super::SignatureCheck)), which reports the same rule.
pub fn validate_signature(transfer: &Transfer, chain: &BlockHash) -> Result<(), Rule> {
    if transfer.verify_signature(chain) {
        Ok(())
    } else {
        Err(Rule::BadSignature {
            txid: transfer.txid(),
        })
    }
}

/// Applies `block`'s transfers in order, then its reward, to `accounts`. Each transfer must carry
/// its sender's next nonce and be covered by the sender's balance at that point; the reward may
/// claim at most the subsidy plus the block's fees. On error the map is partly updated and must
/// be discarded.
pub fn apply_block(block: &Block, accounts: &mut Accounts) -> Result<(), Rule> {
    let mut fees = Amount::ZERO;
    for tx in &block.transactions {
        let Transaction::Transfer(t) = tx else {
            continue;
        };
        let overflow = || Rule::AmountOverflow { txid: t.txid() };
        let sender = accounts.entry(t.from).or_default();
        *sender = validate_spend(sender, t)?;
        let recipient = accounts.entry(t.to).or_default();
        recipient.balance = recipient
            .balance
            .checked_add(t.amount)
            .ok_or_else(overflow)?;
        fees = fees.checked_add(t.fee).ok_or_else(overflow)?;
    }
    if let Some(Transaction::Reward(r)) = block.transactions.first() {
        let max = ChainParams::SUBSIDY
            .checked_add(fees)
            .ok_or(Rule::RewardTooLarge {
                got: r.amount,
                max: Amount::from_units(u64::MAX),
            })?;
        if r.amount > max {
            return Err(Rule::RewardTooLarge { got: r.amount, max });
        }
        let miner = accounts.entry(r.to).or_default();
        miner.balance = miner
            .balance
            .checked_add(r.amount)
            .ok_or(Rule::AmountOverflow {
                txid: block.transactions[0].txid(),
            })?;
    }
    Ok(())
}
