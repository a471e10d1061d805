//! The API token: the secret that opens the operator's routes (`POST /mine`, bans, resolve),
//! kept in the data directory the way bitcoind keeps its `.cookie`.
//!
//! A node creates `api.token` on its first start (64 hex characters from the OS's random source,
//! mode 0600) and keeps it across restarts; only `ferrochain token rotate` replaces it. The node
//! reads the file whenever it checks a request, so a rotation takes effect at once, without a
//! restart. Whoever can read the data directory can use the node, as with bitcoind's cookie.

use crate::files::{self, Existing};
use std::path::{Path, PathBuf};

/// The token's file name in the data directory.
pub const TOKEN_FILE: &str = "api.token";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot write the API token {}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot read the API token {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the API token {} is not 64 hex characters (rotate it: ferrochain token rotate)", path.display())]
    Malformed { path: PathBuf },
}

/// A token, as read from its file.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

/// Never printed by accident.
impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(..)")
    }
}

impl ApiToken {
    fn generate() -> ApiToken {
        let mut bytes = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        ApiToken(hex::encode(bytes))
    }

    /// Parses a token as given (`--token`, `FERROCHAIN_TOKEN`) or read from its file.
    pub fn parse(text: &str) -> Option<ApiToken> {
        let text = text.trim();
        let hex = text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
        hex.then(|| ApiToken(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this token, compared in constant time so the answer's timing says
    /// nothing about how much of a guess was right.
    pub fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let presented = presented.trim().to_ascii_lowercase();
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }

    /// The token in `dir`, created if it has none yet (or only the empty file a crash during a
    /// first start can leave); returns its path.
    pub fn load_or_create(dir: &Path) -> Result<PathBuf, TokenError> {
        let path = dir.join(TOKEN_FILE);
        if path.exists() && !files::is_empty_file(&path) {
            ApiToken::read(&path)?;
            return Ok(path);
        }
        let token = ApiToken::generate();
        write(&path, &token, Existing::Replace)?;
        Ok(path)
    }

    /// Replaces the token in `dir` with a new one; returns its path.
    pub fn rotate(dir: &Path) -> Result<PathBuf, TokenError> {
        let path = dir.join(TOKEN_FILE);
        write(&path, &ApiToken::generate(), Existing::Replace)?;
        Ok(path)
    }

    pub fn read(path: &Path) -> Result<ApiToken, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|error| TokenError::Read {
            path: path.to_owned(),
            error,
        })?;
        ApiToken::parse(&text).ok_or_else(|| TokenError::Malformed {
            path: path.to_owned(),
        })
    }
}

fn write(path: &Path, token: &ApiToken, existing: Existing) -> Result<(), TokenError> {
    let text = format!("{}\n", token.0);
    files::write_private(path, text.as_bytes(), existing).map_err(|error| TokenError::Write {
        path: path.to_owned(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_created_once_kept_and_replaced_only_by_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = ApiToken::load_or_create(dir.path()).unwrap();
        let first = ApiToken::read(&path).unwrap();
        assert_eq!(ApiToken::load_or_create(dir.path()).unwrap(), path);
        assert_eq!(ApiToken::read(&path).unwrap(), first);
        assert!(first.matches(first.as_str()));
        assert!(first.matches(&first.as_str().to_ascii_uppercase()));
        assert!(!first.matches(&first.as_str()[1..]));
        assert!(!first.matches(""));
        ApiToken::rotate(dir.path()).unwrap();
        let second = ApiToken::read(&path).unwrap();
        assert_ne!(second, first);
        assert!(!second.matches(first.as_str()));

        std::fs::write(&path, b"").unwrap();
        ApiToken::load_or_create(dir.path()).unwrap();
        assert!(
            ApiToken::read(&path).is_ok(),
            "an empty token file is replaced"
        );
        std::fs::write(&path, b"not a token").unwrap();
        assert!(matches!(
            ApiToken::load_or_create(dir.path()),
            Err(TokenError::Malformed { .. })
        ));
        assert!(ApiToken::parse("zz").is_none());
    }
}
