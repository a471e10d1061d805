//! Mining from the CLI with a live view: the node mines, the CLI watches.
//!
//! `POST /mine` blocks until the block is found, so it runs on its own thread while this one
//! polls `GET /status` and redraws an indicatif spinner with the search's progress and the
//! node's CPU and memory, and how long a block takes on average at that rate and target. A block
//! found within the first poll still gets its final figures, because those come from the mine
//! answer itself, not from the polls. The node mines on without a watcher (a request whose
//! client left still stores its block), so Ctrl-C during the view says so.

use super::client::{Answer, Client, ClientError};
use super::terminal::{self, Parting};
use super::view;
use crate::chain::Transaction;
use crate::network::message::{Mined, NodeStatus};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How often the live view asks the node how the search goes.
const POLL: Duration = Duration::from_millis(200);

/// Mines `transactions` into a block. With `live`, draws the progress on stderr while waiting
/// (indicatif draws nothing when stderr is not a terminal, and then the node is not polled).
pub fn mine(
    client: &Client,
    transactions: Vec<Transaction>,
    live: bool,
) -> Result<Answer<Mined>, ClientError> {
    let spinner = match live {
        true => spinner(),
        false => ProgressBar::hidden(),
    };
    let worker = client.clone();
    let (done, finished) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        // The receiver outlives this thread unless the caller panicked; nothing to do then.
        let _ = done.send(worker.mine(&transactions));
    });
    let started = Instant::now();
    if live {
        terminal::restore_on_interrupt();
    }
    let _parting = live.then(|| {
        Parting::say(format!(
            "stopped watching: the node at {} keeps mining the block and stores it when found \
             (`ferrochain status --node {}` shows how it goes)",
            client.node(),
            client.node()
        ))
    });
    let outcome = loop {
        match finished.recv_timeout(POLL) {
            Ok(outcome) => break Some(outcome),
            Err(RecvTimeoutError::Disconnected) => break None,
            Err(RecvTimeoutError::Timeout) if spinner.is_hidden() => {}
            Err(RecvTimeoutError::Timeout) => {
                // A failed poll only leaves the last figures up; the mine answer decides.
                if let Ok(status) = client.status() {
                    spinner.set_message(progress_line(&status.value, started));
                }
            }
        }
    };
    spinner.finish_and_clear();
    match (outcome, thread.join()) {
        (Some(outcome), _) => outcome,
        // The sender went away without sending: the thread panicked; pass the panic on.
        (None, Err(panic)) => std::panic::resume_unwind(panic),
        (None, Ok(())) => unreachable!("the mining thread always sends before it ends"),
    }
}

fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .expect("a valid template")
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
    );
    bar.set_message("asking the node to mine...");
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// One line of the live view from a status snapshot.
pub fn progress_line(status: &NodeStatus, started: Instant) -> String {
    let process = match &status.process {
        Some(p) => format!(
            "  node CPU {:.0}%  memory {}",
            p.cpu_percent,
            view::bytes(p.memory_bytes)
        ),
        None => String::new(),
    };
    let m = &status.mining;
    if m.active {
        let expected = match view::expected_time(status.next_target.work(), m.hash_rate) {
            Some(time) => format!(
                "  expected {time} at {:.2} bits",
                status.next_target.difficulty_bits()
            ),
            None => String::new(),
        };
        format!(
            "mining block {}  {}  {}  {}  {}{expected}{process}",
            status.height.next(),
            view::duration_ms(m.elapsed_ms),
            view::hash_rate(m.hash_rate),
            view::count(m.attempts, "attempt"),
            view::count(m.threads as u64, "thread"),
        )
    } else {
        format!(
            "waiting for the node  {}{process}",
            view::duration_ms(started.elapsed().as_secs_f64() * 1000.0)
        )
    }
}
