//! Recovery phrases: 24 BIP39 words from which a wallet's key is made, and made again.
//!
//! The key is the SLIP-0010 Ed25519 master key of the phrase's BIP39 seed (with an empty BIP39
//! passphrase): the left half of `HMAC-SHA512(key = "ed25519 seed", data = seed)`. Any wallet
//! software that follows BIP39 and SLIP-0010 for Ed25519 at path `m` finds the same key.

use super::{WalletError, PHRASE_WORDS};
use ed25519_dalek::SigningKey;

/// The 24 words a wallet's key is made from. Whoever has them has the key: its `Debug` hides
/// them, and they are shown only when asked for.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryPhrase(pub(super) bip39::Mnemonic);

impl std::fmt::Debug for RecoveryPhrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryPhrase(..)")
    }
}

impl RecoveryPhrase {
    /// A new phrase from 256 bits of the system's randomness.
    pub fn generate() -> RecoveryPhrase {
        use rand_core::RngCore;
        let mut entropy = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut entropy);
        // 32 bytes is a valid BIP39 entropy length, so this cannot fail.
        RecoveryPhrase(bip39::Mnemonic::from_entropy(&entropy).expect("256 bits of entropy"))
    }

    /// Reads a phrase as a person types it: any spacing or case, English words, 24 of them.
    pub fn parse(text: &str) -> Result<RecoveryPhrase, WalletError> {
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        if words.len() != PHRASE_WORDS {
            return Err(WalletError::BadPhrase(format!(
                "it has {} words, a recovery phrase has {PHRASE_WORDS}",
                words.len()
            )));
        }
        bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &words.join(" "))
            .map(RecoveryPhrase)
            .map_err(|e| {
                WalletError::BadPhrase(match e {
                    bip39::Error::UnknownWord(i) => format!(
                        "word {} ({:?}) is not in the BIP39 English word list",
                        i + 1,
                        words.get(i).map(String::as_str).unwrap_or_default()
                    ),
                    bip39::Error::InvalidChecksum => {
                        "its checksum does not match: a word is wrong or words are out of order"
                            .to_owned()
                    }
                    other => other.to_string(),
                })
            })
    }

    /// The words, separated by single spaces.
    pub fn words(&self) -> String {
        self.0.words().collect::<Vec<_>>().join(" ")
    }

    /// The wallet key: the SLIP-0010 Ed25519 master key of the BIP39 seed (empty passphrase).
    pub(super) fn key(&self) -> SigningKey {
        SigningKey::from_bytes(&slip10_master(&self.0.to_seed("")))
    }
}

/// SLIP-0010's Ed25519 master secret key of `seed`: the left half of
/// `HMAC-SHA512(key = "ed25519 seed", data = seed)`.
fn slip10_master(seed: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(b"ed25519 seed")
        .expect("HMAC takes a key of any length");
    mac.update(seed);
    let out = mac.finalize().into_bytes();
    out[..32].try_into().expect("64 bytes of output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_slip10s_ed25519_master_key() {
        // SLIP-0010, test vector 1 for ed25519, chain m.
        let seed = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        assert_eq!(
            hex::encode(slip10_master(&seed)),
            "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7"
        );
    }
}
