//! The sync logic against scripted peers: honest ones, liars, peers whose chain moves while it is
//! read, and peers that never answer. Each test checks both the session's typed outcome and the
//! verdict the peer book records (answered, backed off, banned).

use super::*;
use crate::network::PeerState;
use crate::node::fake::{chain_of, extend, url, work_of, FakeNet, FakePeer, Harness};

async fn session_outcome(
    parts: &Harness,
    net: &FakeNet,
    peer: &PeerUrl,
) -> (Result<(), SyncError>, usize) {
    let mut session = Session::new(&parts.chain, net, peer);
    let outcome = session.run().await;
    (outcome, session.added)
}

#[tokio::test]
async fn an_honest_peer_ahead_gives_us_its_whole_chain_in_pages() {
    let theirs = chain_of(SYNC_PAGE + 20, "theirs");
    let peer = url(1);
    let net = FakeNet::with(vec![(peer.clone(), FakePeer::serving(theirs.clone()))]);
    let parts = Harness::new(net.clone(), vec![peer.clone()]);

    let sync = parts.sync.sync_with(&peer).await.unwrap();
    assert_eq!(sync.error, None);
    assert_eq!(sync.added, SYNC_PAGE + 20);
    assert_eq!(parts.chain.tip().hash, theirs.last().unwrap().hash());
    assert_eq!(net.count(&peer, "chain"), 2, "two pages");
    assert_eq!(parts.state_of(&peer).state, PeerState::Ok);
}

#[tokio::test]
async fn a_peer_with_no_more_work_is_not_downloaded_from() {
    let ours = chain_of(5, "ours");
    let peer = url(1);
    let net = FakeNet::with(vec![(
        peer.clone(),
        FakePeer::serving(chain_of(3, "theirs")),
    )]);
    let parts = Harness::new(net.clone(), vec![peer.clone()]);
    parts.adopt(&ours).await;

    let (outcome, added) = session_outcome(&parts, &net, &peer).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(added, 0);
    assert_eq!(net.count(&peer, "chain"), 0);
    assert_eq!(parts.chain.tip().hash, ours.last().unwrap().hash());
}

#[tokio::test]
async fn a_peer_claiming_more_work_than_its_blocks_carry_is_banned() {
    let theirs = chain_of(4, "theirs");
    let last = theirs.last().unwrap();
    let liar = FakePeer {
        claim: Some(ClaimedTip {
            height: last.height(),
            hash: last.hash(),
            work: work_of(&theirs) + work_of(&theirs),
        }),
        ..FakePeer::serving(theirs.clone())
    };
    let peer = url(1);

    let net = FakeNet::with(vec![(peer.clone(), liar.clone())]);
    let parts = Harness::new(net.clone(), vec![peer.clone()]);
    let (outcome, added) = session_outcome(&parts, &net, &peer).await;
    assert!(
        matches!(outcome, Err(SyncError::Lie(Lie::WorkMismatch { .. }))),
        "{outcome:?}"
    );
    // The blocks themselves were valid, and are kept.
    assert_eq!(added, 4);

    let net = FakeNet::with(vec![(peer.clone(), liar)]);
    let parts = Harness::new(net, vec![peer.clone()]);
    parts.sync.sync_with(&peer).await.unwrap();
    let view = parts.state_of(&peer);
    assert_eq!(view.state, PeerState::Banned, "{view:?}");
    assert!(view.ban_reason.unwrap().contains("but its blocks carry"));
}

#[tokio::test]
async fn a_peer_serving_less_than_it_claims_is_asked_again_then_banned() {
    let theirs = chain_of(6, "theirs");
    let short = FakePeer {
        serve_up_to: Some(Height::new(2)),
        ..FakePeer::serving(theirs)
    };
    let peer = url(1);
    let net = FakeNet::with(vec![(peer.clone(), short)]);
    let parts = Harness::new(net.clone(), vec![peer.clone()]);

    let sync = parts.sync.sync_with(&peer).await.unwrap();
    let error = sync.error.unwrap();
    assert!(
        error.contains("a tip at 6 but serves blocks only up to 2"),
        "{error}"
    );
    assert_eq!(net.count(&peer, "locate"), MAX_RELOCATES + 1);
    assert_eq!(parts.state_of(&peer).state, PeerState::Banned);
    assert_eq!(
        parts.chain.tip().height,
        Height::new(2),
        "what it served is kept"
    );
}

#[tokio::test]
async fn a_peer_that_reorganises_mid_sync_is_located_again_and_followed() {
    // Its first page comes from one branch; then it switches to a heavier one that forks lower.
    let base = chain_of(10, "base");
    let first = extend(&base, SYNC_PAGE, "first");
    let second = extend(&base, SYNC_PAGE + 30, "second");
    let moving = FakePeer {
        next_chains: vec![second.clone()],
        ..FakePeer::serving(first)
    };
    let peer = url(1);
    let net = FakeNet::with(vec![(peer.clone(), moving)]);
    let parts = Harness::new(net.clone(), vec![peer.clone()]);

    let (outcome, _) = session_outcome(&parts, &net, &peer).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(
        net.count(&peer, "locate"),
        2,
        "located again after the move"
    );
    assert_eq!(parts.chain.tip().hash, second.last().unwrap().hash());
}

#[tokio::test]
async fn a_peer_whose_chain_never_settles_is_backed_off_not_banned() {
    // Every page comes from another branch than the one before: the tip it told us of is gone
    // by the next page each time.
    let base = chain_of(2, "base");
    let branches: Vec<Vec<Block>> = (0..8)
        .map(|i| extend(&base, SYNC_PAGE + 1 + i, &format!("branch {i}")))
        .collect();
    let restless = FakePeer {
        next_chains: branches[1..].to_vec(),
        ..FakePeer::serving(branches[0].clone())
    };
    let peer = url(1);

    let net = FakeNet::with(vec![(peer.clone(), restless.clone())]);
    let parts = Harness::new(net.clone(), vec![peer.clone()]);
    let (outcome, _) = session_outcome(&parts, &net, &peer).await;
    assert!(
        matches!(
            outcome,
            Err(SyncError::Unsettled(Unsettled::TipMoved { .. }))
        ),
        "{outcome:?}"
    );
    assert_eq!(net.count(&peer, "locate"), MAX_RELOCATES + 1);

    let net = FakeNet::with(vec![(peer.clone(), restless)]);
    let parts = Harness::new(net, vec![peer.clone()]);
    let sync = parts.sync.sync_with(&peer).await.unwrap();
    assert!(sync.error.unwrap().contains("left its main chain"));
    let view = parts.state_of(&peer);
    assert_eq!(view.state, PeerState::Backoff, "{view:?}");
    assert_eq!(view.ban_reason, None);
}

#[tokio::test]
async fn a_peer_that_times_out_is_backed_off_yet_asked_by_every_explicit_resolve() {
    let peer = url(1);
    let silent = FakePeer {
        down: true,
        ..FakePeer::serving(chain_of(3, "theirs"))
    };
    let net = FakeNet::with(vec![(peer.clone(), silent)]);
    let parts = Harness::new(net.clone(), vec![peer.clone()]);

    let (outcome, _) = session_outcome(&parts, &net, &peer).await;
    assert!(
        matches!(outcome, Err(SyncError::Peer(PeerError::TimedOut { .. }))),
        "{outcome:?}"
    );

    let resolved = parts.sync.resolve().await.unwrap();
    assert!(!resolved.replaced);
    assert_eq!(parts.state_of(&peer).state, PeerState::Backoff);
    let again = parts.sync.resolve().await.unwrap();
    assert!(!again.peers[0].skipped, "{:?}", again.peers);
    assert_eq!(
        net.count(&peer, "locate"),
        3,
        "asked again while backing off"
    );
    assert_eq!(parts.state_of(&peer).failures, 2);
}

#[tokio::test]
async fn a_page_that_breaks_its_own_links_is_a_lie() {
    // The peer serves a page whose second block is from another branch.
    let theirs = chain_of(4, "theirs");
    let other = chain_of(4, "other");
    let mut spliced = theirs.clone();
    spliced[2] = other[2].clone();
    let peer = url(1);
    let net = FakeNet::with(vec![(peer.clone(), FakePeer::serving(spliced))]);
    let parts = Harness::new(net.clone(), vec![peer.clone()]);

    let (outcome, added) = session_outcome(&parts, &net, &peer).await;
    assert!(
        matches!(outcome, Err(SyncError::Lie(Lie::Unlinked { height })) if height == Height::new(2)),
        "{outcome:?}"
    );
    assert_eq!(added, 0, "nothing of a lying page is stored");
}

#[tokio::test]
async fn a_fork_point_outside_our_locator_is_a_lie() {
    // It answers our locator with a block of its own that we never named.
    let theirs = chain_of(5, "theirs");
    let liar = FakePeer {
        fork: Some(crate::network::ChainPoint {
            height: theirs[3].height(),
            hash: theirs[3].hash(),
        }),
        ..FakePeer::serving(theirs)
    };
    let peer = url(1);
    let net = FakeNet::with(vec![(peer.clone(), liar)]);
    let parts = Harness::new(net.clone(), vec![peer.clone()]);
    parts.adopt(&chain_of(2, "ours")).await;

    let (outcome, added) = session_outcome(&parts, &net, &peer).await;
    assert!(
        matches!(outcome, Err(SyncError::Lie(Lie::ForkNotInLocator { height, .. })) if height == Height::new(3)),
        "{outcome:?}"
    );
    assert_eq!(added, 0);
    assert_eq!(
        net.count(&peer, "chain"),
        0,
        "nothing is fetched from a lie"
    );
}
