//! PUT /consents: the PSU's consent, forwarded by the AISP (mixed model, CR164).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guichet_stet::consent::AccountRef;
use guichet_stet::parse_access;
use guichet_store::ConsentRecord;

use super::ais_psu;
use crate::auth::Grant;
use crate::error::{ApiError, ApiResult};
use crate::state::{CurrentBank, SharedState};

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY: usize = 64 * 1024;

/// Portal, "Forward customer's consent": "Each new API request calls the ASPSP consent service,
/// for one given PSU, replaces any prior consent that was previously sent by the AISP." The
/// consent is recorded "for one given PSU, one given AISP, one given operation and one given
/// account". Answers 201 with no body.
pub async fn replace(
    State(state): State<SharedState>,
    CurrentBank(bank): CurrentBank,
    grant: Grant,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let psu = ais_psu(&state, &grant).await?;
    let bytes = read_json_body(&headers, body).await?;
    let request = parse_access(&bytes)?;
    let mut consent = ConsentRecord {
        psu_identity: request.psu_identity,
        trusted_beneficiaries: request.trusted_beneficiaries,
        updated_at: state.now().as_second(),
        ..ConsentRecord::default()
    };
    for (list, named) in [
        (&mut consent.balances, &request.balances),
        (&mut consent.transactions, &request.transactions),
    ] {
        for account in named {
            list.insert(resolve(&state, bank.code(), psu, account).await?);
        }
    }
    state
        .store
        .replace_consent(bank.code(), psu, grant.client_id(), &consent)
        .await?;
    tracing::info!(
        bank = bank.code(),
        client_id = grant.client_id(),
        balances = consent.balances.len(),
        transactions = consent.transactions.len(),
        psu_identity = consent.psu_identity,
        "consent replaced"
    );
    Ok(StatusCode::CREATED.into_response())
}

/// The resource id of an IBAN the PSU holds at this bank and may share; a 400 naming the IBAN
/// otherwise (issue #2: "An IBAN that is not the PSU's is a 400 naming it").
async fn resolve(
    state: &SharedState,
    bank: &str,
    psu: &str,
    account: &AccountRef,
) -> ApiResult<String> {
    let iban = account.iban.as_str();
    let record = state
        .store
        .account_by_iban(bank, iban)
        .await?
        .filter(|a| a.psu_id == psu)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "IBAN {iban} is not an account of this PSU at this bank"
            ))
        })?;
    if !record.eligible {
        return Err(ApiError::BadRequest(format!(
            "IBAN {iban} is not an eligible payment account (active, in euro, reachable online)"
        )));
    }
    if let Some(currency) = &account.currency
        && *currency != record.currency
    {
        return Err(ApiError::BadRequest(format!(
            "IBAN {iban} is held in {}, not {currency}",
            record.currency
        )));
    }
    Ok(record.resource_id)
}

/// Reads a JSON request body of at most [`MAX_BODY`] bytes.
pub(crate) async fn read_json_body(
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<axum::body::Bytes> {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let media = content_type
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        if !media.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::BadRequest(format!(
                "Content-Type must be application/json, not '{}'",
                guichet_stet::error::truncate(media)
            )));
        }
    }
    crate::edge::read_body(body, MAX_BODY).await
}
