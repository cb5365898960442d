//! For tests and scripts against a Guichet sandbox: the PSU's part of the login, done by the
//! program. It fills the sandbox's pages (identifier, the password `sandbox`, the one-time code
//! the sandbox shows) and follows the redirect to the TPP's callback. A real bank's pages are
//! for the customer alone; this works only where the bank is a sandbox.

use std::path::Path;

use crate::error::TppError;

fn between(html: &str, before: &str) -> String {
    html.split(before)
        .nth(1)
        .and_then(|rest| rest.split(['"', '<']).next())
        .unwrap_or("")
        .to_owned()
}

/// Logs `identifier` in on the sandbox page at `authorize_url` and follows the redirect;
/// answers the redirect's URL (the TPP's callback with `code` and `state`).
pub async fn log_in(
    authorize_url: &str,
    ca_file: &Path,
    identifier: &str,
) -> Result<String, TppError> {
    let fail = |e: reqwest::Error| TppError::Local(format!("sandbox login: {e}"));
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca_file)?;
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
        let cert: rustls_pki_types::CertificateDer<'static> =
            cert.map_err(|e| TppError::Local(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| TppError::Local(e.to_string()))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TppError::Local(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let browser = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(fail)?;
    let origin = url::Url::parse(authorize_url)
        .map_err(|e| TppError::Local(e.to_string()))?
        .origin()
        .ascii_serialization();
    let page = browser.get(authorize_url).send().await.map_err(fail)?;
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .to_owned();
    let html = page.text().await.map_err(fail)?;
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
    let code = between(&otp, "id=\"sandbox-code\">");
    if code.is_empty() {
        return Err(TppError::Local(
            "the sandbox did not accept the login (is this a sandbox, and the identifier right?)"
                .into(),
        ));
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
    let location = done
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| TppError::Local("no redirect after the one-time code".into()))?
        .to_owned();
    browser.get(&location).send().await.map_err(fail)?;
    Ok(location)
}
