//! HTTP signatures as STET 1.4.x uses them: draft-cavage-http-signatures (the `Signature`
//! header, `rsa-sha256` and `hs2019`) and the RFC 3230 `Digest` header.
//!
//! No crate does this with a usable licence and a current stack (see the crates notes), so it is
//! hand-written here and property-tested. The crate knows nothing about certificates or HTTP
//! frameworks: callers hand it header values, the request target and raw public keys.

mod digest;
mod header;
mod keys;
mod signing_string;

pub use digest::{EMPTY_BODY_DIGEST, check_digest, digest_header};
pub use header::SignatureHeader;
pub use keys::{KeyKind, Signer, SigningKey, VerifyingKey};
pub use signing_string::{HeaderSource, signing_string};

/// Why a signature, or the request around it, is refused. Each message names the problem, for
/// the TPP developer who reads the 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    #[error("the Signature header is missing")]
    Missing,
    #[error("the Signature header is malformed: {0}")]
    Malformed(String),
    #[error("'{0}' must be in the signed headers list")]
    MissingSignedHeader(String),
    #[error("'{0}' is in the signed headers list but not in the request")]
    AbsentHeader(String),
    #[error("the Digest header is missing (it is required with a body)")]
    DigestMissing,
    #[error("the Digest header is malformed; expected SHA-256=<base64>")]
    DigestMalformed,
    #[error("the Digest does not match the body")]
    DigestMismatch,
    #[error("unsupported signature algorithm '{0}'; use rsa-sha256 or hs2019")]
    UnsupportedAlgorithm(String),
    #[error("algorithm '{0}' does not fit the certificate's key")]
    AlgorithmMismatch(String),
    #[error("the signature does not verify against the signing string")]
    BadSignature,
    #[error("unusable key: {0}")]
    BadKey(String),
}

/// The headers STET requires in the signed list for a request carrying these headers:
/// `(request-target)`, `digest`, `x-request-id`, `date` when sent, and every `PSU-*` header
/// present (STET Part I §3.5, as quoted by Airlock and Qonto; see the crates notes §2.3).
pub fn stet_required_headers<'a>(
    present: impl Iterator<Item = &'a str>,
    has_body: bool,
) -> Vec<String> {
    let mut required = vec!["(request-target)".to_owned(), "x-request-id".to_owned()];
    // The portal's parameter tables mark Digest "not mandatory": a bodiless request may go
    // without it; a body, or a Digest sent anyway, must be covered by the signature.
    if has_body {
        required.push("digest".to_owned());
    }
    for name in present {
        let name = name.to_ascii_lowercase();
        let signed = name == "date" || name == "digest" || name.starts_with("psu-");
        if signed && !required.contains(&name) {
            required.push(name);
        }
    }
    required
}

/// Signs a STET request: computes its `Digest` and signs `(request-target)`, `digest`,
/// `x-request-id`, `date` if sent and every `PSU-*` header. Answers the `Digest` and
/// `Signature` header values.
pub fn stet_sign(
    signer: &Signer,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<(String, String), SigError> {
    let digest = digest_header(body);
    let mut signed = vec![("digest".to_owned(), digest.clone())];
    let wanted = |name: &str| name == "x-request-id" || name == "date" || name.starts_with("psu-");
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if wanted(&name) {
            signed.push((name, value.clone()));
        }
    }
    let signature = signer.sign(Some((method, target)), &signed)?;
    Ok((digest, signature))
}
