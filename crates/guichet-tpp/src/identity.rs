//! A TPP's certificates: the QWAC (TLS) and the QSealC (signatures).

use std::path::Path;
use std::sync::Arc;

use guichet_eidas::Psd2Certificate;
use guichet_httpsig::{Signer, SigningKey};
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    Certificate(String),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
}

fn read(path: &Path) -> Result<Vec<u8>, IdentityError> {
    std::fs::read(path).map_err(|e| IdentityError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// A TPP as a bank sees it: its client_id (the organizationIdentifier), its QWAC and key for
/// mutual TLS, its QSealC signer.
#[derive(Clone)]
pub struct TppIdentity {
    pub client_id: String,
    pub qwac: Arc<Psd2Certificate>,
    pub qseal: Arc<Psd2Certificate>,
    pub qseal_pem: String,
    qwac_chain: Vec<CertificateDer<'static>>,
    qwac_key: Arc<PrivateKeyDer<'static>>,
    pub signer: Arc<Signer>,
}

impl std::fmt::Debug for TppIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TppIdentity")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TppIdentity {
    /// Reads the four PEM files a QTSP delivers. The keyId of the signatures is
    /// `<key_id_base>_<SHA-256 of the QSealC>` (STET's form; the bank never fetches the URL).
    pub fn from_files(
        qwac: &Path,
        qwac_key: &Path,
        qseal: &Path,
        qseal_key: &Path,
        key_id_base: &str,
    ) -> Result<TppIdentity, IdentityError> {
        let qwac_pem = read(qwac)?;
        let qseal_pem = read(qseal)?;
        let qwac_chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&qwac_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| IdentityError::File {
                path: qwac.display().to_string(),
                message: e.to_string(),
            })?;
        let key =
            PrivateKeyDer::from_pem_slice(&read(qwac_key)?).map_err(|e| IdentityError::File {
                path: qwac_key.display().to_string(),
                message: e.to_string(),
            })?;
        let qwac_cert = Psd2Certificate::from_pem(&qwac_pem)
            .map_err(|e| IdentityError::Certificate(format!("QWAC: {e}")))?;
        let qseal_cert = Psd2Certificate::from_pem(&qseal_pem)
            .map_err(|e| IdentityError::Certificate(format!("QSealC: {e}")))?;
        let signing = SigningKey::from_pem(&read(qseal_key)?)
            .map_err(|e| IdentityError::Certificate(format!("QSealC key: {e}")))?;
        let key_id = format!("{key_id_base}_{}", qseal_cert.sha256);
        Ok(TppIdentity {
            client_id: qwac_cert.org_id.to_string(),
            qwac: Arc::new(qwac_cert),
            qseal_pem: String::from_utf8_lossy(&qseal_pem).into_owned(),
            qseal: Arc::new(qseal_cert),
            qwac_chain,
            qwac_key: Arc::new(key),
            signer: Arc::new(Signer {
                key_id,
                key: signing,
            }),
        })
    }

    /// A rustls client configuration presenting the QWAC and trusting `ca_file` (the bank's
    /// server CA).
    pub fn tls_config(&self, ca_file: &Path) -> Result<ClientConfig, IdentityError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&read(ca_file)?) {
            let cert = cert.map_err(|e| IdentityError::File {
                path: ca_file.display().to_string(),
                message: e.to_string(),
            })?;
            roots.add(cert)?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        Ok(ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(self.qwac_chain.clone(), self.qwac_key.clone_key())?)
    }

    /// An HTTP client over mutual TLS with this identity. It follows no redirect: a bank's
    /// redirects (the fallback's 302, for one) are answers to read, not to follow with the QWAC.
    pub fn http_client(&self, ca_file: &Path) -> Result<reqwest::Client, IdentityError> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .use_preconfigured_tls(self.tls_config(ca_file)?)
            .build()
            .map_err(|e| IdentityError::Certificate(format!("HTTP client: {e}")))
    }
}
