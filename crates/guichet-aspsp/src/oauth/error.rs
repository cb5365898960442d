//! The one error type of the authorization server (RFC 6749 §4.1.2.1 and §5.2): answered as
//! JSON by the token and revocation endpoints, or sent back to the TPP's redirect URI by
//! `/authorize` and the SCA pages.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An OAuth2 refusal; each variant is one of RFC 6749's error codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest(String),
    /// 401: the client (its QWAC, its client_id, its registration) is not authenticated.
    InvalidClient(String),
    InvalidGrant(String),
    UnsupportedGrantType(String),
    UnsupportedResponseType(String),
    InvalidScope(String),
    AccessDenied(String),
    /// 413: the form is larger than the endpoint reads.
    TooLarge(String),
    /// 503: the database cannot be reached for a moment.
    TemporarilyUnavailable(String),
    /// 500: the cause goes to the log, never to the client.
    ServerError(String),
}

impl OAuthError {
    pub fn invalid_request(d: impl Into<String>) -> OAuthError {
        OAuthError::InvalidRequest(d.into())
    }
    pub fn invalid_client(d: impl Into<String>) -> OAuthError {
        OAuthError::InvalidClient(d.into())
    }
    pub fn invalid_grant(d: impl Into<String>) -> OAuthError {
        OAuthError::InvalidGrant(d.into())
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> OAuthError {
        OAuthError::UnsupportedGrantType(d.into())
    }
    pub fn unsupported_response_type(d: impl Into<String>) -> OAuthError {
        OAuthError::UnsupportedResponseType(d.into())
    }
    pub fn invalid_scope(d: impl Into<String>) -> OAuthError {
        OAuthError::InvalidScope(d.into())
    }
    pub fn access_denied(d: impl Into<String>) -> OAuthError {
        OAuthError::AccessDenied(d.into())
    }
    pub fn server_error(d: impl Into<String>) -> OAuthError {
        OAuthError::ServerError(d.into())
    }

    /// The RFC 6749 `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) | OAuthError::TooLarge(_) => "invalid_request",
            OAuthError::InvalidClient(_) => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::UnsupportedResponseType(_) => "unsupported_response_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::AccessDenied(_) => "access_denied",
            OAuthError::TemporarilyUnavailable(_) => "temporarily_unavailable",
            OAuthError::ServerError(_) => "server_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            OAuthError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
            OAuthError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            OAuthError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            OAuthError::TemporarilyUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// What the client is told.
    pub fn description(&self) -> &str {
        match self {
            OAuthError::ServerError(_) => "internal error",
            OAuthError::InvalidRequest(d)
            | OAuthError::InvalidClient(d)
            | OAuthError::InvalidGrant(d)
            | OAuthError::UnsupportedGrantType(d)
            | OAuthError::UnsupportedResponseType(d)
            | OAuthError::InvalidScope(d)
            | OAuthError::AccessDenied(d)
            | OAuthError::TemporarilyUnavailable(d)
            | OAuthError::TooLarge(d) => d,
        }
    }

    /// The TPP's redirect URI with `error`, `error_description` and `state` (RFC 6749
    /// §4.1.2.1).
    pub fn redirect(&self, redirect_uri: &str, state: Option<&str>) -> Response {
        super::authorize::oauth_error(redirect_uri, state, self.code(), self.description())
    }
}

/// RFC 6749 §5.1: token answers are never cached.
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        if let OAuthError::ServerError(cause) = &self {
            tracing::error!(%cause, "token endpoint failed");
        }
        let body =
            serde_json::json!({"error": self.code(), "error_description": self.description()});
        let mut response = (self.status(), axum::Json(body)).into_response();
        no_store(response.headers_mut());
        if let OAuthError::TemporarilyUnavailable(_) = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(5));
            response
                .extensions_mut()
                .insert(crate::error::DatabaseFault);
        }
        if self.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_client\""),
            );
        }
        response
    }
}

impl From<guichet_store::StoreError> for OAuthError {
    fn from(e: guichet_store::StoreError) -> Self {
        if e.is_transient() {
            tracing::warn!(error = %e, "database unavailable or in conflict");
            return OAuthError::TemporarilyUnavailable(
                "the bank's systems are unavailable for a moment; retry shortly".into(),
            );
        }
        OAuthError::ServerError(e.to_string())
    }
}
