//! The portal's acceptance tests of identity, trusted beneficiaries, funds confirmation and
//! the batch allowance.

use super::*;

pub(super) async fn identity(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn identity_not_consented(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn identity_not_offered(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn beneficiaries(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn beneficiaries_not_offered(ctx: &mut Ctx) -> Step<Outcome> {
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
pub(crate) fn coverage(iban: &str, amount: &str) -> Value {
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

pub(crate) fn funds_account(r: &Role) -> Option<String> {
    match r {
        Role::FundsConfirmation(iban) => Some(iban.clone()),
        _ => None,
    }
}

pub(super) async fn funds_confirmation(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) fn number(reply: &Reply, name: &str) -> Option<i64> {
    reply.header(name).and_then(|v| v.trim().parse().ok())
}

pub(super) async fn batch_allowance(ctx: &mut Ctx) -> Step<Outcome> {
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
