//! Store tests on temporary directories with an easy difficulty.

use super::*;
use crate::chain::{
    block_reward, merkle_root, ChainVerifier, Difficulty, Note, Retarget, Rule, SingleThread,
    Transaction,
};
use crate::mining::{solve_sequential, template};

/// Where the test blocks' rewards go.
fn miner() -> Address {
    Address::from_bytes([0xaa; 32])
}

fn accept(store: &Store, blocks: Vec<Block>) -> AcceptReport {
    store.accept(blocks, now(), &SingleThread).unwrap()
}

fn params() -> ChainParams {
    ChainParams::new(Difficulty::new(6).unwrap())
}

fn now() -> Timestamp {
    Timestamp::now()
}

/// Mines `n` blocks on top of `parent_hash`, each with one note tagged by `tag`, without storing
/// them. Timestamps are spaced a second apart from the parent's.
fn branch(store: &Store, parent_hash: BlockHash, n: usize, tag: &str) -> Vec<Block> {
    let meta = store.meta(&parent_hash).unwrap().unwrap();
    let mut parent = Parent {
        hash: parent_hash,
        height: meta.height,
        timestamp: meta.timestamp,
        median_time_past: meta.timestamp,
        next_target: store.params().initial_target(),
    };
    let mut ts = meta.timestamp;
    (0..n)
        .map(|i| {
            let note = Transaction::Note(Note::new(format!("{tag} {i}")).unwrap());
            let txs = vec![block_reward(miner(), parent.height.next(), &[]), note];
            ts = ts.saturating_add_millis(1000);
            let header = solve_sequential(template(&parent, store.params(), &txs, ts));
            let block = Block {
                header,
                transactions: txs,
            };
            // Timestamps strictly increase, so the median stays below each new block's.
            parent = Parent {
                hash: block.hash(),
                height: block.height(),
                timestamp: block.header.timestamp,
                ..parent
            };
            block
        })
        .collect()
}

#[test]
fn a_new_store_holds_genesis_and_its_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let tip = store.tip();
    assert_eq!(tip.hash, params().genesis_hash());
    assert_eq!(tip.length(), 1);
    assert_eq!(
        store.block_at(Height::GENESIS).unwrap().unwrap().hash(),
        tip.hash
    );
    assert_eq!(store.params(), &params());
}

#[test]
fn reopening_keeps_blocks_and_refuses_other_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let tip = {
        let store = Store::open(dir.path(), Some(params())).unwrap();
        let blocks = branch(&store, store.tip().hash, 5, "a");
        let report = accept(&store, blocks);
        assert_eq!(report.stored.len(), 5);
        assert!(report.rejected.is_none());
        store.tip()
    };
    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(store.tip(), tip);
    assert_eq!(store.main_chain(Height::GENESIS, 100).unwrap().len(), 6);
    drop(store);

    let other = ChainParams::new(Difficulty::new(7).unwrap());
    let err = Store::open(dir.path(), Some(other)).err().unwrap();
    assert!(matches!(err, StoreError::ParamsMismatch { .. }), "{err}");
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path(), Some(params())).unwrap();
    let err = Store::open(dir.path(), Some(params())).err().unwrap();
    assert!(matches!(err, StoreError::Locked(_)), "{err}");
    assert!(err.to_string().contains("in use by another running node"));
}

#[test]
fn known_blocks_are_counted_not_stored_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let blocks = branch(&store, store.tip().hash, 2, "a");
    accept(&store, blocks.clone());
    let again = accept(&store, blocks);
    assert_eq!((again.stored.len(), again.known), (0, 2));
    assert!(!again.tip_changed());
}

#[test]
fn a_heavier_side_branch_takes_over_and_the_old_blocks_stay_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let genesis = store.tip().hash;
    let a = branch(&store, genesis, 3, "a");
    accept(&store, a.clone());

    // Equal work: the node keeps its own chain.
    let b = branch(&store, genesis, 4, "b");
    let report = accept(&store, b[..3].to_vec());
    assert_eq!(report.stored.len(), 3);
    assert!(!report.tip_changed());
    assert_eq!(store.tip().hash, a[2].hash());

    // One more block makes branch b heavier: the height index and tip switch together.
    let report = accept(&store, b[3..].to_vec());
    assert!(report.tip_changed());
    assert_eq!(report.disconnected.len(), 3);
    assert_eq!(store.tip().hash, b[3].hash());
    for (i, block) in b.iter().enumerate() {
        assert_eq!(
            store.hash_at(Height::new(i as u64 + 1)).unwrap(),
            Some(block.hash())
        );
    }
    assert!(store.block(&a[2].hash()).unwrap().is_some());

    // And back: a shorter reorg to a longer a-branch removes b's higher heights.
    let a_more = branch(&store, a[2].hash(), 2, "a2");
    let report = accept(&store, a_more.clone());
    assert_eq!(report.disconnected.len(), 4);
    assert_eq!(store.tip().height, Height::new(5));
    assert_eq!(store.hash_at(Height::new(3)).unwrap(), Some(a[2].hash()));
    assert_eq!(store.hash_at(Height::new(6)).unwrap(), None);
}

#[test]
fn a_branch_page_reads_one_branch_and_ends_once_its_tip_leaves_the_main_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let genesis = store.tip().hash;
    let a = branch(&store, genesis, 4, "a");
    accept(&store, a.clone());
    let a_tip = a[3].hash();

    // A page never passes its tip, even when the main chain grows beyond it.
    let more = branch(&store, a_tip, 2, "more");
    accept(&store, more);
    let page = store.branch_page(&a[1].hash(), Height::new(1), 10).unwrap();
    assert_eq!(page.unwrap(), a[..2].to_vec());
    let page = store.branch_page(&a_tip, Height::new(3), 10).unwrap();
    assert_eq!(page.unwrap(), a[2..].to_vec());

    // A heavier branch from genesis takes over: a's blocks are no longer pages of anything.
    let b = branch(&store, genesis, 7, "b");
    assert!(accept(&store, b.clone()).tip_changed());
    assert_eq!(store.branch_page(&a_tip, Height::new(1), 10).unwrap(), None);
    let page = store.branch_page(&b[6].hash(), Height::new(1), 3).unwrap();
    assert_eq!(page.unwrap(), b[..3].to_vec());
    let unknown = BlockHash::from_bytes([3; 32]);
    assert_eq!(
        store.branch_page(&unknown, Height::GENESIS, 1).unwrap(),
        None
    );
}

#[test]
fn processing_stops_at_an_invalid_block_and_keeps_the_ones_before() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let mut blocks = branch(&store, store.tip().hash, 3, "a");
    blocks[1].transactions[1] = Transaction::Note(Note::new("edited").unwrap());
    let report = accept(&store, blocks);
    assert_eq!(report.stored.len(), 1);
    match report.rejected {
        Some(Rejection::Invalid(e)) => assert!(matches!(e.rule, Rule::BadMerkleRoot { .. })),
        other => panic!("expected an invalid block, got {other:?}"),
    }
    assert_eq!(store.tip().height, Height::new(1));
}

#[test]
fn an_orphan_is_reported_with_its_missing_parent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let blocks = branch(&store, store.tip().hash, 2, "a");
    let report = accept(&store, vec![blocks[1].clone()]);
    assert_eq!(
        report.rejected,
        Some(Rejection::Orphan {
            hash: blocks[1].hash(),
            height: Height::new(2),
            parent: blocks[0].hash(),
        })
    );
    assert!(report.stored.is_empty());
}

#[test]
fn another_chains_genesis_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let other = ChainParams::new(Difficulty::new(9).unwrap())
        .genesis()
        .into_block();
    let report = accept(&store, vec![other]);
    assert!(matches!(
        report.rejected,
        Some(Rejection::Invalid(ref e)) if matches!(e.rule, Rule::WrongGenesis { .. })
    ));
    let ours = params().genesis().into_block();
    assert_eq!(accept(&store, vec![ours]).known, 1);
}

/// The raw database in `dir`, behind the store's back. A store dropped just before may hold
/// sled's own lock a moment longer (its thread pool finishes the last write), so retry briefly.
fn raw_db(dir: &Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match sled::open(dir) {
            Ok(db) => return db,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("cannot open {}: {e}", dir.display()),
        }
    }
}

fn set_schema(dir: &Path, version: u32) {
    let db = raw_db(dir);
    db.open_tree("meta")
        .unwrap()
        .insert(KEY_SCHEMA, &version.to_le_bytes())
        .unwrap();
    db.flush().unwrap();
}

#[test]
fn a_store_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), Some(params())).unwrap());
    set_schema(dir.path(), SCHEMA_VERSION + 1);
    let err = Store::open(dir.path(), None).err().unwrap();
    assert!(matches!(err, StoreError::NewerSchema { .. }), "{err}");
}

#[test]
fn migrations_upgrade_an_older_store_in_order_before_it_is_used() {
    fn add_marker(_db: &sled::Db, meta: &sled::Tree) -> Result<(), StoreError> {
        meta.insert(b"marker", b"v2")?;
        Ok(())
    }
    fn count_blocks(db: &sled::Db, meta: &sled::Tree) -> Result<(), StoreError> {
        let n = db.open_tree("blocks")?.len() as u64;
        meta.insert(b"block_count", &n.to_le_bytes())?;
        Ok(())
    }
    let steps = [
        Migration {
            from: SCHEMA_VERSION + 1,
            describe: "count blocks",
            apply: count_blocks,
        },
        Migration {
            from: SCHEMA_VERSION,
            describe: "add a marker",
            apply: add_marker,
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), Some(params())).unwrap());
    let store = Store::open_with(dir.path(), None, &steps).unwrap();
    assert_eq!(
        migrate::run(&store.db, &store.meta, &steps).unwrap(),
        SCHEMA_VERSION + 2
    );
    assert_eq!(store.meta.get(b"marker").unwrap().unwrap().as_ref(), b"v2");
    assert_eq!(
        store.meta.get(b"block_count").unwrap().unwrap().as_ref(),
        &1u64.to_le_bytes()
    );
    assert_eq!(store.tip().hash, params().genesis_hash());
    drop(store);

    // A version with no step to the next is a clear error, not a silent skip.
    set_schema(dir.path(), SCHEMA_VERSION + 5);
    let err = Store::open_with(
        dir.path(),
        None,
        &[
            Migration {
                from: SCHEMA_VERSION + 4,
                describe: "x",
                apply: add_marker,
            },
            Migration {
                from: SCHEMA_VERSION + 6,
                describe: "y",
                apply: add_marker,
            },
        ],
    )
    .err()
    .unwrap();
    assert!(
        matches!(err, StoreError::NoUpgrade(v) if v == SCHEMA_VERSION + 5),
        "{err}"
    );
}

// --- account state -----------------------------------------------------------------------------

fn key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

fn address_of(key: &ed25519_dalek::SigningKey) -> Address {
    Address::from_public_key(&key.verifying_key())
}

/// A mined child of `parent` paying its reward to `miner`, then `transfers`, a second later.
fn child(parent: &Block, miner: Address, transfers: Vec<Transaction>) -> Block {
    let ts = parent.header.timestamp.saturating_add_millis(1000);
    crate::mining::mine_child_sequential(&params(), parent, miner, transfers, ts)
}

fn pay(
    from: &ed25519_dalek::SigningKey,
    to: Address,
    units: u64,
    fee: u64,
    nonce: u64,
) -> Transaction {
    Transaction::Transfer(crate::chain::Transfer::sign(
        from,
        to,
        crate::chain::Amount::from_units(units),
        crate::chain::Amount::from_units(fee),
        nonce,
        &params().genesis_hash(),
    ))
}

fn balance(store: &Store, address: Address) -> u64 {
    store.account(&address).unwrap().balance.units()
}

#[test]
fn balances_follow_the_main_chain_through_reorganisations_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let genesis = store.block_at(Height::GENESIS).unwrap().unwrap();
    let (alice, bob) = (key(1), address_of(&key(2)));
    let subsidy = ChainParams::SUBSIDY.units();

    let a1 = child(&genesis, address_of(&alice), vec![]);
    let t = pay(&alice, bob, 1_000, 10, 0);
    let a2 = child(&a1, miner(), vec![t.clone()]);
    accept(&store, vec![a1.clone(), a2.clone()]);
    assert_eq!(balance(&store, address_of(&alice)), subsidy - 1_010);
    assert_eq!(balance(&store, bob), 1_000);
    assert_eq!(balance(&store, miner()), subsidy + 10);
    assert_eq!(store.account(&address_of(&alice)).unwrap().nonce, 1);
    assert_eq!(
        store.transaction_block(&t.txid()).unwrap(),
        Some((a2.hash(), Height::new(2)))
    );

    // A heavier branch without the transfer: every account returns to its state before a1.
    let b1 = child(&genesis, address_of(&key(3)), vec![]);
    let b2 = child(&b1, address_of(&key(3)), vec![]);
    let b3 = child(&b2, address_of(&key(3)), vec![]);
    let report = accept(&store, vec![b1, b2, b3]);
    assert_eq!(report.disconnected, vec![a2.clone(), a1.clone()]);
    assert_eq!(report.connected.len(), 3);
    assert_eq!(
        store.account(&address_of(&alice)).unwrap(),
        Account::default()
    );
    assert_eq!(balance(&store, bob), 0);
    assert_eq!(balance(&store, miner()), 0);
    assert_eq!(balance(&store, address_of(&key(3))), 3 * subsidy);
    assert_eq!(store.transaction_block(&t.txid()).unwrap(), None);

    // And forward again onto the longer a-branch: the transfer applies once more.
    let a3 = child(&a2, miner(), vec![]);
    let a4 = child(&a3, miner(), vec![]);
    accept(&store, vec![a3, a4]);
    assert_eq!(balance(&store, bob), 1_000);
    assert_eq!(balance(&store, address_of(&alice)), subsidy - 1_010);
    assert_eq!(balance(&store, miner()), 3 * subsidy + 10);
    assert_eq!(balance(&store, address_of(&key(3))), 0);
}

#[test]
fn a_branch_that_overspends_is_marked_invalid_and_the_chain_stays() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let genesis = store.block_at(Height::GENESIS).unwrap().unwrap();
    let a1 = child(&genesis, miner(), vec![]);
    accept(&store, vec![a1.clone()]);

    // b2 spends from an account that has nothing: signatures and shape are fine, balances not.
    let b1 = child(&genesis, address_of(&key(4)), vec![]);
    let b2 = child(&b1, miner(), vec![pay(&key(5), miner(), 1, 0, 0)]);
    let report = accept(&store, vec![b1, b2.clone()]);
    assert_eq!(report.stored.len(), 2);
    match report.rejected {
        Some(Rejection::Invalid(e)) => {
            assert_eq!(e.hash, b2.hash());
            assert!(matches!(e.rule, Rule::InsufficientBalance { .. }));
        }
        other => panic!("expected the overspend to be refused, got {other:?}"),
    }
    // b1 alone has only as much work as a1: the node keeps a1.
    assert_eq!(store.tip().hash, a1.hash());
    assert_eq!(balance(&store, miner()), ChainParams::SUBSIDY.units());

    // Nothing can build on the invalid block.
    let b3 = child(&b2, miner(), vec![]);
    let report = accept(&store, vec![b3]);
    assert!(matches!(
        report.rejected,
        Some(Rejection::Invalid(ref e)) if matches!(e.rule, Rule::InvalidAncestor { .. })
    ));
    assert_eq!(store.tip().hash, a1.hash());
}

#[test]
fn a_schema_1_store_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), Some(params())).unwrap());
    set_schema(dir.path(), 1);
    let err = Store::open(dir.path(), None).err().unwrap();
    assert!(matches!(err, StoreError::Retired { found: 1, .. }), "{err}");
    assert!(err.to_string().contains("--data-dir"), "{err}");
}

#[test]
fn a_chain_of_an_older_block_version_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), Some(params())).unwrap());
    {
        // What a build of block version 2 stored: eight bytes, version then difficulty bits.
        let db = raw_db(dir.path());
        let mut old = 2u32.to_le_bytes().to_vec();
        old.extend_from_slice(&6u32.to_le_bytes());
        db.open_tree("meta")
            .unwrap()
            .insert(KEY_PARAMS, old)
            .unwrap();
        db.flush().unwrap();
    }
    for requested in [None, Some(params())] {
        let err = Store::open(dir.path(), requested).err().unwrap();
        assert!(
            matches!(
                err,
                StoreError::OldChain {
                    found: 2,
                    supported: 3,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("another --data-dir"), "{err}");
    }
}

#[test]
fn a_schema_2_store_is_upgraded_with_an_empty_peers_tree() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let blocks = branch(&store, params().genesis_hash(), 2, "v2");
    accept(&store, blocks);
    let tip = store.tip();
    drop(store);
    // What a version-2 build left behind: no peers tree, version 2.
    {
        let db = raw_db(dir.path());
        assert!(db.drop_tree(migrate::PEERS_TREE).unwrap());
        db.open_tree("meta")
            .unwrap()
            .insert(KEY_SCHEMA, &2u32.to_le_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.tip(), tip);
    assert!(store.peers::<serde_json::Value>().unwrap().is_empty());
    store.put_peer("http://127.0.0.1:1", &"a record").unwrap();
    // Running the step again (as after a crash before the version was written) keeps the data.
    migrate::add_peers_tree(&store.db, &store.meta).unwrap();
    assert_eq!(store.peers::<String>().unwrap(), ["a record"]);
    drop(store);
    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(store.peers::<String>().unwrap(), ["a record"]);
}

/// Mines `gaps.len()` blocks on the stored block `from`, each stamped its gap after its parent
/// and carrying the target the store requires there, storing each before mining the next.
fn extend(store: &Store, from: BlockHash, gaps: &[u64]) -> Vec<Block> {
    let mut hash = from;
    gaps.iter()
        .map(|gap| {
            let parent = store.context_of(&hash).unwrap().unwrap();
            let txs = vec![block_reward(miner(), parent.height.next(), &[])];
            let ts = parent.timestamp.saturating_add_millis(*gap);
            let block = Block {
                header: solve_sequential(template(&parent, store.params(), &txs, ts)),
                transactions: txs,
            };
            let report = store.accept([block.clone()], now(), &SingleThread).unwrap();
            assert!(report.rejected.is_none(), "{:?}", report.rejected);
            hash = block.hash();
            block
        })
        .collect()
}

#[test]
fn retargets_follow_each_branch_and_the_heavier_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let params = params().with_retarget(Some(Retarget::new(4, 1_000, 4).unwrap()));
    let store = Store::open(dir.path(), Some(params)).unwrap();
    let genesis = params.genesis_hash();
    let initial = params.initial_target().value();

    // The main chain runs four times too fast, so block 4 is four times harder, 8 sixteen.
    let main = extend(&store, genesis, &[250; 9]);
    assert_eq!(main[3].header.target.value(), initial / 4);
    assert_eq!(main[7].header.target.value(), initial / 16);

    // A branch from block 2 keeps the pace of one block a second: its block 4 measures its own
    // blocks 0 to 3 (which the store finds by walking the branch back, not by height on the
    // main chain) and is only twice as hard.
    let side = extend(&store, main[1].hash(), &[1_000; 3]);
    assert_eq!(side[1].height(), Height::new(4));
    assert_eq!(side[1].header.target.value(), initial / 2);
    assert_eq!(store.tip().hash, main[8].hash());

    // The main chain's target is wrong on the branch, though it is harder.
    let parent = store.context_of(&side[2].hash()).unwrap().unwrap();
    let mut wrong = template(
        &parent,
        &params,
        &[],
        parent.timestamp.saturating_add_millis(1),
    );
    wrong.target = main[7].header.target;
    let txs = vec![block_reward(miner(), wrong.height, &[])];
    wrong.merkle_root = merkle_root(txs.iter().map(Transaction::txid));
    let wrong = Block {
        header: solve_sequential(wrong),
        transactions: txs,
    };
    let report = store.accept([wrong], now(), &SingleThread).unwrap();
    assert!(matches!(
        report.rejected,
        Some(Rejection::Invalid(InvalidBlock {
            rule: Rule::BadTarget { .. },
            ..
        }))
    ));

    // Once the branch outweighs the main chain it becomes the main chain, and the whole chain
    // verifies with the same rules from genesis.
    let side_tip = side.last().unwrap().hash();
    let more = extend(&store, side_tip, &[1_000; 40]);
    assert_eq!(store.tip().hash, more.last().unwrap().hash());
    let mut verifier = ChainVerifier::new(&params, now());
    for block in store.main_chain(Height::GENESIS, 100).unwrap() {
        verifier.push(block).unwrap();
    }
    assert_eq!(verifier.work(), store.tip().work);
}

#[test]
fn the_fork_point_is_the_highest_locator_entry_on_the_main_chain() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Store::open(dir_a.path(), Some(params())).unwrap();
    let b = Store::open(dir_b.path(), Some(params())).unwrap();
    let shared = branch(&a, a.tip().hash, 20, "shared");
    accept(&a, shared.clone());
    accept(&a, branch(&a, a.tip().hash, 10, "a"));
    accept(&b, shared.clone());
    accept(&b, branch(&b, b.tip().hash, 15, "b"));

    // B's locator names 35..26, 24, 20, 12 and genesis: 24 is B's own, 20 is shared.
    let locator = b.locator().unwrap();
    assert_eq!(locator.len(), 14);
    assert_eq!(locator[0], b.tip().hash);
    assert_eq!(*locator.last().unwrap(), params().genesis_hash());
    let fork = a.find_fork(&locator).unwrap().unwrap();
    assert_eq!(fork.height, Height::new(20));
    assert_eq!(fork.hash, shared[19].hash());
    // Our own locator meets our tip.
    assert_eq!(
        a.find_fork(&a.locator().unwrap()).unwrap().unwrap().hash,
        a.tip().hash
    );

    // A block A has only on a side branch is not a fork point; the next entry is.
    accept(&a, branch(&b, shared[19].hash(), 1, "b"));
    let side = b.hash_at(Height::new(21)).unwrap().unwrap();
    assert!(a.contains(&side).unwrap());
    let fork = a.find_fork(&[side, shared[4].hash()]).unwrap().unwrap();
    assert_eq!(fork.height, Height::new(5));

    // Made-up hashes meet nothing.
    let made_up = [BlockHash::from_bytes([7; 32]), BlockHash::ZERO];
    assert_eq!(a.find_fork(&made_up).unwrap(), None);
    assert_eq!(a.find_fork(&[]).unwrap(), None);
}

// --- history index -----------------------------------------------------------------------------

/// The ids of `address`'s whole history, newest first, read a page of `limit` at a time.
fn history_ids(store: &Store, address: Address, limit: usize) -> Vec<(u64, TxId)> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let page = store.history(&address, before, limit).unwrap();
        assert!(page.entries.len() <= limit);
        out.extend(
            page.entries
                .iter()
                .map(|e| (e.at.height.get(), e.transaction.txid())),
        );
        match page.next {
            Some(next) => before = Some(next),
            None => return out,
        }
    }
}

#[test]
fn histories_follow_the_main_chain_through_reorganisations() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let genesis = store.block_at(Height::GENESIS).unwrap().unwrap();
    let (alice, bob) = (key(1), address_of(&key(2)));

    let a1 = child(&genesis, address_of(&alice), vec![]);
    let to_bob = pay(&alice, bob, 1_000, 10, 0);
    let to_self = pay(&alice, address_of(&alice), 5, 1, 1);
    let a2 = child(&a1, miner(), vec![to_bob.clone(), to_self.clone()]);
    accept(&store, vec![a1.clone(), a2.clone()]);

    let reward = a1.transactions[0].txid();
    // Newest first; within a block, the later entry first; a transfer to oneself once.
    let alice_history = vec![(2, to_self.txid()), (2, to_bob.txid()), (1, reward)];
    assert_eq!(history_ids(&store, address_of(&alice), 10), alice_history);
    assert_eq!(history_ids(&store, address_of(&alice), 1), alice_history);
    assert_eq!(history_ids(&store, bob, 10), vec![(2, to_bob.txid())]);
    let page = store.history(&address_of(&alice), None, 2).unwrap();
    assert_eq!(page.tip, store.tip());
    assert_eq!(page.entries[0].block, a2.hash());
    assert_eq!(page.entries[0].timestamp, a2.header.timestamp);
    assert_eq!(page.entries[0].at.index, 2);
    assert_eq!(page.next, Some(page.entries[1].at));
    assert!(history_ids(&store, address_of(&key(9)), 10).is_empty());

    // A heavier branch without the a-blocks: their entries leave every history.
    let b1 = child(&genesis, address_of(&key(3)), vec![]);
    let b2 = child(&b1, address_of(&key(3)), vec![]);
    let b3 = child(&b2, bob, vec![]);
    accept(&store, vec![b1.clone(), b2.clone(), b3.clone()]);
    assert!(history_ids(&store, address_of(&alice), 10).is_empty());
    assert_eq!(
        history_ids(&store, bob, 10),
        vec![(3, b3.transactions[0].txid())]
    );
    assert_eq!(history_ids(&store, miner(), 10), vec![]);

    // And back onto the a-branch, longer now: the a-entries return, the b-ones go.
    let a3 = child(&a2, miner(), vec![]);
    let a4 = child(&a3, miner(), vec![]);
    accept(&store, vec![a3.clone(), a4.clone()]);
    assert_eq!(history_ids(&store, address_of(&alice), 10), alice_history);
    assert_eq!(history_ids(&store, bob, 10), vec![(2, to_bob.txid())]);
    assert!(history_ids(&store, address_of(&key(3)), 10).is_empty());
    assert_eq!(
        history_ids(&store, miner(), 10),
        vec![
            (4, a4.transactions[0].txid()),
            (3, a3.transactions[0].txid()),
            (2, a2.transactions[0].txid()),
        ]
    );
}

#[test]
fn a_schema_4_store_gets_its_history_index_built() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let genesis = store.block_at(Height::GENESIS).unwrap().unwrap();
    let alice = key(1);
    let a1 = child(&genesis, address_of(&alice), vec![]);
    let a2 = child(&a1, miner(), vec![pay(&alice, miner(), 7, 0, 0)]);
    let a3 = child(&a2, miner(), vec![pay(&alice, miner(), 8, 0, 1)]);
    accept(&store, vec![a1, a2, a3]);
    let expected = history_ids(&store, address_of(&alice), 10);
    let miners = history_ids(&store, miner(), 10);
    assert_eq!((expected.len(), miners.len()), (3, 4));
    drop(store);
    // What a version-4 build left behind: no history tree, version 4.
    {
        let db = raw_db(dir.path());
        assert!(db.drop_tree(history::HISTORY_TREE).unwrap());
        db.open_tree("meta")
            .unwrap()
            .insert(KEY_SCHEMA, &4u32.to_le_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(history_ids(&store, address_of(&alice), 10), expected);
    assert_eq!(history_ids(&store, miner(), 10), miners);
    // Running the step again (a crash before the version was recorded) gives the same index,
    // with no entry twice.
    migrate::build_history_index(&store.db, &store.meta).unwrap();
    assert_eq!(history_ids(&store, address_of(&alice), 10), expected);
    assert_eq!(history_ids(&store, miner(), 10), miners);
}

#[test]
fn a_schema_5_store_gets_its_history_index_rebuilt_one_entry_per_block() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Some(params())).unwrap();
    let genesis = store.block_at(Height::GENESIS).unwrap().unwrap();
    let alice = key(1);
    let a1 = child(&genesis, address_of(&alice), vec![]);
    let a2 = child(
        &a1,
        miner(),
        vec![
            pay(&alice, miner(), 7, 0, 0),
            pay(&alice, miner(), 8, 0, 1),
            pay(&alice, address_of(&key(2)), 9, 0, 2),
        ],
    );
    accept(&store, vec![a1, a2]);
    let expected = history_ids(&store, address_of(&alice), 10);
    assert_eq!(expected.len(), 4);
    // One entry per address and block: alice's two blocks, the miner's one, key 2's one.
    assert_eq!(store.history.len(), 4);
    drop(store);
    // What a version-5 build left behind: one entry per transaction and address, keyed
    // address, height, index (44 bytes), which this layout cannot read.
    {
        let db = raw_db(dir.path());
        let tree = db.open_tree(history::HISTORY_TREE).unwrap();
        tree.clear().unwrap();
        let mut old_key = address_of(&alice).as_bytes().to_vec();
        old_key.extend_from_slice(&2u64.to_be_bytes());
        old_key.extend_from_slice(&1u32.to_be_bytes());
        tree.insert(old_key, &[0u8; 40][..]).unwrap();
        db.flush().unwrap();
    }
    set_schema(dir.path(), 5);
    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.history.len(), 4);
    assert_eq!(history_ids(&store, address_of(&alice), 10), expected);
    // Paged one at a time, the cursor finds the older transactions inside its own block.
    assert_eq!(history_ids(&store, address_of(&alice), 1), expected);
    assert_eq!(history_ids(&store, address_of(&alice), 2), expected);
}
