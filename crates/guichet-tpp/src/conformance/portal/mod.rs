//! The portal's use cases and acceptance tests (BTP Banque – Account Information – STET
//! v1.4.2): the accounts list and the mixed consent, balances, transactions and their date
//! filters and limits, the identity, the trusted beneficiaries, funds confirmation, and the
//! frequency limits.

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::config::Role;
use super::ctx::{
    Consent, Ctx, Reply, Req, Step, Stop, array, day_of, days_before, decimal, ensure, failure,
    pass, resource_ids, resource_of, status_in,
};
use super::{Case, Outcome};
use crate::new_request_id;

mod accounts;
mod services;
mod transactions;

use accounts::*;
use services::*;
pub(super) use services::{coverage, funds_account};
use transactions::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "portal/accounts-before-consent",
            "Get accounts list: before any consent, the eligible accounts without resourceId, balances or links",
            accounts_before_consent
        ),
        case!(
            "portal/accounts-after-consent",
            "Forward customer's consent: 201, then each account with its resourceId, CLBD and links",
            accounts_after_consent
        ),
        case!(
            "portal/consent-replace",
            "Forward customer's consent: a new consent replaces the old one",
            consent_replace
        ),
        case!(
            "portal/consent-revoke",
            "Forward customer's consent: empty lists revoke every account",
            consent_revoke
        ),
        case!(
            "portal/consent-foreign-iban",
            "Forward customer's consent: an IBAN that is not the PSU's is refused, named",
            consent_foreign_iban
        ),
        case!(
            "portal/balances",
            "Get account balance: CLBD for every account of every persona, amounts as strings",
            balances
        ),
        case!(
            "portal/balance-zero",
            "Get account balance: null balance",
            balance_zero
        ),
        case!(
            "portal/balance-positive",
            "Get account balance: positive balance",
            balance_positive
        ),
        case!(
            "portal/balance-negative",
            "Get account balance: negative balance",
            balance_negative
        ),
        case!(
            "portal/balances-unknown-account",
            "Get account balance: an unknown account is a 404",
            balances_unknown_account
        ),
        case!(
            "portal/transactions",
            "Get transactions history: the default set, well formed",
            transactions
        ),
        case!(
            "portal/transactions-dates-utc",
            "Get transactions history: dateFrom and dateTo as YYYY-MM-DDTHH:MM:SS.SSS and …SSSZ",
            dates_utc
        ),
        case!(
            "portal/transactions-dates-offset",
            "Get transactions history: dateFrom and dateTo as YYYY-MM-DDTHH:MM:SS.SSS+HHMM",
            dates_offset
        ),
        case!(
            "portal/transactions-dates-offset-colon",
            "Get transactions history: dateFrom and dateTo as YYYY-MM-DDTHH:MM:SS.SSS+HH:MM",
            dates_offset_colon
        ),
        case!(
            "portal/transactions-date-from",
            "Get transactions history: dateFrom alone (inclusive)",
            date_from_only
        ),
        case!(
            "portal/transactions-date-to",
            "Get transactions history: dateTo alone (exclusive)",
            date_to_only
        ),
        case!(
            "portal/transactions-invalid-date",
            "Get transactions history: an invalid dateFrom or dateTo is a 400",
            invalid_date
        ),
        case!(
            "portal/transactions-unknown-account",
            "Get transactions history: an unknown account is a 404",
            transactions_unknown_account
        ),
        case!(
            "portal/transactions-62-days",
            "Get transactions history: dateFrom older than 62 days is a 400 \"period out of bound\"",
            depth_62
        ),
        case!(
            "portal/transactions-90-days",
            "Limits: 90 days of history for large professionals and corporates",
            depth_90
        ),
        case!(
            "portal/transactions-204",
            "Get transactions history: no operation is a 204",
            no_transactions
        ),
        case!(
            "portal/transactions-500-cap",
            "Limits: at most 500 operations per answer",
            operation_cap
        ),
        case!(
            "portal/end-user-identity",
            "Get PSU's identity: with psuIdentity consented",
            identity
        ),
        case!(
            "portal/end-user-identity-not-consented",
            "Get PSU's identity: without psuIdentity consented, 403",
            identity_not_consented
        ),
        case!(
            "portal/end-user-identity-not-offered",
            "Limits: a bank that does not offer the identity answers 403",
            identity_not_offered
        ),
        case!(
            "portal/trusted-beneficiaries",
            "Trusted beneficiaries: listed when consented",
            beneficiaries
        ),
        case!(
            "portal/trusted-beneficiaries-not-offered",
            "Limits: a bank that does not offer trusted beneficiaries answers 501",
            beneficiaries_not_offered
        ),
        case!(
            "portal/funds-confirmation",
            "Funds confirmation (cbpii): true for a small amount, false for a huge one",
            funds_confirmation
        ),
        case!(
            "portal/limits-batch-allowance",
            "Limits: 4 batch calls a day per account and method with X-RateLimit-*, then 429 with Retry-After",
            batch_allowance
        ),
    ]
}

/// The resource id the portal's acceptance tests use for an unknown account.
const UNKNOWN_ACCOUNT: &str = "CPT30014684067";

fn accounts_persona(r: &Role) -> Option<()> {
    matches!(r, Role::Accounts).then_some(())
}

fn listed_ibans(accounts: &[Value]) -> Vec<String> {
    accounts
        .iter()
        .filter_map(|a| a["accountId"]["iban"].as_str().map(str::to_owned))
        .collect()
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    a.dedup();
    b.dedup();
    a == b
}

fn account_by_iban<'a>(accounts: &'a [Value], iban: &str) -> Option<&'a Value> {
    accounts
        .iter()
        .find(|a| a["accountId"]["iban"].as_str() == Some(iban))
}

fn has_link(account: &Value, name: &str) -> bool {
    account["_links"][name]["href"].is_string()
}

/// The accounting balance of a balances answer, after checking every balance's shape.
fn check_balances(body: &Value) -> Result<(Decimal, String), String> {
    let balances = array(&body["balances"]);
    if balances.is_empty() {
        return Err("no `balances` array".into());
    }
    let mut clbd = None;
    for balance in &balances {
        let kind = balance["balanceType"].as_str().unwrap_or("");
        let amount = &balance["balanceAmount"]["amount"];
        if !amount.is_string() {
            return Err(format!("the {kind} amount is not a JSON string: {amount}"));
        }
        let value = decimal(amount)
            .ok_or_else(|| format!("the {kind} amount {amount} is not a decimal"))?;
        let currency = balance["balanceAmount"]["currency"].as_str().unwrap_or("");
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "the {kind} currency '{currency}' is not an ISO 4217 code"
            ));
        }
        if kind == "CLBD" {
            clbd = Some((
                value,
                format!("{} {currency}", amount.as_str().unwrap_or("")),
            ));
        }
    }
    clbd.ok_or_else(|| {
        let kinds: Vec<&str> = balances
            .iter()
            .filter_map(|b| b["balanceType"].as_str())
            .collect();
        format!("no CLBD balance among {kinds:?}")
    })
}

/// The shape STET 1.4.2 gives an operation.
fn check_transaction(tx: &Value) -> Result<(), String> {
    let id = tx["resourceId"]
        .as_str()
        .or_else(|| tx["entryReference"].as_str())
        .unwrap_or("an operation");
    let amount = &tx["transactionAmount"]["amount"];
    if !amount.is_string() || decimal(amount).is_none() {
        return Err(format!(
            "{id}: the amount {amount} is not a decimal in a JSON string"
        ));
    }
    if !tx["transactionAmount"]["currency"].is_string() {
        return Err(format!("{id}: no currency"));
    }
    let indicator = tx["creditDebitIndicator"].as_str().unwrap_or("");
    if !matches!(indicator, "CRDT" | "DBIT") {
        return Err(format!("{id}: creditDebitIndicator '{indicator}'"));
    }
    let status = tx["status"].as_str().unwrap_or("");
    if !matches!(status, "BOOK" | "PDNG" | "OTHR" | "INFO" | "FUTR" | "RJCT") {
        return Err(format!("{id}: status '{status}'"));
    }
    if status == "BOOK" && !tx["bookingDate"].is_string() {
        return Err(format!("{id}: a BOOK operation without bookingDate"));
    }
    if day_of(tx).is_none() {
        return Err(format!("{id}: neither bookingDate nor expectedBookingDate"));
    }
    let remittance = &tx["remittanceInformation"];
    if !remittance.is_null() && !remittance.is_object() {
        return Err(format!(
            "{id}: remittanceInformation is not an object {{unstructured, structured}} (STET 1.4.2)"
        ));
    }
    Ok(())
}

/// A date bound at midday, in one of the portal's formats (`suffix`: "", "Z", "%2B0100",
/// "%2B01:00"); midday keeps the day whatever the offset.
fn bound(day: Date, suffix: &str) -> String {
    format!("{day}T12:00:00.000{suffix}")
}
