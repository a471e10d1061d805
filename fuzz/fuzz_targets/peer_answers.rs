//! Every other body the node reads from a peer, read as its peer client
//! (`network::client`) and its API read them, and each input tried as every one of them, since a
//! peer may answer anything to any request:
//!
//! - `GET /status` as the handshake reads it ([`PeerStatus`]);
//! - the answer to `POST /chain/locate` ([`Located`]);
//! - a `GET /chain` page ([`ChainPage`]): its blocks held to their stated hashes, to the block
//!   invariants, and verified in order on the fixed chain;
//! - `GET /nodes` ([`Peers`]), whose every peer URL must print back to itself;
//! - an announcement (`POST /blocks/announce`) and a registration (`POST /nodes/register`).
//!
//! Single blocks (`GET /blocks/<hash>`) are the `block_json` target's.

#![no_main]

use ferrochain::chain::Block;
use ferrochain::network::message::{Announcement, Peers, RegisterRequest};
use ferrochain::network::{ChainPage, Located, PeerStatus, PeerUrl};
use ferrochain_fuzz::{assert_round_trips, check_block, verify_blocks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(status) = serde_json::from_slice::<PeerStatus>(data) {
        assert_round_trips(&status);
    }
    if let Ok(located) = serde_json::from_slice::<Located>(data) {
        assert_round_trips(&located);
    }
    if let Ok(page) = serde_json::from_slice::<ChainPage>(data) {
        check_page(page);
    }
    if let Ok(peers) = serde_json::from_slice::<Peers>(data) {
        check_peers(&peers);
    }
    if let Ok(announcement) = serde_json::from_slice::<Announcement>(data) {
        assert_round_trips(&announcement);
    }
    if let Ok(registration) = serde_json::from_slice::<RegisterRequest>(data) {
        // The handler refuses a registration with an entry that is not a peer URL; each entry
        // that is must print back to itself.
        for entry in &registration.nodes {
            if let Ok(url) = PeerUrl::parse(entry) {
                check_peer_url(&url);
            }
        }
    }
});

/// A page is refused at its first block whose stated hash is not its own, as the sync refuses it.
fn check_page(page: ChainPage) {
    let Ok(blocks) = page
        .chain
        .into_iter()
        .map(|wire| wire.into_block())
        .collect::<Result<Vec<Block>, _>>()
    else {
        return;
    };
    blocks.iter().for_each(check_block);
    verify_blocks(blocks);
}

/// The node stores, lists and passes on the peers it learns as text, so each must print as
/// something that parses back to the same peer.
fn check_peers(peers: &Peers) {
    assert_round_trips(peers);
    peers.nodes.iter().for_each(check_peer_url);
    for view in peers.peers.iter().flatten() {
        check_peer_url(&view.url);
        assert_round_trips(view);
    }
}

fn check_peer_url(url: &PeerUrl) {
    let text = url.to_string();
    assert_eq!(
        PeerUrl::parse(&text).as_ref(),
        Ok(url),
        "peer URL {url:?} prints as {text:?}, which is not the same peer"
    );
}
