//! The one application error of the bank side, and the only place that decides a refusal's
//! status. The STET ErrorModel itself is written by the edge layer ([`crate::edge`]), which
//! knows the request's path, time and media type.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a request is refused. Each variant documents its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; the message says what to fix.
    #[error("{0}")]
    BadRequest(String),
    /// 401: the TPP's client certificate does not authenticate it (mutual TLS).
    #[error("{0}")]
    Unauthenticated(String),
    /// 400: the HTTP signature or the Digest is refused. In the sandbox the answer also shows
    /// the signing string the bank built.
    #[error("{message}")]
    SignatureRefused {
        message: String,
        signing_string: Option<String>,
    },
    /// 401 `invalid_token`: no token, an unknown, expired or revoked one (RFC 6750 §3.1).
    #[error("{0}")]
    InvalidToken(String),
    /// 403: authenticated, but this access is not allowed (scope, consent, offer).
    #[error("{0}")]
    Forbidden(String),
    /// 403 `insufficient_scope`: the token's scope does not cover this API (RFC 6750 §3.1).
    #[error("{0}")]
    InsufficientScope(String),
    /// 404: no such resource for this PSU (never says whether it exists for someone else).
    #[error("{0}")]
    NotFound(String),
    /// 413: the request body is larger than the bank accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 431: too many header fields, one too large, or too large a header block.
    #[error("{0}")]
    HeadersTooLarge(String),
    /// 406: the Accept header asks for a media type the bank cannot produce.
    #[error("{0}")]
    NotAcceptable(String),
    /// 429: the daily batch allowance is spent; it resets in `allowance.reset_in` seconds.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        allowance: crate::limits::Allowance,
    },
    /// 501: the entry point exists but the bank does not offer it (STET 1.4.2).
    #[error("{0}")]
    NotImplemented(String),
    /// 503: the bank is in a maintenance window or a dependency is down.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after: Option<i64>,
    },
    /// 504: the bank could not answer within 30 s (EBA GL 2.4's timeout).
    #[error("{0}")]
    Timeout(String),
    /// 500: a fault on the bank's side. The cause goes to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
    /// 503 when the database cannot be reached for a moment or stopped the request's
    /// transaction in a conflict with another writer (`StoreError::is_transient`: the request
    /// may be made again), else 500. The cause goes to the log.
    #[error("the bank's systems are unavailable for a moment; retry shortly")]
    Database(guichet_store::StoreError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::SignatureRefused { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Database(e) if e.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The ErrorModel's `error` field: the OAuth2 code where RFC 6750 defines one (the portal:
    /// "rejected with HTTP401 with an error equal to invalid_token"), else the reason phrase.
    fn error_code(&self) -> &'static str {
        match self {
            ApiError::InvalidToken(_) => "invalid_token",
            ApiError::InsufficientScope(_) => "insufficient_scope",
            other => other.status().canonical_reason().unwrap_or("Error"),
        }
    }

    fn client_message(&self) -> String {
        match self {
            ApiError::Internal(_) => {
                "internal error; quote the X-Request-ID to the bank's support".into()
            }
            ApiError::Database(e) if !e.is_transient() => {
                "internal error; quote the X-Request-ID to the bank's support".into()
            }
            other => other.to_string(),
        }
    }
}

/// A refusal travelling from a handler to the edge layer, which renders it.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub error: &'static str,
    pub message: String,
    pub signing_string: Option<String>,
}

impl From<guichet_store::StoreError> for ApiError {
    fn from(error: guichet_store::StoreError) -> Self {
        ApiError::Database(error)
    }
}

/// Marks an answer caused by a database error, for the metrics.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseFault;

impl From<guichet_stet::Invalid> for ApiError {
    fn from(invalid: guichet_stet::Invalid) -> Self {
        ApiError::BadRequest(invalid.0)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Database(e) if e.is_transient() => {
                tracing::warn!(error = %e, "database unavailable or in conflict")
            }
            ApiError::Database(e) => tracing::error!(error = %e, "request failed"),
            _ => {}
        }
        let status = self.status();
        let mut response = status.into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::InvalidToken(message) | ApiError::InsufficientScope(message) => {
                let challenge = format!(
                    "Bearer error=\"{}\", error_description=\"{}\"",
                    self.error_code(),
                    message.replace(['"', '\\'], "'")
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            // Portal, Limits: a refused batch call carries the same X-RateLimit-* headers as
            // the counted ones, with nothing remaining.
            ApiError::TooManyRequests { allowance, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(allowance.reset_in));
                allowance.write(headers);
            }
            ApiError::Unavailable {
                retry_after: Some(retry_after),
                ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            // A conflict is over once the other writer commits; an outage takes longer.
            ApiError::Database(e) if e.is_transient() => {
                let seconds = if e.is_unavailable() { 5 } else { 1 };
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            _ => {}
        }
        let signing_string = match &self {
            ApiError::SignatureRefused { signing_string, .. } => signing_string.clone(),
            _ => None,
        };
        if matches!(self, ApiError::Database(_)) {
            response.extensions_mut().insert(DatabaseFault);
        }
        response.extensions_mut().insert(Refusal {
            status,
            error: self.error_code(),
            message: self.client_message(),
            signing_string,
        });
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
