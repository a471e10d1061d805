//! The `bench` subcommand: this machine's hash rate on one thread and on all of them, with the
//! kernels the CPU offers and the one measured.

use super::args::BenchArgs;
use crate::mining::{Kernel, Miner};
use std::time::Duration;

/// Measures and prints the hash rate for `args.seconds` on one thread, then on `args.threads`
/// (or one per core), with `args.kernel` or the best kernel this CPU offers; with `--json`, as
/// one document `{"kernel": ..., "runs": [figures, ...]}` at the end.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.seconds);
    let all = args.threads.unwrap_or_else(rayon::current_num_threads);
    let kernel = args
        .kernel
        .unwrap_or_else(Kernel::best)
        .validate_available()?;
    if !args.json {
        println!("ferrochain mining benchmark: double SHA-256 of 96-byte headers, midstate reused");
        println!("{}", offered());
        let why = match args.kernel {
            Some(_) => "chosen with --kernel",
            None => "the fastest here, used by default",
        };
        println!("kernel: {kernel} ({}; {why})", lanes(kernel));
    }
    let mut counts = vec![1];
    if all > 1 {
        counts.push(all);
    }
    let mut runs = Vec::with_capacity(counts.len());
    for threads in counts {
        let stats = Miner::with_kernel(Some(threads), kernel)?.benchmark(duration);
        if !args.json {
            println!(
                "{threads:>3} thread{}: {:>8.2} MH/s, {:>8.2} MH/s per thread  ({} hashes in {:.2} s, CPU {})",
                if threads == 1 { " " } else { "s" },
                stats.hash_rate / 1e6,
                stats.hash_rate / 1e6 / threads as f64,
                stats.attempts,
                stats.elapsed_ms / 1000.0,
                crate::mining::CpuFigure(stats.cpu_percent),
            );
        }
        runs.push(stats);
    }
    if args.json {
        let kernel = kernel.to_string();
        println!("{}", serde_json::json!({ "kernel": kernel, "runs": runs }));
    }
    Ok(())
}

/// The kernels this CPU offers and those it lacks.
fn offered() -> String {
    let (have, lack): (Vec<Kernel>, Vec<Kernel>) =
        Kernel::ALL.into_iter().partition(|k| k.is_available());
    let mut line = format!(
        "kernels on this CPU: {}",
        have.iter()
            .map(|k| format!("{k} ({})", lanes(*k)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !lack.is_empty() {
        line.push_str(&format!("; not on this CPU: {}", Kernel::list(&lack)));
    }
    line.push_str("; choose one with --kernel NAME");
    line
}

fn lanes(kernel: Kernel) -> String {
    match (kernel, kernel.lanes()) {
        (Kernel::ShaNi, n) => format!("{n} nonces interleaved"),
        (_, 1) => "1 nonce at a time".to_owned(),
        (_, n) => format!("{n} lanes"),
    }
}
