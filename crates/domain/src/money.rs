//! Money as integer minor units plus a currency code. Decimal text from the outside world
//! (`"100.00"`, `999.0`) is parsed once here, rounded half-up as the references round.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

pub const DEFAULT_CURRENCY: &str = "USD";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("is not a decimal amount")]
    NotANumber,
    #[error("must not be negative")]
    Negative,
    #[error("is too large")]
    TooLarge,
}

/// Serialised as decimal text (`"100.00"`); read from text or a JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "MoneyText")]
pub struct Money {
    /// Cents for USD.
    pub minor: i64,
}

impl Money {
    pub const ZERO: Money = Money { minor: 0 };

    pub fn from_minor(minor: i64) -> Self {
        Self { minor }
    }

    /// Parses a non-negative decimal amount, rounding half-up to two places.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let value = Decimal::from_str(text.trim()).map_err(|_| MoneyError::NotANumber)?;
        Self::from_decimal(value)
    }

    pub fn from_decimal(value: Decimal) -> Result<Self, MoneyError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        let rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        rounded
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|cents| cents.to_i64())
            .map(Self::from_minor)
            .ok_or(MoneyError::TooLarge)
    }

    /// A JSON number (`999.0`), as xPRO's serializers emit a `Decimal` property.
    pub fn from_f64(value: f64) -> Result<Self, MoneyError> {
        if !value.is_finite() {
            return Err(MoneyError::NotANumber);
        }
        Self::parse(&value.to_string())
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.minor, 2)
    }

    /// The amount as a JSON number, the way DRF renders a Decimal property.
    pub fn as_f64(self) -> f64 {
        self.minor as f64 / 100.0
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MoneyText {
    Text(String),
    Number(f64),
}

impl TryFrom<MoneyText> for Money {
    type Error = MoneyError;
    fn try_from(value: MoneyText) -> Result<Self, Self::Error> {
        match value {
            MoneyText::Text(text) => Money::parse(&text),
            MoneyText::Number(number) => Money::from_f64(number),
        }
    }
}

impl From<Money> for String {
    fn from(value: Money) -> Self {
        value.to_string()
    }
}

/// `"100.00"`: two decimal places, as DRF's DecimalField and CyberSource's `amount` render it.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_text_to_cents() {
        assert_eq!(Money::parse("100.00").unwrap().minor, 10_000);
        assert_eq!(Money::parse("999").unwrap().minor, 99_900);
        assert_eq!(Money::parse(" 0.5 ").unwrap().minor, 50);
        assert_eq!(Money::parse("0").unwrap(), Money::ZERO);
    }

    #[test]
    fn rounds_half_up() {
        assert_eq!(Money::parse("1.005").unwrap().minor, 101);
        assert_eq!(Money::parse("1.004").unwrap().minor, 100);
        assert_eq!(Money::parse("2.675").unwrap().minor, 268);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(Money::parse("abc"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("-1.00"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("1e400"), Err(MoneyError::NotANumber));
        assert_eq!(
            Money::parse("99999999999999999999999"),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn json_numbers_and_display() {
        let price = Money::from_f64(1529.0).unwrap();
        assert_eq!(price.minor, 152_900);
        assert_eq!(price.to_string(), "1529.00");
        assert_eq!(price.as_f64(), 1529.0);
        assert_eq!(Money::from_f64(0.1 + 0.2).unwrap().minor, 30);
        assert!(Money::from_f64(f64::NAN).is_err());
    }

    #[test]
    fn serde_uses_decimal_text() {
        let price = Money::from_minor(17_500);
        assert_eq!(serde_json::to_string(&price).unwrap(), "\"175.00\"");
        assert_eq!(serde_json::from_str::<Money>("\"175\"").unwrap(), price);
        assert_eq!(serde_json::from_str::<Money>("175.0").unwrap(), price);
        assert!(serde_json::from_str::<Money>("\"-1\"").is_err());
    }
}
