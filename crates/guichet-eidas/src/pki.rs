//! A sandbox qualified trust service provider: a root and an issuing CA that issue QWACs and
//! QSealCs with the PSD2 QC statement, server certificates for the banks' hosts, and a CRL.
//!
//! Layout of its folder:
//! ```text
//! ca/root.pem      the root CA certificate (what TPP clients trust for the banks' servers)
//! ca/issuing.pem   the issuing CA certificate
//! ca/*.key         the CA keys (owner-only)
//! ca/crl.pem       the issuing CA's revocation list
//! ca/index.json    every certificate issued, with its revocation
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, RevokedCertParams, SanType, SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::orgid::OrgId;
use crate::qc::{Psd2Statement, QcStatements, QcType, Role};

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("encoding the QC statements: {0}")]
    Der(#[from] der::Error),
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyAlgorithm {
    /// What QTSPs issue.
    #[default]
    Rsa2048,
    EcdsaP256,
}

impl KeyAlgorithm {
    fn generate(self) -> Result<KeyPair, rcgen::Error> {
        match self {
            KeyAlgorithm::Rsa2048 => KeyPair::generate_for(&PKCS_RSA_SHA256),
            KeyAlgorithm::EcdsaP256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
        }
    }
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From yesterday, for this many days.
    Days(i64),
    /// Ended a month ago.
    Expired,
    /// Starts in a month.
    NotYetValid,
}

impl Validity {
    fn bounds(self, now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
        match self {
            Validity::Days(days) => (now - Duration::days(1), now + Duration::days(days)),
            Validity::Expired => (now - Duration::days(400), now - Duration::days(30)),
            Validity::NotYetValid => (now + Duration::days(30), now + Duration::days(400)),
        }
    }
}

/// A TPP's QWAC and QSealC, and the test variants.
#[derive(Debug, Clone)]
pub struct TppRequest {
    pub org_id: String,
    pub org_name: String,
    pub roles: Vec<Role>,
    pub key: KeyAlgorithm,
    pub validity: Validity,
    /// Issue the QWAC with qcType eseal and the QSealC with qcType web.
    pub swap_qc_types: bool,
    /// Leave the PSD2 statement out of both certificates.
    pub without_psd2: bool,
    /// Put another organizationIdentifier in the QSealC.
    pub qseal_org_id: Option<String>,
}

impl TppRequest {
    pub fn new(org_id: &str, roles: Vec<Role>) -> TppRequest {
        TppRequest {
            org_id: org_id.to_owned(),
            org_name: format!("TPP {org_id}"),
            roles,
            key: KeyAlgorithm::default(),
            validity: Validity::Days(365),
            swap_qc_types: false,
            without_psd2: false,
            qseal_org_id: None,
        }
    }
}

/// A certificate and its private key, as PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub serial_hex: String,
}

impl Issued {
    /// Writes the certificate and the key (owner-only) to two files.
    pub fn write(&self, cert: &Path, key: &Path) -> std::io::Result<()> {
        if let Some(parent) = cert.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(cert, &self.cert_pem)?;
        write_secret(key, &self.key_pem)
    }
}

#[derive(Debug, Clone)]
pub struct TppCertificates {
    pub qwac: Issued,
    pub qseal: Issued,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Index {
    crl_number: u64,
    issued: Vec<IndexEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IndexEntry {
    serial: String,
    subject: String,
    kind: String,
    revoked_at: Option<i64>,
}

pub struct Qtsp {
    dir: PathBuf,
    /// The time certificates are issued at: now, or a test's fixed clock.
    now: OffsetDateTime,
    issuing_pem: String,
    issuing_key: KeyPair,
    index: Index,
}

/// The NCA names of the identifiers the sandbox uses; others get a generic name.
fn nca_name(nca_id: &str) -> String {
    match nca_id {
        "FR-ACPR" => "Autorite de Controle Prudentiel et de Resolution".into(),
        "BE-NBB" => "National Bank of Belgium".into(),
        "ES-BDE" => "Banco de Espana".into(),
        other => format!("National competent authority {other}"),
    }
}

fn write_secret(path: &Path, content: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, content)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn random_serial() -> Result<SerialNumber, PkiError> {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Invalid("random generator failed".into()))?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x10;
    Ok(SerialNumber::from_slice(&bytes))
}

fn serial_hex(serial: &SerialNumber) -> String {
    crate::hex(serial.as_ref())
        .trim_start_matches('0')
        .to_owned()
}

fn name(org: &str, cn: &str, org_id: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "FR");
    dn.push(DnType::OrganizationName, org);
    if let Some(org_id) = org_id {
        dn.push(
            DnType::CustomDnType(vec![2, 5, 4, 97]),
            DnValue::Utf8String(org_id.to_owned()),
        );
    }
    dn.push(DnType::CommonName, cn);
    dn
}

impl Qtsp {
    pub fn ca_dir(dir: &Path) -> PathBuf {
        dir.join("ca")
    }

    /// Opens the QTSP in `dir`, creating its CAs on first use.
    pub fn open_or_create(dir: &Path) -> Result<Qtsp, PkiError> {
        Qtsp::open_or_create_at(dir, OffsetDateTime::now_utc())
    }

    /// The same, issuing as if it were `now` (tests with a fixed clock).
    pub fn open_or_create_at(dir: &Path, now: OffsetDateTime) -> Result<Qtsp, PkiError> {
        let ca = Qtsp::ca_dir(dir);
        let issuing_path = ca.join("issuing.pem");
        if !issuing_path.exists() {
            Qtsp::create(dir, now)?;
        }
        let issuing_pem = fs::read_to_string(&issuing_path)?;
        let issuing_key = KeyPair::from_pem(&fs::read_to_string(ca.join("issuing.key"))?)?;
        let index = match fs::read_to_string(ca.join("index.json")) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| PkiError::Invalid(format!("index.json: {e}")))?,
            Err(_) => Index::default(),
        };
        Ok(Qtsp {
            dir: dir.to_owned(),
            now,
            issuing_pem,
            issuing_key,
            index,
        })
    }

    fn create(dir: &Path, now: OffsetDateTime) -> Result<(), PkiError> {
        let ca = Qtsp::ca_dir(dir);
        fs::create_dir_all(&ca)?;
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut root = CertificateParams::default();
        root.distinguished_name = name("Guichet Sandbox QTSP", "Guichet Sandbox Root CA", None);
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        root.not_before = now - Duration::days(1);
        root.not_after = now + Duration::days(3650);
        root.serial_number = Some(random_serial()?);
        let root_cert = root.self_signed(&root_key)?;
        let root_issuer = Issuer::new(root, &root_key);
        let issuing_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut issuing = CertificateParams::default();
        issuing.distinguished_name =
            name("Guichet Sandbox QTSP", "Guichet Sandbox Qualified CA", None);
        issuing.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        issuing.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        issuing.not_before = now - Duration::days(1);
        issuing.not_after = now + Duration::days(3650);
        issuing.serial_number = Some(random_serial()?);
        issuing.use_authority_key_identifier_extension = true;
        let issuing_cert = issuing.signed_by(&issuing_key, &root_issuer)?;
        fs::write(ca.join("root.pem"), root_cert.pem())?;
        write_secret(&ca.join("root.key"), &root_key.serialize_pem())?;
        fs::write(ca.join("issuing.pem"), issuing_cert.pem())?;
        write_secret(&ca.join("issuing.key"), &issuing_key.serialize_pem())?;
        let mut qtsp = Qtsp {
            dir: dir.to_owned(),
            now,
            issuing_pem: issuing_cert.pem(),
            issuing_key,
            index: Index::default(),
        };
        qtsp.write_crl()
    }

    /// The root CA certificate: what clients trust for the banks' servers.
    pub fn root_file(&self) -> PathBuf {
        Qtsp::ca_dir(&self.dir).join("root.pem")
    }

    /// The CA certificates a bank trusts for TPP certificates.
    pub fn trust_files(&self) -> Vec<PathBuf> {
        let ca = Qtsp::ca_dir(&self.dir);
        vec![ca.join("root.pem"), ca.join("issuing.pem")]
    }

    pub fn crl_file(&self) -> PathBuf {
        Qtsp::ca_dir(&self.dir).join("crl.pem")
    }

    fn issue(
        &mut self,
        mut params: CertificateParams,
        key: KeyAlgorithm,
        kind: &str,
        subject: &str,
    ) -> Result<Issued, PkiError> {
        let serial = random_serial()?;
        let serial_text = serial_hex(&serial);
        params.serial_number = Some(serial);
        params.use_authority_key_identifier_extension = true;
        let key_pair = key.generate()?;
        let issuer = Issuer::from_ca_cert_pem(&self.issuing_pem, &self.issuing_key)?;
        let cert = params.signed_by(&key_pair, &issuer)?;
        self.index.issued.push(IndexEntry {
            serial: serial_text.clone(),
            subject: subject.to_owned(),
            kind: kind.to_owned(),
            revoked_at: None,
        });
        self.save_index()?;
        Ok(Issued {
            // The chain, so that a TLS peer presents its issuing CA too.
            cert_pem: format!("{}{}", cert.pem(), self.issuing_pem),
            key_pem: key_pair.serialize_pem(),
            serial_hex: serial_text,
        })
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the subject, the QC statements and the validity of one certificate"
    )]
    fn psd2_params(
        &self,
        org_id: &str,
        org_name: &str,
        cn: &str,
        qc_type: QcType,
        roles: &[Role],
        with_psd2: bool,
        validity: Validity,
    ) -> Result<CertificateParams, PkiError> {
        let now = self.now;
        let parsed = OrgId::parse(org_id).map_err(PkiError::Invalid)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name(org_name, cn, Some(org_id));
        let (not_before, not_after) = validity.bounds(now);
        params.not_before = not_before;
        params.not_after = not_after;
        let statements = QcStatements {
            compliance: true,
            types: vec![qc_type],
            psd2: with_psd2.then(|| Psd2Statement {
                roles: roles.to_vec(),
                nca_name: nca_name(parsed.nca_id()),
                nca_id: parsed.nca_id().to_owned(),
            }),
        };
        params
            .custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 5, 5, 7, 1, 3],
                statements.to_der()?,
            ));
        Ok(params)
    }

    /// A TPP's QWAC (qcType web, clientAuth and serverAuth) and QSealC (qcType eseal,
    /// digitalSignature and nonRepudiation), both with the PSD2 statement.
    pub fn issue_tpp(&mut self, request: &TppRequest) -> Result<TppCertificates, PkiError> {
        let (qwac_type, qseal_type) = if request.swap_qc_types {
            (QcType::Eseal, QcType::Web)
        } else {
            (QcType::Web, QcType::Eseal)
        };
        let mut qwac = self.psd2_params(
            &request.org_id,
            &request.org_name,
            &format!("{} QWAC", request.org_name),
            qwac_type,
            &request.roles,
            !request.without_psd2,
            request.validity,
        )?;
        qwac.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        qwac.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let qseal_org = request.qseal_org_id.as_deref().unwrap_or(&request.org_id);
        let mut qseal = self.psd2_params(
            qseal_org,
            &request.org_name,
            &format!("{} QSealC", request.org_name),
            qseal_type,
            &request.roles,
            !request.without_psd2,
            request.validity,
        )?;
        qseal.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        Ok(TppCertificates {
            qwac: self.issue(qwac, request.key, "qwac", &request.org_id)?,
            qseal: self.issue(qseal, request.key, "qseal", qseal_org)?,
        })
    }

    /// A bank's QSealC (role PSP_AS), with which it signs its responses (STET CR199).
    pub fn issue_bank_seal(&mut self, org_id: &str, bank_name: &str) -> Result<Issued, PkiError> {
        let mut params = self.psd2_params(
            org_id,
            bank_name,
            &format!("{bank_name} QSealC"),
            QcType::Eseal,
            &[Role::AccountServicing],
            true,
            Validity::Days(825),
        )?;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        self.issue(params, KeyAlgorithm::Rsa2048, "bank-qseal", org_id)
    }

    /// A TLS server certificate for these host names and IP addresses.
    pub fn issue_server(&mut self, names: &[String]) -> Result<Issued, PkiError> {
        let mut params = CertificateParams::default();
        let cn = names.first().cloned().unwrap_or_else(|| "localhost".into());
        params.distinguished_name = name("Guichet Sandbox", &cn, None);
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n.clone().try_into().map(SanType::DnsName),
            })
            .collect::<Result<_, _>>()?;
        let (not_before, not_after) = Validity::Days(825).bounds(self.now);
        params.not_before = not_before;
        params.not_after = not_after;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, KeyAlgorithm::EcdsaP256, "server", &cn)
    }

    /// Revokes a certificate by serial (hex) and rewrites the CRL.
    pub fn revoke(&mut self, serial: &str) -> Result<(), PkiError> {
        let serial = serial.trim().to_ascii_lowercase();
        let serial = serial.trim_start_matches('0');
        let entry = self
            .index
            .issued
            .iter_mut()
            .find(|e| e.serial == serial)
            .ok_or_else(|| {
                PkiError::Invalid(format!(
                    "no certificate with serial {serial} was issued here"
                ))
            })?;
        entry.revoked_at.get_or_insert(self.now.unix_timestamp());
        self.save_index()?;
        self.write_crl()
    }

    fn save_index(&self) -> Result<(), PkiError> {
        let text = serde_json::to_string_pretty(&self.index)
            .map_err(|e| PkiError::Invalid(e.to_string()))?;
        fs::write(Qtsp::ca_dir(&self.dir).join("index.json"), text)?;
        Ok(())
    }

    fn write_crl(&mut self) -> Result<(), PkiError> {
        self.index.crl_number += 1;
        let now = self.now;
        let revoked_certs = self
            .index
            .issued
            .iter()
            .filter_map(|e| {
                let at = e.revoked_at?;
                let even = if e.serial.len() % 2 == 1 {
                    format!("0{}", e.serial)
                } else {
                    e.serial.clone()
                };
                let bytes: Vec<u8> = (0..even.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(even.get(i..i + 2).unwrap_or("0"), 16).unwrap_or(0))
                    .collect();
                Some(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&bytes),
                    revocation_time: OffsetDateTime::from_unix_timestamp(at).unwrap_or(now),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
            })
            .collect();
        let params = CertificateRevocationListParams {
            this_update: now - Duration::minutes(5),
            next_update: now + Duration::days(7),
            crl_number: SerialNumber::from(self.index.crl_number),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let issuer = Issuer::from_ca_cert_pem(&self.issuing_pem, &self.issuing_key)?;
        let crl = params.signed_by(&issuer)?;
        fs::write(self.crl_file(), crl.pem()?)?;
        self.save_index()
    }
}
