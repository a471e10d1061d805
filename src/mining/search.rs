//! The nonce search: a sequential reference and a parallel fan-out that finds the same nonce.
//!
//! The parallel search hands out fixed-size chunks of the nonce space in increasing order from a
//! shared counter. A worker that finds a solution lowers a shared `best`; chunks that start above
//! `best` are skipped, while chunks below it are always finished. So the answer is the lowest
//! solving nonce, exactly what the sequential search returns, whatever the thread count or timing.

use super::kernel::Kernel;
use super::midstate::{hash_prefix, Midstate};
use crate::chain::{Header, Target};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Nonces per chunk: a few milliseconds of work, so stopping is prompt and chunk hand-out is cheap.
pub const CHUNK: u64 = 1 << 16;
/// How often (in nonces) a worker looks at the stop conditions inside a chunk.
const POLL_EVERY: u64 = 1 << 12;

/// Scans `range` in order with `kernel` for the first nonce meeting `target`, giving up as soon
/// as `give_up()` is true (checked every few thousand nonces). Returns the nonce, if any, and how
/// many nonces were tried. The kernel only finds candidates whose hash's first word meets the
/// target's; each is confirmed with the reference, and a candidate that fails (its second word
/// is too high) is passed over, so the answer is exactly the reference's.
pub fn scan(
    mid: &Midstate,
    kernel: Kernel,
    target: Target,
    range: Range<u64>,
    give_up: impl Fn() -> bool,
) -> (Option<u64>, u64) {
    let max_prefix = target.max_prefix();
    let limit = (max_prefix >> 32) as u32;
    let mut nonce = range.start;
    while nonce < range.end {
        if give_up() {
            break;
        }
        let stop_at = nonce.saturating_add(POLL_EVERY).min(range.end);
        match kernel.first_candidate(mid, nonce..stop_at, limit) {
            Some(candidate) if hash_prefix(&mid.hash_words(candidate)) <= max_prefix => {
                return (Some(candidate), candidate - range.start + 1);
            }
            Some(candidate) => nonce = candidate + 1,
            None => nonce = stop_at,
        }
    }
    (None, nonce - range.start)
}

/// The reference search: one thread, the portable kernel, lowest solving nonce in `range`.
pub fn search_sequential(header: &Header, range: Range<u64>) -> Option<u64> {
    let mid = Midstate::new(header);
    scan(&mid, Kernel::Portable, header.target, range, || false).0
}

/// How a parallel search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The lowest nonce in the range that meets the difficulty.
    Found(u64),
    /// No nonce in the range meets it.
    Exhausted,
    /// The stop flag was raised before the search could answer.
    Stopped,
}

/// Searches `range` on every thread of `pool` with `kernel`. `attempts` is increased as chunks
/// are tried, so an observer can watch the hash rate while the search runs.
pub fn search_parallel(
    pool: &rayon::ThreadPool,
    kernel: Kernel,
    header: &Header,
    range: Range<u64>,
    stop: &AtomicBool,
    attempts: &AtomicU64,
) -> Outcome {
    let mid = Midstate::new(header);
    let next_chunk = AtomicU64::new(0);
    let best = AtomicU64::new(u64::MAX);
    pool.broadcast(|_| loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let index = next_chunk.fetch_add(1, Ordering::Relaxed);
        let Some(start) = index
            .checked_mul(CHUNK)
            .and_then(|offset| range.start.checked_add(offset))
            .filter(|start| *start < range.end)
        else {
            break;
        };
        // Chunks are handed out in increasing order, so once one starts past the best solution
        // every later one does too.
        if start > best.load(Ordering::Relaxed) {
            break;
        }
        let end = start.saturating_add(CHUNK).min(range.end);
        let (found, tried) = scan(&mid, kernel, header.target, start..end, || {
            stop.load(Ordering::Relaxed) || best.load(Ordering::Relaxed) < start
        });
        attempts.fetch_add(tried, Ordering::Relaxed);
        if let Some(nonce) = found {
            best.fetch_min(nonce, Ordering::Relaxed);
            break;
        }
    });
    if stop.load(Ordering::Relaxed) {
        return Outcome::Stopped;
    }
    match best.load(Ordering::Relaxed) {
        u64::MAX => Outcome::Exhausted,
        nonce => Outcome::Found(nonce),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{ChainParams, Difficulty};

    fn header(bits: u64, salt: u64) -> Header {
        let mut h = *ChainParams::new(Difficulty::new(bits).unwrap())
            .genesis()
            .header();
        h.timestamp = h.timestamp.saturating_add_millis(salt);
        h
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn parallel_search_finds_the_sequential_answer_with_every_kernel() {
        for kernel in Kernel::available() {
            for threads in [1, 2, 3] {
                let pool = pool(threads);
                for salt in 0..4 {
                    // 14 bits: a few chunks in, so several workers race for the answer.
                    let h = header(14, salt);
                    let seq = search_sequential(&h, 0..u64::MAX).unwrap();
                    let par = search_parallel(
                        &pool,
                        kernel,
                        &h,
                        0..u64::MAX,
                        &AtomicBool::new(false),
                        &AtomicU64::new(0),
                    );
                    assert_eq!(
                        par,
                        Outcome::Found(seq),
                        "{kernel}, threads {threads} salt {salt}"
                    );
                    let mut solved = h;
                    solved.nonce = seq;
                    assert!(h.target.check_hash(&solved.hash()));
                }
            }
        }
    }

    #[test]
    fn a_candidate_whose_second_word_fails_is_passed_over() {
        let h = header(0, 3);
        let mid = Midstate::new(&h);
        // A nonce whose hash starts with 16 zero bits, then the target just below its first
        // 64 bits: targets keep 24 significant bits, so this one has the nonce's first word
        // and part of its second. The nonce is a candidate for every kernel (first word
        // equal), yet misses the target, and nothing before it comes close.
        let nonce = Kernel::Portable
            .first_candidate(&mid, 0..u64::MAX, 0xffff)
            .unwrap();
        let prefix = hash_prefix(&mid.hash_words(nonce));
        let target = Target::floor(u128::from(prefix));
        assert_eq!((target.max_prefix() >> 32) as u32, (prefix >> 32) as u32);
        assert!(target.max_prefix() < prefix);
        let range = 0..nonce + 300;
        let expected = range
            .clone()
            .find(|n| hash_prefix(&mid.hash_words(*n)) <= target.max_prefix());
        for kernel in Kernel::available() {
            let (found, _) = scan(&mid, kernel, target, range.clone(), || false);
            assert_eq!(found, expected, "{kernel}");
            assert_ne!(found, Some(nonce), "{kernel}");
        }
    }

    #[test]
    fn a_range_without_a_solution_is_exhausted_and_counted() {
        let h = header(40, 0);
        let attempts = AtomicU64::new(0);
        let outcome = search_parallel(
            &pool(2),
            Kernel::best(),
            &h,
            1000..1000 + 3 * CHUNK + 7,
            &AtomicBool::new(false),
            &attempts,
        );
        assert_eq!(outcome, Outcome::Exhausted);
        assert_eq!(attempts.load(Ordering::Relaxed), 3 * CHUNK + 7);
        assert_eq!(search_sequential(&h, 0..5000), None);
    }

    #[test]
    fn a_raised_stop_flag_ends_the_search() {
        let h = header(64, 0);
        let stop = AtomicBool::new(true);
        let outcome = search_parallel(
            &pool(2),
            Kernel::best(),
            &h,
            0..u64::MAX,
            &stop,
            &AtomicU64::new(0),
        );
        assert_eq!(outcome, Outcome::Stopped);
    }
}
