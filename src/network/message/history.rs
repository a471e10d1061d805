//! The bodies of an address's history, `GET /accounts/<address>/transactions`: a page of
//! mined entries newest first, each with how it concerns the address, and what is pending.

use crate::chain::{Address, BlockHash, Height, Timestamp, Transaction, Transfer, TxPosition};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /accounts/<address>/transactions`: one page of an address's history, newest first:
/// every main-chain transfer from or to it and every reward paid to it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountHistory {
    pub address: Address,
    /// The tip the page was read at; confirmations count up to it.
    pub height: Height,
    pub tip: BlockHash,
    /// Transfers from or to the address waiting in the mempool (on the first page only: they
    /// are newer than anything mined).
    pub pending: Vec<Transfer>,
    pub transactions: Vec<HistoryItem>,
    /// The `before` that asks for the next, older page; `null` on the last page.
    pub next: Option<TxPosition>,
}

/// One mined transaction of an address's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryItem {
    pub direction: Direction,
    /// Where it is on the main chain: `<height>-<index in the block>`.
    pub position: TxPosition,
    pub height: Height,
    pub block: BlockHash,
    /// The block's timestamp.
    pub time: Timestamp,
    /// Blocks on top of it, its own included: 1 for a transaction in the tip.
    pub confirmations: u64,
    pub transaction: Transaction,
}

/// How a transaction concerns the address whose history shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The address paid it (amount and fee).
    Sent,
    /// The address was paid: a transfer to it, or a block reward.
    Received,
    /// The address paid itself (only the fee leaves).
    #[serde(rename = "self")]
    ToSelf,
}

impl Direction {
    /// How `tx` concerns `address`, if at all.
    pub fn of(tx: &Transaction, address: &Address) -> Option<Direction> {
        match tx {
            Transaction::Transfer(t) => match (t.from == *address, t.to == *address) {
                (true, true) => Some(Direction::ToSelf),
                (true, false) => Some(Direction::Sent),
                (false, true) => Some(Direction::Received),
                (false, false) => None,
            },
            Transaction::Reward(r) => (r.to == *address).then_some(Direction::Received),
            Transaction::Note(_) => None,
        }
    }
}

impl HistoryItem {
    /// The item for `address` of a transaction at `position` in block `block`, seen from a tip
    /// at `tip`; `None` if the transaction does not concern the address.
    pub fn new(
        address: &Address,
        transaction: Transaction,
        position: TxPosition,
        block: BlockHash,
        time: Timestamp,
        tip: Height,
    ) -> Option<HistoryItem> {
        Some(HistoryItem {
            direction: Direction::of(&transaction, address)?,
            position,
            height: position.height,
            block,
            time,
            confirmations: (tip.get() + 1).saturating_sub(position.height.get()),
            transaction,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Amount, Note, Reward, Signature};

    #[test]
    fn an_entry_says_how_it_concerns_the_address_and_counts_confirmations() {
        let (a, b) = (Address::from_bytes([1; 32]), Address::from_bytes([2; 32]));
        let transfer = |from, to| {
            Transaction::Transfer(Transfer {
                from,
                to,
                amount: Amount::from_units(5),
                fee: Amount::ZERO,
                nonce: 0,
                signature: Signature([0; 64]),
            })
        };
        assert_eq!(Direction::of(&transfer(a, b), &a), Some(Direction::Sent));
        assert_eq!(
            Direction::of(&transfer(a, b), &b),
            Some(Direction::Received)
        );
        assert_eq!(Direction::of(&transfer(a, a), &a), Some(Direction::ToSelf));
        assert_eq!(
            Direction::of(&transfer(a, b), &Address::from_bytes([3; 32])),
            None
        );
        let reward = Transaction::Reward(Reward {
            to: b,
            amount: Amount::from_units(1),
            height: Height::new(4),
        });
        assert_eq!(Direction::of(&reward, &b), Some(Direction::Received));
        assert_eq!(Direction::of(&reward, &a), None);
        let note = Transaction::Note(Note::new("hi").unwrap());
        assert_eq!(Direction::of(&note, &a), None);

        let at = TxPosition {
            height: Height::new(4),
            index: 0,
        };
        let item = HistoryItem::new(
            &b,
            reward,
            at,
            BlockHash::ZERO,
            Timestamp::from_millis(1),
            Height::new(6),
        )
        .unwrap();
        assert_eq!((item.confirmations, item.height), (3, Height::new(4)));
        let json = serde_json::to_value(&item).unwrap();
        assert_eq!(
            (json["direction"].as_str(), json["position"].as_str()),
            (Some("received"), Some("4-0"))
        );
        assert_eq!(serde_json::from_value::<HistoryItem>(json).unwrap(), item);
        assert_eq!(serde_json::to_value(Direction::ToSelf).unwrap(), "self");
    }
}
