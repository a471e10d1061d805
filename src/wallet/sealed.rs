//! Key files encrypted under a passphrase: Argon2id stretches the passphrase (memory-hard, its
//! costs and salt stored beside the key, so later builds can raise them), and XChaCha20-Poly1305
//! seals the secret key with the address as associated data, so a file whose address was edited
//! does not open either.

use super::WalletError;
use crate::chain::Address;
use ed25519_dalek::SigningKey;

/// A passphrase that encrypts a key. Its `Debug` hides it.
#[derive(Clone)]
pub struct Passphrase(pub(super) String);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

impl Passphrase {
    /// A passphrase to encrypt with or to open a key; never empty.
    pub fn new(text: impl Into<String>) -> Result<Passphrase, WalletError> {
        let text = text.into();
        match text.is_empty() {
            true => Err(WalletError::EmptyPassphrase),
            false => Ok(Passphrase(text)),
        }
    }
}

/// A key sealed under a passphrase: Argon2id stretches the passphrase with `salt` at the
/// stated costs into a key for XChaCha20-Poly1305, which seals the secret key with the address
/// as associated data.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct EncryptedKey {
    kdf: String,
    /// Memory in KiB, passes and lanes of Argon2id.
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

const KDF: &str = "argon2id";
const CIPHER: &str = "xchacha20poly1305";

impl EncryptedKey {
    pub(super) fn seal(
        key: &SigningKey,
        address: &Address,
        passphrase: &Passphrase,
    ) -> EncryptedKey {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        use rand_core::RngCore;
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 24];
        rand_core::OsRng.fill_bytes(&mut salt);
        rand_core::OsRng.fill_bytes(&mut nonce);
        let params = argon2::Params::default();
        let (m_cost, t_cost, p_cost) = (params.m_cost(), params.t_cost(), params.p_cost());
        // The default costs and a 16-byte salt are valid inputs, so stretching cannot fail.
        let wrapping = stretch(passphrase, &salt, m_cost, t_cost, p_cost).expect("valid costs");
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(&wrapping.into());
        let sealed = cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: &key.to_bytes(),
                    aad: address.as_bytes(),
                },
            )
            .expect("sealing 32 bytes cannot fail");
        EncryptedKey {
            kdf: KDF.to_owned(),
            m_cost,
            t_cost,
            p_cost,
            salt: hex::encode(salt),
            cipher: CIPHER.to_owned(),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(sealed),
        }
    }

    /// The secret key, or `None` if the passphrase (or the address) is not the one it was
    /// sealed with; `Err` with a reason if the record itself is unreadable.
    pub(super) fn open(
        &self,
        address: &Address,
        passphrase: &Passphrase,
    ) -> Result<Option<[u8; 32]>, String> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        if self.kdf != KDF || self.cipher != CIPHER {
            return Err(format!(
                "unknown encryption {} with {} (this build knows {KDF} with {CIPHER})",
                self.kdf, self.cipher
            ));
        }
        let salt = hex::decode(&self.salt).map_err(|_| "the salt is not hex".to_owned())?;
        let mut nonce = [0u8; 24];
        hex::decode_to_slice(&self.nonce, &mut nonce)
            .map_err(|_| "the nonce is not 48 hex characters".to_owned())?;
        let sealed =
            hex::decode(&self.ciphertext).map_err(|_| "the ciphertext is not hex".to_owned())?;
        let wrapping = stretch(passphrase, &salt, self.m_cost, self.t_cost, self.p_cost)
            .map_err(|e| format!("bad key-stretching settings: {e}"))?;
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(&wrapping.into());
        let opened = cipher.decrypt(
            &nonce.into(),
            Payload {
                msg: &sealed,
                aad: address.as_bytes(),
            },
        );
        match opened {
            Ok(secret) => secret
                .try_into()
                .map(Some)
                .map_err(|_| "the sealed key is not 32 bytes".to_owned()),
            Err(_) => Ok(None),
        }
    }
}

/// A 32-byte key from `passphrase` with Argon2id at the given costs.
fn stretch(
    passphrase: &Passphrase,
    salt: &[u8],
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
) -> Result<[u8; 32], argon2::Error> {
    let params = argon2::Params::new(m_cost, t_cost, p_cost, Some(32))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon.hash_password_into(passphrase.0.as_bytes(), salt, &mut out)?;
    Ok(out)
}
