//! TPP registration (the portal's "API Register"), over mutual TLS with the TPP's QWAC.
//!
//! `POST /register` creates or updates the registration of the QWAC's organisation (201 the
//! first time, 200 after) and answers its client_id, the organizationIdentifier; `GET /register`
//! shows it; `DELETE /register/qseals/{sha256}` removes one QSealC. The body follows RFC 7591's
//! names (`client_name`, `contacts`, `redirect_uris`) plus `qseal_certificates`, PEM QSealCs
//! that must belong to the same organisation.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete, post};
use guichet_eidas::Psd2Certificate;
use guichet_eidas::trust::Usage;
use guichet_stet::register::{RegisteredQseal, Registration, RegistrationAnswer};
use guichet_store::{QsealRecord, TppRecord};

use crate::ais::{json, read_json_body};
use crate::context::Qwac;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/register", post(register).get(show))
        .route("/register/qseals/{sha256}", delete(remove_qseal))
}

/// The stored form of a registered QSealC.
pub fn qseal_record(seal: Psd2Certificate, pem: String) -> QsealRecord {
    QsealRecord {
        sha256: seal.sha256,
        sha1: seal.sha1,
        serial: seal.serial_hex,
        issuer: seal.issuer,
        not_after: seal.not_after,
        pem,
    }
}

/// A redirect URI a bank will send a PSU to: https, or http on the loopback for development;
/// no fragment (RFC 6749 §3.1.2).
pub fn check_redirect_uri(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|_| {
        format!(
            "redirect URI '{}' is not a URL",
            guichet_stet::error::truncate(text)
        )
    })?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.fragment().is_some() {
        return Err(format!("redirect URI '{text}' has a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "redirect URI '{text}' must be https (or http on the loopback)"
        )),
    }
}

async fn register(
    State(state): State<SharedState>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> ApiResult<Response> {
    let (parts, body): (_, Body) = request.into_parts();
    let Qwac(cert) = Qwac::of(&parts.extensions)
        .map_err(|refusal| ApiError::Unauthenticated(refusal.message()))?;
    let bytes = read_json_body(&headers, body).await?;
    let registration: Registration = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("the registration is invalid: {e}")))?;
    let name = registration.client_name.trim();
    if name.is_empty() || name.chars().count() > 140 {
        return Err(ApiError::BadRequest(
            "client_name must be 1 to 140 characters".into(),
        ));
    }
    if registration.contacts.len() > 10
        || registration
            .contacts
            .iter()
            .any(|c| c.is_empty() || c.len() > 254)
    {
        return Err(ApiError::BadRequest(
            "contacts: at most 10, each 1 to 254 characters".into(),
        ));
    }
    if registration.redirect_uris.len() > 20 {
        return Err(ApiError::BadRequest("at most 20 redirect_uris".into()));
    }
    for uri in &registration.redirect_uris {
        check_redirect_uri(uri).map_err(ApiError::BadRequest)?;
    }
    let now = state.now().as_second();
    let mut seals = Vec::new();
    for pem in &registration.qseal_certificates {
        let seal = Psd2Certificate::from_pem(pem.as_bytes())
            .map_err(|e| ApiError::BadRequest(format!("QSealC refused: {e}")))?;
        if !seal.is_qseal() {
            return Err(ApiError::BadRequest(
                "a certificate in qseal_certificates is not a QSealC (qcType eseal)".into(),
            ));
        }
        if seal.org_id != cert.org_id {
            return Err(ApiError::BadRequest(format!(
                "the QSealC belongs to {}, not to {}",
                seal.org_id, cert.org_id
            )));
        }
        state
            .security
            .trust()
            .verify(&seal.der, &[], now, Usage::Seal)
            .map_err(|e| ApiError::BadRequest(format!("QSealC refused: {e}")))?;
        seals.push((seal, pem.clone()));
    }
    let records: Vec<QsealRecord> = seals
        .into_iter()
        .map(|(seal, pem)| qseal_record(seal, pem))
        .collect();
    let tpp = TppRecord {
        client_id: cert.org_id.to_string(),
        name: name.to_owned(),
        contacts: registration.contacts.clone(),
        redirect_uris: registration.redirect_uris.clone(),
        registered_at: now,
        updated_at: now,
        roles: Some(cert.roles.iter().map(|r| r.name().to_owned()).collect()),
    };
    let created = state.store.register_tpp(&tpp, &records).await?;
    tracing::info!(client_id = %cert.org_id, created, "TPP registered");
    let answer = answer(&state, cert.org_id.as_str()).await?;
    json(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        &answer,
        None,
    )
}

async fn answer(state: &SharedState, client_id: &str) -> ApiResult<RegistrationAnswer> {
    let tpp = state.store.tpp(client_id).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "{client_id} is not registered; POST /register first"
        ))
    })?;
    let seals = state.store.qseals(client_id).await?;
    Ok(RegistrationAnswer {
        client_id: tpp.client_id,
        client_name: tpp.name,
        contacts: tpp.contacts,
        redirect_uris: tpp.redirect_uris,
        qseal_certificates: seals
            .into_iter()
            .map(|s| RegisteredQseal {
                key_id: format!("https://tpp.invalid/qseal_{}", s.sha256),
                sha256: s.sha256,
                serial: s.serial,
                issuer: s.issuer,
                not_after: s.not_after,
            })
            .collect(),
    })
}

async fn show(State(state): State<SharedState>, Qwac(cert): Qwac) -> ApiResult<Response> {
    json(
        StatusCode::OK,
        &answer(&state, cert.org_id.as_str()).await?,
        None,
    )
}

async fn remove_qseal(
    State(state): State<SharedState>,
    Path(sha256): Path<String>,
    Qwac(cert): Qwac,
) -> ApiResult<Response> {
    let sha256 = sha256.to_ascii_lowercase();
    if !state
        .store
        .remove_qseal(cert.org_id.as_str(), &sha256)
        .await?
    {
        return Err(ApiError::NotFound(format!(
            "no QSealC {sha256} is registered for {}",
            cert.org_id
        )));
    }
    json(
        StatusCode::OK,
        &answer(&state, cert.org_id.as_str()).await?,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::check_redirect_uri;

    #[test]
    fn redirect_uris_are_https_or_loopback() {
        assert!(check_redirect_uri("https://tpp.example/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:8765/callback").is_ok());
        assert!(check_redirect_uri("http://tpp.example/cb").is_err());
        assert!(check_redirect_uri("https://tpp.example/cb#frag").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
        assert!(check_redirect_uri("not a url").is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_redirect_uri_is_answered_without_panic(uri in "\\PC{0,200}") {
            let _ = check_redirect_uri(&uri);
        }
    }
}
