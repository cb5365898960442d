//! The portal's acceptance tests of accounts, consents and balances.

use super::*;

pub(super) async fn accounts_before_consent(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn accounts_after_consent(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn consent_replace(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn consent_revoke(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn consent_foreign_iban(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn balances(ctx: &mut Ctx) -> Step<Outcome> {
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
pub(super) async fn balance_sign(
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

pub(super) async fn balance_zero(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn balance_positive(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn balance_negative(ctx: &mut Ctx) -> Step<Outcome> {
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

pub(super) async fn balances_unknown_account(ctx: &mut Ctx) -> Step<Outcome> {
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
