//! The miner's only `unsafe` code: SHA-256d kernels written with x86-64 vector and SHA
//! instructions (`std::arch`), behind safe functions that check the CPU first.
//!
//! Every kernel answers the same question as the reference: among `count` consecutive nonces
//! sharing their high 32 bits (a [`Segment`]), which is the first whose hash's first word is at
//! most `limit`? Each entry point returns `None` when the CPU lacks the instructions, so no caller
//! can run an instruction the CPU does not have. A kernel only reports a candidate; the search
//! confirms it with the reference before believing it.
//!
//! - SHA-NI: several nonces (`SHA_NI_STREAMS`) hashed side by side, each in its own registers,
//!   so the SHA unit works on one while the others wait for their previous round's result.
//! - AVX2 and AVX-512: one nonce per 32-bit lane (8 and 16 lanes), the rounds written once,
//!   generically over the lane type ([`Lanes`]).
//!
//! The intrinsics are `unsafe` to call only because the CPU might lack them: every kernel
//! function is `#[target_feature]` and reached only after `is_x86_feature_detected!` said yes.
//! They touch no memory through raw pointers; loads and stores go through arrays and slices whose
//! bounds the compiler checks.

use super::midstate::{Segment, IV, K, NONCE_WORD, SECOND};
use std::arch::x86_64::*;

/// Nonces in flight at once in the SHA-NI kernel.
pub const SHA_NI_STREAMS: usize = 4;

pub fn has_sha_ni() -> bool {
    is_x86_feature_detected!("sha")
        && is_x86_feature_detected!("sse2")
        && is_x86_feature_detected!("ssse3")
        && is_x86_feature_detected!("sse4.1")
}

pub fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2")
}

pub fn has_avx512() -> bool {
    is_x86_feature_detected!("avx512f")
}

/// The SHA-NI kernel; `None` if the CPU lacks SHA-NI or SSE4.1.
pub fn sha_ni(seg: &Segment, low: u32, count: u64, limit: u32) -> Option<Option<u64>> {
    if !has_sha_ni() {
        return None;
    }
    if is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has every feature `sha_ni_avx_scan` enables, checked just above.
        return Some(unsafe { sha_ni_avx_scan::<SHA_NI_STREAMS>(seg, low, count, limit) });
    }
    // SAFETY: the CPU has every feature `sha_ni_scan` enables, checked just above.
    Some(unsafe { sha_ni_scan::<SHA_NI_STREAMS>(seg, low, count, limit) })
}

/// The 8-lane AVX2 kernel; `None` if the CPU lacks AVX2.
pub fn avx2(seg: &Segment, low: u32, count: u64, limit: u32) -> Option<Option<u64>> {
    if !has_avx2() {
        return None;
    }
    // SAFETY: the CPU has AVX2, checked just above.
    Some(unsafe { avx2_scan(seg, low, count, limit) })
}

/// The 16-lane AVX-512 kernel; `None` if the CPU lacks AVX-512F.
pub fn avx512(seg: &Segment, low: u32, count: u64, limit: u32) -> Option<Option<u64>> {
    if !has_avx512() {
        return None;
    }
    // SAFETY: the CPU has AVX-512F, checked just above.
    Some(unsafe { avx512_scan(seg, low, count, limit) })
}

/// The lane kernel on plain `u32`s, one lane: the generic rounds checked on any machine.
#[cfg(test)]
pub fn scalar_lanes(seg: &Segment, low: u32, count: u64, limit: u32) -> Option<u64> {
    // SAFETY: `u32`'s lane operations are ordinary integer arithmetic; nothing needs a CPU
    // feature.
    unsafe { lanes_scan::<u32>(seg, low, count, limit) }
}

// ----------------------------------------------------------------------------------------------
// SHA-NI

/// A state in the layout the SHA instructions use: lanes (F, E, B, A) and (H, G, D, C).
#[inline(always)]
unsafe fn sha_layout(s: &[u32; 8]) -> (__m128i, __m128i) {
    let w = |x: u32| x as i32;
    (
        _mm_setr_epi32(w(s[5]), w(s[4]), w(s[1]), w(s[0])),
        _mm_setr_epi32(w(s[7]), w(s[6]), w(s[3]), w(s[2])),
    )
}

#[inline(always)]
unsafe fn load4(words: &[u32]) -> __m128i {
    let w = |i: usize| words[i] as i32;
    _mm_setr_epi32(w(0), w(1), w(2), w(3))
}

/// Two rounds on each stream; the message words plus constants are in lanes 0 and 1 of `msg`.
#[inline(always)]
unsafe fn two_rounds<const S: usize>(st: &mut [(__m128i, __m128i); S], msg: &[__m128i; S]) {
    for s in 0..S {
        let (abef, cdgh) = st[s];
        st[s] = (_mm_sha256rnds2_epu32(cdgh, abef, msg[s]), abef);
    }
}

/// Four rounds on each stream with their four message words plus constants.
#[inline(always)]
unsafe fn four_rounds<const S: usize>(st: &mut [(__m128i, __m128i); S], kw: &[__m128i; S]) {
    two_rounds(st, kw);
    let mut high = *kw;
    for h in &mut high {
        *h = _mm_shuffle_epi32::<0x0E>(*h);
    }
    two_rounds(st, &high);
}

/// Four rounds from schedule words `4 * r` to `4 * r + 3`, computed from the previous sixteen
/// (`w0` oldest, four words a vector per stream), which replace `w0`.
#[inline(always)]
unsafe fn schedule_four<const S: usize>(
    st: &mut [(__m128i, __m128i); S],
    w0: &mut [__m128i; S],
    w1: &[__m128i; S],
    w2: &[__m128i; S],
    w3: &[__m128i; S],
    r: usize,
) {
    let k = load4(&K[4 * r..]);
    let mut kw = *w3;
    for s in 0..S {
        let m = _mm_add_epi32(
            _mm_sha256msg1_epu32(w0[s], w1[s]),
            _mm_alignr_epi8::<4>(w3[s], w2[s]),
        );
        w0[s] = _mm_sha256msg2_epu32(m, w3[s]);
        kw[s] = _mm_add_epi32(w0[s], k);
    }
    four_rounds(st, &kw);
}

/// Rounds 16 (or 20, `from_20`) to 63, the schedule words rotating through `a`..`d` (the
/// sixteen words before the first computed, oldest first), written out so that no vectors are
/// moved between rounds.
#[inline(always)]
unsafe fn schedule_rounds<const S: usize>(
    st: &mut [(__m128i, __m128i); S],
    words: [[__m128i; S]; 4],
    from_20: bool,
) {
    // Arranged so that `b` holds the oldest words when the step computing words 20..24 comes.
    let [w, x, y, z] = words;
    let [mut a, mut b, mut c, mut d] = match from_20 {
        true => [z, w, x, y],
        false => [w, x, y, z],
    };
    if !from_20 {
        schedule_four(st, &mut a, &b, &c, &d, 4);
    }
    schedule_four(st, &mut b, &c, &d, &a, 5);
    schedule_four(st, &mut c, &d, &a, &b, 6);
    schedule_four(st, &mut d, &a, &b, &c, 7);
    schedule_four(st, &mut a, &b, &c, &d, 8);
    schedule_four(st, &mut b, &c, &d, &a, 9);
    schedule_four(st, &mut c, &d, &a, &b, 10);
    schedule_four(st, &mut d, &a, &b, &c, 11);
    schedule_four(st, &mut a, &b, &c, &d, 12);
    schedule_four(st, &mut b, &c, &d, &a, 13);
    schedule_four(st, &mut c, &d, &a, &b, 14);
    schedule_four(st, &mut d, &a, &b, &c, 15);
}

/// The SHA-NI kernel where the CPU also has AVX: the same code, with the vector arithmetic in
/// AVX's three-operand encoding, which saves most of the register copies (and is measurably
/// faster).
#[target_feature(enable = "sha,sse2,ssse3,sse4.1,avx")]
unsafe fn sha_ni_avx_scan<const S: usize>(
    seg: &Segment,
    low: u32,
    count: u64,
    limit: u32,
) -> Option<u64> {
    sha_ni_body::<S>(seg, low, count, limit)
}

#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
unsafe fn sha_ni_scan<const S: usize>(
    seg: &Segment,
    low: u32,
    count: u64,
    limit: u32,
) -> Option<u64> {
    sha_ni_body::<S>(seg, low, count, limit)
}

#[inline(always)]
unsafe fn sha_ni_body<const S: usize>(
    seg: &Segment,
    low: u32,
    count: u64,
    limit: u32,
) -> Option<u64> {
    let (abef6, cdgh6) = sha_layout(&seg.state6);
    let (mid_abef, mid_cdgh) = sha_layout(&seg.mid);
    let (iv_abef, iv_cdgh) = sha_layout(&IV);
    let w = &seg.w;
    let kw7 = u64::from(w[NONCE_WORD + 1].wrapping_add(K[NONCE_WORD + 1])) << 32;
    let w4 = load4(&w[4..]);
    let w8 = load4(&w[8..]);
    let w12 = load4(&w[12..]);
    let w16 = load4(&seg.w16);
    let kw8 = _mm_add_epi32(w8, load4(&K[8..]));
    let kw12 = _mm_add_epi32(w12, load4(&K[12..]));
    let kw16 = _mm_add_epi32(w16, load4(&K[16..]));
    let k0 = load4(&K[0..]);
    let k4 = load4(&K[4..]);
    let pad8 = load4(&SECOND.pad[0..]);
    let pad12 = load4(&SECOND.pad[4..]);
    let kw_pad8 = load4(&SECOND.kw_pad[0..]);
    let kw_pad12 = load4(&SECOND.kw_pad[4..]);
    let zero = _mm_setzero_si128();

    let mut start = 0u64;
    while start < count {
        // The first hash, from round 6 on: word 6 is the nonce's low half.
        let mut msg67 = [zero; S];
        let mut w4s = [zero; S];
        for s in 0..S {
            let w6 = Segment::word6(low.wrapping_add(start as u32).wrapping_add(s as u32));
            let kw6 = u64::from(w6.wrapping_add(K[NONCE_WORD]));
            msg67[s] = _mm_cvtsi64_si128((kw7 | kw6) as i64);
            w4s[s] = _mm_insert_epi32::<2>(w4, w6 as i32);
        }
        let mut st = [(abef6, cdgh6); S];
        two_rounds(&mut st, &msg67);
        four_rounds(&mut st, &[kw8; S]);
        four_rounds(&mut st, &[kw12; S]);
        four_rounds(&mut st, &[kw16; S]);
        schedule_rounds(&mut st, [w4s, [w8; S], [w12; S], [w16; S]], true);

        // The digest, as the second hash's first eight message words.
        let mut lo = [zero; S];
        let mut hi = [zero; S];
        for s in 0..S {
            let (abef, cdgh) = st[s];
            let feba = _mm_shuffle_epi32::<0x1B>(_mm_add_epi32(abef, mid_abef));
            let dchg = _mm_shuffle_epi32::<0xB1>(_mm_add_epi32(cdgh, mid_cdgh));
            lo[s] = _mm_blend_epi16::<0xF0>(feba, dchg);
            hi[s] = _mm_alignr_epi8::<8>(dchg, feba);
        }

        // The second hash: its words 8..15 are padding, known in advance.
        let mut st = [(iv_abef, iv_cdgh); S];
        let mut kw = [zero; S];
        for s in 0..S {
            kw[s] = _mm_add_epi32(lo[s], k0);
        }
        four_rounds(&mut st, &kw);
        for s in 0..S {
            kw[s] = _mm_add_epi32(hi[s], k4);
        }
        four_rounds(&mut st, &kw);
        four_rounds(&mut st, &[kw_pad8; S]);
        four_rounds(&mut st, &[kw_pad12; S]);
        schedule_rounds(&mut st, [lo, hi, [pad8; S], [pad12; S]], false);

        for (s, (abef, _)) in st.iter().enumerate() {
            let offset = start + s as u64;
            let first = (_mm_extract_epi32::<3>(*abef) as u32).wrapping_add(IV[0]);
            if offset < count && first <= limit {
                return Some(offset);
            }
        }
        start += S as u64;
    }
    None
}

// ----------------------------------------------------------------------------------------------
// Lanes: AVX2 and AVX-512

/// A vector of 32-bit lanes, one nonce per lane. The methods are `unsafe` because the vector
/// types need their CPU feature; [`lanes_scan`] is only ever inlined into functions that
/// enable it.
trait Lanes: Copy {
    const N: usize;
    unsafe fn splat(x: u32) -> Self;
    /// `first`, `first + 1`, ... in successive lanes (wrapping).
    unsafe fn counting(first: u32) -> Self;
    unsafe fn add(self, other: Self) -> Self;
    unsafe fn bswap(self) -> Self;
    unsafe fn big_sigma0(self) -> Self;
    unsafe fn big_sigma1(self) -> Self;
    unsafe fn small_sigma0(self) -> Self;
    unsafe fn small_sigma1(self) -> Self;
    unsafe fn ch(e: Self, f: Self, g: Self) -> Self;
    unsafe fn maj(a: Self, b: Self, c: Self) -> Self;
    /// A bit per lane (lane 0 lowest): is the lane at most `limit`?
    unsafe fn at_most(self, limit: Self) -> u32;
}

/// One round on lane vectors; `kw` is the message word plus the round constant.
#[inline(always)]
unsafe fn lane_round<V: Lanes>(s: [V; 8], kw: V) -> [V; 8] {
    let t1 = s[7]
        .add(s[4].big_sigma1())
        .add(V::ch(s[4], s[5], s[6]))
        .add(kw);
    let t2 = s[0].big_sigma0().add(V::maj(s[0], s[1], s[2]));
    [t1.add(t2), s[0], s[1], s[2], s[3].add(t1), s[4], s[5], s[6]]
}

#[inline(always)]
unsafe fn lane_schedule<V: Lanes>(w: &[V; 64], i: usize) -> V {
    w[i - 2]
        .small_sigma1()
        .add(w[i - 7])
        .add(w[i - 15].small_sigma0())
        .add(w[i - 16])
}

#[inline(always)]
unsafe fn splat8<V: Lanes>(words: &[u32; 8]) -> [V; 8] {
    let mut out = [V::splat(0); 8];
    for (lane, word) in out.iter_mut().zip(words) {
        *lane = V::splat(*word);
    }
    out
}

/// The lane kernel, generic over the vector; inlined into each `#[target_feature]` entry.
#[inline(always)]
unsafe fn lanes_scan<V: Lanes>(seg: &Segment, low: u32, count: u64, limit: u32) -> Option<u64> {
    let limit_v = V::splat(limit);
    // The first hash's schedule: every word but 6 and those from 21 on is the same for all
    // nonces of the segment, so it is filled once.
    let mut w = [V::splat(0); 64];
    for (i, word) in seg.w.iter().enumerate() {
        w[i] = V::splat(*word);
    }
    for (i, word) in seg.w16.iter().enumerate() {
        w[16 + i] = V::splat(*word);
    }
    let s6 = splat8::<V>(&seg.state6);
    let t1_6 = V::splat(seg.t1_6);
    let t2_6 = V::splat(seg.t2_6);
    let mid = splat8::<V>(&seg.mid);
    let mut w2 = [V::splat(0); 64];
    for (i, word) in SECOND.pad.iter().enumerate() {
        w2[8 + i] = V::splat(*word);
    }
    let t1_0 = V::splat(SECOND.t1_0);
    let t2_0 = V::splat(SECOND.t2_0);
    let iv = splat8::<V>(&IV);

    let mut start = 0u64;
    while start < count {
        let w6 = V::counting(low.wrapping_add(start as u32)).bswap();
        w[NONCE_WORD] = w6;
        let t1 = t1_6.add(w6);
        let mut s = [
            t1.add(t2_6),
            s6[0],
            s6[1],
            s6[2],
            s6[3].add(t1),
            s6[4],
            s6[5],
            s6[6],
        ];
        for (i, k) in K.iter().enumerate().take(21).skip(NONCE_WORD + 1) {
            s = lane_round(s, V::splat(seg.w_or_schedule(i).wrapping_add(*k)));
        }
        for i in 21..64 {
            w[i] = lane_schedule(&w, i);
            s = lane_round(s, w[i].add(V::splat(K[i])));
        }

        for i in 0..8 {
            w2[i] = s[i].add(mid[i]);
        }
        let t1 = t1_0.add(w2[0]);
        let mut s = [
            t1.add(t2_0),
            iv[0],
            iv[1],
            iv[2],
            iv[3].add(t1),
            iv[4],
            iv[5],
            iv[6],
        ];
        for i in 1..8 {
            s = lane_round(s, w2[i].add(V::splat(K[i])));
        }
        for kw in SECOND.kw_pad {
            s = lane_round(s, V::splat(kw));
        }
        for i in 16..63 {
            w2[i] = lane_schedule(&w2, i);
            s = lane_round(s, w2[i].add(V::splat(K[i])));
        }
        // Round 63 only as far as the new `a`, the one word compared.
        w2[63] = lane_schedule(&w2, 63);
        let t1 = s[7]
            .add(s[4].big_sigma1())
            .add(V::ch(s[4], s[5], s[6]))
            .add(w2[63].add(V::splat(K[63])));
        let a = t1.add(s[0].big_sigma0().add(V::maj(s[0], s[1], s[2])));
        let first = a.add(iv[0]);

        let hits = first.at_most(limit_v);
        if hits != 0 {
            let offset = start + u64::from(hits.trailing_zeros());
            if offset < count {
                return Some(offset);
            }
        }
        start += V::N as u64;
    }
    None
}

impl Segment {
    /// Word `i` (below 21) of the first hash's schedule, for the rounds whose words are fixed.
    #[inline(always)]
    fn w_or_schedule(&self, i: usize) -> u32 {
        if i < 16 {
            self.w[i]
        } else {
            self.w16[i - 16]
        }
    }
}

#[cfg(test)]
impl Lanes for u32 {
    const N: usize = 1;
    unsafe fn splat(x: u32) -> Self {
        x
    }
    unsafe fn counting(first: u32) -> Self {
        first
    }
    unsafe fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    unsafe fn bswap(self) -> Self {
        self.swap_bytes()
    }
    unsafe fn big_sigma0(self) -> Self {
        self.rotate_right(2) ^ self.rotate_right(13) ^ self.rotate_right(22)
    }
    unsafe fn big_sigma1(self) -> Self {
        self.rotate_right(6) ^ self.rotate_right(11) ^ self.rotate_right(25)
    }
    unsafe fn small_sigma0(self) -> Self {
        self.rotate_right(7) ^ self.rotate_right(18) ^ (self >> 3)
    }
    unsafe fn small_sigma1(self) -> Self {
        self.rotate_right(17) ^ self.rotate_right(19) ^ (self >> 10)
    }
    unsafe fn ch(e: Self, f: Self, g: Self) -> Self {
        g ^ (e & (f ^ g))
    }
    unsafe fn maj(a: Self, b: Self, c: Self) -> Self {
        (a & b) | (c & (a | b))
    }
    unsafe fn at_most(self, limit: Self) -> u32 {
        u32::from(self <= limit)
    }
}

#[derive(Clone, Copy)]
struct Avx2(__m256i);

macro_rules! avx2_rotr {
    ($x:expr, $r:literal) => {
        _mm256_or_si256(
            _mm256_srli_epi32::<$r>($x),
            _mm256_slli_epi32::<{ 32 - $r }>($x),
        )
    };
}

impl Lanes for Avx2 {
    const N: usize = 8;
    #[inline(always)]
    unsafe fn splat(x: u32) -> Self {
        Avx2(_mm256_set1_epi32(x as i32))
    }
    #[inline(always)]
    unsafe fn counting(first: u32) -> Self {
        Avx2(_mm256_add_epi32(
            _mm256_set1_epi32(first as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        ))
    }
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        Avx2(_mm256_add_epi32(self.0, other.0))
    }
    #[inline(always)]
    unsafe fn bswap(self) -> Self {
        let order = _mm256_setr_epi8(
            3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10,
            9, 8, 15, 14, 13, 12,
        );
        Avx2(_mm256_shuffle_epi8(self.0, order))
    }
    #[inline(always)]
    unsafe fn big_sigma0(self) -> Self {
        let x = self.0;
        Avx2(_mm256_xor_si256(
            _mm256_xor_si256(avx2_rotr!(x, 2), avx2_rotr!(x, 13)),
            avx2_rotr!(x, 22),
        ))
    }
    #[inline(always)]
    unsafe fn big_sigma1(self) -> Self {
        let x = self.0;
        Avx2(_mm256_xor_si256(
            _mm256_xor_si256(avx2_rotr!(x, 6), avx2_rotr!(x, 11)),
            avx2_rotr!(x, 25),
        ))
    }
    #[inline(always)]
    unsafe fn small_sigma0(self) -> Self {
        let x = self.0;
        Avx2(_mm256_xor_si256(
            _mm256_xor_si256(avx2_rotr!(x, 7), avx2_rotr!(x, 18)),
            _mm256_srli_epi32::<3>(x),
        ))
    }
    #[inline(always)]
    unsafe fn small_sigma1(self) -> Self {
        let x = self.0;
        Avx2(_mm256_xor_si256(
            _mm256_xor_si256(avx2_rotr!(x, 17), avx2_rotr!(x, 19)),
            _mm256_srli_epi32::<10>(x),
        ))
    }
    #[inline(always)]
    unsafe fn ch(e: Self, f: Self, g: Self) -> Self {
        Avx2(_mm256_xor_si256(
            g.0,
            _mm256_and_si256(e.0, _mm256_xor_si256(f.0, g.0)),
        ))
    }
    #[inline(always)]
    unsafe fn maj(a: Self, b: Self, c: Self) -> Self {
        Avx2(_mm256_or_si256(
            _mm256_and_si256(a.0, b.0),
            _mm256_and_si256(c.0, _mm256_or_si256(a.0, b.0)),
        ))
    }
    #[inline(always)]
    unsafe fn at_most(self, limit: Self) -> u32 {
        let le = _mm256_cmpeq_epi32(_mm256_min_epu32(self.0, limit.0), self.0);
        _mm256_movemask_ps(_mm256_castsi256_ps(le)) as u32
    }
}

#[target_feature(enable = "avx2")]
unsafe fn avx2_scan(seg: &Segment, low: u32, count: u64, limit: u32) -> Option<u64> {
    lanes_scan::<Avx2>(seg, low, count, limit)
}

#[derive(Clone, Copy)]
struct Avx512(__m512i);

impl Lanes for Avx512 {
    const N: usize = 16;
    #[inline(always)]
    unsafe fn splat(x: u32) -> Self {
        Avx512(_mm512_set1_epi32(x as i32))
    }
    #[inline(always)]
    unsafe fn counting(first: u32) -> Self {
        Avx512(_mm512_add_epi32(
            _mm512_set1_epi32(first as i32),
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        ))
    }
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        Avx512(_mm512_add_epi32(self.0, other.0))
    }
    #[inline(always)]
    unsafe fn bswap(self) -> Self {
        // Bytes 0 and 2 of each lane from the rotation by 24, bytes 1 and 3 from the one by 8
        // (AVX-512F has no byte shuffle).
        let by8 = _mm512_ror_epi32::<8>(self.0);
        let by24 = _mm512_ror_epi32::<24>(self.0);
        let mask = _mm512_set1_epi32(0x00ff_00ff);
        Avx512(_mm512_ternarylogic_epi32::<0xCA>(mask, by24, by8))
    }
    #[inline(always)]
    unsafe fn big_sigma0(self) -> Self {
        let x = self.0;
        Avx512(_mm512_ternarylogic_epi32::<0x96>(
            _mm512_ror_epi32::<2>(x),
            _mm512_ror_epi32::<13>(x),
            _mm512_ror_epi32::<22>(x),
        ))
    }
    #[inline(always)]
    unsafe fn big_sigma1(self) -> Self {
        let x = self.0;
        Avx512(_mm512_ternarylogic_epi32::<0x96>(
            _mm512_ror_epi32::<6>(x),
            _mm512_ror_epi32::<11>(x),
            _mm512_ror_epi32::<25>(x),
        ))
    }
    #[inline(always)]
    unsafe fn small_sigma0(self) -> Self {
        let x = self.0;
        Avx512(_mm512_ternarylogic_epi32::<0x96>(
            _mm512_ror_epi32::<7>(x),
            _mm512_ror_epi32::<18>(x),
            _mm512_srli_epi32::<3>(x),
        ))
    }
    #[inline(always)]
    unsafe fn small_sigma1(self) -> Self {
        let x = self.0;
        Avx512(_mm512_ternarylogic_epi32::<0x96>(
            _mm512_ror_epi32::<17>(x),
            _mm512_ror_epi32::<19>(x),
            _mm512_srli_epi32::<10>(x),
        ))
    }
    #[inline(always)]
    unsafe fn ch(e: Self, f: Self, g: Self) -> Self {
        // The truth table of "e ? f : g".
        Avx512(_mm512_ternarylogic_epi32::<0xCA>(e.0, f.0, g.0))
    }
    #[inline(always)]
    unsafe fn maj(a: Self, b: Self, c: Self) -> Self {
        // The truth table of "at least two of a, b, c".
        Avx512(_mm512_ternarylogic_epi32::<0xE8>(a.0, b.0, c.0))
    }
    #[inline(always)]
    unsafe fn at_most(self, limit: Self) -> u32 {
        u32::from(_mm512_cmple_epu32_mask(self.0, limit.0))
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn avx512_scan(seg: &Segment, low: u32, count: u64, limit: u32) -> Option<u64> {
    lanes_scan::<Avx512>(seg, low, count, limit)
}
