//! POST /funds-confirmations: the payment coverage check (CBPII, scope `cbpii`).

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use guichet_stet::amount::check_currency;
use guichet_stet::model::{
    HalPaymentCoverageReport, PaymentCoverageReportLinks, PaymentCoverageRequestResource,
};
use guichet_stet::{Amount, Iban, XRequestId};

use crate::ais::{json, read_json_body};
use crate::auth::{CBPII, Grant};
use crate::error::{ApiError, ApiResult};
use crate::links;
use crate::state::{CurrentBank, SharedState};

pub fn router() -> Router<SharedState> {
    Router::new().route("/funds-confirmations", post(confirm))
}

/// STET: "The ASPSP answers with a structure embedding the original request and the result as a
/// Boolean". The amount is covered when it does not exceed the available balance: the instant
/// balance where the bank keeps one, else the accounting balance.
pub async fn confirm(
    State(state): State<SharedState>,
    CurrentBank(bank): CurrentBank,
    grant: Grant,
    Extension(request_id): Extension<XRequestId>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    grant.require_scope(&state, CBPII).await?;
    let bytes = read_json_body(&headers, body).await?;
    let request: PaymentCoverageRequestResource = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::BadRequest(format!("the payment coverage request is invalid: {e}"))
    })?;
    let iban = validate(&request)?;
    let account = state
        .store
        .account_by_iban(bank.code(), iban.as_str())
        .await?
        .filter(|a| {
            a.eligible
                && grant
                    .token
                    .psu_id
                    .as_deref()
                    .is_none_or(|psu| a.psu_id == psu)
        })
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "IBAN {iban} is not an account this token may check"
            ))
        })?;
    // PSD2 art. 65(2)(c): the bank answers only when "the payer has given explicit consent to
    // the account servicing payment service provider to respond to requests from a specific
    // payment service provider"; the portal: "the TPP and the PSU have a contract that has been
    // registered by the ASPSP". The PSU registers it on the bank's pages (`/psu/access`): by
    // this PSU when the token names one, by any PSU holding the account otherwise. The refusal
    // says nothing of the account's other holders.
    let allowed = state
        .store
        .funds_check_allowed(
            bank.code(),
            grant.client_id(),
            &account.resource_id,
            grant.token.psu_id.as_deref(),
        )
        .await?;
    if !allowed {
        return Err(ApiError::Forbidden(guichet_stet::error::truncate(
            &format!(
                "the PSU has not registered {} for funds confirmation on this account",
                grant.client_id()
            ),
        )));
    }
    if request.instructed_amount.currency != account.currency {
        return Err(ApiError::BadRequest(format!(
            "the account is held in {}; instructedAmount is in {}",
            account.currency, request.instructed_amount.currency
        )));
    }
    let balances = state
        .store
        .balances(bank.code(), &account.resource_id)
        .await?;
    let available = balances
        .iter()
        .find(|b| b.balance_type == "XPCD")
        .or_else(|| balances.iter().find(|b| b.balance_type == "CLBD"))
        .map(|b| Amount::from_minor(b.amount_minor))
        .ok_or_else(|| {
            ApiError::Internal(format!("account {} has no balance", account.resource_id))
        })?;
    let result = request.instructed_amount.amount.decimal() <= available.decimal();
    let body = HalPaymentCoverageReport {
        request,
        result,
        links: PaymentCoverageReportLinks {
            self_: links::funds_confirmations(),
        },
    };
    let mut response = json(StatusCode::OK, &body, None)?;
    sign_response(&state, bank.code(), &request_id, &mut response).await?;
    Ok(response)
}

/// STET CR199: the bank signs its CBPII answers with its QSealC: `Digest` of the body, and a
/// `Signature` over `digest` and `x-request-id`.
async fn sign_response(
    state: &SharedState,
    bank: &str,
    request_id: &XRequestId,
    response: &mut Response,
) -> ApiResult<()> {
    let Some(signer) = state.security.bank_signers.get(bank) else {
        return Ok(());
    };
    let body = std::mem::take(response.body_mut());
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let digest = guichet_httpsig::digest_header(&bytes);
    let signed = vec![
        ("digest".to_owned(), digest.clone()),
        ("x-request-id".to_owned(), request_id.as_str().to_owned()),
    ];
    let signature = signer
        .sign(None, &signed)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let headers = response.headers_mut();
    for (name, value) in [("digest", digest), ("signature", signature)] {
        let value = HeaderValue::from_str(&value).map_err(|e| ApiError::Internal(e.to_string()))?;
        headers.insert(name, value);
    }
    *response.body_mut() = Body::from(bytes);
    Ok(())
}

/// STET PaymentCoverageRequestResource: `paymentCoverageRequestId` ≤35, `payee` ≤70, a positive
/// instructed amount, an account identified by IBAN (card numbers are not checked here).
fn validate(request: &PaymentCoverageRequestResource) -> ApiResult<Iban> {
    let id = &request.payment_coverage_request_id;
    if id.is_empty() || id.chars().count() > 35 {
        return Err(ApiError::BadRequest(
            "paymentCoverageRequestId must be 1 to 35 characters".into(),
        ));
    }
    if request
        .payee
        .as_ref()
        .is_some_and(|p| p.chars().count() > 70)
    {
        return Err(ApiError::BadRequest(
            "payee must be at most 70 characters".into(),
        ));
    }
    check_currency(&request.instructed_amount.currency)?;
    if request.instructed_amount.amount.decimal() <= rust_decimal::Decimal::ZERO {
        return Err(ApiError::BadRequest(
            "instructedAmount must be positive".into(),
        ));
    }
    match (&request.account_id.iban, &request.account_id.other) {
        (Some(iban), _) => Ok(Iban::parse(iban)?),
        (None, Some(_)) => Err(ApiError::BadRequest(
            "accounts are identified by IBAN; card numbers are not supported".into(),
        )),
        (None, None) => Err(ApiError::BadRequest("accountId.iban is required".into())),
    }
}
