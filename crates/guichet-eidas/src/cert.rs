//! One PSD2 certificate, read once: its organizationIdentifier, QC statements, validity,
//! serial, issuer, fingerprints and public key.

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use guichet_httpsig::{KeyKind, VerifyingKey};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::dn::Dn;
pub use crate::keyid::KeyIdRef;
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
    /// Serial number, big-endian bytes without leading zeros.
    pub serial_bytes: Vec<u8>,
    /// The issuer's distinguished name, for display: RFC 4514, most specific RDN first.
    pub issuer: String,
    /// The issuer's distinguished name, for matching (`SN=…,CA=…` keyIds).
    pub issuer_dn: Dn,
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
        let issuer_dn = Dn::from_x509(cert.issuer());
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
            serial_bytes: crate::keyid::magnitude(cert.raw_serial()),
            issuer: issuer_dn.to_rfc4514(),
            issuer_dn,
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
    /// SHA-256 (64 hex) or SHA-1 (40 hex) fingerprint, or `SN=<serial>,CA=<issuer DN>` with the
    /// serial in hex (or decimal) and the issuer DN in any syntax and order (see [`KeyIdRef`]).
    pub fn matches_key_id(&self, key_id: &str) -> bool {
        KeyIdRef::readings(key_id)
            .iter()
            .any(|wanted| self.is_designated_by(wanted))
    }

    /// Whether a parsed keyId designates this certificate.
    pub fn is_designated_by(&self, wanted: &KeyIdRef) -> bool {
        wanted.designates(
            &self.sha256,
            &self.sha1,
            &self.serial_bytes,
            &self.issuer_dn,
        )
    }
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

    /// The shared vector's issuer, as openssl and Python print it, in every keyId spelling.
    #[test]
    fn the_issuer_is_matched_as_a_name() -> Result<(), CertError> {
        let cert = Psd2Certificate::from_pem(include_bytes!(
            "../../guichet-httpsig/tests/vectors/qwac.pem"
        ))?;
        assert_eq!(
            cert.issuer,
            "CN=tpp.example.com,organizationIdentifier=PSDFR-ACPR-12345,O=Example TPP SAS,C=FR"
        );
        assert_eq!(cert.serial_hex, "553e97fcd3c8d3bbe3b60f5c55a3d12c36e92597");
        let issuers = [
            "CN=tpp.example.com,organizationIdentifier=PSDFR-ACPR-12345,O=Example TPP SAS,C=FR",
            "C = FR, O = Example TPP SAS, organizationIdentifier = PSDFR-ACPR-12345, CN = tpp.example.com",
            "CN=tpp.example.com,2.5.4.97=PSDFR-ACPR-12345,O=Example TPP SAS,C=FR",
            "/C=FR/O=Example TPP SAS/organizationIdentifier=PSDFR-ACPR-12345/CN=tpp.example.com",
            "cn=TPP.example.com; OID.2.5.4.97=\"PSDFR-ACPR-12345\"; o=example  tpp sas; c=fr",
        ];
        let serials = [
            "553E97FCD3C8D3BBE3B60F5C55A3D12C36E92597",
            "0x553e97fcd3c8d3bbe3b60f5c55a3d12c36e92597",
            "00553e97fcd3c8d3bbe3b60f5c55a3d12c36e92597",
            "55:3E:97:FC:D3:C8:D3:BB:E3:B6:0F:5C:55:A3:D1:2C:36:E9:25:97",
            "486660101710177279025219046770642368707349259671",
        ];
        for issuer in issuers {
            for serial in serials {
                let key_id = format!("SN={serial},CA={issuer}");
                assert!(cert.matches_key_id(&key_id), "{key_id}");
                let key_id = format!("sn={serial}, ca={}", issuer.replace(' ', "%20"));
                assert!(cert.matches_key_id(&key_id), "{key_id}");
            }
        }
        for key_id in [
            "SN=553E97FCD3C8D3BBE3B60F5C55A3D12C36E92598,CA=CN=tpp.example.com,2.5.4.97=PSDFR-ACPR-12345,O=Example TPP SAS,C=FR",
            "SN=486660101710177279025219046770642368707349259672,CA=CN=tpp.example.com,2.5.4.97=PSDFR-ACPR-12345,O=Example TPP SAS,C=FR",
            "SN=553E97FCD3C8D3BBE3B60F5C55A3D12C36E92597,CA=CN=tpp.example.com,O=Example TPP SAS,C=FR",
            "SN=553E97FCD3C8D3BBE3B60F5C55A3D12C36E92597,CA=CN=tpp.example.com,2.5.4.97=PSDFR-ACPR-12345,O=Example TPP SAS,C=FR,L=Paris",
            "SN=553E97FCD3C8D3BBE3B60F5C55A3D12C36E92597,CA=CN=tpp.example.org,2.5.4.97=PSDFR-ACPR-12345,O=Example TPP SAS,C=FR",
            "SN=553E97FCD3C8D3BBE3B60F5C55A3D12C36E92597,CA=CN=tpp.example.com+2.5.4.97=PSDFR-ACPR-12345,O=Example TPP SAS,C=FR",
            "SN=553E97FCD3C8D3BBE3B60F5C55A3D12C36E92597,CA=SN=tpp.example.com,2.5.4.97=PSDFR-ACPR-12345,O=Example TPP SAS,C=FR",
        ] {
            assert!(!cert.matches_key_id(key_id), "{key_id}");
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn any_key_id_is_answered_without_panic(key_id in "\\PC{0,200}") {
            let _ = KeyIdRef::parse(&key_id);
            let _ = KeyIdRef::readings(&key_id);
            let _ = Dn::parse(&key_id);
        }

        #[test]
        fn key_id_shaped_values_never_panic(serial in "[0-9a-fA-Fx]{0,20}", issuer in "[ -~]{0,60}", fp in "[0-9a-f]{0,70}") {
            let _ = KeyIdRef::parse(&format!("SN={serial},CA={issuer}"));
            let _ = KeyIdRef::parse(&format!("SN={serial},CA={}", issuer.replace(' ', "%")));
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
        let Ok(issuer) = Dn::parse("CN=Guichet Sandbox Issuing CA,O=Guichet,C=FR") else {
            panic!("the issuer is a DN")
        };
        assert_eq!(
            KeyIdRef::parse("SN=0A1B,CA=CN=Guichet Sandbox Issuing CA,O=Guichet,C=FR"),
            Some(KeyIdRef::SerialIssuer {
                serial_candidates: vec![vec![0x0a, 0x1b]],
                issuer: issuer.clone(),
            })
        );
        // RFC 4514 order or certificate order, percent-encoded or not.
        for key_id in [
            "SN=A1B, CA=C=FR, O=Guichet, CN=Guichet Sandbox Issuing CA",
            "SN=0A1B,CA=CN%3DGuichet%20Sandbox%20Issuing%20CA%2CO%3DGuichet%2CC%3DFR",
            "sn = 0x0a1b , ca = /C=FR/O=Guichet/CN=Guichet Sandbox Issuing CA",
        ] {
            assert_eq!(
                KeyIdRef::parse(key_id),
                Some(KeyIdRef::SerialIssuer {
                    serial_candidates: vec![vec![0x0a, 0x1b]],
                    issuer: issuer.clone(),
                }),
                "{key_id}"
            );
        }
        // Digits only: hex or decimal.
        assert_eq!(
            KeyIdRef::parse("SN=2587,CA=CN=X"),
            KeyIdRef::parse("SN=0x2587,CA=CN=X").map(|k| match k {
                KeyIdRef::SerialIssuer { issuer, .. } => KeyIdRef::SerialIssuer {
                    serial_candidates: vec![vec![0x25, 0x87], vec![0x0a, 0x1b]],
                    issuer,
                },
                other => other,
            })
        );
        for bad in [
            "",
            "nofingerprint",
            "x_12",
            "SN=,CA=x",
            "SN=zz,CA=x",
            "SN=12",
            "SN=12,CA=",
            "SN=12,CA=not a DN",
            "SN=12;CA=CN=X",
            "SN=12,OU=CN=X",
        ] {
            assert_eq!(KeyIdRef::parse(bad), None, "{bad}");
        }
    }
}
