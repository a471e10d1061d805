//! Properties over many generated inputs (proptest): every encoding round-trips, and no single
//! changed byte of a valid block is valid.

use ferrochain::chain::{
    merkle_root, validate_standalone, Address, Block, BlockHash, ChainParams, Difficulty, Header,
    Height, MerkleRoot, Note, Target, Timestamp, Transaction, WireBlock,
};
use ferrochain::mining::mine_child_sequential;
use proptest::prelude::*;
use std::sync::OnceLock;

fn note_text() -> impl Strategy<Value = String> {
    // Printable text and multi-byte characters, 1 to 256 bytes as a note allows.
    "[ -~\u{e9}\u{4e2d}]{1,60}".prop_filter("1 to 256 bytes", |s| {
        (1..=Note::MAX_BYTES).contains(&s.len())
    })
}

fn header() -> impl Strategy<Value = Header> {
    (
        any::<u32>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        1u128..=u128::MAX,
        any::<u64>(),
    )
        .prop_map(|(version, height, prev, root, ms, target, nonce)| Header {
            version,
            height: Height::new(height),
            prev_hash: BlockHash::from_bytes(prev),
            merkle_root: MerkleRoot::from_bytes(root),
            timestamp: Timestamp::from_millis(ms),
            target: Target::floor(target),
            nonce,
        })
}

fn block() -> impl Strategy<Value = Block> {
    (header(), prop::collection::vec(note_text(), 0..8)).prop_map(|(header, notes)| Block {
        header,
        transactions: notes
            .into_iter()
            .map(|n| Transaction::Note(Note::new(n).unwrap()))
            .collect(),
    })
}

/// A few blocks mined at 20 bits, so that a changed header meets the target only by a one in
/// a million chance.
fn mined() -> &'static [Block] {
    static MINED: OnceLock<Vec<Block>> = OnceLock::new();
    MINED.get_or_init(|| {
        let params = ChainParams::new(Difficulty::new(20).unwrap());
        let mut parent = params.genesis().into_block();
        let mut blocks = Vec::new();
        for i in 0..3 {
            let notes = (0..i + 1)
                .map(|j| Transaction::Note(Note::new(format!("block {i} note {j}")).unwrap()))
                .collect();
            let at = Timestamp::from_millis(parent.header.timestamp.as_millis() + 1000);
            let block =
                mine_child_sequential(&params, &parent, Address::from_bytes([3; 32]), notes, at);
            parent = block.clone();
            blocks.push(block);
        }
        blocks
    })
}

fn params20() -> ChainParams {
    ChainParams::new(Difficulty::new(20).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_header_round_trips_through_its_encoding(header in header()) {
        let decoded = Header::decode(&header.encode()).unwrap();
        prop_assert_eq!(decoded.encode(), header.encode());
        prop_assert_eq!(decoded.hash(), header.hash());
    }

    #[test]
    fn a_block_round_trips_through_its_encoding_and_its_json(block in block()) {
        let bytes = block.encode();
        prop_assert_eq!(bytes.len(), block.encoded_len());
        prop_assert_eq!(&Block::decode(&bytes).unwrap(), &block);
        let json = serde_json::to_vec(&block).unwrap();
        let wire: WireBlock = serde_json::from_slice(&json).unwrap();
        prop_assert_eq!(&wire.into_block().unwrap(), &block);
    }

    #[test]
    fn a_cut_or_extended_encoding_is_refused(block in block(), cut in 1usize..64) {
        let bytes = block.encode();
        let short = &bytes[..bytes.len().saturating_sub(cut)];
        prop_assert!(Block::decode(short).is_err());
        let mut long = bytes.clone();
        long.push(0);
        prop_assert!(Block::decode(&long).is_err());
    }

    #[test]
    fn no_single_changed_byte_of_a_valid_block_is_valid(
        which in 0usize..3,
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let block = &mined()[which];
        prop_assert!(validate_standalone(block, &params20()).is_ok());
        let mut bytes = block.encode();
        let at = position.index(bytes.len());
        bytes[at] ^= flip;
        // A change that no longer decodes is refused at the door; one that does is invalid.
        if let Ok(changed) = Block::decode(&bytes) {
            prop_assert_ne!(&changed, block);
            prop_assert!(validate_standalone(&changed, &params20()).is_err());
        }
    }

    #[test]
    fn the_merkle_root_commits_to_the_order_of_entries(notes in prop::collection::vec(note_text(), 2..6)) {
        let ids: Vec<_> = notes
            .iter()
            .map(|n| Transaction::Note(Note::new(n.clone()).unwrap()).txid())
            .collect();
        let mut swapped = ids.clone();
        swapped.swap(0, 1);
        prop_assume!(ids[0] != ids[1]);
        prop_assert_ne!(merkle_root(ids), merkle_root(swapped));
    }
}
