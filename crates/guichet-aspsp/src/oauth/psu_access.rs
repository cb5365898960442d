//! The PSU's side: after SCA, the TPPs that hold access to its accounts, and revoking one
//! (portal, "Refresh your token": the bank revokes "on request of a PSU wanting to revoke the
//! TPP access on his/her account data"). Its tokens and its consent go at once.
//!
//! The same page keeps the PSU's funds-confirmation registrations (PSD2 art. 65(2)(c): "the
//! payer has given explicit consent to the account servicing payment service provider to
//! respond to requests from a specific payment service provider"; the portal: "the TPP and the
//! PSU have a contract that has been registered by the ASPSP"): one TPP, one eligible account
//! of the PSU, registered or revoked here.
#![allow(
    clippy::result_large_err,
    reason = "page handlers carry ready responses as errors"
)]

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use guichet_eidas::Role;
use guichet_store::ScaAttempt;

use super::authorize::{COOKIE, new_attempt, start};
use super::pages::{Page, error_page, see_other, store_failure};
use super::steps::posted_attempt;
use super::{bank_of, cookie, form};
use crate::state::{Bank, SharedState};

pub struct GrantView {
    pub client_id: String,
    pub name: String,
    pub scopes: String,
    pub until: String,
}

/// A live funds-confirmation registration, as listed to the PSU.
pub struct FundsView {
    pub client_id: String,
    pub name: String,
    pub account_id: String,
    pub iban: String,
    pub since: String,
}

/// An eligible account the PSU may register a TPP for.
pub struct AccountChoice {
    pub account_id: String,
    pub iban: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessPage<'a> {
    bank_name: &'a str,
    psu_name: &'a str,
    grants: Vec<GrantView>,
    funds: Vec<FundsView>,
    accounts: Vec<AccountChoice>,
    funds_error: Option<String>,
    csrf: &'a str,
}

/// The PSU's session, when it passed SCA for this purpose within the attempt's lifetime; the
/// store's failure page when it cannot be read (a session the store could not read is not an
/// absent one: the PSU is not sent through SCA again for it).
pub(crate) async fn session(
    state: &SharedState,
    bank: &Bank,
    parts: &Parts,
    purpose: &str,
) -> Result<Option<ScaAttempt>, Response> {
    let Some(id) = cookie(&parts.headers, COOKIE) else {
        return Ok(None);
    };
    let attempt = state
        .store
        .attempt(&id)
        .await
        .map_err(|e| store_failure(&bank.profile.name, "reading an SCA attempt", &e))?;
    Ok(attempt.filter(|attempt| {
        attempt.bank_code == bank.code()
            && attempt.purpose == purpose
            && attempt.stage == "done"
            && attempt.expires_at > state.now().as_second()
    }))
}

pub async fn show(State(state): State<SharedState>, parts: Parts) -> Response {
    let Some(bank) = bank_of(&state, &parts) else {
        return error_page(StatusCode::NOT_FOUND, "Guichet", "Aucune banque ici.").into_response();
    };
    let session = match session(&state, &bank, &parts, "manage").await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let Some(attempt) = session else {
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
    render(&state, &bank, &attempt, StatusCode::OK, None).await
}

/// The page, with `funds_error` shown above the funds-confirmation form when a registration was
/// refused.
async fn render(
    state: &SharedState,
    bank: &Bank,
    attempt: &ScaAttempt,
    status: StatusCode,
    funds_error: Option<&str>,
) -> Response {
    let psu_id = attempt.psu_id.clone().unwrap_or_default();
    let now = state.now().as_second();
    // All or nothing: a list the store could not read is not an empty one.
    let read = async {
        let psu = state.store.psu(bank.code(), &psu_id).await?;
        let grants = state.store.psu_grants(bank.code(), &psu_id, now).await?;
        let funds = state.store.funds_checks(bank.code(), &psu_id).await?;
        let accounts = state.store.psu_accounts(bank.code(), &psu_id).await?;
        Ok::<_, guichet_store::StoreError>((psu, grants, funds, accounts))
    };
    let (psu, grants, funds, accounts) = match read.await {
        Ok(read) => read,
        Err(e) => return store_failure(&bank.profile.name, "reading the PSU's access page", &e),
    };
    let day = |seconds: i64| {
        jiff::Timestamp::from_second(seconds)
            .map(|t| bank.zone.to_datetime(t).date().to_string())
            .unwrap_or_default()
    };
    let views = grants
        .into_iter()
        .map(|g| GrantView {
            name: g.name.unwrap_or_else(|| g.client_id.clone()),
            client_id: g.client_id,
            scopes: g.scopes,
            until: day(g.expires_at),
        })
        .collect();
    let funds = funds
        .into_iter()
        .map(|f| FundsView {
            name: f.tpp_name.unwrap_or_else(|| f.client_id.clone()),
            client_id: f.client_id,
            iban: f.iban.unwrap_or_else(|| f.account_id.clone()),
            account_id: f.account_id,
            since: day(f.registered_at),
        })
        .collect();
    let accounts = accounts
        .into_iter()
        .filter(|a| a.eligible)
        .map(|a| AccountChoice {
            account_id: a.resource_id,
            iban: a.iban,
            name: a.name,
        })
        .collect();
    Page::render(
        status,
        &AccessPage {
            bank_name: &bank.profile.name,
            psu_name: psu.as_ref().map_or("", |p| p.display_name.as_str()),
            grants: views,
            funds,
            accounts,
            funds_error: funds_error.map(str::to_owned),
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
        Err(e) => store_failure(&bank.profile.name, "revoking a TPP's access", &e),
    }
}

/// The session of a form posted from the access page: the bank, the attempt (with its CSRF
/// token checked) and the PSU, once SCA for "manage" is done.
async fn managing(
    state: &SharedState,
    parts: &Parts,
    fields: &std::collections::HashMap<String, String>,
) -> Result<(Arc<Bank>, ScaAttempt, String), Response> {
    let (bank, attempt) = posted_attempt(state, parts, fields).await?;
    let psu_id = attempt
        .psu_id
        .clone()
        .filter(|_| attempt.purpose == "manage" && attempt.stage == "done");
    match psu_id {
        Some(psu_id) => Ok((bank, attempt, psu_id)),
        None => Err(error_page(
            StatusCode::FORBIDDEN,
            &bank.profile.name,
            "Authentifiez-vous d'abord.",
        )
        .into_response()),
    }
}

/// `POST /psu/access/funds/register`: the PSU registers a TPP (by its organizationIdentifier)
/// for funds confirmations on one of its eligible accounts. The TPP must be registered with the
/// bank (and, where its roles are known, hold PSP_IC); the account must be the PSU's and
/// eligible. A refusal shows the page again with the reason; success goes back to the page.
pub async fn register_funds(
    State(state): State<SharedState>,
    parts: Parts,
    body: Bytes,
) -> Response {
    let fields = form(&body).unwrap_or_default();
    let (bank, attempt, psu_id) = match managing(&state, &parts, &fields).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let client_id = fields.get("client_id").map_or("", |s| s.trim());
    let account_id = fields.get("account_id").map_or("", |s| s.trim());
    let refuse = |message: &'static str| {
        render(
            &state,
            &bank,
            &attempt,
            StatusCode::BAD_REQUEST,
            Some(message),
        )
    };
    if client_id.is_empty() {
        return refuse("Indiquez l'identifiant du service (organizationIdentifier).").await;
    }
    let tpp = match state.store.tpp(client_id).await {
        Ok(tpp) => tpp,
        Err(e) => return store_failure(&bank.profile.name, "reading a TPP", &e),
    };
    let Some(tpp) = tpp else {
        return refuse("Aucun service n'est enregistré auprès de la banque sous cet identifiant.")
            .await;
    };
    // A TPP without the PSP_IC role could never ask (the `cbpii` scope needs it).
    if tpp
        .roles
        .as_ref()
        .is_some_and(|roles| !roles.iter().any(|r| r == Role::CardIssuing.name()))
    {
        return refuse(
            "Ce service n'est pas agréé pour émettre des instruments de paiement liés à une carte.",
        )
        .await;
    }
    let accounts = match state.store.psu_accounts(bank.code(), &psu_id).await {
        Ok(accounts) => accounts,
        Err(e) => return store_failure(&bank.profile.name, "reading the PSU's accounts", &e),
    };
    if !accounts
        .iter()
        .any(|a| a.resource_id == account_id && a.eligible)
    {
        return refuse("Choisissez l'un de vos comptes de paiement.").await;
    }
    match state
        .store
        .register_funds_check(
            bank.code(),
            &psu_id,
            &tpp.client_id,
            account_id,
            state.now().as_second(),
        )
        .await
    {
        Ok(()) => {
            tracing::info!(
                bank = bank.code(),
                client_id = tpp.client_id.as_str(),
                account_id,
                "funds confirmation registered by the PSU"
            );
            see_other("/psu/access", None, None)
        }
        Err(e) => store_failure(&bank.profile.name, "registering a funds confirmation", &e),
    }
}

/// `POST /psu/access/funds/revoke`: the PSU withdraws a TPP's funds-confirmation registration
/// on one account; the TPP's next check is refused.
pub async fn revoke_funds(State(state): State<SharedState>, parts: Parts, body: Bytes) -> Response {
    let fields = form(&body).unwrap_or_default();
    let (bank, attempt, psu_id) = match managing(&state, &parts, &fields).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(client_id), Some(account_id)) = (fields.get("client_id"), fields.get("account_id"))
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            &bank.profile.name,
            "Aucune autorisation choisie.",
        )
        .into_response();
    };
    match state
        .store
        .revoke_funds_check(
            bank.code(),
            &psu_id,
            client_id,
            account_id,
            state.now().as_second(),
        )
        .await
    {
        Ok(true) => {
            tracing::info!(
                bank = bank.code(),
                client_id = client_id.as_str(),
                account_id = account_id.as_str(),
                "funds confirmation revoked by the PSU"
            );
            see_other("/psu/access", None, None)
        }
        Ok(false) => {
            render(
                &state,
                &bank,
                &attempt,
                StatusCode::BAD_REQUEST,
                Some("Cette autorisation n'existe pas ou a déjà été révoquée."),
            )
            .await
        }
        Err(e) => store_failure(&bank.profile.name, "revoking a funds confirmation", &e),
    }
}
