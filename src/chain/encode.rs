//! A bounds-checked reader for the canonical binary encodings.
//!
//! Decoding never trusts a length from the input: every count is checked against its cap before
//! anything is allocated, so a corrupt or hostile buffer costs at most its own size.

use super::note::NoteError;

/// Why bytes are not a valid encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("encoding ends early")]
    UnexpectedEnd,
    #[error("{0} bytes left over after the encoding")]
    TrailingBytes(usize),
    #[error("unknown transaction kind {0}")]
    UnknownTransactionKind(u8),
    #[error("transaction text is not UTF-8")]
    Utf8,
    #[error("{0}")]
    Note(NoteError),
    #[error("{count} transactions exceed the limit of {max}")]
    TooManyTransactions { count: u64, max: usize },
    #[error(transparent)]
    Target(#[from] super::pow::TargetError),
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::UnexpectedEnd);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<&'a [u8; N], DecodeError> {
        Ok(self.bytes(N)?.try_into().expect("exactly N bytes"))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(*self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(*self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(*self.array()?))
    }

    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        match self.buf.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}
