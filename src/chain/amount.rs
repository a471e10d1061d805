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
}
