//! SHA-256d of a header with the first 64 bytes hashed once.
//!
//! A header is 96 bytes, so its first SHA-256 takes two compressions: the first 64 bytes, which do
//! not change while the nonce is searched, and a final padded block holding the last 32 bytes
//! (with the nonce). The second SHA-256 of the 32-byte digest is one more padded block. Keeping the
//! state after the first block saves a third of the work per nonce. `sha2::compress256` picks the
//! SHA-NI instructions at run time where the CPU has them.

use crate::chain::{BlockHash, Header};
use sha2::digest::generic_array::GenericArray;

const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

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

    /// The double SHA-256 of the header with `nonce`, as big-endian state words.
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
}

/// The first 64 bits of a hash given as big-endian words (what a target is compared with),
/// without converting to bytes.
#[inline]
pub fn hash_prefix(words: &[u32; 8]) -> u64 {
    (u64::from(words[0]) << 32) | u64::from(words[1])
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
}
