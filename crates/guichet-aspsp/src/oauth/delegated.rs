//! The PSU's SCA at the bank's OpenID Connect provider ([`crate::oidc`]), in place of
//! Guichet's own login pages: `/authorize` (after its checks of client, redirect URI, scope and
//! QWAC role) sends the PSU to the provider; `GET /sca/callback` takes the answer, checks it
//! and shows the bank's consent page; `POST /sca/consent` gives the TPP its code, exactly as
//! after the sandbox's SCA. Every failure has its page, and its RFC 6749 §4.1.2.1 error is
//! sent to the TPP when the PSU leaves it ("Revenir au service", `/sca/cancel`).
#![allow(
    clippy::result_large_err,
    reason = "page handlers carry ready responses as errors"
)]

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use guichet_store::{DelegatedLogin, ScaAttempt};

use super::authorize::{COOKIE, TppView, describe};
use super::error::OAuthError;
use super::pages::{Page, already_done, error_page, origin_of, see_other, store_failure};
use super::steps::{advance, finish_authorization, message_page, posted_attempt};
use super::{bank_of, cookie, form, same, sha256_hex};
use crate::oidc::{CallbackParams, Failure, OidcProvider};
use crate::ops::ScaOutcome;
use crate::state::{Bank, SharedState};

/// The stage of an attempt whose PSU is at the provider.
const AT_PROVIDER: &str = "oidc";
/// The stage of an attempt whose callback is being answered.
const EXCHANGING: &str = "oidc:exchanging";
/// The stage of an attempt whose PSU is authenticated and not yet decided.
const DECIDING: &str = "consent";

/// The attempt's cookie while the PSU is away at the provider. `SameSite=Lax`, not `Strict`:
/// the provider's redirect back is a cross-site navigation, and a browser withholds `Strict`
/// cookies from it; `Lax` ones go with top-level GETs. The callback needs the cookie to bind
/// the answer to the browser that was sent (OpenID Connect Core 1.0 §3.1.2.1: `state`
/// "maintain[s] state between the request and the callback", RFC 6749 §10.12); every POST
/// still needs the page's CSRF token.
fn away_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax")
}

/// Why a delegated SCA ended without a PSU: its page and its error to the TPP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Unavailable,
    Provider,
    IdToken,
    Level,
    UnknownPsu,
}

impl Refusal {
    const ALL: [Refusal; 5] = [
        Refusal::Unavailable,
        Refusal::Provider,
        Refusal::IdToken,
        Refusal::Level,
        Refusal::UnknownPsu,
    ];

    fn of(failure: &Failure) -> Option<Refusal> {
        match failure {
            Failure::Cancelled => None,
            Failure::Unavailable(_) => Some(Refusal::Unavailable),
            Failure::Provider(_) => Some(Refusal::Provider),
            Failure::IdToken(_) => Some(Refusal::IdToken),
            Failure::Level(_) => Some(Refusal::Level),
            Failure::UnknownPsu => Some(Refusal::UnknownPsu),
        }
    }

    /// The attempt's stage once refused: `/sca/cancel` reads it back.
    fn stage(self) -> &'static str {
        match self {
            Refusal::Unavailable => "failed:unavailable",
            Refusal::Provider => "failed:provider",
            Refusal::IdToken => "failed:id_token",
            Refusal::Level => "failed:level",
            Refusal::UnknownPsu => "failed:unknown_psu",
        }
    }

    fn from_stage(stage: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.stage() == stage)
    }

    /// What the TPP is told (RFC 6749 §4.1.2.1).
    fn oauth(self) -> OAuthError {
        match self {
            Refusal::Unavailable => OAuthError::TemporarilyUnavailable(
                "the bank's authentication service is unavailable".into(),
            ),
            Refusal::Provider => {
                OAuthError::server_error("the bank's authentication service answered an error")
            }
            Refusal::IdToken => {
                OAuthError::access_denied("the PSU's authentication could not be verified")
            }
            Refusal::Level => OAuthError::access_denied(
                "the PSU's authentication is not a strong customer authentication",
            ),
            Refusal::UnknownPsu => {
                OAuthError::access_denied("the PSU is not a customer of this bank")
            }
        }
    }

    /// What the PSU is shown.
    fn page(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Refusal::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service indisponible",
                "Le service d'authentification de la banque ne répond pas. Réessayez dans quelques minutes.",
            ),
            Refusal::Provider | Refusal::IdToken => (
                StatusCode::BAD_GATEWAY,
                "Authentification non vérifiée",
                "Votre authentification n'a pas pu être vérifiée. Aucun accès n'a été donné.",
            ),
            Refusal::Level => (
                StatusCode::FORBIDDEN,
                "Authentification insuffisante",
                "Cet accès demande une authentification forte (deux facteurs). Aucun accès n'a été donné.",
            ),
            Refusal::UnknownPsu => (
                StatusCode::FORBIDDEN,
                "Client inconnu",
                "Vous n'êtes pas client de cette banque. Aucun accès n'a été donné.",
            ),
        }
    }
}

/// Sends the PSU back to the TPP with an OAuth2 error, the session's cookie cleared.
pub(super) fn back_to_tpp(uri: &str, attempt: &ScaAttempt, error: OAuthError) -> Response {
    let mut response = error.redirect(uri, attempt.state.as_deref());
    if let Ok(value) = axum::http::HeaderValue::from_str(&super::authorize::clear_cookie()) {
        response
            .headers_mut()
            .insert(axum::http::header::SET_COOKIE, value);
    }
    response
}

/// The OAuth2 error of an attempt refused here, for `/sca/cancel`.
pub(super) fn refusal_error(stage: &str) -> Option<OAuthError> {
    Refusal::from_stage(stage).map(Refusal::oauth)
}

/// Guichet's callback at the provider: as configured, else this bank's PSU pages.
fn callback_uri(state: &SharedState, bank: &Bank, provider: &OidcProvider) -> Option<String> {
    provider.settings().redirect_uri.clone().or_else(|| {
        state
            .psu_origin(bank.code())
            .map(|origin| format!("{origin}/sca/callback"))
    })
}

fn internal(bank: &Bank) -> Response {
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        &bank.profile.name,
        "Erreur interne.",
    )
    .into_response()
}

/// Sends the PSU of a new attempt to the provider.
pub(super) async fn begin(
    state: &SharedState,
    bank: &Bank,
    provider: &OidcProvider,
    mut attempt: ScaAttempt,
) -> Response {
    let Some(redirect_uri) = callback_uri(state, bank, provider) else {
        tracing::error!(
            bank = bank.code(),
            "no callback address for the OpenID provider"
        );
        return internal(bank);
    };
    let begun = provider.begin(&redirect_uri, state.now().as_second()).await;
    let begun = match begun {
        Ok(begun) => begun,
        Err(failure) => {
            // The attempt is kept, refused, so that "Revenir au service" tells the TPP.
            let refusal = Refusal::of(&failure).unwrap_or(Refusal::Provider);
            tracing::warn!(
                bank = bank.code(),
                detail = failure.detail(),
                "the OpenID provider cannot be used"
            );
            attempt.stage = refusal.stage().into();
            if let Err(e) = state.store.create_attempt(&attempt).await {
                return store_failure(&bank.profile.name, "storing an SCA attempt", &e);
            }
            return refused_page(bank, &attempt, refusal, Some(away_cookie(&attempt.id)));
        }
    };
    attempt.stage = AT_PROVIDER.into();
    attempt.delegated = Some(DelegatedLogin {
        state_hash: sha256_hex(&begun.state),
        nonce: begun.nonce,
        verifier: begun.verifier,
    });
    if let Err(e) = state.store.create_attempt(&attempt).await {
        return store_failure(&bank.profile.name, "storing an SCA attempt", &e);
    }
    see_other(&begun.url, None, Some(away_cookie(&attempt.id)))
}

fn refused_page(
    bank: &Bank,
    attempt: &ScaAttempt,
    refusal: Refusal,
    set_cookie: Option<String>,
) -> Response {
    let (status, heading, message) = refusal.page();
    let mut response = message_page(status, bank, attempt, heading, message);
    if let Some(value) = set_cookie.and_then(|c| axum::http::HeaderValue::from_str(&c).ok()) {
        response
            .headers_mut()
            .insert(axum::http::header::SET_COOKIE, value);
    }
    response
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    bank_name: &'a str,
    psu_name: &'a str,
    tpp: Option<TppView>,
    csrf: &'a str,
}

fn callback_params(parts: &Parts) -> Result<CallbackParams, String> {
    let mut fields = form(parts.uri.query().unwrap_or("").as_bytes())?;
    Ok(CallbackParams {
        code: fields.remove("code"),
        state: fields.remove("state"),
        iss: fields.remove("iss"),
        error: fields.remove("error"),
    })
}

/// `GET /sca/callback`: the provider's answer.
pub async fn callback(State(state): State<SharedState>, parts: Parts) -> Response {
    let Some(bank) = bank_of(&state, &parts) else {
        return error_page(StatusCode::NOT_FOUND, "Guichet", "Aucune banque ici.").into_response();
    };
    let name = bank.profile.name.as_str();
    let Some(provider) = bank.oidc.clone() else {
        return error_page(StatusCode::NOT_FOUND, name, "Page inconnue.").into_response();
    };
    let params = match callback_params(&parts) {
        Ok(params) => params,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, name, &e).into_response(),
    };
    let now = state.now();
    let mut attempt = match super::steps::cookie_attempt(&state, &parts, &bank).await {
        Ok(attempt) => attempt,
        Err(page) => return page,
    };
    let login = match (&attempt.delegated, attempt.stage.as_str()) {
        (Some(login), AT_PROVIDER) => login.clone(),
        _ => {
            return already_done(name);
        }
    };
    // The answer must carry the `state` this browser's request sent; another one (a forged
    // or replayed callback) changes nothing.
    let matches = params
        .state
        .as_deref()
        .is_some_and(|s| same(&sha256_hex(s), &login.state_hash));
    if !matches {
        tracing::info!(
            bank = bank.code(),
            "an OpenID callback without this browser's state"
        );
        return error_page(
            StatusCode::BAD_REQUEST,
            name,
            "La réponse du service d'authentification ne correspond pas à votre demande.",
        )
        .into_response();
    }
    let Some(redirect_uri) = callback_uri(&state, &bank, &provider) else {
        return internal(&bank);
    };
    // Used once: the attempt is claimed, its secrets cleared, before the provider is asked;
    // a second callback at the same time (a reload) finds it taken.
    attempt.delegated = None;
    attempt.stage = EXCHANGING.into();
    if let Err(page) = advance(&state, &bank, &attempt, AT_PROVIDER).await {
        return page;
    }
    let outcome = provider
        .finish(&params, &login, &redirect_uri, now, attempt.created_at)
        .await;
    let outcome = match outcome {
        Ok(authenticated) => match state.store.psu(bank.code(), &authenticated.psu_id).await {
            Ok(Some(psu)) => Ok((psu, authenticated.auth_time)),
            Ok(None) => Err(Failure::UnknownPsu),
            Err(e) => {
                tracing::error!(error = %e, "reading a PSU");
                Err(Failure::Unavailable("the database".into()))
            }
        },
        Err(failure) => Err(failure),
    };
    let (psu, auth_time) = match outcome {
        Ok(found) => found,
        Err(failure) => return refuse(&state, &bank, attempt, &failure).await,
    };
    tracing::info!(
        bank = bank.code(),
        "the PSU is authenticated by the bank's OpenID provider"
    );
    state.metrics.sca(bank.code(), ScaOutcome::Success);
    let at = now.as_second();
    attempt.psu_id = Some(psu.psu_id.clone());
    attempt.sca_at = Some(auth_time.min(at));
    attempt.stage = if attempt.purpose == "authorize" {
        DECIDING.into()
    } else {
        "done".into()
    };
    if let Err(page) = advance(&state, &bank, &attempt, EXCHANGING).await {
        return page;
    }
    // The consent page at an address of its own (POST/redirect/GET): the callback's, with the
    // provider's code, stays out of the page a reload asks again.
    match attempt.purpose.as_str() {
        "authorize" => see_other("/sca/consent", None, None),
        "manage" => see_other("/psu/access", None, None),
        _ => see_other("/fallback/banking", None, None),
    }
}

/// Ends the attempt on a failure: the PSU's cancel goes straight back to the TPP, as on
/// Guichet's own pages; anything else shows its page.
async fn refuse(
    state: &SharedState,
    bank: &Bank,
    mut attempt: ScaAttempt,
    failure: &Failure,
) -> Response {
    tracing::info!(
        bank = bank.code(),
        detail = failure.detail(),
        "delegated SCA refused"
    );
    let refusal = Refusal::of(failure);
    let outcome = match refusal {
        None => ScaOutcome::Abandoned,
        Some(_) => ScaOutcome::Failure,
    };
    state.metrics.sca(bank.code(), outcome);
    attempt.stage = refusal.map_or("cancelled", Refusal::stage).into();
    if let Err(page) = advance(state, bank, &attempt, EXCHANGING).await {
        return page;
    }
    match (refusal, &attempt.redirect_uri) {
        (None, Some(uri)) => back_to_tpp(
            uri,
            &attempt,
            OAuthError::access_denied("the PSU cancelled"),
        ),
        (None, None) => message_page(
            StatusCode::OK,
            bank,
            &attempt,
            "Annulé",
            "Vous avez annulé.",
        ),
        (Some(refusal), _) => refused_page(bank, &attempt, refusal, None),
    }
}

async fn consent_page(
    state: &SharedState,
    bank: &Bank,
    attempt: &ScaAttempt,
    psu_name: &str,
) -> Response {
    let tpp = match &attempt.client_id {
        Some(client_id) => match state.store.tpp(client_id).await {
            Ok(tpp) => tpp,
            Err(e) => return store_failure(&bank.profile.name, "reading a TPP", &e),
        },
        None => None,
    };
    let view = tpp.map(|tpp| TppView {
        name: tpp.name,
        org_id: tpp.client_id,
        access: attempt
            .scope
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(|s| describe(s).to_owned())
            .collect(),
    });
    let mut page = Page::render(
        StatusCode::OK,
        &ConsentPage {
            bank_name: &bank.profile.name,
            psu_name,
            tpp: view,
            csrf: &attempt.csrf,
        },
    );
    page.form_target = attempt.redirect_uri.as_deref().and_then(origin_of);
    page.into_response()
}

/// `GET /sca/consent`: the bank's consent page of the session's authenticated PSU.
pub async fn show_consent(State(state): State<SharedState>, parts: Parts) -> Response {
    let Some(bank) = bank_of(&state, &parts) else {
        return error_page(StatusCode::NOT_FOUND, "Guichet", "Aucune banque ici.").into_response();
    };
    let attempt = match cookie(&parts.headers, COOKIE) {
        Some(id) => match state.store.attempt(&id).await {
            Ok(attempt) => attempt,
            Err(e) => return store_failure(&bank.profile.name, "reading an SCA attempt", &e),
        },
        None => None,
    }
    .filter(|a| {
        a.bank_code == bank.code() && a.stage == DECIDING && a.expires_at > state.now().as_second()
    });
    let psu = match attempt.as_ref().and_then(|a| a.psu_id.as_deref()) {
        Some(id) => match state.store.psu(bank.code(), id).await {
            Ok(psu) => psu,
            Err(e) => return store_failure(&bank.profile.name, "reading a PSU", &e),
        },
        None => None,
    };
    match (attempt, psu) {
        (Some(attempt), Some(psu)) => {
            consent_page(&state, &bank, &attempt, &psu.display_name).await
        }
        _ => error_page(
            StatusCode::BAD_REQUEST,
            &bank.profile.name,
            "Votre session a expiré. Recommencez depuis le service qui vous a dirigé ici.",
        )
        .into_response(),
    }
}

/// `POST /sca/consent`: the PSU allows or refuses the TPP's access on the bank's page.
pub async fn consent(State(state): State<SharedState>, parts: Parts, body: Bytes) -> Response {
    let fields = form(&body).unwrap_or_default();
    let (bank, mut attempt) = match posted_attempt(&state, &parts, &fields).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let psu = match (&attempt.psu_id, attempt.stage.as_str()) {
        (Some(id), DECIDING) => match state.store.psu(bank.code(), id).await {
            Ok(psu) => psu,
            Err(e) => return store_failure(&bank.profile.name, "reading a PSU", &e),
        },
        _ => None,
    };
    let Some(psu) = psu else {
        return already_done(&bank.profile.name);
    };
    let allowed = fields.get("decision").map(String::as_str) == Some("allow");
    attempt.stage = if allowed { "done" } else { "cancelled" }.into();
    if let Err(page) = advance(&state, &bank, &attempt, DECIDING).await {
        return page;
    }
    if allowed {
        let sca_at = attempt.sca_at.unwrap_or_else(|| state.now().as_second());
        return finish_authorization(&state, &bank, &attempt, &psu, sca_at).await;
    }
    state.metrics.sca(bank.code(), ScaOutcome::Abandoned);
    match &attempt.redirect_uri {
        Some(uri) => back_to_tpp(
            uri,
            &attempt,
            OAuthError::access_denied("the PSU refused the access"),
        ),
        None => message_page(
            StatusCode::OK,
            &bank,
            &attempt,
            "Annulé",
            "Vous avez annulé.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_reads_back_from_its_stage() {
        for refusal in Refusal::ALL {
            assert_eq!(Refusal::from_stage(refusal.stage()), Some(refusal));
            assert!(refusal_error(refusal.stage()).is_some());
        }
        assert_eq!(Refusal::from_stage("locked"), None);
        assert_eq!(
            refusal_error("failed:unavailable").map(|e| e.code()),
            Some("temporarily_unavailable")
        );
        assert_eq!(
            refusal_error("failed:level").map(|e| e.code()),
            Some("access_denied")
        );
    }
}
