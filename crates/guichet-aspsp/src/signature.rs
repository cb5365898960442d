//! HTTP signatures on every API request (STET Part I §3.5, draft-cavage).
//!
//! Checks, in order: the `Signature` header parses; the signed list holds `(request-target)`,
//! `digest`, `x-request-id`, `date` when sent and every `PSU-*` header present; `Digest` matches
//! the raw body; `Date` is within the allowed skew; `keyId` names a QSealC the TPP registered
//! (by `_<fingerprint>` suffix or `SN=…,CA=…`; a URL is never fetched); that QSealC has qcType
//! eseal, is valid, unrevoked and of the same organisation as the QWAC; the signature verifies.
//! Any failure is a 400 naming the problem; in the sandbox it also shows the signing string.

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use guichet_eidas::Psd2Certificate;
use guichet_eidas::cert::KeyIdRef;
use guichet_httpsig::{
    SigError, SignatureHeader, check_digest, signing_string, stet_required_headers,
};
use guichet_store::QsealRecord;

use crate::ais::consents::MAX_BODY;
use crate::context::{Qwac, Signed};
use crate::error::{ApiError, ApiResult};
use crate::state::{Mode, SharedState};

pub async fn verify(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    match check(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

fn refuse(error: SigError) -> ApiError {
    ApiError::SignatureRefused {
        message: error.to_string(),
        signing_string: None,
    }
}

async fn check(state: &SharedState, request: Request) -> ApiResult<Request> {
    let (parts, body) = request.into_parts();
    let Qwac(qwac) = Qwac::of(&parts.extensions)
        .map_err(|refusal| ApiError::Unauthenticated(refusal.message()))?;
    let bytes = crate::edge::read_body(body, state.edge.max_body_bytes.min(MAX_BODY)).await?;
    let header = parts
        .headers
        .get("signature")
        .ok_or_else(|| refuse(SigError::Missing))?;
    let header =
        SignatureHeader::parse(&String::from_utf8_lossy(header.as_bytes())).map_err(refuse)?;
    for required in
        stet_required_headers(parts.headers.keys().map(|k| k.as_str()), !bytes.is_empty())
    {
        if !header.headers.contains(&required) {
            return Err(refuse(SigError::MissingSignedHeader(required)));
        }
    }
    match parts.headers.get("digest") {
        Some(digest) => {
            check_digest(&String::from_utf8_lossy(digest.as_bytes()), &bytes).map_err(refuse)?
        }
        // Portal: Digest "not mandatory" — for a request without a body.
        None if bytes.is_empty() => {}
        None => return Err(refuse(SigError::DigestMissing)),
    }
    let now = state.now().as_second();
    if let Some(date) = parts.headers.get("date") {
        let sent = jiff::fmt::rfc2822::DateTimeParser::new()
            .parse_timestamp(date.as_bytes())
            .map_err(|_| ApiError::SignatureRefused {
                message: "the Date header is not an HTTP date".into(),
                signing_string: None,
            })?;
        let skew = (sent.as_second() - now).abs();
        if skew > state.security.clock_skew_seconds {
            return Err(ApiError::SignatureRefused {
                message: format!(
                    "the Date header is {skew} s from the bank's clock; at most {} s are allowed",
                    state.security.clock_skew_seconds
                ),
                signing_string: None,
            });
        }
    }
    let qseal = resolve_key_id(state, &qwac, &header.key_id).await?;
    // The path as the TPP sent it: a nested router sees it without its prefix.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    let target = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let source: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let text = signing_string(
        parts.method.as_str(),
        &target,
        &header.headers,
        source.as_slice(),
    )
    .map_err(refuse)?;
    if let Err(error) = qseal.public_key.verify(&header, &text) {
        tracing::info!(client_id = %qwac.org_id, key_id = %header.key_id, %error, "signature refused");
        let shown = (state.mode == Mode::Sandbox).then_some(text);
        return Err(ApiError::SignatureRefused {
            message: error.to_string(),
            signing_string: shown,
        });
    }
    let mut parts = parts;
    parts.extensions.insert(Signed { qseal });
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The QSealC a keyId designates, among those the QWAC's organisation registered.
async fn resolve_key_id(
    state: &SharedState,
    qwac: &Psd2Certificate,
    key_id: &str,
) -> ApiResult<std::sync::Arc<Psd2Certificate>> {
    let unknown = || ApiError::SignatureRefused {
        message: format!(
            "unknown keyId: no QSealC registered by {} matches it (use <url>_<sha256 fingerprint> or SN=<serial>,CA=<issuer>)",
            qwac.org_id
        ),
        signing_string: None,
    };
    // Read as the matching reads it: decoded, and literally.
    let readings = KeyIdRef::readings(key_id);
    if readings.is_empty() {
        return Err(unknown());
    }
    // From this process's cache first; a keyId it lacks may name a QSealC registered since,
    // on any instance: read afresh before refusing. (The token's read confirms that a cached
    // QSealC is still registered: `Grant`.)
    let org = qwac.org_id.as_str();
    let (records, fresh) = state.store.registered_qseals(org).await?;
    let cert = match find_qseal(state, &records, key_id, &readings)? {
        Some(cert) => cert,
        None if fresh => return Err(unknown()),
        None => find_qseal(
            state,
            &state.store.fresh_qseals(org).await?,
            key_id,
            &readings,
        )?
        .ok_or_else(unknown)?,
    };
    let refuse = |message: String| ApiError::SignatureRefused {
        message,
        signing_string: None,
    };
    if !cert.is_qseal() {
        return Err(refuse(
            "the keyId designates a certificate that is not a QSealC (qcType eseal)".into(),
        ));
    }
    if cert.org_id != qwac.org_id {
        return Err(refuse(format!(
            "the QSealC belongs to {}, the QWAC to {}",
            cert.org_id, qwac.org_id
        )));
    }
    state
        .security
        .verify_qseal(&cert, state.now().as_second())
        .map_err(|e| refuse(format!("QSealC refused: {e}")))?;
    Ok(cert)
}

/// The QSealC among `records` that a keyId designates: by fingerprint, or else by serial and
/// issuer (which needs the parsed certificates).
fn find_qseal(
    state: &SharedState,
    records: &[QsealRecord],
    key_id: &str,
    readings: &[KeyIdRef],
) -> ApiResult<Option<std::sync::Arc<Psd2Certificate>>> {
    let parse = |record: &QsealRecord| {
        state
            .security
            .qseal(record)
            .map_err(|e| ApiError::Internal(e.to_string()))
    };
    let by_fingerprint = records.iter().find(|r| {
        readings.iter().any(|wanted| match wanted {
            KeyIdRef::Fingerprint(fp) => *fp == r.sha256 || *fp == r.sha1,
            KeyIdRef::SerialIssuer { .. } => false,
        })
    });
    if let Some(record) = by_fingerprint {
        return parse(record).map(Some);
    }
    for record in records {
        let cert = parse(record)?;
        if cert.matches_key_id(key_id) {
            return Ok(Some(cert));
        }
    }
    Ok(None)
}
