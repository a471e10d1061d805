//! Schema versions of the on-disk store and the upgrades between them.
//!
//! Each version is described in `migrations/NNNN_*.md` at the top of the repository; the code that
//! brings a store from one version to the next is a [`Migration`] here. Upgrades run in order
//! when a store is opened, before the node reads or serves anything. Each step's version is
//! recorded (and flushed) right after its changes; a crash in between runs the step again on the
//! next start, so every step must be idempotent.

use super::{decode_hash, height_key, history, BlockMeta, StoreError, KEY_SCHEMA, KEY_TIP};
use crate::chain::{Block, BlockHash, Height};

/// The schema this build writes. Version 2 (`migrations/0002_accounts.md`) adds account state,
/// undo data and a transaction index for chains with signed transfers; version 3
/// (`migrations/0003_peers.md`) adds the `peers` tree; version 4 (`migrations/0004_targets.md`)
/// holds chains of block version 3, whose parameters may carry a retarget rule; version 5
/// (`migrations/0005_history.md`) adds the `history` tree, each address's transactions; version
/// 6 (`migrations/0006_history_by_block.md`) keeps them in one entry per address and block.
pub const SCHEMA_VERSION: u32 = 6;

/// The tree of peer records (schema version 3).
pub(super) const PEERS_TREE: &str = "peers";

/// Versions that cannot be upgraded, with the reason the user is shown.
const RETIRED: &[(u32, &str)] = &[(
    1,
    "it holds a version-1 chain of free-text entries only, and since version 2 every block \
     must pay a reward and balances must add up, so those blocks are not valid any more; \
     start the node with a new --data-dir (or move the old one away)",
)];

/// One upgrade step, from `from` to `from + 1`.
pub struct Migration {
    pub from: u32,
    pub describe: &'static str,
    /// Applies the step's changes inside the transaction that also bumps the version.
    pub apply: fn(&sled::Db, &sled::Tree) -> Result<(), StoreError>,
}

/// Every known upgrade, in order; a new schema adds its step here and its notes in
/// `migrations/`. Version 1 is retired rather than upgraded (see [`RETIRED`]).
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        from: 2,
        describe: "add the peers tree (known peers and their state, kept across restarts)",
        apply: add_peers_tree,
    },
    Migration {
        from: 3,
        describe: "mark the store for chains with retargeted difficulty (block version 3)",
        apply: allow_retarget_params,
    },
    Migration {
        from: 4,
        describe: "index the main chain's transfers and rewards by address (wallet histories)",
        apply: build_history_index,
    },
    Migration {
        from: 5,
        describe: "rebuild the history index with one entry per address and block",
        apply: build_history_index,
    },
];

/// 2 -> 3. Opening a tree creates it if it is missing and leaves it alone if not, so running
/// this twice (a crash before the version was recorded) changes nothing. Existing data is
/// untouched: a version-2 store simply had no peers stored.
pub(super) fn add_peers_tree(db: &sled::Db, _meta: &sled::Tree) -> Result<(), StoreError> {
    db.open_tree(PEERS_TREE)?;
    Ok(())
}

/// 3 -> 4. Nothing to rewrite: the step only records that the parameters may now be 24 bytes,
/// so that an older build refuses the store as newer instead of calling its parameters corrupt.
/// A store of this version still holding a chain of block version 2 (every store of version 3
/// does) is refused when it is opened, by [`Store::open`](super::Store::open), with the reason.
fn allow_retarget_params(_db: &sled::Db, _meta: &sled::Tree) -> Result<(), StoreError> {
    Ok(())
}

/// 4 -> 5, and 5 -> 6. Builds the history index, in this build's layout, from the main chain
/// as the store holds it. (A store of version 4 builds it twice on its way to 6: once per
/// step, each idempotent.) The tree is
/// cleared first, so a step cut short by a crash starts over and leaves no stale entry. Blocks
/// are read one at a time: memory stays flat however long the chain.
pub(super) fn build_history_index(db: &sled::Db, meta: &sled::Tree) -> Result<(), StoreError> {
    let tree = db.open_tree(history::HISTORY_TREE)?;
    let Some(tip) = meta.get(KEY_TIP)? else {
        // No tip: a store cut short before its genesis was written; nothing to index.
        tree.clear()?;
        return Ok(());
    };
    let tip = decode_hash(&tip)?;
    let index = db.open_tree("index")?;
    let heights = db.open_tree("heights")?;
    let blocks = db.open_tree("blocks")?;
    let tip_height = index
        .get(tip.as_bytes())?
        .map(|m| BlockMeta::decode(&m))
        .transpose()?
        .ok_or_else(|| StoreError::Corrupt(format!("tip {tip} has no index entry")))?
        .height;
    let block_at = |height: Height| -> Result<Block, StoreError> {
        let missing = || StoreError::Corrupt(format!("main chain lacks block {height}"));
        let hash: BlockHash = decode_hash(&heights.get(height_key(height))?.ok_or_else(missing)?)?;
        let bytes = blocks.get(hash.as_bytes())?.ok_or_else(missing)?;
        Block::decode(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("block {hash} does not decode: {e}")))
    };
    let written = history::rebuild(&tree, tip_height, block_at)?;
    log::info!("indexed {written} history entries up to height {tip_height}");
    Ok(())
}

pub(super) fn read_version(meta: &sled::Tree) -> Result<u32, StoreError> {
    let bytes = meta
        .get(KEY_SCHEMA)?
        .ok_or_else(|| StoreError::Corrupt("no schema version".into()))?;
    let bytes: [u8; 4] = bytes
        .as_ref()
        .try_into()
        .map_err(|_| StoreError::Corrupt("unreadable schema version".into()))?;
    Ok(u32::from_le_bytes(bytes))
}

/// Brings the store up to the newest version `migrations` reach (at least [`SCHEMA_VERSION`]),
/// refusing a store written by a newer build.
pub(super) fn run(
    db: &sled::Db,
    meta: &sled::Tree,
    migrations: &[Migration],
) -> Result<u32, StoreError> {
    let target = migrations
        .iter()
        .map(|m| m.from + 1)
        .max()
        .unwrap_or(SCHEMA_VERSION)
        .max(SCHEMA_VERSION);
    let mut version = read_version(meta)?;
    if version > target {
        return Err(StoreError::NewerSchema {
            found: version,
            supported: target,
        });
    }
    while version < target {
        let Some(step) = migrations.iter().find(|m| m.from == version) else {
            return Err(match RETIRED.iter().find(|(v, _)| *v == version) {
                Some((_, reason)) => StoreError::Retired {
                    found: version,
                    reason,
                },
                None => StoreError::NoUpgrade(version),
            });
        };
        log::info!(
            "upgrading store schema {} -> {}: {}",
            version,
            version + 1,
            step.describe
        );
        (step.apply)(db, meta)?;
        meta.insert(KEY_SCHEMA, &(version + 1).to_le_bytes())?;
        db.flush()?;
        version += 1;
    }
    Ok(version)
}
