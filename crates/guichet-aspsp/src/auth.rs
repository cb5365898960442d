//! Bearer tokens on the API. The extractor rejects rather than degrades: a bad token is a 401,
//! never an anonymous request.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use guichet_store::{TokenKind, TokenRecord, TokenSecret};

use crate::error::{ApiError, ApiResult};
use crate::state::{CurrentBank, SharedState};

/// The OAuth2 scopes of STET 1.4.2.
pub const AISP: &str = "aisp";
pub const CBPII: &str = "cbpii";
pub const EXTENDED_HISTORY: &str = "extended_transaction_history";

/// A live access token of the request's bank.
#[derive(Debug, Clone)]
pub struct Grant {
    pub token: TokenRecord,
}

impl Grant {
    /// Refuses with 403 `insufficient_scope` unless the token carries `scope`.
    pub fn require_scope(&self, scope: &str) -> ApiResult<()> {
        if self.token.has_scope(scope) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope(format!(
                "this API needs the '{scope}' scope; the token has '{}'",
                self.token.scopes.join(" ")
            )))
        }
    }

    /// The PSU who authorised the token; client-credential tokens have none.
    pub fn psu(&self) -> ApiResult<&str> {
        self.token
            .psu_id
            .as_deref()
            .ok_or_else(|| ApiError::Forbidden("this token was not granted by a PSU".into()))
    }

    pub fn client_id(&self) -> &str {
        &self.token.client_id
    }
}

impl FromRequestParts<SharedState> for Grant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let CurrentBank(bank) = CurrentBank::from_request_parts(parts, state).await?;
        let presented = bearer(&parts.headers)?;
        let token = state
            .store
            .find_token(&presented, TokenKind::Access, bank.code())
            .await?
            .ok_or_else(|| ApiError::InvalidToken("unknown access token".into()))?;
        let now = state.now().as_second();
        if token.revoked_at.is_some() {
            return Err(ApiError::InvalidToken(
                "the access token was revoked".into(),
            ));
        }
        if now >= token.expires_at {
            return Err(ApiError::InvalidToken(
                "the access token has expired; refresh it and replay the request".into(),
            ));
        }
        Ok(Grant { token })
    }
}

fn bearer(headers: &HeaderMap) -> ApiResult<TokenSecret> {
    let value = headers.get(AUTHORIZATION).ok_or_else(|| {
        ApiError::InvalidToken("an access token is required: Authorization: Bearer <token>".into())
    })?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::InvalidToken("the Authorization header is not ASCII".into()))?;
    let (scheme, token) = text.trim().split_once(' ').unwrap_or((text, ""));
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 512 {
        return Err(ApiError::InvalidToken(
            "the Authorization header must be 'Bearer <token>'".into(),
        ));
    }
    Ok(TokenSecret::from_presented(token))
}

/// Whether the PSU is connected to the TPP right now. Portal: PSU-IP-Address is "mandated if
/// the PSU is connected, otherwise blank if you use the batch mode".
pub fn psu_present(headers: &HeaderMap) -> ApiResult<bool> {
    let Some(value) = headers.get("psu-ip-address") else {
        return Ok(false);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::BadRequest("PSU-IP-Address is not an IP address".into()))?
        .trim();
    if text.is_empty() {
        return Ok(false);
    }
    text.parse::<IpAddr>().map(|_| true).map_err(|_| {
        ApiError::BadRequest(format!(
            "PSU-IP-Address '{}' is not an IP address",
            guichet_stet::error::truncate(text)
        ))
    })
}
