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
    while !header.difficulty.check_hash(&header.hash()) {
        header.nonce += 1;
    }
    header
}

fn child_of(parent: &Block, transactions: Vec<Transaction>) -> Block {
    let header = Header {
        version: ChainParams::BLOCK_VERSION,
        height: parent.height().next(),
        prev_hash: parent.hash(),
        merkle_root: merkle_root(transactions.iter().map(Transaction::txid)),
        timestamp: parent.header.timestamp.saturating_add_millis(1000),
        difficulty: params().difficulty,
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
        median_time_past: genesis.header.timestamp,
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

fn rule_of(block: Block, parent: &Parent) -> Rule {
    validate_block(block, parent, &params(), now())
        .expect_err("the mutated block must be refused")
        .rule
}

#[test]
fn a_well_formed_child_is_accepted() {
    let (genesis, parent) = genesis_parent();
    let block = child_of(&genesis, vec![note("Alice pays Bob 10 BTC")]);
    let verified = validate_block(block.clone(), &parent, &params(), now()).unwrap();
    assert_eq!(verified.hash(), block.hash());
    // Empty blocks are allowed.
    assert!(validate_block(child_of(&genesis, vec![]), &parent, &params(), now()).is_ok());
}

#[test]
fn each_header_mutation_breaks_its_rule() {
    let (genesis, parent) = genesis_parent();
    let good = child_of(&genesis, vec![note("a")]);

    let b = remined(good.clone(), |h| h.version = 2);
    assert!(matches!(
        rule_of(b, &parent),
        Rule::BadVersion { got: 2, .. }
    ));

    let b = remined(good.clone(), |h| h.height = Height::new(2));
    assert!(matches!(rule_of(b, &parent), Rule::BadHeight { .. }));

    let b = remined(good.clone(), |h| {
        h.prev_hash = BlockHash::from_bytes([7; 32])
    });
    assert!(matches!(rule_of(b, &parent), Rule::BadPreviousHash { .. }));

    // A block cannot choose an easier difficulty, even if its hash meets the one it claims.
    let b = remined(good.clone(), |h| h.difficulty = Difficulty::new(1).unwrap());
    assert!(matches!(rule_of(b, &parent), Rule::WrongDifficulty { .. }));

    let mut b = good.clone();
    while params().difficulty.check_hash(&b.hash()) {
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
    assert!(validate_block(b, &parent, &params(), now()).is_ok());
}

#[test]
fn each_body_mutation_breaks_its_rule() {
    let (genesis, parent) = genesis_parent();
    let good = child_of(&genesis, vec![note("a"), note("b")]);

    // One entry changed after mining: the header (and so the proof of work) still holds, the
    // Merkle commitment does not.
    let mut b = good.clone();
    b.transactions[1] = note("B");
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

    let big = (0..Block::MAX_TRANSACTIONS)
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
        (0..15).fold(Work::ZERO, |w, _| w + p.difficulty.work())
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
