//! Mining: the nonce search on a dedicated rayon pool, live progress, and per-block statistics.
//!
//! The search runs on its own thread pool (never on the async runtime's workers), one worker per
//! core by default. Callers block on [`Miner::mine`] from a blocking-task thread and stop it
//! through a shared flag when a new tip makes the work stale. Nonces are hashed by a [`Kernel`]
//! chosen at run time from what the CPU offers; `arch` holds the miner's only `unsafe` code.

#[cfg(target_arch = "x86_64")]
mod arch;
mod kernel;
mod midstate;
mod search;
mod stats;

pub use kernel::{Kernel, KernelError};
pub use midstate::Midstate;
pub use search::{scan, search_parallel, search_sequential, Outcome, CHUNK};
pub use stats::{
    cpu_percent, CpuFigure, ProcessSample, ProcessSampler, ProcessUsage, UsageMonitor,
    MIN_CPU_WINDOW,
};

use crate::chain::{Header, Target};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Figures for one finished (or stopped) search.
#[derive(
    Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct MiningStats {
    /// Nonces tried.
    pub attempts: u64,
    pub elapsed_ms: f64,
    /// Hashes (double SHA-256 of a header) per second.
    pub hash_rate: f64,
    pub threads: usize,
    /// Process CPU over the search, in percent of one core; `None` (null) for a search shorter
    /// than [`MIN_CPU_WINDOW`], which the kernel's CPU accounting cannot measure.
    pub cpu_percent: Option<f64>,
    /// Resident memory of the process when the search ended.
    pub memory_bytes: u64,
    /// The kernel that hashed (absent from nodes that predate kernels).
    #[serde(default)]
    pub kernel: Option<Kernel>,
}

/// A running search, as an observer sees it.
#[derive(
    Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Progress {
    pub active: bool,
    pub attempts: u64,
    pub elapsed_ms: f64,
    pub hash_rate: f64,
    pub threads: usize,
    /// The kernel the miner hashes with (absent from nodes that predate kernels).
    #[serde(default)]
    pub kernel: Option<Kernel>,
}

#[derive(Debug, thiserror::Error)]
pub enum MinerError {
    #[error("cannot start {threads} mining threads: {error}")]
    Threads {
        threads: usize,
        error: rayon::ThreadPoolBuildError,
    },
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

pub struct Miner {
    pool: rayon::ThreadPool,
    threads: usize,
    kernel: Kernel,
    attempts: AtomicU64,
    started: Mutex<Option<Instant>>,
    sampler: Mutex<ProcessSampler>,
}

fn rate(attempts: u64, elapsed: Duration) -> f64 {
    match elapsed.as_secs_f64() {
        s if s > 0.0 => attempts as f64 / s,
        _ => 0.0,
    }
}

impl Miner {
    /// A miner with `threads` workers, or one per core, hashing with the best kernel this CPU
    /// offers.
    pub fn new(threads: Option<usize>) -> Result<Miner, MinerError> {
        Miner::with_kernel(threads, Kernel::best())
    }

    /// A miner hashing with `kernel`, which the CPU must be able to run.
    pub fn with_kernel(threads: Option<usize>, kernel: Kernel) -> Result<Miner, MinerError> {
        let kernel = kernel.validate_available()?;
        let threads = threads.unwrap_or_else(rayon::current_num_threads).max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("miner-{i}"))
            .build()
            .map_err(|error| MinerError::Threads { threads, error })?;
        Ok(Miner {
            pool,
            threads,
            kernel,
            attempts: AtomicU64::new(0),
            started: Mutex::new(None),
            sampler: Mutex::new(ProcessSampler::new()),
        })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Searches every nonce for `header` on all workers. Blocks until a solution is found (the
    /// header is returned with its nonce set) or `stop` is raised (`None`).
    pub fn mine(&self, header: Header, stop: &AtomicBool) -> (Option<Header>, MiningStats) {
        let before = self.sample();
        let start = Instant::now();
        self.attempts.store(0, Ordering::Relaxed);
        *self.started.lock().expect("progress lock") = Some(start);
        let outcome = search_parallel(
            &self.pool,
            self.kernel,
            &header,
            0..u64::MAX,
            stop,
            &self.attempts,
        );
        *self.started.lock().expect("progress lock") = None;
        let elapsed = start.elapsed();
        let after = self.sample();
        let attempts = self.attempts.load(Ordering::Relaxed);
        let stats = MiningStats {
            attempts,
            elapsed_ms: elapsed.as_secs_f64() * 1000.0,
            hash_rate: rate(attempts, elapsed),
            threads: self.threads,
            cpu_percent: cpu_percent(&before, &after, elapsed.as_secs_f64() * 1000.0),
            memory_bytes: after.memory_bytes,
            kernel: Some(self.kernel),
        };
        let solved = match outcome {
            Outcome::Found(nonce) => Some(Header { nonce, ..header }),
            // The whole u64 range without a solution is possible only at absurd difficulties;
            // the caller treats it like a stop and builds a fresh template (new timestamp).
            Outcome::Exhausted | Outcome::Stopped => None,
        };
        (solved, stats)
    }

    /// What the current search (if any) has done so far.
    pub fn progress(&self) -> Progress {
        let started = *self.started.lock().expect("progress lock");
        let attempts = self.attempts.load(Ordering::Relaxed);
        match started {
            Some(start) => Progress {
                active: true,
                attempts,
                elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
                hash_rate: rate(attempts, start.elapsed()),
                threads: self.threads,
                kernel: Some(self.kernel),
            },
            None => Progress {
                threads: self.threads,
                kernel: Some(self.kernel),
                ..Progress::default()
            },
        }
    }

    /// Current CPU time and memory of this process.
    pub fn sample(&self) -> ProcessSample {
        self.sampler.lock().expect("sampler lock").sample()
    }

    /// Hashes for `duration` at a difficulty no search will meet, and reports the rate.
    pub fn benchmark(&self, duration: Duration) -> MiningStats {
        let mut header = *crate::chain::ChainParams::default().genesis().header();
        header.target = Target::HARDEST;
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                // Timed from the search's own start (after its first process sample), so the
                // figures cover the whole duration asked for.
                let start = loop {
                    if let Some(start) = *self.started.lock().expect("progress lock") {
                        break start;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                };
                std::thread::sleep((start + duration).saturating_duration_since(Instant::now()));
                stop.store(true, Ordering::Relaxed);
            });
            self.mine(header, &stop).1
        })
    }
}

/// A header for a new block on `parent` carrying `transactions`, nonce 0. Its timestamp is the
/// clock, or just past the parent's median time when the clock lags behind it (blocks mined
/// faster than the clock ticks would otherwise break the median-time rule), and never before the
/// parent's when the block opens a retarget period (the time-warp rule).
pub fn template(
    parent: &crate::chain::Parent,
    params: &crate::chain::ChainParams,
    transactions: &[crate::chain::Transaction],
    now: crate::chain::Timestamp,
) -> Header {
    let height = parent.height.next();
    let mut timestamp = now.max(parent.median_time_past.saturating_add_millis(1));
    if params.is_retarget_boundary(height) {
        timestamp = timestamp.max(parent.timestamp);
    }
    Header {
        version: params.version,
        height,
        prev_hash: parent.hash,
        merkle_root: crate::chain::merkle_root(transactions.iter().map(|tx| tx.txid())),
        timestamp,
        target: parent.next_target,
        nonce: 0,
    }
}

/// A block on `parent` paying its reward (subsidy plus fees) to `miner`, then `transactions`,
/// stamped `timestamp` (or just after the parent's), mined on the calling thread with the
/// reference search. For tests, benches and tools: it takes the parent's timestamp as the median
/// time, which holds while timestamps only grow, as they do on chains it builds, and it knows
/// only the parent, so it cannot mine the first block of a retarget period.
pub fn mine_child_sequential(
    params: &crate::chain::ChainParams,
    parent: &crate::chain::Block,
    miner: crate::chain::Address,
    transactions: Vec<crate::chain::Transaction>,
    timestamp: crate::chain::Timestamp,
) -> crate::chain::Block {
    let mut entries = vec![crate::chain::block_reward(
        miner,
        parent.height().next(),
        &transactions,
    )];
    entries.extend(transactions);
    let child = parent.height().next();
    let next_target =
        params.next_target(child, parent.header.target, parent.header.timestamp, |_| {
            Err(())
        });
    let p = crate::chain::Parent {
        hash: parent.hash(),
        height: parent.height(),
        timestamp: parent.header.timestamp,
        median_time_past: parent.header.timestamp,
        next_target: next_target
            .expect("mine_child_sequential is not given the blocks a retarget measures"),
    };
    crate::chain::Block {
        header: solve_sequential(template(&p, params, &entries, timestamp)),
        transactions: entries,
    }
}

/// Mines `header` on the calling thread with the reference search (for tests and tools).
pub fn solve_sequential(header: Header) -> Header {
    let nonce = search_sequential(&header, 0..u64::MAX)
        .expect("a nonce exists below u64::MAX at any supported test difficulty");
    Header { nonce, ..header }
}
