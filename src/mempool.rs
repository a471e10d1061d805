//! The mempool: signed transfers waiting for a block, checked against the tip's accounts.
//!
//! Each sender's pending transfers carry consecutive nonces starting at the account's next one,
//! and their total cost stays within the balance, so whatever the miner picks (in nonce order per
//! sender) is valid on the tip. The pool is bounded: when it is full, a transfer paying a higher fee
//! pushes out the cheapest one that can leave without breaking another sender's nonce sequence.
//! After the tip moves it is rebuilt against the new accounts, dropping what was mined or became
//! invalid and taking back the transfers of blocks a reorganisation abandoned.

use crate::chain::{
    validate_amounts, validate_spend, Account, Address, Amount, BlockHash, Rule, Transfer, TxId,
};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

/// Why a transfer is not admitted: the pool's own reasons, or a rule of the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    #[error("transfer {0} is already pending")]
    Known(TxId),
    #[error(
        "the mempool is full ({capacity} transfers) and none pays less than this one's fee of \
         {fee}; raise the fee or try again after the next block"
    )]
    Full { capacity: usize, fee: Amount },
    /// A per-transfer rule of the core (amount, overflow, nonce, balance, signature), checked
    /// against the sender's account at the tip less what it already has pending.
    #[error(transparent)]
    Invalid(#[from] Rule),
}

impl MempoolError {
    /// The stable name the API reports: the rule's own code for a broken rule.
    pub fn code(&self) -> &'static str {
        match self {
            MempoolError::Known(_) => "known",
            MempoolError::Full { .. } => "mempool_full",
            MempoolError::Invalid(rule) => rule.code(),
        }
    }
}

/// What an account has waiting in the pool.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
pub struct Pending {
    pub count: u64,
    /// Amounts plus fees of the pending transfers.
    pub spend: Amount,
}

impl Pending {
    /// `account` as the sender's next transfer finds it: what the pending transfers spend is
    /// gone and their nonces are taken.
    pub fn deduct_from(&self, account: Account) -> Account {
        Account {
            balance: account
                .balance
                .checked_sub(self.spend)
                .unwrap_or(Amount::ZERO),
            nonce: account.nonce.saturating_add(self.count),
        }
    }
}

pub struct Mempool {
    txs: HashMap<TxId, Transfer>,
    /// Per sender, pending transfers by nonce (consecutive from the account's next nonce).
    by_sender: HashMap<Address, BTreeMap<u64, TxId>>,
    capacity: usize,
    /// The tip the pool was last checked against.
    tip: BlockHash,
    /// What entered and left since [`Mempool::take_changes`] was last called.
    changes: Changes,
}

/// Transfers that entered and left the pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub entered: Vec<TxId>,
    pub left: Vec<TxId>,
}

impl Mempool {
    /// Room for about 12 full blocks of transfers.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    pub fn new(capacity: usize, tip: BlockHash) -> Self {
        Mempool {
            txs: HashMap::new(),
            by_sender: HashMap::new(),
            capacity,
            tip,
            changes: Changes::default(),
        }
    }

    /// What entered and left the pool since the last call.
    pub fn take_changes(&mut self) -> Changes {
        std::mem::take(&mut self.changes)
    }

    pub fn len(&self) -> usize {
        self.txs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    pub fn tip(&self) -> BlockHash {
        self.tip
    }

    pub fn get(&self, txid: &TxId) -> Option<&Transfer> {
        self.txs.get(txid)
    }

    pub fn pending(&self, address: &Address) -> Pending {
        let Some(nonces) = self.by_sender.get(address) else {
            return Pending::default();
        };
        let spend = nonces
            .values()
            .filter_map(|id| self.txs[id].cost())
            .fold(Amount::ZERO, |a, c| a.checked_add(c).unwrap_or(a));
        Pending {
            count: nonces.len() as u64,
            spend,
        }
    }

    /// Admits `transfer` (whose signature the caller has verified with
    /// [`validate_signature`](crate::chain::validate_signature)) given its sender's account at the
    /// tip. The chain's per-transfer rules decide, against that account less what the sender
    /// already has pending, so whatever is admitted can be mined in nonce order.
    pub fn insert(&mut self, transfer: Transfer, sender: Account) -> Result<TxId, MempoolError> {
        let txid = transfer.txid();
        if self.txs.contains_key(&txid) {
            return Err(MempoolError::Known(txid));
        }
        validate_amounts(&transfer)?;
        validate_spend(&self.pending(&transfer.from).deduct_from(sender), &transfer)?;
        if self.txs.len() >= self.capacity {
            self.evict_cheaper_than(&transfer)?;
        }
        self.by_sender
            .entry(transfer.from)
            .or_default()
            .insert(transfer.nonce, txid);
        self.txs.insert(txid, transfer);
        self.changes.entered.push(txid);
        Ok(txid)
    }

    /// Makes room for `transfer` by dropping the cheapest transfer that is last in its sender's
    /// sequence (so the others stay consecutive), if it pays less than `transfer`. The sender's
    /// own transfers are spared: `transfer` follows them. Scans one entry per sender, and only
    /// when the pool is full.
    fn evict_cheaper_than(&mut self, transfer: &Transfer) -> Result<TxId, MempoolError> {
        let cheapest = self
            .by_sender
            .iter()
            .filter(|(sender, _)| **sender != transfer.from)
            .filter_map(|(sender, nonces)| {
                let (_, id) = nonces.last_key_value()?;
                Some((self.txs[id].fee, *sender, *id))
            })
            .min();
        match cheapest {
            Some((fee, sender, id)) if fee < transfer.fee => {
                self.txs.remove(&id);
                self.changes.left.push(id);
                if let Some(nonces) = self.by_sender.get_mut(&sender) {
                    nonces.pop_last();
                    if nonces.is_empty() {
                        self.by_sender.remove(&sender);
                    }
                }
                log::debug!("mempool full: transfer {id} (fee {fee}) makes room for a higher fee");
                Ok(id)
            }
            _ => Err(MempoolError::Full {
                capacity: self.capacity,
                fee: transfer.fee,
            }),
        }
    }

    /// Up to `max` transfers for a block, highest fee first, each sender's in nonce order.
    pub fn select(&self, max: usize) -> Vec<Transfer> {
        let mut queues: HashMap<Address, std::collections::btree_map::Values<'_, u64, TxId>> = self
            .by_sender
            .iter()
            .map(|(a, nonces)| (*a, nonces.values()))
            .collect();
        let mut heap = BinaryHeap::new();
        for (address, queue) in queues.iter_mut() {
            if let Some(id) = queue.next() {
                heap.push((self.txs[id].fee, Reverse(*id), *address));
            }
        }
        let mut out = Vec::new();
        while out.len() < max {
            let Some((_, Reverse(id), address)) = heap.pop() else {
                break;
            };
            out.push(self.txs[&id].clone());
            if let Some(next) = queues.get_mut(&address).and_then(Iterator::next) {
                heap.push((self.txs[next].fee, Reverse(*next), address));
            }
        }
        out
    }

    /// Every pending transfer, highest fee first.
    pub fn by_fee(&self) -> Vec<Transfer> {
        let mut all: Vec<Transfer> = self.txs.values().cloned().collect();
        all.sort_by_key(|t| (Reverse(t.fee), t.from, t.nonce));
        all
    }

    /// Re-checks the pool, plus `returned` transfers from abandoned blocks, against the accounts
    /// at the new `tip`: mined or conflicting transfers drop out, the rest stay in nonce order.
    /// Returns how many were dropped.
    pub fn rebuild(
        &mut self,
        tip: BlockHash,
        returned: Vec<Transfer>,
        mut account: impl FnMut(&Address) -> Account,
    ) -> usize {
        let held: HashSet<TxId> = self.txs.keys().copied().collect();
        // The re-inserts below are no change; what is is found by comparing after.
        let changes = std::mem::take(&mut self.changes);
        let mut all: Vec<Transfer> = self.txs.drain().map(|(_, t)| t).collect();
        all.extend(returned);
        all.sort_by_key(|t| (t.from, t.nonce));
        all.dedup_by_key(|t| t.txid());
        self.by_sender.clear();
        self.tip = tip;
        let before = all.len();
        let mut accounts: HashMap<Address, Account> = HashMap::new();
        for t in all {
            let sender = *accounts.entry(t.from).or_insert_with(|| account(&t.from));
            // Failures here are transfers already mined, replaced or no longer affordable.
            let _ = self.insert(t, sender);
        }
        self.changes = changes;
        let Changes { entered, left } = &mut self.changes;
        left.extend(held.iter().filter(|id| !self.txs.contains_key(id)));
        entered.extend(self.txs.keys().filter(|id| !held.contains(id)));
        before - self.txs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn transfer(from: &SigningKey, nonce: u64, amount: u64, fee: u64) -> Transfer {
        Transfer::sign(
            from,
            Address::from_bytes([9; 32]),
            Amount::from_units(amount),
            Amount::from_units(fee),
            nonce,
            &BlockHash::ZERO,
        )
    }

    fn rich() -> Account {
        Account {
            balance: Amount::from_units(1000),
            nonce: 0,
        }
    }

    #[test]
    fn nonces_must_follow_the_account_and_the_pool() {
        let mut pool = Mempool::new(10, BlockHash::ZERO);
        let k = key(1);
        pool.insert(transfer(&k, 0, 10, 1), rich()).unwrap();
        // Replay of the same transfer, a skipped nonce, a reused one.
        assert!(matches!(
            pool.insert(transfer(&k, 0, 10, 1), rich()),
            Err(MempoolError::Known(_))
        ));
        assert!(matches!(
            pool.insert(transfer(&k, 2, 10, 1), rich()),
            Err(MempoolError::Invalid(Rule::BadNonce {
                expected: 1,
                got: 2,
                ..
            }))
        ));
        assert!(matches!(
            pool.insert(transfer(&k, 0, 11, 1), rich()),
            Err(MempoolError::Invalid(Rule::BadNonce {
                expected: 1,
                got: 0,
                ..
            }))
        ));
        pool.insert(transfer(&k, 1, 10, 1), rich()).unwrap();
        assert_eq!(
            pool.pending(&Address::from_public_key(&k.verifying_key()))
                .count,
            2
        );
    }

    #[test]
    fn pending_spend_counts_against_the_balance() {
        let mut pool = Mempool::new(10, BlockHash::ZERO);
        let k = key(2);
        pool.insert(transfer(&k, 0, 600, 0), rich()).unwrap();
        let err = pool.insert(transfer(&k, 1, 400, 1), rich()).unwrap_err();
        assert!(
            matches!(err, MempoolError::Invalid(Rule::InsufficientBalance { .. })),
            "{err}"
        );
        pool.insert(transfer(&k, 1, 400, 0), rich()).unwrap();
        assert!(matches!(
            pool.insert(transfer(&k, 2, 0, 0), rich()),
            Err(MempoolError::Invalid(Rule::ZeroAmount { .. }))
        ));
    }

    /// The pool holds a transfer to the chain's own rules, against the account as the pending
    /// transfers leave it, and reports the rule's code.
    #[test]
    fn the_chains_rules_judge_against_the_account_less_what_is_pending() {
        let mut pool = Mempool::new(10, BlockHash::ZERO);
        let k = key(8);
        let first = transfer(&k, 0, 600, 10);
        pool.insert(first.clone(), rich()).unwrap();
        let pending = pool.pending(&first.from);
        assert_eq!(
            pending.deduct_from(rich()),
            Account {
                balance: Amount::from_units(390),
                nonce: 1
            }
        );
        let second = transfer(&k, 1, 400, 0);
        let err = pool.insert(second.clone(), rich()).unwrap_err();
        assert_eq!(
            err,
            MempoolError::Invalid(Rule::InsufficientBalance {
                txid: second.txid(),
                balance: Amount::from_units(390),
                needed: Amount::from_units(400),
            })
        );
        assert_eq!(err.code(), "insufficient_balance");
        let overflow = transfer(&k, 1, u64::MAX, 1);
        let err = pool.insert(overflow, rich()).unwrap_err();
        assert_eq!(err.code(), "amount_overflow");
        // Spending more than was ever pending does not wrap around.
        assert_eq!(
            pending.deduct_from(Account::default()),
            Account {
                balance: Amount::ZERO,
                nonce: 1
            }
        );
    }

    #[test]
    fn a_full_pool_lets_a_higher_fee_push_out_the_cheapest_last_transfer() {
        let mut pool = Mempool::new(3, BlockHash::ZERO);
        let (a, b, c, d) = (key(3), key(4), key(10), key(11));
        let a0 = transfer(&a, 0, 1, 1);
        let a1 = transfer(&a, 1, 1, 9);
        let b0 = transfer(&b, 0, 1, 5);
        for t in [&a0, &a1, &b0] {
            pool.insert(t.clone(), rich()).unwrap();
        }
        // Paying no more than the cheapest that could leave (b0 at 5: a0 cannot, a1 follows it).
        assert_eq!(
            pool.insert(transfer(&c, 0, 1, 5), rich()),
            Err(MempoolError::Full {
                capacity: 3,
                fee: Amount::from_units(5)
            })
        );
        // Paying more pushes b0 out; the pool stays at its bound.
        let c0 = pool.insert(transfer(&c, 0, 1, 6), rich()).unwrap();
        assert_eq!(pool.len(), 3);
        assert!(pool.get(&b0.txid()).is_none() && pool.get(&c0).is_some());
        assert_eq!(
            pool.pending(&Address::from_public_key(&b.verifying_key()))
                .count,
            0
        );
        // Next cheapest last transfer is c0 (6), not a0 (1), which a1 needs.
        pool.insert(transfer(&d, 0, 1, 7), rich()).unwrap();
        assert!(pool.get(&c0).is_none());
        assert!(pool.get(&a0.txid()).is_some() && pool.get(&a1.txid()).is_some());
        // A sender's next transfer never pushes out its own earlier ones.
        pool.insert(transfer(&d, 1, 1, 100), rich()).unwrap();
        assert!(
            pool.get(&a1.txid()).is_none(),
            "a1 (9) was the cheapest other last transfer"
        );
        assert_eq!(pool.len(), 3);
    }

    #[test]
    fn selection_is_by_fee_and_keeps_each_senders_nonce_order() {
        let mut pool = Mempool::new(10, BlockHash::ZERO);
        let (a, b) = (key(5), key(6));
        pool.insert(transfer(&a, 0, 1, 1), rich()).unwrap();
        pool.insert(transfer(&a, 1, 1, 50), rich()).unwrap();
        pool.insert(transfer(&b, 0, 1, 10), rich()).unwrap();
        let picked: Vec<(u64, u64)> = pool
            .select(10)
            .iter()
            .map(|t| (t.fee.units(), t.nonce))
            .collect();
        // a's fee-50 transfer waits for its nonce-0 one; b's fee 10 goes first.
        assert_eq!(picked, vec![(10, 0), (1, 0), (50, 1)]);
        assert_eq!(pool.select(1).len(), 1);
    }

    #[test]
    fn rebuild_drops_mined_transfers_and_takes_back_returned_ones() {
        let mut pool = Mempool::new(10, BlockHash::ZERO);
        let k = key(7);
        let t0 = transfer(&k, 0, 10, 1);
        let t1 = transfer(&k, 1, 10, 1);
        pool.insert(t0.clone(), rich()).unwrap();
        pool.insert(t1.clone(), rich()).unwrap();
        // t0 was mined: the account's nonce moved to 1.
        let after_t0 = Account {
            balance: Amount::from_units(989),
            nonce: 1,
        };
        let dropped = pool.rebuild(BlockHash::from_bytes([1; 32]), vec![], |_| after_t0);
        assert_eq!((dropped, pool.len()), (1, 1));
        assert!(pool.get(&t1.txid()).is_some());
        // A reorganisation abandons the block with t0: it comes back, before t1.
        let dropped = pool.rebuild(BlockHash::ZERO, vec![t0.clone()], |_| rich());
        assert_eq!((dropped, pool.len()), (0, 2));
        assert_eq!(pool.select(10), vec![t0, t1]);
    }
}
