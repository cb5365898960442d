//! The fallback interface (portal, "How to use the fallback mode"; RTS art. 33): a TPP whose
//! call to `POST /token` carries `fallback: 1` gets a 302 to the bank's online-banking login with
//! a JWT the bank signed; the PSU then logs in through the online-banking pages. No token of
//! the dedicated interface is issued or reused.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use super::authorize::{new_attempt, start};
use super::pages::{Page, error_page, store_failure};
use super::psu_access::session;
use super::{bank_of, form};
use crate::state::SharedState;

/// The claims of the fallback JWT.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FallbackClaims {
    /// The bank (`guichet:<bank code>`).
    pub iss: String,
    /// The online banking of that bank.
    pub aud: String,
    /// The TPP's client_id.
    pub sub: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

pub fn audience(bank_code: &str) -> String {
    format!("online-banking:{bank_code}")
}

struct AccountView {
    name: String,
    iban: String,
    balance: String,
}

#[derive(Template)]
#[template(path = "banking.html")]
struct BankingPage<'a> {
    bank_name: &'a str,
    psu_name: &'a str,
    client_id: &'a str,
    accounts: Vec<AccountView>,
}

/// `GET /fallback/login?jwt=…`: checks the bank's JWT, then the PSU's usual online-banking
/// authentication.
pub async fn login(State(state): State<SharedState>, parts: Parts) -> Response {
    let Some(bank) = bank_of(&state, &parts) else {
        return error_page(StatusCode::NOT_FOUND, "Guichet", "Aucune banque ici.").into_response();
    };
    let params = form(parts.uri.query().unwrap_or("").as_bytes()).unwrap_or_default();
    let Some((_, decoding)) = state.security.jwt_keys.get(bank.code()) else {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            &bank.profile.name,
            "Le mode de secours n'est pas configuré.",
        )
        .into_response();
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience(bank.code())]);
    validation.set_issuer(&[format!("guichet:{}", bank.code())]);
    // The expiry is checked against the bank's clock, below.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = params
        .get("jwt")
        .and_then(|jwt| jsonwebtoken::decode::<FallbackClaims>(jwt, decoding, &validation).ok())
        .map(|data| data.claims)
        .filter(|c| c.exp > state.now().as_second());
    let Some(claims) = claims else {
        return error_page(
            StatusCode::BAD_REQUEST,
            &bank.profile.name,
            "Le lien de connexion est invalide ou a expiré.",
        )
        .into_response();
    };
    let mut attempt = match new_attempt(&bank, "fallback", state.now().as_second()) {
        Ok(attempt) => attempt,
        Err(_) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &bank.profile.name,
                "Erreur interne.",
            )
            .into_response();
        }
    };
    attempt.client_id = Some(claims.sub);
    start(&state, &bank, attempt, None).await
}

/// The online-banking view the fallback leads to: the PSU's accounts and balances.
pub async fn banking(State(state): State<SharedState>, parts: Parts) -> Response {
    let Some(bank) = bank_of(&state, &parts) else {
        return error_page(StatusCode::NOT_FOUND, "Guichet", "Aucune banque ici.").into_response();
    };
    let session = match session(&state, &bank, &parts, "fallback").await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let Some(attempt) = session else {
        return error_page(
            StatusCode::FORBIDDEN,
            &bank.profile.name,
            "Authentifiez-vous d'abord.",
        )
        .into_response();
    };
    let psu_id = attempt.psu_id.clone().unwrap_or_default();
    // All or nothing: accounts the store could not read are not an empty list.
    let read = async {
        let psu = state.store.psu(bank.code(), &psu_id).await?;
        let accounts = state.store.psu_accounts(bank.code(), &psu_id).await?;
        let balances = state.store.psu_balances(bank.code(), &psu_id).await?;
        Ok::<_, guichet_store::StoreError>((psu, accounts, balances))
    };
    let (psu, accounts, balances) = match read.await {
        Ok(read) => read,
        Err(e) => return store_failure(&bank.profile.name, "reading the PSU's accounts", &e),
    };
    let views = accounts
        .into_iter()
        .filter(|a| a.eligible)
        .map(|a| AccountView {
            balance: balances
                .iter()
                .find(|b| b.account_id == a.resource_id && b.balance_type == "CLBD")
                .map(|b| {
                    format!(
                        "{} {}",
                        guichet_stet::Amount::from_minor(b.amount_minor),
                        b.currency
                    )
                })
                .unwrap_or_default(),
            name: a.name,
            iban: a.iban,
        })
        .collect();
    Page::render(
        StatusCode::OK,
        &BankingPage {
            bank_name: &bank.profile.name,
            psu_name: psu.as_ref().map_or("", |p| p.display_name.as_str()),
            client_id: attempt.client_id.as_deref().unwrap_or(""),
            accounts: views,
        },
    )
    .into_response()
}
