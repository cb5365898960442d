//! The OAuth2 authorization server (portal: "Get your token", "Refresh your token", "Revoke
//! the token", "How to use the fallback mode", "Trigger App2App feature").
//!
//! Two faces: `POST /stet/psd2/oauth/token` and `/revoke` on the API listener, over mutual TLS,
//! answering RFC 6749 JSON; and the PSU's pages on the PSU listener (server certificate only):
//! `GET /stet/psd2/oauth/authorize`, the SCA steps, the PSU's list of TPPs with access, the
//! fallback online-banking login, the App2App association files.

mod authorize;
mod delegated;
pub mod error;
mod fallback;
mod lockout;
pub(crate) mod pages;
mod psu_access;
mod steps;
mod token;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::routing::{get, post};

use crate::state::{AppState, Bank, ListenerBank, SharedState};

pub use crate::sca::{Challenge, DisabledSca, SANDBOX_PASSWORD, SandboxSca, ScaProvider};
pub use token::jwt_keys;

/// Token and revocation endpoints, for the API listener.
pub fn api_router() -> Router<SharedState> {
    Router::new()
        .route("/stet/psd2/oauth/token", post(token::token))
        .route("/stet/psd2/oauth/revoke", post(token::revoke))
}

/// The PSU's pages, for the PSU listener.
pub fn psu_router() -> Router<SharedState> {
    Router::new()
        .route("/stet/psd2/oauth/authorize", get(authorize::authorize))
        .route("/sca/login", post(steps::login))
        .route("/sca/otp", post(steps::otp))
        .route("/sca/cancel", post(steps::cancel))
        .route("/sca/callback", get(delegated::callback))
        .route(
            "/sca/consent",
            get(delegated::show_consent).post(delegated::consent),
        )
        .route("/psu/access", get(psu_access::show))
        .route("/psu/access/revoke", post(psu_access::revoke))
        .route(
            "/psu/access/funds/register",
            post(psu_access::register_funds),
        )
        .route("/psu/access/funds/revoke", post(psu_access::revoke_funds))
        .route("/fallback/login", get(fallback::login))
        .route("/fallback/banking", get(fallback::banking))
        .route(
            "/.well-known/apple-app-site-association",
            get(pages::apple_app_site_association),
        )
        .route("/.well-known/assetlinks.json", get(pages::assetlinks))
        .route("/static/bank.css", get(pages::stylesheet))
        .fallback(pages::not_found)
}

/// The bank of a request outside the STET edge: by Host, else by listener.
pub(crate) fn bank_of(state: &AppState, parts: &Parts) -> Option<Arc<Bank>> {
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    let listener = parts
        .extensions
        .get::<ListenerBank>()
        .and_then(|l| l.0.as_deref());
    state.resolve_bank(host, listener)
}

/// Reads `application/x-www-form-urlencoded` pairs (or a query string); a name given twice is
/// refused (RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than
/// once").
pub(crate) fn form(bytes: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(bytes) {
        if out
            .insert(name.clone().into_owned(), value.into_owned())
            .is_some()
        {
            return Err(format!(
                "the parameter '{}' is given twice",
                guichet_stet::error::truncate(&name)
            ));
        }
    }
    Ok(out)
}

/// The value of a cookie.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// A random URL-safe string of 256 bits.
pub(crate) fn random() -> Result<String, crate::error::ApiError> {
    guichet_store::TokenSecret::generate()
        .map(|s| s.expose().to_owned())
        .map_err(|e| crate::error::ApiError::Internal(e.to_string()))
}

/// SHA-256, lower-case hex.
pub(crate) fn sha256_hex(text: &str) -> String {
    guichet_eidas::hex(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes()).as_ref(),
    )
}

/// Equal in constant time.
pub(crate) fn same(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms_refuse_repeated_parameters() {
        assert!(form(b"a=1&b=2").is_ok());
        assert!(form(b"a=1&a=2").is_err());
        assert_eq!(
            form(b"scope=aisp+cbpii")
                .ok()
                .and_then(|f| f.get("scope").cloned()),
            Some("aisp cbpii".into())
        );
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            axum::http::HeaderValue::from_static("a=1; guichet_sca=xyz; b=2"),
        );
        assert_eq!(cookie(&headers, "guichet_sca").as_deref(), Some("xyz"));
        assert_eq!(cookie(&headers, "none"), None);
    }

    proptest! {
        #[test]
        fn any_form_body_is_answered_without_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = form(&body);
        }
    }
}
