//! The organizationIdentifier (X.520, OID 2.5.4.97) of a PSD2 certificate.
//!
//! TS 119 495 §5.2.1: "PSD", the ISO 3166 code of the NCA's country, "-", the NCA identifier
//! (2 to 8 letters A-Z), "-", the authorisation number: `PSDFR-ACPR-12345`. It is the TPP's
//! OAuth2 client_id (portal, "Eligibility").

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(String);

impl OrgId {
    pub fn parse(text: &str) -> Result<OrgId, String> {
        let refuse = || {
            format!(
                "'{}' is not a PSD2 organizationIdentifier (PSD<country>-<NCA>-<number>, e.g. PSDFR-ACPR-12345)",
                text.chars().take(60).collect::<String>()
            )
        };
        let rest = text.strip_prefix("PSD").ok_or_else(refuse)?;
        let (country, rest) = rest.split_at_checked(2).ok_or_else(refuse)?;
        let rest = rest.strip_prefix('-').ok_or_else(refuse)?;
        let (nca, number) = rest.split_once('-').ok_or_else(refuse)?;
        let valid = country.bytes().all(|b| b.is_ascii_uppercase())
            && (2..=8).contains(&nca.len())
            && nca.bytes().all(|b| b.is_ascii_uppercase())
            && !number.is_empty()
            && number.len() <= 64
            && number.chars().all(|c| c.is_ascii_graphic());
        if valid {
            Ok(OrgId(text.to_owned()))
        } else {
            Err(refuse())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `<country>-<NCA>` part, which must equal the PSD2 statement's NCAId ("shall be
    /// composed of the same values", TS 119 495).
    pub fn nca_id(&self) -> &str {
        let rest = &self.0[3..];
        match rest.match_indices('-').nth(1) {
            Some((at, _)) => &rest[..at],
            None => rest,
        }
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn well_formed_identifiers_are_read() -> Result<(), String> {
        assert_eq!(OrgId::parse("PSDFR-ACPR-12345")?.nca_id(), "FR-ACPR");
        assert_eq!(OrgId::parse("PSDES-BDE-3DFD21")?.nca_id(), "ES-BDE");
        assert_eq!(OrgId::parse("PSDBE-NBB-0123-456")?.nca_id(), "BE-NBB");
        Ok(())
    }

    #[test]
    fn malformed_identifiers_are_refused() {
        for bad in [
            "",
            "PSD",
            "PSDFR-ACPR",
            "PSDFR-ACPR-",
            "PSDfr-ACPR-1",
            "PSDFR-A-1",
            "PSDFR-ABCDEFGHI-1",
            "XYZFR-ACPR-1",
            "PSDFR_ACPR_1",
            "PSDFR-ACPR-1 2",
        ] {
            assert!(OrgId::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,40}") {
            if let Ok(id) = OrgId::parse(&text) {
                let _ = id.nca_id();
            }
        }

        #[test]
        fn near_misses_never_panic(text in "PSD[A-Za-z]{0,3}-?[A-Z]{0,9}-?[ -~]{0,6}") {
            if let Ok(id) = OrgId::parse(&text) {
                prop_assert!(id.nca_id().len() >= 5);
            }
        }
    }
}
