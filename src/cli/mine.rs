//! Mining from the CLI with a live view: the node mines, the CLI watches.
//!
//! `POST /mine` blocks until the block is found, so it runs on its own thread while another
//! follows the node's events (`GET /events`): its `mining` reports (about once a second: the
//! search's progress and the node's CPU and memory) redraw an indicatif spinner, with how long
//! a block takes on average at that rate and target, and a `block` event says when a peer's
//! block moved the tip the search then restarts on. A node without the event stream is polled
//! (`GET /status`) instead. A block found before the first report still gets its final
//! figures, because those come from the mine answer itself. The node mines on without a
//! watcher (a request whose client left still stores its block), so Ctrl-C during the view
//! says so.

use super::client::{Answer, Client, ClientError};
use super::terminal::{self, Parting};
use super::view;
use crate::chain::Transaction;
use crate::network::message::{Event, Mined, MiningReport};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// How often the live view asks the node how the search goes when it has no event stream.
const POLL: Duration = Duration::from_millis(200);

/// What the live view waits for.
enum Update {
    /// The mine answer.
    Done(Result<Answer<Mined>, ClientError>),
    /// One of the node's events.
    Event(Event),
    /// The node has no event stream (or it broke): poll its status.
    NoStream,
}

/// Mines `transactions` into a block. With `live`, draws the progress on stderr while waiting
/// (indicatif draws nothing when stderr is not a terminal, and then the node is not watched).
pub fn mine(
    client: &Client,
    transactions: Vec<Transaction>,
    live: bool,
) -> Result<Answer<Mined>, ClientError> {
    let spinner = match live {
        true => spinner(),
        false => ProgressBar::hidden(),
    };
    let (updates, received) = mpsc::channel();
    let worker = client.clone();
    let done = updates.clone();
    let thread = std::thread::spawn(move || {
        // The receiver outlives this thread unless the caller panicked; nothing to do then.
        let _ = done.send(Update::Done(worker.mine(&transactions)));
    });
    if !spinner.is_hidden() {
        let watcher = client.clone();
        // Not joined: it ends at the next event (or heartbeat) after the view has gone.
        std::thread::spawn(move || follow(&watcher, &updates));
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
    let outcome = watch(client, &spinner, &received);
    spinner.finish_and_clear();
    match (outcome, thread.join()) {
        (Some(outcome), _) => outcome,
        // The sender went away without sending: the thread panicked; pass the panic on.
        (None, Err(panic)) => std::panic::resume_unwind(panic),
        (None, Ok(())) => unreachable!("the mining thread always sends before it ends"),
    }
}

/// Passes the node's events on to the view until the view is gone; says so if there is no
/// stream to follow.
fn follow(client: &Client, updates: &Sender<Update>) {
    let Ok(events) = client.events(None) else {
        let _ = updates.send(Update::NoStream);
        return;
    };
    for event in events {
        let update = match event {
            // A heartbeat: nothing to show, but a chance to notice the view has gone.
            Ok(e) if e.data.is_empty() => continue,
            Ok(e) => match serde_json::from_str(&e.data) {
                Ok(event) => Update::Event(event),
                // An event this version does not know.
                Err(_) => continue,
            },
            Err(_) => Update::NoStream,
        };
        if updates.send(update).is_err() {
            return;
        }
    }
    let _ = updates.send(Update::NoStream);
}

/// Redraws `spinner` from the updates until the mine answer comes; `None` if the mining thread
/// went away without one.
fn watch(
    client: &Client,
    spinner: &ProgressBar,
    updates: &Receiver<Update>,
) -> Option<Result<Answer<Mined>, ClientError>> {
    let started = Instant::now();
    let mut polling = false;
    loop {
        let wait = match polling {
            true => POLL,
            false => Duration::MAX,
        };
        match updates.recv_timeout(wait) {
            Ok(Update::Done(outcome)) => return Some(outcome),
            Ok(Update::Event(Event::Mining(report))) => {
                spinner.set_message(progress_line(&report, started))
            }
            Ok(Update::Event(Event::Block(block))) => spinner.set_message(format!(
                "block {} {} joined the main chain; the search goes on above it",
                block.height,
                block.hash.short()
            )),
            Ok(Update::Event(_)) => {}
            Ok(Update::NoStream) => polling = true,
            Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) => {
                // A failed poll only leaves the last figures up; the mine answer decides.
                if let Ok(status) = client.status() {
                    let report = MiningReport::from(&status.value);
                    spinner.set_message(progress_line(&report, started));
                }
            }
        }
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

/// One line of the live view: the search, or how long the view has waited for one.
fn progress_line(report: &MiningReport, started: Instant) -> String {
    search_line(report).unwrap_or_else(|| {
        format!(
            "waiting for the node  {}{}",
            view::duration_ms(started.elapsed().as_secs_f64() * 1000.0),
            process_part(report)
        )
    })
}

/// The running search on one line (`None` when none runs): the block, time, rate, attempts,
/// threads, the expected time at that rate and target, and the node's CPU and memory.
pub fn search_line(report: &MiningReport) -> Option<String> {
    let m = &report.mining;
    if !m.active {
        return None;
    }
    let expected = match view::expected_time(report.next_target.work(), m.hash_rate) {
        Some(time) => format!(
            "  expected {time} at {:.2} bits",
            report.next_target.difficulty_bits()
        ),
        None => String::new(),
    };
    Some(format!(
        "mining block {}  {}  {}  {}  {}{expected}{}",
        report.height,
        view::duration_ms(m.elapsed_ms),
        view::hash_rate(m.hash_rate),
        view::count(m.attempts, "attempt"),
        view::count(m.threads as u64, "thread"),
        process_part(report)
    ))
}

fn process_part(report: &MiningReport) -> String {
    match &report.process {
        Some(p) => format!(
            "  node CPU {:.0}%  memory {}",
            p.cpu_percent,
            view::bytes(p.memory_bytes)
        ),
        None => String::new(),
    }
}
