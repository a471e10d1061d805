//! Where a transaction sits on the main chain: its block's height and its place in the block.
//! Histories are ordered by it, and a page of one is asked for from one of these backwards.

use super::header::Height;
use std::fmt;
use std::str::FromStr;

/// A transaction's place on the main chain; written `<height>-<index>` (`12-1`: block 12's
/// second entry, after the reward).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxPosition {
    pub height: Height,
    /// The transaction's index in its block, from 0 (the reward).
    pub index: u32,
}

/// Text that is not `<height>-<index>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a chain position: expected <height>-<index>, such as 12-1")]
pub struct ParsePositionError(String);

impl fmt::Display for TxPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.height, self.index)
    }
}

impl FromStr for TxPosition {
    type Err = ParsePositionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Digits only: Rust's parsers also take a leading `+`, which no one means here.
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let parsed = s.split_once('-').and_then(|(h, i)| {
            (digits(h) && digits(i)).then_some(())?;
            Some(TxPosition {
                height: Height::new(h.parse().ok()?),
                index: i.parse().ok()?,
            })
        });
        parsed.ok_or_else(|| ParsePositionError(s.to_owned()))
    }
}

impl serde::Serialize for TxPosition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for TxPosition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_back_and_refuse_other_text() {
        let at = TxPosition {
            height: Height::new(120),
            index: 3,
        };
        assert_eq!(at.to_string(), "120-3");
        assert_eq!("120-3".parse::<TxPosition>().unwrap(), at);
        assert_eq!(serde_json::to_string(&at).unwrap(), "\"120-3\"");
        for bad in [
            "",
            "120",
            "120-",
            "-3",
            "+1-2",
            "1-x",
            "1-2-3",
            "1- 2",
            "1-99999999999",
        ] {
            assert!(bad.parse::<TxPosition>().is_err(), "{bad:?}");
        }
        // Later blocks sort after, and within a block later entries.
        assert!(at < "120-4".parse().unwrap() && at < "121-0".parse().unwrap());
    }
}
