//! SHA-256d of a header with every nonce-independent piece of work done once.
//!
//! A header is 96 bytes, so its first SHA-256 takes two compressions: the first 64 bytes, which do
//! not change while the nonce is searched, and a final padded block holding the last 32 bytes
//! (with the nonce). The second SHA-256 of the 32-byte digest is one more padded block. Keeping the
//! state after the first block (the midstate) saves a third of the work per nonce; that is all the
//! reference path ([`Midstate::hash_words`], through `sha2::compress256`) does.
//!
//! The fast kernels go further with a [`Segment`]: for one header and one value of the nonce's
//! high 32 bits, the second block's words 0..=5 (header bytes 64..88) and 7 (the nonce's high half)
//! are fixed, so are its padding words 8..=15. Only word 6 (the nonce's low half, byte-swapped)
//! varies. The first six rounds, the part of round 6 that does not involve word 6, and the message
//! schedule words 16..=20 are therefore computed once per segment. The second hash's block is
//! half zero padding, so its round-0 terms and the padding words plus round constants are
//! compile-time constants ([`SECOND`]).

use crate::chain::{BlockHash, Header};
use sha2::digest::generic_array::GenericArray;

/// SHA-256's initial state.
pub(super) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// SHA-256's round constants.
pub(super) const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Where the nonce's low half sits among the second block's words (its high half is word 7).
pub(super) const NONCE_WORD: usize = (Header::NONCE_OFFSET - Header::MIDSTATE_LEN) / 4;

const fn big_sigma0(x: u32) -> u32 {
    x.rotate_right(2) ^ x.rotate_right(13) ^ x.rotate_right(22)
}
const fn big_sigma1(x: u32) -> u32 {
    x.rotate_right(6) ^ x.rotate_right(11) ^ x.rotate_right(25)
}
const fn small_sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}
const fn small_sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}
const fn ch(e: u32, f: u32, g: u32) -> u32 {
    (e & f) ^ (!e & g)
}
const fn maj(a: u32, b: u32, c: u32) -> u32 {
    (a & b) ^ (a & c) ^ (b & c)
}

/// The nonce-independent part of round `i`'s `T1` (all but the message word) and its `T2`.
const fn round_terms(s: &[u32; 8], i: usize) -> (u32, u32) {
    let t1 = s[7]
        .wrapping_add(big_sigma1(s[4]))
        .wrapping_add(ch(s[4], s[5], s[6]))
        .wrapping_add(K[i]);
    let t2 = big_sigma0(s[0]).wrapping_add(maj(s[0], s[1], s[2]));
    (t1, t2)
}

/// One SHA-256 round on state `s` (a..h) with message word `w`.
const fn round(s: [u32; 8], i: usize, w: u32) -> [u32; 8] {
    let (t1, t2) = round_terms(&s, i);
    let t1 = t1.wrapping_add(w);
    [
        t1.wrapping_add(t2),
        s[0],
        s[1],
        s[2],
        s[3].wrapping_add(t1),
        s[4],
        s[5],
        s[6],
    ]
}

/// Message schedule word `i` (16 or more) from the 16 before it.
const fn schedule(w: &[u32], i: usize) -> u32 {
    small_sigma1(w[i - 2])
        .wrapping_add(w[i - 7])
        .wrapping_add(small_sigma0(w[i - 15]))
        .wrapping_add(w[i - 16])
}

/// A header's hashing state after its first 64 bytes, ready to try nonces.
#[derive(Clone)]
pub struct Midstate {
    state: [u32; 8],
    /// The second block of the first hash: header bytes 64..96, then SHA-256 padding for a
    /// 96-byte message. Only the nonce bytes change per attempt.
    tail: [u8; 64],
}

const NONCE_IN_TAIL: usize = Header::NONCE_OFFSET - Header::MIDSTATE_LEN;

impl Midstate {
    pub fn new(header: &Header) -> Self {
        let bytes = header.encode();
        let mut state = IV;
        sha2::compress256(
            &mut state,
            &[*GenericArray::from_slice(&bytes[..Header::MIDSTATE_LEN])],
        );
        let mut tail = [0u8; 64];
        tail[..32].copy_from_slice(&bytes[Header::MIDSTATE_LEN..]);
        tail[32] = 0x80;
        tail[56..].copy_from_slice(&((Header::SIZE as u64) * 8).to_be_bytes());
        Midstate { state, tail }
    }

    /// The double SHA-256 of the header with `nonce`, as big-endian state words: the reference
    /// every kernel is checked against, and the confirmation of every candidate they report.
    #[inline]
    pub fn hash_words(&self, nonce: u64) -> [u32; 8] {
        let mut block = self.tail;
        block[NONCE_IN_TAIL..NONCE_IN_TAIL + 8].copy_from_slice(&nonce.to_le_bytes());
        let mut first = self.state;
        sha2::compress256(&mut first, &[block.into()]);

        let mut second_block = [0u8; 64];
        for (chunk, word) in second_block.chunks_exact_mut(4).zip(first) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        second_block[32] = 0x80;
        second_block[56..].copy_from_slice(&256u64.to_be_bytes());
        let mut second = IV;
        sha2::compress256(&mut second, &[second_block.into()]);
        second
    }

    pub fn hash(&self, nonce: u64) -> BlockHash {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.hash_words(nonce)) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        BlockHash::from_bytes(out)
    }

    /// The precomputed work for every nonce whose high 32 bits are `high`.
    pub(super) fn segment(&self, high: u32) -> Segment {
        let mut w = [0u32; 16];
        for (word, chunk) in w.iter_mut().zip(self.tail.chunks_exact(4)) {
            *word = u32::from_be_bytes(chunk.try_into().expect("4 bytes"));
        }
        w[NONCE_WORD] = 0;
        w[NONCE_WORD + 1] = high.swap_bytes();
        let mut s = self.state;
        for (i, word) in w.iter().enumerate().take(NONCE_WORD) {
            s = round(s, i, *word);
        }
        let (t1_6, t2_6) = round_terms(&s, NONCE_WORD);
        let mut full = [0u32; 21];
        full[..16].copy_from_slice(&w);
        for i in 16..21 {
            full[i] = schedule(&full, i);
        }
        Segment {
            mid: self.state,
            w,
            state6: s,
            t1_6,
            t2_6,
            w16: [full[16], full[17], full[18], full[19], full[20]],
        }
    }
}

/// Everything about the first hash's second block that is the same for all nonces sharing their
/// high 32 bits, for one header. Schedule words 16..=20 do not involve word 6: each is built from
/// words 0..=5 and 7..=15 (and each other) only.
#[derive(Clone, Debug)]
pub(super) struct Segment {
    /// The midstate, added to the block's result.
    pub mid: [u32; 8],
    /// The block's words, with the nonce's low half (word 6) left at zero.
    pub w: [u32; 16],
    /// The working state (a..h) before round 6.
    pub state6: [u32; 8],
    /// Round 6's `T1` without its message word, and its `T2`.
    pub t1_6: u32,
    pub t2_6: u32,
    /// Message schedule words 16..=20.
    pub w16: [u32; 5],
}

impl Segment {
    /// Message word 6 of the first hash for a nonce whose low 32 bits are `low`: the nonce is
    /// little-endian in the header, SHA-256 reads big-endian words.
    #[inline(always)]
    pub fn word6(low: u32) -> u32 {
        low.swap_bytes()
    }
}

/// The constants of the second hash, whose block is the 32-byte digest and then fixed padding.
pub(super) struct Second {
    /// Round 0's `T1` without its message word, and its `T2` (the state is SHA-256's IV).
    pub t1_0: u32,
    pub t2_0: u32,
    /// Message words 8..=15 (padding and length) plus their round constants.
    pub kw_pad: [u32; 8],
    /// The padding words themselves, 8..=15.
    pub pad: [u32; 8],
}

pub(super) const SECOND: Second = {
    let pad: [u32; 8] = [0x8000_0000, 0, 0, 0, 0, 0, 0, 256];
    let (t1_0, t2_0) = round_terms(&IV, 0);
    let mut kw_pad = [0u32; 8];
    let mut i = 0;
    while i < 8 {
        kw_pad[i] = pad[i].wrapping_add(K[i + 8]);
        i += 1;
    }
    Second {
        t1_0,
        t2_0,
        kw_pad,
        pad,
    }
};

/// The first 64 bits of a hash given as big-endian words (what a target is compared with),
/// without converting to bytes.
#[inline]
pub fn hash_prefix(words: &[u32; 8]) -> u64 {
    (u64::from(words[0]) << 32) | u64::from(words[1])
}

/// The first word of a header's hash computed from a segment with plain scalar rounds: the
/// precomputation checked without any kernel.
#[cfg(test)]
pub(super) fn first_word_from_segment(seg: &Segment, low: u32) -> u32 {
    let mut w = [0u32; 64];
    w[..16].copy_from_slice(&seg.w);
    w[NONCE_WORD] = Segment::word6(low);
    for i in 16..64 {
        w[i] = schedule(&w, i);
    }
    assert_eq!(&w[16..21], &seg.w16);
    let t1 = seg.t1_6.wrapping_add(w[NONCE_WORD]);
    let s = &seg.state6;
    let mut s = [
        t1.wrapping_add(seg.t2_6),
        s[0],
        s[1],
        s[2],
        s[3].wrapping_add(t1),
        s[4],
        s[5],
        s[6],
    ];
    for (i, word) in w.iter().enumerate().skip(NONCE_WORD + 1) {
        s = round(s, i, *word);
    }
    let mut w2 = [0u32; 64];
    for i in 0..8 {
        w2[i] = s[i].wrapping_add(seg.mid[i]);
    }
    w2[8..16].copy_from_slice(&SECOND.pad);
    for i in 16..64 {
        w2[i] = schedule(&w2, i);
    }
    let t1 = SECOND.t1_0.wrapping_add(w2[0]);
    let mut s = [
        t1.wrapping_add(SECOND.t2_0),
        IV[0],
        IV[1],
        IV[2],
        IV[3].wrapping_add(t1),
        IV[4],
        IV[5],
        IV[6],
    ];
    for (i, word) in w2.iter().enumerate().skip(1) {
        s = round(s, i, *word);
    }
    s[0].wrapping_add(IV[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{ChainParams, Difficulty};

    #[test]
    fn midstate_hash_equals_the_header_hash() {
        let mut header = *ChainParams::new(Difficulty::new(8).unwrap())
            .genesis()
            .header();
        let mid = Midstate::new(&header);
        for nonce in [0, 1, 255, 1 << 40, u64::MAX] {
            header.nonce = nonce;
            assert_eq!(mid.hash(nonce), header.hash(), "nonce {nonce}");
            assert_eq!(
                hash_prefix(&mid.hash_words(nonce)),
                crate::chain::hash_prefix(&header.hash())
            );
        }
    }

    #[test]
    fn segment_rounds_give_the_reference_first_word() {
        let header = *ChainParams::new(Difficulty::new(8).unwrap())
            .genesis()
            .header();
        let mid = Midstate::new(&header);
        for nonce in [
            0u64,
            1,
            0xdead_beef,
            1 << 40,
            (7 << 32) | 0xffff_ffff,
            u64::MAX,
        ] {
            let seg = mid.segment((nonce >> 32) as u32);
            assert_eq!(
                first_word_from_segment(&seg, nonce as u32),
                mid.hash_words(nonce)[0],
                "nonce {nonce:#x}"
            );
        }
    }
}
