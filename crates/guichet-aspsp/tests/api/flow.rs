//! The PSU's journey through the bank's pages, driven with plain HTTP (the browser test drives
//! the same pages in Chromium): authorize, login, one-time code, redirect with a code; then the
//! code exchange at the token endpoint over mutual TLS.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Response;
use serde_json::Value;

use crate::helpers::*;

pub const REDIRECT: &str = "http://127.0.0.1:8765/callback";

/// A browser-like client of the PSU pages: trusts the sandbox CA, presents no certificate,
/// does not follow redirects.
/// The sandbox CA, as a TLS client's roots.
pub fn sandbox_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls_pki_types::pem::PemObject::pem_file_iter(&the_pki().sandbox.ca_file)
        .into_iter()
        .flatten()
        .flatten()
    {
        let ca: rustls_pki_types::CertificateDer<'static> = ca;
        let _ = roots.add(ca);
    }
    roots
}

pub fn browser() -> reqwest::Client {
    let roots = sandbox_roots();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    match config.map(|c| {
        reqwest::Client::builder()
            .use_preconfigured_tls(c)
            .redirect(reqwest::redirect::Policy::none())
            .build()
    }) {
        Ok(Ok(client)) => client,
        _ => panic!("browser client"),
    }
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode([7u8; 40]);
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    (verifier, challenge)
}

/// A page of the journey, with the session cookie and the form token it carries.
pub struct Step {
    pub status: u16,
    pub html: String,
    pub location: Option<String>,
    pub cookie: Option<String>,
    pub headers: reqwest::header::HeaderMap,
}

impl Step {
    pub async fn read(response: Response) -> Step {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let cookie = headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let html = response.text().await.unwrap_or_default();
        Step {
            status,
            html,
            location,
            cookie,
            headers,
        }
    }

    /// The value of an input or the text of an element, found by a marker in the HTML.
    pub fn find(&self, before: &str, after: &str) -> Option<String> {
        let start = self.html.find(before)? + before.len();
        let end = self.html[start..].find(after)? + start;
        Some(self.html[start..end].to_owned())
    }

    pub fn csrf(&self) -> String {
        self.find("name=\"csrf\" value=\"", "\"")
            .unwrap_or_default()
    }

    pub fn sandbox_code(&self) -> String {
        self.find("id=\"sandbox-code\">", "<").unwrap_or_default()
    }

    /// A query parameter of the redirect.
    pub fn param(&self, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(self.location.as_deref()?).ok()?;
        url.query_pairs()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    }
}

pub struct Journey<'a> {
    pub app: &'a TestApp,
    pub bank: &'a str,
    pub client: reqwest::Client,
    pub cookie: String,
}

impl<'a> Journey<'a> {
    pub fn authorize_url(app: &TestApp, bank: &str, query: &str) -> String {
        format!("{}/stet/psd2/oauth/authorize?{query}", app.psu_origin(bank))
    }

    /// The PSU's access page, where a login that was not for a TPP leads.
    pub async fn access_page(&self, done: &Step) -> Step {
        assert_eq!(
            done.location.as_deref(),
            Some("/psu/access"),
            "{}",
            done.html
        );
        let page = self.get("/psu/access").await;
        assert_eq!(page.status, 200, "{}", page.html);
        page
    }

    /// Opens the authorize URL; answers the journey and the first page.
    pub async fn open(app: &'a TestApp, bank: &'a str, query: &str) -> (Journey<'a>, Step) {
        let client = browser();
        let response = client
            .get(Journey::authorize_url(app, bank, query))
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(e) => panic!("authorize: {e:?}"),
        };
        let step = Step::read(response).await;
        let cookie = step.cookie.clone().unwrap_or_default();
        (
            Journey {
                app,
                bank,
                client,
                cookie,
            },
            step,
        )
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Step {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let response = self
            .client
            .post(format!("{}{path}", self.app.psu_origin(self.bank)))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &self.cookie)
            .body(body)
            .send()
            .await;
        let Ok(response) = response else {
            panic!("POST {path}")
        };
        Step::read(response).await
    }

    pub async fn get(&self, path: &str) -> Step {
        let response = self
            .client
            .get(format!("{}{path}", self.app.psu_origin(self.bank)))
            .header("cookie", &self.cookie)
            .send()
            .await;
        let Ok(response) = response else {
            panic!("GET {path}")
        };
        Step::read(response).await
    }

    /// The login form posted: the identifier and password typed.
    pub async fn login(&self, csrf: &str, identifier: &str, password: &str) -> Step {
        self.post(
            "/sca/login",
            &[
                ("csrf", csrf),
                ("identifier", identifier),
                ("password", password),
            ],
        )
        .await
    }

    /// Identifier, password, then the one-time code shown by the sandbox.
    pub async fn authenticate(&self, first: &Step, identifier: &str) -> Step {
        let otp = self.login(&first.csrf(), identifier, "sandbox").await;
        assert_eq!(otp.status, 200, "{}", otp.html);
        let code = otp.sandbox_code();
        assert_eq!(code.len(), 6, "the sandbox shows the code: {}", otp.html);
        self.post("/sca/otp", &[("csrf", &otp.csrf()), ("code", &code)])
            .await
    }
}

/// The standard authorize query of the demo TPP.
pub fn query(scope: &str, state: &str, challenge: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", "PSDFR-ACPR-12345")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", state);
    if let Some(challenge) = challenge {
        query
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
    }
    query.finish()
}

/// The whole journey for a persona: answers the authorization code.
pub async fn code_for(
    app: &TestApp,
    bank: &str,
    identifier: &str,
    scope: &str,
    challenge: Option<&str>,
) -> String {
    let (journey, first) = Journey::open(app, bank, &query(scope, "st-1", challenge)).await;
    assert_eq!(first.status, 200, "{}", first.html);
    let done = journey.authenticate(&first, identifier).await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(done.param("state").as_deref(), Some("st-1"));
    match done.param("code") {
        Some(code) => code,
        None => panic!("no code in {:?}", done.location),
    }
}

/// POSTs a form to the token endpoint (or another OAuth endpoint) over the demo TPP's mutual TLS.
pub async fn token_request(
    app: &TestApp,
    bank: &str,
    path: &str,
    fields: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut request = app
        .client
        .post(format!("{}/stet/psd2/oauth/{path}", app.origin(bank)))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Request-ID", "oauth-1");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = request.body(body).send().await;
    let Ok(response) = response else {
        panic!("POST /{path}")
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub async fn exchange(
    app: &TestApp,
    bank: &str,
    code: &str,
    verifier: Option<&str>,
) -> (u16, Value) {
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", "PSDFR-ACPR-12345"),
    ];
    if let Some(verifier) = verifier {
        fields.push(("code_verifier", verifier));
    }
    let (status, _, body) = token_request(app, bank, "token", &fields, &[]).await;
    (status, body)
}
