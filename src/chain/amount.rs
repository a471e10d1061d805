//! Amounts of coin, always whole numbers of the smallest unit.
//!
//! One coin (FER) is 100,000,000 units. Amounts are `u64` units and every sum is checked, so a
//! value can neither be fractional nor wrap around.

use std::fmt;

/// A quantity of coin in the smallest unit.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct Amount(u64);

impl Amount {
    pub const ZERO: Amount = Amount(0);
    pub const UNITS_PER_COIN: u64 = 100_000_000;

    pub const fn from_units(units: u64) -> Self {
        Amount(units)
    }

    pub const fn from_coins(coins: u64) -> Self {
        Amount(coins * Self::UNITS_PER_COIN)
    }

    pub const fn units(self) -> u64 {
        self.0
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }
}

/// Coins with up to eight decimals, trailing zeros dropped: `12.5 FER`.
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / Self::UNITS_PER_COIN;
        let frac = self.0 % Self::UNITS_PER_COIN;
        if frac == 0 {
            write!(f, "{whole} FER")
        } else {
            let digits = format!("{frac:08}");
            write!(f, "{whole}.{} FER", digits.trim_end_matches('0'))
        }
    }
}

/// Why a string is not an amount of coin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an amount of FER: use a number with up to 8 decimals, such as 2 or 0.5")]
pub struct ParseAmountError(pub String);

/// Parses coins written in decimal (`"2"`, `"0.5"`, `"12.34567891"`) exactly, digit by digit:
/// never through a float, so `0.1` is exactly 10,000,000 units.
impl std::str::FromStr for Amount {
    type Err = ParseAmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseAmountError(s.to_owned());
        let text = s.trim().trim_end_matches("FER").trim_end();
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (text.contains('.') && !digits(frac)) || frac.len() > 8 {
            return Err(err());
        }
        let whole: u64 = whole.parse().map_err(|_| err())?;
        let frac: u64 = format!("{frac:0<8}").parse().map_err(|_| err())?;
        whole
            .checked_mul(Self::UNITS_PER_COIN)
            .and_then(|w| w.checked_add(frac))
            .map(Amount)
            .ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_in_coins_and_checked_arithmetic() {
        assert_eq!(Amount::from_coins(50).to_string(), "50 FER");
        assert_eq!(Amount::from_units(150_000_000).to_string(), "1.5 FER");
        assert_eq!(Amount::from_units(1).to_string(), "0.00000001 FER");
        assert_eq!(
            Amount::from_units(u64::MAX).checked_add(Amount::from_units(1)),
            None
        );
        assert_eq!(Amount::ZERO.checked_sub(Amount::from_units(1)), None);
    }

    #[test]
    fn parses_decimal_coins_exactly() {
        assert_eq!("2".parse(), Ok(Amount::from_coins(2)));
        assert_eq!("0.1".parse(), Ok(Amount::from_units(10_000_000)));
        assert_eq!("1.5 FER".parse(), Ok(Amount::from_units(150_000_000)));
        assert_eq!("0.00000001".parse(), Ok(Amount::from_units(1)));
        for bad in [
            "",
            "-1",
            "1.",
            ".5",
            "1.123456789",
            "1e3",
            "abc",
            "184467440738",
        ] {
            assert!(bad.parse::<Amount>().is_err(), "{bad}");
        }
        // Display and parse agree.
        let a = Amount::from_units(123_456_789);
        assert_eq!(a.to_string().parse(), Ok(a));
    }
}
