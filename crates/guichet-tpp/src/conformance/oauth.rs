//! OAuth2 (STET Part I §3.4, RFC 6749, RFC 7636) and the portal's "Get your token", "Refresh
//! your token" and "Revoke the token": each case logs in afresh, so that what it revokes is
//! its own grant.

use super::config::{BankConfig, Persona, Role};
use super::ctx::{Authorized, Ctx, Reply, Req, Step, Stop, cut, ensure, failure, pass, status_in};
use super::{Case, Outcome};
use crate::new_request_id;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "stet/1.4.2/part1-3.4-token-answer",
            "The authorization code exchange: a Bearer token of 10 to 15 minutes, a refresh token, Cache-Control: no-store",
            token_answer
        ),
        case!(
            "stet/1.4.2/part1-3.4-code-replay",
            "An authorization code used twice: invalid_grant, and the tokens it gave revoked",
            code_replay
        ),
        case!(
            "stet/1.4.2/part1-3.4-redirect-uri-mismatch",
            "A code exchanged with another redirect_uri: invalid_grant",
            redirect_mismatch
        ),
        case!(
            "stet/1.4.2/part1-3.4-pkce-verifier",
            "A code exchanged with the wrong PKCE code_verifier: invalid_grant",
            pkce_verifier
        ),
        case!(
            "portal/get-your-token-without-scope",
            "Get your token: the code exchange is sent without scope; with one it is refused",
            token_without_scope
        ),
        case!(
            "portal/refresh-your-token",
            "Refresh your token: new tokens, the previous refresh token revoked",
            refresh_your_token
        ),
        case!(
            "portal/revoke-the-token",
            "Revoke the token: the access token and its refresh token revoked",
            revoke_the_token
        ),
        case!(
            "portal/refresh-revoked-after-insufficient-scope",
            "Refresh your token, step 4: a request refused for insufficient scope revokes the refresh token",
            refresh_revoked_after_insufficient_scope
        ),
    ]
}

fn accounts_persona(r: &Role) -> Option<()> {
    matches!(r, Role::Accounts).then_some(())
}

/// The persona for the OAuth2 cases, logged in afresh.
async fn fresh_login(ctx: &mut Ctx, scope: &str) -> Step<(Persona, BankConfig, Authorized)> {
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let login = ctx.authorize(&persona, scope).await?;
    Ok((persona, bank, login))
}

/// The access and refresh tokens of a 200 token answer.
fn tokens_of(reply: &Reply, expected: &str) -> Step<(String, Option<String>)> {
    status_in(reply, &[200], expected)?;
    let body = reply.json();
    let access = body["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            failure(
                expected,
                format!("200 without access_token: {}", cut(&body.to_string(), 120)),
                reply,
            )
        })?;
    Ok((access, body["refresh_token"].as_str().map(str::to_owned)))
}

/// A 400 with the OAuth2 error `code` (RFC 6749 §5.2).
fn refused_with(reply: &Reply, code: &str, expected: &str) -> Step<()> {
    status_in(reply, &[400], expected)?;
    let error = reply.json()["error"].as_str().unwrap_or("").to_owned();
    ensure(
        error == code,
        expected,
        || format!("400 with error '{error}' ({})", reply.describe()),
        reply,
    )
}

/// A token that is no longer good: GET /accounts answers 401.
async fn dead(ctx: &Ctx, bank: &BankConfig, access: &str, expected: &str) -> Step<Reply> {
    let reply = ctx.send(bank, Req::get("accounts").token(access)).await?;
    status_in(&reply, &[401], expected)?;
    Ok(reply)
}

async fn token_answer(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "POST /token (authorization_code, PKCE, no scope): 200 with access_token, token_type Bearer, expires_in of 600 to 900 s (portal: 10 to 15 minutes), refresh_token, and Cache-Control: no-store (RFC 6749 §5.1); the token then reads GET /accounts";
    let (_, bank, login) = fresh_login(ctx, "aisp").await?;
    let reply = ctx.exchange(&bank, &login, &[]).await?;
    let (access, refresh) = tokens_of(&reply, EXPECTED)?;
    let body = reply.json();
    let kind = body["token_type"].as_str().unwrap_or("").to_owned();
    let lifetime = body["expires_in"].as_i64();
    let cache = reply.header("cache-control").unwrap_or_default();
    ensure(
        kind.eq_ignore_ascii_case("bearer")
            && lifetime.is_some_and(|s| (600..=900).contains(&s))
            && refresh.is_some()
            && cache.to_ascii_lowercase().contains("no-store"),
        EXPECTED,
        || {
            format!(
                "token_type '{kind}', expires_in {lifetime:?}, refresh_token {}, Cache-Control '{cache}'",
                if refresh.is_some() {
                    "present"
                } else {
                    "absent"
                }
            )
        },
        &reply,
    )?;
    let used = ctx.send(&bank, Req::get("accounts").token(&access)).await?;
    status_in(&used, &[200], EXPECTED)?;
    Ok(pass(
        EXPECTED,
        format!(
            "Bearer, expires_in {} s, refresh_token, Cache-Control '{cache}'; GET /accounts 200",
            lifetime.unwrap_or(0)
        ),
        Some(&reply),
    ))
}

async fn code_replay(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "the same authorization code exchanged twice: the second exchange is a 400 invalid_grant, and the access token of the first is revoked (RFC 6749 §4.1.2, 401 on GET /accounts)";
    let (_, bank, login) = fresh_login(ctx, "aisp").await?;
    let first = ctx.exchange(&bank, &login, &[]).await?;
    let (access, _) = tokens_of(&first, EXPECTED)?;
    let second = ctx.exchange(&bank, &login, &[]).await?;
    refused_with(&second, "invalid_grant", EXPECTED)?;
    dead(ctx, &bank, &access, EXPECTED).await?;
    Ok(pass(
        EXPECTED,
        "invalid_grant; the first exchange's token refused with 401",
        Some(&second),
    ))
}

async fn redirect_mismatch(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "POST /token with a redirect_uri other than the authorization request's: 400 invalid_grant (RFC 6749 §4.1.3)";
    let (_, bank, login) = fresh_login(ctx, "aisp").await?;
    let other = format!("{}-other", login.request.redirect_uri);
    let reply = ctx
        .exchange(&bank, &login, &[("redirect_uri", other.as_str())])
        .await?;
    refused_with(&reply, "invalid_grant", EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

async fn pkce_verifier(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "POST /token with a code_verifier that does not match the S256 code_challenge: 400 invalid_grant (RFC 7636 §4.6)";
    let (_, bank, login) = fresh_login(ctx, "aisp").await?;
    // 64 characters of the verifier's alphabet, not the one sent.
    let wrong: String = format!("{}{}", new_request_id(), new_request_id())
        .chars()
        .filter(|c| *c != '-')
        .collect();
    let reply = ctx
        .exchange(&bank, &login, &[("code_verifier", wrong.as_str())])
        .await?;
    refused_with(&reply, "invalid_grant", EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

async fn token_without_scope(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "portal: the authorization code exchange \"shall be sent WITHOUT the scope parameter\"; sent with scope=aisp it is a 400 invalid_request";
    let (_, bank, login) = fresh_login(ctx, "aisp").await?;
    let reply = ctx.exchange(&bank, &login, &[("scope", "aisp")]).await?;
    refused_with(&reply, "invalid_request", EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

async fn refresh_your_token(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "POST /token grant_type=refresh_token: 200 with a new access token and a new refresh token; the new access token reads GET /accounts; the previous refresh token presented again is a 400 invalid_grant";
    let (_, bank, login) = fresh_login(ctx, "aisp").await?;
    let first = ctx.exchange(&bank, &login, &[]).await?;
    let (access, refresh) = tokens_of(&first, EXPECTED)?;
    let refresh = refresh
        .ok_or_else(|| failure(EXPECTED, "no refresh_token in the code exchange", &first))?;
    let renewed = ctx.refresh(&bank, &refresh).await?;
    let (new_access, new_refresh) = tokens_of(&renewed, EXPECTED)?;
    ensure(
        new_access != access && new_refresh.as_ref().is_some_and(|r| *r != refresh),
        EXPECTED,
        || {
            format!(
                "access token {}, refresh token {}",
                if new_access == access {
                    "unchanged"
                } else {
                    "new"
                },
                match &new_refresh {
                    None => "absent",
                    Some(r) if *r == refresh => "unchanged",
                    Some(_) => "new",
                }
            )
        },
        &renewed,
    )?;
    let used = ctx
        .send(&bank, Req::get("accounts").token(&new_access))
        .await?;
    status_in(&used, &[200], EXPECTED)?;
    let again = ctx.refresh(&bank, &refresh).await?;
    refused_with(&again, "invalid_grant", EXPECTED)?;
    Ok(pass(
        EXPECTED,
        "new tokens; GET /accounts 200 with the new one; the old refresh token refused (invalid_grant)",
        Some(&again),
    ))
}

async fn revoke_the_token(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "POST /revoke of the access token (RFC 7009): 200; the access token is then refused (401) and its refresh token too (400 invalid_grant)";
    let (_, bank, login) = fresh_login(ctx, "aisp").await?;
    let first = ctx.exchange(&bank, &login, &[]).await?;
    let (access, refresh) = tokens_of(&first, EXPECTED)?;
    let refresh = refresh
        .ok_or_else(|| failure(EXPECTED, "no refresh_token in the code exchange", &first))?;
    let revoked = ctx
        .form_post(
            &bank.revoke_url,
            &[
                ("token", access.as_str()),
                ("client_id", ctx.config.client_id.as_str()),
            ],
        )
        .await?;
    status_in(&revoked, &[200], EXPECTED)?;
    dead(ctx, &bank, &access, EXPECTED).await?;
    let again = ctx.refresh(&bank, &refresh).await?;
    refused_with(&again, "invalid_grant", EXPECTED)?;
    Ok(pass(
        EXPECTED,
        "200; the access token refused with 401, the refresh token with invalid_grant",
        Some(&again),
    ))
}

async fn refresh_revoked_after_insufficient_scope(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "portal, Refresh your token, step 4: the bank revokes the refresh token \"after reject of a request for insufficient scope\": a cbpii token refused with 403 on GET /accounts, then its refresh token is a 400 invalid_grant";
    let (persona, bank, ()) = ctx.persona_with("insufficient-scope", |r| {
        matches!(r, Role::InsufficientScope).then_some(())
    })?;
    let login = ctx.authorize(&persona, "cbpii").await?;
    let first = ctx.exchange(&bank, &login, &[]).await?;
    let (access, refresh) = tokens_of(&first, EXPECTED)?;
    let refresh = refresh
        .ok_or_else(|| Stop::fail(EXPECTED, "no refresh_token in the cbpii code exchange"))?;
    let refused = ctx.send(&bank, Req::get("accounts").token(&access)).await?;
    status_in(&refused, &[403], EXPECTED)?;
    let again = ctx.refresh(&bank, &refresh).await?;
    refused_with(&again, "invalid_grant", EXPECTED)?;
    Ok(pass(
        EXPECTED,
        "403 on GET /accounts, then the refresh token refused (invalid_grant)",
        Some(&again),
    ))
}
