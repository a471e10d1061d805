//! Wallets: Ed25519 keys kept in a keystore directory, one file per wallet.
//!
//! Keys live only here, on the client's machine; the node sees signed transfers and addresses,
//! never a private key. Files are created readable by their owner only (mode 0600, directory
//! 0700). A key is stored either in the clear (protect the directory like an SSH key) or
//! encrypted under a passphrase; the address is always in the clear, so listing wallets, showing
//! balances and histories, and paying to a wallet by name need no passphrase.
//!
//! A new key comes from a [`RecoveryPhrase`]: 24 BIP39 words that rebuild the same key on any
//! machine. The key is the SLIP-0010 Ed25519 master key of the phrase's BIP39 seed (empty BIP39
//! passphrase): `HMAC-SHA512(key = "ed25519 seed", data = seed)`, its first 32 bytes.
//!
//! An encrypted key is sealed with XChaCha20-Poly1305 under a key stretched from the passphrase
//! by Argon2id (its costs and salt stored beside it), with the address as associated data, so
//! a file whose address was edited does not open.

mod phrase;
mod sealed;

pub use phrase::RecoveryPhrase;
pub use sealed::Passphrase;

use crate::chain::{Address, Amount, BlockHash, Transfer};
use crate::files::{self, Existing};
use ed25519_dalek::SigningKey;
use sealed::EncryptedKey;
use std::fs;
use std::path::{Path, PathBuf};

/// Where wallets live unless `--wallet-dir` says otherwise.
pub const DEFAULT_DIR: &str = "data/wallets";

/// Words in a recovery phrase: 24, the most BIP39 has (256 bits of entropy).
pub const PHRASE_WORDS: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("{0:?} is not a wallet name: use 1 to 32 letters, digits, '-' or '_'")]
    BadName(String),
    #[error("a wallet named {name:?} already exists in {}", dir.display())]
    Exists { name: String, dir: PathBuf },
    #[error("no wallet named {name:?} in {}", dir.display())]
    NotFound { name: String, dir: PathBuf },
    /// Text that is neither a wallet of the keystore nor an address: `reason` says which
    /// mistake it looks like (an unknown name, a Bitcoin address, a bad character, a typo).
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
    #[error("wallet {name:?} is encrypted: its passphrase is needed to use its key")]
    Locked { name: String },
    #[error("wrong passphrase for wallet {name:?}")]
    WrongPassphrase { name: String },
    #[error("wallet {name:?} is already encrypted")]
    AlreadyEncrypted { name: String },
    #[error("an empty passphrase protects nothing: choose one, or do not encrypt")]
    EmptyPassphrase,
    #[error("not a recovery phrase: {0}")]
    BadPhrase(String),
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

/// How a key file holds its key.
#[derive(serde::Serialize, serde::Deserialize)]
struct WalletFile {
    name: String,
    address: Address,
    /// The key in the clear, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encrypted_key: Option<EncryptedKey>,
}

/// A wallet file as read from the keystore: its name and address, and its key still sealed
/// if it is encrypted.
pub struct StoredWallet {
    pub name: String,
    pub address: Address,
    path: PathBuf,
    file: WalletFile,
}

impl StoredWallet {
    pub fn is_encrypted(&self) -> bool {
        self.file.encrypted_key.is_some()
    }

    /// The wallet with its key; an encrypted one needs its passphrase.
    pub fn unlock(self, passphrase: Option<&Passphrase>) -> Result<Wallet, WalletError> {
        let key = self.key(passphrase)?;
        Ok(Wallet {
            name: self.name,
            address: self.address,
            key,
        })
    }

    /// The key, opened with `passphrase` if sealed, and checked against the address.
    fn key(&self, passphrase: Option<&Passphrase>) -> Result<SigningKey, WalletError> {
        let corrupt = |reason: String| WalletError::Corrupt {
            path: self.path.clone(),
            reason,
        };
        let secret = match (&self.file.encrypted_key, &self.file.secret_key) {
            (Some(sealed), _) => {
                let name = self.name.clone();
                let passphrase = passphrase.ok_or(WalletError::Locked { name: name.clone() })?;
                sealed
                    .open(&self.address, passphrase)
                    .map_err(corrupt)?
                    .ok_or(WalletError::WrongPassphrase { name })?
            }
            (None, Some(hex_key)) => {
                let mut secret = [0u8; 32];
                hex::decode_to_slice(hex_key, &mut secret)
                    .map_err(|_| corrupt("the secret key is not 64 hex characters".into()))?;
                secret
            }
            (None, None) => return Err(corrupt("it holds no key".into())),
        };
        let key = SigningKey::from_bytes(&secret);
        if Address::from_public_key(&key.verifying_key()) != self.address {
            return Err(corrupt("the address does not belong to the key".into()));
        }
        Ok(key)
    }
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

/// Reads a wallet file. A key in the clear is checked against the address now; a sealed one
/// when it is opened.
fn read_file(path: &Path) -> Result<StoredWallet, WalletError> {
    let corrupt = |reason: String| WalletError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let text = fs::read_to_string(path).map_err(io_error(path))?;
    let file: WalletFile = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    let stored = StoredWallet {
        name: file.name.clone(),
        address: file.address,
        path: path.to_owned(),
        file,
    };
    if !stored.is_encrypted() {
        stored.key(None)?;
    }
    Ok(stored)
}

fn file_for(name: &str, key: &SigningKey, passphrase: Option<&Passphrase>) -> WalletFile {
    let address = Address::from_public_key(&key.verifying_key());
    WalletFile {
        name: name.to_owned(),
        address,
        secret_key: match passphrase {
            None => Some(hex::encode(key.to_bytes())),
            Some(_) => None,
        },
        encrypted_key: passphrase.map(|p| EncryptedKey::seal(key, &address, p)),
    }
}

fn to_json(file: &WalletFile) -> Vec<u8> {
    serde_json::to_vec_pretty(file).expect("a wallet file serialises")
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

    /// The file that holds (or would hold) wallet `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// The path for a new wallet `name`: the name is valid and not taken.
    fn free_path(&self, name: &str) -> Result<PathBuf, WalletError> {
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
        Ok(path)
    }

    /// Creates a wallet with a fresh key, in the clear.
    pub fn create(&self, name: &str) -> Result<Wallet, WalletError> {
        self.create_from(name, &RecoveryPhrase::generate(), None)
    }

    /// Creates wallet `name` with the key of `phrase` (a new phrase makes a new wallet, a
    /// written-down one recovers its wallet), encrypted if a passphrase is given.
    pub fn create_from(
        &self,
        name: &str,
        phrase: &RecoveryPhrase,
        passphrase: Option<&Passphrase>,
    ) -> Result<Wallet, WalletError> {
        let path = self.free_path(name)?;
        let key = phrase.key();
        let file = file_for(name, &key, passphrase);
        write_private(&path, &to_json(&file))?;
        Ok(Wallet {
            name: name.to_owned(),
            address: file.address,
            key,
        })
    }

    /// Wallet `name` as stored, its key not yet opened.
    pub fn open(&self, name: &str) -> Result<StoredWallet, WalletError> {
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
        read_file(&path)
    }

    /// Wallet `name` with its key; an encrypted one answers [`WalletError::Locked`].
    pub fn load(&self, name: &str) -> Result<Wallet, WalletError> {
        self.open(name)?.unlock(None)
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
                let stored = read_file(&path)?;
                out.push((stored.name, stored.address));
            }
        }
        out.sort();
        Ok(out)
    }

    /// An address as given, or the address of the wallet with that name. Text that is neither
    /// is refused with the mistake it looks like: a Bitcoin address, a character an address
    /// cannot hold, a mistyped address (its checksum), or a wallet name the keystore lacks.
    pub fn resolve(&self, name_or_address: &str) -> Result<Address, WalletError> {
        use crate::chain::AddressError;
        let unresolved = |reason: String| WalletError::Unresolved {
            input: name_or_address.to_owned(),
            dir: self.dir.clone(),
            reason,
        };
        let parsed = name_or_address.parse::<Address>();
        let error = match parsed {
            Ok(address) => return Ok(address),
            Err(e) => e,
        };
        if Self::valid_name(name_or_address) {
            match self.open(name_or_address) {
                Ok(w) => return Ok(w.address),
                Err(WalletError::NotFound { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        let looks_like_address = name_or_address.to_ascii_lowercase().starts_with("fc1");
        let reason = match error {
            AddressError::Bitcoin { .. } => error.to_string(),
            _ if looks_like_address => error.to_string(),
            _ if Self::valid_name(name_or_address) => {
                "no wallet has that name (and an address starts with \"fc1\")".to_owned()
            }
            _ => error.to_string(),
        };
        // The address error repeats the input; the reason is what follows it.
        let reason = match reason.split_once(" is not an address: ") {
            Some((_, why)) => format!("not an address: {why}"),
            None => reason,
        };
        Err(unresolved(reason))
    }

    /// Encrypts the key of wallet `name`, stored in the clear until now, under `passphrase`.
    /// The file is replaced atomically: a crash leaves the clear file or the sealed one.
    pub fn encrypt(
        &self,
        name: &str,
        passphrase: &Passphrase,
    ) -> Result<StoredWallet, WalletError> {
        let stored = self.open(name)?;
        if stored.is_encrypted() {
            return Err(WalletError::AlreadyEncrypted {
                name: name.to_owned(),
            });
        }
        let key = stored.key(None)?;
        let file = file_for(&stored.name, &key, Some(passphrase));
        files::write_private(&stored.path, &to_json(&file), Existing::Replace)
            .map_err(io_error(&stored.path))?;
        read_file(&stored.path)
    }

    /// Copies wallet `name`'s file, as it is (encrypted or not), to a new file at `to`.
    pub fn export(&self, name: &str, to: &Path) -> Result<StoredWallet, WalletError> {
        let stored = self.open(name)?;
        let bytes = fs::read(&stored.path).map_err(io_error(&stored.path))?;
        write_private(to, &bytes).map_err(|e| match e {
            WalletError::Io { path, error }
                if error.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                WalletError::Io {
                    path,
                    error: std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "a file is already there; it is not overwritten",
                    ),
                }
            }
            other => other,
        })?;
        Ok(stored)
    }

    /// Adds the wallet in the key file `from` (one `export` wrote, or any keystore's file) as
    /// `name`, or under the name it holds. The file is checked before anything is written.
    pub fn import(&self, from: &Path, name: Option<&str>) -> Result<StoredWallet, WalletError> {
        let stored = read_file(from)?;
        let name = name.unwrap_or(&stored.name).to_owned();
        let path = self.free_path(&name)?;
        let file = WalletFile {
            name: name.clone(),
            ..stored.file
        };
        write_private(&path, &to_json(&file))?;
        Ok(StoredWallet {
            name,
            address: file.address,
            path,
            file,
        })
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
        return Ok(read_file(path)?.address);
    }
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let file = file_for("node", &key, None);
    write_private(path, &to_json(&file))?;
    Ok(file.address)
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
    fn a_recovery_phrase_rebuilds_the_same_wallet() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path());
        let phrase = RecoveryPhrase::generate();
        assert_eq!(phrase.words().split(' ').count(), PHRASE_WORDS);
        assert_eq!(format!("{phrase:?}"), "RecoveryPhrase(..)");
        let made = store.create_from("made", &phrase, None).unwrap();
        // Typed again with other spacing and case.
        let typed = phrase.words().to_uppercase().replace(' ', "  \n ");
        let again = RecoveryPhrase::parse(&typed).unwrap();
        let recovered = store.create_from("recovered", &again, None).unwrap();
        assert_eq!(recovered.address, made.address);
        let chain = BlockHash::from_bytes([3; 32]);
        let t =
            recovered.sign_transfer(made.address, Amount::from_units(1), Amount::ZERO, 0, &chain);
        assert_eq!(t.from, made.address);
        assert!(t.verify_signature(&chain));

        let words: Vec<String> = phrase.words().split(' ').map(str::to_owned).collect();
        let short = words[..23].join(" ");
        let err = RecoveryPhrase::parse(&short).unwrap_err().to_string();
        assert!(err.contains("23 words"), "{err}");
        let mut unknown = words.clone();
        unknown[4] = "ferrochain".into();
        let err = RecoveryPhrase::parse(&unknown.join(" "))
            .unwrap_err()
            .to_string();
        assert!(err.contains("word 5 (\"ferrochain\")"), "{err}");
        // The last word's low bits are the checksum: its neighbour in the list keeps the key's
        // bits and breaks the checksum, whatever the phrase.
        let list = bip39::Language::English.word_list();
        let last = list.iter().position(|w| *w == words[23]).unwrap();
        let mut typo = words.clone();
        typo[23] = list[last ^ 1].to_owned();
        let err = RecoveryPhrase::parse(&typo.join(" "))
            .unwrap_err()
            .to_string();
        assert!(err.contains("checksum"), "{err}");
    }

    #[test]
    fn an_encrypted_wallet_opens_with_its_passphrase_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path());
        let pass = Passphrase::new("correct horse").unwrap();
        let made = store
            .create_from("safe", &RecoveryPhrase::generate(), Some(&pass))
            .unwrap();
        let text = fs::read_to_string(store.path("safe")).unwrap();
        assert!(!text.contains(&hex::encode(made.key.to_bytes())));
        assert!(!text.contains("secret_key"), "{text}");
        // The address needs no passphrase: listing, resolving.
        assert_eq!(store.list().unwrap(), vec![("safe".into(), made.address)]);
        assert_eq!(store.resolve("safe").unwrap(), made.address);
        assert!(store.open("safe").unwrap().is_encrypted());
        assert!(matches!(
            store.load("safe"),
            Err(WalletError::Locked { .. })
        ));
        let wrong = Passphrase::new("wrong horse").unwrap();
        assert!(matches!(
            store.open("safe").unwrap().unlock(Some(&wrong)),
            Err(WalletError::WrongPassphrase { .. })
        ));
        let opened = store.open("safe").unwrap().unlock(Some(&pass)).unwrap();
        assert_eq!(opened.key.to_bytes(), made.key.to_bytes());
        assert!(matches!(
            Passphrase::new(""),
            Err(WalletError::EmptyPassphrase)
        ));
        assert!(matches!(
            store.encrypt("safe", &pass),
            Err(WalletError::AlreadyEncrypted { .. })
        ));

        // A wallet kept in the clear until now is sealed in place, and keeps its address.
        let plain = store.create("plain").unwrap();
        let sealed = store.encrypt("plain", &pass).unwrap();
        assert!(sealed.is_encrypted());
        assert!(matches!(
            store.load("plain"),
            Err(WalletError::Locked { .. })
        ));
        let opened = store.open("plain").unwrap().unlock(Some(&pass)).unwrap();
        assert_eq!(
            (opened.address, opened.key.to_bytes()),
            (plain.address, plain.key.to_bytes())
        );

        // An edited address does not open with the right passphrase either.
        let other = Address::from_bytes([9; 32]).to_string();
        let edited = text.replace(&made.address.to_string(), &other);
        fs::write(store.path("safe"), edited).unwrap();
        assert!(matches!(
            store.open("safe").unwrap().unlock(Some(&pass)),
            Err(WalletError::WrongPassphrase { .. })
        ));
    }

    #[test]
    fn export_and_import_carry_a_wallet_to_another_keystore() {
        let dir = tempfile::tempdir().unwrap();
        let home = Keystore::new(dir.path().join("home"));
        let away = Keystore::new(dir.path().join("away"));
        let alice = home.create("alice").unwrap();
        let file = dir.path().join("alice-backup.json");
        home.export("alice", &file).unwrap();
        // Never over an existing file.
        assert!(matches!(
            home.export("alice", &file),
            Err(WalletError::Io { .. })
        ));
        let imported = away.import(&file, None).unwrap();
        assert_eq!(
            (imported.name.as_str(), imported.address),
            ("alice", alice.address)
        );
        let again = away.import(&file, Some("alice2")).unwrap();
        assert_eq!(again.address, alice.address);
        assert!(matches!(
            away.import(&file, None),
            Err(WalletError::Exists { .. })
        ));
        let key = away.load("alice2").unwrap().key.to_bytes();
        assert_eq!(key, alice.key.to_bytes());

        // An encrypted wallet travels sealed and opens with the same passphrase.
        let pass = Passphrase::new("pw").unwrap();
        home.create_from("bob", &RecoveryPhrase::generate(), Some(&pass))
            .unwrap();
        let file = dir.path().join("bob.json");
        home.export("bob", &file).unwrap();
        let bob = away.import(&file, None).unwrap();
        assert!(bob.is_encrypted());
        bob.unlock(Some(&pass)).unwrap();

        // A file that is not a wallet, or whose key is not its address's, is refused and
        // nothing is written.
        let bad = dir.path().join("bad.json");
        fs::write(&bad, b"{\"name\": \"x\"}").unwrap();
        assert!(matches!(
            away.import(&bad, Some("x")),
            Err(WalletError::Corrupt { .. })
        ));
        let mut forged: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join("alice-backup.json")).unwrap())
                .unwrap();
        forged["address"] = Address::from_bytes([9; 32]).to_string().into();
        fs::write(&bad, forged.to_string()).unwrap();
        assert!(matches!(
            away.import(&bad, Some("x")),
            Err(WalletError::Corrupt { .. })
        ));
        assert!(!away.path("x").exists());
    }

    #[test]
    fn names_and_addresses_that_resolve_to_nothing_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path());
        let alice = store.create("alice").unwrap().address.to_string();
        let reason = |input: &str| match store.resolve(input) {
            Err(WalletError::Unresolved { reason, .. }) => reason,
            other => panic!("{input}: {other:?}"),
        };
        assert!(reason("carol").contains("no wallet has that name"));
        assert!(reason("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa").contains("Bitcoin address"));
        let bad_char = format!("{}o{}", &alice[..5], &alice[6..]);
        assert!(reason(&bad_char).contains("character 6 is 'o'"));
        let i = alice.len() - 2;
        let typo = format!(
            "{}{}{}",
            &alice[..i],
            if &alice[i..=i] == "q" { "p" } else { "q" },
            &alice[i + 1..]
        );
        assert!(reason(&typo).contains("checksum"));
        assert!(reason("not a name!").contains("not an address"));
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
