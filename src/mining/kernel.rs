//! Mining kernels: the ways this build can hash nonces, chosen at run time by CPU features.
//!
//! The portable kernel is the reference (`sha2`, one nonce at a time, available everywhere);
//! the others hash many nonces at once with x86-64 instructions, and report only candidates
//! whose hash's first word meets the target's, which the search then confirms with the
//! reference. By default a miner uses the fastest kernel the CPU has ([`Kernel::best`]).

use super::midstate::Midstate;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One way of hashing nonces.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Kernel {
    /// SHA-NI instructions, several nonces interleaved.
    ShaNi,
    /// AVX-512F, 16 nonces in the lanes of a vector.
    Avx512,
    /// AVX2, 8 nonces in the lanes of a vector.
    Avx2,
    /// The reference: `sha2`'s compression function, one nonce at a time.
    Portable,
}

/// A kernel that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    #[error("unknown mining kernel {0:?}: expected one of {names}", names = Kernel::names())]
    Unknown(String),
    #[error("this CPU cannot run the {kernel} mining kernel; it offers: {offered}", offered = Kernel::list(&Kernel::available()))]
    Unavailable { kernel: Kernel },
}

impl Kernel {
    /// Every kernel; lists of kernels follow this order.
    pub const ALL: [Kernel; 4] = [
        Kernel::ShaNi,
        Kernel::Avx512,
        Kernel::Avx2,
        Kernel::Portable,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Kernel::ShaNi => "sha-ni",
            Kernel::Avx512 => "avx512",
            Kernel::Avx2 => "avx2",
            Kernel::Portable => "portable",
        }
    }

    /// Nonces hashed side by side.
    pub const fn lanes(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::ShaNi => super::arch::SHA_NI_STREAMS,
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::ShaNi => 1,
            Kernel::Avx512 => 16,
            Kernel::Avx2 => 8,
            Kernel::Portable => 1,
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::ShaNi => super::arch::has_sha_ni(),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => super::arch::has_avx512(),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => super::arch::has_avx2(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The kernels this CPU can run.
    pub fn available() -> Vec<Kernel> {
        Kernel::ALL
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }

    /// The kernel a miner uses unless told otherwise: the fastest this CPU offers, timed once
    /// per process on a few thousand nonces each (milliseconds in all). Timing rather than a
    /// fixed order, because which is fastest depends on the CPU: one kernel's instructions are
    /// quick on one design and slow on another.
    pub fn best() -> Kernel {
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| fastest(&Kernel::available()))
    }

    /// This kernel, if the CPU can run it.
    pub fn validate_available(self) -> Result<Kernel, KernelError> {
        match self.is_available() {
            true => Ok(self),
            false => Err(KernelError::Unavailable { kernel: self }),
        }
    }

    fn names() -> String {
        Kernel::list(&Kernel::ALL)
    }

    /// Kernel names separated by commas.
    pub fn list(kernels: &[Kernel]) -> String {
        kernels
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The lowest nonce in `range` whose hash's first word is at most `limit` (the target's
    /// first word), found with this kernel. For the portable kernel that is the exact check;
    /// the others' candidates are confirmed by the caller.
    pub(super) fn first_candidate(
        self,
        mid: &Midstate,
        range: Range<u64>,
        limit: u32,
    ) -> Option<u64> {
        let mut start = range.start;
        while start < range.end {
            // A segment: the nonces sharing `start`'s high 32 bits. `| 0xffff_ffff` is the last
            // of them; the range's end (at most u64::MAX) caps the sum that would overflow.
            let end = range.end.min((start | 0xffff_ffff).saturating_add(1));
            if let Some(found) = self.first_in_segment(mid, start, end - start, limit) {
                return Some(found);
            }
            start = end;
        }
        None
    }

    /// `first_candidate` within one segment: `count` nonces from `start`, the same high half.
    fn first_in_segment(self, mid: &Midstate, start: u64, count: u64, limit: u32) -> Option<u64> {
        #[cfg(target_arch = "x86_64")]
        {
            let fast = match self {
                Kernel::ShaNi => super::arch::sha_ni,
                Kernel::Avx512 => super::arch::avx512,
                Kernel::Avx2 => super::arch::avx2,
                Kernel::Portable => return portable(mid, start, count, limit),
            };
            let seg = mid.segment((start >> 32) as u32);
            // `None`: the CPU cannot run the kernel (the miner checks this before it starts, so
            // only a caller passing a kernel it did not check gets the reference instead).
            match fast(&seg, start as u32, count, limit) {
                Some(found) => found.map(|offset| start + offset),
                None => portable(mid, start, count, limit),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        portable(mid, start, count, limit)
    }
}

/// The kernel of `kernels` that hashes a run of nonces in the least time (best of three runs,
/// so a moment's interruption does not decide); the first one on a tie.
fn fastest(kernels: &[Kernel]) -> Kernel {
    const NONCES: u64 = 1 << 13;
    let mid = Midstate::new(crate::chain::ChainParams::default().genesis().header());
    let time = |kernel: Kernel| {
        (0..3)
            .map(|_| {
                let start = Instant::now();
                // A limit of 0 is met about once in 2^32 nonces: the run is (almost) always
                // hashed to its end.
                std::hint::black_box(kernel.first_candidate(&mid, 0..NONCES, 0));
                start.elapsed()
            })
            .min()
            .unwrap_or(Duration::MAX)
    };
    match kernels {
        [only] => *only,
        _ => kernels
            .iter()
            .map(|k| (time(*k), *k))
            .min_by_key(|(elapsed, _)| *elapsed)
            .map_or(Kernel::Portable, |(_, k)| k),
    }
}

/// The reference: one nonce at a time through `sha2`.
fn portable(mid: &Midstate, start: u64, count: u64, limit: u32) -> Option<u64> {
    (start..start + count).find(|nonce| mid.hash_words(*nonce)[0] <= limit)
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Kernel {
    type Err = KernelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kernel::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| KernelError::Unknown(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{BlockHash, ChainParams, Difficulty, Header, MerkleRoot, Timestamp};

    /// A small deterministic generator (splitmix64), so a failure can be replayed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn bytes(&mut self) -> [u8; 32] {
            let mut out = [0u8; 32];
            for chunk in out.chunks_exact_mut(8) {
                chunk.copy_from_slice(&self.next().to_le_bytes());
            }
            out
        }
    }

    fn random_header(rng: &mut Rng) -> Header {
        let mut h = *ChainParams::new(Difficulty::new(8).unwrap())
            .genesis()
            .header();
        h.version = rng.next() as u32;
        h.height = crate::chain::Height::new(rng.next());
        h.prev_hash = BlockHash::from_bytes(rng.bytes());
        h.merkle_root = MerkleRoot::from_bytes(rng.bytes());
        h.timestamp = Timestamp::from_millis(rng.next());
        h
    }

    /// What every kernel must answer: the portable scan, nonce by nonce.
    fn reference(mid: &Midstate, range: Range<u64>, limit: u32) -> Option<u64> {
        range.into_iter().find(|n| mid.hash_words(*n)[0] <= limit)
    }

    /// The kernels this machine runs, after printing those it has to skip. The portable kernel
    /// is always among them.
    fn runnable() -> Vec<Kernel> {
        for k in Kernel::ALL.into_iter().filter(|k| !k.is_available()) {
            println!("skipping the {k} kernel: this CPU cannot run it");
        }
        let available = Kernel::available();
        assert!(available.contains(&Kernel::Portable));
        available
    }

    #[test]
    fn every_kernel_agrees_with_the_reference_on_random_headers_and_ranges() {
        let mut rng = Rng(0x5eed);
        let kernels = runnable();
        for round in 0..3000 {
            let header = random_header(&mut rng);
            let mid = Midstate::new(&header);
            // Starts anywhere (often just below a change of the nonce's high half or near the
            // top), lengths that start and end inside lane groups.
            let start = match round % 4 {
                0 => rng.next(),
                1 => ((rng.next() >> 32) << 32).wrapping_sub(rng.next() % 40),
                2 => u64::MAX - 1 - rng.next() % 60,
                _ => rng.next() % 100,
            };
            let len = 1 + rng.next() % 70;
            let range = start..start.saturating_add(len);
            // Hits about one nonce in 2^(0..8): several per range, or none.
            let limit = u32::MAX >> (rng.next() % 9);
            let expected = reference(&mid, range.clone(), limit);
            for k in &kernels {
                assert_eq!(
                    k.first_candidate(&mid, range.clone(), limit),
                    expected,
                    "{k}, round {round}, range {range:?}, limit {limit:#x}"
                );
            }
        }
    }

    #[test]
    fn a_target_only_one_lane_meets_is_found_in_every_lane() {
        let mut rng = Rng(7);
        let kernels = runnable();
        let mut checked = 0;
        while checked < 5 {
            let mid = Midstate::new(&random_header(&mut rng));
            let base = rng.next() >> 1;
            // The nonce with the lowest first word among 400; the limit is that word, so it is
            // the only one of any 40-nonce range around it to meet the limit. Slide the range
            // so it sits in each lane in turn.
            let words: Vec<u32> = (base..base + 400).map(|n| mid.hash_words(n)[0]).collect();
            let (at, &lowest) = words.iter().enumerate().min_by_key(|(_, w)| **w).unwrap();
            if !(40..360).contains(&at) || words.iter().filter(|w| **w == lowest).count() > 1 {
                continue;
            }
            checked += 1;
            for lane in 0..40 {
                let start = base + (at - lane) as u64;
                let range = start..start + 40;
                for k in &kernels {
                    assert_eq!(
                        k.first_candidate(&mid, range.clone(), lowest),
                        Some(base + at as u64),
                        "{k}, lane {lane}"
                    );
                    if lowest > 0 {
                        assert_eq!(k.first_candidate(&mid, range.clone(), lowest - 1), None);
                    }
                }
            }
        }
    }

    #[test]
    fn ranges_across_the_high_half_and_up_to_u64_max_agree() {
        let mut rng = Rng(99);
        let kernels = runnable();
        let mid = Midstate::new(&random_header(&mut rng));
        let ranges = [
            u64::MAX - 100..u64::MAX,
            u64::MAX - 1..u64::MAX,
            (1 << 32) - 37..(1 << 32) + 29,
            (0xffff_fffe << 32) - 5..(0xffff_fffe << 32) + 3,
            0..1,
            5..5,
        ];
        for range in ranges {
            for limit in [u32::MAX, u32::MAX >> 2, u32::MAX >> 5, 0] {
                let expected = reference(&mid, range.clone(), limit);
                for k in &kernels {
                    assert_eq!(
                        k.first_candidate(&mid, range.clone(), limit),
                        expected,
                        "{k}, range {range:?}, limit {limit:#x}"
                    );
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_generic_lane_rounds_agree_with_the_reference_on_any_machine() {
        // The AVX2 and AVX-512 kernels share these rounds; on plain `u32`s they run anywhere,
        // so a CPU without either still checks them.
        let mut rng = Rng(3);
        for _ in 0..200 {
            let mid = Midstate::new(&random_header(&mut rng));
            let start = rng.next();
            let end = start
                .saturating_add(20)
                .min((start | 0xffff_ffff).saturating_add(1));
            let limit = u32::MAX >> 3;
            let seg = mid.segment((start >> 32) as u32);
            let found = super::super::arch::scalar_lanes(&seg, start as u32, end - start, limit)
                .map(|offset| start + offset);
            assert_eq!(found, reference(&mid, start..end, limit));
        }
    }

    #[test]
    fn names_parse_back_and_unknown_names_are_refused() {
        for k in Kernel::ALL {
            assert_eq!(k.name().parse::<Kernel>(), Ok(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.name())
            );
        }
        assert_eq!("SHA-NI".parse::<Kernel>(), Ok(Kernel::ShaNi));
        let err = "neon".parse::<Kernel>().unwrap_err();
        assert_eq!(err, KernelError::Unknown("neon".into()));
        assert!(err.to_string().contains("sha-ni, avx512, avx2, portable"));
        assert_eq!(Kernel::Portable.validate_available(), Ok(Kernel::Portable));
        assert!(Kernel::best().is_available());
    }
}
