//! Re-verifying the stored main chain from genesis with the rules every new block meets: what
//! `GET /chain/verify` answers, and what `ferrochain verify --local` runs on a data directory
//! with no node attached.

use super::{Store, StoreError};
use crate::chain::{ChainVerifier, Height, InvalidBlock, Timestamp, Work};

/// Blocks read per step.
const PAGE: usize = 1000;
/// Times a verification starts again after a reorganisation took its chain away.
pub const VERIFY_RESTARTS: usize = 3;

/// What a verification of the main chain found.
#[derive(Clone, Debug)]
pub struct Verified {
    /// Blocks checked and found valid.
    pub length: u64,
    pub work: Work,
    /// The first invalid block, if any.
    pub error: Option<InvalidBlock>,
}

impl Store {
    /// Verifies the main chain a page at a time (blocking: call it off the async runtime). The
    /// chain checked is the one that ended in the tip when verification began; if a
    /// reorganisation takes that tip off the main chain meanwhile, verification starts again on
    /// the new tip (at most [`VERIFY_RESTARTS`] times, then the part verified is reported), so
    /// the answer never mixes two branches.
    pub fn verify_main_chain(&self) -> Result<Verified, StoreError> {
        let mut restarts = 0;
        'restart: loop {
            let anchor = self.tip().hash;
            let mut verifier = ChainVerifier::new(self.params(), Timestamp::now());
            let mut from = Height::GENESIS;
            loop {
                let Some(page) = self.branch_page(&anchor, from, PAGE)? else {
                    restarts += 1;
                    if restarts <= VERIFY_RESTARTS {
                        continue 'restart;
                    }
                    return Ok(Verified {
                        length: from.get(),
                        work: verifier.work(),
                        error: None,
                    });
                };
                let count = page.len();
                for block in page {
                    if let Err(e) = verifier.push(block) {
                        return Ok(Verified {
                            length: from.get(),
                            work: verifier.work(),
                            error: Some(e),
                        });
                    }
                    from = from.next();
                }
                if count < PAGE {
                    return Ok(Verified {
                        length: from.get(),
                        work: verifier.work(),
                        error: None,
                    });
                }
            }
        }
    }
}
