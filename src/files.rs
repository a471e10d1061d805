//! Files the node writes outside sled (its mining key, its API token, wallets): private to
//! their owner, and written so that a crash at any instant leaves either no file or a whole one.
//!
//! A file is written to a temporary name beside its target, synced, then linked or renamed into
//! place and the directory synced: the target name never points at a half-written file, which is
//! how a `kill -9` during a first start used to leave an empty `miner.key` that no later start
//! could read.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The permission bits the node leaves to others on anything it creates: none. Set once at
/// start, so sled's files and the lock file are private too, whatever the shell's umask (the way
/// bitcoind creates its files 0600).
#[cfg(unix)]
pub fn restrict_umask() {
    // SAFETY: `umask` only sets the process's file-mode creation mask and cannot fail; it is
    // called at start, before any thread of ours creates files.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(not(unix))]
pub fn restrict_umask() {}

/// Raises the limit on open files to the most the system allows this process, and returns
/// it: each connection is a file descriptor, and the common default of 1,024 is exhausted by
/// a thousand idle connections, after which nobody can connect (bitcoind raises it the same
/// way).
#[cfg(unix)]
pub fn raise_open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` and `setrlimit` only read and write the `rlimit` passed by pointer,
    // which lives on this stack frame for both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> Option<u64> {
    None
}

/// Bytes free for this process on the filesystem holding `path`, if the system tells.
#[cfg(unix)]
pub fn free_space(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `statvfs` reads the NUL-terminated path, which outlives the call, and writes
    // only the struct passed by pointer, which lives on this stack frame.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    let read = unsafe { libc::statvfs(path.as_ptr(), &mut stats) };
    (read == 0).then(|| stats.f_bavail as u64 * stats.f_frsize as u64)
}

#[cfg(not(unix))]
pub fn free_space(_path: &Path) -> Option<u64> {
    None
}

/// The process's limit on open files, if the system tells.
#[cfg(unix)]
pub fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` only writes the `rlimit` passed by pointer, which lives on this
    // stack frame.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (read == 0).then_some(limit.rlim_cur)
}

#[cfg(not(unix))]
pub fn open_file_limit() -> Option<u64> {
    None
}

/// Creates `dir` (and its parents) if needed, and makes it readable by its owner only.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// How [`write_private`] treats a file already at the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Fail with `AlreadyExists`: the file holds something (a key) that must never be lost.
    Keep,
    /// Replace it, atomically.
    Replace,
}

/// Writes `contents` to `path`, mode 0600, atomically: readers see the old file (or none) until
/// the new one is complete and synced.
pub fn write_private(path: &Path, contents: &[u8], existing: Existing) -> std::io::Result<()> {
    let temporary = temporary_beside(path);
    let written = write_new(&temporary, contents).and_then(|()| match existing {
        // A hard link fails if the target exists, so two writers cannot both win.
        Existing::Keep => fs::hard_link(&temporary, path),
        Existing::Replace => fs::rename(&temporary, path),
    });
    // Gone after a rename; after a link (or a failure) the temporary name is left to remove.
    let _ = fs::remove_file(&temporary);
    written?;
    sync_dir(path)
}

/// Whether `path` is a file a crash left empty before it could hold anything: created, never
/// written. Such a file never held a secret, so it may be replaced.
pub fn is_empty_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0)
}

fn temporary_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let name = format!(".{}.{}.tmp", name.unwrap_or_default(), std::process::id());
    path.with_file_name(name)
}

fn write_new(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Syncs the directory holding `path`, so the new name survives a power cut.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_file_is_whole_owner_only_and_kept_or_replaced_as_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_private(&path, b"first", Existing::Keep).unwrap();
        let again = write_private(&path, b"second", Existing::Keep).unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_private(&path, b"third", Existing::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"third");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert!(!is_empty_file(&path));
        fs::write(dir.path().join("empty"), b"").unwrap();
        assert!(is_empty_file(&dir.path().join("empty")));
        assert!(!is_empty_file(&dir.path().join("missing")));
    }

    #[cfg(unix)]
    #[test]
    fn a_private_dir_is_owner_only_even_if_it_existed_open() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs::create_dir(&data).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o777)).unwrap();
        private_dir(&data).unwrap();
        let mode = fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
