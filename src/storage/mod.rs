//! Durable storage in sled: the only module that touches the database.
//!
//! Trees:
//! - `blocks`: block hash -> canonical block encoding, for every valid block ever accepted,
//!   side branches included, so a heavier branch can take over later.
//! - `index`: block hash -> [`BlockMeta`] (height, cumulative work, parent, timestamp), enough to
//!   walk ancestors and compare branches without decoding blocks.
//! - `heights`: big-endian height -> block hash, for the main chain only. Big-endian keys sort
//!   numerically, so a range scan walks the chain in order.
//! - `meta`: the tip, the chain parameters and the schema version.
//!
//! Blocks, index entries, height changes and the tip move together in one sled transaction, and
//! the database is flushed before [`Store::accept`] returns: a block the node acknowledged
//! survives `kill -9`. Memory stays flat as the chain grows: nothing but the tip and sled's
//! bounded page cache is held in RAM.

mod migrate;

pub use migrate::{Migration, SCHEMA_VERSION};

use crate::chain::{
    median_time_past, prefers, validate_block, validate_genesis, Block, BlockHash, ChainParams,
    Height, InvalidBlock, Parent, Timestamp, VerifiedBlock, Work, MEDIAN_TIME_SPAN,
};
use sled::transaction::{TransactionError, Transactional};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

/// Page cache for sled: enough for the recent chain, bounded however long the chain grows.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

const KEY_TIP: &[u8] = b"tip";
const KEY_PARAMS: &[u8] = b"params";
const KEY_SCHEMA: &[u8] = b"schema_version";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("data directory {} is in use by another running node", .0.display())]
    Locked(PathBuf),
    #[error("cannot open the store in {}: {error}", path.display())]
    Open { path: PathBuf, error: sled::Error },
    #[error(
        "the chain in {} was created with {stored}, but {requested} was asked for \
         (use another --data-dir, or drop the flag to use the stored parameters)",
        path.display()
    )]
    ParamsMismatch {
        path: PathBuf,
        stored: ChainParams,
        requested: ChainParams,
    },
    #[error(
        "the store's schema version {found} is newer than this build supports ({supported}); \
         run a newer ferrochain"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error("no upgrade is known from store schema version {0}")]
    NoUpgrade(u32),
    #[error("the store is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Sled(#[from] sled::Error),
}

impl From<TransactionError<()>> for StoreError {
    fn from(e: TransactionError<()>) -> Self {
        match e {
            TransactionError::Storage(e) => StoreError::Sled(e),
            TransactionError::Abort(()) => StoreError::Corrupt("transaction aborted".into()),
        }
    }
}

/// What the store knows of a block besides its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockMeta {
    pub height: Height,
    /// Work of the chain from genesis up to and including this block.
    pub chain_work: Work,
    pub parent: BlockHash,
    pub timestamp: Timestamp,
}

impl BlockMeta {
    const SIZE: usize = 8 + 16 + 32 + 8;

    fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[..8].copy_from_slice(&self.height.get().to_le_bytes());
        out[8..24].copy_from_slice(&self.chain_work.to_u128().to_le_bytes());
        out[24..56].copy_from_slice(self.parent.as_bytes());
        out[56..].copy_from_slice(&self.timestamp.as_millis().to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<BlockMeta, StoreError> {
        let bytes: &[u8; Self::SIZE] = bytes
            .try_into()
            .map_err(|_| StoreError::Corrupt(format!("index entry of {} bytes", bytes.len())))?;
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        Ok(BlockMeta {
            height: Height::new(u64_at(0)),
            chain_work: Work::from_u128(u128::from_le_bytes(
                bytes[8..24].try_into().expect("16 bytes"),
            )),
            parent: BlockHash::from_bytes(bytes[24..56].try_into().expect("32 bytes")),
            timestamp: Timestamp::from_millis(u64_at(56)),
        })
    }
}

/// The end of the main chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Tip {
    pub hash: BlockHash,
    pub height: Height,
    pub work: Work,
}

impl Tip {
    /// Number of blocks in the main chain, genesis included.
    pub fn length(&self) -> u64 {
        self.height.get() + 1
    }
}

/// Why a block in a batch was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Invalid(InvalidBlock),
    /// The parent is unknown: the block may be valid, but cannot be checked yet.
    Orphan {
        hash: BlockHash,
        height: Height,
        parent: BlockHash,
    },
}

/// What [`Store::accept`] did with a batch of blocks.
#[derive(Debug, Clone)]
pub struct AcceptReport {
    /// Blocks newly stored, in the order given.
    pub stored: Vec<(BlockHash, Height)>,
    /// Blocks the store already had.
    pub known: usize,
    /// Why processing stopped early, if it did. Blocks before it are stored.
    pub rejected: Option<Rejection>,
    pub tip_before: Tip,
    pub tip_after: Tip,
    /// Main-chain blocks that a reorganisation moved to a side branch.
    pub disconnected: u64,
}

impl AcceptReport {
    pub fn tip_changed(&self) -> bool {
        self.tip_before.hash != self.tip_after.hash
    }

    /// Whether `hash` is now on the main chain because of this batch.
    pub fn connected(&self, hash: &BlockHash) -> bool {
        self.tip_changed() && self.stored.iter().any(|(h, _)| h == hash)
    }
}

pub struct Store {
    db: sled::Db,
    blocks: sled::Tree,
    index: sled::Tree,
    heights: sled::Tree,
    meta: sled::Tree,
    params: ChainParams,
    tip: RwLock<Tip>,
    /// Serialises writers: validation reads the tip and ancestors, then commits, and two batches
    /// interleaving would both extend the same tip.
    write: Mutex<()>,
}

impl Store {
    /// Opens (or creates) the store in `dir`. A new store gets `requested` parameters (or the
    /// defaults) and its genesis block; an existing one keeps its own and refuses different
    /// `requested` ones. Older schemas are upgraded before anything is read.
    pub fn open(dir: &Path, requested: Option<ChainParams>) -> Result<Store, StoreError> {
        Self::open_with(dir, requested, migrate::MIGRATIONS)
    }

    fn open_with(
        dir: &Path,
        requested: Option<ChainParams>,
        migrations: &[Migration],
    ) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|error| match &error {
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Locked(dir.to_owned())
                }
                _ => StoreError::Open {
                    path: dir.to_owned(),
                    error,
                },
            })?;
        let meta = db.open_tree("meta")?;
        let fresh = meta.get(KEY_SCHEMA)?.is_none();
        if fresh {
            meta.insert(KEY_SCHEMA, &SCHEMA_VERSION.to_le_bytes())?;
        } else {
            migrate::run(&db, &meta, migrations)?;
        }
        let params = match meta.get(KEY_PARAMS)? {
            Some(bytes) => {
                let stored = ChainParams::decode(&bytes)
                    .ok_or_else(|| StoreError::Corrupt("unreadable chain parameters".into()))?;
                match requested {
                    Some(requested) if requested != stored => {
                        return Err(StoreError::ParamsMismatch {
                            path: dir.to_owned(),
                            stored,
                            requested,
                        })
                    }
                    _ => stored,
                }
            }
            None => requested.unwrap_or_default(),
        };
        let genesis = params.genesis();
        let genesis_tip = Tip {
            hash: genesis.hash(),
            height: Height::GENESIS,
            work: genesis.header().difficulty.work(),
        };
        let store = Store {
            blocks: db.open_tree("blocks")?,
            index: db.open_tree("index")?,
            heights: db.open_tree("heights")?,
            meta,
            db,
            params,
            tip: RwLock::new(genesis_tip),
            write: Mutex::new(()),
        };
        match store.meta.get(KEY_TIP)? {
            Some(tip) => {
                let hash = BlockHash::from_bytes(
                    tip.as_ref()
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("unreadable tip".into()))?,
                );
                let m = store
                    .meta(&hash)?
                    .ok_or_else(|| StoreError::Corrupt(format!("tip {hash} has no index entry")))?;
                *store.tip.write().expect("tip lock") = Tip {
                    hash,
                    height: m.height,
                    work: m.chain_work,
                };
            }
            None => store.init(genesis)?,
        }
        Ok(store)
    }

    /// Writes parameters and genesis into a new store.
    fn init(&self, genesis: VerifiedBlock) -> Result<(), StoreError> {
        let meta = BlockMeta {
            height: Height::GENESIS,
            chain_work: genesis.header().difficulty.work(),
            parent: BlockHash::ZERO,
            timestamp: genesis.header().timestamp,
        };
        let mut writes = Writes::default();
        writes.block(&genesis, &meta);
        writes
            .heights
            .insert(&height_key(Height::GENESIS), genesis.hash().as_bytes());
        writes.tip(genesis.hash());
        writes.meta.insert(KEY_PARAMS, &self.params.encode());
        self.commit(&writes)
    }

    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    pub fn tip(&self) -> Tip {
        *self.tip.read().expect("tip lock")
    }

    pub fn contains(&self, hash: &BlockHash) -> Result<bool, StoreError> {
        Ok(self.index.contains_key(hash.as_bytes())?)
    }

    pub fn meta(&self, hash: &BlockHash) -> Result<Option<BlockMeta>, StoreError> {
        self.index
            .get(hash.as_bytes())?
            .map(|b| BlockMeta::decode(&b))
            .transpose()
    }

    pub fn block(&self, hash: &BlockHash) -> Result<Option<Block>, StoreError> {
        self.blocks
            .get(hash.as_bytes())?
            .map(|bytes| {
                Block::decode(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("block {hash} does not decode: {e}")))
            })
            .transpose()
    }

    /// The main chain's block hash at `height`.
    pub fn hash_at(&self, height: Height) -> Result<Option<BlockHash>, StoreError> {
        self.heights
            .get(height_key(height))?
            .map(|b| decode_hash(&b))
            .transpose()
    }

    pub fn block_at(&self, height: Height) -> Result<Option<Block>, StoreError> {
        match self.hash_at(height)? {
            Some(hash) => self.block(&hash),
            None => Ok(None),
        }
    }

    /// Up to `limit` main-chain blocks from height `from`, in order.
    pub fn main_chain(&self, from: Height, limit: usize) -> Result<Vec<Block>, StoreError> {
        self.heights
            .range(height_key(from)..)
            .take(limit)
            .map(|entry| {
                let (_, hash) = entry?;
                let hash = decode_hash(&hash)?;
                self.block(&hash)?
                    .ok_or_else(|| StoreError::Corrupt(format!("main-chain block {hash} missing")))
            })
            .collect()
    }

    /// Validates `blocks` in order and stores the valid ones in one transaction, moving the tip
    /// to the heaviest chain (reorganising if a side branch now has more work). Stops at the
    /// first invalid or orphan block; everything before it is kept. Returns once the write is on
    /// disk.
    pub fn accept(
        &self,
        blocks: impl IntoIterator<Item = Block>,
        now: Timestamp,
    ) -> Result<AcceptReport, StoreError> {
        let _writer = self.write.lock().expect("writer lock");
        let tip_before = self.tip();
        let mut pending: HashMap<BlockHash, BlockMeta> = HashMap::new();
        let mut writes = Writes::default();
        let mut stored = Vec::new();
        let mut known = 0;
        let mut rejected = None;
        let mut best: Option<(BlockHash, BlockMeta)> = None;

        for block in blocks {
            let hash = block.hash();
            if pending.contains_key(&hash) || self.contains(&hash)? {
                known += 1;
                continue;
            }
            if block.height() == Height::GENESIS {
                // Our genesis is always stored (and so counted as known above): any other
                // genesis belongs to another chain.
                match validate_genesis(block, &self.params) {
                    Ok(_) => known += 1,
                    Err(e) => {
                        rejected = Some(Rejection::Invalid(e));
                        break;
                    }
                }
                continue;
            }
            let prev = block.header.prev_hash;
            let Some(parent_meta) = self.lookup(&prev, &pending)? else {
                rejected = Some(Rejection::Orphan {
                    hash,
                    height: block.height(),
                    parent: prev,
                });
                break;
            };
            let parent = Parent {
                hash: prev,
                height: parent_meta.height,
                median_time_past: self.median_time_past(parent_meta, &pending)?,
            };
            let verified = match validate_block(block, &parent, &self.params, now) {
                Ok(v) => v,
                Err(e) => {
                    rejected = Some(Rejection::Invalid(e));
                    break;
                }
            };
            let meta = BlockMeta {
                height: verified.header().height,
                chain_work: parent_meta.chain_work + verified.header().difficulty.work(),
                parent: prev,
                timestamp: verified.header().timestamp,
            };
            writes.block(&verified, &meta);
            pending.insert(hash, meta);
            stored.push((hash, meta.height));
            if best.is_none_or(|(_, b)| prefers(meta.chain_work, b.chain_work)) {
                best = Some((hash, meta));
            }
        }

        let mut tip_after = tip_before;
        let mut disconnected = 0;
        if let Some((hash, meta)) = best.filter(|(_, m)| prefers(m.chain_work, tip_before.work)) {
            disconnected = self.switch_main_chain(&mut writes, hash, meta, tip_before, &pending)?;
            tip_after = Tip {
                hash,
                height: meta.height,
                work: meta.chain_work,
            };
        }
        if !stored.is_empty() {
            self.commit(&writes)?;
            *self.tip.write().expect("tip lock") = tip_after;
        }
        Ok(AcceptReport {
            stored,
            known,
            rejected,
            tip_before,
            tip_after,
            disconnected,
        })
    }

    /// Points the height index at the branch ending in `new_tip`: walks back from it to the
    /// first block already on the main chain (the fork point), indexes the branch, and unindexes
    /// old main-chain heights above the new tip. Returns how many blocks left the main chain.
    fn switch_main_chain(
        &self,
        writes: &mut Writes,
        new_tip: BlockHash,
        new_meta: BlockMeta,
        old_tip: Tip,
        pending: &HashMap<BlockHash, BlockMeta>,
    ) -> Result<u64, StoreError> {
        let (mut hash, mut meta) = (new_tip, new_meta);
        while self.hash_at(meta.height)? != Some(hash) {
            writes
                .heights
                .insert(&height_key(meta.height), hash.as_bytes());
            hash = meta.parent;
            meta = self
                .lookup(&hash, pending)?
                .ok_or_else(|| StoreError::Corrupt(format!("ancestor {hash} missing")))?;
        }
        let fork = meta.height;
        for h in new_meta.height.get() + 1..=old_tip.height.get() {
            writes.heights.remove(&height_key(Height::new(h)));
        }
        writes.tip(new_tip);
        Ok(old_tip.height.get() - fork.get())
    }

    fn lookup(
        &self,
        hash: &BlockHash,
        pending: &HashMap<BlockHash, BlockMeta>,
    ) -> Result<Option<BlockMeta>, StoreError> {
        match pending.get(hash) {
            Some(m) => Ok(Some(*m)),
            None => self.meta(hash),
        }
    }

    /// Median timestamp of the block described by `meta` and up to ten of its ancestors.
    fn median_time_past(
        &self,
        meta: BlockMeta,
        pending: &HashMap<BlockHash, BlockMeta>,
    ) -> Result<Timestamp, StoreError> {
        let mut times = Vec::with_capacity(MEDIAN_TIME_SPAN);
        let mut meta = meta;
        loop {
            times.push(meta.timestamp);
            if times.len() == MEDIAN_TIME_SPAN || meta.height == Height::GENESIS {
                break;
            }
            let parent = meta.parent;
            meta = self
                .lookup(&parent, pending)?
                .ok_or_else(|| StoreError::Corrupt(format!("ancestor {parent} missing")))?;
        }
        Ok(median_time_past(&times))
    }

    /// The parent context for a block built on the current tip (what a miner needs).
    pub fn tip_context(&self) -> Result<(Tip, Parent), StoreError> {
        let tip = self.tip();
        let meta = self
            .meta(&tip.hash)?
            .ok_or_else(|| StoreError::Corrupt(format!("tip {} has no index entry", tip.hash)))?;
        let mtp = self.median_time_past(meta, &HashMap::new())?;
        Ok((
            tip,
            Parent {
                hash: tip.hash,
                height: tip.height,
                median_time_past: mtp,
            },
        ))
    }

    /// Applies `writes` atomically across trees, then waits for them to reach the disk.
    fn commit(&self, writes: &Writes) -> Result<(), StoreError> {
        (&self.blocks, &self.index, &self.heights, &self.meta).transaction(
            |(blocks, index, heights, meta)| {
                blocks.apply_batch(&writes.blocks)?;
                index.apply_batch(&writes.index)?;
                heights.apply_batch(&writes.heights)?;
                meta.apply_batch(&writes.meta)?;
                Ok(())
            },
        )?;
        self.db.flush()?;
        Ok(())
    }

    /// Size of the database files on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}

/// One transaction's worth of changes, built before the transaction runs (sled may retry the
/// closure, so it must only replay these).
#[derive(Default)]
struct Writes {
    blocks: sled::Batch,
    index: sled::Batch,
    heights: sled::Batch,
    meta: sled::Batch,
}

impl Writes {
    fn block(&mut self, block: &VerifiedBlock, meta: &BlockMeta) {
        let key = block.hash();
        self.blocks.insert(key.as_bytes(), block.block().encode());
        self.index.insert(key.as_bytes(), &meta.encode()[..]);
    }

    fn tip(&mut self, hash: BlockHash) {
        self.meta.insert(KEY_TIP, hash.as_bytes());
    }
}

fn height_key(height: Height) -> [u8; 8] {
    height.get().to_be_bytes()
}

fn decode_hash(bytes: &[u8]) -> Result<BlockHash, StoreError> {
    bytes
        .try_into()
        .map(BlockHash::from_bytes)
        .map_err(|_| StoreError::Corrupt(format!("a hash of {} bytes", bytes.len())))
}

#[cfg(test)]
mod tests;
