//! The SCA level an ID token must show before Guichet accepts the PSU's authentication.
//!
//! PSD2 art. 4(30) defines strong customer authentication as "an authentication based on the
//! use of two or more elements categorised as knowledge (something only the user knows),
//! possession (something only the user possesses) and inherence (something the user is) that
//! are independent". A bank's provider says how it authenticated in two claims of the ID
//! token (OpenID Connect Core 1.0 §2): `acr`, a class the bank defines (its "SCA done" value),
//! and `amr`, the methods used, from the registry of RFC 8176 §2. The bank configures which of
//! the two it relies on: an `acr` among its values, and/or `amr` methods of two categories.

use std::collections::BTreeSet;

/// One of the three PSD2 categories of authentication elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    Knowledge,
    Possession,
    Inherence,
}

/// The PSD2 category of an RFC 8176 §2 method, where it has one. `mfa` is handled apart;
/// `geo`, `rba`, `user`, `mca`, `wia` and unregistered values are no element of SCA.
pub fn category(method: &str) -> Option<Category> {
    match method {
        // "pwd": password; "pin": personal identification number; "kba": knowledge-based.
        "pwd" | "pin" | "kba" => Some(Category::Knowledge),
        // "hwk"/"swk": proof of a hardware/software-secured key; "otp": one-time password;
        // "sms"/"tel": confirmation by text message or telephone call; "sc": smart card;
        // "pop": proof of possession of a key.
        "hwk" | "swk" | "otp" | "sms" | "tel" | "sc" | "pop" => Some(Category::Possession),
        // "fpt": fingerprint; "face", "iris", "retina": biometrics; "vbm": voice.
        "fpt" | "face" | "iris" | "retina" | "vbm" => Some(Category::Inherence),
        _ => None,
    }
}

/// What the bank requires of an ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaLevel {
    /// Accepted `acr` values; empty: `acr` is not looked at.
    pub acr_values: Vec<String>,
    /// `amr` must show two PSD2 categories (or `mfa`, RFC 8176: "multiple-factor
    /// authentication").
    pub two_factor_amr: bool,
}

impl ScaLevel {
    /// A level that requires nothing is no SCA: refused when the configuration is read.
    pub fn new(acr_values: Vec<String>, two_factor_amr: bool) -> Result<ScaLevel, String> {
        if acr_values.is_empty() && !two_factor_amr {
            return Err(
                "the SCA level is not set: give acr_values, or two_factor_amr = true, or both"
                    .into(),
            );
        }
        Ok(ScaLevel {
            acr_values,
            two_factor_amr,
        })
    }

    /// Whether an ID token's `acr` and `amr` meet the level; the reason when not.
    pub fn check(&self, acr: Option<&str>, amr: &[String]) -> Result<(), String> {
        if !self.acr_values.is_empty() {
            match acr {
                Some(acr) if self.acr_values.iter().any(|v| v == acr) => {}
                Some(acr) => {
                    return Err(format!(
                        "acr '{}' is not one of the accepted values",
                        guichet_stet::error::truncate(acr)
                    ));
                }
                None => return Err("the ID token has no acr".into()),
            }
        }
        if self.two_factor_amr && !two_factors(amr) {
            return Err(format!(
                "amr {:?} does not show two categories of elements",
                amr.iter()
                    .take(8)
                    .map(|m| guichet_stet::error::truncate(m))
                    .collect::<Vec<_>>()
            ));
        }
        Ok(())
    }
}

/// Whether `amr` shows elements of two categories, or says `mfa`.
pub fn two_factors(amr: &[String]) -> bool {
    amr.iter().any(|m| m == "mfa")
        || amr
            .iter()
            .filter_map(|m| category(m))
            .collect::<BTreeSet<_>>()
            .len()
            >= 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn amr(methods: &[&str]) -> Vec<String> {
        methods.iter().map(|m| (*m).to_owned()).collect()
    }

    #[test]
    fn two_methods_of_one_category_are_one_factor() {
        assert!(two_factors(&amr(&["pwd", "otp"])));
        assert!(two_factors(&amr(&["fpt", "hwk"])));
        assert!(two_factors(&amr(&["mfa"])));
        assert!(!two_factors(&amr(&["otp", "sms"])));
        assert!(!two_factors(&amr(&["pwd", "pin"])));
        assert!(!two_factors(&amr(&["pwd", "rba", "geo"])));
        assert!(!two_factors(&[]));
    }

    #[test]
    fn a_level_needs_a_requirement() {
        assert!(ScaLevel::new(vec![], false).is_err());
        assert!(ScaLevel::new(vec![], true).is_ok());
    }

    #[test]
    fn acr_and_amr_are_both_checked_when_both_are_set() -> Result<(), String> {
        let level = ScaLevel::new(vec!["urn:bank:sca".into()], true)?;
        assert!(
            level
                .check(Some("urn:bank:sca"), &amr(&["pwd", "otp"]))
                .is_ok()
        );
        assert!(level.check(Some("urn:bank:sca"), &amr(&["pwd"])).is_err());
        assert!(
            level
                .check(Some("urn:bank:1fa"), &amr(&["pwd", "otp"]))
                .is_err()
        );
        assert!(level.check(None, &amr(&["pwd", "otp"])).is_err());
        let acr_only = ScaLevel::new(vec!["urn:bank:sca".into()], false)?;
        assert!(acr_only.check(Some("urn:bank:sca"), &[]).is_ok());
        Ok(())
    }

    const METHODS: &[&str] = &[
        "pwd", "pin", "kba", "hwk", "swk", "otp", "sms", "tel", "sc", "pop", "fpt", "face", "iris",
        "retina", "vbm", "geo", "rba", "user", "mca", "wia", "mfa", "x-bank",
    ];

    proptest! {
        /// Two factors exactly when `mfa` is there or two distinct categories are; the order
        /// and repetitions of methods never matter.
        #[test]
        fn the_rule_counts_categories(picks in proptest::collection::vec(0..METHODS.len(), 0..6)) {
            let methods: Vec<String> = picks.iter().map(|&i| METHODS[i].to_owned()).collect();
            let categories: BTreeSet<Category> = methods.iter().filter_map(|m| category(m)).collect();
            let expected = methods.iter().any(|m| m == "mfa") || categories.len() >= 2;
            prop_assert_eq!(two_factors(&methods), expected);
            let mut reversed = methods.clone();
            reversed.reverse();
            reversed.extend(methods.iter().cloned());
            prop_assert_eq!(two_factors(&reversed), expected);
        }

        /// Any acr string is either accepted or refused with a bounded reason, never a panic.
        #[test]
        fn any_acr_is_judged(acr in ".{0,300}") {
            let level = ScaLevel { acr_values: vec!["urn:bank:sca".into()], two_factor_amr: false };
            let verdict = level.check(Some(&acr), &[]);
            prop_assert_eq!(verdict.is_ok(), acr == "urn:bank:sca");
            if let Err(reason) = verdict {
                prop_assert!(reason.len() < 400);
            }
        }
    }
}
