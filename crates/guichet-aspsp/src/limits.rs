//! Frequency limits on batch access (portal, Limits).
//!
//! "There are no rate limits if the PSU-IP-ADDRESS is supplied, otherwise limited to 4 calls
//! per calendar day (00h00 – 23h59:59:999), per TPP OID, per ASPSP end point, per PSU ID, per
//! IBAN, per API AIS method (/transactions method with or without dateFrom / dateTo
//! parameters is considered as one method)."
//!
//! Batch answers carry `X-RateLimit-Limit` (calls allowed per day), `X-RateLimit-Remaining`
//! (calls left today after this one) and `X-RateLimit-Reset` (seconds until the bank's next
//! midnight); a refused call answers 429 with `Retry-After` in seconds.

use axum::http::{HeaderMap, HeaderValue};
use guichet_store::CallKey;
use jiff::ToSpan;

use crate::auth::{Grant, psu_present};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Bank};

/// The AIS methods counted separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AisMethod {
    Accounts,
    Balances,
    Transactions,
    EndUserIdentity,
    TrustedBeneficiaries,
}

impl AisMethod {
    fn as_str(self) -> &'static str {
        match self {
            AisMethod::Accounts => "accounts",
            AisMethod::Balances => "balances",
            AisMethod::Transactions => "transactions",
            AisMethod::EndUserIdentity => "end-user-identity",
            AisMethod::TrustedBeneficiaries => "trusted-beneficiaries",
        }
    }
}

/// What is left of today's allowance after a counted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub limit: i64,
    pub remaining: i64,
    pub reset_in: i64,
}

impl Allowance {
    pub fn write(self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_in));
    }
}

/// Counts a batch call, or refuses it with 429 when today's calls are spent. Calls with the PSU
/// present are not counted. Called once the request is known to be otherwise acceptable, so a
/// refused request (bad token, no consent, unknown account) never spends the allowance.
pub async fn spend(
    state: &AppState,
    bank: &Bank,
    grant: &Grant,
    headers: &HeaderMap,
    account_id: &str,
    method: AisMethod,
) -> ApiResult<Option<Allowance>> {
    if psu_present(headers)? {
        return Ok(None);
    }
    let now = state.now();
    let local = bank.zone.to_datetime(now);
    let day = local.date();
    let next_midnight = day.checked_add(1.day()).ok().and_then(|d| {
        bank.zone
            .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .ok()
    });
    let reset_in = next_midnight.map_or(86_400, |t| t.as_second() - now.as_second());
    let day = day.to_string();
    let key = CallKey {
        bank_code: bank.code(),
        client_id: grant.client_id(),
        psu_id: grant.psu()?,
        account_id,
        method: method.as_str(),
        day: &day,
    };
    let limit = bank.profile.batch_calls_per_day;
    match state.store.take_call(&key, limit).await? {
        Some(remaining) => Ok(Some(Allowance {
            limit,
            remaining,
            reset_in,
        })),
        None => Err({
            state.metrics.rate_limited(bank.code());
            ApiError::TooManyRequests {
                message: format!(
                    "batch limit reached: {limit} calls per day without PSU-IP-Address for this account and method; resets at midnight, {}",
                    bank.zone.iana_name().unwrap_or("bank time")
                ),
                allowance: Allowance {
                    limit,
                    remaining: 0,
                    reset_in,
                },
            }
        }),
    }
}
