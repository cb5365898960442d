//! The edge of the API: what every request goes through before and after its handler.
//!
//! Before: the bank (Host or listener), `X-Request-ID` (required, at most 70 characters),
//! content negotiation (406), the maintenance window (503). After: every refusal becomes a STET
//! ErrorModel — the only place that writes one — and every response echoes `X-Request-ID`
//! and carries the negotiated media type.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use guichet_stet::{ErrorModel, XRequestId};

use tracing::Instrument;

use crate::conn::EdgeLimits;
use crate::error::{ApiError, Refusal};
use crate::ops::Operation;
use crate::state::{CurrentBank, ListenerBank, SharedState};
use crate::tls::Peer;

pub const X_REQUEST_ID: &str = "x-request-id";

/// The two representations the bank produces (portal: "Output application/hal+json;
/// charset=utf-8, application/json; charset=utf-8").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    HalJson,
    Json,
}

impl MediaType {
    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::HalJson => "application/hal+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the representation for an Accept header (RFC 9110 §12.5.1: the most specific
/// matching range gives the quality; HAL wins ties, as STET's default).
pub fn negotiate(accept: Option<&str>) -> Result<MediaType, ApiError> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(MediaType::HalJson);
    };
    let mut ranges = Vec::new();
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut quality = 1.0f32;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                quality = value.trim().parse().unwrap_or(0.0);
            }
        }
        ranges.push((range, quality));
    }
    let quality_of = |exact: &str| -> f32 {
        for candidate in [exact, "application/*", "*/*"] {
            if let Some((_, q)) = ranges.iter().find(|(range, _)| range == candidate) {
                return *q;
            }
        }
        0.0
    };
    let hal = quality_of("application/hal+json");
    let json = quality_of("application/json");
    if hal <= 0.0 && json <= 0.0 {
        return Err(ApiError::NotAcceptable(format!(
            "cannot produce '{}'; this API answers application/hal+json or application/json",
            accept.chars().take(60).collect::<String>()
        )));
    }
    Ok(if hal >= json {
        MediaType::HalJson
    } else {
        MediaType::Json
    })
}

/// The outermost layer of the API listener (STET API, token and revocation endpoints,
/// registration): the size limits of the request head and body, the maintenance window, the
/// `X-Request-ID` echo on every answer (the value as received, whatever its characters), the
/// request's log span (request id, bank, TPP), the access log and the metrics.
pub async fn guard(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let echo = request.headers().get(X_REQUEST_ID).cloned();
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let bank = bank_of(&state, &request);
    let bank_code = bank.as_ref().map_or("-", |b| b.code()).to_owned();
    let tpp = crate::context::Qwac::of(request.extensions())
        .map(|qwac| qwac.org_id.to_string())
        .unwrap_or_default();
    let request_id = echo
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let span = tracing::info_span!("request", request_id, bank = bank_code, tpp);
    let admitted = within_limits(&state.edge, &request)
        .and_then(|()| bank.as_deref().map_or(Ok(()), |b| open(&state, b)));
    let in_maintenance = matches!(admitted, Err(ApiError::Unavailable { .. }));
    // RTS art. 32(4), GL 2.4: a call not answered within 30 s is a failure. It is answered
    // 504 then; a call whose client went away before the answer is recorded as failed too.
    let category = crate::regulatory::recorder::classify(&path);
    let unanswered = Unanswered {
        call: category.map(|(category, api_version)| PendingCall {
            state: state.clone(),
            bank_code: bank_code.clone(),
            category,
            api_version,
            started,
        }),
    };
    let mut response = match admitted {
        Ok(()) => {
            match tokio::time::timeout(ANSWER_DEADLINE, next.run(request).instrument(span.clone()))
                .await
            {
                Ok(response) => response,
                Err(_) => render(
                    &state,
                    ApiError::Timeout("the bank could not answer within 30 s; retry later".into())
                        .into_response(),
                    &path,
                    MediaType::Json,
                ),
            }
        }
        Err(refusal) => {
            // What the client sends is read and dropped first (a connection closed on unread
            // data is reset, and the reset can destroy the answer), for a bounded time.
            let (parts, body) = request.into_parts();
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(2), read_body(body, 0)).await;
            let media = negotiate(
                parts
                    .headers
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok()),
            )
            .unwrap_or(MediaType::Json);
            render(&state, refusal.into_response(), &path, media)
        }
    };
    if let Some(echo) = echo {
        response.headers_mut().insert(X_REQUEST_ID, echo);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if response
        .extensions()
        .get::<crate::error::DatabaseFault>()
        .is_some()
    {
        state.metrics.db_error();
    }
    state.metrics.request(
        &bank_code,
        guichet_stet::API_VERSION,
        operation_of(&path),
        status,
        elapsed.as_secs_f64(),
    );
    // RTS art. 32(4): every call's outcome, for the quarterly statistics; the refusals of a
    // maintenance window are its planned downtime, not calls.
    if in_maintenance {
        unanswered.forget();
    } else {
        unanswered.record(status, elapsed);
    }
    // The access log: no query string (it may carry entryReferences), no header values
    // beyond the request id, never a token or a signature.
    span.in_scope(|| {
        tracing::info!(
            target: "guichet::access",
            %method,
            path,
            status,
            micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        )
    });
    response
}

/// GL 2.4: "not replied to within a total timeout of 30 seconds".
const ANSWER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// A call of the statistics not yet answered: recorded with its answer, or as failed if it is
/// dropped unanswered (its client went away, its connection was closed).
struct Unanswered {
    call: Option<PendingCall>,
}

struct PendingCall {
    state: SharedState,
    bank_code: String,
    category: crate::regulatory::recorder::Category,
    api_version: &'static str,
    started: std::time::Instant,
}

impl PendingCall {
    fn write(&self, status: u16, elapsed: std::time::Duration) {
        self.state
            .recorder
            .record(crate::regulatory::recorder::Call {
                bank_code: &self.bank_code,
                api_version: self.api_version,
                category: self.category,
                status,
                micros: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                at: self.state.now().as_second(),
            });
    }
}

impl Unanswered {
    fn record(mut self, status: u16, elapsed: std::time::Duration) {
        if let Some(call) = self.call.take() {
            call.write(status, elapsed);
        }
    }

    /// A maintenance refusal: planned downtime, not a call.
    fn forget(mut self) {
        self.call = None;
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            // No answer at all: as a call answered too late.
            call.write(504, call.started.elapsed().max(ANSWER_DEADLINE));
        }
    }
}

/// What an API path is, for the metrics.
pub fn operation_of(path: &str) -> Operation {
    let Some(rest) = path.strip_prefix(guichet_stet::BASE_PATH) else {
        return match path {
            "/stet/psd2/oauth/token" | "/stet/psd2/oauth/revoke" => Operation::OAuth,
            p if p.starts_with("/register") => Operation::Register,
            _ => Operation::Other,
        };
    };
    match rest.split('/').nth(1).unwrap_or("") {
        "accounts" | "consents" | "end-user-identity" | "trusted-beneficiaries" => Operation::Ais,
        "funds-confirmations" => Operation::Cbpii,
        "payment-requests" => Operation::Pis,
        _ => Operation::Other,
    }
}

/// The bank a request of the API listener is for: by Host, else by listener.
fn bank_of(state: &SharedState, request: &Request) -> Option<std::sync::Arc<crate::state::Bank>> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let listener = request
        .extensions()
        .get::<ListenerBank>()
        .and_then(|l| l.0.as_deref());
    state.resolve_bank(host, listener)
}

/// Maintenance closes the whole API listener of a bank: the STET API, `/token`, `/revoke`,
/// registration.
fn open(state: &SharedState, bank: &crate::state::Bank) -> Result<(), ApiError> {
    match bank.in_maintenance(state.now()) {
        Some(left) => Err(ApiError::Unavailable {
            message: format!("{} is in its weekly maintenance window", bank.profile.name),
            retry_after: Some(left),
        }),
        None => Ok(()),
    }
}

/// The request head's limits (README, "Security"): header fields, each field, the whole
/// block; and a declared body length.
fn within_limits(limits: &EdgeLimits, request: &Request) -> Result<(), ApiError> {
    let headers = request.headers();
    if headers.len() > limits.max_headers {
        return Err(ApiError::HeadersTooLarge(format!(
            "{} header fields; at most {} are accepted",
            headers.len(),
            limits.max_headers
        )));
    }
    let mut block = 0usize;
    for (name, value) in headers {
        // RFC 9112 §5: name, colon, space, value, CRLF.
        let size = name.as_str().len() + value.len() + 4;
        if size > limits.max_header_bytes {
            return Err(ApiError::HeadersTooLarge(format!(
                "the header field {} is {size} bytes; at most {} are accepted",
                guichet_stet::error::truncate(name.as_str()),
                limits.max_header_bytes
            )));
        }
        block += size;
    }
    if block > limits.max_header_block_bytes {
        return Err(ApiError::HeadersTooLarge(format!(
            "the header block is {block} bytes; at most {} are accepted",
            limits.max_header_block_bytes
        )));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return Err(too_large_body(limits));
    }
    Ok(())
}

/// How much of an oversized body is read and dropped before the 413 is sent: a connection
/// closed with unread data is reset by the kernel, and the reset can destroy the answer
/// before the client reads it.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// Reads a request body of at most `limit` bytes: 413 beyond (after draining what remains, up
/// to [`DRAIN_LIMIT`]), 400 when it was cut.
pub async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ApiError::BadRequest("the request body was cut".into()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > limit {
            if seen > DRAIN_LIMIT {
                break;
            }
            continue;
        }
        bytes.extend_from_slice(&data);
    }
    if seen > limit {
        return Err(ApiError::PayloadTooLarge(format!(
            "the request body is larger than {} KiB",
            limit / 1024
        )));
    }
    Ok(bytes.into())
}

/// 413 for a body over the limit.
pub fn too_large_body(limits: &EdgeLimits) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the request body is larger than {} KiB",
        limits.max_body_bytes / 1024
    ))
}

/// The STET API's admission and refusals: the bank, `X-Request-ID`, the media type, the
/// client certificate, the maintenance window; every refusal of the API rendered as an
/// ErrorModel in the negotiated media type.
pub async fn edge(State(state): State<SharedState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let negotiated = negotiate(accept);
    let media = *negotiated.as_ref().unwrap_or(&MediaType::Json);
    let response = match admit(&state, &mut request, negotiated) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    };
    render(&state, response, &path, media)
}

fn admit(
    state: &SharedState,
    request: &mut Request,
    negotiated: Result<MediaType, ApiError>,
) -> Result<(), ApiError> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().host());
    let listener = request
        .extensions()
        .get::<ListenerBank>()
        .and_then(|l| l.0.as_deref());
    let bank = state
        .resolve_bank(host, listener)
        .ok_or_else(|| ApiError::NotFound("no bank is served at this address".into()))?;
    let request_id = match request.headers().get(X_REQUEST_ID) {
        None => {
            return Err(ApiError::BadRequest(
                "the X-Request-ID header is required".into(),
            ));
        }
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| ApiError::BadRequest("X-Request-ID must be printable ASCII".into()))?;
            XRequestId::parse(text)?
        }
    };
    let media = negotiated?;
    // Mutual TLS: every request of the API listener comes from a TPP's valid QWAC.
    let peer = request
        .extensions()
        .get::<Peer>()
        .cloned()
        .unwrap_or_else(Peer::absent);
    if let Err(refusal) = peer.0.as_ref() {
        return Err(ApiError::Unauthenticated(refusal.message()));
    }
    let extensions = request.extensions_mut();
    extensions.insert(CurrentBank(bank));
    extensions.insert(request_id);
    extensions.insert(media);
    extensions.insert(peer);
    Ok(())
}

/// Writes the STET ErrorModel of a refusal — the only place that writes one — and sets the
/// negotiated media type on JSON answers.
fn render(state: &SharedState, mut response: Response, path: &str, media: MediaType) -> Response {
    let status = response.status();
    let refusal = response.extensions().get::<Refusal>().cloned();
    if status.is_client_error() || status.is_server_error() {
        let refusal =
            refusal.unwrap_or_else(|| framework_refusal(status, path, response.headers()));
        let mut model = ErrorModel::new(
            state.now().to_string(),
            refusal.status.as_u16(),
            refusal.error,
            &refusal.message,
            path,
        );
        model.signing_string = refusal.signing_string;
        let body = serde_json::to_vec(&model).unwrap_or_default();
        let (mut parts, _) = response.into_parts();
        parts.status = refusal.status;
        parts.headers.remove(header::CONTENT_LENGTH);
        parts
            .headers
            .insert(header::CONTENT_TYPE, media.content_type());
        response = Response::from_parts(parts, Body::from(body));
    } else if is_json(response.headers()) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, media.content_type());
    }
    response
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A refusal produced by the router itself (no route, wrong method, a rejected extractor).
fn framework_refusal(status: StatusCode, path: &str, headers: &HeaderMap) -> Refusal {
    let (status, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            (
                status,
                format!("method not allowed on {path}; allowed: {allow}"),
            )
        }
        StatusCode::NOT_FOUND => (status, format!("no resource at {path}")),
        StatusCode::PAYLOAD_TOO_LARGE => (status, "the request body is too large".to_owned()),
        s if s.is_client_error() => (StatusCode::BAD_REQUEST, "malformed request".to_owned()),
        s => (
            s,
            "the bank could not answer; quote the X-Request-ID to its support".to_owned(),
        ),
    };
    Refusal {
        status,
        error: status.canonical_reason().unwrap_or("Error"),
        message,
        signing_string: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_the_accept_header() {
        let pick = |accept: Option<&str>| negotiate(accept).ok();
        assert_eq!(pick(None), Some(MediaType::HalJson));
        assert_eq!(pick(Some("*/*")), Some(MediaType::HalJson));
        assert_eq!(pick(Some("application/json")), Some(MediaType::Json));
        assert_eq!(
            pick(Some("application/json; charset=utf-8")),
            Some(MediaType::Json)
        );
        assert_eq!(pick(Some("application/hal+json")), Some(MediaType::HalJson));
        assert_eq!(
            pick(Some("application/hal+json;q=0.5, application/json")),
            Some(MediaType::Json)
        );
        assert_eq!(pick(Some("text/html, */*;q=0.1")), Some(MediaType::HalJson));
        assert_eq!(pick(Some("text/html")), None);
        assert_eq!(pick(Some("application/xml")), None);
        assert_eq!(pick(Some("application/json;q=0")), None);
    }

    proptest::proptest! {
        #[test]
        fn any_accept_header_is_answered_without_panic(accept in "\\PC{0,120}") {
            let _ = negotiate(Some(&accept));
        }

        #[test]
        fn accept_shaped_headers_never_panic(ranges in proptest::collection::vec(("(application|text|\\*)/(json|hal\\+json|html|\\*)", 0u8..=10), 0..5)) {
            let header: Vec<String> = ranges.iter().map(|(r, q)| format!("{r};q=0.{q}")).collect();
            let _ = negotiate(Some(&header.join(", ")));
        }
    }
}
