//! The SCA steps on the bank's pages: identifier and password, the one-time code, cancel.
//! Three failures lock the attempt; success redirects to the TPP with a single-use code.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use guichet_store::{AuthCode, PsuRecord, ScaAttempt};

use super::authorize::{CODE_SECONDS, COOKIE, LoginPage, MAX_FAILURES, clear_cookie, redirect_to};
use super::error::OAuthError;
use super::pages::{
    MessagePage, Page, already_done, error_page, origin_of, see_other, store_failure,
};
use super::{bank_of, cookie, form, lockout, same, sha256_hex};
use crate::state::{Bank, SharedState};

#[derive(Template)]
#[template(path = "otp.html")]
struct OtpPage<'a> {
    bank_name: &'a str,
    psu_name: &'a str,
    sandbox_code: Option<&'a str>,
    error: Option<String>,
    csrf: &'a str,
    cancellable: bool,
}

/// The SCA attempt of the browser's cookie, at this bank and not expired; else the page the
/// PSU gets (an expired session, or the store's failure).
pub(crate) async fn cookie_attempt(
    state: &SharedState,
    parts: &Parts,
    bank: &Bank,
) -> Result<ScaAttempt, Response> {
    let name = bank.profile.name.as_str();
    let expired = || {
        error_page(
            StatusCode::BAD_REQUEST,
            name,
            "Votre session a expiré. Recommencez depuis le service qui vous a dirigé ici.",
        )
        .into_response()
    };
    let Some(id) = cookie(&parts.headers, COOKIE) else {
        return Err(expired());
    };
    match state.store.attempt(&id).await {
        Ok(Some(attempt))
            if attempt.bank_code == bank.code() && attempt.expires_at > state.now().as_second() =>
        {
            Ok(attempt)
        }
        Ok(_) => Err(expired()),
        Err(e) => Err(store_failure(name, "reading an SCA attempt", &e)),
    }
}

/// The attempt of a posted form: from the session cookie, of this bank, alive, with the
/// form's CSRF token.
pub(crate) async fn posted_attempt(
    state: &SharedState,
    parts: &Parts,
    fields: &std::collections::HashMap<String, String>,
) -> Result<(Arc<Bank>, ScaAttempt), Response> {
    let Some(bank) = bank_of(state, parts) else {
        return Err(
            error_page(StatusCode::NOT_FOUND, "Guichet", "Aucune banque ici.").into_response(),
        );
    };
    let attempt = cookie_attempt(state, parts, &bank).await?;
    let name = bank.profile.name.clone();
    let csrf = fields.get("csrf").map(String::as_str).unwrap_or("");
    if !same(csrf, &attempt.csrf) {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            &name,
            "Le formulaire n'est pas valide (jeton de sécurité).",
        )
        .into_response());
    }
    Ok((bank, attempt))
}

pub(super) fn message_page(
    status: StatusCode,
    bank: &Bank,
    attempt: &ScaAttempt,
    heading: &str,
    message: &str,
) -> Response {
    let mut page = Page::render(
        status,
        &MessagePage {
            bank_name: &bank.profile.name,
            heading,
            message,
            return_csrf: attempt.redirect_uri.as_ref().map(|_| attempt.csrf.as_str()),
        },
    );
    page.form_target = attempt.redirect_uri.as_deref().and_then(origin_of);
    page.into_response()
}

fn locked_page(bank: &Bank, attempt: &ScaAttempt) -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        bank,
        attempt,
        "Accès bloqué",
        "Trois essais ont échoué : cette tentative est bloquée.",
    )
}

/// Counts a failed factor in the attempt; the third locks the attempt.
async fn fail(
    state: &SharedState,
    bank: &Bank,
    mut attempt: ScaAttempt,
    stage: &str,
) -> Result<ScaAttempt, Response> {
    attempt.failures += 1;
    if attempt.failures >= MAX_FAILURES {
        attempt.stage = "locked".into();
    }
    advance(state, bank, &attempt, stage).await?;
    if attempt.stage == "locked" {
        return Err(locked_page(bank, &attempt));
    }
    Ok(attempt)
}

/// Moves the attempt on from stage `from`: `Ok` when this request did; else the page to
/// answer: 409 when another request moved it first (a form posted twice, another tab), the
/// store's failure page when the store could not say.
pub(super) async fn advance(
    state: &SharedState,
    bank: &Bank,
    attempt: &ScaAttempt,
    from: &str,
) -> Result<(), Response> {
    match state.store.advance_attempt(attempt, from).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(already_done(&bank.profile.name)),
        Err(e) => Err(store_failure(
            &bank.profile.name,
            "moving an SCA attempt on",
            &e,
        )),
    }
}

fn remaining(left: i64) -> String {
    format!(
        "{left} essai{} restant{}",
        if left > 1 { "s" } else { "" },
        if left > 1 { "s" } else { "" }
    )
}

pub async fn login(State(state): State<SharedState>, parts: Parts, body: Bytes) -> Response {
    let fields = form(&body).unwrap_or_default();
    let (bank, mut attempt) = match posted_attempt(&state, &parts, &fields).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if attempt.stage == "locked" {
        return locked_page(&bank, &attempt);
    }
    if attempt.stage != "login" {
        return already_done(&bank.profile.name);
    }
    let identifier = fields.get("identifier").map(|s| s.trim()).unwrap_or("");
    let password = fields.get("password").map(String::as_str).unwrap_or("");
    // A PSU the store cannot read now is not an unknown one: no try is taken, no failure
    // counted.
    let known = match state.store.find_psu(bank.code(), identifier).await {
        Ok(psu) => psu,
        Err(e) => return store_failure(&bank.profile.name, "reading a PSU", &e),
    };
    // An unknown identifier is counted and blocked like a PSU, under a keyed hash of what was
    // typed (a name no PSU can have, that cannot be reversed without the bank's key), so that
    // neither the count nor the block page tells whether an identifier exists.
    let psu_key = known.as_ref().map_or_else(
        || format!("?{}", state.keyed_hash(identifier)),
        |p| p.psu_id.clone(),
    );
    let taken = match lockout::take(
        &state,
        &bank,
        &attempt,
        lockout::client_of(&parts),
        &psu_key,
    )
    .await
    {
        Ok(taken) => taken,
        Err(refusal) => return refusal,
    };
    let psu = known.filter(|p| state.sca.check_password(p, password));
    let Some(psu) = psu else {
        // Never the identifier typed, the password or the session: only the bank.
        tracing::info!(bank = bank.code(), "SCA password refused");
        if let Err(blocked) = lockout::failed(&state, &bank, &attempt, taken, "password").await {
            return blocked;
        }
        let attempt = match fail(&state, &bank, attempt, "login").await {
            Ok(attempt) => attempt,
            Err(response) => return response,
        };
        // The same words whether the identifier exists or not.
        let message = format!(
            "Identifiant ou mot de passe incorrect ({} pour cette connexion ; après {} échecs consécutifs, l'accès est bloqué {} min).",
            remaining(MAX_FAILURES - attempt.failures),
            bank.profile.sca_max_failures,
            bank.profile.sca_block_minutes
        );
        let mut page = Page::render(
            StatusCode::OK,
            &LoginPage {
                bank_name: &bank.profile.name,
                tpp: None,
                error: Some(message),
                csrf: &attempt.csrf,
                cancellable: attempt.redirect_uri.is_some(),
            },
        );
        page.form_target = attempt.redirect_uri.as_deref().and_then(origin_of);
        return page.into_response();
    };
    lockout::passed(&state, &bank, taken).await;
    let Some(challenge) = state.sca.send_code(&psu) else {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            &bank.profile.name,
            "Le code de sécurité n'a pas pu être envoyé.",
        )
        .into_response();
    };
    attempt.psu_id = Some(psu.psu_id.clone());
    attempt.stage = "otp".into();
    attempt.otp_hash = Some(sha256_hex(&challenge.code));
    attempt.otp_shown = challenge.shown;
    if let Err(page) = advance(&state, &bank, &attempt, "login").await {
        return page;
    }
    otp_page(&bank, &attempt, &psu, None)
}

fn otp_page(bank: &Bank, attempt: &ScaAttempt, psu: &PsuRecord, error: Option<String>) -> Response {
    let mut page = Page::render(
        StatusCode::OK,
        &OtpPage {
            bank_name: &bank.profile.name,
            psu_name: &psu.display_name,
            sandbox_code: attempt.otp_shown.as_deref(),
            error,
            csrf: &attempt.csrf,
            cancellable: attempt.redirect_uri.is_some(),
        },
    );
    page.form_target = attempt.redirect_uri.as_deref().and_then(origin_of);
    page.into_response()
}

pub async fn otp(State(state): State<SharedState>, parts: Parts, body: Bytes) -> Response {
    let fields = form(&body).unwrap_or_default();
    let (bank, mut attempt) = match posted_attempt(&state, &parts, &fields).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if attempt.stage == "locked" {
        return locked_page(&bank, &attempt);
    }
    let psu = match &attempt.psu_id {
        Some(id) if attempt.stage == "otp" => match state.store.psu(bank.code(), id).await {
            Ok(psu) => psu,
            Err(e) => return store_failure(&bank.profile.name, "reading a PSU", &e),
        },
        _ => None,
    };
    let Some(psu) = psu else {
        return already_done(&bank.profile.name);
    };
    let taken = match lockout::take(
        &state,
        &bank,
        &attempt,
        lockout::client_of(&parts),
        &psu.psu_id,
    )
    .await
    {
        Ok(taken) => taken,
        Err(refusal) => return refusal,
    };
    let code = fields.get("code").map(|s| s.trim()).unwrap_or("");
    let expected = attempt.otp_hash.clone().unwrap_or_default();
    if !same(&sha256_hex(code), &expected) {
        tracing::info!(bank = bank.code(), "SCA code refused");
        let left = match lockout::failed(&state, &bank, &attempt, taken, "otp").await {
            Ok(left) => left,
            Err(blocked) => return blocked,
        };
        let attempt = match fail(&state, &bank, attempt, "otp").await {
            Ok(attempt) => attempt,
            Err(response) => return response,
        };
        let left = left.min(MAX_FAILURES - attempt.failures);
        let message = format!("Code incorrect ({}).", remaining(left));
        return otp_page(&bank, &attempt, &psu, Some(message));
    }
    lockout::passed(&state, &bank, taken).await;
    state
        .metrics
        .sca(bank.code(), crate::ops::ScaOutcome::Success);
    // A successful SCA ends the run of failures (RTS art. 4(3)(d) counts consecutive ones).
    if let Err(e) = state
        .store
        .reset_sca_failures(bank.code(), &psu.psu_id)
        .await
    {
        tracing::error!(error = %e, "resetting SCA failures");
    }
    let now = state.now().as_second();
    attempt.stage = "done".into();
    attempt.sca_at = Some(now);
    attempt.otp_hash = None;
    attempt.otp_shown = None;
    if let Err(page) = advance(&state, &bank, &attempt, "otp").await {
        return page;
    }
    match attempt.purpose.as_str() {
        "authorize" => finish_authorization(&state, &bank, &attempt, &psu, now).await,
        "manage" => see_other("/psu/access", None, None),
        _ => see_other("/fallback/banking", None, None),
    }
}

/// Gives the TPP its single-use code: the PSU passed SCA at `sca_at` and allowed the access.
pub(super) async fn finish_authorization(
    state: &SharedState,
    bank: &Bank,
    attempt: &ScaAttempt,
    psu: &PsuRecord,
    sca_at: i64,
) -> Response {
    let now = state.now().as_second();
    let (Some(client_id), Some(redirect_uri)) = (&attempt.client_id, &attempt.redirect_uri) else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &bank.profile.name,
            "Erreur interne.",
        )
        .into_response();
    };
    let code = AuthCode {
        bank_code: bank.code().to_owned(),
        client_id: client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        psu_id: psu.psu_id.clone(),
        scopes: guichet_store::split_scopes(attempt.scope.as_deref().unwrap_or_default()),
        code_challenge: attempt.code_challenge.clone(),
        sca_at,
        expires_at: now + CODE_SECONDS,
    };
    let secret = match state.store.issue_code(&code).await {
        Ok(secret) => secret,
        Err(e) => {
            tracing::error!(error = %e, "issuing a code");
            // The attempt is over: the TPP is told, as RFC 6749 §4.1.2.1 has it, rather than
            // left waiting for a PSU shown a page that can only say it is already done.
            let error = if e.is_transient() {
                OAuthError::TemporarilyUnavailable("the bank cannot issue a code right now".into())
            } else {
                OAuthError::server_error("the bank could not issue a code")
            };
            return super::delegated::back_to_tpp(redirect_uri, attempt, error);
        }
    };
    tracing::info!(
        bank = bank.code(),
        client_id,
        "authorization granted by the PSU"
    );
    let mut params = vec![("code", secret.expose())];
    if let Some(tpp_state) = &attempt.state {
        params.push(("state", tpp_state.as_str()));
    }
    see_other(
        &redirect_to(redirect_uri, &params),
        origin_of(redirect_uri).as_deref(),
        Some(clear_cookie()),
    )
}

pub async fn cancel(State(state): State<SharedState>, parts: Parts, body: Bytes) -> Response {
    let fields = form(&body).unwrap_or_default();
    let (bank, mut attempt) = match posted_attempt(&state, &parts, &fields).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if attempt.stage == "done" || attempt.stage == "cancelled" {
        return already_done(&bank.profile.name);
    }
    let previous = attempt.stage.clone();
    attempt.stage = "cancelled".into();
    state
        .metrics
        .sca(bank.code(), crate::ops::ScaOutcome::Abandoned);
    if let Err(page) = advance(&state, &bank, &attempt, &previous).await {
        return page;
    }
    match &attempt.redirect_uri {
        Some(uri) => {
            let error = if previous == "locked" {
                OAuthError::access_denied("the PSU failed strong authentication three times")
            } else {
                super::delegated::refusal_error(&previous)
                    .unwrap_or_else(|| OAuthError::access_denied("the PSU cancelled"))
            };
            super::delegated::back_to_tpp(uri, &attempt, error)
        }
        None => Page::render(
            StatusCode::OK,
            &MessagePage {
                bank_name: &bank.profile.name,
                heading: "Annulé",
                message: "Vous avez annulé.",
                return_csrf: None,
            },
        )
        .into_response(),
    }
}
