//! The history index: every main-chain transfer and reward, by each address it pays from or to,
//! so a wallet's history is one range scan however long the chain grows.
//!
//! One entry per address and block (schema version 6). Key: address (32 bytes), height (u64
//! big-endian). Big-endian numbers sort numerically, so an address's entries lie together in
//! chain order and a page, newest first, is a reverse scan from a cursor. Value: the block's
//! hash, its timestamp (u64 LE), then each of the address's transactions in the block, in block
//! order: its index in the block (u32 LE), its length (u32 LE) and its canonical encoding, so
//! a page needs no block read.
//!
//! A block writes one entry per address it names, not one per transaction and address: a sled
//! write costs about the same whatever its size, and a block of ten thousand transfers among a
//! few hundred addresses writes a few hundred entries.
//!
//! Entries are written and dropped with the block joining or leaving the main chain, in the same
//! transaction (see `accept.rs`); a store from before the index, or from before this layout,
//! builds it once (`migrate.rs`).

use super::{StoreError, Tip};
use crate::chain::{
    parties, Address, Block, BlockHash, Height, Timestamp, Transaction, TxPosition,
};
use std::collections::HashMap;

/// The tree of history entries (schema version 5; one entry per address and block since 6).
pub(super) const HISTORY_TREE: &str = "history";

const KEY_LEN: usize = 32 + 8;
/// A value's block hash and timestamp, before its transactions.
const VALUE_HEAD: usize = 32 + 8;

/// One transaction of an address's history, as the index holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub at: TxPosition,
    pub block: BlockHash,
    pub timestamp: Timestamp,
    pub transaction: Transaction,
}

/// A page of one address's history, newest first, read at one tip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    pub tip: Tip,
    pub entries: Vec<HistoryEntry>,
    /// Where the next, older page starts; `None` when this page reached the first entry.
    pub next: Option<TxPosition>,
}

pub(super) fn key(address: &Address, height: Height) -> [u8; KEY_LEN] {
    let mut out = [0u8; KEY_LEN];
    out[..32].copy_from_slice(address.as_bytes());
    out[32..].copy_from_slice(&height.get().to_be_bytes());
    out
}

fn decode_height(key: &[u8]) -> Option<Height> {
    let bytes: &[u8; KEY_LEN] = key.try_into().ok()?;
    Some(Height::new(u64::from_be_bytes(
        bytes[32..].try_into().ok()?,
    )))
}

/// One entry's transactions, in block order.
fn decode_entry(key: &[u8], value: &[u8]) -> Option<Vec<HistoryEntry>> {
    let height = decode_height(key)?;
    let block = BlockHash::from_bytes(value.get(..32)?.try_into().ok()?);
    let timestamp = Timestamp::from_millis(u64::from_le_bytes(value.get(32..40)?.try_into().ok()?));
    let mut rest = value.get(VALUE_HEAD..)?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let index = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
        let len = u32::from_le_bytes(rest.get(4..8)?.try_into().ok()?) as usize;
        let transaction = Transaction::decode(rest.get(8..8 + len)?).ok()?;
        rest = &rest[8 + len..];
        out.push(HistoryEntry {
            at: TxPosition { height, index },
            block,
            timestamp,
            transaction,
        });
    }
    (!out.is_empty()).then_some(out)
}

/// The index entries of the main-chain block `block`: one per address it pays from or to, with
/// each of that address's transactions. Keys alone are what a block leaving the main chain
/// removes.
pub(super) fn entries(block: &Block) -> Vec<([u8; KEY_LEN], Vec<u8>)> {
    let hash = block.hash();
    let mut by_address: HashMap<Address, Vec<u8>> = HashMap::new();
    for (position, tx) in block.transactions.iter().enumerate() {
        // A block holds far fewer than 2^32 entries (its size is capped), and a transaction
        // is far shorter than 4 GiB.
        let index = u32::try_from(position).expect("a block's entries fit in u32");
        let len = u32::try_from(tx.encoded_len()).expect("a transaction's length fits in u32");
        for address in parties(tx) {
            let value = by_address.entry(address).or_insert_with(|| {
                let mut head = Vec::with_capacity(VALUE_HEAD + 8 + len as usize);
                head.extend_from_slice(hash.as_bytes());
                head.extend_from_slice(&block.header.timestamp.as_millis().to_le_bytes());
                head
            });
            value.extend_from_slice(&index.to_le_bytes());
            value.extend_from_slice(&len.to_le_bytes());
            tx.encode_into(value);
        }
    }
    by_address
        .into_iter()
        .map(|(address, value)| (key(&address, block.height()), value))
        .collect()
}

/// Up to `limit` transactions of `address`'s history in `tree`, newest first, older than
/// `before` (from the newest without one).
pub(super) fn page(
    tree: &sled::Tree,
    address: &Address,
    before: Option<TxPosition>,
    limit: usize,
) -> Result<(Vec<HistoryEntry>, Option<TxPosition>), StoreError> {
    let start = key(address, Height::GENESIS);
    // The block of `before` itself may hold older transactions: its entry is read too.
    let last = key(
        address,
        before.map_or(Height::new(u64::MAX), |at| at.height),
    );
    let older = |entry: &HistoryEntry| before.is_none_or(|at| entry.at < at);
    let mut entries = Vec::new();
    for item in tree.range(start..=last).rev() {
        let (k, v) = item?;
        let block = decode_entry(&k, &v).ok_or_else(|| {
            StoreError::Corrupt(format!("unreadable history entry for {address}"))
        })?;
        for entry in block.into_iter().rev().filter(older) {
            if entries.len() == limit {
                // One more exists: the page ends here and the next one starts after it.
                let next = entries.last().map(|e: &HistoryEntry| e.at);
                return Ok((entries, next));
            }
            entries.push(entry);
        }
    }
    Ok((entries, None))
}

/// Writes the index entries of every main-chain block from genesis up to `tip` into `tree`,
/// reading blocks through `block_at`. Used by the migrations that build the index for a store
/// from before it or before its layout.
pub(super) fn rebuild(
    tree: &sled::Tree,
    tip: Height,
    mut block_at: impl FnMut(Height) -> Result<Block, StoreError>,
) -> Result<u64, StoreError> {
    tree.clear()?;
    let mut written = 0;
    // Genesis pays no one: accounts start empty.
    for h in 1..=tip.get() {
        let block = block_at(Height::new(h))?;
        let mut batch = sled::Batch::default();
        for (k, v) in entries(&block) {
            batch.insert(&k[..], v);
            written += 1;
        }
        tree.apply_batch(batch)?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_address_then_height() {
        let a = Address::from_bytes([1; 32]);
        let b = Address::from_bytes([2; 32]);
        let mut keys = vec![
            key(&b, Height::new(1)),
            key(&a, Height::new(256)),
            key(&a, Height::new(2)),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                key(&a, Height::new(2)),
                key(&a, Height::new(256)),
                key(&b, Height::new(1))
            ]
        );
        assert_eq!(
            decode_height(&key(&a, Height::new(256))),
            Some(Height::new(256))
        );
    }
}
