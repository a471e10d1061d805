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
//! - `accounts`: address -> balance and nonce at the tip.
//! - `undo`: main-chain block hash -> the accounts it changed, as they were before it, so a
//!   reorganisation restores them exactly.
//! - `txindex`: transaction id -> hash of the main-chain block holding it.
//! - `history`: address, height -> the main-chain transfers and rewards of that block that pay
//!   from or to the address, for a wallet's history (see [`history`]).
//! - `peers`: peer URL -> what the node knows of that peer, as JSON (the network layer's
//!   record; JSON so a record can gain fields without a schema step). Written on its own, outside
//!   the chain's transactions: peer state is advisory, and losing its last changes in a crash
//!   costs a re-learn, never a block.
//!
//! Blocks, index entries, height changes, account changes with their undo data, the history
//! entries, and the tip move together in one sled transaction, and
//! the database is flushed before [`Store::accept`] returns: a block the node acknowledged
//! survives `kill -9`. Memory stays flat as the chain grows: nothing but the tip and sled's
//! bounded page cache is held in RAM.
//!
//! One store at a time holds a data directory: an open store keeps an advisory lock on its
//! [`LOCK_FILE`], and a second one is refused with [`StoreError::Locked`].

mod accept;
mod history;
mod locator;
mod lock;
mod migrate;
mod verify;

pub use history::{HistoryEntry, HistoryPage};
pub use locator::{locator_heights, ForkPoint, MAX_LOCATOR};
pub use lock::LOCK_FILE;
pub use migrate::{Migration, SCHEMA_VERSION};
pub use verify::{Verified, VERIFY_RESTARTS};

use accept::{Batch, Writes};

use crate::chain::{
    apply_block, median_time_past, prefers, touched, validate_block, validate_genesis, Account,
    Accounts, Address, Block, BlockHash, ChainParams, Header, Height, InvalidBlock, Parent, Rule,
    SignatureCheck, Timestamp, TxId, TxPosition, VerifiedBlock, Work, MEDIAN_TIME_SPAN,
};
use lock::DirLock;
use sled::transaction::{TransactionError, Transactional};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

/// Page cache for sled: enough for the recent chain, bounded however long the chain grows.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Free bytes a filesystem must keep for the store to write a block: eight of the largest
/// blocks. sled writes a block more than once (its log, then its pages, and again when it
/// compacts its segments, in bursts), and a write that finds the disk full fails half-way and
/// leaves sled refusing every later write (see [`StoreError::Failed`]); refusing before that
/// keeps the node taking blocks once space is back. Four blocks' worth was seen to be too
/// little once in six fills of a small disk.
pub const DEFAULT_RESERVE: u64 = 8 * Block::MAX_BYTES as u64;

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
    /// Boxed: two parameters (each caching its genesis hash) would make every store result
    /// large.
    ParamsMismatch {
        path: PathBuf,
        stored: Box<ChainParams>,
        requested: Box<ChainParams>,
    },
    #[error(
        "the store's schema version {found} is newer than this build supports ({supported}); \
         run a newer ferrochain"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error("this store (schema version {found}) cannot be opened: {reason}")]
    Retired { found: u32, reason: &'static str },
    #[error(
        "the chain in {} has block version {found}, which this build no longer runs \
         (it runs version {supported}); start this build with another --data-dir",
        path.display()
    )]
    OldChain {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("no upgrade is known from store schema version {0}")]
    NoUpgrade(u32),
    #[error("the store is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "the disk holding the store has {free} bytes free, below the {reserve} kept for writing \
         blocks; free some space and the node carries on"
    )]
    Full { free: u64, reserve: u64 },
    /// sled 0.34 refuses every write after one failed, and cannot be closed and reopened in the
    /// same process (closing waits for the failed write forever), so the store stays read-only
    /// until the node restarts; what was flushed before is all there then.
    #[error(
        "a write to the store failed ({0}); the node serves what it has but takes no more \
         blocks until it is restarted"
    )]
    Failed(String),
    #[error(transparent)]
    Sled(#[from] sled::Error),
}

impl StoreError {
    /// Whether this error refuses a write for want of disk space, or for an earlier failed
    /// write (a full disk, most likely).
    pub fn is_storage_full(&self) -> bool {
        matches!(self, StoreError::Full { .. } | StoreError::Failed(_))
    }
}

impl From<TransactionError<()>> for StoreError {
    fn from(e: TransactionError<()>) -> Self {
        match e {
            TransactionError::Storage(e) => StoreError::Sled(e),
            TransactionError::Abort(()) => StoreError::Corrupt("transaction aborted".into()),
        }
    }
}

/// A main-chain block as a list shows it: its header, how many entries it holds, and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderSummary {
    pub header: Header,
    pub entries: u32,
    /// Its encoded size.
    pub bytes: usize,
}

/// What the store knows of a block besides its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockMeta {
    pub height: Height,
    /// Work of the chain from genesis up to and including this block.
    pub chain_work: Work,
    pub parent: BlockHash,
    pub timestamp: Timestamp,
    /// Set when the block failed the balance rules on joining the main chain; it and its
    /// descendants are never connected again.
    pub invalid: bool,
}

impl BlockMeta {
    const SIZE: usize = 8 + 16 + 32 + 8 + 1;

    fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[..8].copy_from_slice(&self.height.get().to_le_bytes());
        out[8..24].copy_from_slice(&self.chain_work.to_u128().to_le_bytes());
        out[24..56].copy_from_slice(self.parent.as_bytes());
        out[56..64].copy_from_slice(&self.timestamp.as_millis().to_le_bytes());
        out[64] = u8::from(self.invalid);
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
            invalid: bytes[64] != 0,
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
    /// Why processing stopped early, or which block failed the balance rules while joining the
    /// main chain. Blocks before it are stored.
    pub rejected: Option<Rejection>,
    pub tip_before: Tip,
    pub tip_after: Tip,
    /// Blocks that joined the main chain, in height order.
    pub connected: Vec<Block>,
    /// Blocks that left the main chain in a reorganisation, highest first.
    pub disconnected: Vec<Block>,
}

impl AcceptReport {
    pub fn tip_changed(&self) -> bool {
        self.tip_before.hash != self.tip_after.hash
    }

    /// Whether `hash` joined the main chain in this batch.
    pub fn connected(&self, hash: &BlockHash) -> bool {
        self.connected.iter().any(|b| b.hash() == *hash)
    }
}

pub struct Store {
    db: sled::Db,
    blocks: sled::Tree,
    index: sled::Tree,
    heights: sled::Tree,
    meta: sled::Tree,
    accounts: sled::Tree,
    undo: sled::Tree,
    txindex: sled::Tree,
    history: sled::Tree,
    peers: sled::Tree,
    params: ChainParams,
    dir: PathBuf,
    /// Free bytes the filesystem must keep for a block to be written (see [`Store::set_reserve`]).
    reserve: AtomicU64,
    /// A write failed at sled's level: see [`StoreError::Failed`].
    failed: AtomicBool,
    tip: RwLock<Tip>,
    /// Serialises writers: validation reads the tip and ancestors, then commits, and two batches
    /// interleaving would both extend the same tip.
    write: Mutex<()>,
    /// The data directory's lock, held as long as the store is open. Declared last so it is
    /// released after the database is closed (fields drop in order).
    _lock: DirLock,
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
        let lock = DirLock::take(dir)?;
        let db = lock::open_db(&lock, dir)?;
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
                // Blocks of another version hash and validate differently: no upgrade can carry
                // them over, so say so before comparing parameters.
                if stored.version != ChainParams::BLOCK_VERSION {
                    return Err(StoreError::OldChain {
                        path: dir.to_owned(),
                        found: stored.version,
                        supported: ChainParams::BLOCK_VERSION,
                    });
                }
                match requested {
                    Some(requested) if requested != stored => {
                        return Err(StoreError::ParamsMismatch {
                            path: dir.to_owned(),
                            stored: Box::new(stored),
                            requested: Box::new(requested),
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
            work: genesis.header().target.work(),
        };
        let store = Store {
            blocks: db.open_tree("blocks")?,
            index: db.open_tree("index")?,
            heights: db.open_tree("heights")?,
            accounts: db.open_tree("accounts")?,
            undo: db.open_tree("undo")?,
            txindex: db.open_tree("txindex")?,
            history: db.open_tree(history::HISTORY_TREE)?,
            peers: db.open_tree(migrate::PEERS_TREE)?,
            meta,
            db,
            params,
            dir: dir.to_owned(),
            reserve: AtomicU64::new(DEFAULT_RESERVE),
            failed: AtomicBool::new(false),
            tip: RwLock::new(genesis_tip),
            write: Mutex::new(()),
            _lock: lock,
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
            chain_work: genesis.header().target.work(),
            parent: BlockHash::ZERO,
            timestamp: genesis.header().timestamp,
            invalid: false,
        };
        let mut writes = Writes::default();
        writes.block(&genesis, &meta);
        writes
            .heights
            .insert(&height_key(Height::GENESIS), genesis.hash().as_bytes());
        writes.tip(genesis.hash());
        writes.meta.insert(KEY_PARAMS, self.params.encode());
        self.commit(&writes)
    }

    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// Keeps `reserve` bytes free on the store's filesystem: a block whose write would find
    /// less is refused with [`StoreError::Full`] and written nowhere.
    pub fn set_reserve(&self, reserve: u64) {
        self.reserve.store(reserve, Ordering::Relaxed);
    }

    /// Checks, before blocks are written, that the disk has room for them and that no earlier
    /// write failed.
    fn ready_to_write(&self) -> Result<(), StoreError> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(StoreError::Failed("an earlier write failed".into()));
        }
        let reserve = self.reserve.load(Ordering::Relaxed);
        match crate::files::free_space(&self.dir) {
            Some(free) if free < reserve => Err(StoreError::Full { free, reserve }),
            _ => Ok(()),
        }
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

    /// What the store knows of `hash`, if it is on the main chain.
    pub fn main_chain_meta(&self, hash: &BlockHash) -> Result<Option<BlockMeta>, StoreError> {
        let meta = self.meta(hash)?;
        match meta {
            Some(m) if self.hash_at(m.height)? == Some(*hash) => Ok(meta),
            _ => Ok(None),
        }
    }

    /// Up to `limit` blocks from height `from` of the main chain that ends in `tip`, read while no
    /// block is being written, so every block of the page belongs to that one branch; `None` once
    /// `tip` has left the main chain (a reorganisation). A page never passes `tip`.
    pub fn branch_page(
        &self,
        tip: &BlockHash,
        from: Height,
        limit: usize,
    ) -> Result<Option<Vec<Block>>, StoreError> {
        let _no_writer = self.write.lock().expect("writer lock");
        let Some(meta) = self.main_chain_meta(tip)? else {
            return Ok(None);
        };
        let left = (meta.height.get() + 1).saturating_sub(from.get());
        let count = usize::try_from(left).unwrap_or(usize::MAX).min(limit);
        self.main_chain(from, count).map(Some)
    }

    /// The main chain's block hashes from height `from`, in order.
    fn main_chain_hashes(
        &self,
        from: Height,
    ) -> impl Iterator<Item = Result<BlockHash, StoreError>> + '_ {
        self.heights.range(height_key(from)..).map(|entry| {
            let (_, hash) = entry?;
            decode_hash(&hash)
        })
    }

    /// Up to `limit` main-chain blocks from height `from`, in order.
    pub fn main_chain(&self, from: Height, limit: usize) -> Result<Vec<Block>, StoreError> {
        self.main_chain_hashes(from)
            .take(limit)
            .map(|hash| {
                let hash = hash?;
                self.block(&hash)?.ok_or_else(|| missing(&hash))
            })
            .collect()
    }

    /// Up to `limit` main-chain headers from height `from`, in order, each with its block's
    /// entry count and encoded size; no entry is decoded.
    pub fn headers(&self, from: Height, limit: usize) -> Result<Vec<HeaderSummary>, StoreError> {
        self.main_chain_hashes(from)
            .take(limit)
            .map(|hash| {
                let hash = hash?;
                let bytes = self
                    .blocks
                    .get(hash.as_bytes())?
                    .ok_or_else(|| missing(&hash))?;
                let (header, entries) = Block::decode_header(&bytes).map_err(|e| {
                    StoreError::Corrupt(format!("block {hash} does not decode: {e}"))
                })?;
                Ok(HeaderSummary {
                    header,
                    entries,
                    bytes: bytes.len(),
                })
            })
            .collect()
    }

    /// The account of `address` at the tip (empty if it never received anything).
    /// Runs `read` with the tip, while no block can be committed: accounts read inside are the
    /// accounts at that tip. `read` must not ask for the tip again (the lock is held).
    pub fn read_at_tip<T>(&self, read: impl FnOnce(Tip) -> T) -> T {
        let tip = self.tip.read().expect("tip lock");
        read(*tip)
    }

    pub fn account(&self, address: &Address) -> Result<Account, StoreError> {
        Ok(self.stored_account(address)?.unwrap_or_default())
    }

    fn stored_account(&self, address: &Address) -> Result<Option<Account>, StoreError> {
        self.accounts
            .get(address.as_bytes())?
            .map(|b| {
                Account::decode(&b)
                    .ok_or_else(|| StoreError::Corrupt(format!("unreadable account {address}")))
            })
            .transpose()
    }

    /// Up to `limit` transfers and rewards paying from or to `address` on the main chain, newest
    /// first, older than `before` (from the newest without it), read at one tip: a block
    /// committed meanwhile is either wholly in the page's tip and entries or not at all.
    pub fn history(
        &self,
        address: &Address,
        before: Option<TxPosition>,
        limit: usize,
    ) -> Result<HistoryPage, StoreError> {
        self.read_at_tip(|tip| {
            let (entries, next) = history::page(&self.history, address, before, limit)?;
            Ok(HistoryPage { tip, entries, next })
        })
    }

    /// The main-chain block holding transaction `txid`, with its height.
    pub fn transaction_block(
        &self,
        txid: &TxId,
    ) -> Result<Option<(BlockHash, Height)>, StoreError> {
        let Some(bytes) = self.txindex.get(txid.as_bytes())? else {
            return Ok(None);
        };
        let hash = decode_hash(&bytes)?;
        let meta = self
            .meta(&hash)?
            .ok_or_else(|| StoreError::Corrupt(format!("indexed block {hash} missing")))?;
        Ok(Some((hash, meta.height)))
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

    /// What validation needs to know about the block `hash` (indexed as `meta`, stored or in
    /// `batch`) to check a child of it: its median time past and the target the child must carry.
    fn parent_context(
        &self,
        hash: BlockHash,
        meta: BlockMeta,
        batch: &Batch,
    ) -> Result<Parent, StoreError> {
        let target = match batch.blocks.get(&hash) {
            Some(block) => block.header.target,
            None => self.header(&hash)?.target,
        };
        let child = meta.height.next();
        let next_target = self
            .params
            .next_target(child, target, meta.timestamp, |start| {
                self.ancestor_timestamp(hash, meta, start, &batch.metas)
            })?;
        Ok(Parent {
            hash,
            height: meta.height,
            timestamp: meta.timestamp,
            median_time_past: self.median_time_past(meta, &batch.metas)?,
            next_target,
        })
    }

    /// The header of a stored block, decoded without its transactions.
    fn header(&self, hash: &BlockHash) -> Result<Header, StoreError> {
        let bytes = self
            .blocks
            .get(hash.as_bytes())?
            .ok_or_else(|| StoreError::Corrupt(format!("block {hash} missing")))?;
        bytes
            .get(..Header::SIZE)
            .and_then(|b| Header::decode(b.try_into().ok()?).ok())
            .ok_or_else(|| StoreError::Corrupt(format!("block {hash} has no readable header")))
    }

    /// The timestamp of the ancestor at `height` of block `hash` (indexed as `meta`). On the main
    /// chain that is one lookup by height; a side branch is walked back to it, which happens
    /// once per retarget period at most.
    fn ancestor_timestamp(
        &self,
        hash: BlockHash,
        meta: BlockMeta,
        height: Height,
        pending: &HashMap<BlockHash, BlockMeta>,
    ) -> Result<Timestamp, StoreError> {
        if self.hash_at(meta.height)? == Some(hash) {
            let ancestor = self
                .hash_at(height)?
                .ok_or_else(|| StoreError::Corrupt(format!("main chain lacks block {height}")))?;
            return self.meta(&ancestor)?.map(|m| m.timestamp).ok_or_else(|| {
                StoreError::Corrupt(format!("main-chain block {ancestor} missing"))
            });
        }
        let mut meta = meta;
        while meta.height > height {
            let parent = meta.parent;
            meta = self
                .lookup(&parent, pending)?
                .ok_or_else(|| StoreError::Corrupt(format!("ancestor {parent} missing")))?;
        }
        Ok(meta.timestamp)
    }

    /// The parent context for a block built on the current tip (what a miner needs).
    pub fn tip_context(&self) -> Result<(Tip, Parent), StoreError> {
        let tip = self.tip();
        let parent = self
            .context_of(&tip.hash)?
            .ok_or_else(|| StoreError::Corrupt(format!("tip {} has no index entry", tip.hash)))?;
        Ok((tip, parent))
    }

    /// The parent context for a child of the stored block `hash`, on whichever branch it is.
    pub fn context_of(&self, hash: &BlockHash) -> Result<Option<Parent>, StoreError> {
        match self.meta(hash)? {
            Some(meta) => Ok(Some(self.parent_context(*hash, meta, &Batch::default())?)),
            None => Ok(None),
        }
    }

    /// The schema version recorded in the store (after any upgrade, [`SCHEMA_VERSION`]).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        migrate::read_version(&self.meta)
    }

    /// Every stored peer record, decoded as `T`. A record that no longer decodes is skipped and
    /// logged: a node must not refuse to start over advisory peer state.
    pub fn peers<T: serde::de::DeserializeOwned>(&self) -> Result<Vec<T>, StoreError> {
        let mut records = Vec::new();
        for entry in self.peers.iter() {
            let (key, value) = entry?;
            match serde_json::from_slice(&value) {
                Ok(record) => records.push(record),
                Err(e) => log::warn!(
                    "ignoring unreadable peer record {}: {e}",
                    String::from_utf8_lossy(&key)
                ),
            }
        }
        Ok(records)
    }

    /// Writes the record of the peer at `url`, replacing any previous one. Not flushed here:
    /// sled's background flush (every half second) and the flush on close cover it.
    pub fn put_peer<T: serde::Serialize>(&self, url: &str, record: &T) -> Result<(), StoreError> {
        let value = serde_json::to_vec(record)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode peer {url}: {e}")))?;
        self.peers.insert(url.as_bytes(), value)?;
        Ok(())
    }

    pub fn remove_peer(&self, url: &str) -> Result<(), StoreError> {
        self.peers.remove(url.as_bytes())?;
        Ok(())
    }

    /// Forgets every peer record.
    pub fn clear_peers(&self) -> Result<(), StoreError> {
        self.peers.clear()?;
        Ok(())
    }

    /// Writes to disk whatever is not there yet. Blocks are flushed as they are accepted; this
    /// covers the records that wait for sled's background flush (the peer book). After a
    /// failed write it refuses at once: sled's flush would wait forever for that write.
    pub fn flush(&self) -> Result<(), StoreError> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(StoreError::Failed("an earlier write failed".into()));
        }
        self.db.flush()?;
        Ok(())
    }

    /// Size of the database files on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.failed.load(Ordering::SeqCst) {
            // Closing sled after a failed write waits forever for that write to become durable:
            // its handles are left open instead (a node does this only as it exits, and the
            // system closes them then). Everything acknowledged was flushed before.
            for tree in [
                &self.blocks,
                &self.index,
                &self.heights,
                &self.meta,
                &self.accounts,
                &self.undo,
                &self.txindex,
                &self.history,
                &self.peers,
            ] {
                std::mem::forget(tree.clone());
            }
            std::mem::forget(self.db.clone());
        }
    }
}

fn height_key(height: Height) -> [u8; 8] {
    height.get().to_be_bytes()
}

/// A block the main chain names that the store does not hold.
fn missing(hash: &BlockHash) -> StoreError {
    StoreError::Corrupt(format!("main-chain block {hash} missing"))
}

fn decode_hash(bytes: &[u8]) -> Result<BlockHash, StoreError> {
    bytes
        .try_into()
        .map(BlockHash::from_bytes)
        .map_err(|_| StoreError::Corrupt(format!("a hash of {} bytes", bytes.len())))
}

#[cfg(test)]
mod tests;
