//! GET /accounts/{accountResourceId}/balances.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use guichet_stet::model::{BalanceResource, BalancesLinks, HalBalances};
use guichet_store::Operation;

use super::{ais_psu, amount, consent_of, json, psu_account};
use crate::auth::GrantWithAccount;
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, AisMethod};
use crate::links;
use crate::state::{CurrentBank, SharedState};

/// STET: "The ASPSP must provide at least the accounting balance on the account" (CLBD); the
/// instant balance (XPCD) is added where the bank's profile offers it.
pub async fn get(
    State(state): State<SharedState>,
    CurrentBank(bank): CurrentBank,
    read: GrantWithAccount,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let grant = &read.grant;
    let psu = ais_psu(&state, grant).await?;
    let account = psu_account(&read, psu)?;
    let id = account.resource_id.as_str();
    let consent = consent_of(grant).unwrap_or_default();
    if !consent.allows(id, Operation::Balances) {
        return Err(ApiError::Forbidden(format!(
            "the PSU's consent does not cover the balances of account '{id}'"
        )));
    }
    let allowance = limits::spend(&state, &bank, grant, &headers, id, AisMethod::Balances).await?;
    let balances: Vec<BalanceResource> = state
        .store
        .balances(bank.code(), id)
        .await?
        .into_iter()
        .filter(|b| {
            b.balance_type == "CLBD" || (b.balance_type == "XPCD" && bank.profile.instant_balance)
        })
        .map(|b| BalanceResource {
            name: b.name,
            balance_amount: amount(b.amount_minor, &b.currency),
            balance_type: b.balance_type,
            last_change_date_time: b
                .last_change
                .and_then(|t| jiff::Timestamp::from_second(t).ok())
                .map(|t| bank.zone.to_datetime(t).to_string() + &offset_suffix(&bank.zone, t)),
            reference_date: b.reference_date,
            last_committed_transaction: b.last_committed,
        })
        .collect();
    if balances.is_empty() {
        return Err(ApiError::Internal(format!(
            "account {id} has no accounting balance"
        )));
    }
    let body = HalBalances {
        balances,
        links: BalancesLinks {
            self_: links::balances(id),
            parent_list: Some(links::accounts()),
            transactions: consent
                .allows(id, Operation::Transactions)
                .then(|| links::transactions(id)),
        },
    };
    json(StatusCode::OK, &body, allowance)
}

/// The `+01:00` of an instant in the bank's zone, for RFC 3339 date-times.
fn offset_suffix(zone: &jiff::tz::TimeZone, at: jiff::Timestamp) -> String {
    let seconds = zone.to_offset(at).seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}
