//! Verifies a node's chain on this side of the wire: download it page by page and run every
//! block through [`ChainVerifier`], the same consensus core the node itself uses.
//!
//! The download is anchored to the tip the node's status names (`GET /chain?tip=`), so every
//! page is of one branch: if the node reorganises meanwhile and that tip leaves its main chain
//! (409 `tip_moved`), verification starts again from the new tip, at most [`RESTARTS`] times.
//!
//! Nothing the node says about its chain is trusted. Its status names the chain parameters and
//! the genesis hash, which must match the one those parameters give (a mismatch means the node
//! runs rules this CLI does not know). The outcome is a [`Verification`], the same message the
//! node's own `GET /chain/verify` answers with, which `verify --json` prints.

use super::client::{Client, ClientError};
use crate::chain::{BlockHash, ChainParams, ChainVerifier, Height, Timestamp};
use crate::network::message::{BadBlock, Verification};
use indicatif::ProgressBar;

/// Blocks per request: the most one page of `GET /chain` holds.
pub const PAGE: usize = 1000;
/// Times verification starts again after the node's tip left its main chain.
pub const RESTARTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(
        "the node's genesis block {node} is not the genesis of a chain with {params} \
         ({expected}); it follows rules this CLI does not know"
    )]
    GenesisMismatch {
        params: ChainParams,
        node: BlockHash,
        expected: BlockHash,
    },
    #[error("the node sent no blocks at all, not even its genesis block")]
    Empty,
    #[error("the node's chain kept reorganising; {RESTARTS} downloads were each cut short")]
    KeptMoving,
    #[error("{} holds no chain (give a node's data directory, such as data/5000)", .0.display())]
    NoStore(std::path::PathBuf),
    #[error("cannot check the store in {}: {error}", dir.display())]
    Store {
        dir: std::path::PathBuf,
        error: crate::storage::StoreError,
    },
}

/// Downloads the node's main chain and verifies it, advancing `progress` by one per block
/// (its length is set to the chain's, and grows if the chain does meanwhile).
pub fn verify(client: &Client, progress: &ProgressBar) -> Result<Verification, VerifyError> {
    for _ in 0..=RESTARTS {
        match verify_branch(client, progress)? {
            Some(verification) => return Ok(verification),
            None => progress.set_position(0),
        }
    }
    Err(VerifyError::KeptMoving)
}

/// Verifies the branch that ends in the node's tip now; `None` if that tip left the main chain
/// before the download was done.
fn verify_branch(
    client: &Client,
    progress: &ProgressBar,
) -> Result<Option<Verification>, VerifyError> {
    let status = client.status()?.value;
    let params = status.params;
    if params.genesis_hash() != status.genesis {
        return Err(VerifyError::GenesisMismatch {
            params,
            node: status.genesis,
            expected: params.genesis_hash(),
        });
    }
    progress.set_length(status.length);
    let mut verifier = ChainVerifier::new(&params, Timestamp::now());
    let mut next = Height::GENESIS;
    loop {
        let page = match client.chain_to(next, PAGE, status.tip) {
            Ok(answer) => answer.value,
            Err(ClientError::Api { status: 409, .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let count = page.chain.len();
        if count == 0 && next == Height::GENESIS {
            return Err(VerifyError::Empty);
        }
        for wire in page.chain {
            let (index, stated) = (wire.index, wire.hash);
            let checked = wire
                .into_block()
                .map_err(|e| BadBlock {
                    index,
                    hash: stated.unwrap_or(BlockHash::ZERO),
                    rule: "hash_mismatch".to_owned(),
                    message: e.to_string(),
                })
                .and_then(|block| verifier.push(block).map_err(BadBlock::from));
            if let Err(bad) = checked {
                return Ok(Some(Verification {
                    valid: false,
                    length: next.get(),
                    total_work: verifier.work(),
                    error: Some(bad),
                }));
            }
            next = next.next();
            progress.inc(1);
        }
        if count < PAGE {
            return Ok(Some(Verification {
                valid: true,
                length: next.get(),
                total_work: verifier.work(),
                error: None,
            }));
        }
    }
}

/// Verifies the store in the data directory `dir` itself, offline, with the rules the node
/// applies (`ferrochain verify --local`): nothing is downloaded, and nothing in the store is
/// trusted but its blocks. The directory must hold a chain; a running node's directory is
/// refused (its lock is held), since the node answers `ferrochain verify` itself.
pub fn verify_local(dir: &std::path::Path) -> Result<Verification, VerifyError> {
    // Opening creates a chain where there is none; a mistyped path must not.
    if !dir.join("db").is_file() {
        return Err(VerifyError::NoStore(dir.to_owned()));
    }
    let failed = |error| VerifyError::Store {
        dir: dir.to_owned(),
        error,
    };
    let store = crate::storage::Store::open(dir, None).map_err(failed)?;
    let verified = store.verify_main_chain().map_err(failed)?;
    Ok(Verification::new(
        verified.length,
        verified.work,
        verified.error,
    ))
}
