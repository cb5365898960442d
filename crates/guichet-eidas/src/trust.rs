//! The trust list: the QTSP certificates the bank accepts, and their revocation lists.
//!
//! A client certificate is checked here, in the application, rather than in the TLS handshake:
//! a refusal then reaches the TPP as a STET ErrorModel that says what is wrong (expired,
//! revoked, untrusted) instead of a bare TLS alert.

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, TrustAnchor, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, KeyUsage, OwnedCertRevocationList, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("the certificate has expired")]
    Expired,
    #[error("the certificate is not valid yet")]
    NotYetValid,
    #[error("the certificate has been revoked")]
    Revoked,
    #[error("the certificate is not issued by a trusted QTSP")]
    Untrusted,
    #[error("the certificate is not allowed for this use (key usage)")]
    WrongUsage,
    #[error("the certificate cannot be checked: {0}")]
    Invalid(String),
}

/// Extended key usage id-kp-clientAuth, DER content.
const CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A QWAC on a TLS connection: clientAuth when an EKU is present.
    TlsClient,
    /// A QSealC signing requests: any EKU.
    Seal,
}

#[derive(Debug)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor<'static>>,
    crls: Vec<CertRevocationList<'static>>,
    /// The subjects of the anchors, for the TLS CertificateRequest hint.
    pub subjects: Vec<Vec<u8>>,
}

impl TrustStore {
    pub fn new(
        ca_certs: &[CertificateDer<'static>],
        crls: &[CertificateRevocationListDer<'static>],
    ) -> Result<TrustStore, TrustError> {
        let mut anchors = Vec::new();
        let mut subjects = Vec::new();
        for cert in ca_certs {
            let anchor = webpki::anchor_from_trusted_cert(cert)
                .map_err(|e| TrustError::Invalid(e.to_string()))?
                .to_owned();
            subjects.push(anchor.subject.as_ref().to_vec());
            anchors.push(anchor);
        }
        let crls = crls
            .iter()
            .map(|crl| {
                OwnedCertRevocationList::from_der(crl.as_ref()).map(CertRevocationList::from)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TrustError::Invalid(format!("CRL: {e}")))?;
        Ok(TrustStore {
            anchors,
            crls,
            subjects,
        })
    }

    /// Reads CA certificates and CRLs from PEM files (several per file allowed).
    pub fn from_pem_files(
        ca_files: &[&Path],
        crl_files: &[&Path],
    ) -> Result<TrustStore, TrustError> {
        let mut certs = Vec::new();
        for file in ca_files {
            let found: Vec<_> = CertificateDer::pem_file_iter(file)
                .map_err(|e| TrustError::Invalid(format!("{}: {e}", file.display())))?
                .collect::<Result<_, _>>()
                .map_err(|e| TrustError::Invalid(format!("{}: {e}", file.display())))?;
            certs.extend(found);
        }
        let mut crls = Vec::new();
        for file in crl_files {
            let found: Vec<_> = CertificateRevocationListDer::pem_file_iter(file)
                .map_err(|e| TrustError::Invalid(format!("{}: {e}", file.display())))?
                .collect::<Result<_, _>>()
                .map_err(|e| TrustError::Invalid(format!("{}: {e}", file.display())))?;
            crls.extend(found);
        }
        TrustStore::new(&certs, &crls)
    }

    /// Checks that `end_entity` chains to an anchor (through `intermediates`), is within its
    /// validity at `now` (Unix seconds) and is not on a CRL.
    pub fn verify(
        &self,
        end_entity: &[u8],
        intermediates: &[CertificateDer<'_>],
        now: i64,
        usage: Usage,
    ) -> Result<(), TrustError> {
        let der = CertificateDer::from(end_entity);
        let cert = EndEntityCert::try_from(&der).map_err(|e| TrustError::Invalid(e.to_string()))?;
        let crl_refs: Vec<&CertRevocationList<'_>> = self.crls.iter().collect();
        let revocation = RevocationOptionsBuilder::new(&crl_refs)
            .ok()
            .map(|builder| {
                builder
                    .with_depth(RevocationCheckDepth::EndEntity)
                    .with_status_policy(UnknownStatusPolicy::Allow)
                    .build()
            });
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(now).unwrap_or(0),
        ));
        let usage = match usage {
            Usage::TlsClient => KeyUsage::required_if_present(CLIENT_AUTH),
            Usage::Seal => KeyUsage::required_if_present(&[]),
        };
        cert.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &self.anchors,
            intermediates,
            time,
            usage,
            revocation,
            None,
        )
        .map(|_| ())
        .map_err(|e| match e {
            webpki::Error::CertExpired { .. } => TrustError::Expired,
            webpki::Error::CertNotValidYet { .. } => TrustError::NotYetValid,
            webpki::Error::CertRevoked => TrustError::Revoked,
            webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey => {
                TrustError::Untrusted
            }
            webpki::Error::RequiredEkuNotFoundContext(_) => TrustError::WrongUsage,
            other => TrustError::Invalid(format!("{other:?}")),
        })
    }
}
