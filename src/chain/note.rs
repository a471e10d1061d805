//! Notes: the original API's free-text entries, recorded in the chain and moving no value.
//!
//! A leaf of the core: the transaction encoding and the decoder's errors both name a note's
//! limits, so they live here, apart from either.

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
}
