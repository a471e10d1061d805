//! The node's lifecycle: everything it starts in the background ends with `Node::run`.

mod common;

use common::*;
use std::sync::atomic::Ordering;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_every_task_even_a_relay_waiting_on_a_silent_peer() {
    let node = TestNode::start(params()).await;
    let (silent, accepted) = hostile_peer_counted(Hostile::Silent).await;
    node.node.peers().set(vec![silent]);
    node.node
        .mining()
        .mine(vec![note("relayed to no one")])
        .await
        .unwrap();
    // The relay is in flight: the peer took the connection and will never answer.
    wait_for("the relay to reach the silent peer", || {
        let reached = accepted.load(Ordering::SeqCst) > 0;
        async move { reached.then_some(()) }
    })
    .await;
    let tasks = node.node.tasks().clone();
    assert!(!tasks.is_empty());

    let stopping = Instant::now();
    node.stop();
    wait_for("every background task to end", || {
        let ended = tasks.is_empty();
        async move { ended.then_some(()) }
    })
    .await;
    assert!(
        stopping.elapsed() < test_timeouts().total,
        "the relay was cancelled, not left to time out ({:?})",
        stopping.elapsed()
    );
    assert!(tasks.is_cancelled());
}
