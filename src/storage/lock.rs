//! Who owns a data directory: an exclusive advisory lock on its `ferrochain.lock`, taken
//! before sled opens the database and held as long as the store is open.
//!
//! Our own lock rather than sled's: sled 0.34 reports its lock as an `io::ErrorKind::Other`
//! with a message (`config.rs`, `try_lock`), so the only way to tell "held by another node"
//! from any other failure would be the text. The lock is `flock` through fs2, the crate sled
//! locks its own files with (std's `File::try_lock` needs Rust 1.89). The operating system
//! releases it when its holder exits, however it exits (`kill -9` too), so a crashed node never
//! leaves its directory locked.

use super::{StoreError, CACHE_BYTES};
use fs2::FileExt;
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::{Duration, Instant};

/// The lock file in a data directory.
pub const LOCK_FILE: &str = "ferrochain.lock";

/// How long [`open_db`] waits for sled's own lock once the directory's is ours.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(1);

/// A data directory's lock, released when dropped (closing the file releases the `flock`).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes `dir`'s lock (creating the directory if need be), or [`StoreError::Locked`] when
    /// another store, in this process or another, holds it.
    pub fn take(dir: &Path) -> Result<DirLock, StoreError> {
        let io = |e: std::io::Error| StoreError::Open {
            path: dir.to_owned(),
            error: sled::Error::Io(e),
        };
        crate::files::private_dir(dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(io)?;
        match file.try_lock_exclusive() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(e) if e.kind() == fs2::lock_contended_error().kind() => {
                Err(StoreError::Locked(dir.to_owned()))
            }
            Err(e) => Err(io(e)),
        }
    }
}

/// Opens sled in `dir`, whose [`DirLock`] the caller holds. sled still takes its own lock on
/// its files, and a store of this process that was just dropped may hold it a moment longer
/// than ours (sled's thread pool finishes the last write): an I/O error of the kind sled reports
/// its lock with is retried for [`SLED_LOCK_WAIT`], since no other node can hold the directory
/// now.
pub fn open_db(_held: &DirLock, dir: &Path) -> Result<sled::Db, StoreError> {
    let deadline = Instant::now() + SLED_LOCK_WAIT;
    loop {
        match sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()
        {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::Other && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(error) => {
                return Err(StoreError::Open {
                    path: dir.to_owned(),
                    error,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_directory_is_refused_until_its_lock_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new");
        let first = DirLock::take(&path).unwrap();
        assert!(path.join(LOCK_FILE).exists());
        let err = DirLock::take(&path).unwrap_err();
        assert!(matches!(&err, StoreError::Locked(p) if *p == path), "{err}");
        drop(first);
        DirLock::take(&path).unwrap();
    }

    #[test]
    fn a_directory_that_cannot_be_created_is_an_open_error_not_a_lock() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let err = DirLock::take(&file.join("below")).unwrap_err();
        assert!(matches!(err, StoreError::Open { .. }), "{err}");
    }
}
