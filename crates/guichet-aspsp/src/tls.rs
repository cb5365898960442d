//! Mutual TLS on the API listener, and what the connection tells about the TPP.
//!
//! The handshake asks for a client certificate and checks the proof of possession of its key,
//! but leaves the certificate's trust to the application ([`PeerState::check`]): a TPP whose
//! QWAC is expired, revoked or untrusted then gets a STET ErrorModel naming the problem rather
//! than a bare TLS alert. The check runs once per connection and every request of the
//! connection carries its result.

use std::sync::Arc;

use guichet_eidas::trust::Usage;
use guichet_eidas::{CertError, Psd2Certificate, TrustError, TrustStore};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

/// Asks for a client certificate, verifies the handshake signature, defers the rest.
#[derive(Debug)]
struct DeferredClientAuth {
    subjects: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for DeferredClientAuth {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.subjects
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The rustls configuration of the API listener.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    trust: &TrustStore,
) -> Result<ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = DeferredClientAuth {
        subjects: trust
            .subjects
            .iter()
            .map(|s| DistinguishedName::in_sequence(s))
            .collect(),
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The rustls configuration of the PSU's pages: no client certificate is asked for.
pub fn page_server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The default crypto provider for code that builds rustls configurations itself.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Why a connection's client certificate cannot authenticate a TPP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerRefusal {
    NoCertificate,
    NotPsd2(CertError),
    Untrusted(TrustError),
    NotQwac,
}

impl PeerRefusal {
    /// The `reason` label of the refusal metric.
    pub fn reason(&self) -> &'static str {
        match self {
            PeerRefusal::NoCertificate => "no_certificate",
            PeerRefusal::NotPsd2(_) => "not_psd2",
            PeerRefusal::NotQwac => "not_qwac",
            PeerRefusal::Untrusted(TrustError::Expired) => "expired",
            PeerRefusal::Untrusted(TrustError::NotYetValid) => "not_yet_valid",
            PeerRefusal::Untrusted(TrustError::Revoked) => "revoked",
            PeerRefusal::Untrusted(TrustError::WrongUsage) => "wrong_usage",
            PeerRefusal::Untrusted(_) => "untrusted",
        }
    }

    pub fn message(&self) -> String {
        match self {
            PeerRefusal::NoCertificate => "a QWAC client certificate is required (mutual TLS)".into(),
            PeerRefusal::NotPsd2(e) => format!("the client certificate is not a PSD2 certificate: {e}"),
            PeerRefusal::Untrusted(e) => format!("client certificate refused: {e}"),
            PeerRefusal::NotQwac => "the client certificate is not a QWAC (qcType web); a QSealC signs requests, it does not open TLS connections".into(),
        }
    }
}

/// What the connection proved: a TPP's QWAC, or why not.
#[derive(Debug, Clone)]
pub struct Peer(pub Arc<Result<Arc<Psd2Certificate>, PeerRefusal>>);

impl Peer {
    /// Checks a connection's certificate chain: a PSD2 certificate, trusted, valid now, not
    /// revoked, with qcType web.
    pub fn check(chain: Option<&[CertificateDer<'static>]>, trust: &TrustStore, now: i64) -> Peer {
        Peer(Arc::new(Peer::verdict(chain, trust, now)))
    }

    fn verdict(
        chain: Option<&[CertificateDer<'static>]>,
        trust: &TrustStore,
        now: i64,
    ) -> Result<Arc<Psd2Certificate>, PeerRefusal> {
        let chain = chain
            .filter(|c| !c.is_empty())
            .ok_or(PeerRefusal::NoCertificate)?;
        let leaf = &chain[0];
        trust
            .verify(leaf.as_ref(), &chain[1..], now, Usage::TlsClient)
            .map_err(PeerRefusal::Untrusted)?;
        let cert = Psd2Certificate::from_der(leaf.as_ref()).map_err(PeerRefusal::NotPsd2)?;
        if !cert.is_qwac() {
            return Err(PeerRefusal::NotQwac);
        }
        Ok(Arc::new(cert))
    }

    /// The refusal's reason, if the connection's certificate was refused.
    pub fn refusal_reason(&self) -> Option<&'static str> {
        self.0.as_ref().as_ref().err().map(PeerRefusal::reason)
    }

    pub fn absent() -> Peer {
        Peer(Arc::new(Err(PeerRefusal::NoCertificate)))
    }
}

/// A connection's client certificate and its verdict, checked again at a request when the
/// trust list changed (a CRL was re-read) or the certificate's validity ended since: a QWAC
/// revoked or expired while a kept-alive connection is open is refused at its next request.
pub struct ConnectionPeer {
    chain: Option<Vec<CertificateDer<'static>>>,
    verdict: std::sync::Mutex<Option<(Arc<TrustStore>, Peer)>>,
}

impl ConnectionPeer {
    pub fn new(
        chain: Option<&[CertificateDer<'static>]>,
        trust: Arc<TrustStore>,
        now: i64,
    ) -> ConnectionPeer {
        let peer = Peer::check(chain, &trust, now);
        ConnectionPeer {
            chain: chain.map(<[CertificateDer<'static>]>::to_vec),
            verdict: std::sync::Mutex::new(Some((trust, peer))),
        }
    }

    /// A connection without a client certificate (the PSU's pages).
    pub fn none() -> ConnectionPeer {
        ConnectionPeer {
            chain: None,
            verdict: std::sync::Mutex::new(None),
        }
    }

    /// The verdict for a request made now, under the trust list in force.
    pub fn for_request(&self, trust: Arc<TrustStore>, now: i64) -> Peer {
        let Some(chain) = self.chain.as_deref() else {
            return Peer::absent();
        };
        let mut verdict = match self.verdict.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let current = match verdict.as_ref() {
            Some((checked_under, peer)) if Arc::ptr_eq(checked_under, &trust) => {
                match peer.0.as_ref() {
                    Ok(cert) if now >= cert.not_after || now < cert.not_before => None,
                    _ => Some(peer.clone()),
                }
            }
            _ => None,
        };
        current.unwrap_or_else(|| {
            let peer = Peer::check(Some(chain), &trust, now);
            *verdict = Some((trust, peer.clone()));
            peer
        })
    }
}
