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

async fn accounts_before_consent(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "GET /accounts before any PUT /consents (or once every account is revoked): 200 listing the persona's eligible accounts, none with a resourceId, balances or balances/transactions links";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    let mut reply = ctx.send(&bank, Req::get("accounts").token(&token)).await?;
    status_in(&reply, &[200], EXPECTED)?;
    let mut note = "";
    if !resource_ids(&reply.json()).is_empty() {
        // An earlier run left a consent: revoking every account gives, the portal says, the
        // same list as before any consent.
        let revoke = ctx.put_consent(&bank, &token, &Consent::default()).await?;
        status_in(
            &revoke,
            &[200, 201, 204],
            "PUT /consents with empty lists (revoking an earlier run's consent) accepted",
        )?;
        reply = ctx.send(&bank, Req::get("accounts").token(&token)).await?;
        status_in(&reply, &[200], EXPECTED)?;
        note = " (after revoking the consent an earlier run left)";
    }
    let accounts = array(&reply.json()["accounts"]);
    let ibans = listed_ibans(&accounts);
    ensure(
        same_set(&ibans, &persona.ibans),
        EXPECTED,
        || format!("accounts {ibans:?}; the persona has {:?}", persona.ibans),
        &reply,
    )?;
    for account in &accounts {
        let iban = account["accountId"]["iban"].as_str().unwrap_or("?");
        let mut shown = Vec::new();
        for field in ["resourceId", "balances"] {
            if !account[field].is_null() {
                shown.push(field);
            }
        }
        for link in ["balances", "transactions"] {
            if has_link(account, link) {
                shown.push(link);
            }
        }
        ensure(
            shown.is_empty(),
            EXPECTED,
            || format!("{iban} carries {shown:?}"),
            &reply,
        )?;
    }
    Ok(pass(
        EXPECTED,
        format!(
            "{} accounts listed without resourceId, balances or links{note}",
            accounts.len()
        ),
        Some(&reply),
    ))
}

async fn accounts_after_consent(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "PUT /consents naming every account for balances and transactions answers 201; then GET /accounts gives each account its resourceId, its accounting balance (CLBD) and balances and transactions links";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    let put = ctx
        .put_consent(&bank, &token, &Consent::all(&persona.ibans))
        .await?;
    status_in(&put, &[201], EXPECTED)?;
    let reply = ctx.send(&bank, Req::get("accounts").token(&token)).await?;
    status_in(&reply, &[200], EXPECTED)?;
    let accounts = array(&reply.json()["accounts"]);
    for iban in &persona.ibans {
        let account = account_by_iban(&accounts, iban)
            .ok_or_else(|| failure(EXPECTED, format!("{iban} is not listed"), &reply))?;
        ensure(
            account["resourceId"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            EXPECTED,
            || format!("{iban} has no resourceId"),
            &reply,
        )?;
        ensure(
            has_link(account, "balances") && has_link(account, "transactions"),
            EXPECTED,
            || format!("{iban} has links {}", account["_links"]),
            &reply,
        )?;
        check_balances(account)
            .map_err(|why| failure(EXPECTED, format!("{iban}: {why}"), &reply))?;
    }
    Ok(pass(
        EXPECTED,
        format!(
            "201, then {} accounts with resourceId, CLBD and both links",
            persona.ibans.len()
        ),
        Some(&reply),
    ))
}

async fn consent_replace(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "a new PUT /consents replaces the old one: after {balances: [A], transactions: [B]}, A has a balances link and no transactions link, B a transactions link and no balances link nor balance, and B's balances answer 403";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let [a, b, ..] = persona.ibans.as_slice() else {
        return Err(Stop::Skip(format!(
            "{} has fewer than two accounts",
            persona.key()
        )));
    };
    let (token, ids) = ctx
        .consented(&persona, &Consent::all(&persona.ibans))
        .await?;
    let b_id = resource_of(&ids, b)?;
    let put = ctx
        .put_consent(
            &bank,
            &token,
            &Consent {
                balances: vec![a.clone()],
                transactions: vec![b.clone()],
                ..Consent::default()
            },
        )
        .await?;
    status_in(&put, &[201], EXPECTED)?;
    let reply = ctx.send(&bank, Req::get("accounts").token(&token)).await?;
    status_in(&reply, &[200], EXPECTED)?;
    let accounts = array(&reply.json()["accounts"]);
    let of = |iban: &str| {
        account_by_iban(&accounts, iban)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let (first, second) = (of(a), of(b));
    ensure(
        has_link(&first, "balances") && !has_link(&first, "transactions"),
        EXPECTED,
        || format!("A ({a}) has links {}", first["_links"]),
        &reply,
    )?;
    ensure(
        has_link(&second, "transactions")
            && !has_link(&second, "balances")
            && second["balances"].is_null(),
        EXPECTED,
        || {
            format!(
                "B ({b}) has links {} and balances {}",
                second["_links"], second["balances"]
            )
        },
        &reply,
    )?;
    let refused = ctx
        .send(
            &bank,
            Req::get(format!("accounts/{b_id}/balances")).token(&token),
        )
        .await?;
    status_in(&refused, &[403], EXPECTED)?;
    Ok(pass(
        EXPECTED,
        "the new consent replaced the old one; B's balances refused with 403",
        Some(&refused),
    ))
}

async fn consent_revoke(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "PUT /consents with empty lists revokes every account: 201, then GET /accounts lists the accounts without resourceId or links, and the balances of a formerly consented account answer 403";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let first = persona
        .ibans
        .first()
        .cloned()
        .ok_or_else(|| Stop::Skip(format!("{} has no account", persona.key())))?;
    let (token, ids) = ctx
        .consented(&persona, &Consent::all(&persona.ibans))
        .await?;
    let id = resource_of(&ids, &first)?;
    let put = ctx.put_consent(&bank, &token, &Consent::default()).await?;
    status_in(&put, &[201], EXPECTED)?;
    let reply = ctx.send(&bank, Req::get("accounts").token(&token)).await?;
    status_in(&reply, &[200], EXPECTED)?;
    let accounts = array(&reply.json()["accounts"]);
    ensure(
        accounts.len() == persona.ibans.len(),
        EXPECTED,
        || format!("{} accounts listed", accounts.len()),
        &reply,
    )?;
    for account in &accounts {
        ensure(
            account["resourceId"].is_null()
                && !has_link(account, "balances")
                && !has_link(account, "transactions"),
            EXPECTED,
            || format!("after revocation an account still shows {account}"),
            &reply,
        )?;
    }
    let refused = ctx
        .send(
            &bank,
            Req::get(format!("accounts/{id}/balances")).token(&token),
        )
        .await?;
    status_in(&refused, &[403], EXPECTED)?;
    Ok(pass(
        EXPECTED,
        "201; accounts listed bare; balances refused with 403",
        Some(&refused),
    ))
}

async fn consent_foreign_iban(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str =
        "PUT /consents naming an IBAN that is not the PSU's: 400 whose message names the IBAN";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let foreign = ctx
        .config
        .personas
        .iter()
        .filter(|p| p.bank == persona.bank && p.identifier != persona.identifier)
        .flat_map(|p| p.ibans.iter())
        .find(|iban| !persona.ibans.contains(iban))
        .cloned()
        .ok_or_else(|| {
            Stop::Skip(format!(
                "no other persona's IBAN at bank {} in the configuration",
                persona.bank
            ))
        })?;
    let token = ctx.session(&persona).await?;
    let reply = ctx
        .put_consent(
            &bank,
            &token,
            &Consent {
                balances: vec![foreign.clone()],
                ..Consent::default()
            },
        )
        .await?;
    status_in(&reply, &[400], EXPECTED)?;
    let message = reply.json()["message"].as_str().unwrap_or("").to_owned();
    ensure(
        message.contains(&foreign),
        EXPECTED,
        || format!("400 with message '{message}'"),
        &reply,
    )?;
    Ok(pass(EXPECTED, format!("400: {message}"), Some(&reply)))
}

async fn balances(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "GET /accounts/{id}/balances of every consented account: 200 with an accounting balance (CLBD); every amount a decimal in a JSON string, with an ISO 4217 currency";
    let found = ctx.personas_with("balances", |r| matches!(r, Role::Balances).then_some(()))?;
    let mut seen = Vec::new();
    let mut last = None;
    for (persona, bank, ()) in found {
        let (token, ids) = ctx
            .consented(&persona, &Consent::all(&persona.ibans))
            .await?;
        for iban in &persona.ibans {
            let id = resource_of(&ids, iban)?;
            let reply = ctx
                .send(
                    &bank,
                    Req::get(format!("accounts/{id}/balances")).token(&token),
                )
                .await?;
            status_in(&reply, &[200], EXPECTED)?;
            let (_, shown) = check_balances(&reply.json()).map_err(|why| {
                failure(EXPECTED, format!("{} {iban}: {why}", persona.key()), &reply)
            })?;
            seen.push(format!("{} {iban}: CLBD {shown}", persona.key()));
            last = Some(reply);
        }
    }
    Ok(pass(EXPECTED, seen.join("; "), last.as_ref()))
}

/// The accounting balance of each account a role names, checked against `sign`.
async fn balance_sign(
    ctx: &mut Ctx,
    what: &str,
    expected: &str,
    pick: fn(&Role) -> Option<String>,
    sign: fn(&Decimal) -> bool,
) -> Step<Outcome> {
    let found = ctx.personas_with(what, pick)?;
    let mut seen = Vec::new();
    let mut last = None;
    for (persona, bank, iban) in found {
        let (token, ids) = ctx
            .consented(&persona, &Consent::all(&persona.ibans))
            .await?;
        let id = resource_of(&ids, &iban)?;
        let reply = ctx
            .send(
                &bank,
                Req::get(format!("accounts/{id}/balances")).token(&token),
            )
            .await?;
        status_in(&reply, &[200], expected)?;
        let (amount, shown) = check_balances(&reply.json())
            .map_err(|why| failure(expected, format!("{iban}: {why}"), &reply))?;
        ensure(
            sign(&amount),
            expected,
            || format!("{} {iban}: CLBD {shown}", persona.key()),
            &reply,
        )?;
        seen.push(format!("{} {iban}: CLBD {shown}", persona.key()));
        last = Some(reply);
    }
    Ok(pass(expected, seen.join("; "), last.as_ref()))
}

async fn balance_zero(ctx: &mut Ctx) -> Step<Outcome> {
    balance_sign(
        ctx,
        "zero-balance:IBAN",
        "the accounting balance (CLBD) of an account with a null balance is 0",
        |r| match r {
            Role::ZeroBalance(iban) => Some(iban.clone()),
            _ => None,
        },
        Decimal::is_zero,
    )
    .await
}

async fn balance_positive(ctx: &mut Ctx) -> Step<Outcome> {
    balance_sign(
        ctx,
        "positive-balance:IBAN",
        "the accounting balance (CLBD) of an account in credit is positive",
        |r| match r {
            Role::PositiveBalance(iban) => Some(iban.clone()),
            _ => None,
        },
        |d| d.is_sign_positive() && !d.is_zero(),
    )
    .await
}

async fn balance_negative(ctx: &mut Ctx) -> Step<Outcome> {
    balance_sign(
        ctx,
        "negative-balance:IBAN",
        "the accounting balance (CLBD) of an overdrawn account is negative",
        |r| match r {
            Role::NegativeBalance(iban) => Some(iban.clone()),
            _ => None,
        },
        |d| d.is_sign_negative() && !d.is_zero(),
    )
    .await
}

async fn balances_unknown_account(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str =
        "GET /accounts/CPT30014684067/balances (an account that is not the PSU's): 404";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    let reply = ctx
        .send(
            &bank,
            Req::get(format!("accounts/{UNKNOWN_ACCOUNT}/balances")).token(&token),
        )
        .await?;
    status_in(&reply, &[404], EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

fn transactions_account(r: &Role) -> Option<String> {
    match r {
        Role::Transactions(iban) => Some(iban.clone()),
        _ => None,
    }
}

async fn transactions(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "GET /accounts/{id}/transactions without filters: 200 with operations (every `next` page followed), each with its amount a decimal in a JSON string, CRDT or DBIT, a status, a bookingDate when BOOK, remittanceInformation as an object";
    let (persona, bank, iban) = ctx.persona_with("transactions:IBAN", transactions_account)?;
    let (token, ids) = ctx
        .consented(&persona, &Consent::all(&persona.ibans))
        .await?;
    let id = resource_of(&ids, &iban)?;
    let (first, all) = ctx
        .all_transactions(&bank, &token, format!("accounts/{id}/transactions"))
        .await?;
    status_in(&first, &[200], EXPECTED)?;
    ensure(
        !all.is_empty(),
        EXPECTED,
        || "200 without operations".into(),
        &first,
    )?;
    for tx in &all {
        check_transaction(tx).map_err(|why| failure(EXPECTED, why, &first))?;
    }
    let booked = all.iter().filter(|t| t["status"] == "BOOK").count();
    Ok(pass(
        EXPECTED,
        format!(
            "{} operations ({booked} booked, {} not)",
            all.len(),
            all.len() - booked
        ),
        Some(&first),
    ))
}

/// Transactions between two days (`from` inclusive, `to` exclusive), for each bound spelling:
/// 200, operations, every one in the window.
async fn date_window(ctx: &mut Ctx, suffixes: &[&str], expected: &str) -> Step<Outcome> {
    let (persona, bank, iban) = ctx.persona_with("transactions:IBAN", transactions_account)?;
    let (token, ids) = ctx
        .consented(&persona, &Consent::all(&persona.ibans))
        .await?;
    let id = resource_of(&ids, &iban)?;
    let today = ctx.today(&bank);
    let (from, to) = (days_before(today, 30), days_before(today, 10));
    let mut seen = Vec::new();
    let mut last = None;
    for suffix in suffixes {
        let target = format!(
            "accounts/{id}/transactions?dateFrom={}&dateTo={}",
            bound(from, suffix),
            bound(to, suffix)
        );
        let (first, all) = ctx.all_transactions(&bank, &token, target).await?;
        status_in(&first, &[200], expected)?;
        ensure(
            !all.is_empty(),
            expected,
            || format!("no operation from {from} to {to}"),
            &first,
        )?;
        let outside: Vec<String> = all
            .iter()
            .filter(|t| day_of(t).is_none_or(|d| d < from || d >= to))
            .map(|t| day_of(t).map(|d| d.to_string()).unwrap_or_default())
            .collect();
        ensure(
            outside.is_empty(),
            expected,
            || format!("operations outside [{from}, {to}): {outside:?}"),
            &first,
        )?;
        seen.push(format!(
            "{}: {} operations, all in [{from}, {to})",
            bound(from, suffix).replace("%2B", "+"),
            all.len()
        ));
        last = Some(first);
    }
    Ok(pass(expected, seen.join("; "), last.as_ref()))
}

async fn dates_utc(ctx: &mut Ctx) -> Step<Outcome> {
    date_window(
        ctx,
        &["", "Z"],
        "dateFrom (inclusive) and dateTo (exclusive) as YYYY-MM-DDTHH:MM:SS.SSS and YYYY-MM-DDTHH:MM:SS.SSSZ: 200 with only operations booked in the window",
    )
    .await
}

async fn dates_offset(ctx: &mut Ctx) -> Step<Outcome> {
    date_window(
        ctx,
        &["%2B0100"],
        "dateFrom (inclusive) and dateTo (exclusive) as YYYY-MM-DDTHH:MM:SS.SSS+HHMM: 200 with only operations booked in the window",
    )
    .await
}

async fn dates_offset_colon(ctx: &mut Ctx) -> Step<Outcome> {
    date_window(
        ctx,
        &["%2B01:00"],
        "dateFrom (inclusive) and dateTo (exclusive) as YYYY-MM-DDTHH:MM:SS.SSS+HH:MM: 200 with only operations booked in the window",
    )
    .await
}

/// Transactions with one bound: 200, operations, all on the right side of it.
async fn one_bound(ctx: &mut Ctx, from: bool, expected: &str) -> Step<Outcome> {
    let (persona, bank, iban) = ctx.persona_with("transactions:IBAN", transactions_account)?;
    let (token, ids) = ctx
        .consented(&persona, &Consent::all(&persona.ibans))
        .await?;
    let id = resource_of(&ids, &iban)?;
    let today = ctx.today(&bank);
    let (day, name) = if from {
        (days_before(today, 7), "dateFrom")
    } else {
        (days_before(today, 20), "dateTo")
    };
    let target = format!("accounts/{id}/transactions?{name}={}", bound(day, "Z"));
    let (first, all) = ctx.all_transactions(&bank, &token, target).await?;
    status_in(&first, &[200], expected)?;
    ensure(
        !all.is_empty(),
        expected,
        || format!("no operation with {name} {day}"),
        &first,
    )?;
    let wrong: Vec<String> = all
        .iter()
        .filter_map(|t| {
            let d = day_of(t);
            let inside = d.is_some_and(|d| if from { d >= day } else { d < day });
            (!inside).then(|| d.map(|d| d.to_string()).unwrap_or_default())
        })
        .collect();
    ensure(
        wrong.is_empty(),
        expected,
        || format!("operations on the wrong side of {day}: {wrong:?}"),
        &first,
    )?;
    Ok(pass(
        expected,
        format!(
            "{} operations, all {} {day}",
            all.len(),
            if from { "on or after" } else { "before" }
        ),
        Some(&first),
    ))
}

async fn date_from_only(ctx: &mut Ctx) -> Step<Outcome> {
    one_bound(
        ctx,
        true,
        "dateFrom alone: 200 with the operations booked on or after that day",
    )
    .await
}

async fn date_to_only(ctx: &mut Ctx) -> Step<Outcome> {
    one_bound(
        ctx,
        false,
        "dateTo alone: 200 with the operations booked before that day (dateTo is exclusive)",
    )
    .await
}

async fn invalid_date(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str =
        "dateFrom with month 13, and dateTo not in one of the three formats: 400 each";
    let (persona, bank, iban) = ctx.persona_with("transactions:IBAN", transactions_account)?;
    let (token, ids) = ctx
        .consented(&persona, &Consent::all(&persona.ibans))
        .await?;
    let id = resource_of(&ids, &iban)?;
    let year = ctx.today(&bank).year();
    let mut last = None;
    for query in [
        format!("dateFrom={year}-13-01T00:00:00.000"),
        "dateTo=yesterday".to_owned(),
    ] {
        let reply = ctx
            .send(
                &bank,
                Req::get(format!("accounts/{id}/transactions?{query}")).token(&token),
            )
            .await?;
        status_in(&reply, &[400], EXPECTED)?;
        last = Some(reply);
    }
    Ok(pass(EXPECTED, "400 for both", last.as_ref()))
}

async fn transactions_unknown_account(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str =
        "GET /accounts/CPT30014684067/transactions (an account that is not the PSU's): 404";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    let reply = ctx
        .send(
            &bank,
            Req::get(format!("accounts/{UNKNOWN_ACCOUNT}/transactions")).token(&token),
        )
        .await?;
    status_in(&reply, &[404], EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

/// The history depth of each account a `history-depth:IBAN:<days>` role names: a dateFrom
/// before it is a 400 "period out of bound"; one within it is served.
async fn depth(ctx: &mut Ctx, days: i64, expected: &str) -> Step<Outcome> {
    let found = ctx.personas_with(&format!("history-depth:IBAN:{days}"), |r| match r {
        Role::HistoryDepth { iban, days: d } if *d == days => Some(iban.clone()),
        _ => None,
    })?;
    let mut seen = Vec::new();
    let mut last = None;
    for (persona, bank, iban) in found {
        let (token, ids) = ctx
            .consented(&persona, &Consent::all(&persona.ibans))
            .await?;
        let id = resource_of(&ids, &iban)?;
        let today = ctx.today(&bank);
        let too_old = days_before(today, days + 8);
        let refused = ctx
            .send(
                &bank,
                Req::get(format!(
                    "accounts/{id}/transactions?dateFrom={too_old}T00:00:00.000"
                ))
                .token(&token),
            )
            .await?;
        status_in(&refused, &[400], expected)?;
        let message = refused.json()["message"].as_str().unwrap_or("").to_owned();
        ensure(
            message.to_lowercase().contains("out of bound"),
            expected,
            || format!("400 with message '{message}'"),
            &refused,
        )?;
        let within = days_before(today, days - 5);
        let (served, all) = ctx
            .all_transactions(
                &bank,
                &token,
                format!("accounts/{id}/transactions?dateFrom={within}T00:00:00.000"),
            )
            .await?;
        status_in(&served, &[200, 204], expected)?;
        let earlier: Vec<String> = all
            .iter()
            .filter(|t| day_of(t).is_none_or(|d| d < within))
            .map(|t| day_of(t).map(|d| d.to_string()).unwrap_or_default())
            .collect();
        ensure(
            earlier.is_empty(),
            expected,
            || format!("operations before dateFrom {within}: {earlier:?}"),
            &served,
        )?;
        seen.push(format!(
            "{} {iban}: dateFrom {too_old} refused ({message}); dateFrom {within} gave {}",
            persona.key(),
            if served.status == 204 {
                "204".to_owned()
            } else {
                format!("{} operations", all.len())
            }
        ));
        last = Some(refused);
    }
    Ok(pass(expected, seen.join("; "), last.as_ref()))
}

async fn depth_62(ctx: &mut Ctx) -> Step<Outcome> {
    depth(
        ctx,
        62,
        "62 days of history (retail, small professionals): dateFrom 70 days ago is a 400 \"period out of bound\", dateFrom 57 days ago is served",
    )
    .await
}

async fn depth_90(ctx: &mut Ctx) -> Step<Outcome> {
    depth(
        ctx,
        90,
        "90 days of history (large professionals, corporates): dateFrom 98 days ago is a 400 \"period out of bound\", dateFrom 85 days ago is served",
    )
    .await
}

async fn no_transactions(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str =
        "GET /accounts/{id}/transactions of an account without operation: 204 without a body";
    let (persona, bank, iban) = ctx.persona_with("no-transactions:IBAN", |r| match r {
        Role::NoTransactions(iban) => Some(iban.clone()),
        _ => None,
    })?;
    let (token, ids) = ctx
        .consented(&persona, &Consent::all(&persona.ibans))
        .await?;
    let id = resource_of(&ids, &iban)?;
    let reply = ctx
        .send(
            &bank,
            Req::get(format!("accounts/{id}/transactions")).token(&token),
        )
        .await?;
    status_in(&reply, &[204], EXPECTED)?;
    ensure(
        reply.body.is_empty(),
        EXPECTED,
        || format!("204 with {} bytes of body", reply.body.len()),
        &reply,
    )?;
    Ok(pass(EXPECTED, format!("204 for {iban}"), Some(&reply)))
}

async fn operation_cap(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "GET /transactions of an account with more than 500 operations in its history depth: at most 500 operations in the answer, and exactly 500 when there is no `next` page";
    let (persona, bank, iban) = ctx.persona_with("operation-cap:IBAN", |r| match r {
        Role::OperationCap(iban) => Some(iban.clone()),
        _ => None,
    })?;
    let (token, ids) = ctx
        .consented(&persona, &Consent::all(&persona.ibans))
        .await?;
    let id = resource_of(&ids, &iban)?;
    let reply = ctx
        .send(
            &bank,
            Req::get(format!("accounts/{id}/transactions")).token(&token),
        )
        .await?;
    status_in(&reply, &[200], EXPECTED)?;
    let body = reply.json();
    let count = array(&body["transactions"]).len();
    let paged = body["_links"]["next"]["href"].is_string();
    ensure(
        count <= 500 && (paged || count == 500),
        EXPECTED,
        || {
            format!(
                "{count} operations{}",
                if paged {
                    " and a next page"
                } else {
                    " and no next page"
                }
            )
        },
        &reply,
    )?;
    Ok(pass(
        EXPECTED,
        format!(
            "{count} operations{}",
            if paged {
                ", and a next page"
            } else {
                ", no next page"
            }
        ),
        Some(&reply),
    ))
}

async fn identity(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "with psuIdentity consented: GET /accounts has an endUserIdentity link, and GET /end-user-identity answers 200 with connectedPsu";
    let (persona, bank, ()) =
        ctx.persona_with("identity", |r| matches!(r, Role::Identity).then_some(()))?;
    let (token, _) = ctx
        .consented(
            &persona,
            &Consent {
                psu_identity: true,
                ..Consent::all(&persona.ibans)
            },
        )
        .await?;
    let accounts = ctx.send(&bank, Req::get("accounts").token(&token)).await?;
    status_in(&accounts, &[200], EXPECTED)?;
    let link = accounts.json()["_links"]["endUserIdentity"]["href"]
        .as_str()
        .map(str::to_owned);
    let Some(link) = link else {
        return Err(failure(
            EXPECTED,
            format!("GET /accounts links: {}", accounts.json()["_links"]),
            &accounts,
        ));
    };
    let reply = ctx.send(&bank, Req::get(link).token(&token)).await?;
    status_in(&reply, &[200], EXPECTED)?;
    let name = reply.json()["connectedPsu"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    ensure(
        !name.is_empty(),
        EXPECTED,
        || format!("200 with {}", reply.json()),
        &reply,
    )?;
    Ok(pass(
        EXPECTED,
        format!("connectedPsu '{name}'"),
        Some(&reply),
    ))
}

async fn identity_not_consented(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "with psuIdentity not consented: no endUserIdentity link, and GET /end-user-identity answers 403";
    let (persona, bank, ()) = ctx.persona_with("identity-not-consented", |r| {
        matches!(r, Role::IdentityNotConsented).then_some(())
    })?;
    let (token, _) = ctx
        .consented(&persona, &Consent::all(&persona.ibans))
        .await?;
    let accounts = ctx.send(&bank, Req::get("accounts").token(&token)).await?;
    status_in(&accounts, &[200], EXPECTED)?;
    ensure(
        !accounts.json()["_links"]["endUserIdentity"].is_object(),
        EXPECTED,
        || "GET /accounts shows an endUserIdentity link".into(),
        &accounts,
    )?;
    let reply = ctx
        .send(&bank, Req::get("end-user-identity").token(&token))
        .await?;
    status_in(&reply, &[403], EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

async fn identity_not_offered(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "at a bank that does not offer the end-user identity (BTP Banque: \"NOT available\"), even with psuIdentity consented: GET /end-user-identity answers 403";
    let (persona, bank, ()) = ctx.persona_with("identity-not-offered", |r| {
        matches!(r, Role::IdentityNotOffered).then_some(())
    })?;
    let (token, _) = ctx
        .consented(
            &persona,
            &Consent {
                psu_identity: true,
                ..Consent::all(&persona.ibans)
            },
        )
        .await?;
    let reply = ctx
        .send(&bank, Req::get("end-user-identity").token(&token))
        .await?;
    status_in(&reply, &[403], EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

async fn beneficiaries(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "with trustedBeneficiaries consented: GET /accounts has a beneficiaries link, and GET /trusted-beneficiaries answers 200 with beneficiaries, each with a creditor name (or 204 when there is none)";
    let (persona, bank, ()) = ctx.persona_with("beneficiaries", |r| {
        matches!(r, Role::Beneficiaries).then_some(())
    })?;
    let (token, _) = ctx
        .consented(
            &persona,
            &Consent {
                trusted_beneficiaries: true,
                ..Consent::all(&persona.ibans)
            },
        )
        .await?;
    let accounts = ctx.send(&bank, Req::get("accounts").token(&token)).await?;
    status_in(&accounts, &[200], EXPECTED)?;
    let link = accounts.json()["_links"]["beneficiaries"]["href"]
        .as_str()
        .map(str::to_owned);
    let Some(link) = link else {
        return Err(failure(
            EXPECTED,
            format!("GET /accounts links: {}", accounts.json()["_links"]),
            &accounts,
        ));
    };
    let reply = ctx.send(&bank, Req::get(link).token(&token)).await?;
    status_in(&reply, &[200, 204], EXPECTED)?;
    if reply.status == 204 {
        return Ok(pass(EXPECTED, "204: no trusted beneficiary", Some(&reply)));
    }
    let list = array(&reply.json()["beneficiaries"]);
    ensure(
        !list.is_empty()
            && list.iter().all(|b| {
                b["creditor"]["name"]
                    .as_str()
                    .is_some_and(|n| !n.is_empty())
            }),
        EXPECTED,
        || format!("200 with {}", reply.json()),
        &reply,
    )?;
    Ok(pass(
        EXPECTED,
        format!("{} trusted beneficiaries", list.len()),
        Some(&reply),
    ))
}

async fn beneficiaries_not_offered(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "at a bank that does not offer trusted beneficiaries (BTP Banque: \"NOT available\"), even consented: GET /trusted-beneficiaries answers 501 (STET: the entry point exists but cannot provide a result)";
    let (persona, bank, ()) = ctx.persona_with("beneficiaries-not-offered", |r| {
        matches!(r, Role::BeneficiariesNotOffered).then_some(())
    })?;
    let (token, _) = ctx
        .consented(
            &persona,
            &Consent {
                trusted_beneficiaries: true,
                ..Consent::all(&persona.ibans)
            },
        )
        .await?;
    let reply = ctx
        .send(&bank, Req::get("trusted-beneficiaries").token(&token))
        .await?;
    status_in(&reply, &[501], EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

/// A payment coverage request body.
pub(super) fn coverage(iban: &str, amount: &str) -> Value {
    let id: String = new_request_id()
        .chars()
        .filter(|c| *c != '-')
        .take(20)
        .collect();
    json!({
        "paymentCoverageRequestId": format!("conf-{id}"),
        "payee": "Guichet conformance",
        "instructedAmount": { "currency": "EUR", "amount": amount },
        "accountId": { "iban": iban },
    })
}

pub(super) fn funds_account(r: &Role) -> Option<String> {
    match r {
        Role::FundsConfirmation(iban) => Some(iban.clone()),
        _ => None,
    }
}

async fn funds_confirmation(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "POST /funds-confirmations with a client-credentials cbpii token: 200 with result true for 1.00 EUR, result false for 999999999.99 EUR";
    let (_, bank, iban) = ctx.persona_with("funds-confirmation:IBAN", funds_account)?;
    let token = ctx.client_token(&bank, "cbpii").await?;
    let mut last = None;
    for (amount, wanted) in [("1.00", true), ("999999999.99", false)] {
        let reply = ctx
            .send(
                &bank,
                Req::post("funds-confirmations")
                    .token(&token)
                    .json(&coverage(&iban, amount)),
            )
            .await?;
        status_in(&reply, &[200], EXPECTED)?;
        let result = reply.json()["result"].as_bool();
        ensure(
            result == Some(wanted),
            EXPECTED,
            || format!("result {result:?} for {amount} EUR"),
            &reply,
        )?;
        last = Some(reply);
    }
    Ok(pass(
        EXPECTED,
        "true for 1.00, false for 999999999.99",
        last.as_ref(),
    ))
}

fn number(reply: &Reply, name: &str) -> Option<i64> {
    reply.header(name).and_then(|v| v.trim().parse().ok())
}

async fn batch_allowance(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "without PSU-IP-Address, the day's calls of one account and method (balances) are answered with X-RateLimit-Limit (the allowance), X-RateLimit-Remaining (counting down to 0) and X-RateLimit-Reset; the next one is a 429 with Retry-After";
    let (persona, bank, iban) = ctx.persona_with("batch-allowance:IBAN", |r| match r {
        Role::BatchAllowance(iban) => Some(iban.clone()),
        _ => None,
    })?;
    let (token, ids) = ctx
        .consented(&persona, &Consent::all(&persona.ibans))
        .await?;
    let id = resource_of(&ids, &iban)?;
    let limit = bank.batch_calls_per_day;
    let mut answered: Vec<i64> = Vec::new();
    let mut refusal = None;
    for _ in 0..=limit {
        let reply = ctx
            .send(
                &bank,
                Req::get(format!("accounts/{id}/balances"))
                    .token(&token)
                    .batch(),
            )
            .await?;
        if reply.status == 429 {
            refusal = Some(reply);
            break;
        }
        status_in(&reply, &[200], EXPECTED)?;
        let (allowed, remaining, reset) = (
            number(&reply, "x-ratelimit-limit"),
            number(&reply, "x-ratelimit-remaining"),
            number(&reply, "x-ratelimit-reset"),
        );
        let previous = answered.last().copied();
        ensure(
            allowed == Some(limit)
                && remaining.is_some_and(|r| {
                    (0..limit).contains(&r) && previous.is_none_or(|p| r == p - 1)
                })
                && reset.is_some_and(|r| r > 0),
            EXPECTED,
            || {
                format!(
                    "call {}: X-RateLimit-Limit {allowed:?} (expected {limit}), -Remaining {remaining:?} (after {previous:?}), -Reset {reset:?}",
                    answered.len() + 1
                )
            },
            &reply,
        )?;
        answered.push(remaining.unwrap_or(0));
    }
    let Some(refusal) = refusal else {
        return Err(Stop::fail(
            EXPECTED,
            format!("{} batch calls answered 200, none refused", limit + 1),
        ));
    };
    ensure(
        answered.last().is_none_or(|r| *r == 0),
        EXPECTED,
        || format!("429 while X-RateLimit-Remaining said {answered:?}"),
        &refusal,
    )?;
    let retry_after = number(&refusal, "retry-after");
    ensure(
        retry_after.is_some_and(|s| s > 0),
        EXPECTED,
        || format!("429 with Retry-After {:?}", refusal.header("retry-after")),
        &refusal,
    )?;
    let got = if answered.is_empty() {
        ensure(
            number(&refusal, "x-ratelimit-remaining") == Some(0),
            EXPECTED,
            || "the first batch call is a 429 without X-RateLimit-Remaining: 0".into(),
            &refusal,
        )?;
        // A bank that refuses every batch call would look the same: not a pass.
        return Err(Stop::Skip(format!(
            "the allowance was already spent today (an earlier run?): the first call got 429 with Retry-After {} s; run again tomorrow or with another account",
            retry_after.unwrap_or(0)
        )));
    } else {
        format!(
            "{} calls answered (remaining {answered:?}), then 429 with Retry-After {} s",
            answered.len(),
            retry_after.unwrap_or(0)
        )
    };
    Ok(pass(EXPECTED, got, Some(&refusal)))
}
