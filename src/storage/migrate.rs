//! Schema versions of the on-disk store and the upgrades between them.
//!
//! Each version is described in `migrations/NNNN_*.md` at the top of the repository; the code that
//! brings a store from one version to the next is a [`Migration`] here. Upgrades run in order
//! when a store is opened, before the node reads or serves anything. Each step's version is
//! recorded (and flushed) right after its changes; a crash in between runs the step again on the
//! next start, so every step must be idempotent.

use super::{StoreError, KEY_SCHEMA};

/// The schema this build writes. Version 1: trees `blocks`, `index`, `heights`, `meta`
/// (see `migrations/0001_initial.md`).
pub const SCHEMA_VERSION: u32 = 1;

/// One upgrade step, from `from` to `from + 1`.
pub struct Migration {
    pub from: u32,
    pub describe: &'static str,
    /// Applies the step's changes inside the transaction that also bumps the version.
    pub apply: fn(&sled::Db, &sled::Tree) -> Result<(), StoreError>,
}

/// Every known upgrade, in order. Version 1 is the first schema, so there is nothing to upgrade
/// from yet; the next schema adds its step here and its notes in `migrations/`.
pub(super) const MIGRATIONS: &[Migration] = &[];

fn read_version(meta: &sled::Tree) -> Result<u32, StoreError> {
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
        let step = migrations
            .iter()
            .find(|m| m.from == version)
            .ok_or(StoreError::NoUpgrade(version))?;
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
