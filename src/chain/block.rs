//! Blocks: a header plus its transactions, the Merkle root that binds them, and the block's
//! binary and JSON forms.

use super::encode::{DecodeError, Reader};
use super::hash::{sha256d, BlockHash, MerkleRoot, TxId};
use super::header::{Header, Height, Timestamp};
use super::pow::Target;
use super::transaction::Transaction;
use serde::ser::SerializeStruct;

/// A block as received or stored. Nothing about it is trusted until it is validated into a
/// [`VerifiedBlock`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub header: Header,
    pub transactions: Vec<Transaction>,
}

impl Block {
    /// Most entries a block may hold.
    pub const MAX_TRANSACTIONS: usize = 16_384;
    /// Largest canonical encoding of a block (header, count and transactions).
    pub const MAX_BYTES: usize = 2 * 1024 * 1024;

    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    pub fn height(&self) -> Height {
        self.header.height
    }

    /// Size of the canonical encoding, computed without encoding.
    pub fn encoded_len(&self) -> usize {
        Self::encoded_len_with(&self.transactions)
    }

    /// Size a block holding `transactions` would encode to, so limits can be checked before a
    /// block exists.
    pub fn encoded_len_with(transactions: &[Transaction]) -> usize {
        Header::SIZE
            + 4
            + transactions
                .iter()
                .map(Transaction::encoded_len)
                .sum::<usize>()
    }

    /// The canonical encoding: header, transaction count (u32 LE), then each transaction.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&self.header.encode());
        // Cannot truncate: a block holding more than u32::MAX entries could not be built in memory.
        out.extend_from_slice(&(self.transactions.len() as u32).to_le_bytes());
        for tx in &self.transactions {
            tx.encode_into(&mut out);
        }
        out
    }

    /// The header of an encoded block and how many entries follow it, without decoding them:
    /// what a list of blocks shows.
    pub fn decode_header(bytes: &[u8]) -> Result<(Header, u32), DecodeError> {
        let mut r = Reader::new(bytes);
        let header = Header::decode(r.array()?)?;
        Ok((header, r.u32()?))
    }

    pub fn decode(bytes: &[u8]) -> Result<Block, DecodeError> {
        let mut r = Reader::new(bytes);
        let header = Header::decode(r.array()?)?;
        let count = r.u32()?;
        if count as usize > Self::MAX_TRANSACTIONS {
            return Err(DecodeError::TooManyTransactions {
                count: u64::from(count),
                max: Self::MAX_TRANSACTIONS,
            });
        }
        let transactions = (0..count)
            .map(|_| Transaction::decode_from(&mut r))
            .collect::<Result<Vec<_>, _>>()?;
        r.finish()?;
        Ok(Block {
            header,
            transactions,
        })
    }

    pub fn compute_merkle_root(&self) -> MerkleRoot {
        merkle_root(self.transactions.iter().map(Transaction::txid))
    }
}

/// A block that passed every rule, with its hash computed once. Only validation (and the genesis
/// constructor) make one, so storage cannot be handed a block nobody checked. It sits beside
/// [`Block`] so that both the rules and the parameters (the genesis) can make one without
/// importing each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedBlock {
    block: Block,
    hash: BlockHash,
}

impl VerifiedBlock {
    /// For the rules (and the genesis) alone, once `block` passed them; `hash` is its hash.
    pub(super) fn new_unchecked(block: Block, hash: BlockHash) -> Self {
        debug_assert_eq!(
            hash,
            block.hash(),
            "a verified block's hash is its header's"
        );
        VerifiedBlock { block, hash }
    }

    pub fn hash(&self) -> BlockHash {
        self.hash
    }

    pub fn block(&self) -> &Block {
        &self.block
    }

    pub fn header(&self) -> &Header {
        &self.block.header
    }

    pub fn into_block(self) -> Block {
        self.block
    }
}

/// The Merkle root over transaction ids, with RFC 6962's domain separation: a leaf is
/// `sha256d(0x00 || txid)` and an inner node `sha256d(0x01 || left || right)`, so no inner node can
/// be passed off as a leaf (the 64-byte transaction ambiguity). A lone node at the end of a level
/// moves up unchanged instead of being paired with a copy of itself, so `[a, b, c]` and
/// `[a, b, c, c]` have different roots. No transactions give the all-zero root.
pub fn merkle_root(txids: impl IntoIterator<Item = TxId>) -> MerkleRoot {
    let mut level: Vec<[u8; 32]> = txids
        .into_iter()
        .map(|id| {
            let mut buf = [0u8; 33];
            buf[1..].copy_from_slice(id.as_bytes());
            sha256d(&buf)
        })
        .collect();
    if level.is_empty() {
        return MerkleRoot::ZERO;
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => {
                    let mut buf = [0u8; 65];
                    buf[0] = 1;
                    buf[1..33].copy_from_slice(left);
                    buf[33..].copy_from_slice(right);
                    sha256d(&buf)
                }
                [lone] => *lone,
                _ => unreachable!("chunks(2) yields one or two items"),
            })
            .collect();
    }
    MerkleRoot::from_bytes(level[0])
}

/// The JSON shape of the original API (`index`, `previous_hash`, ...), plus the fields a header
/// needs. `hash` is computed on the way out and only checked on the way in.
impl serde::Serialize for Block {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = &self.header;
        let mut st = s.serialize_struct("Block", 9)?;
        st.serialize_field("index", &h.height)?;
        st.serialize_field("version", &h.version)?;
        st.serialize_field("timestamp", &h.timestamp)?;
        st.serialize_field("previous_hash", &h.prev_hash)?;
        st.serialize_field("merkle_root", &h.merkle_root)?;
        st.serialize_field("target", &h.target)?;
        st.serialize_field("nonce", &h.nonce)?;
        st.serialize_field("transactions", &self.transactions)?;
        st.serialize_field("hash", &self.hash())?;
        st.end()
    }
}

/// A block as a peer or a client sends it: exactly what `GET /chain` shows, with `hash` optional.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct WireBlock {
    pub index: Height,
    pub version: u32,
    pub timestamp: Timestamp,
    pub previous_hash: BlockHash,
    pub merkle_root: MerkleRoot,
    pub target: Target,
    pub nonce: u64,
    pub transactions: Vec<Transaction>,
    #[serde(default)]
    pub hash: Option<BlockHash>,
}

/// A block whose stated hash is not the hash of its fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("block {height} claims hash {claimed} but its header hashes to {computed}")]
pub struct HashMismatch {
    pub height: Height,
    pub claimed: BlockHash,
    pub computed: BlockHash,
}

impl WireBlock {
    /// Builds the block, refusing one whose stated hash differs from the computed one (a sign of
    /// a block edited after mining).
    pub fn into_block(self) -> Result<Block, HashMismatch> {
        let block = Block {
            header: Header {
                version: self.version,
                height: self.index,
                prev_hash: self.previous_hash,
                merkle_root: self.merkle_root,
                timestamp: self.timestamp,
                target: self.target,
                nonce: self.nonce,
            },
            transactions: self.transactions,
        };
        match self.hash {
            Some(claimed) if claimed != block.hash() => Err(HashMismatch {
                height: self.index,
                claimed,
                computed: block.hash(),
            }),
            _ => Ok(block),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::note::Note;

    fn note(s: &str) -> Transaction {
        Transaction::Note(Note::new(s).unwrap())
    }

    fn sample() -> Block {
        let transactions = vec![note("a"), note("b"), note("c")];
        let header = Header {
            version: 1,
            height: Height::new(3),
            prev_hash: BlockHash::from_bytes([5; 32]),
            merkle_root: merkle_root(transactions.iter().map(Transaction::txid)),
            timestamp: Timestamp::from_millis(1_767_225_600_000),
            target: Target::floor(1 << 60),
            nonce: 9,
        };
        Block {
            header,
            transactions,
        }
    }

    #[test]
    fn merkle_root_commits_to_every_transaction_and_their_order() {
        let ids: Vec<TxId> = ["a", "b", "c"].iter().map(|s| note(s).txid()).collect();
        let root = merkle_root(ids.clone());
        assert_eq!(merkle_root(Vec::new()), MerkleRoot::ZERO);
        assert_ne!(merkle_root(ids[..2].to_vec()), root);
        assert_ne!(merkle_root([ids[1], ids[0], ids[2]]), root);
        // The duplicated-last-leaf mutation of Bitcoin's tree does not collide here.
        assert_ne!(merkle_root([ids[0], ids[1], ids[2], ids[2]]), root);
        // A single leaf is still hashed as a leaf, never equal to the bare txid.
        assert_ne!(merkle_root([ids[0]]).to_bytes(), ids[0].to_bytes());
    }

    #[test]
    fn binary_encoding_round_trips_with_exact_length() {
        let block = sample();
        let bytes = block.encode();
        assert_eq!(bytes.len(), block.encoded_len());
        assert_eq!(Block::decode(&bytes).unwrap(), block);
        assert_eq!(
            Block::decode(&bytes[..bytes.len() - 1]),
            Err(DecodeError::UnexpectedEnd)
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Block::decode(&longer), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn decode_checks_the_count_before_allocating() {
        let mut bytes = sample().encode();
        bytes[96..100].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Block::decode(&bytes),
            Err(DecodeError::TooManyTransactions { .. })
        ));
    }

    #[test]
    fn json_round_trips_and_checks_a_stated_hash() {
        let block = sample();
        let json = serde_json::to_value(&block).unwrap();
        assert_eq!(json["index"], 3);
        assert_eq!(json["transactions"][0], "a");
        assert_eq!(json["hash"], block.hash().to_string());
        let wire: WireBlock = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(wire.into_block().unwrap(), block);

        let mut edited = json;
        edited["transactions"][0] = "z".into();
        let wire: WireBlock = serde_json::from_value(edited).unwrap();
        // The stated hash no longer matches the header; the edited entry itself is caught by the
        // Merkle rule in validation.
        assert!(wire.into_block().is_ok());

        let mut renonced = serde_json::to_value(&block).unwrap();
        renonced["nonce"] = 10.into();
        let wire: WireBlock = serde_json::from_value(renonced).unwrap();
        assert!(matches!(wire.into_block(), Err(HashMismatch { .. })));
    }
}
