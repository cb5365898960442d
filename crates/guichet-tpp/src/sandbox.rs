//! For tests and scripts against a Guichet sandbox: the PSU's part of the login, done by the
//! program. It fills the sandbox's pages (identifier, the password `sandbox`, the one-time code
//! the sandbox shows) and follows the redirect to the TPP's callback. A real bank's pages are
//! for the customer alone; this works only where the bank is a sandbox, and says so otherwise
//! ("not a Guichet sandbox") before sending any password when the page is not Guichet's.

use std::collections::HashMap;
use std::path::Path;

use crate::error::TppError;

fn between(html: &str, before: &str) -> String {
    html.split(before)
        .nth(1)
        .and_then(|rest| rest.split(['"', '<']).next())
        .unwrap_or("")
        .to_owned()
}

/// The marker of a Guichet sandbox's code page: the one-time code, shown instead of sent.
pub const SANDBOX_MARKER: &str = "id=\"sandbox-code\"";

/// A client as the PSU's browser: it trusts the CA of the bank's pages (`ca_file`, PEM) and
/// follows no redirect, so that each step of a journey can be read.
pub fn browser(ca_file: &Path) -> Result<reqwest::Client, TppError> {
    let named = |e: &dyn std::fmt::Display| TppError::Local(format!("{}: {e}", ca_file.display()));
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca_file).map_err(|e| named(&e))?;
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
        let cert: rustls_pki_types::CertificateDer<'static> = cert.map_err(|e| named(&e))?;
        roots.add(cert).map_err(|e| named(&e))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TppError::Local(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| TppError::Local(format!("sandbox login: {e}")))
}

/// Logs `identifier` in on the sandbox page at `authorize_url` and answers the URL the bank
/// redirects to (the TPP's callback with `code` and `state`, or with `error`), without
/// following it: nothing needs to listen on the callback.
pub async fn authorize(
    authorize_url: &str,
    ca_file: &Path,
    identifier: &str,
) -> Result<String, TppError> {
    let fail = |e: reqwest::Error| TppError::Local(format!("sandbox login: {e}"));
    let browser = browser(ca_file)?;
    let origin = url::Url::parse(authorize_url)
        .map_err(|e| TppError::Local(format!("authorize URL {authorize_url}: {e}")))?
        .origin()
        .ascii_serialization();
    let page = browser.get(authorize_url).send().await.map_err(fail)?;
    if page.status().is_redirection() {
        // The bank refused before any login (invalid_scope, …): the redirect says why.
        return page
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| TppError::Local("a redirect without a location".into()));
    }
    let status = page.status().as_u16();
    let cookie = session_cookie(&page);
    let html = page.text().await.map_err(fail)?;
    if status != 200 {
        return Err(TppError::Refused {
            status,
            message: format!(
                "the authorize page {authorize_url} answered {status} (is the redirect URI registered at the bank? `guichet tpp register`)"
            ),
        });
    }
    if !html.contains("id=\"login-form\"") {
        return Err(TppError::Local(format!(
            "not a Guichet sandbox: the page at {origin} has no Guichet login form; log in in a browser instead"
        )));
    }
    let post = |path: &str, fields: Vec<(&str, String)>| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        browser
            .post(format!("{origin}{path}"))
            .header("cookie", cookie.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let csrf = between(&html, "name=\"csrf\" value=\"");
    let otp = post(
        "/sca/login",
        vec![
            ("csrf", csrf),
            ("identifier", identifier.to_owned()),
            ("password", "sandbox".to_owned()),
        ],
    )
    .await
    .map_err(fail)?
    .text()
    .await
    .map_err(fail)?;
    if !otp.contains("action=\"/sca/otp\"") {
        return Err(TppError::Local(format!(
            "the sandbox did not accept the login of {identifier} (is the persona or PSU id right, and not blocked?)"
        )));
    }
    let code = between(&otp, "id=\"sandbox-code\">");
    if !otp.contains(SANDBOX_MARKER) || code.is_empty() {
        return Err(TppError::Local(format!(
            "not a Guichet sandbox: the code page at {origin} shows no sandbox code (element #sandbox-code)"
        )));
    }
    let done = post(
        "/sca/otp",
        vec![
            ("csrf", between(&otp, "name=\"csrf\" value=\"")),
            ("code", code),
        ],
    )
    .await
    .map_err(fail)?;
    done.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| TppError::Local("no redirect after the one-time code".into()))
}

/// Logs `identifier` in on the sandbox page at `authorize_url` and follows the redirect;
/// answers the redirect's URL (the TPP's callback with `code` and `state`).
pub async fn log_in(
    authorize_url: &str,
    ca_file: &Path,
    identifier: &str,
) -> Result<String, TppError> {
    let location = authorize(authorize_url, ca_file, identifier).await?;
    browser(ca_file)?
        .get(&location)
        .send()
        .await
        .map_err(|e| TppError::Local(format!("sandbox login: {e}")))?;
    Ok(location)
}

/// The query parameters of a redirect URL (`code`, `state`, or `error`).
pub fn redirect_parameters(location: &str) -> Result<HashMap<String, String>, TppError> {
    let url = url::Url::parse(location)
        .map_err(|e| TppError::Local(format!("the bank's redirect {location}: {e}")))?;
    Ok(url.query_pairs().into_owned().collect())
}

/// The `name=value` of the session cookie a bank's page sets; empty when it sets none.
pub fn session_cookie(page: &reqwest::Response) -> String {
    page.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_gives_its_parameters() -> Result<(), TppError> {
        let params = redirect_parameters("http://127.0.0.1:8765/callback?code=abc&state=x%20y")?;
        assert_eq!(params.get("code").map(String::as_str), Some("abc"));
        assert_eq!(params.get("state").map(String::as_str), Some("x y"));
        assert!(redirect_parameters("not a url").is_err());
        Ok(())
    }
}
