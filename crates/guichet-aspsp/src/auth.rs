//! Bearer tokens on the API. The extractor rejects rather than degrades: a bad token is a 401,
//! never an anonymous request.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use guichet_eidas::{Psd2Certificate, Role};
use guichet_stet::ResourceId;
use guichet_store::{
    Access, AccountRecord, BalanceRecord, ConsentRecord, TokenRecord, TokenSecret,
};

use crate::context::{Qwac, Signed};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, CurrentBank, SharedState};

/// The OAuth2 scopes of STET 1.4.2.
pub const AISP: &str = "aisp";
pub const CBPII: &str = "cbpii";
pub const EXTENDED_HISTORY: &str = "extended_transaction_history";

/// A live access token of the request's bank, presented over the QWAC it was issued to.
#[derive(Debug, Clone)]
pub struct Grant {
    pub token: TokenRecord,
    /// The QWAC of the connection.
    pub qwac: Arc<Psd2Certificate>,
    /// The consent of the token's PSU to its TPP, read with the token.
    pub consent: Option<ConsentRecord>,
}

/// The PSD2 role a scope needs (eIDAS notes §1.5: aisp needs PSP_AI, cbpii PSP_IC, pisp PSP_PI).
pub fn role_for_scope(scope: &str) -> Option<Role> {
    match scope {
        AISP | EXTENDED_HISTORY => Some(Role::AccountInformation),
        CBPII => Some(Role::CardIssuing),
        "pisp" => Some(Role::PaymentInitiation),
        _ => None,
    }
}

impl Grant {
    /// Refuses with 403 `insufficient_scope` unless the token carries `scope`, and with 403
    /// unless the QWAC holds the PSD2 role the scope needs.
    ///
    /// Portal, "Refresh your token", step 4: the bank revokes the refresh token "after reject
    /// of a request for insufficient scope, in order to allow the AISP to request another
    /// token with the desired scope".
    pub async fn require_scope(&self, state: &AppState, scope: &str) -> ApiResult<()> {
        if !self.token.has_scope(scope) {
            match state
                .store
                .revoke_refresh_tokens(&self.token.family_id, state.now().as_second())
                .await
            {
                Ok(revoked) => {
                    tracing::info!(client_id = %self.token.client_id, revoked, "insufficient scope: the grant's refresh token is revoked")
                }
                // The refusal stands; the refresh token outlives it (logged for the operator).
                Err(e) => {
                    tracing::error!(error = %e, "revoking the refresh token after an insufficient-scope refusal")
                }
            }
            return Err(ApiError::InsufficientScope(format!(
                "this API needs the '{scope}' scope; the token has '{}'",
                self.token.scopes.join(" ")
            )));
        }
        match role_for_scope(scope) {
            Some(role) if !self.qwac.has_role(&role) => Err(ApiError::Forbidden(format!(
                "the QWAC of {} lacks the {} role that scope '{scope}' needs",
                self.qwac.org_id,
                role.name()
            ))),
            _ => Ok(()),
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

/// What an API request presents before its token is read.
struct Presented {
    bank_code: String,
    secret: TokenSecret,
    qwac: Arc<Psd2Certificate>,
    qseal: Arc<Psd2Certificate>,
}

impl Presented {
    async fn read(parts: &mut Parts, state: &SharedState) -> Result<Presented, ApiError> {
        let CurrentBank(bank) = CurrentBank::from_request_parts(parts, state).await?;
        let secret = bearer(&parts.headers)?;
        let Qwac(qwac) = Qwac::from_request_parts(parts, state).await?;
        // Every API request is signed before its token is read (STET Part I §3.5).
        let Signed { qseal } = Signed::from_request_parts(parts, state).await?;
        Ok(Presented {
            bank_code: bank.code().to_owned(),
            secret,
            qwac,
            qseal,
        })
    }

    /// The grant, once the token read with its consent (and whether the QSealC that verified
    /// the signature, found in a per-process cache, is still registered) passes every check.
    fn grant(self, access: Option<Access>, now: i64) -> Result<Grant, ApiError> {
        let access = access.ok_or_else(|| ApiError::InvalidToken("unknown access token".into()))?;
        let qwac = self.qwac;
        if !access.seal_registered {
            return Err(ApiError::SignatureRefused {
                message: format!(
                    "the QSealC that signed the request is no longer registered by {}",
                    qwac.org_id
                ),
                signing_string: None,
            });
        }
        let token = access.token;
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
        // Portal: "The [client_id] that is linked to the access token must directly or
        // indirectly match with the Authorisation Number that is located within the TPP's
        // eIDAS certificate (QWAC)"; RFC 8705: the token is bound to the certificate.
        if token.client_id != qwac.org_id.as_str() {
            return Err(ApiError::InvalidToken(
                "the access token was issued to another TPP".into(),
            ));
        }
        if token.cert_thumbprint.as_deref() != Some(qwac.sha256.as_str()) {
            return Err(ApiError::InvalidToken(
                "the access token is bound to another certificate than this connection's QWAC"
                    .into(),
            ));
        }
        Ok(Grant {
            token,
            qwac,
            consent: access.consent,
        })
    }
}

impl Presented {
    /// The grant, with the accounts of its PSU (or the one named `only`) and their CLBD, read
    /// with the token in one round trip.
    async fn grant_with_accounts(
        self,
        state: &SharedState,
        only: Option<&str>,
    ) -> Result<(Grant, Vec<(AccountRecord, Option<BalanceRecord>)>), ApiError> {
        let read = state
            .store
            .access_with_accounts(
                &self.secret,
                &self.bank_code,
                self.qwac.org_id.as_str(),
                &self.qseal.sha256,
                "CLBD",
                only,
            )
            .await?;
        let (access, accounts) = match read {
            Some((access, accounts)) => (Some(access), accounts),
            None => (None, Vec::new()),
        };
        Ok((self.grant(access, state.now().as_second())?, accounts))
    }
}

impl FromRequestParts<SharedState> for Grant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let presented = Presented::read(parts, state).await?;
        // The token, its PSU's consent and the QSealC's registration: one round trip.
        let access = state
            .store
            .access(
                &presented.secret,
                &presented.bank_code,
                presented.qwac.org_id.as_str(),
                &presented.qseal.sha256,
            )
            .await?;
        presented.grant(access, state.now().as_second())
    }
}

/// A [`Grant`] with the accounts of its PSU, each with its accounting balance (CLBD), read in
/// the same round trip (GET /accounts).
pub struct GrantWithAccounts {
    pub grant: Grant,
    pub accounts: Vec<(AccountRecord, Option<BalanceRecord>)>,
}

impl FromRequestParts<SharedState> for GrantWithAccounts {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let (grant, accounts) = Presented::read(parts, state)
            .await?
            .grant_with_accounts(state, None)
            .await?;
        Ok(GrantWithAccounts { grant, accounts })
    }
}

/// A [`Grant`] with the account a path names (`/accounts/{account}/…`), read in the same
/// round trip when it is one of the token's PSU's: `account` is none for an account that is
/// not the PSU's, or unknown. A malformed resourceId is kept for the handler to refuse in
/// its turn (after the scope).
pub struct GrantWithAccount {
    pub grant: Grant,
    pub id: Result<ResourceId, guichet_stet::Invalid>,
    pub account: Option<AccountRecord>,
}

impl FromRequestParts<SharedState> for GrantWithAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let Path(raw_id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::NotFound(e.body_text()))?;
        let id = ResourceId::parse(&raw_id);
        let (grant, accounts) = Presented::read(parts, state)
            .await?
            .grant_with_accounts(state, Some(id.as_ref().map_or("", |id| id.as_str())))
            .await?;
        let account = accounts.into_iter().next();
        Ok(GrantWithAccount {
            grant,
            id,
            account: account.map(|(account, _)| account),
        })
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
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 4096 {
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
