//! A block locator as `POST /chain/locate` receives it from a peer: the bytes read as the node
//! reads a [`LocateRequest`], then held to the checks its handler makes before it looks anything
//! up (1 to [`MAX_LOCATOR`] entries, each a block hash). Finding the fork point needs the store;
//! what is held here is that an accepted locator is what the node's own client would send for
//! those hashes (the same request after a trip through [`LocateRequest::new`], within the API's
//! body limit), and that the locator the node sends for a chain of any height is accepted.

#![no_main]

use ferrochain::api::SMALL_JSON;
use ferrochain::chain::{BlockHash, Height};
use ferrochain::network::message::LocateRequest;
use ferrochain::storage::{locator_heights, MAX_LOCATOR};
use ferrochain_fuzz::assert_round_trips;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = serde_json::from_slice::<LocateRequest>(data) else {
        return;
    };
    assert_round_trips(&request);
    // The handler's checks (in `api::chain`, private to the API), made of the same public parts.
    if request.locator.is_empty() || request.locator.len() > MAX_LOCATOR {
        return;
    }
    let Ok(hashes) = request
        .locator
        .iter()
        .map(|entry| entry.parse::<BlockHash>())
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };

    let sent = LocateRequest::new(&hashes);
    let reparsed: Vec<BlockHash> = sent
        .locator
        .iter()
        .map(|entry| entry.parse().expect("a hash's text parses"))
        .collect();
    assert_eq!(
        reparsed, hashes,
        "a locator changed on its way through the client"
    );
    let body = serde_json::to_vec(&sent).expect("a locator serialises");
    assert!(
        body.len() <= SMALL_JSON,
        "an accepted locator of {} entries does not fit the API's body limit",
        hashes.len()
    );

    // A chain whose height is the first hash's first eight bytes: the node's locator for it
    // starts at its tip, falls strictly to genesis, and is within the bound a peer accepts.
    let first = hashes[0].as_bytes();
    let tip = Height::new(u64::from_le_bytes(first[..8].try_into().expect("8 bytes")));
    let heights = locator_heights(tip);
    assert_eq!(heights.first(), Some(&tip));
    assert_eq!(heights.last(), Some(&Height::GENESIS));
    assert!(heights.windows(2).all(|pair| pair[0] > pair[1]));
    assert!(
        heights.len() <= MAX_LOCATOR,
        "the node's locator for height {tip} has {} entries, more than a peer accepts",
        heights.len()
    );
});
