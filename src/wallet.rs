//! Wallets: Ed25519 keys kept in a keystore directory, one file per wallet.
//!
//! Keys live only here, on the client's machine; the node sees signed transfers and addresses,
//! never a private key. Files are created readable by their owner only (mode 0600, directory
//! 0700) and hold the key unencrypted, so the directory must be protected like an SSH key.

use crate::chain::{Address, Amount, BlockHash, Transfer};
use crate::files::{self, Existing};
use ed25519_dalek::SigningKey;
use std::fs;
use std::path::{Path, PathBuf};

/// Where wallets live unless `--wallet-dir` says otherwise.
pub const DEFAULT_DIR: &str = "data/wallets";

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("{0:?} is not a wallet name: use 1 to 32 letters, digits, '-' or '_'")]
    BadName(String),
    #[error("a wallet named {name:?} already exists in {}", dir.display())]
    Exists { name: String, dir: PathBuf },
    #[error("no wallet named {name:?} in {}", dir.display())]
    NotFound { name: String, dir: PathBuf },
    #[error("{input:?} is neither an address nor a wallet in {}: {reason}", dir.display())]
    Unresolved {
        input: String,
        dir: PathBuf,
        reason: String,
    },
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{} is not a wallet file: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
}

/// A wallet loaded with its key. Its `Debug` shows the name and address, never the key.
pub struct Wallet {
    pub name: String,
    pub address: Address,
    key: SigningKey,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("name", &self.name)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// Signs a transfer from this wallet for the chain whose genesis is `chain`.
    pub fn sign_transfer(
        &self,
        to: Address,
        amount: Amount,
        fee: Amount,
        nonce: u64,
        chain: &BlockHash,
    ) -> Transfer {
        Transfer::sign(&self.key, to, amount, fee, nonce, chain)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct WalletFile {
    name: String,
    address: Address,
    secret_key: String,
}

/// A directory of wallet files.
pub struct Keystore {
    dir: PathBuf,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> WalletError + '_ {
    move |error| WalletError::Io {
        path: path.to_owned(),
        error,
    }
}

/// Writes `contents` to a new file readable by the owner only, whole or not at all; fails if
/// it exists (a key is never overwritten).
fn write_private(path: &Path, contents: &[u8]) -> Result<(), WalletError> {
    files::write_private(path, contents, Existing::Keep).map_err(io_error(path))
}

fn read_key(path: &Path) -> Result<(WalletFile, SigningKey), WalletError> {
    let corrupt = |reason: String| WalletError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let text = fs::read_to_string(path).map_err(io_error(path))?;
    let file: WalletFile = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    let mut secret = [0u8; 32];
    hex::decode_to_slice(&file.secret_key, &mut secret)
        .map_err(|_| corrupt("the secret key is not 64 hex characters".into()))?;
    let key = SigningKey::from_bytes(&secret);
    if Address::from_public_key(&key.verifying_key()) != file.address {
        return Err(corrupt("the address does not belong to the key".into()));
    }
    Ok((file, key))
}

fn new_key() -> SigningKey {
    SigningKey::generate(&mut rand_core::OsRng)
}

impl Keystore {
    pub fn new(dir: impl Into<PathBuf>) -> Keystore {
        Keystore { dir: dir.into() }
    }

    /// Whether `name` can name a wallet: 1 to 32 letters, digits, `-` or `_`.
    pub fn valid_name(name: &str) -> bool {
        (1..=32).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Creates a wallet with a fresh key.
    pub fn create(&self, name: &str) -> Result<Wallet, WalletError> {
        if !Self::valid_name(name) {
            return Err(WalletError::BadName(name.to_owned()));
        }
        files::private_dir(&self.dir).map_err(io_error(&self.dir))?;
        let path = self.path(name);
        if path.exists() {
            return Err(WalletError::Exists {
                name: name.to_owned(),
                dir: self.dir.clone(),
            });
        }
        let key = new_key();
        let address = Address::from_public_key(&key.verifying_key());
        let file = WalletFile {
            name: name.to_owned(),
            address,
            secret_key: hex::encode(key.to_bytes()),
        };
        let json = serde_json::to_vec_pretty(&file).expect("a wallet file serialises");
        write_private(&path, &json)?;
        Ok(Wallet {
            name: name.to_owned(),
            address,
            key,
        })
    }

    pub fn load(&self, name: &str) -> Result<Wallet, WalletError> {
        if !Self::valid_name(name) {
            return Err(WalletError::BadName(name.to_owned()));
        }
        let path = self.path(name);
        if !path.exists() {
            return Err(WalletError::NotFound {
                name: name.to_owned(),
                dir: self.dir.clone(),
            });
        }
        let (file, key) = read_key(&path)?;
        Ok(Wallet {
            name: file.name,
            address: file.address,
            key,
        })
    }

    /// Every wallet's name and address, sorted by name. A missing directory holds none.
    pub fn list(&self) -> Result<Vec<(String, Address)>, WalletError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(io_error(&self.dir))?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let (file, _) = read_key(&path)?;
                out.push((file.name, file.address));
            }
        }
        out.sort();
        Ok(out)
    }

    /// An address as given, or the address of the wallet with that name.
    pub fn resolve(&self, name_or_address: &str) -> Result<Address, WalletError> {
        match name_or_address.parse::<Address>() {
            Ok(address) => Ok(address),
            Err(e) if Self::valid_name(name_or_address) => match self.load(name_or_address) {
                Ok(w) => Ok(w.address),
                Err(WalletError::NotFound { .. }) => Err(WalletError::Unresolved {
                    input: name_or_address.to_owned(),
                    dir: self.dir.clone(),
                    reason: e.to_string(),
                }),
                Err(other) => Err(other),
            },
            Err(e) => Err(WalletError::Unresolved {
                input: name_or_address.to_owned(),
                dir: self.dir.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

/// The key a node mines to when no `--miner` is given: `path`, created on first use. An empty
/// file is what a crash during an older version's first start could leave: it never held a
/// key, so a new one takes its place. A damaged or foreign file is refused with its reason.
pub fn load_or_create_node_key(path: &Path) -> Result<Address, WalletError> {
    if files::is_empty_file(path) {
        log::warn!(
            "{} is empty (a start was cut short): creating a new key",
            path.display()
        );
        fs::remove_file(path).map_err(io_error(path))?;
    }
    if path.exists() {
        return Ok(read_key(path)?.0.address);
    }
    let key = new_key();
    let address = Address::from_public_key(&key.verifying_key());
    let file = WalletFile {
        name: "node".into(),
        address,
        secret_key: hex::encode(key.to_bytes()),
    };
    write_private(path, &serde_json::to_vec_pretty(&file).expect("serialises"))?;
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_list_load_and_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path().join("wallets"));
        assert!(store.list().unwrap().is_empty());
        let alice = store.create("alice").unwrap();
        assert!(matches!(
            store.create("alice"),
            Err(WalletError::Exists { .. })
        ));
        assert!(matches!(store.create("../x"), Err(WalletError::BadName(_))));
        let bob = store.create("bob").unwrap();
        assert_eq!(
            store.list().unwrap(),
            vec![("alice".into(), alice.address), ("bob".into(), bob.address)]
        );
        assert_eq!(store.load("alice").unwrap().address, alice.address);
        assert_eq!(store.resolve("bob").unwrap(), bob.address);
        assert_eq!(
            store.resolve(&bob.address.to_string()).unwrap(),
            bob.address
        );
        assert!(matches!(
            store.resolve("carol"),
            Err(WalletError::Unresolved { .. })
        ));
        assert!(matches!(
            store.load("carol"),
            Err(WalletError::NotFound { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path().join("w"));
        store.create("alice").unwrap();
        let mode = fs::metadata(dir.path().join("w/alice.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = fs::metadata(dir.path().join("w"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_signed_transfer_verifies_only_on_its_chain() {
        let dir = tempfile::tempdir().unwrap();
        let w = Keystore::new(dir.path()).create("a").unwrap();
        let chain = BlockHash::from_bytes([1; 32]);
        let t = w.sign_transfer(w.address, Amount::from_units(5), Amount::ZERO, 0, &chain);
        assert!(t.verify_signature(&chain));
        assert!(!t.verify_signature(&BlockHash::ZERO));
    }

    #[test]
    fn the_node_key_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("miner.key");
        let a = load_or_create_node_key(&path).unwrap();
        assert_eq!(load_or_create_node_key(&path).unwrap(), a);
    }

    #[test]
    fn an_empty_node_key_left_by_a_crash_is_replaced_a_damaged_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("miner.key");
        fs::write(&path, b"").unwrap();
        let a = load_or_create_node_key(&path).unwrap();
        assert_eq!(load_or_create_node_key(&path).unwrap(), a);
        fs::write(&path, b"{\"name\": \"node\"").unwrap();
        let refused = load_or_create_node_key(&path).unwrap_err().to_string();
        assert!(refused.contains("miner.key"), "{refused}");
        assert_eq!(
            fs::read(&path).unwrap(),
            b"{\"name\": \"node\"",
            "left as it was"
        );
    }
}
