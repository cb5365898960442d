//! `GET /stet/psd2/oauth/authorize` and the PSU's SCA on the bank's pages: identifier and
//! password, then a one-time code; three failures lock the attempt; cancelling returns
//! `access_denied` to the TPP. Success redirects to the TPP with a single-use code (one
//! minute) and its `state`.
#![allow(
    clippy::result_large_err,
    reason = "page handlers carry ready responses as errors"
)]

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use guichet_store::ScaAttempt;

use super::error::OAuthError;
use super::pages::{Page, error_page, origin_of, see_other, store_failure};
use super::{bank_of, form, random};
use crate::auth::role_for_scope;
use crate::state::{Bank, SharedState};

/// The SCA session's cookie. `__Host-` (RFC 6265bis §4.1.3.2): only set by this host, over
/// https, for `/`, without `Domain`, so that no sibling subdomain can plant a session of its
/// own in the PSU's browser (session fixation).
pub const COOKIE: &str = "__Host-guichet_sca";
const ATTEMPT_SECONDS: i64 = 600;
pub(super) const CODE_SECONDS: i64 = 60;
pub(super) const MAX_FAILURES: i64 = 3;

pub struct TppView {
    pub name: String,
    pub org_id: String,
    pub access: Vec<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub bank_name: &'a str,
    pub tpp: Option<TppView>,
    pub error: Option<String>,
    pub csrf: &'a str,
    pub cancellable: bool,
}

/// What each scope lets the TPP do, in the PSU's words.
pub(super) fn describe(scope: &str) -> &'static str {
    match scope {
        "aisp" => {
            "consulter la liste de vos comptes, et les soldes et opérations des comptes que vous choisirez"
        }
        "cbpii" => "vérifier la disponibilité des fonds sur vos comptes",
        "extended_transaction_history" => {
            "consulter l'historique de vos opérations au-delà de 90 jours"
        }
        _ => "un accès non décrit",
    }
}

pub fn session_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; Max-Age={ATTEMPT_SECONDS}; HttpOnly; Secure; SameSite=Strict")
}

pub(super) fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

/// The TPP's redirect URI with these parameters added.
pub(super) fn redirect_to(base: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (name, value) in params {
                    query.append_pair(name, value);
                }
            }
            url.to_string()
        }
        Err(_) => base.to_owned(),
    }
}

/// Sends an OAuth2 error back to the TPP; built by [`OAuthError::redirect`].
pub(super) fn oauth_error(
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    see_other(
        &redirect_to(redirect_uri, &params),
        origin_of(redirect_uri).as_deref(),
        None,
    )
}

/// Starts a new SCA attempt and shows the login page, or sends the PSU to the bank's OpenID
/// provider when the bank has one.
pub async fn start(
    state: &SharedState,
    bank: &Bank,
    attempt: ScaAttempt,
    tpp: Option<TppView>,
) -> Response {
    if let Some(provider) = bank.oidc.clone() {
        return super::delegated::begin(state, bank, &provider, attempt).await;
    }
    if let Err(e) = state.store.create_attempt(&attempt).await {
        return store_failure(&bank.profile.name, "storing an SCA attempt", &e);
    }
    let mut page = Page::render(
        StatusCode::OK,
        &LoginPage {
            bank_name: &bank.profile.name,
            tpp,
            error: None,
            csrf: &attempt.csrf,
            cancellable: attempt.redirect_uri.is_some(),
        },
    );
    page.form_target = attempt.redirect_uri.as_deref().and_then(origin_of);
    page.set_cookie = Some(session_cookie(&attempt.id));
    page.into_response()
}

pub fn new_attempt(
    bank: &Bank,
    purpose: &str,
    now: i64,
) -> Result<ScaAttempt, crate::error::ApiError> {
    Ok(ScaAttempt {
        id: random()?,
        bank_code: bank.code().to_owned(),
        purpose: purpose.to_owned(),
        client_id: None,
        redirect_uri: None,
        scope: None,
        state: None,
        code_challenge: None,
        csrf: random()?,
        psu_id: None,
        stage: "login".into(),
        failures: 0,
        otp_hash: None,
        otp_shown: None,
        sca_at: None,
        created_at: now,
        expires_at: now + ATTEMPT_SECONDS,
        delegated: None,
    })
}

pub async fn authorize(State(state): State<SharedState>, parts: Parts) -> Response {
    let Some(bank) = bank_of(&state, &parts) else {
        return error_page(StatusCode::NOT_FOUND, "Guichet", "Aucune banque ici.").into_response();
    };
    let name = bank.profile.name.as_str();
    let refuse = |message: &str| error_page(StatusCode::BAD_REQUEST, name, message).into_response();
    let params = match form(parts.uri.query().unwrap_or("").as_bytes()) {
        Ok(params) => params,
        Err(e) => return refuse(&e),
    };
    let Some(client_id) = params.get("client_id") else {
        return refuse("La demande ne précise pas le service (client_id).");
    };
    let tpp = match state.store.tpp(client_id).await {
        Ok(Some(tpp)) => tpp,
        Ok(None) => {
            return refuse(
                "Ce service n'est pas enregistré auprès de la banque (client_id inconnu).",
            );
        }
        Err(e) => return store_failure(name, "reading a TPP", &e),
    };
    // RFC 6749 §4.1.2.1: with an unknown client or a redirect URI that does not match, never
    // redirect.
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|uri| tpp.redirect_uris.contains(uri))
    else {
        return refuse(
            "L'adresse de retour (redirect_uri) ne correspond à aucune adresse enregistrée par ce service.",
        );
    };
    let tpp_state = params.get("state").map(String::as_str);
    if tpp_state.is_some_and(|s| s.len() > 512) {
        return OAuthError::invalid_request("state is longer than 512 characters")
            .redirect(redirect_uri, None);
    }
    if params.get("response_type").map(String::as_str) != Some("code") {
        return OAuthError::unsupported_response_type("response_type must be code")
            .redirect(redirect_uri, tpp_state);
    }
    let scopes: Vec<&str> = params
        .get("scope")
        .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let allowed = |scope: &str| match scope {
        "aisp" | "cbpii" => true,
        "extended_transaction_history" => bank.profile.extended_history_days.is_some(),
        _ => false,
    };
    if scopes.is_empty() {
        return OAuthError::invalid_scope("scope is required: aisp, cbpii")
            .redirect(redirect_uri, tpp_state);
    }
    if let Some(bad) = scopes.iter().find(|s| !allowed(s)) {
        return OAuthError::invalid_scope(format!("scope '{bad}' is not offered by {name}"))
            .redirect(redirect_uri, tpp_state);
    }
    // The PSD2 role of the QWAC the TPP registered with must allow each scope, checked before
    // the PSU is sent through SCA (eIDAS notes §1.5: aisp needs PSP_AI, cbpii PSP_IC); the
    // token endpoint checks the connection's QWAC again. A registration older than roles
    // (NULL) is checked at the token endpoint only.
    if let Some(roles) = &tpp.roles
        && let Some((scope, role)) = scopes.iter().find_map(|scope| {
            role_for_scope(scope)
                .filter(|role| !roles.iter().any(|r| r == role.name()))
                .map(|role| (scope, role))
        })
    {
        return OAuthError::invalid_scope(format!(
            "scope '{scope}' needs the {} role, which the registered QWAC of {} lacks",
            role.name(),
            tpp.client_id
        ))
        .redirect(redirect_uri, tpp_state);
    }
    let challenge = params.get("code_challenge");
    if let Some(challenge) = challenge {
        if params.get("code_challenge_method").map(String::as_str) != Some("S256") {
            return OAuthError::invalid_request("code_challenge_method must be S256")
                .redirect(redirect_uri, tpp_state);
        }
        let well_formed = (43..=128).contains(&challenge.len())
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return OAuthError::invalid_request("code_challenge is not a base64url SHA-256")
                .redirect(redirect_uri, tpp_state);
        }
    }
    let now = state.now().as_second();
    let mut attempt = match new_attempt(&bank, "authorize", now) {
        Ok(attempt) => attempt,
        Err(_) => {
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, name, "Erreur interne.")
                .into_response();
        }
    };
    attempt.client_id = Some(tpp.client_id.clone());
    attempt.redirect_uri = Some(redirect_uri.clone());
    attempt.scope = Some(scopes.join(" "));
    attempt.state = tpp_state.map(str::to_owned);
    attempt.code_challenge = challenge.cloned();
    let view = TppView {
        name: tpp.name,
        org_id: tpp.client_id,
        access: scopes.iter().map(|s| describe(s).to_owned()).collect(),
    };
    start(&state, &bank, attempt, Some(view)).await
}
