//! The `bench` subcommand: this machine's hash rate on one thread and on all of them, printed as
//! one line per run.

use super::args::BenchArgs;
use crate::mining::Miner;
use std::time::Duration;

/// Measures and prints the hash rate for `args.seconds` on one thread, then on `args.threads`
/// (or one per core).
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.seconds.max(1));
    let all = args
        .threads
        .unwrap_or_else(rayon::current_num_threads)
        .max(1);
    println!("ferrochain mining benchmark: double SHA-256 of 96-byte headers, midstate reused");
    let mut counts = vec![1];
    if all > 1 {
        counts.push(all);
    }
    for threads in counts {
        let stats = Miner::new(Some(threads))?.benchmark(duration);
        println!(
            "{threads:>3} thread{}: {:>8.2} MH/s  ({} hashes in {:.2} s, CPU {:.0}%)",
            if threads == 1 { " " } else { "s" },
            stats.hash_rate / 1e6,
            stats.attempts,
            stats.elapsed_ms / 1000.0,
            stats.cpu_percent,
        );
    }
    Ok(())
}
