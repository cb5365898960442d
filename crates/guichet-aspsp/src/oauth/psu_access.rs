//! The PSU's side: after SCA, the TPPs that hold access to its accounts, and revoking one
//! (portal, "Refresh your token": the bank revokes "on request of a PSU wanting to revoke the
//! TPP access on his/her account data"). Its tokens and its consent go at once.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use guichet_store::ScaAttempt;

use super::authorize::{COOKIE, new_attempt, start};
use super::pages::{Page, error_page, see_other};
use super::steps::posted_attempt;
use super::{bank_of, cookie, form};
use crate::state::{Bank, SharedState};

pub struct GrantView {
    pub client_id: String,
    pub name: String,
    pub scopes: String,
    pub until: String,
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessPage<'a> {
    bank_name: &'a str,
    psu_name: &'a str,
    grants: Vec<GrantView>,
    csrf: &'a str,
}

/// The PSU's session, when it passed SCA for this purpose within the attempt's lifetime.
pub(crate) async fn session(
    state: &SharedState,
    bank: &Bank,
    parts: &Parts,
    purpose: &str,
) -> Option<ScaAttempt> {
    let id = cookie(&parts.headers, COOKIE)?;
    let attempt = state.store.attempt(&id).await.ok().flatten()?;
    (attempt.bank_code == bank.code()
        && attempt.purpose == purpose
        && attempt.stage == "done"
        && attempt.expires_at > state.now().as_second())
    .then_some(attempt)
}

pub async fn show(State(state): State<SharedState>, parts: Parts) -> Response {
    let Some(bank) = bank_of(&state, &parts) else {
        return error_page(StatusCode::NOT_FOUND, "Guichet", "Aucune banque ici.").into_response();
    };
    let Some(attempt) = session(&state, &bank, &parts, "manage").await else {
        return match new_attempt(&bank, "manage", state.now().as_second()) {
            Ok(attempt) => start(&state, &bank, attempt, None).await,
            Err(_) => error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &bank.profile.name,
                "Erreur interne.",
            )
            .into_response(),
        };
    };
    render(&state, &bank, &attempt).await
}

async fn render(state: &SharedState, bank: &Bank, attempt: &ScaAttempt) -> Response {
    let psu_id = attempt.psu_id.clone().unwrap_or_default();
    let psu = state.store.psu(bank.code(), &psu_id).await.ok().flatten();
    let grants = state
        .store
        .psu_grants(bank.code(), &psu_id, state.now().as_second())
        .await
        .unwrap_or_default();
    let views = grants
        .into_iter()
        .map(|g| GrantView {
            name: g.name.unwrap_or_else(|| g.client_id.clone()),
            client_id: g.client_id,
            scopes: g.scopes,
            until: jiff::Timestamp::from_second(g.expires_at)
                .map(|t| bank.zone.to_datetime(t).date().to_string())
                .unwrap_or_default(),
        })
        .collect();
    Page::render(
        StatusCode::OK,
        &AccessPage {
            bank_name: &bank.profile.name,
            psu_name: psu.as_ref().map_or("", |p| p.display_name.as_str()),
            grants: views,
            csrf: &attempt.csrf,
        },
    )
    .into_response()
}

pub async fn revoke(State(state): State<SharedState>, parts: Parts, body: Bytes) -> Response {
    let fields = form(&body).unwrap_or_default();
    let (bank, attempt) = match posted_attempt(&state, &parts, &fields).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(psu_id), true) = (
        &attempt.psu_id,
        attempt.purpose == "manage" && attempt.stage == "done",
    ) else {
        return error_page(
            StatusCode::FORBIDDEN,
            &bank.profile.name,
            "Authentifiez-vous d'abord.",
        )
        .into_response();
    };
    let Some(client_id) = fields.get("client_id") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            &bank.profile.name,
            "Aucun service choisi.",
        )
        .into_response();
    };
    match state
        .store
        .revoke_psu_access(bank.code(), psu_id, client_id, state.now().as_second())
        .await
    {
        Ok(count) => {
            tracing::info!(
                bank = bank.code(),
                client_id,
                tokens = count,
                "access revoked by the PSU"
            );
            see_other("/psu/access", None, None)
        }
        Err(e) => {
            tracing::error!(error = %e, "revoking a TPP's access");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &bank.profile.name,
                "Erreur interne.",
            )
            .into_response()
        }
    }
}
