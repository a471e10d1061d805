//! The history index: every main-chain transfer and reward, by each address it pays from or to,
//! so a wallet's history is one range scan however long the chain grows.
//!
//! Key: address (32 bytes), height (u64 big-endian), index in the block (u32 big-endian).
//! Big-endian numbers sort numerically, so an address's entries lie together in chain order and a
//! page, newest first, is a reverse scan from a cursor. Value: the block's hash, its timestamp
//! (u64 LE) and the transaction's canonical encoding, so a page needs no block read.
//!
//! Entries are written and dropped with the block joining or leaving the main chain, in the same
//! transaction (see `accept.rs`); a store from before the index builds it once (`migrate.rs`).

use super::{StoreError, Tip};
use crate::chain::{
    parties, Address, Block, BlockHash, Height, Timestamp, Transaction, TxPosition,
};

/// The tree of history entries (schema version 5).
pub(super) const HISTORY_TREE: &str = "history";

const KEY_LEN: usize = 32 + 8 + 4;

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

pub(super) fn key(address: &Address, at: TxPosition) -> [u8; KEY_LEN] {
    let mut out = [0u8; KEY_LEN];
    out[..32].copy_from_slice(address.as_bytes());
    out[32..40].copy_from_slice(&at.height.get().to_be_bytes());
    out[40..].copy_from_slice(&at.index.to_be_bytes());
    out
}

fn decode_key(bytes: &[u8]) -> Option<TxPosition> {
    let bytes: &[u8; KEY_LEN] = bytes.try_into().ok()?;
    Some(TxPosition {
        height: Height::new(u64::from_be_bytes(bytes[32..40].try_into().ok()?)),
        index: u32::from_be_bytes(bytes[40..].try_into().ok()?),
    })
}

fn value(block: &BlockHash, timestamp: Timestamp, tx: &Transaction) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + tx.encoded_len());
    out.extend_from_slice(block.as_bytes());
    out.extend_from_slice(&timestamp.as_millis().to_le_bytes());
    tx.encode_into(&mut out);
    out
}

fn decode_entry(key: &[u8], value: &[u8]) -> Option<HistoryEntry> {
    let at = decode_key(key)?;
    let block = BlockHash::from_bytes(value.get(..32)?.try_into().ok()?);
    let timestamp = Timestamp::from_millis(u64::from_le_bytes(value.get(32..40)?.try_into().ok()?));
    let transaction = Transaction::decode(value.get(40..)?).ok()?;
    Some(HistoryEntry {
        at,
        block,
        timestamp,
        transaction,
    })
}

/// The index entries of the main-chain block `block`: one per transaction and address it pays
/// from or to. Keys alone are what a block leaving the main chain removes.
pub(super) fn entries(block: &Block) -> Vec<([u8; KEY_LEN], Vec<u8>)> {
    let hash = block.hash();
    let mut out = Vec::new();
    for (position, tx) in block.transactions.iter().enumerate() {
        let at = TxPosition {
            height: block.height(),
            // A block holds far fewer than 2^32 entries (its size is capped).
            index: u32::try_from(position).expect("a block's entries fit in u32"),
        };
        for address in parties(tx) {
            out.push((key(&address, at), value(&hash, block.header.timestamp, tx)));
        }
    }
    out
}

/// Up to `limit` entries of `address`'s history in `tree`, newest first, older than `before`
/// (from the newest without one).
pub(super) fn page(
    tree: &sled::Tree,
    address: &Address,
    before: Option<TxPosition>,
    limit: usize,
) -> Result<(Vec<HistoryEntry>, Option<TxPosition>), StoreError> {
    let start = key(
        address,
        TxPosition {
            height: Height::GENESIS,
            index: 0,
        },
    );
    let end = match before {
        Some(at) => key(address, at).to_vec(),
        None => {
            // Just past every key of this address: the address, then 12 bytes of 0xff, then one
            // more byte (keys are exactly KEY_LEN long, so nothing of this address sorts after).
            let mut end = key(
                address,
                TxPosition {
                    height: Height::new(u64::MAX),
                    index: u32::MAX,
                },
            )
            .to_vec();
            end.push(0);
            end
        }
    };
    let mut entries = Vec::new();
    let mut scan = tree.range(start.to_vec()..end).rev();
    for item in scan.by_ref().take(limit) {
        let (k, v) = item?;
        let entry = decode_entry(&k, &v).ok_or_else(|| {
            StoreError::Corrupt(format!("unreadable history entry for {address}"))
        })?;
        entries.push(entry);
    }
    let more = scan.next().transpose()?.is_some();
    let next = match more {
        true => entries.last().map(|e| e.at),
        false => None,
    };
    Ok((entries, next))
}

/// Writes the index entries of every main-chain block from genesis up to `tip` into `tree`,
/// reading blocks through `block_at`. Used by the migration that builds the index for a store
/// from before it.
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
    fn keys_sort_by_address_then_height_then_position() {
        let a = Address::from_bytes([1; 32]);
        let b = Address::from_bytes([2; 32]);
        let at = |h, i| TxPosition {
            height: Height::new(h),
            index: i,
        };
        let mut keys = vec![
            key(&b, at(1, 0)),
            key(&a, at(256, 0)),
            key(&a, at(2, 7)),
            key(&a, at(2, 1)),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                key(&a, at(2, 1)),
                key(&a, at(2, 7)),
                key(&a, at(256, 0)),
                key(&b, at(1, 0))
            ]
        );
        assert_eq!(decode_key(&key(&a, at(256, 9))), Some(at(256, 9)));
    }
}
