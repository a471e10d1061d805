//! The node's background work, owned: every task the node starts (relays, syncs, discovery, the
//! mempool's follower) is spawned here, and [`Node::run`](super::Node::run) ends them all.
//!
//! A task is never spawned and forgotten: each runs under a [`TaskTracker`], so shutdown can wait
//! for the ones in flight, and each stops at the first `.await` after the shared
//! [`CancellationToken`] is cancelled, so a relay to a silent peer does not hold shutdown up for
//! its whole deadline.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for cancelled tasks to unwind; anything still running after this is
/// stuck on blocking work (a store write), which the runtime finishes on its own.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A cheap-to-clone handle on the node's task set.
#[derive(Clone, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl Tasks {
    /// Runs `task` in the background until it ends or the node shuts down. Nothing is started
    /// once shutdown has begun.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        if self.cancel.is_cancelled() {
            return;
        }
        let cancel = self.cancel.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = task => {}
            }
        });
    }

    /// Completes when shutdown begins; for loops that want to end between steps.
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        self.cancel.clone().cancelled_owned()
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Tasks still running.
    pub fn len(&self) -> usize {
        self.tracker.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracker.is_empty()
    }

    /// Cancels every task and waits (at most [`SHUTDOWN_GRACE`]) for them to end.
    pub async fn shut_down(&self) {
        self.cancel.cancel();
        self.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tracker.wait())
            .await
            .is_err()
        {
            log::warn!(
                "{} background tasks still running after {} s of shutdown",
                self.tracker.len(),
                SHUTDOWN_GRACE.as_secs()
            );
        }
    }
}
