//! The sandbox QTSP issues certificates that Guichet's reader and trust store, and openssl,
//! read as PSD2 certificates.

use std::path::PathBuf;
use std::process::Command;

use guichet_eidas::pki::{KeyAlgorithm, Qtsp, TppRequest, Validity};
use guichet_eidas::trust::Usage;
use guichet_eidas::{Psd2Certificate, Role, TrustError, TrustStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guichet-pki-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn leaf(pem: &str) -> Vec<u8> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .map(|c| c.as_ref().to_vec())
        .unwrap_or_default()
}

fn store(qtsp: &Qtsp) -> TrustStore {
    let trust = qtsp.trust_files();
    let trust: Vec<&std::path::Path> = trust.iter().map(PathBuf::as_path).collect();
    let crl = qtsp.crl_file();
    match TrustStore::from_pem_files(&trust, &[crl.as_path()]) {
        Ok(store) => store,
        Err(e) => panic!("trust store: {e}"),
    }
}

#[test]
fn issued_tpp_certificates_are_psd2_certificates() -> Result<(), Box<dyn std::error::Error>> {
    let dir = temp_dir("issue");
    let mut qtsp = Qtsp::open_or_create(&dir)?;
    let certs = qtsp.issue_tpp(&TppRequest::new(
        "PSDFR-ACPR-12345",
        vec![
            Role::AccountInformation,
            Role::PaymentInitiation,
            Role::CardIssuing,
        ],
    ))?;
    let qwac = Psd2Certificate::from_pem(certs.qwac.cert_pem.as_bytes())?;
    let qseal = Psd2Certificate::from_pem(certs.qseal.cert_pem.as_bytes())?;
    assert_eq!(qwac.org_id.as_str(), "PSDFR-ACPR-12345");
    assert!(qwac.is_qwac() && qseal.is_qseal());
    assert_eq!(
        qwac.roles,
        [
            Role::AccountInformation,
            Role::PaymentInitiation,
            Role::CardIssuing
        ]
    );
    assert_eq!(
        qwac.qc.psd2.as_ref().map(|p| p.nca_id.as_str()),
        Some("FR-ACPR")
    );
    assert_eq!(qwac.serial_hex, certs.qwac.serial_hex);
    let trust = store(&qtsp);
    assert_eq!(
        trust.verify(&qwac.der, &[], now(), Usage::TlsClient),
        Ok(())
    );
    assert_eq!(trust.verify(&qseal.der, &[], now(), Usage::Seal), Ok(()));
    // Reopening the QTSP keeps its CAs.
    let mut again = Qtsp::open_or_create(&dir)?;
    let more = again.issue_tpp(&TppRequest::new(
        "PSDBE-NBB-0123456789",
        vec![Role::AccountInformation],
    ))?;
    assert_eq!(
        store(&again).verify(&leaf(&more.qwac.cert_pem), &[], now(), Usage::TlsClient),
        Ok(())
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn the_variants_fail_the_checks_they_are_made_for() -> Result<(), Box<dyn std::error::Error>> {
    let dir = temp_dir("variants");
    let mut qtsp = Qtsp::open_or_create(&dir)?;
    let mut expired = TppRequest::new("PSDFR-ACPR-1", vec![Role::AccountInformation]);
    expired.validity = Validity::Expired;
    let expired = qtsp.issue_tpp(&expired)?;
    let mut future = TppRequest::new("PSDFR-ACPR-2", vec![Role::AccountInformation]);
    future.validity = Validity::NotYetValid;
    let future = qtsp.issue_tpp(&future)?;
    let revoked = qtsp.issue_tpp(&TppRequest::new(
        "PSDFR-ACPR-3",
        vec![Role::AccountInformation],
    ))?;
    qtsp.revoke(&revoked.qwac.serial_hex)?;
    let mut swapped = TppRequest::new("PSDFR-ACPR-4", vec![Role::AccountInformation]);
    swapped.swap_qc_types = true;
    let swapped = qtsp.issue_tpp(&swapped)?;
    let mut bare = TppRequest::new("PSDFR-ACPR-5", vec![Role::AccountInformation]);
    bare.without_psd2 = true;
    let bare = qtsp.issue_tpp(&bare)?;
    let mut mismatch = TppRequest::new("PSDFR-ACPR-6", vec![Role::AccountInformation]);
    mismatch.qseal_org_id = Some("PSDFR-ACPR-7".into());
    mismatch.key = KeyAlgorithm::EcdsaP256;
    let mismatch = qtsp.issue_tpp(&mismatch)?;

    let trust = store(&qtsp);
    assert_eq!(
        trust.verify(&leaf(&expired.qwac.cert_pem), &[], now(), Usage::TlsClient),
        Err(TrustError::Expired)
    );
    assert_eq!(
        trust.verify(&leaf(&future.qwac.cert_pem), &[], now(), Usage::TlsClient),
        Err(TrustError::NotYetValid)
    );
    assert_eq!(
        trust.verify(&leaf(&revoked.qwac.cert_pem), &[], now(), Usage::TlsClient),
        Err(TrustError::Revoked)
    );
    assert_eq!(
        trust.verify(&leaf(&revoked.qseal.cert_pem), &[], now(), Usage::Seal),
        Ok(()),
        "only the QWAC was revoked"
    );
    assert!(Psd2Certificate::from_pem(swapped.qwac.cert_pem.as_bytes())?.is_qseal());
    assert!(matches!(
        Psd2Certificate::from_pem(bare.qwac.cert_pem.as_bytes()),
        Err(guichet_eidas::CertError::NoPsd2Statement)
    ));
    let qseal = Psd2Certificate::from_pem(mismatch.qseal.cert_pem.as_bytes())?;
    assert_eq!(qseal.org_id.as_str(), "PSDFR-ACPR-7");
    assert_eq!(qseal.public_key.kind, guichet_httpsig::KeyKind::EcdsaP256);

    let other = temp_dir("other");
    let mut stranger = Qtsp::open_or_create(&other)?;
    let foreign = stranger.issue_tpp(&TppRequest::new(
        "PSDFR-ACPR-8",
        vec![Role::AccountInformation],
    ))?;
    assert_eq!(
        trust.verify(&leaf(&foreign.qwac.cert_pem), &[], now(), Usage::TlsClient),
        Err(TrustError::Untrusted)
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
    Ok(())
}

/// An independent reader: openssl shows the organizationIdentifier and the QC statement, and
/// verifies the chain and the CRL.
#[test]
fn openssl_reads_and_verifies_what_the_qtsp_issues() -> Result<(), Box<dyn std::error::Error>> {
    let dir = temp_dir("openssl");
    let mut qtsp = Qtsp::open_or_create(&dir)?;
    let certs = qtsp.issue_tpp(&TppRequest::new(
        "PSDFR-ACPR-12345",
        vec![Role::AccountInformation],
    ))?;
    let leaf_path = dir.join("qwac.pem");
    std::fs::write(&leaf_path, &certs.qwac.cert_pem)?;
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&leaf_path)
        .output()?;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("organizationIdentifier") && text.contains("PSDFR-ACPR-12345"),
        "{text}"
    );
    assert!(
        text.contains("qcStatements") || text.contains("1.3.6.1.5.5.7.1.3"),
        "{text}"
    );
    let verify = Command::new("openssl")
        .args(["verify", "-crl_check", "-CAfile"])
        .arg(qtsp.root_file())
        .arg("-untrusted")
        .arg(Qtsp::ca_dir(&dir).join("issuing.pem"))
        .arg("-CRLfile")
        .arg(qtsp.crl_file())
        .arg(&leaf_path)
        .output()?;
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// An independent generator: openssl builds a PSD2 certificate from a config file (the shared
/// vector's), and Guichet reads it.
#[test]
fn certificates_made_by_openssl_are_read() -> Result<(), Box<dyn std::error::Error>> {
    let dir = temp_dir("openssl-made");
    std::fs::create_dir_all(&dir)?;
    let vectors =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../guichet-httpsig/tests/vectors");
    let cert = dir.join("made.pem");
    let status = Command::new("openssl")
        .args(["req", "-new", "-x509", "-days", "30", "-key"])
        .arg(vectors.join("qwac.key"))
        .arg("-config")
        .arg(vectors.join("qwac.cnf"))
        .arg("-out")
        .arg(&cert)
        .status()?;
    assert!(status.success());
    let parsed = Psd2Certificate::from_pem(&std::fs::read(&cert)?)?;
    assert_eq!(parsed.org_id.as_str(), "PSDFR-ACPR-12345");
    assert_eq!(
        parsed.roles,
        [Role::AccountInformation, Role::PaymentInitiation]
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
