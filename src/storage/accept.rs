//! Accepting blocks: validation against the stored chain, reorganisations with their account
//! changes and undo data, and the one transaction that writes it all, flushed before it returns.

use super::*;

/// Everything one `accept` call writes, plus the blocks and index entries it added, which later
/// blocks of the same call look up before they are committed.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) writes: Writes,
    pub(super) metas: HashMap<BlockHash, BlockMeta>,
    pub(super) blocks: HashMap<BlockHash, Block>,
}

/// The outcome of [`Store::reorganize`].
#[derive(Default)]
struct Switch {
    /// The new tip, if the main chain moved.
    tip: Option<Tip>,
    connected: Vec<Block>,
    disconnected: Vec<Block>,
    invalid: Option<InvalidBlock>,
}

/// What a block changed: each touched account as it was before (`None`: it did not exist).
type Undo = Vec<(Address, Option<Account>)>;

/// Account, undo and transaction-index changes of a main-chain switch, applied in memory first so
/// a failed switch writes none of them.
#[derive(Default)]
struct StateChanges {
    /// `None`: the account is removed (it did not exist before the disconnected block).
    accounts: HashMap<Address, Option<Account>>,
    /// `None`: the block left the main chain, its undo data goes.
    undo: HashMap<BlockHash, Option<Undo>>,
    txindex: HashMap<TxId, Option<BlockHash>>,
    /// History entries by key; `None`: the block holding it left the main chain.
    history: HashMap<Vec<u8>, Option<Vec<u8>>>,
    heights: Vec<(Height, BlockHash)>,
}

impl StateChanges {
    fn account(&self, store: &Store, address: &Address) -> Result<Option<Account>, StoreError> {
        match self.accounts.get(address) {
            Some(changed) => Ok(*changed),
            None => store.stored_account(address),
        }
    }

    fn write_into(self, writes: &mut Writes) {
        for (address, account) in self.accounts {
            match account {
                Some(a) => writes.accounts.insert(address.as_bytes(), &a.encode()[..]),
                None => writes.accounts.remove(address.as_bytes()),
            }
        }
        for (hash, undo) in self.undo {
            match undo {
                Some(entries) => writes.undo.insert(hash.as_bytes(), encode_undo(&entries)),
                None => writes.undo.remove(hash.as_bytes()),
            }
        }
        for (txid, block) in self.txindex {
            match block {
                Some(hash) => writes.txindex.insert(txid.as_bytes(), hash.as_bytes()),
                None => writes.txindex.remove(txid.as_bytes()),
            }
        }
        for (key, entry) in self.history {
            match entry {
                Some(value) => writes.history.insert(key, value),
                None => writes.history.remove(key),
            }
        }
        for (height, hash) in self.heights {
            writes.heights.insert(&height_key(height), hash.as_bytes());
        }
    }
}

/// Undo data: per touched address, 32 bytes of address, a presence byte, 16 bytes of account.
fn encode_undo(entries: &Undo) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * (33 + Account::ENCODED_LEN));
    for (address, account) in entries {
        out.extend_from_slice(address.as_bytes());
        out.push(u8::from(account.is_some()));
        out.extend_from_slice(&account.unwrap_or_default().encode());
    }
    out
}

fn decode_undo(bytes: &[u8]) -> Option<Undo> {
    const ENTRY: usize = 33 + Account::ENCODED_LEN;
    if !bytes.len().is_multiple_of(ENTRY) {
        return None;
    }
    bytes
        .chunks_exact(ENTRY)
        .map(|e| {
            let address = Address::from_bytes(e[..32].try_into().ok()?);
            let account = Account::decode(&e[33..])?;
            Some((address, (e[32] != 0).then_some(account)))
        })
        .collect()
}

impl Store {
    /// Validates `blocks` in order and stores the valid ones in one transaction, moving the tip
    /// to the heaviest valid chain. Header, body and signature rules are checked on arrival;
    /// balance and nonce rules when a block joins the main chain, which may mean disconnecting
    /// blocks (undoing their account changes) and connecting a heavier branch. A branch block that
    /// breaks a balance rule is marked invalid and the main chain stays the heaviest valid one.
    /// Stops at the first invalid or orphan block; everything before it is kept. Returns once the
    /// write is on disk.
    pub fn accept(
        &self,
        blocks: impl IntoIterator<Item = Block>,
        now: Timestamp,
        signatures: &dyn SignatureCheck,
    ) -> Result<AcceptReport, StoreError> {
        let _writer = self.write.lock().expect("writer lock");
        self.ready_to_write()?;
        let tip_before = self.tip();
        let mut batch = Batch::default();
        let mut stored = Vec::new();
        let mut known = 0;
        let mut rejected = None;
        let mut best: Option<(BlockHash, BlockMeta)> = None;

        for block in blocks {
            let hash = block.hash();
            if batch.metas.contains_key(&hash) || self.contains(&hash)? {
                known += 1;
                continue;
            }
            if block.height() == Height::GENESIS {
                // Our genesis is always stored (and so counted as known above): any other
                // genesis belongs to another chain.
                match validate_genesis(block, &self.params) {
                    Ok(_) => known += 1,
                    Err(e) => {
                        rejected = Some(Rejection::Invalid(e));
                        break;
                    }
                }
                continue;
            }
            let prev = block.header.prev_hash;
            let Some(parent_meta) = self.lookup(&prev, &batch.metas)? else {
                rejected = Some(Rejection::Orphan {
                    hash,
                    height: block.height(),
                    parent: prev,
                });
                break;
            };
            if parent_meta.invalid {
                rejected = Some(Rejection::Invalid(InvalidBlock {
                    height: block.height(),
                    hash,
                    rule: Rule::InvalidAncestor { ancestor: prev },
                }));
                break;
            }
            let parent = self.parent_context(prev, parent_meta, &batch)?;
            let verified = match validate_block(block, &parent, &self.params, now, signatures) {
                Ok(v) => v,
                Err(e) => {
                    rejected = Some(Rejection::Invalid(e));
                    break;
                }
            };
            let meta = BlockMeta {
                height: verified.header().height,
                chain_work: parent_meta.chain_work + verified.header().target.work(),
                parent: prev,
                timestamp: verified.header().timestamp,
                invalid: false,
            };
            batch.writes.block(&verified, &meta);
            batch.metas.insert(hash, meta);
            stored.push((hash, meta.height));
            if best.is_none_or(|(_, b)| prefers(meta.chain_work, b.chain_work)) {
                best = Some((hash, meta));
            }
            batch.blocks.insert(hash, verified.into_block());
        }

        let mut tip_after = tip_before;
        let mut switch = Switch::default();
        if let Some((hash, meta)) = best.filter(|(_, m)| prefers(m.chain_work, tip_before.work)) {
            switch = self.reorganize(&mut batch, hash, meta, tip_before)?;
            if let Some(tip) = switch.tip {
                tip_after = tip;
            }
            if rejected.is_none() {
                rejected = switch.invalid.clone().map(Rejection::Invalid);
            }
        }
        if !stored.is_empty() {
            // The tip's lock is held across the commit, so a reader of the tip and its accounts
            // together (see `read_at_tip`) never sees one tip with another tip's accounts.
            let mut tip = self.tip.write().expect("tip lock");
            self.commit(&batch.writes)?;
            *tip = tip_after;
        }
        Ok(AcceptReport {
            stored,
            known,
            rejected,
            tip_before,
            tip_after,
            connected: switch.connected,
            disconnected: switch.disconnected,
        })
    }

    /// Tries to make the branch ending in `new_tip` the main chain: walks back to the fork point,
    /// disconnects our blocks above it (restoring accounts from their undo data), then connects the
    /// branch block by block under the balance rules. If a branch block breaks one, it is marked
    /// invalid and the switch goes only as far as the last good block, and only if that is still
    /// heavier than the old tip; otherwise nothing but the invalid mark is written.
    fn reorganize(
        &self,
        batch: &mut Batch,
        new_tip: BlockHash,
        new_meta: BlockMeta,
        old_tip: Tip,
    ) -> Result<Switch, StoreError> {
        // The branch, from its first block after the fork point up to the new tip.
        let mut branch = Vec::new();
        let (mut hash, mut meta) = (new_tip, new_meta);
        while self.hash_at(meta.height)? != Some(hash) {
            branch.push((hash, meta));
            hash = meta.parent;
            meta = self
                .lookup(&hash, &batch.metas)?
                .ok_or_else(|| StoreError::Corrupt(format!("ancestor {hash} missing")))?;
        }
        branch.reverse();
        let fork = meta.height;

        let mut state = StateChanges::default();
        let mut disconnected = Vec::new();
        for h in (fork.get() + 1..=old_tip.height.get()).rev() {
            let height = Height::new(h);
            let hash = self
                .hash_at(height)?
                .ok_or_else(|| StoreError::Corrupt(format!("no main-chain block at {height}")))?;
            let block = self
                .block(&hash)?
                .ok_or_else(|| StoreError::Corrupt(format!("main-chain block {hash} missing")))?;
            for (address, account) in self.undo(&hash)? {
                state.accounts.insert(address, account);
            }
            for tx in &block.transactions {
                state.txindex.insert(tx.txid(), None);
            }
            for (key, _) in history::entries(&block) {
                state.history.insert(key.to_vec(), None);
            }
            state.undo.insert(hash, None);
            disconnected.push(block);
        }

        let mut connected = Vec::new();
        let mut last_good: Option<(BlockHash, BlockMeta)> = None;
        let mut invalid = None;
        for (hash, meta) in branch {
            let block = match batch.blocks.get(&hash) {
                Some(b) => b.clone(),
                None => self
                    .block(&hash)?
                    .ok_or_else(|| StoreError::Corrupt(format!("branch block {hash} missing")))?,
            };
            let addresses = touched(&block.transactions);
            let mut accounts = Accounts::with_capacity(addresses.len());
            let mut before = Vec::with_capacity(addresses.len());
            for address in addresses {
                let account = state.account(self, &address)?;
                before.push((address, account));
                accounts.insert(address, account.unwrap_or_default());
            }
            if let Err(rule) = apply_block(&block, &mut accounts) {
                invalid = Some(InvalidBlock {
                    height: meta.height,
                    hash,
                    rule,
                });
                let marked = BlockMeta {
                    invalid: true,
                    ..meta
                };
                batch
                    .writes
                    .index
                    .insert(hash.as_bytes(), &marked.encode()[..]);
                batch.metas.insert(hash, marked);
                break;
            }
            for (address, account) in accounts {
                state.accounts.insert(address, Some(account));
            }
            for tx in &block.transactions {
                state.txindex.insert(tx.txid(), Some(hash));
            }
            // A key also dropped above (same address, height and position on the old branch)
            // is overwritten here: the map keeps one change per key, the connected block's.
            for (key, value) in history::entries(&block) {
                state.history.insert(key.to_vec(), Some(value));
            }
            state.undo.insert(hash, Some(before));
            state.heights.push((meta.height, hash));
            last_good = Some((hash, meta));
            connected.push(block);
        }

        let Some((tip_hash, tip_meta)) =
            last_good.filter(|(_, m)| prefers(m.chain_work, old_tip.work))
        else {
            return Ok(Switch {
                invalid,
                ..Switch::default()
            });
        };
        state.write_into(&mut batch.writes);
        for h in tip_meta.height.get() + 1..=old_tip.height.get() {
            batch.writes.heights.remove(&height_key(Height::new(h)));
        }
        batch.writes.tip(tip_hash);
        Ok(Switch {
            tip: Some(Tip {
                hash: tip_hash,
                height: tip_meta.height,
                work: tip_meta.chain_work,
            }),
            connected,
            disconnected,
            invalid,
        })
    }

    /// The account changes a main-chain block made, as the states to restore: each touched
    /// address with its account before the block (`None`: it did not exist).
    fn undo(&self, hash: &BlockHash) -> Result<Undo, StoreError> {
        let bytes = self
            .undo
            .get(hash.as_bytes())?
            .ok_or_else(|| StoreError::Corrupt(format!("no undo data for block {hash}")))?;
        decode_undo(&bytes)
            .ok_or_else(|| StoreError::Corrupt(format!("unreadable undo data for block {hash}")))
    }

    /// Applies `writes` atomically across trees, then waits for them to reach the disk.
    pub(super) fn commit(&self, writes: &Writes) -> Result<(), StoreError> {
        self.write_all(writes).map_err(|e| match e {
            StoreError::Sled(e) => {
                log::error!("a write to the store failed ({e}); it takes no more blocks: restart the node once the disk has space");
                self.failed.store(true, Ordering::SeqCst);
                StoreError::Failed(e.to_string())
            }
            other => other,
        })
    }

    fn write_all(&self, writes: &Writes) -> Result<(), StoreError> {
        (
            &self.blocks,
            &self.index,
            &self.heights,
            &self.meta,
            &self.accounts,
            &self.undo,
            &self.txindex,
            &self.history,
        )
            .transaction(
                |(blocks, index, heights, meta, accounts, undo, txindex, history)| {
                    blocks.apply_batch(&writes.blocks)?;
                    index.apply_batch(&writes.index)?;
                    heights.apply_batch(&writes.heights)?;
                    meta.apply_batch(&writes.meta)?;
                    accounts.apply_batch(&writes.accounts)?;
                    undo.apply_batch(&writes.undo)?;
                    txindex.apply_batch(&writes.txindex)?;
                    history.apply_batch(&writes.history)?;
                    Ok(())
                },
            )?;
        self.db.flush()?;
        Ok(())
    }
}

/// One transaction's worth of changes, built before the transaction runs (sled may retry the
/// closure, so it must only replay these).
#[derive(Default)]
pub(super) struct Writes {
    pub(super) blocks: sled::Batch,
    pub(super) index: sled::Batch,
    pub(super) heights: sled::Batch,
    pub(super) meta: sled::Batch,
    pub(super) accounts: sled::Batch,
    pub(super) undo: sled::Batch,
    pub(super) txindex: sled::Batch,
    pub(super) history: sled::Batch,
}

impl Writes {
    pub(super) fn block(&mut self, block: &VerifiedBlock, meta: &BlockMeta) {
        let key = block.hash();
        self.blocks.insert(key.as_bytes(), block.block().encode());
        self.index.insert(key.as_bytes(), &meta.encode()[..]);
    }

    pub(super) fn tip(&mut self, hash: BlockHash) {
        self.meta.insert(KEY_TIP, hash.as_bytes());
    }
}
