//! The PUT /consents body (STET `Access`), validated.
//!
//! STET 1.4.2 (S2, S3 "access (required)"): all four fields are mandatory. Portal, Limits:
//! "Access to payment account is done only using IBAN as main parameter", so an
//! `other` identification is refused.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::amount::check_currency;
use crate::error::truncate;
use crate::{Iban, Invalid};

/// One account named in a consent list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccountRef {
    pub iban: Iban,
    /// The 1.4.2 `accountId.currency`, when the TPP sent it.
    pub currency: Option<String>,
}

/// A validated consent: which accounts for which operation, and the two PSU-level flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequest {
    pub balances: BTreeSet<AccountRef>,
    pub transactions: BTreeSet<AccountRef>,
    pub trusted_beneficiaries: bool,
    pub psu_identity: bool,
}

impl ConsentRequest {
    /// Every account named in either list.
    pub fn accounts(&self) -> impl Iterator<Item = &AccountRef> {
        self.balances.iter().chain(self.transactions.iter())
    }
}

/// At most this many accounts per list: far above any real PSU, low enough to bound the work.
pub const MAX_ACCOUNTS: usize = 200;

const FIELDS: [&str; 4] = [
    "balances",
    "transactions",
    "trustedBeneficiaries",
    "psuIdentity",
];

/// Parses and validates the raw body of PUT /consents.
pub fn parse_access(body: &[u8]) -> Result<ConsentRequest, Invalid> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Invalid::new(format!("the consent body is not valid JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(Invalid::new(
            "the consent body must be a JSON object (STET Access)",
        ));
    };
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(Invalid::new(format!(
            "unknown field '{}' in the consent; STET Access has balances, transactions, trustedBeneficiaries, psuIdentity",
            truncate(unknown)
        )));
    }
    Ok(ConsentRequest {
        balances: accounts(&object, "balances")?,
        transactions: accounts(&object, "transactions")?,
        trusted_beneficiaries: flag(&object, "trustedBeneficiaries")?,
        psu_identity: flag(&object, "psuIdentity")?,
    })
}

fn required<'a>(object: &'a Map<String, Value>, field: &str) -> Result<&'a Value, Invalid> {
    object.get(field).ok_or_else(|| {
        Invalid::new(format!(
            "'{field}' is required in the consent (STET 1.4.2 Access)"
        ))
    })
}

fn flag(object: &Map<String, Value>, field: &str) -> Result<bool, Invalid> {
    required(object, field)?
        .as_bool()
        .ok_or_else(|| Invalid::new(format!("'{field}' must be true or false")))
}

fn accounts(object: &Map<String, Value>, field: &str) -> Result<BTreeSet<AccountRef>, Invalid> {
    let Value::Array(items) = required(object, field)? else {
        return Err(Invalid::new(format!(
            "'{field}' must be a list of account identifications"
        )));
    };
    if items.len() > MAX_ACCOUNTS {
        return Err(Invalid::new(format!(
            "'{field}' lists more than {MAX_ACCOUNTS} accounts"
        )));
    }
    items.iter().map(|item| account(field, item)).collect()
}

fn account(field: &str, item: &Value) -> Result<AccountRef, Invalid> {
    let Value::Object(id) = item else {
        return Err(Invalid::new(format!(
            "each entry of '{field}' must be an object such as {{\"iban\": \"FR76...\"}}"
        )));
    };
    if let Some(unknown) = id
        .keys()
        .find(|k| !["iban", "other", "currency"].contains(&k.as_str()))
    {
        return Err(Invalid::new(format!(
            "unknown field '{}' in an account identification of '{field}'",
            truncate(unknown)
        )));
    }
    let iban = match (id.get("iban"), id.get("other")) {
        (Some(Value::String(iban)), _) => Iban::parse(iban)?,
        (Some(_), _) => {
            return Err(Invalid::new(format!(
                "'iban' in '{field}' must be a string"
            )));
        }
        (None, Some(_)) => {
            return Err(Invalid::new(
                "accounts are identified by IBAN only; 'other' identifications are not supported",
            ));
        }
        (None, None) => {
            return Err(Invalid::new(format!("an entry of '{field}' has no 'iban'")));
        }
    };
    let currency = match id.get("currency") {
        None => None,
        Some(Value::String(code)) => {
            check_currency(code)?;
            Some(code.clone())
        }
        Some(_) => return Err(Invalid::new("'currency' must be a string such as \"EUR\"")),
    };
    Ok(AccountRef { iban, currency })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CLAIRE_1: &str = "FR7617515900000400358074026";
    const CLAIRE_2: &str = "FR7617515900000800358074006";

    #[test]
    fn a_full_consent_is_read() -> Result<(), Invalid> {
        let body = format!(
            r#"{{"balances":[{{"iban":"{CLAIRE_1}"}},{{"iban":"{CLAIRE_2}","currency":"EUR"}}],
               "transactions":[{{"iban":"{CLAIRE_2}"}}],"trustedBeneficiaries":false,"psuIdentity":true}}"#
        );
        let consent = parse_access(body.as_bytes())?;
        assert_eq!(consent.balances.len(), 2);
        assert_eq!(consent.transactions.len(), 1);
        assert!(consent.psu_identity);
        assert!(!consent.trusted_beneficiaries);
        Ok(())
    }

    #[test]
    fn empty_lists_are_a_valid_revocation() -> Result<(), Invalid> {
        let consent = parse_access(
            br#"{"balances":[],"transactions":[],"trustedBeneficiaries":false,"psuIdentity":false}"#,
        )?;
        assert_eq!(consent.accounts().count(), 0);
        Ok(())
    }

    #[test]
    fn each_refusal_says_what_is_wrong() {
        let cases: [(&[u8], &str); 8] = [
            (b"not json", "not valid JSON"),
            (b"[]", "JSON object"),
            (br#"{"balances":[],"transactions":[],"psuIdentity":true}"#, "'trustedBeneficiaries' is required"),
            (br#"{"balances":{},"transactions":[],"trustedBeneficiaries":true,"psuIdentity":true}"#, "must be a list"),
            (br#"{"balances":[{"iban":"FR00"}],"transactions":[],"trustedBeneficiaries":true,"psuIdentity":true}"#, "IBAN"),
            (br#"{"balances":[{"other":{"identification":"x","schemeName":"BANK"}}],"transactions":[],"trustedBeneficiaries":true,"psuIdentity":true}"#, "IBAN only"),
            (br#"{"balances":[],"transactions":[],"trustedBeneficiaries":"yes","psuIdentity":true}"#, "true or false"),
            (br#"{"balances":[],"transactions":[],"trustedBeneficiaries":true,"psuIdentity":true,"extra":1}"#, "unknown field 'extra'"),
        ];
        for (body, expected) in cases {
            match parse_access(body) {
                Ok(_) => panic!("accepted {}", String::from_utf8_lossy(body)),
                Err(e) => assert!(
                    e.0.contains(expected),
                    "{} -> {}",
                    String::from_utf8_lossy(body),
                    e.0
                ),
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_access(&body);
        }

        #[test]
        fn arbitrary_json_never_panics(
            ibans in proptest::collection::vec("[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}", 0..5),
            flags in any::<(bool, bool)>(),
        ) {
            let list: Vec<_> = ibans.iter().map(|i| serde_json::json!({"iban": i})).collect();
            let body = serde_json::json!({
                "balances": list, "transactions": [], "trustedBeneficiaries": flags.0, "psuIdentity": flags.1
            });
            let _ = parse_access(body.to_string().as_bytes());
        }
    }
}
