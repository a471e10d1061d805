//! Block locators: how two nodes find where their chains part without comparing every block.
//!
//! A locator is a list of our main-chain hashes, newest first: the tip and the nine blocks below
//! it one by one, then blocks ever further apart (the step doubles), always ending with genesis.
//! A peer answers with the first entry that is on its own main chain; that is the fork point (or
//! a block at most one step below it), so a sync fetches only what lies above it. The list has
//! about log2(height) + 10 entries, however long the chain.
//!
//! It lives beside the store because it is a view of the main chain's height index, which only
//! the store holds; the spacing itself is the pure [`locator_heights`].

use super::{Store, StoreError, Tip};
use crate::chain::{BlockHash, Height};

/// Most entries a locator may have. Ours never exceeds 10 + 64; a longer one from a peer is
/// refused before anything is looked up, so a request costs a bounded number of reads.
pub const MAX_LOCATOR: usize = 101;

/// Entries taken one by one below the tip before the spacing starts doubling.
const DENSE: u64 = 10;

/// The heights a locator for a chain ending at `tip` names: `tip`, `tip - 1`, ... for
/// [`DENSE`] entries, then steps of 2, 4, 8, ..., and genesis last. Strictly decreasing.
pub fn locator_heights(tip: Height) -> Vec<Height> {
    let mut heights = Vec::new();
    let mut height = tip.get();
    let mut step = 1u64;
    while height > 0 {
        heights.push(Height::new(height));
        if heights.len() as u64 >= DENSE {
            step = step.saturating_mul(2);
        }
        height = height.saturating_sub(step);
    }
    heights.push(Height::GENESIS);
    heights
}

/// Where a peer's chain and ours meet: the highest locator entry on the answering node's main
/// chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ForkPoint {
    pub height: Height,
    pub hash: BlockHash,
}

impl Store {
    /// A locator for our main chain (see the module docs). The tip may move while it is read;
    /// a height that vanished meanwhile (a reorganisation to a shorter chain) is left out, which
    /// only makes the locator coarser, never wrong: every entry is a block we have.
    pub fn locator(&self) -> Result<Vec<BlockHash>, StoreError> {
        let mut hashes = Vec::new();
        for height in locator_heights(self.tip().height) {
            if let Some(hash) = self.hash_at(height)? {
                hashes.push(hash);
            }
        }
        Ok(hashes)
    }

    /// [`Store::find_fork`] with the tip of the main chain it was found on, read while no block
    /// is written, so the answer describes one chain: the fork point is an ancestor of the tip.
    pub fn locate(&self, locator: &[BlockHash]) -> Result<Option<(ForkPoint, Tip)>, StoreError> {
        let _no_writer = self.write.lock().expect("writer lock");
        Ok(self.find_fork(locator)?.map(|fork| (fork, self.tip())))
    }

    /// The first entry of `locator` that is on our main chain, with its height; `None` when none
    /// is (a node on another chain, or a locator of made-up hashes).
    pub fn find_fork(&self, locator: &[BlockHash]) -> Result<Option<ForkPoint>, StoreError> {
        for hash in locator {
            let Some(meta) = self.meta(hash)? else {
                continue;
            };
            if self.hash_at(meta.height)? == Some(*hash) {
                return Ok(Some(ForkPoint {
                    height: meta.height,
                    hash: *hash,
                }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heights(tip: u64) -> Vec<u64> {
        locator_heights(Height::new(tip))
            .into_iter()
            .map(Height::get)
            .collect()
    }

    #[test]
    fn short_chains_list_every_block() {
        assert_eq!(heights(0), [0]);
        assert_eq!(heights(1), [1, 0]);
        assert_eq!(heights(9), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    }

    #[test]
    fn ten_dense_entries_then_doubling_steps_down_to_genesis() {
        assert_eq!(
            heights(100),
            [100, 99, 98, 97, 96, 95, 94, 93, 92, 91, 89, 85, 77, 61, 29, 0]
        );
    }

    #[test]
    fn locators_stay_short_decreasing_and_end_with_genesis() {
        for tip in [2, 10, 11, 12, 1000, 10_001, 1 << 20, u64::MAX] {
            let h = heights(tip);
            assert_eq!(h[0], tip, "starts at the tip");
            assert_eq!(*h.last().unwrap(), 0, "ends with genesis");
            assert!(h.windows(2).all(|w| w[0] > w[1]), "{tip}: {h:?}");
            let log2 = 64 - tip.leading_zeros() as usize;
            assert!(h.len() <= log2 + 11, "{tip}: {} entries", h.len());
            assert!(h.len() <= MAX_LOCATOR);
        }
        // Once the steps start doubling, each gap is twice the one before.
        let h = heights(1 << 20);
        let gaps: Vec<u64> = h.windows(2).map(|w| w[0] - w[1]).collect();
        assert!(gaps[..9].iter().all(|g| *g == 1));
        assert!(gaps[9..gaps.len() - 1].windows(2).all(|g| g[1] == 2 * g[0]));
    }
}
