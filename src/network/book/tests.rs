use super::*;

fn url(port: u16) -> PeerUrl {
    PeerUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap()
}

const T0: Timestamp = Timestamp::from_millis(1_000_000);

fn at(ms: u64) -> Timestamp {
    T0.saturating_add_millis(ms)
}

#[test]
fn backoff_doubles_from_one_second_to_five_minutes() {
    let secs: Vec<u64> = (1..=11).map(|n| backoff(n).as_secs()).collect();
    assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
}

#[test]
fn a_failing_peer_backs_off_and_a_success_clears_it() {
    let mut book = PeerBook::new(8);
    book.insert(PeerRecord::new(url(1), PeerSource::Flag, T0));
    assert_eq!(book.usable(T0), [url(1)]);
    assert_eq!(
        book.failed(&url(1), "refused".into(), T0),
        Failed::BackedOff {
            until: at(1000),
            failures: 1
        }
    );
    let p = book.get(&url(1)).unwrap();
    assert_eq!(p.state(T0), PeerState::Backoff);
    assert!(book.usable(at(999)).is_empty());
    assert_eq!(book.usable(at(1000)), [url(1)]);
    assert!(
        book.failed(&url(1), "again".into(), at(1000))
            == Failed::BackedOff {
                until: at(3000),
                failures: 2
            }
    );
    assert!(book
        .get(&url(1))
        .unwrap()
        .skip_reason(at(2000))
        .unwrap()
        .contains("again"));
    book.succeeded(&url(1), at(3000));
    let p = book.get(&url(1)).unwrap();
    assert_eq!(
        (p.state(at(3000)), p.failures, p.retry_at),
        (PeerState::Ok, 0, None)
    );
}

#[test]
fn a_backed_off_peer_is_next_tried_when_its_back_off_ends() {
    let mut book = PeerBook::new(8);
    book.insert(PeerRecord::new(url(1), PeerSource::Flag, T0));
    book.insert(PeerRecord::new(url(2), PeerSource::Flag, T0));
    book.succeeded(&url(2), T0);
    book.failed(&url(1), "refused".into(), T0);
    assert_eq!(book.retries(T0), [(url(1), at(1000))]);
    let round = Some(at(30_000));
    let (down, up) = (book.get(&url(1)).unwrap(), book.get(&url(2)).unwrap());
    assert_eq!(down.view(T0, round).next_try, Some(at(1000)));
    assert_eq!(down.view(at(1000), round).next_try, Some(at(1000)));
    assert_eq!(up.view(T0, round).next_try, round);
    assert_eq!(up.view(T0, round).last_heard, Some(T0));
    book.ban(&url(1), "x".into(), T0);
    assert!(book.retries(T0).is_empty(), "a banned peer is not retried");
}

#[test]
fn discovered_peers_are_dropped_after_repeated_failures_operator_peers_never() {
    let mut book = PeerBook::new(8);
    book.insert(PeerRecord::new(url(1), PeerSource::Learned, T0));
    book.insert(PeerRecord::new(url(2), PeerSource::File, T0));
    let mut now = T0;
    for n in 1..DROP_AFTER_FAILURES {
        assert!(matches!(
            book.failed(&url(1), "down".into(), now),
            Failed::BackedOff { failures, .. } if failures == n
        ));
        now = now.saturating_add_millis(1);
    }
    assert_eq!(
        book.failed(&url(1), "down".into(), now),
        Failed::Dropped {
            failures: DROP_AFTER_FAILURES
        }
    );
    assert!(!book.contains(&url(1)));
    for _ in 0..3 * DROP_AFTER_FAILURES {
        assert!(matches!(
            book.failed(&url(2), "down".into(), now),
            Failed::BackedOff { .. }
        ));
    }
    assert_eq!(
        book.get(&url(2)).unwrap().retry_at,
        Some(later(now, BACKOFF_MAX))
    );
}

#[test]
fn a_discovered_peer_failing_for_an_hour_is_dropped_at_its_next_failure() {
    let mut book = PeerBook::new(8);
    book.insert(PeerRecord::new(url(1), PeerSource::Registered, T0));
    book.succeeded(&url(1), T0);
    let late = later(T0, DROP_AFTER_SILENCE);
    assert_eq!(
        book.failed(&url(1), "down".into(), late),
        Failed::Dropped { failures: 1 }
    );
}

#[test]
fn candidates_that_never_answer_cannot_push_out_peers_in_use() {
    let mut book = PeerBook::new(2);
    for port in 1..=2 {
        book.insert(PeerRecord::new(url(port), PeerSource::Learned, T0));
    }
    let junk = PeerRecord::new(url(3), PeerSource::Learned, T0);
    assert_eq!(book.insert(junk), Inserted::Full, "the candidates are full");
    let mut real = PeerRecord::new(url(4), PeerSource::Learned, T0);
    real.verified = true;
    assert_eq!(
        book.insert(real),
        Inserted::Added,
        "a peer that answered still fits"
    );
    assert_eq!(book.usable(T0), [url(4)]);
}

#[test]
fn a_ban_holds_however_the_url_is_spelled() {
    let mut book = PeerBook::new(8);
    let alias = PeerUrl::parse("http://localhost:1").unwrap();
    book.insert(PeerRecord::new(alias.clone(), PeerSource::Learned, T0));
    book.verified(&alias, T0);
    assert_eq!(book.usable(T0), std::slice::from_ref(&alias));
    book.ban(&url(1), "sent an invalid block".into(), T0);
    assert!(book.ban_on(&alias, T0).is_some());
    assert!(book.usable(T0).is_empty() && book.due(T0).is_empty());
    assert!(book.ban_on(&url(2), T0).is_none());
}

#[test]
fn a_ban_hides_a_peer_until_it_ends() {
    let mut book = PeerBook::new(8);
    book.insert(PeerRecord::new(url(1), PeerSource::Flag, T0));
    let until = book.ban(&url(1), "sent block 3 with a bad Merkle root".into(), T0);
    assert_eq!(until, later(T0, BAN));
    let p = book.get(&url(1)).unwrap();
    assert_eq!(p.state(T0), PeerState::Banned);
    let view = p.view(T0, None);
    assert_eq!(
        view.next_try,
        Some(until),
        "a banned peer is next tried when it ends"
    );
    assert_eq!(
        view.ban_reason.as_deref(),
        Some("sent block 3 with a bad Merkle root")
    );
    assert!(book.usable(T0).is_empty() && book.due(T0).is_empty());
    let after = later(T0, BAN);
    assert_eq!(book.usable(after), [url(1)]);
    assert_eq!(
        book.get(&url(1)).unwrap().view(after, None).banned_until,
        None
    );
}

#[test]
fn a_ban_on_an_unknown_url_is_kept_apart_and_forgotten_when_it_ends() {
    let mut book = PeerBook::new(2);
    book.insert(PeerRecord::new(url(1), PeerSource::Learned, T0));
    book.verified(&url(1), T0);
    let until = book.ban_for(&url(2), "flooded us".into(), Duration::from_secs(60), T0);
    assert_eq!(until, at(60_000));
    let p = book.get(&url(2)).unwrap();
    assert_eq!(
        (p.source, p.state(T0)),
        (PeerSource::Banned, PeerState::Banned)
    );
    // A ban takes no room from peers and is never contacted.
    assert_eq!(
        (book.len(), book.peer_count(), book.is_full()),
        (2, 1, false)
    );
    assert_eq!(book.usable(T0), [url(1)]);
    assert_eq!(book.due(at(60_000)), [url(1)]);
    assert!(book.prune(at(59_999)).is_empty());
    assert_eq!(book.prune(at(60_000)), [url(2)]);
    assert!(!book.contains(&url(2)));

    // Lifting a ban: a peer stays and is used again, a ban-only record goes.
    book.ban(&url(1), "x".into(), T0);
    book.ban_for(&url(3), "y".into(), BAN, T0);
    assert!(book.usable(T0).is_empty());
    assert!(book.unban(&url(1), T0) && book.unban(&url(3), T0));
    assert!(!book.unban(&url(3), T0) && !book.unban(&url(1), T0));
    assert_eq!(book.usable(T0), [url(1)]);
    assert!(!book.contains(&url(3)));
}

#[test]
fn ban_only_records_are_capped_by_the_ban_that_ends_first() {
    let mut book = PeerBook::new(8);
    for i in 0..MAX_BANNED as u64 {
        let secs = Duration::from_secs(1000 + i);
        book.ban_for(&url(10_000 + i as u16), "flood".into(), secs, T0);
    }
    book.ban_for(&url(9), "late".into(), BAN, T0);
    assert_eq!(book.len(), MAX_BANNED);
    assert!(!book.contains(&url(10_000)), "the ban ending first went");
    assert!(book.contains(&url(10_001)) && book.contains(&url(9)));
}

#[test]
fn discovered_peers_wait_for_their_handshake_and_for_room() {
    let mut book = PeerBook::new(2);
    book.insert(PeerRecord::new(url(1), PeerSource::Learned, T0));
    assert!(book.usable(T0).is_empty());
    assert_eq!(book.due(T0), [url(1)]);
    book.verified(&url(1), T0);
    assert_eq!(book.usable(T0), [url(1)]);
    book.insert(PeerRecord::new(url(2), PeerSource::Learned, T0));
    book.verified(&url(2), T0);
    let mut answered = PeerRecord::new(url(3), PeerSource::Learned, T0);
    answered.verified = true;
    assert_eq!(book.insert(answered), Inserted::Full);
    assert_eq!(
        book.room(PeerSource::Learned),
        0,
        "nothing more is handshaken"
    );
    // Peers that picked us have room of their own.
    let mut book = book.inbound(1);
    assert_eq!(
        book.insert(PeerRecord::new(url(5), PeerSource::Registered, T0)),
        Inserted::Added
    );
    assert_eq!(
        book.insert(PeerRecord::new(url(6), PeerSource::Registered, T0)),
        Inserted::Full
    );
    // The operator's peers are always taken, and a known peer named by the operator
    // becomes an operator peer.
    assert_eq!(
        book.insert(PeerRecord::new(url(4), PeerSource::File, T0)),
        Inserted::Added
    );
    assert_eq!(
        book.insert(PeerRecord::new(url(1), PeerSource::Flag, T0)),
        Inserted::Known
    );
    assert_eq!(book.get(&url(1)).unwrap().source, PeerSource::Flag);
}

#[test]
fn records_round_trip_through_json_and_keep_their_order() {
    let mut r = PeerRecord::new(url(2), PeerSource::Learned, T0);
    r.failures = 3;
    r.ban = Some(Ban {
        until: at(5),
        reason: "x".into(),
    });
    let json = serde_json::to_vec(&r).unwrap();
    assert_eq!(serde_json::from_slice::<PeerRecord>(&json).unwrap(), r);
    // Fields added later default when an older record lacks them.
    let old: PeerRecord =
        serde_json::from_str(r#"{"url":"http://h:1","source":"file","added":7}"#).unwrap();
    assert_eq!(
        old,
        PeerRecord::new(
            PeerUrl::parse("http://h:1").unwrap(),
            PeerSource::File,
            Timestamp::from_millis(7)
        )
    );
    let first = PeerRecord::new(url(9), PeerSource::Flag, Timestamp::from_millis(1));
    let book = PeerBook::with_records(8, vec![r.clone(), first.clone()]);
    assert_eq!(book.records()[0].url, url(9));
}
