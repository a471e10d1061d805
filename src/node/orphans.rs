//! The orphan pool: blocks that arrived before their parent, kept until it does.
//!
//! A relayed block can overtake its parent, or come from a peer we are behind; refusing it would
//! lose it, storing it is impossible (it cannot be validated without its parent). So it waits
//! here while the node fetches the missing ancestors, and joins the chain when its parent is
//! stored. The pool is bounded three ways, since anyone can send blocks whose parent we lack:
//! by count and by bytes (the oldest go first), and by age (an orphan whose parent has not come
//! in [`ORPHAN_TTL`] most likely never will).
//!
//! Pure bookkeeping, no I/O and no clock: the node passes `now`.

use crate::chain::{Block, BlockHash, Timestamp};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Most orphans kept.
pub const MAX_ORPHANS: usize = 256;
/// Most bytes of orphans kept (canonical encoding): four maximal blocks, or thousands of small.
pub const MAX_ORPHAN_BYTES: usize = 8 * 1024 * 1024;
/// How long an orphan waits for its parent.
pub const ORPHAN_TTL: Duration = Duration::from_secs(10 * 60);

struct Orphan {
    block: Block,
    bytes: usize,
    received: Timestamp,
    /// Insertion number, the key of `order`.
    seq: u64,
}

/// What [`OrphanPool::insert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooled {
    Added,
    /// Already waiting.
    Known,
}

pub struct OrphanPool {
    orphans: HashMap<BlockHash, Orphan>,
    /// Missing parent -> the orphans waiting for it.
    by_parent: HashMap<BlockHash, Vec<BlockHash>>,
    /// Insertion order, oldest first, for eviction and expiry.
    order: BTreeMap<u64, BlockHash>,
    next_seq: u64,
    bytes: usize,
    max_count: usize,
    max_bytes: usize,
    ttl: Duration,
}

impl Default for OrphanPool {
    fn default() -> Self {
        OrphanPool::new(MAX_ORPHANS, MAX_ORPHAN_BYTES, ORPHAN_TTL)
    }
}

impl OrphanPool {
    pub fn new(max_count: usize, max_bytes: usize, ttl: Duration) -> OrphanPool {
        OrphanPool {
            orphans: HashMap::new(),
            by_parent: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            bytes: 0,
            max_count,
            max_bytes,
            ttl,
        }
    }

    pub fn len(&self) -> usize {
        self.orphans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orphans.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn contains(&self, hash: &BlockHash) -> bool {
        self.orphans.contains_key(hash)
    }

    /// Keeps `block` until its parent arrives, dropping expired orphans and then the oldest
    /// ones until the new one fits.
    pub fn insert(&mut self, block: Block, now: Timestamp) -> Pooled {
        self.expire(now);
        let hash = block.hash();
        if self.orphans.contains_key(&hash) {
            return Pooled::Known;
        }
        let bytes = block.encoded_len();
        while !self.orphans.is_empty()
            && (self.orphans.len() + 1 > self.max_count || self.bytes + bytes > self.max_bytes)
        {
            self.evict_oldest();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_parent
            .entry(block.header.prev_hash)
            .or_default()
            .push(hash);
        self.order.insert(seq, hash);
        self.bytes += bytes;
        self.orphans.insert(
            hash,
            Orphan {
                block,
                bytes,
                received: now,
                seq,
            },
        );
        Pooled::Added
    }

    /// Removes and returns the orphans waiting for `parent`, oldest first.
    pub fn take_children(&mut self, parent: &BlockHash) -> Vec<Block> {
        let Some(children) = self.by_parent.remove(parent) else {
            return Vec::new();
        };
        children
            .into_iter()
            .filter_map(|hash| self.remove(&hash))
            .collect()
    }

    /// Drops orphans that have waited longer than the pool's time to live.
    pub fn expire(&mut self, now: Timestamp) {
        let ttl = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        while let Some((_, hash)) = self.order.first_key_value() {
            let hash = *hash;
            let received = self.orphans.get(&hash).map(|o| o.received);
            match received {
                Some(t) if t.saturating_add_millis(ttl) > now => return,
                _ => {
                    self.remove(&hash);
                }
            }
        }
    }

    fn evict_oldest(&mut self) {
        if let Some((_, hash)) = self.order.first_key_value() {
            let hash = *hash;
            self.remove(&hash);
        }
    }

    fn remove(&mut self, hash: &BlockHash) -> Option<Block> {
        let orphan = self.orphans.remove(hash)?;
        self.order.remove(&orphan.seq);
        self.bytes -= orphan.bytes;
        let parent = orphan.block.header.prev_hash;
        if let Some(siblings) = self.by_parent.get_mut(&parent) {
            siblings.retain(|h| h != hash);
            if siblings.is_empty() {
                self.by_parent.remove(&parent);
            }
        }
        Some(orphan.block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{ChainParams, Difficulty, Header, Height, MerkleRoot, Note, Transaction};

    /// A block at `height` on `parent` with a note of `note_len` bytes; not mined, since the pool
    /// never validates.
    fn block(parent: BlockHash, height: u64, note_len: usize) -> Block {
        let params = ChainParams::new(Difficulty::new(1).unwrap());
        Block {
            header: Header {
                version: params.version,
                height: Height::new(height),
                prev_hash: parent,
                merkle_root: MerkleRoot::ZERO,
                timestamp: Timestamp::from_millis(height),
                target: params.initial_target(),
                nonce: height * 1000 + note_len as u64,
            },
            transactions: vec![Transaction::Note(Note::new("x".repeat(note_len)).unwrap())],
        }
    }

    const T0: Timestamp = Timestamp::from_millis(1_000_000);

    fn hashes(blocks: &[Block]) -> Vec<BlockHash> {
        blocks.iter().map(Block::hash).collect()
    }

    #[test]
    fn orphans_wait_for_their_parent_and_leave_once() {
        let mut pool = OrphanPool::default();
        let parent = BlockHash::from_bytes([1; 32]);
        let a = block(parent, 5, 1);
        let b = block(parent, 5, 2);
        let grandchild = block(a.hash(), 6, 1);
        assert_eq!(pool.insert(a.clone(), T0), Pooled::Added);
        assert_eq!(pool.insert(a.clone(), T0), Pooled::Known);
        pool.insert(b.clone(), T0);
        pool.insert(grandchild.clone(), T0);
        assert_eq!(
            (pool.len(), pool.bytes()),
            (3, a.encoded_len() * 2 + b.encoded_len())
        );

        assert!(pool.take_children(&BlockHash::ZERO).is_empty());
        assert_eq!(
            hashes(&pool.take_children(&parent)),
            hashes(&[a.clone(), b])
        );
        assert!(pool.take_children(&parent).is_empty());
        assert_eq!(
            hashes(&pool.take_children(&a.hash())),
            hashes(&[grandchild])
        );
        assert!(pool.is_empty());
        assert_eq!(pool.bytes(), 0);
    }

    #[test]
    fn the_oldest_orphans_go_when_the_count_is_reached() {
        let mut pool = OrphanPool::new(3, usize::MAX, ORPHAN_TTL);
        let blocks: Vec<Block> = (0..5)
            .map(|i| block(BlockHash::from_bytes([i as u8; 32]), 9, 1))
            .collect();
        for b in &blocks {
            pool.insert(b.clone(), T0);
        }
        assert_eq!(pool.len(), 3);
        assert!(!pool.contains(&blocks[0].hash()) && !pool.contains(&blocks[1].hash()));
        assert!(blocks[2..].iter().all(|b| pool.contains(&b.hash())));
        // The evicted ones left no trace under their parents.
        assert!(pool.take_children(&blocks[0].header.prev_hash).is_empty());
    }

    #[test]
    fn the_oldest_orphans_go_when_the_bytes_are_reached() {
        let big = block(BlockHash::ZERO, 1, 200);
        let mut pool = OrphanPool::new(100, big.encoded_len() * 2, ORPHAN_TTL);
        let first = block(BlockHash::from_bytes([1; 32]), 1, 200);
        let second = block(BlockHash::from_bytes([2; 32]), 1, 200);
        let small = block(BlockHash::from_bytes([3; 32]), 1, 1);
        pool.insert(first.clone(), T0);
        pool.insert(second.clone(), T0);
        pool.insert(small.clone(), T0);
        assert!(!pool.contains(&first.hash()));
        assert!(pool.contains(&second.hash()) && pool.contains(&small.hash()));
        assert!(pool.bytes() <= big.encoded_len() * 2);
    }

    #[test]
    fn orphans_expire_after_their_time() {
        let ttl = Duration::from_secs(60);
        let mut pool = OrphanPool::new(100, usize::MAX, ttl);
        let old = block(BlockHash::from_bytes([1; 32]), 1, 1);
        let young = block(BlockHash::from_bytes([2; 32]), 1, 1);
        pool.insert(old.clone(), T0);
        pool.insert(young.clone(), T0.saturating_add_millis(30_000));
        pool.expire(T0.saturating_add_millis(59_999));
        assert_eq!(pool.len(), 2);
        pool.expire(T0.saturating_add_millis(60_000));
        assert!(!pool.contains(&old.hash()) && pool.contains(&young.hash()));
        // Inserting expires too.
        let late = block(BlockHash::from_bytes([3; 32]), 1, 1);
        pool.insert(late.clone(), T0.saturating_add_millis(90_000));
        assert_eq!(
            hashes(&pool.take_children(&late.header.prev_hash)),
            [late.hash()]
        );
        assert!(pool.is_empty());
    }
}
