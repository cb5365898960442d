//! Amounts: a decimal, written on the wire as a JSON string (STET AmountType).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Invalid;

/// An amount of money as STET writes it: `^-?[0-9]{1,13}(\.[0-9]{0,5})?$`, never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Decimal);

impl Amount {
    /// An amount in minor units (cents for EUR).
    pub fn from_minor(minor: i64) -> Amount {
        Amount(Decimal::new(minor, 2))
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// Parses the STET string form. STET 1.4.0 Appendix A: `^\-{0,1}[0-9]{1,13}(\.[0-9]{0,5}){0,1}$`.
    pub fn parse(text: &str) -> Result<Amount, Invalid> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = match digits.split_once('.') {
            Some((int, frac)) => (int, frac),
            None => (digits, ""),
        };
        let well_formed = (1..=13).contains(&int.len())
            && frac.len() <= 5
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(Invalid::new(format!(
                "amount '{}' is not a STET amount (up to 13 digits, up to 5 decimals, as a string)",
                crate::error::truncate(text)
            )));
        }
        let normalised = text.trim_end_matches('.');
        Decimal::from_str(normalised)
            .map(Amount)
            .map_err(|_| Invalid::new(format!("amount '{text}' is out of range")))
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    /// Accepts the STET string and, because the 1.4.2 generated clients type the amount as a
    /// number (notes §3.3), a JSON number written in the same shape.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = match &value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                return Err(serde::de::Error::custom(
                    "amount must be a string such as \"12.25\"",
                ));
            }
        };
        Amount::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// STET AmountType `{currency, amount}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountType {
    pub currency: String,
    pub amount: Amount,
}

/// Checks an ISO 4217 code as STET does: `^[A-Z]{3,3}$`.
pub fn check_currency(code: &str) -> Result<(), Invalid> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "currency '{}' is not an ISO 4217 code",
            crate::error::truncate(code)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn minor_units_print_with_two_decimals() {
        assert_eq!(Amount::from_minor(1225).to_string(), "12.25");
        assert_eq!(Amount::from_minor(-5).to_string(), "-0.05");
        assert_eq!(Amount::from_minor(0).to_string(), "0.00");
    }

    #[test]
    fn stet_pattern_is_enforced() {
        for ok in ["0", "12.25", "-1.5", "12.", "1234567890123.12345"] {
            assert!(Amount::parse(ok).is_ok(), "{ok} should parse");
        }
        for bad in [
            "",
            "-",
            ".5",
            "1e3",
            "12,5",
            "12345678901234",
            "1.123456",
            "+1",
            " 1",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn amounts_serialise_as_strings() {
        let json = serde_json::to_string(&Amount::from_minor(-15237)).unwrap_or_default();
        assert_eq!(json, "\"-152.37\"");
        let back: Amount = serde_json::from_str("12.5").unwrap_or(Amount::from_minor(0));
        assert_eq!(back.to_string(), "12.5");
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,40}") {
            let _ = Amount::parse(&text);
        }

        #[test]
        fn every_printed_amount_parses_back(minor in -999_999_999_999i64..999_999_999_999i64) {
            let amount = Amount::from_minor(minor);
            prop_assert_eq!(Amount::parse(&amount.to_string()), Ok(amount));
        }
    }
}
