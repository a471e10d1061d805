//! The transfers part: the mempool, its admission of signed transfers, and its rebuild after the
//! tip moves.
//!
//! The pool follows the tip on its own ([`Transfers::follow`]): when the chain's tip changes, it
//! is re-checked against the new accounts on the blocking pool, taking back the transfers of
//! blocks a reorganisation abandoned (found from the pool's last tip, so a tip change it missed
//! loses nothing). Every read catches up first too, so no caller sees a pool checked against an
//! old tip. The pool lives under a `std` mutex that only blocking threads take; its size is kept
//! apart so `GET /status` never waits for a rebuild. Whoever changed the pool tells the events
//! part what entered and left, before the lock is let go, so subscribers hear it in order.

use super::events::Events;
use super::state::{ChainState, ChainTip};
use super::NodeError;
use crate::chain::{Account, Address, BlockHash, Transaction, Transfer, TxId};
use crate::mempool::{Changes, Mempool, MempoolError, Pending};
use crate::network::message::MempoolChange;
use crate::storage::{Store, StoreError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// What became of a transfer offered to [`Transfers::admit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferSubmitted {
    /// Admitted to the mempool and relayed.
    New(TxId),
    /// Already pending.
    Known(TxId),
}

/// A cheap-to-clone handle on the mempool.
#[derive(Clone)]
pub struct Transfers {
    inner: Arc<Inner>,
}

struct Inner {
    chain: ChainState,
    pool: Mutex<Mempool>,
    /// The pool's size, readable without its lock.
    len: AtomicUsize,
    events: Events,
}

impl Transfers {
    pub fn new(chain: ChainState, capacity: usize, events: Events) -> Transfers {
        let pool = Mempool::new(capacity, chain.tip().hash);
        Transfers {
            inner: Arc::new(Inner {
                chain,
                pool: Mutex::new(pool),
                len: AtomicUsize::new(0),
                events,
            }),
        }
    }

    /// Transfers waiting, as of the last change; never waits for a rebuild.
    pub fn len(&self) -> usize {
        self.inner.len.load(Ordering::Relaxed)
    }

    /// Encoded size of the transfers waiting, as of the last change (transfers are all one
    /// size).
    pub fn bytes(&self) -> usize {
        self.len() * Transfer::ENCODED_LEN
    }

    /// Records the pool's size after a change to it, and tells subscribers what entered and left.
    fn settle(&self, pool: &mut Mempool) {
        self.inner.len.store(pool.len(), Ordering::Relaxed);
        let Changes { entered, left } = pool.take_changes();
        self.inner.events.mempool_changed(MempoolChange {
            entered,
            left,
            size: pool.len(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `work` on the pool, caught up with the tip, on the blocking pool.
    async fn with_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transfers, &mut Mempool) -> Result<T, NodeError> + Send + 'static,
    ) -> Result<T, NodeError> {
        let transfers = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut pool = transfers.lock_caught_up()?;
            let result = work(&transfers, &mut pool);
            transfers.settle(&mut pool);
            result
        })
        .await?
    }

    /// Checks a transfer whose signature the caller verified against the tip and the mempool:
    /// the sender's balance and nonce, counting what it already has pending. A new one is relayed.
    pub async fn admit(&self, transfer: Transfer) -> Result<TransferSubmitted, NodeError> {
        let relayed = transfer.clone();
        let submitted = self
            .with_pool(move |transfers, pool| {
                let sender = transfers.at_pool_tip(pool, |store| store.account(&transfer.from))?;
                match pool.insert(transfer, sender) {
                    Ok(txid) => Ok(TransferSubmitted::New(txid)),
                    Err(MempoolError::Known(txid)) => Ok(TransferSubmitted::Known(txid)),
                    Err(e) => Err(e.into()),
                }
            })
            .await?;
        if let TransferSubmitted::New(_) = submitted {
            self.inner.chain.relay().transfers(vec![relayed]);
        }
        Ok(submitted)
    }

    /// Pending transfers, highest fee first.
    pub async fn pending(&self) -> Result<Vec<Transfer>, NodeError> {
        self.with_pool(|_, pool| Ok(pool.by_fee())).await
    }

    /// A pending transfer by id.
    pub async fn get(&self, txid: TxId) -> Result<Option<Transfer>, NodeError> {
        self.with_pool(move |_, pool| Ok(pool.get(&txid).cloned()))
            .await
    }

    /// The account of `address` at the tip, with what it has pending, read together.
    pub async fn account(&self, address: Address) -> Result<(Account, Pending), NodeError> {
        self.with_pool(move |transfers, pool| {
            let account = transfers.at_pool_tip(pool, |store| store.account(&address))?;
            Ok((account, pool.pending(&address)))
        })
        .await
    }

    /// Up to `max` transfers for a block on `tip`, best-paying first, each sender's in nonce
    /// order; `None` when the chain has moved past `tip` (the caller builds a new template).
    /// Blocking.
    pub fn select(&self, tip: BlockHash, max: usize) -> Result<Option<Vec<Transfer>>, NodeError> {
        let mut pool = self.lock_caught_up()?;
        self.settle(&mut pool);
        Ok((pool.tip() == tip).then(|| pool.select(max)))
    }

    /// Keeps the pool caught up with the tip until the node shuts down: each tip change is
    /// taken on the blocking pool as it comes, so the next block's template and the next
    /// request find the work done.
    pub async fn follow(self, mut tips: watch::Receiver<ChainTip>) {
        while tips.changed().await.is_ok() {
            let transfers = self.clone();
            let caught_up = tokio::task::spawn_blocking(move || {
                let mut pool = transfers.lock_caught_up()?;
                transfers.settle(&mut pool);
                Ok::<_, NodeError>(())
            })
            .await;
            match caught_up {
                Ok(Ok(())) => {}
                Ok(Err(e)) => log::error!("mempool: cannot follow the tip: {e}"),
                Err(e) => log::error!("mempool: the rebuild failed: {e}"),
            }
        }
    }

    /// Reads the store at the pool's tip: the pool counts what is pending on one tip, and an
    /// account read at another (a block committed meanwhile) would misjudge a nonce or a
    /// balance. If the tip moved, the pool catches up and the read is tried again.
    fn at_pool_tip<T>(
        &self,
        pool: &mut Mempool,
        read: impl Fn(&Store) -> Result<T, StoreError>,
    ) -> Result<T, NodeError> {
        let store = self.inner.chain.store();
        loop {
            let at_tip = store.read_at_tip(|tip| (tip.hash == pool.tip()).then(|| read(store)));
            match at_tip {
                Some(value) => return Ok(value?),
                None => self.catch_up(pool)?,
            }
        }
    }

    /// The pool, re-checked against the store's tip if it last saw another one. Blocking.
    fn lock_caught_up(&self) -> Result<MutexGuard<'_, Mempool>, NodeError> {
        let mut pool = self.inner.pool.lock().expect("mempool lock");
        self.catch_up(&mut pool)?;
        Ok(pool)
    }

    /// Rebuilds `pool` on the store's tip with the transfers of the blocks that left the main
    /// chain since the pool's tip, and relays those that are pending again: peers that were on
    /// our old branch mined them there and dropped them, so without a relay they would wait for
    /// a miner on this node.
    fn catch_up(&self, pool: &mut Mempool) -> Result<(), NodeError> {
        let chain = &self.inner.chain;
        let store = chain.store();
        let (returned, dropped) = loop {
            let tip = store.tip().hash;
            if pool.tip() == tip {
                return Ok(());
            }
            let returned: Vec<Transfer> = chain
                .abandoned_since(pool.tip())?
                .iter()
                .flat_map(|b| b.transactions.iter().filter_map(Transaction::as_transfer))
                .cloned()
                .collect();
            // Rebuilt with the accounts of the tip the abandoned blocks were found for; if a
            // block came meanwhile, round again.
            let rebuilt = store.read_at_tip(|now| {
                (now.hash == tip).then(|| {
                    pool.rebuild(tip, returned.clone(), |address| {
                        store.account(address).unwrap_or_else(|e| {
                            // An unreadable account drops its transfers from the pool; blocks
                            // that touch it fail loudly in the store.
                            log::error!("reading account {address}: {e}");
                            Account::default()
                        })
                    })
                })
            });
            if let Some(dropped) = rebuilt {
                break (returned, dropped);
            }
        };
        if dropped > 0 {
            log::info!("mempool: {dropped} transfers mined or no longer valid");
        }
        let back: Vec<Transfer> = returned
            .into_iter()
            .filter(|t| pool.get(&t.txid()).is_some())
            .collect();
        chain.relay().transfers(back);
        Ok(())
    }
}
