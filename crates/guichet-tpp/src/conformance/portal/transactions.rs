//! The portal's acceptance tests of transactions: date formats, windows, depth, 204, the cap.

use super::*;

pub(super) fn transactions_account(r: &Role) -> Option<String> {
    match r {
        Role::Transactions(iban) => Some(iban.clone()),
        _ => None,
    }
}

pub(super) async fn transactions(ctx: &mut Ctx) -> Step<Outcome> {
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
pub(super) async fn date_window(ctx: &mut Ctx, suffixes: &[&str], expected: &str) -> Step<Outcome> {
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

pub(super) async fn dates_utc(ctx: &mut Ctx) -> Step<Outcome> {
    date_window(
        ctx,
        &["", "Z"],
        "dateFrom (inclusive) and dateTo (exclusive) as YYYY-MM-DDTHH:MM:SS.SSS and YYYY-MM-DDTHH:MM:SS.SSSZ: 200 with only operations booked in the window",
    )
    .await
}

pub(super) async fn dates_offset(ctx: &mut Ctx) -> Step<Outcome> {
    date_window(
        ctx,
        &["%2B0100"],
        "dateFrom (inclusive) and dateTo (exclusive) as YYYY-MM-DDTHH:MM:SS.SSS+HHMM: 200 with only operations booked in the window",
    )
    .await
}

pub(super) async fn dates_offset_colon(ctx: &mut Ctx) -> Step<Outcome> {
    date_window(
        ctx,
        &["%2B01:00"],
        "dateFrom (inclusive) and dateTo (exclusive) as YYYY-MM-DDTHH:MM:SS.SSS+HH:MM: 200 with only operations booked in the window",
    )
    .await
}

/// Transactions with one bound: 200, operations, all on the right side of it.
pub(super) async fn one_bound(ctx: &mut Ctx, from: bool, expected: &str) -> Step<Outcome> {
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

pub(super) async fn date_from_only(ctx: &mut Ctx) -> Step<Outcome> {
    one_bound(
        ctx,
        true,
        "dateFrom alone: 200 with the operations booked on or after that day",
    )
    .await
}

pub(super) async fn date_to_only(ctx: &mut Ctx) -> Step<Outcome> {
    one_bound(
        ctx,
        false,
        "dateTo alone: 200 with the operations booked before that day (dateTo is exclusive)",
    )
    .await
}

pub(super) async fn invalid_date(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn transactions_unknown_account(ctx: &mut Ctx) -> Step<Outcome> {
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
pub(super) async fn depth(ctx: &mut Ctx, days: i64, expected: &str) -> Step<Outcome> {
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

pub(super) async fn depth_62(ctx: &mut Ctx) -> Step<Outcome> {
    depth(
        ctx,
        62,
        "62 days of history (retail, small professionals): dateFrom 70 days ago is a 400 \"period out of bound\", dateFrom 57 days ago is served",
    )
    .await
}

pub(super) async fn depth_90(ctx: &mut Ctx) -> Step<Outcome> {
    depth(
        ctx,
        90,
        "90 days of history (large professionals, corporates): dateFrom 98 days ago is a 400 \"period out of bound\", dateFrom 85 days ago is served",
    )
    .await
}

pub(super) async fn no_transactions(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn operation_cap(ctx: &mut Ctx) -> Step<Outcome> {
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
