//! The STET 1.4.2 Account Information API, with the mixed consent model (CR164).

mod accounts;
mod balances;
mod beneficiaries;
pub(crate) mod consents;
pub(crate) use consents::read_json_body;
mod identity;
mod page;
mod query;
mod transactions;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use guichet_stet::amount::AmountType;
use guichet_store::{AccountRecord, ConsentRecord};
use serde::Serialize;

use crate::auth::{AISP, Grant, GrantWithAccount};
use crate::error::{ApiError, ApiResult};
use crate::limits::Allowance;
use crate::state::{AppState, SharedState};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/accounts", get(accounts::list))
        .route("/consents", put(consents::replace))
        .route("/accounts/{account}/balances", get(balances::get))
        .route("/accounts/{account}/transactions", get(transactions::get))
        .route("/end-user-identity", get(identity::get))
        .route("/trusted-beneficiaries", get(beneficiaries::get))
}

/// A JSON answer; the edge layer gives it the negotiated media type.
pub(crate) fn json<T: Serialize>(
    status: StatusCode,
    body: &T,
    allowance: Option<Allowance>,
) -> ApiResult<Response> {
    let bytes =
        serde_json::to_vec(body).map_err(|e| ApiError::Internal(format!("serialising: {e}")))?;
    Ok(json_bytes(status, bytes, allowance))
}

/// A JSON answer already serialised (one buffer, or a page sent in its parts).
pub(crate) fn json_bytes(
    status: StatusCode,
    bytes: impl Into<axum::body::Body>,
    allowance: Option<Allowance>,
) -> Response {
    let mut response = (status, bytes.into()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(allowance) = allowance {
        allowance.write(response.headers_mut());
    }
    response
}

/// 204: nothing to answer (still counted against the batch allowance).
pub(crate) fn no_content(allowance: Option<Allowance>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(allowance) = allowance {
        allowance.write(response.headers_mut());
    }
    response
}

pub(crate) fn amount(minor: i64, currency: &str) -> AmountType {
    AmountType {
        currency: currency.to_owned(),
        amount: guichet_stet::Amount::from_minor(minor),
    }
}

/// An AIS call's who: a token with the `aisp` scope, granted by a PSU.
pub(crate) async fn ais_psu<'g>(state: &AppState, grant: &'g Grant) -> ApiResult<&'g str> {
    grant.require_scope(state, AISP).await?;
    grant.psu()
}

/// The PSU's consent for this TPP, if any was forwarded (read with the token).
pub(crate) fn consent_of(grant: &Grant) -> Option<ConsentRecord> {
    grant.consent.clone()
}

/// The PSU's eligible account the path names, read with the token. Another PSU's account and
/// an unknown id get the same 404, so that nothing leaks about accounts that are not the PSU's.
pub(crate) fn psu_account(read: &GrantWithAccount, psu: &str) -> ApiResult<AccountRecord> {
    let id = read.id.clone()?;
    match &read.account {
        Some(account) if account.psu_id == psu && account.eligible => Ok(account.clone()),
        _ => Err(ApiError::NotFound(format!("account '{id}' not found"))),
    }
}
