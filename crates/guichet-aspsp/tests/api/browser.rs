//! The PSU's whole journey in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `.ci/run`) driven through WebDriver. The TPP's authorize URL,
//! the bank's login page, the one-time code, the redirect to the TPP's callback, the token
//! exchange over mutual TLS, then GET /accounts. A screenshot of each page is kept under
//! `target/browser-screenshots/`.
//!
//! Without chromedriver the test fails, naming what is missing: it never skips.

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use guichet_store::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::flow::{pkce, token_request};
use crate::helpers::*;

pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("browser-screenshots");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9515)
}

fn binary(name: &str, candidates: &[&str]) -> String {
    for candidate in candidates {
        if Path::new(candidate).exists() {
            return (*candidate).to_owned();
        }
    }
    panic!(
        "{name} is missing: this test needs Debian's chromium and chromium-driver (`.ci/run` installs them: apt-get install chromium chromium-driver)"
    );
}

/// The TPP's callback: answers a small page and hands over the query of the first request.
pub(crate) async fn callback_server(
    listener: TcpListener,
    found: tokio::sync::oneshot::Sender<String>,
) {
    let mut found = Some(found);
    while let Ok((mut stream, _)) = listener.accept().await {
        let mut buffer = vec![0u8; 8192];
        let read = stream.read(&mut buffer).await.unwrap_or(0);
        let request = String::from_utf8_lossy(&buffer[..read]).into_owned();
        let target = request.split_whitespace().nth(1).unwrap_or("").to_owned();
        let page = "<!DOCTYPE html><html><head><title>Demo TPP</title></head><body><h1 id=\"tpp\">Demo TPP: authorization received</h1></body></html>";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        if target.starts_with("/callback")
            && let Some(sender) = found.take()
        {
            let _ = sender.send(target);
        }
    }
}

pub(crate) async fn shoot(browser: &fantoccini::Client, name: &str) {
    match browser.screenshot().await {
        Ok(png) => {
            let _ = std::fs::write(screenshots().join(name), png);
        }
        Err(e) => panic!("screenshot {name}: {e}"),
    }
}

/// What the TPP does with the callback the browser reached: its `state` checked, the code
/// exchanged over mutual TLS, CLAIRE's accounts read.
async fn tpp_reads_claires_accounts(
    app: &TestApp,
    target: &str,
    state: &str,
    redirect: &str,
    verifier: &str,
) {
    let params: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(target.split_once('?').map_or("", |(_, q)| q).as_bytes())
            .into_owned()
            .collect();
    assert_eq!(params.get("state").map(String::as_str), Some(state));
    let code = params.get("code").cloned().unwrap_or_default();
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
        ("client_id", "PSDFR-ACPR-12345"),
        ("code_verifier", verifier),
    ];
    let (status, _, token) = token_request(app, CE, "token", &fields, &[]).await;
    assert_eq!(status, 200, "{token}");
    let access = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let accounts = ok_json(app.get(CE, "/accounts", &access)).await;
    assert_eq!(ibans(&accounts), [CLAIRE_EMPTY, CLAIRE_FULL]);
}

/// Chromium under chromedriver: the driver (killed when dropped), the WebDriver session and
/// the browser's profile folder.
pub(crate) async fn open_browser(
    chromedriver: &str,
    chromium: &str,
) -> (Driver, fantoccini::Client, PathBuf) {
    let port = free_port();
    let driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let driver = match driver {
        Ok(child) => Driver(child),
        Err(e) => panic!("cannot start {chromedriver}: {e}"),
    };
    let profile = std::env::temp_dir().join(format!("guichet-chromium-{}", std::process::id()));
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "acceptInsecureCerts": true,
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--ignore-certificate-errors",
                "--window-size=1024,900", format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let capabilities = match capabilities {
        serde_json::Value::Object(map) => map,
        _ => panic!("capabilities"),
    };
    let mut connected = None;
    for _ in 0..50 {
        let attempt = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match attempt {
            Ok(client) => {
                connected = Some(client);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let Some(browser) = connected else {
        panic!("chromedriver did not answer on port {port}")
    };

    (driver, browser, profile)
}

/// The paths of Debian's chromedriver and chromium; the test fails, naming them, without.
pub(crate) fn chromium_binaries() -> (String, String) {
    (
        binary(
            "chromedriver",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        ),
        binary(
            "chromium",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        ),
    )
}

/// The demo TPP's authorization request for `aisp` at CE, with PKCE.
fn authorize_url(app: &TestApp, redirect: &str, state: &str, challenge: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", "PSDFR-ACPR-12345")
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "aisp")
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    crate::flow::Journey::authorize_url(app, CE, &query.finish())
}

/// Types into the field `#id`.
async fn type_into(browser: &fantoccini::Client, id: &str, text: &str) {
    let field = browser
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    field
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing in #{id}: {e}"));
}

/// Clicks the element `#id`.
async fn click(browser: &fantoccini::Client, id: &str) {
    let element = browser
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    element
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking #{id}: {e}"));
}

/// Waits for the browser to reach the TPP's callback and answers what it asked for; keeps a
/// screenshot of the TPP's page and closes the browser.
async fn at_tpp_callback(
    browser: fantoccini::Client,
    profile: &Path,
    received: tokio::sync::oneshot::Receiver<String>,
    shot: &str,
) -> String {
    let target = tokio::time::timeout(Duration::from_secs(20), received).await;
    let Ok(Ok(target)) = target else {
        panic!("the browser never reached the TPP's callback")
    };
    let _ = browser.wait().for_element(Locator::Id("tpp")).await;
    shoot(&browser, shot).await;
    let _ = browser.close().await;
    let _ = std::fs::remove_dir_all(profile);
    target
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_psu_authorizes_a_tpp_in_a_real_browser() {
    let (chromedriver, chromium) = chromium_binaries();
    let app = TestApp::spawn(Backend::Sqlite).await;

    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(e) => panic!("{e}"),
    };
    let redirect = format!(
        "http://127.0.0.1:{}/callback",
        listener.local_addr().map(|a| a.port()).unwrap_or(0)
    );
    let (sender, received) = tokio::sync::oneshot::channel();
    tokio::spawn(callback_server(listener, sender));
    let pem = std::fs::read_to_string(&the_pki().sandbox.demo.qseal).unwrap_or_default();
    let uris = vec![redirect.clone()];
    if let Err(e) =
        guichet_aspsp::sandbox::register_tpp(&app.state().store, "Guichet Demo TPP", &uris, &pem, 0)
            .await
    {
        panic!("{e}");
    }

    let (_driver, browser, profile) = open_browser(&chromedriver, &chromium).await;

    let (verifier, challenge) = pkce();
    let authorize = authorize_url(&app, &redirect, "browser-state", &challenge);
    if let Err(e) = browser.goto(&authorize).await {
        panic!("goto: {e}");
    }
    let tpp = browser.wait().for_element(Locator::Id("tpp-org-id")).await;
    let Ok(tpp) = tpp else {
        panic!("the login page did not show the TPP")
    };
    assert_eq!(tpp.text().await.unwrap_or_default(), "PSDFR-ACPR-12345");
    shoot(&browser, "01-login.png").await;

    type_into(&browser, "identifier", "D0999991I0").await;
    type_into(&browser, "password", "sandbox").await;
    click(&browser, "submit").await;
    let code_box = browser
        .wait()
        .for_element(Locator::Id("sandbox-code"))
        .await;
    let Ok(code_box) = code_box else {
        panic!("the code page did not come")
    };
    let otp = code_box.text().await.unwrap_or_default();
    assert_eq!(otp.len(), 6);
    shoot(&browser, "02-one-time-code.png").await;
    type_into(&browser, "code", &otp).await;
    click(&browser, "submit").await;
    let target = at_tpp_callback(browser, &profile, received, "03-tpp-callback.png").await;

    tpp_reads_claires_accounts(&app, &target, "browser-state", &redirect, &verifier).await;
    for shot in [
        "01-login.png",
        "02-one-time-code.png",
        "03-tpp-callback.png",
    ] {
        assert!(
            std::fs::metadata(screenshots().join(shot))
                .map(|m| m.len() > 1000)
                .unwrap_or(false),
            "{shot} kept"
        );
    }
}

/// The whole journey with SCA at the bank's OpenID provider, in Chromium: the TPP's authorize
/// URL, Guichet's redirect, the provider's login form, Guichet's callback and consent page,
/// the TPP's callback, the token over mutual TLS, then GET /accounts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_psu_authorizes_a_tpp_through_the_banks_openid_provider_in_a_real_browser() {
    let (chromedriver, chromium) = chromium_binaries();
    let bank = crate::oidc::delegated(Backend::Sqlite, crate::oidc::Setup::default()).await;
    let app = &bank.app;
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(e) => panic!("{e}"),
    };
    let redirect = format!(
        "http://127.0.0.1:{}/callback",
        listener.local_addr().map(|a| a.port()).unwrap_or(0)
    );
    let (sender, received) = tokio::sync::oneshot::channel();
    tokio::spawn(callback_server(listener, sender));
    let pem = std::fs::read_to_string(&the_pki().sandbox.demo.qseal).unwrap_or_default();
    let registered = guichet_aspsp::sandbox::register_tpp(
        &app.state().store,
        "Guichet Demo TPP",
        std::slice::from_ref(&redirect),
        &pem,
        0,
    )
    .await;
    assert!(registered.is_ok(), "{registered:?}");
    let (_driver, browser, profile) = open_browser(&chromedriver, &chromium).await;

    let (verifier, challenge) = pkce();
    let authorize = authorize_url(app, &redirect, "oidc-browser", &challenge);
    if let Err(e) = browser.goto(&authorize).await {
        panic!("goto: {e}");
    }
    // The provider's own login form.
    if let Err(e) = browser.wait().for_element(Locator::Id("login-form")).await {
        panic!("the provider's login page did not come: {e}");
    }
    let at_provider = browser
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    assert!(
        at_provider.starts_with(&bank.provider.issuer),
        "{at_provider}"
    );
    shoot(&browser, "oidc-01-provider-login.png").await;
    type_into(&browser, "login", "claire").await;
    type_into(&browser, "password", "claire-pass").await;
    click(&browser, "submit").await;

    // Back at the bank: its consent page names the TPP and the PSU.
    let tpp = browser.wait().for_element(Locator::Id("tpp-org-id")).await;
    let Ok(tpp) = tpp else {
        let html = browser.source().await.unwrap_or_default();
        panic!("the bank's consent page did not come: {html}")
    };
    assert_eq!(tpp.text().await.unwrap_or_default(), "PSDFR-ACPR-12345");
    shoot(&browser, "oidc-02-bank-consent.png").await;
    click(&browser, "allow").await;
    let target = at_tpp_callback(browser, &profile, received, "oidc-03-tpp-callback.png").await;

    tpp_reads_claires_accounts(app, &target, "oidc-browser", &redirect, &verifier).await;
}
