//! PSD2 eIDAS certificates (ETSI TS 119 495): reading the QC statements and the
//! organizationIdentifier of QWACs and QSealCs, checking them against a trust list, and a
//! sandbox qualified trust service provider that issues them.
//!
//! No crate parses the PSD2 QC statement (x509-parser and x509-cert leave it unsupported), so
//! [`qc`] decodes it with `der`; certificates are read with `x509-parser`, chains checked with
//! `rustls-webpki`, and the test QTSP builds certificates with `rcgen`.

pub mod cert;
pub mod dn;
pub mod keyid;
pub mod orgid;
pub mod pki;
pub mod qc;
pub mod trust;

pub use cert::{CertError, Psd2Certificate};
pub use dn::Dn;
pub use keyid::KeyIdRef;
pub use orgid::OrgId;
pub use qc::{Psd2Statement, QcStatements, QcType, Role};
pub use trust::{TrustError, TrustStore};

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
