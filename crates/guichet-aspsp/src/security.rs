//! The bank's eIDAS material, loaded once: its TLS configuration, the trust list the TPPs'
//! certificates are checked against (re-read when the CRL files change), the banks' QSealC
//! signers for responses, and a cache of parsed QSealCs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use anyhow::Context;
use guichet_eidas::trust::Usage;
use guichet_eidas::{CertError, Psd2Certificate, TrustError, TrustStore};
use guichet_httpsig::{Signer, SigningKey};
use guichet_store::QsealRecord;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the bank's certificates and the trust list are.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// The API server's certificate chain and key (PEM).
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// The QTSP certificates TPP certificates must chain to.
    pub trust_files: Vec<PathBuf>,
    /// Their revocation lists.
    pub crl_files: Vec<PathBuf>,
    /// Each bank's QSealC, signing its CBPII responses (STET CR199).
    pub bank_seals: Vec<BankSeal>,
    /// How far a request's `Date` may be from the bank's clock.
    pub clock_skew_seconds: i64,
}

#[derive(Debug, Clone)]
pub struct BankSeal {
    pub bank_code: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub struct Security {
    /// The API listener: mutual TLS.
    pub tls: Arc<ServerConfig>,
    /// The PSU's pages: server authentication only.
    pub psu_tls: Arc<ServerConfig>,
    /// Each bank's keys for its fallback JWTs (its QSealC's).
    pub jwt_keys: HashMap<String, (jsonwebtoken::EncodingKey, jsonwebtoken::DecodingKey)>,
    trust: RwLock<Arc<TrustStore>>,
    trust_files: Vec<PathBuf>,
    crl_files: Vec<PathBuf>,
    crl_stamp: Mutex<Vec<Stamp>>,
    pub clock_skew_seconds: i64,
    pub bank_signers: HashMap<String, Signer>,
    qseal_cache: Mutex<HashMap<String, Arc<Psd2Certificate>>>,
    /// The QSealCs found trusted, and under which trust list ([`Security::verify_qseal`]).
    seal_verdicts: Mutex<HashMap<String, Arc<TrustStore>>>,
}

/// Parsed QSealCs and verdicts remembered at most (the registered QSealCs of every TPP;
/// forgotten all at once beyond).
const MAX_SEAL_VERDICTS: usize = 10_000;

fn read_trust(trust: &[PathBuf], crls: &[PathBuf]) -> anyhow::Result<TrustStore> {
    let trust: Vec<&Path> = trust.iter().map(PathBuf::as_path).collect();
    let crls: Vec<&Path> = crls.iter().map(PathBuf::as_path).collect();
    TrustStore::from_pem_files(&trust, &crls).map_err(|e| anyhow::anyhow!("trust list: {e}"))
}

/// What tells a changed file: its modification time and its length (a revocation adds an entry,
/// even within a filesystem's time granularity).
type Stamp = Option<(SystemTime, u64)>;

fn modified(files: &[PathBuf]) -> Vec<Stamp> {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .and_then(|m| Ok((m.modified()?, m.len())))
                .ok()
        })
        .collect()
}

impl Security {
    pub fn load(config: &TlsConfig) -> anyhow::Result<Security> {
        let trust = read_trust(&config.trust_files, &config.crl_files)?;
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(&config.server_cert)
                .with_context(|| format!("reading {}", config.server_cert.display()))?
                .collect::<Result<_, _>>()
                .with_context(|| format!("reading {}", config.server_cert.display()))?;
        let key = PrivateKeyDer::from_pem_file(&config.server_key)
            .with_context(|| format!("reading {}", config.server_key.display()))?;
        let psu_tls = crate::tls::page_server_config(chain.clone(), key.clone_key())
            .context("TLS configuration")?;
        let tls = crate::tls::server_config(chain, key, &trust).context("TLS configuration")?;
        let mut bank_signers = HashMap::new();
        let mut jwt_keys = HashMap::new();
        for seal in &config.bank_seals {
            let cert = Psd2Certificate::from_pem(&std::fs::read(&seal.cert)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", seal.cert.display()))?;
            let key = SigningKey::from_pem(&std::fs::read(&seal.key)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", seal.key.display()))?;
            let key_id = format!(
                "https://www.{}.guichet/qseal.pem_{}",
                seal.bank_code, cert.sha256
            );
            bank_signers.insert(seal.bank_code.clone(), Signer { key_id, key });
            jwt_keys.insert(seal.bank_code.clone(), crate::oauth::jwt_keys(seal)?);
        }
        Ok(Security {
            tls: Arc::new(tls),
            psu_tls: Arc::new(psu_tls),
            jwt_keys,
            trust: RwLock::new(Arc::new(trust)),
            crl_stamp: Mutex::new(modified(&config.crl_files)),
            trust_files: config.trust_files.clone(),
            crl_files: config.crl_files.clone(),
            clock_skew_seconds: config.clock_skew_seconds,
            bank_signers,
            qseal_cache: Mutex::new(HashMap::new()),
            seal_verdicts: Mutex::new(HashMap::new()),
        })
    }

    pub fn trust(&self) -> Arc<TrustStore> {
        match self.trust.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the trust list when a CRL file changed. Called on a timer.
    pub fn refresh_trust(&self) -> anyhow::Result<bool> {
        let now = modified(&self.crl_files);
        let changed = self.crl_stamp.lock().is_ok_and(|stamp| *stamp != now);
        if changed {
            // The stamp moves only once the files were read: a CRL caught mid-write is read
            // again at the next check.
            let store = read_trust(&self.trust_files, &self.crl_files)?;
            if let Ok(mut guard) = self.trust.write() {
                *guard = Arc::new(store);
            }
            // The verdicts were given under the list replaced: forgotten (and the list with
            // them).
            if let Ok(mut verdicts) = self.seal_verdicts.lock() {
                verdicts.clear();
            }
            if let Ok(mut stamp) = self.crl_stamp.lock() {
                *stamp = now;
            }
        }
        Ok(changed)
    }

    /// Whether a QSealC is trusted now: chains to the trust list, valid, not revoked. A
    /// success is remembered, per certificate, for as long as the same trust list is in force
    /// and the certificate's validity lasts: a CRL re-read or the end of the validity checks it
    /// again (the chain's signature check need not be repeated at every request).
    pub fn verify_qseal(&self, cert: &Psd2Certificate, now: i64) -> Result<(), TrustError> {
        let trust = self.trust();
        let valid_now = now >= cert.not_before && now < cert.not_after;
        if valid_now
            && let Ok(verdicts) = self.seal_verdicts.lock()
            && verdicts
                .get(&cert.sha256)
                .is_some_and(|under| Arc::ptr_eq(under, &trust))
        {
            return Ok(());
        }
        trust.verify(&cert.der, &[], now, Usage::Seal)?;
        if valid_now && let Ok(mut verdicts) = self.seal_verdicts.lock() {
            if verdicts.len() >= MAX_SEAL_VERDICTS {
                verdicts.clear();
            }
            verdicts.insert(cert.sha256.clone(), trust);
        }
        Ok(())
    }

    /// A registered QSealC, parsed once per process (its content never changes).
    pub fn qseal(&self, record: &QsealRecord) -> Result<Arc<Psd2Certificate>, CertError> {
        if let Ok(cache) = self.qseal_cache.lock()
            && let Some(cert) = cache.get(&record.sha256)
        {
            return Ok(cert.clone());
        }
        let cert = Arc::new(Psd2Certificate::from_pem(record.pem.as_bytes())?);
        if let Ok(mut cache) = self.qseal_cache.lock() {
            if cache.len() >= MAX_SEAL_VERDICTS {
                cache.clear();
            }
            cache.insert(record.sha256.clone(), cert.clone());
        }
        Ok(cert)
    }
}
