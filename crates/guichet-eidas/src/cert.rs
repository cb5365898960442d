//! One PSD2 certificate, read once: its organizationIdentifier, QC statements, validity,
//! serial, issuer, fingerprints and public key.

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use guichet_httpsig::{KeyKind, VerifyingKey};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::orgid::OrgId;
use crate::qc::{QC_STATEMENTS, QcStatements, QcType, Role};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("the certificate cannot be parsed: {0}")]
    Unreadable(String),
    #[error("the certificate has no organizationIdentifier (2.5.4.97)")]
    NoOrgId,
    #[error("the certificate has several organizationIdentifier values")]
    SeveralOrgIds,
    #[error("{0}")]
    BadOrgId(String),
    #[error("the certificate has no PSD2 QC statement")]
    NoPsd2Statement,
    #[error("the qcStatements extension is malformed: {0}")]
    BadQcStatements(String),
    #[error("the organizationIdentifier {org} does not agree with the NCAId {nca}")]
    NcaMismatch { org: String, nca: String },
    #[error("the certificate's key is neither RSA nor ECDSA P-256")]
    UnsupportedKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Psd2Certificate {
    pub der: Vec<u8>,
    pub org_id: OrgId,
    pub organization: Option<String>,
    pub qc: QcStatements,
    pub roles: Vec<Role>,
    pub not_before: i64,
    pub not_after: i64,
    /// Serial number, lower-case hex without leading zeros.
    pub serial_hex: String,
    /// The issuer's distinguished name, RFC 4514 style.
    pub issuer: String,
    pub sha256: String,
    pub sha1: String,
    pub public_key: VerifyingKey,
}

const ORG_ID: &str = "2.5.4.97";
const RSA: &str = "1.2.840.113549.1.1.1";
const EC: &str = "1.2.840.10045.2.1";

impl Psd2Certificate {
    pub fn from_pem(pem: &[u8]) -> Result<Psd2Certificate, CertError> {
        let der = CertificateDer::from_pem_slice(pem)
            .map_err(|e| CertError::Unreadable(format!("no certificate in the PEM: {e}")))?;
        Psd2Certificate::from_der(der.as_ref())
    }

    /// Reads a certificate and its PSD2 data; refuses one without organizationIdentifier or
    /// PSD2 statement, or whose organizationIdentifier and NCAId disagree.
    pub fn from_der(der: &[u8]) -> Result<Psd2Certificate, CertError> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| CertError::Unreadable(e.to_string()))?;
        let org_oid: Oid = ORG_ID.parse().map_err(|_| CertError::NoOrgId)?;
        let mut org_ids = cert.subject().iter_by_oid(&org_oid);
        let org_attr = org_ids.next().ok_or(CertError::NoOrgId)?;
        if org_ids.next().is_some() {
            return Err(CertError::SeveralOrgIds);
        }
        let org_text = org_attr.as_str().map_err(|_| {
            CertError::BadOrgId("the organizationIdentifier is not a string".into())
        })?;
        let org_id = OrgId::parse(org_text).map_err(CertError::BadOrgId)?;
        let qc_oid: Oid = QC_STATEMENTS
            .parse()
            .map_err(|_| CertError::NoPsd2Statement)?;
        let extension = cert
            .extensions()
            .iter()
            .find(|e| e.oid == qc_oid)
            .ok_or(CertError::NoPsd2Statement)?;
        let qc = QcStatements::from_der(extension.value)
            .map_err(|e| CertError::BadQcStatements(e.to_string()))?;
        let psd2 = qc.psd2.as_ref().ok_or(CertError::NoPsd2Statement)?;
        if psd2.nca_id != org_id.nca_id() {
            return Err(CertError::NcaMismatch {
                org: org_id.to_string(),
                nca: psd2.nca_id.clone(),
            });
        }
        let roles = psd2.roles.clone();
        let spki = cert.public_key();
        let kind = match spki.algorithm.algorithm.to_id_string().as_str() {
            RSA => KeyKind::Rsa,
            EC => KeyKind::EcdsaP256,
            _ => return Err(CertError::UnsupportedKey),
        };
        let serial = crate::hex(cert.raw_serial());
        let serial_hex = serial.trim_start_matches('0').to_owned();
        Ok(Psd2Certificate {
            der: der.to_vec(),
            organization: cert
                .subject()
                .iter_organization()
                .next()
                .and_then(|o| o.as_str().ok())
                .map(str::to_owned),
            org_id,
            roles,
            qc,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            serial_hex: if serial_hex.is_empty() {
                "0".into()
            } else {
                serial_hex
            },
            issuer: cert.issuer().to_string(),
            sha256: crate::hex(digest(&SHA256, der).as_ref()),
            sha1: crate::hex(digest(&SHA1_FOR_LEGACY_USE_ONLY, der).as_ref()),
            public_key: VerifyingKey {
                kind,
                bytes: spki.subject_public_key.data.to_vec(),
            },
        })
    }

    pub fn has_role(&self, role: &Role) -> bool {
        self.roles.contains(role)
    }

    pub fn is_qwac(&self) -> bool {
        self.qc.types.contains(&QcType::Web)
    }

    pub fn is_qseal(&self) -> bool {
        self.qc.types.contains(&QcType::Eseal)
    }

    pub fn is_valid_at(&self, unix_seconds: i64) -> bool {
        self.not_before <= unix_seconds && unix_seconds <= self.not_after
    }

    /// Whether a keyId designates this certificate: a URL (or any text) ending in `_` and the
    /// SHA-256 (64 hex) or SHA-1 (40 hex) fingerprint, or `SN=<serial hex>,CA=<issuer DN>`.
    pub fn matches_key_id(&self, key_id: &str) -> bool {
        match KeyIdRef::parse(key_id) {
            Some(KeyIdRef::Fingerprint(fp)) => fp == self.sha256 || fp == self.sha1,
            Some(KeyIdRef::SerialIssuer { serial, issuer }) => {
                serial == self.serial_hex && normalise_dn(&issuer) == normalise_dn(&self.issuer)
            }
            None => false,
        }
    }
}

/// What a keyId points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyIdRef {
    /// Lower-case hex SHA-256 or SHA-1 of the certificate.
    Fingerprint(String),
    SerialIssuer {
        serial: String,
        issuer: String,
    },
}

impl KeyIdRef {
    pub fn parse(key_id: &str) -> Option<KeyIdRef> {
        if let Some(rest) = key_id.strip_prefix("SN=") {
            let (serial, issuer) = rest
                .split_once(",CA=")
                .or_else(|| rest.split_once(", CA="))?;
            let serial = serial.trim().to_ascii_lowercase();
            let serial = serial.trim_start_matches("0x").trim_start_matches('0');
            if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            return Some(KeyIdRef::SerialIssuer {
                serial: serial.to_owned(),
                issuer: issuer.trim().to_owned(),
            });
        }
        let (_, suffix) = key_id.rsplit_once('_')?;
        let suffix = suffix.to_ascii_lowercase();
        ((suffix.len() == 64 || suffix.len() == 40)
            && suffix.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(KeyIdRef::Fingerprint(suffix))
    }
}

/// Distinguished names compared without regard to spaces after separators or case.
fn normalise_dn(dn: &str) -> String {
    dn.split([',', '/'])
        .map(|part| part.trim().to_ascii_lowercase().replace(" = ", "="))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_vector_is_read() -> Result<(), CertError> {
        let cert = Psd2Certificate::from_pem(include_bytes!(
            "../../guichet-httpsig/tests/vectors/qwac.pem"
        ))?;
        assert_eq!(cert.org_id.as_str(), "PSDFR-ACPR-12345");
        assert_eq!(
            cert.roles,
            [Role::AccountInformation, Role::PaymentInitiation]
        );
        assert!(cert.is_qwac() && !cert.is_qseal());
        assert_eq!(
            cert.sha256,
            "92b1ee9b1d4148751beb8315504c6631c72c0e22c10fa01a063cbcf4302f3a8a"
        );
        assert!(cert.matches_key_id("https://tpp.example.com/certs/qseal.pem_92b1ee9b1d4148751beb8315504c6631c72c0e22c10fa01a063cbcf4302f3a8a"));
        assert!(cert.matches_key_id(&format!("https://x/y_{}", cert.sha1)));
        assert!(cert.matches_key_id(&format!(
            "SN={},CA={}",
            cert.serial_hex.to_uppercase(),
            cert.issuer
        )));
        assert!(!cert.matches_key_id("https://x/y_00"));
        assert!(!cert.matches_key_id(&format!("SN={},CA=CN=Other", cert.serial_hex)));
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn any_key_id_is_answered_without_panic(key_id in "\\PC{0,200}") {
            let _ = KeyIdRef::parse(&key_id);
            let _ = normalise_dn(&key_id);
        }

        #[test]
        fn key_id_shaped_values_never_panic(serial in "[0-9a-fA-Fx]{0,20}", issuer in "[ -~]{0,60}", fp in "[0-9a-f]{0,70}") {
            let _ = KeyIdRef::parse(&format!("SN={serial},CA={issuer}"));
            let _ = KeyIdRef::parse(&format!("https://x/y_{fp}"));
        }
    }

    #[test]
    fn key_ids_are_read_in_both_portal_forms() {
        assert_eq!(
            KeyIdRef::parse(
                "https://path.to/myQsealCertificate_612b4c7d103074b29e4c1ece1ef40bc575c0a87e"
            ),
            Some(KeyIdRef::Fingerprint(
                "612b4c7d103074b29e4c1ece1ef40bc575c0a87e".into()
            ))
        );
        assert_eq!(
            KeyIdRef::parse("SN=0A1B,CA=CN=Guichet Sandbox Issuing CA,O=Guichet,C=FR"),
            Some(KeyIdRef::SerialIssuer {
                serial: "a1b".into(),
                issuer: "CN=Guichet Sandbox Issuing CA,O=Guichet,C=FR".into()
            })
        );
        for bad in [
            "",
            "nofingerprint",
            "x_12",
            "SN=,CA=x",
            "SN=zz,CA=x",
            "SN=12",
        ] {
            assert_eq!(KeyIdRef::parse(bad), None, "{bad}");
        }
    }
}
