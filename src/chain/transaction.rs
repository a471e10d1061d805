//! Transactions and their canonical encoding.
//!
//! Every transaction encodes as a one-byte kind tag followed by that kind's payload, and its id is
//! the double SHA-256 of the whole encoding. Today the only kind is the original API's free-text
//! [`Note`] (tag 0); new kinds (signed transfers, rewards) take new tags without changing how notes,
//! ids or Merkle roots are computed.

use super::encode::{DecodeError, Reader};
use super::hash::{sha256d, TxId};
use std::fmt;

/// A free-text entry such as `"Alice pays Bob 10 BTC"`: recorded in the chain, moves no value.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Note(String);

/// Why a string cannot be a note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("a transaction cannot be empty")]
    Empty,
    #[error("a transaction is at most {max} bytes, got {len}", max = Note::MAX_BYTES)]
    TooLong { len: usize },
}

impl Note {
    /// Long enough for any sentence a person types, short enough that a full block stays small.
    pub const MAX_BYTES: usize = 256;

    pub fn new(text: impl Into<String>) -> Result<Note, NoteError> {
        let text = text.into();
        if text.is_empty() {
            Err(NoteError::Empty)
        } else if text.len() > Self::MAX_BYTES {
            Err(NoteError::TooLong { len: text.len() })
        } else {
            Ok(Note(text))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry of a block.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Transaction {
    Note(Note),
}

impl Transaction {
    const TAG_NOTE: u8 = 0;

    /// Length of [`Transaction::encode`]'s output, without encoding.
    pub fn encoded_len(&self) -> usize {
        match self {
            Transaction::Note(n) => 1 + 2 + n.0.len(),
        }
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Transaction::Note(n) => {
                out.push(Self::TAG_NOTE);
                // Cannot truncate: a note is at most 256 bytes.
                out.extend_from_slice(&(n.0.len() as u16).to_le_bytes());
                out.extend_from_slice(n.0.as_bytes());
            }
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    pub(crate) fn decode_from(r: &mut Reader<'_>) -> Result<Transaction, DecodeError> {
        match r.u8()? {
            Self::TAG_NOTE => {
                let len = usize::from(r.u16()?);
                if len > Note::MAX_BYTES {
                    return Err(DecodeError::Note(NoteError::TooLong { len }));
                }
                let text = std::str::from_utf8(r.bytes(len)?).map_err(|_| DecodeError::Utf8)?;
                Ok(Transaction::Note(
                    Note::new(text).map_err(DecodeError::Note)?,
                ))
            }
            tag => Err(DecodeError::UnknownTransactionKind(tag)),
        }
    }

    pub fn txid(&self) -> TxId {
        TxId::from_bytes(sha256d(&self.encode()))
    }
}

/// JSON keeps the original API's shape: a note is a plain string.
impl serde::Serialize for Transaction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Transaction::Note(n) => s.serialize_str(&n.0),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Transaction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Note::new(text)
            .map(Transaction::Note)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_limits() {
        assert_eq!(Note::new(""), Err(NoteError::Empty));
        assert!(Note::new("x".repeat(Note::MAX_BYTES)).is_ok());
        assert_eq!(
            Note::new("x".repeat(Note::MAX_BYTES + 1)),
            Err(NoteError::TooLong {
                len: Note::MAX_BYTES + 1
            })
        );
    }

    #[test]
    fn encoding_round_trips_and_ids_differ() {
        let tx = Transaction::Note(Note::new("Alice pays Bob 10 BTC").unwrap());
        let bytes = tx.encode();
        assert_eq!(bytes.len(), tx.encoded_len());
        assert_eq!(bytes[0], 0);
        let mut r = Reader::new(&bytes);
        assert_eq!(Transaction::decode_from(&mut r).unwrap(), tx);
        let other = Transaction::Note(Note::new("Alice pays Bob 11 BTC").unwrap());
        assert_ne!(tx.txid(), other.txid());
    }

    #[test]
    fn decode_refuses_unknown_kinds_and_bad_text() {
        let mut r = Reader::new(&[9, 0, 0]);
        assert_eq!(
            Transaction::decode_from(&mut r),
            Err(DecodeError::UnknownTransactionKind(9))
        );
        let mut r = Reader::new(&[0, 1, 0, 0xff]);
        assert_eq!(Transaction::decode_from(&mut r), Err(DecodeError::Utf8));
    }

    #[test]
    fn json_is_a_plain_string() {
        let tx: Transaction = serde_json::from_str("\"hello\"").unwrap();
        assert_eq!(serde_json::to_string(&tx).unwrap(), "\"hello\"");
        assert!(serde_json::from_str::<Transaction>("\"\"").is_err());
        assert!(serde_json::from_str::<Transaction>("5").is_err());
    }
}
