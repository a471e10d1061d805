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
//! - `peers`: peer URL -> what the node knows of that peer, as JSON (the network layer's
//!   record; JSON so a record can gain fields without a schema step). Written on its own, outside
//!   the chain's transactions: peer state is advisory, and losing its last changes in a crash
//!   costs a re-learn, never a block.
//!
//! Blocks, index entries, height changes, account changes with their undo data, and the tip move
//! together in one sled transaction, and
//! the database is flushed before [`Store::accept`] returns: a block the node acknowledged
//! survives `kill -9`. Memory stays flat as the chain grows: nothing but the tip and sled's
//! bounded page cache is held in RAM.
//!
//! One store at a time holds a data directory: an open store keeps an advisory lock on its
//! [`LOCK_FILE`], and a second one is refused with [`StoreError::Locked`].

mod locator;
mod lock;
mod migrate;

pub use locator::{locator_heights, ForkPoint, MAX_LOCATOR};
pub use lock::LOCK_FILE;
pub use migrate::{Migration, SCHEMA_VERSION};

use crate::chain::{
    apply_block, median_time_past, prefers, touched, validate_block, validate_genesis, Account,
    Accounts, Address, Block, BlockHash, ChainParams, Header, Height, InvalidBlock, Parent, Rule,
    SignatureCheck, Timestamp, TxId, VerifiedBlock, Work, MEDIAN_TIME_SPAN,
};
use lock::DirLock;
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

/// Everything one `accept` call writes, plus the blocks and index entries it added, which later
/// blocks of the same call look up before they are committed.
#[derive(Default)]
struct Batch {
    writes: Writes,
    metas: HashMap<BlockHash, BlockMeta>,
    blocks: HashMap<BlockHash, Block>,
}

/// The outcome of [`Store::reorganize`].
#[derive(Default)]
struct Switch {
    /// The new tip, if the main chain moved.
    tip: Option<Tip>,
    connected: Vec<Block>,
    disconnected: Vec<Block>,
    invalid: Option<InvalidBlock>,
}

/// What a block changed: each touched account as it was before (`None`: it did not exist).
type Undo = Vec<(Address, Option<Account>)>;

/// Account, undo and transaction-index changes of a main-chain switch, applied in memory first so
/// a failed switch writes none of them.
#[derive(Default)]
struct StateChanges {
    /// `None`: the account is removed (it did not exist before the disconnected block).
    accounts: HashMap<Address, Option<Account>>,
    /// `None`: the block left the main chain, its undo data goes.
    undo: HashMap<BlockHash, Option<Undo>>,
    txindex: HashMap<TxId, Option<BlockHash>>,
    heights: Vec<(Height, BlockHash)>,
}

impl StateChanges {
    fn account(&self, store: &Store, address: &Address) -> Result<Option<Account>, StoreError> {
        match self.accounts.get(address) {
            Some(changed) => Ok(*changed),
            None => store.stored_account(address),
        }
    }

    fn write_into(self, writes: &mut Writes) {
        for (address, account) in self.accounts {
            match account {
                Some(a) => writes.accounts.insert(address.as_bytes(), &a.encode()[..]),
                None => writes.accounts.remove(address.as_bytes()),
            }
        }
        for (hash, undo) in self.undo {
            match undo {
                Some(entries) => writes.undo.insert(hash.as_bytes(), encode_undo(&entries)),
                None => writes.undo.remove(hash.as_bytes()),
            }
        }
        for (txid, block) in self.txindex {
            match block {
                Some(hash) => writes.txindex.insert(txid.as_bytes(), hash.as_bytes()),
                None => writes.txindex.remove(txid.as_bytes()),
            }
        }
        for (height, hash) in self.heights {
            writes.heights.insert(&height_key(height), hash.as_bytes());
        }
    }
}

/// Undo data: per touched address, 32 bytes of address, a presence byte, 16 bytes of account.
fn encode_undo(entries: &Undo) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * (33 + Account::ENCODED_LEN));
    for (address, account) in entries {
        out.extend_from_slice(address.as_bytes());
        out.push(u8::from(account.is_some()));
        out.extend_from_slice(&account.unwrap_or_default().encode());
    }
    out
}

fn decode_undo(bytes: &[u8]) -> Option<Undo> {
    const ENTRY: usize = 33 + Account::ENCODED_LEN;
    if bytes.len() % ENTRY != 0 {
        return None;
    }
    bytes
        .chunks_exact(ENTRY)
        .map(|e| {
            let address = Address::from_bytes(e[..32].try_into().ok()?);
            let account = Account::decode(&e[33..])?;
            Some((address, (e[32] != 0).then_some(account)))
        })
        .collect()
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
    peers: sled::Tree,
    params: ChainParams,
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
            work: genesis.header().target.work(),
        };
        let store = Store {
            blocks: db.open_tree("blocks")?,
            index: db.open_tree("index")?,
            heights: db.open_tree("heights")?,
            accounts: db.open_tree("accounts")?,
            undo: db.open_tree("undo")?,
            txindex: db.open_tree("txindex")?,
            peers: db.open_tree(migrate::PEERS_TREE)?,
            meta,
            db,
            params,
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
    /// to the heaviest valid chain. Header, body and signature rules are checked on arrival;
    /// balance and nonce rules when a block joins the main chain, which may mean disconnecting
    /// blocks (undoing their account changes) and connecting a heavier branch. A branch block that
    /// breaks a balance rule is marked invalid and the main chain stays the heaviest valid one.
    /// Stops at the first invalid or orphan block; everything before it is kept. Returns once the
    /// write is on disk.
    pub fn accept(
        &self,
        blocks: impl IntoIterator<Item = Block>,
        now: Timestamp,
        signatures: &dyn SignatureCheck,
    ) -> Result<AcceptReport, StoreError> {
        let _writer = self.write.lock().expect("writer lock");
        let tip_before = self.tip();
        let mut batch = Batch::default();
        let mut stored = Vec::new();
        let mut known = 0;
        let mut rejected = None;
        let mut best: Option<(BlockHash, BlockMeta)> = None;

        for block in blocks {
            let hash = block.hash();
            if batch.metas.contains_key(&hash) || self.contains(&hash)? {
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
            let Some(parent_meta) = self.lookup(&prev, &batch.metas)? else {
                rejected = Some(Rejection::Orphan {
                    hash,
                    height: block.height(),
                    parent: prev,
                });
                break;
            };
            if parent_meta.invalid {
                rejected = Some(Rejection::Invalid(InvalidBlock {
                    height: block.height(),
                    hash,
                    rule: Rule::InvalidAncestor { ancestor: prev },
                }));
                break;
            }
            let parent = self.parent_context(prev, parent_meta, &batch)?;
            let verified = match validate_block(block, &parent, &self.params, now, signatures) {
                Ok(v) => v,
                Err(e) => {
                    rejected = Some(Rejection::Invalid(e));
                    break;
                }
            };
            let meta = BlockMeta {
                height: verified.header().height,
                chain_work: parent_meta.chain_work + verified.header().target.work(),
                parent: prev,
                timestamp: verified.header().timestamp,
                invalid: false,
            };
            batch.writes.block(&verified, &meta);
            batch.metas.insert(hash, meta);
            stored.push((hash, meta.height));
            if best.is_none_or(|(_, b)| prefers(meta.chain_work, b.chain_work)) {
                best = Some((hash, meta));
            }
            batch.blocks.insert(hash, verified.into_block());
        }

        let mut tip_after = tip_before;
        let mut switch = Switch::default();
        if let Some((hash, meta)) = best.filter(|(_, m)| prefers(m.chain_work, tip_before.work)) {
            switch = self.reorganize(&mut batch, hash, meta, tip_before)?;
            if let Some(tip) = switch.tip {
                tip_after = tip;
            }
            if rejected.is_none() {
                rejected = switch.invalid.clone().map(Rejection::Invalid);
            }
        }
        if !stored.is_empty() {
            self.commit(&batch.writes)?;
            *self.tip.write().expect("tip lock") = tip_after;
        }
        Ok(AcceptReport {
            stored,
            known,
            rejected,
            tip_before,
            tip_after,
            connected: switch.connected,
            disconnected: switch.disconnected,
        })
    }

    /// Tries to make the branch ending in `new_tip` the main chain: walks back to the fork point,
    /// disconnects our blocks above it (restoring accounts from their undo data), then connects the
    /// branch block by block under the balance rules. If a branch block breaks one, it is marked
    /// invalid and the switch goes only as far as the last good block, and only if that is still
    /// heavier than the old tip; otherwise nothing but the invalid mark is written.
    fn reorganize(
        &self,
        batch: &mut Batch,
        new_tip: BlockHash,
        new_meta: BlockMeta,
        old_tip: Tip,
    ) -> Result<Switch, StoreError> {
        // The branch, from its first block after the fork point up to the new tip.
        let mut branch = Vec::new();
        let (mut hash, mut meta) = (new_tip, new_meta);
        while self.hash_at(meta.height)? != Some(hash) {
            branch.push((hash, meta));
            hash = meta.parent;
            meta = self
                .lookup(&hash, &batch.metas)?
                .ok_or_else(|| StoreError::Corrupt(format!("ancestor {hash} missing")))?;
        }
        branch.reverse();
        let fork = meta.height;

        let mut state = StateChanges::default();
        let mut disconnected = Vec::new();
        for h in (fork.get() + 1..=old_tip.height.get()).rev() {
            let height = Height::new(h);
            let hash = self
                .hash_at(height)?
                .ok_or_else(|| StoreError::Corrupt(format!("no main-chain block at {height}")))?;
            let block = self
                .block(&hash)?
                .ok_or_else(|| StoreError::Corrupt(format!("main-chain block {hash} missing")))?;
            for (address, account) in self.undo(&hash)? {
                state.accounts.insert(address, account);
            }
            for tx in &block.transactions {
                state.txindex.insert(tx.txid(), None);
            }
            state.undo.insert(hash, None);
            disconnected.push(block);
        }

        let mut connected = Vec::new();
        let mut last_good: Option<(BlockHash, BlockMeta)> = None;
        let mut invalid = None;
        for (hash, meta) in branch {
            let block = match batch.blocks.get(&hash) {
                Some(b) => b.clone(),
                None => self
                    .block(&hash)?
                    .ok_or_else(|| StoreError::Corrupt(format!("branch block {hash} missing")))?,
            };
            let addresses = touched(&block.transactions);
            let mut accounts = Accounts::with_capacity(addresses.len());
            let mut before = Vec::with_capacity(addresses.len());
            for address in addresses {
                let account = state.account(self, &address)?;
                before.push((address, account));
                accounts.insert(address, account.unwrap_or_default());
            }
            if let Err(rule) = apply_block(&block, &mut accounts) {
                invalid = Some(InvalidBlock {
                    height: meta.height,
                    hash,
                    rule,
                });
                let marked = BlockMeta {
                    invalid: true,
                    ..meta
                };
                batch
                    .writes
                    .index
                    .insert(hash.as_bytes(), &marked.encode()[..]);
                batch.metas.insert(hash, marked);
                break;
            }
            for (address, account) in accounts {
                state.accounts.insert(address, Some(account));
            }
            for tx in &block.transactions {
                state.txindex.insert(tx.txid(), Some(hash));
            }
            state.undo.insert(hash, Some(before));
            state.heights.push((meta.height, hash));
            last_good = Some((hash, meta));
            connected.push(block);
        }

        let Some((tip_hash, tip_meta)) =
            last_good.filter(|(_, m)| prefers(m.chain_work, old_tip.work))
        else {
            return Ok(Switch {
                invalid,
                ..Switch::default()
            });
        };
        state.write_into(&mut batch.writes);
        for h in tip_meta.height.get() + 1..=old_tip.height.get() {
            batch.writes.heights.remove(&height_key(Height::new(h)));
        }
        batch.writes.tip(tip_hash);
        Ok(Switch {
            tip: Some(Tip {
                hash: tip_hash,
                height: tip_meta.height,
                work: tip_meta.chain_work,
            }),
            connected,
            disconnected,
            invalid,
        })
    }

    /// The account changes a main-chain block made, as the states to restore: each touched
    /// address with its account before the block (`None`: it did not exist).
    fn undo(&self, hash: &BlockHash) -> Result<Undo, StoreError> {
        let bytes = self
            .undo
            .get(hash.as_bytes())?
            .ok_or_else(|| StoreError::Corrupt(format!("no undo data for block {hash}")))?;
        decode_undo(&bytes)
            .ok_or_else(|| StoreError::Corrupt(format!("unreadable undo data for block {hash}")))
    }

    /// The account of `address` at the tip (empty if it never received anything).
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

    /// Applies `writes` atomically across trees, then waits for them to reach the disk.
    fn commit(&self, writes: &Writes) -> Result<(), StoreError> {
        (
            &self.blocks,
            &self.index,
            &self.heights,
            &self.meta,
            &self.accounts,
            &self.undo,
            &self.txindex,
        )
            .transaction(|(blocks, index, heights, meta, accounts, undo, txindex)| {
                blocks.apply_batch(&writes.blocks)?;
                index.apply_batch(&writes.index)?;
                heights.apply_batch(&writes.heights)?;
                meta.apply_batch(&writes.meta)?;
                accounts.apply_batch(&writes.accounts)?;
                undo.apply_batch(&writes.undo)?;
                txindex.apply_batch(&writes.txindex)?;
                Ok(())
            })?;
        self.db.flush()?;
        Ok(())
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
    accounts: sled::Batch,
    undo: sled::Batch,
    txindex: sled::Batch,
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
