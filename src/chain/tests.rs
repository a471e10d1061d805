//! Consensus tests: one known-good block, then one mutation per rule.

use super::*;

const BITS: u64 = 8;

fn params() -> ChainParams {
    ChainParams::new(Difficulty::new(BITS).unwrap())
}

fn note(s: &str) -> Transaction {
    Transaction::Note(Note::new(s).unwrap())
}

/// Sequential nonce search, enough for 8-bit test blocks.
fn mine(mut header: Header) -> Header {
    while !header.target.check_hash(&header.hash()) {
        header.nonce += 1;
    }
    header
}

/// Where the test blocks' rewards go.
fn miner() -> Address {
    Address::from_bytes([0xaa; 32])
}

/// A mined child of `parent` holding its reward, then `transactions`.
fn child_of(parent: &Block, transactions: Vec<Transaction>) -> Block {
    let mut entries = vec![block_reward(miner(), parent.height().next(), &transactions)];
    entries.extend(transactions);
    raw_child_of(parent, entries)
}

/// A mined child of `parent` with exactly `transactions` (no reward added).
fn raw_child_of(parent: &Block, transactions: Vec<Transaction>) -> Block {
    let header = Header {
        version: ChainParams::BLOCK_VERSION,
        height: parent.height().next(),
        prev_hash: parent.hash(),
        merkle_root: merkle_root(transactions.iter().map(Transaction::txid)),
        timestamp: parent.header.timestamp.saturating_add_millis(1000),
        target: params().initial_target(),
        nonce: 0,
    };
    Block {
        header: mine(header),
        transactions,
    }
}

fn genesis_parent() -> (Block, Parent) {
    let genesis = params().genesis().into_block();
    let parent = Parent {
        hash: genesis.hash(),
        height: genesis.height(),
        timestamp: genesis.header.timestamp,
        median_time_past: genesis.header.timestamp,
        next_target: params().initial_target(),
    };
    (genesis, parent)
}

fn now() -> Timestamp {
    params()
        .genesis()
        .header()
        .timestamp
        .saturating_add_millis(60_000)
}

/// Re-mines a block after its header was edited, so only the edited rule can fail.
fn remined(mut block: Block, edit: impl FnOnce(&mut Header)) -> Block {
    edit(&mut block.header);
    block.header = mine(block.header);
    block
}

fn validate(block: Block, parent: &Parent) -> Result<VerifiedBlock, InvalidBlock> {
    validate_block(block, parent, &params(), now(), &SingleThread)
}

#[track_caller]
fn rule_of(block: Block, parent: &Parent) -> Rule {
    validate(block, parent)
        .expect_err("the mutated block must be refused")
        .rule
}

#[test]
fn a_well_formed_child_is_accepted() {
    let (genesis, parent) = genesis_parent();
    let block = child_of(&genesis, vec![note("Alice pays Bob 10 BTC")]);
    let verified = validate(block.clone(), &parent).unwrap();
    assert_eq!(verified.hash(), block.hash());
    // Blocks with nothing but their reward are allowed.
    assert!(validate(child_of(&genesis, vec![]), &parent).is_ok());
}

#[test]
fn each_header_mutation_breaks_its_rule() {
    let (genesis, parent) = genesis_parent();
    let good = child_of(&genesis, vec![note("a")]);

    // Version 1 is the retired free-text-only chain version.
    let b = remined(good.clone(), |h| h.version = 1);
    assert!(matches!(
        rule_of(b, &parent),
        Rule::BadVersion { got: 1, .. }
    ));

    let b = remined(good.clone(), |h| h.height = Height::new(2));
    assert!(matches!(rule_of(b, &parent), Rule::BadHeight { .. }));

    let b = remined(good.clone(), |h| {
        h.prev_hash = BlockHash::from_bytes([7; 32])
    });
    assert!(matches!(rule_of(b, &parent), Rule::BadPreviousHash { .. }));

    // A block cannot choose an easier target, even if its hash meets the one it claims.
    let b = remined(good.clone(), |h| {
        h.target = Difficulty::new(1).unwrap().target()
    });
    assert!(matches!(rule_of(b, &parent), Rule::BadTarget { .. }));

    let mut b = good.clone();
    while params().initial_target().check_hash(&b.hash()) {
        b.header.nonce += 1;
    }
    assert!(matches!(rule_of(b, &parent), Rule::BadProofOfWork { .. }));

    let b = remined(good.clone(), |h| h.timestamp = parent.median_time_past);
    assert!(matches!(rule_of(b, &parent), Rule::TimestampTooOld { .. }));

    let too_far = now().saturating_add_millis(MAX_FUTURE_DRIFT_MS + 1);
    let b = remined(good.clone(), |h| h.timestamp = too_far);
    assert!(matches!(rule_of(b, &parent), Rule::TimestampTooNew { .. }));
    // Exactly two hours ahead is still fine.
    let at_limit = now().saturating_add_millis(MAX_FUTURE_DRIFT_MS);
    let b = remined(good, |h| h.timestamp = at_limit);
    assert!(validate(b, &parent).is_ok());
}

#[test]
fn each_body_mutation_breaks_its_rule() {
    let (genesis, parent) = genesis_parent();
    let good = child_of(&genesis, vec![note("a"), note("b")]);

    // One entry changed after mining: the header (and so the proof of work) still holds, the
    // Merkle commitment does not.
    let mut b = good.clone();
    b.transactions[2] = note("B");
    assert!(matches!(rule_of(b, &parent), Rule::BadMerkleRoot { .. }));

    let b = child_of(&genesis, vec![note("a"), note("a")]);
    assert!(matches!(
        rule_of(b, &parent),
        Rule::DuplicateTransaction { .. }
    ));

    let many = (0..=Block::MAX_TRANSACTIONS)
        .map(|i| note(&i.to_string()))
        .collect();
    let b = child_of(&genesis, many);
    assert!(matches!(
        rule_of(b, &parent),
        Rule::TooManyTransactions { .. }
    ));

    let big = (0..Block::MAX_TRANSACTIONS - 1)
        .map(|i| note(&format!("{i:0>256}")))
        .collect();
    let b = child_of(&genesis, big);
    assert!(matches!(rule_of(b, &parent), Rule::TooLarge { .. }));
}

#[test]
fn median_time_past_uses_the_middle_value() {
    let ts = |v: &[u64]| {
        v.iter()
            .map(|&m| Timestamp::from_millis(m))
            .collect::<Vec<_>>()
    };
    assert_eq!(median_time_past(&ts(&[5, 1, 3])), Timestamp::from_millis(3));
    assert_eq!(median_time_past(&ts(&[4, 1])), Timestamp::from_millis(4));
    assert_eq!(median_time_past(&[]), Timestamp::default());
}

#[test]
fn chain_verifier_applies_balances_across_blocks() {
    let p = params();
    let genesis = p.genesis().into_block();
    // The miner's reward from block 1 funds a transfer in block 2.
    let miner_key = key(9);
    let reward = block_reward(address_of(&miner_key), Height::new(1), &[]);
    let b1 = raw_child_of(&genesis, vec![reward]);
    let spend = pay(&miner_key, address_of(&key(2)), 10, 1, 0);
    let b2 = child_of(&b1, vec![spend.clone()]);
    let mut verifier = ChainVerifier::new(&p, now());
    for b in [genesis, b1, b2.clone()] {
        verifier.push(b).unwrap();
    }
    assert_eq!(
        verifier.accounts()[&address_of(&key(2))].balance,
        Amount::from_units(10)
    );
    // The same transfer again in block 3 is a replay.
    let b3 = child_of(&b2, vec![spend]);
    let err = verifier.push(b3).unwrap_err();
    assert!(
        matches!(
            err.rule,
            Rule::BadNonce {
                expected: 1,
                got: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn chain_verifier_walks_a_chain_and_names_the_first_bad_block() {
    let p = params();
    let mut blocks = vec![p.genesis().into_block()];
    for i in 0..14 {
        let next = child_of(blocks.last().unwrap(), vec![note(&format!("tx {i}"))]);
        blocks.push(next);
    }
    let mut verifier = ChainVerifier::new(&p, now());
    for b in blocks.clone() {
        verifier.push(b).unwrap();
    }
    assert_eq!(verifier.height(), Some(Height::new(14)));
    assert_eq!(
        verifier.work(),
        (0..15).fold(Work::ZERO, |w, _| w + p.initial_target().work())
    );

    // A block whose timestamp is at the median of the last 11 fails in the verifier too.
    let mut stale = blocks.clone();
    let median = median_time_past(
        &stale[3..14]
            .iter()
            .map(|b| b.header.timestamp)
            .collect::<Vec<_>>(),
    );
    stale[14] = remined(stale[14].clone(), |h| h.timestamp = median);
    let mut verifier = ChainVerifier::new(&p, now());
    let err = stale
        .into_iter()
        .find_map(|b| verifier.push(b).err())
        .unwrap();
    assert_eq!(err.height, Height::new(14));
    assert!(matches!(err.rule, Rule::TimestampTooOld { .. }));

    // Another chain's genesis is refused at once.
    let other = ChainParams::new(Difficulty::new(BITS + 1).unwrap());
    let mut verifier = ChainVerifier::new(&p, now());
    let err = verifier.push(other.genesis().into_block()).unwrap_err();
    assert!(matches!(err.rule, Rule::WrongGenesis { .. }));
}

// --- value rules: rewards, signatures, balances, nonces -------------------------------------

fn key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

fn address_of(key: &ed25519_dalek::SigningKey) -> Address {
    Address::from_public_key(&key.verifying_key())
}

fn pay(
    from: &ed25519_dalek::SigningKey,
    to: Address,
    amount: u64,
    fee: u64,
    nonce: u64,
) -> Transaction {
    Transaction::Transfer(Transfer::sign(
        from,
        to,
        Amount::from_units(amount),
        Amount::from_units(fee),
        nonce,
        &params().genesis_hash(),
    ))
}

/// Accounts where `key(1)` holds 1,000 units.
fn funded() -> Accounts {
    let mut accounts = Accounts::new();
    accounts.insert(
        address_of(&key(1)),
        Account {
            balance: Amount::from_units(1000),
            nonce: 0,
        },
    );
    accounts
}

fn apply_rule(block: &Block, accounts: &mut Accounts) -> Rule {
    apply_block(block, accounts).expect_err("the block must break a value rule")
}

#[test]
fn transfers_move_balances_and_pay_fees_to_the_miner() {
    let (genesis, parent) = genesis_parent();
    let bob = address_of(&key(2));
    let block = child_of(
        &genesis,
        vec![pay(&key(1), bob, 300, 5, 0), pay(&key(1), bob, 100, 2, 1)],
    );
    let verified = validate(block, &parent).unwrap();
    let mut accounts = funded();
    apply_block(verified.block(), &mut accounts).unwrap();
    assert_eq!(
        accounts[&address_of(&key(1))],
        Account {
            balance: Amount::from_units(593),
            nonce: 2
        }
    );
    assert_eq!(accounts[&bob].balance, Amount::from_units(400));
    let reward = ChainParams::SUBSIDY
        .checked_add(Amount::from_units(7))
        .unwrap();
    assert_eq!(accounts[&miner()].balance, reward);
}

#[test]
fn each_value_mutation_breaks_its_rule() {
    let (genesis, parent) = genesis_parent();
    let bob = address_of(&key(2));
    let t0 = pay(&key(1), bob, 300, 5, 0);

    // Context-free: reward shape, amounts, signatures.
    let b = raw_child_of(&genesis, vec![t0.clone()]);
    assert_eq!(rule_of(b, &parent), Rule::MissingReward);
    let reward = block_reward(miner(), Height::new(1), &[]);
    let b = raw_child_of(
        &genesis,
        vec![
            reward.clone(),
            t0.clone(),
            block_reward(bob, Height::new(1), &[]),
        ],
    );
    assert_eq!(rule_of(b, &parent), Rule::ExtraReward { index: 2 });
    let b = raw_child_of(&genesis, vec![block_reward(miner(), Height::new(7), &[])]);
    assert!(matches!(rule_of(b, &parent), Rule::BadRewardHeight { .. }));
    let b = child_of(&genesis, vec![pay(&key(1), bob, 0, 5, 0)]);
    assert!(matches!(rule_of(b, &parent), Rule::ZeroAmount { .. }));
    let b = child_of(&genesis, vec![pay(&key(1), bob, u64::MAX, 1, 0)]);
    assert!(matches!(rule_of(b, &parent), Rule::AmountOverflow { .. }));
    let Transaction::Transfer(mut forged) = t0.clone() else {
        unreachable!()
    };
    forged.amount = Amount::from_units(999);
    let b = child_of(&genesis, vec![Transaction::Transfer(forged)]);
    assert!(matches!(rule_of(b, &parent), Rule::BadSignature { .. }));
    // Signed for another chain: the same bytes do not verify here.
    let other_chain = Transaction::Transfer(Transfer::sign(
        &key(1),
        bob,
        Amount::from_units(1),
        Amount::ZERO,
        0,
        &BlockHash::ZERO,
    ));
    let b = child_of(&genesis, vec![other_chain]);
    assert!(matches!(rule_of(b, &parent), Rule::BadSignature { .. }));
    let b = child_of(&genesis, vec![t0.clone(), t0.clone()]);
    assert!(matches!(
        rule_of(b, &parent),
        Rule::DuplicateTransaction { .. }
    ));

    // Against the accounts: balance, replay, skipped nonce, reward size.
    let b = child_of(&genesis, vec![pay(&key(1), bob, 996, 5, 0)]);
    assert!(matches!(
        apply_rule(&b, &mut funded()),
        Rule::InsufficientBalance { .. }
    ));
    let b = child_of(&genesis, vec![pay(&key(3), bob, 1, 0, 0)]);
    assert!(matches!(
        apply_rule(&b, &mut funded()),
        Rule::InsufficientBalance { .. }
    ));
    let mut after_t0 = funded();
    apply_block(&child_of(&genesis, vec![t0.clone()]), &mut after_t0).unwrap();
    let replay = child_of(&genesis, vec![t0.clone()]);
    assert!(matches!(
        apply_rule(&replay, &mut after_t0.clone()),
        Rule::BadNonce {
            expected: 1,
            got: 0,
            ..
        }
    ));
    let skip = child_of(&genesis, vec![pay(&key(1), bob, 1, 0, 2)]);
    assert!(matches!(
        apply_rule(&skip, &mut after_t0),
        Rule::BadNonce {
            expected: 1,
            got: 2,
            ..
        }
    ));
    let greedy = Transaction::Reward(Reward {
        to: miner(),
        amount: ChainParams::SUBSIDY
            .checked_add(Amount::from_units(6))
            .unwrap(),
        height: Height::new(1),
    });
    let b = raw_child_of(&genesis, vec![greedy, t0.clone()]);
    assert!(matches!(
        apply_rule(&b, &mut funded()),
        Rule::RewardTooLarge { .. }
    ));
    // Claiming less than allowed is fine (the rest is never created).
    let modest = Transaction::Reward(Reward {
        to: miner(),
        amount: Amount::from_units(1),
        height: Height::new(1),
    });
    apply_block(&raw_child_of(&genesis, vec![modest, t0]), &mut funded()).unwrap();
    // A recipient balance that would overflow.
    let mut full = funded();
    full.insert(
        bob,
        Account {
            balance: Amount::from_units(u64::MAX),
            nonce: 0,
        },
    );
    let b = child_of(&genesis, vec![pay(&key(1), bob, 1, 0, 0)]);
    assert!(matches!(
        apply_rule(&b, &mut full),
        Rule::AmountOverflow { .. }
    ));
}

#[test]
fn batch_signature_check_names_the_bad_transfer() {
    let chain = params().genesis_hash();
    let mut transfers: Vec<Transfer> = (0..20)
        .map(|i| {
            Transfer::sign(
                &key(1),
                address_of(&key(2)),
                Amount::from_units(1),
                Amount::ZERO,
                i,
                &chain,
            )
        })
        .collect();
    let refs: Vec<&Transfer> = transfers.iter().collect();
    assert_eq!(verify_signatures(&refs, &chain), Ok(()));
    transfers[13].fee = Amount::from_units(1);
    let refs: Vec<&Transfer> = transfers.iter().collect();
    assert_eq!(verify_signatures(&refs, &chain), Err(13));
}

#[test]
fn transfers_round_trip_through_binary_and_json() {
    let t = pay(&key(1), address_of(&key(2)), 5, 1, 3);
    let block = child_of(
        &params().genesis().into_block(),
        vec![t.clone(), note("memo")],
    );
    assert_eq!(Block::decode(&block.encode()).unwrap(), block);
    let json = serde_json::to_value(&block).unwrap();
    assert_eq!(json["transactions"][1]["type"], "transfer");
    assert_eq!(json["transactions"][1]["id"], t.txid().to_string());
    assert_eq!(json["transactions"][0]["type"], "reward");
    assert_eq!(json["transactions"][2], "memo");
    let back: WireBlock = serde_json::from_value(json).unwrap();
    assert_eq!(back.into_block().unwrap(), block);
}

/// A chain retargeting every 4 blocks toward a block a second, by at most 4x.
fn retargeting() -> ChainParams {
    params().with_retarget(Some(Retarget::new(4, 1_000, 4).unwrap()))
}

/// Extends the verifier's chain by a block stamped `gap` ms after its parent and carrying the
/// target the verifier requires, or `edit`ed (then re-mined) to break a rule.
fn push_block(
    verifier: &mut ChainVerifier,
    tip: &Block,
    gap: i64,
    edit: impl FnOnce(&mut Header),
) -> Result<Block, InvalidBlock> {
    let context = verifier.context().unwrap();
    let mut block = child_of(tip, vec![]);
    block.header.target = context.next_target;
    block.header.timestamp =
        Timestamp::from_millis(tip.header.timestamp.as_millis().saturating_add_signed(gap));
    edit(&mut block.header);
    block.header = mine(block.header);
    verifier.push(block.clone()).map(|_| block)
}

#[test]
fn retargeting_follows_the_pace_of_blocks_within_its_bound() {
    let p = retargeting();
    let now = Timestamp::from_millis(u64::MAX / 2);
    let mut verifier = ChainVerifier::new(&p, now);
    let mut tip = verifier
        .push(p.genesis().into_block())
        .unwrap()
        .into_block();
    let mut targets = vec![tip.header.target];
    // Twelve blocks four times faster than the aim, then sixteen sixteen times slower.
    for gap in [250; 12].into_iter().chain([16_000; 16]) {
        tip = push_block(&mut verifier, &tip, gap, |_| {}).unwrap();
        targets.push(tip.header.target);
    }
    let initial = p.initial_target().value();
    let periods: Vec<u128> = targets.chunks(4).map(|c| c[0].value()).collect();
    // Each period keeps the target its first block set.
    for chunk in targets.chunks(4) {
        assert!(chunk.iter().all(|t| *t == chunk[0]));
    }
    assert_eq!(
        periods,
        [
            initial,
            // Three intervals of 250 ms where 3 s were due: four times harder, three times.
            initial / 4,
            initial / 16,
            initial / 64,
            // Sixteen times too slow, but one step moves at most four times.
            initial / 16,
            initial / 4,
            initial,
            // And never easier than the chain started.
            initial,
        ]
    );
    assert_eq!(
        verifier.work(),
        targets.iter().fold(Work::ZERO, |w, t| w + t.work())
    );
}

#[test]
fn a_retarget_block_must_carry_the_new_target_and_not_step_back_in_time() {
    let p = retargeting();
    let now = Timestamp::from_millis(u64::MAX / 2);
    let mut verifier = ChainVerifier::new(&p, now);
    let mut tip = verifier
        .push(p.genesis().into_block())
        .unwrap()
        .into_block();
    for _ in 0..3 {
        tip = push_block(&mut verifier, &tip, 500, |_| {}).unwrap();
    }
    // Block 4 keeping its parent's (easier) target is refused.
    let stale = tip.header.target;
    let err = push_block(&mut verifier, &tip, 500, |h| h.target = stale).unwrap_err();
    assert!(matches!(err.rule, Rule::BadTarget { got, .. } if got == stale));
    // Stamped before its parent (though after the median): the time-warp rule.
    let err = push_block(&mut verifier, &tip, -100, |_| {}).unwrap_err();
    assert!(matches!(err.rule, Rule::TimeWarp { .. }), "{err}");
    // At the parent's own time it is fine.
    tip = push_block(&mut verifier, &tip, 0, |_| {}).unwrap();
    // Inside a period a block may be stamped before its parent, as long as it is after the median.
    push_block(&mut verifier, &tip, -100, |_| {}).unwrap();
}

// --- the standalone checks: what a block is held to before its parent is known ---------------

#[track_caller]
fn standalone_rule(block: &Block) -> Rule {
    validate_standalone(block, &params())
        .expect_err("the mutated block must be refused")
        .rule
}

#[test]
fn a_well_formed_block_passes_the_standalone_checks_whatever_its_parent() {
    let (genesis, _) = genesis_parent();
    let good = child_of(&genesis, vec![note("a"), note("b")]);
    assert_eq!(validate_standalone(&good, &params()), Ok(good.hash()));
    // Height, parent and time are context: a block pointing anywhere still passes here.
    let elsewhere = remined(good.clone(), |h| {
        h.prev_hash = BlockHash::from_bytes([7; 32]);
        h.height = Height::new(40);
    });
    assert!(validate_standalone(&elsewhere, &params()).is_ok());
    // So does a target harder than the chain's easiest, which a retarget may demand.
    let harder = remined(good, |h| {
        h.target = Difficulty::new(BITS + 2).unwrap().target()
    });
    assert!(validate_standalone(&harder, &params()).is_ok());
}

#[test]
fn each_standalone_mutation_breaks_its_rule_as_full_validation_does() {
    let (genesis, parent) = genesis_parent();
    let good = child_of(&genesis, vec![note("a"), note("b")]);

    // Easier than the chain ever allows, though its hash meets what it claims.
    let easy = remined(good.clone(), |h| {
        h.target = Difficulty::new(1).unwrap().target()
    });
    assert_eq!(
        standalone_rule(&easy),
        Rule::BadTarget {
            required: params().initial_target(),
            got: easy.header.target
        }
    );

    let mut unmined = good.clone();
    while params().initial_target().check_hash(&unmined.hash()) {
        unmined.header.nonce += 1;
    }
    let mut edited = good.clone();
    edited.transactions[2] = note("B");
    let duplicated = child_of(&genesis, vec![note("a"), note("a")]);
    let many = child_of(
        &genesis,
        (0..=Block::MAX_TRANSACTIONS)
            .map(|i| note(&i.to_string()))
            .collect(),
    );
    for (block, expected) in [
        (&unmined, "bad_proof_of_work"),
        (&edited, "bad_merkle_root"),
        (&duplicated, "duplicate_transaction"),
        (&many, "too_many_transactions"),
    ] {
        let rule = standalone_rule(block);
        assert_eq!(rule.code(), expected, "{rule}");
        // The same rule, with the same details, in full validation.
        assert_eq!(rule_of(block.clone(), &parent), rule);
    }
}

// --- the per-transfer rules: the same functions for blocks and for the mempool ---------------

fn transfer(from: u8, amount: u64, fee: u64, nonce: u64) -> Transfer {
    let Transaction::Transfer(t) = pay(&key(from), address_of(&key(2)), amount, fee, nonce) else {
        unreachable!()
    };
    t
}

fn account(balance: u64, nonce: u64) -> Account {
    Account {
        balance: Amount::from_units(balance),
        nonce,
    }
}

#[test]
fn a_transfers_amounts_must_move_something_and_fit() {
    assert_eq!(
        validate_amounts(&transfer(1, 300, 5, 0)),
        Ok(Amount::from_units(305))
    );
    let zero = transfer(1, 0, 5, 0);
    assert_eq!(
        validate_amounts(&zero),
        Err(Rule::ZeroAmount { txid: zero.txid() })
    );
    let overflow = transfer(1, u64::MAX, 1, 0);
    assert_eq!(
        validate_amounts(&overflow),
        Err(Rule::AmountOverflow {
            txid: overflow.txid()
        })
    );
}

#[test]
fn a_spend_takes_the_next_nonce_and_is_covered_by_the_balance() {
    let t = transfer(1, 300, 5, 0);
    assert_eq!(validate_spend(&account(1000, 0), &t), Ok(account(695, 1)));
    // Exactly the balance is enough.
    assert_eq!(validate_spend(&account(305, 0), &t), Ok(account(0, 1)));
    assert_eq!(
        validate_spend(&account(304, 0), &t),
        Err(Rule::InsufficientBalance {
            txid: t.txid(),
            balance: Amount::from_units(304),
            needed: Amount::from_units(305),
        })
    );
    // After one transfer: a replay of it, and one that skips a nonce.
    for nonce in [0, 2] {
        let t = transfer(1, 1, 0, nonce);
        assert_eq!(
            validate_spend(&account(1000, 1), &t),
            Err(Rule::BadNonce {
                txid: t.txid(),
                expected: 1,
                got: nonce,
            })
        );
    }
    let overflow = transfer(1, u64::MAX, 1, 0);
    assert!(matches!(
        validate_spend(&account(1000, 0), &overflow),
        Err(Rule::AmountOverflow { .. })
    ));
}

#[test]
fn a_signature_verifies_only_unchanged_and_on_its_chain() {
    let chain = params().genesis_hash();
    let t = transfer(1, 300, 5, 0);
    assert_eq!(validate_signature(&t, &chain), Ok(()));
    let mut forged = t.clone();
    forged.amount = Amount::from_units(999);
    assert_eq!(
        validate_signature(&forged, &chain),
        Err(Rule::BadSignature {
            txid: forged.txid()
        })
    );
    let other = ChainParams::new(Difficulty::new(BITS + 1).unwrap()).genesis_hash();
    assert!(matches!(
        validate_signature(&t, &other),
        Err(Rule::BadSignature { .. })
    ));
}

/// The API reports these codes (`POST /transactions`, `POST /add_block`); clients match them.
#[test]
fn per_transfer_rules_keep_the_codes_the_api_reports() {
    let txid = TxId::from_bytes([1; 32]);
    let codes = [
        Rule::ZeroAmount { txid },
        Rule::AmountOverflow { txid },
        Rule::BadSignature { txid },
        Rule::BadNonce {
            txid,
            expected: 0,
            got: 1,
        },
        Rule::InsufficientBalance {
            txid,
            balance: Amount::ZERO,
            needed: Amount::from_units(1),
        },
    ]
    .map(|r| r.code());
    assert_eq!(
        codes,
        [
            "zero_amount",
            "amount_overflow",
            "bad_signature",
            "bad_nonce",
            "insufficient_balance"
        ]
    );
}
