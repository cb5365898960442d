//! Identifiers read from TPP input, each validated on construction.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Invalid;
use crate::error::truncate;

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// An IBAN in electronic form (no spaces), with valid check digits and, where the country's
/// BBAN format is known, a valid BBAN. STET: `^[A-Z]{2,2}[0-9]{2,2}[a-zA-Z0-9]{1,30}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iban(String);
string_newtype!(Iban);

impl Iban {
    pub fn parse(text: &str) -> Result<Iban, Invalid> {
        let shape_ok = (5..=34).contains(&text.len())
            && text.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
            && text.as_bytes()[2..4].iter().all(u8::is_ascii_digit)
            && text.as_bytes()[4..].iter().all(u8::is_ascii_alphanumeric);
        if !shape_ok {
            return Err(Invalid::new(format!(
                "'{}' is not an IBAN in electronic format",
                truncate(text)
            )));
        }
        match text.parse::<iban::Iban>() {
            Ok(_) => Ok(Iban(text.to_owned())),
            Err(_) => Err(Invalid::new(format!(
                "IBAN '{text}' has invalid check digits or an invalid BBAN"
            ))),
        }
    }

    pub fn country(&self) -> &str {
        &self.0[..2]
    }
}

/// A STET ResourceId: `^([a-zA-Z0-9 /\-?:\()\.,']{1,35})$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(String);
string_newtype!(ResourceId);

impl ResourceId {
    pub fn parse(text: &str) -> Result<ResourceId, Invalid> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || " /-?:().,'".contains(c);
        if (1..=35).contains(&text.chars().count()) && text.chars().all(allowed) {
            Ok(ResourceId(text.to_owned()))
        } else {
            Err(Invalid::new(format!(
                "'{}' is not a STET resource identifier (1 to 35 characters of [a-zA-Z0-9 /-?:().,'])",
                truncate(text)
            )))
        }
    }
}

/// The `X-Request-ID` correlation header: required, at most 70 characters (STET), printable
/// ASCII so that it can be echoed back safely.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XRequestId(String);
string_newtype!(XRequestId);

impl XRequestId {
    pub const MAX_LEN: usize = 70;

    pub fn parse(text: &str) -> Result<XRequestId, Invalid> {
        if text.is_empty() {
            return Err(Invalid::new("X-Request-ID is empty"));
        }
        if text.len() > Self::MAX_LEN {
            return Err(Invalid::new(format!(
                "X-Request-ID is {} characters long; STET allows at most 70",
                text.len()
            )));
        }
        if !text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(Invalid::new(
                "X-Request-ID must be printable ASCII characters",
            ));
        }
        Ok(XRequestId(text.to_owned()))
    }
}

/// A French bank code (code établissement, 5 digits), e.g. `30258` for BTP Banque.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BankCode(String);
string_newtype!(BankCode);

impl BankCode {
    pub fn parse(text: &str) -> Result<BankCode, Invalid> {
        if text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(BankCode(text.to_owned()))
        } else {
            Err(Invalid::new(format!(
                "'{}' is not a bank code (5 digits)",
                truncate(text)
            )))
        }
    }
}

/// A PSU identifier as the bank knows it (its online-banking login), e.g. `D0999990I0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PsuId(String);
string_newtype!(PsuId);

impl PsuId {
    pub fn parse(text: &str) -> Result<PsuId, Invalid> {
        if (1..=70).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(PsuId(text.to_owned()))
        } else {
            Err(Invalid::new(format!(
                "'{}' is not a PSU identifier",
                truncate(text)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_portal_ibans_are_valid() {
        for iban in ["FR7617515900000400358074026", "FR7617515900000800358074006"] {
            assert!(Iban::parse(iban).is_ok(), "{iban}");
        }
    }

    #[test]
    fn bad_ibans_are_refused_with_a_reason() {
        let wrong_check = Iban::parse("FR7617515900000400358074027");
        assert!(wrong_check.is_err());
        assert!(Iban::parse("FR76 1751 5900").is_err());
        assert!(Iban::parse("fr7617515900000400358074026").is_err());
        assert!(Iban::parse("").is_err());
        assert!(Iban::parse("FR7617515900000400358074026000000000000").is_err());
    }

    #[test]
    fn request_ids_are_limited_to_70_printable_characters() {
        assert!(XRequestId::parse(&"a".repeat(70)).is_ok());
        assert!(XRequestId::parse(&"a".repeat(71)).is_err());
        assert!(XRequestId::parse("").is_err());
        assert!(XRequestId::parse("tab\there").is_err());
    }

    #[test]
    fn resource_ids_follow_the_stet_pattern() {
        assert!(ResourceId::parse("Alias1").is_ok());
        assert!(ResourceId::parse("a/b-c?d:e(f).g,h'i j").is_ok());
        assert!(ResourceId::parse("").is_err());
        assert!(ResourceId::parse(&"x".repeat(36)).is_err());
        assert!(ResourceId::parse("semi;colon").is_err());
        assert!(ResourceId::parse("é").is_err());
    }

    proptest! {
        #[test]
        fn iban_parsing_never_panics(text in "\\PC{0,40}") {
            let _ = Iban::parse(&text);
        }

        #[test]
        fn iban_like_strings_never_panic(text in "[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}") {
            let _ = Iban::parse(&text);
        }

        #[test]
        fn identifier_parsers_never_panic(text in "\\PC{0,80}") {
            let _ = ResourceId::parse(&text);
            let _ = XRequestId::parse(&text);
            let _ = PsuId::parse(&text);
            let _ = BankCode::parse(&text);
        }
    }
}
