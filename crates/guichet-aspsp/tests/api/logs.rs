//! Issue #8, "Secrets reach the logs": the whole OAuth2 journey, with the server's log captured
//! as the binary writes it (its default `info` filter, DEBUG for Guichet's own crates), must
//! never hold a session cookie, a form token, a password, a one-time code, an authorization
//! code, a PKCE verifier, an access or refresh token, or a fallback JWT: issued or received,
//! accepted or refused.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use guichet_store::on_both_backends;
use reqwest::Method;
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;

use crate::flow::*;
use crate::helpers::*;

const CLIENT: &str = "PSDFR-ACPR-12345";
const PSU: &str = "D0999991I0";
/// A refused password nobody would log by accident (the personas' own is `sandbox`, a word
/// the logs use for the mode, so it is not checked).
const WRONG_PASSWORD: &str = "Wr0ng-Passw0rd-9b7c";
const GARBAGE_TOKEN: &str = "garbage-token-5f2e9d1c";

/// The log the server writes, kept in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// The process's log subscriber, installed once: nextest gives every test its own process;
/// under `cargo test` the tests of this file share it (and other tests' lines only add text).
fn capture() -> Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            // The binary's default filter (`info`, see crates/guichet/src/main.rs), with the
            // debug lines of Guichet's crates on top so that those are checked too.
            let filter = match tracing_subscriber::EnvFilter::try_new(
                "info,guichet_aspsp=debug,guichet_store=debug,guichet_tpp=debug",
            ) {
                Ok(filter) => filter,
                Err(e) => panic!("log filter: {e}"),
            };
            // No time: fractions of a second would only make the six-digit checks flaky.
            let installed = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_target(true)
                .without_time()
                .with_writer(capture.clone())
                .try_init();
            if let Err(e) = installed {
                panic!("cannot install the log capture: {e}");
            }
            capture
        })
        .clone()
}

/// Every secret seen in the journey, with what it is.
#[derive(Default)]
struct Secrets(Vec<(&'static str, String)>);

impl Secrets {
    fn add(&mut self, what: &'static str, value: &str) {
        assert!(!value.is_empty(), "the journey gave an empty {what}");
        if !self.0.iter().any(|(_, known)| known == value) {
            self.0.push((what, value.to_owned()));
        }
    }

    /// The session cookie a page sets and the form token it carries.
    fn collect_step(&mut self, step: &Step) {
        for header in step.headers.get_all("set-cookie") {
            let Ok(header) = header.to_str() else {
                continue;
            };
            let pair = header.split(';').next().unwrap_or_default().trim();
            if let Some(id) = pair.strip_prefix("__Host-guichet_sca=")
                && !id.is_empty()
            {
                self.add("guichet_sca session cookie", id);
            }
        }
        let csrf = step.csrf();
        if !csrf.is_empty() {
            self.add("CSRF form token", &csrf);
        }
    }
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

async fn accounts_status(app: &TestApp, token: &str) -> u16 {
    send(app.get(CE, "/accounts", token))
        .await
        .status()
        .as_u16()
}

/// Another six-digit code than the real one.
fn wrong_code(code: &str) -> String {
    let real: u32 = code.parse().unwrap_or_default();
    format!("{:06}", (real + 500_001) % 1_000_000)
}

/// The SCA on the bank's pages with a failure at each factor: a wrong password, the right
/// one, a wrong one-time code, the right one. Answers the step after the last code.
async fn sca(journey: &Journey<'_>, first: &Step, secrets: &mut Secrets) -> Step {
    assert_eq!(first.status, 200, "{}", first.html);
    assert!(
        !journey.cookie.is_empty(),
        "the first page sets the session cookie"
    );
    secrets.collect_step(first);
    secrets.add("refused password", WRONG_PASSWORD);
    let refused = journey
        .post(
            "/sca/login",
            &[
                ("csrf", &first.csrf()),
                ("identifier", PSU),
                ("password", WRONG_PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status, 200, "{}", refused.html);
    assert!(
        refused.html.contains("incorrect"),
        "the password is refused: {}",
        refused.html
    );
    secrets.collect_step(&refused);
    let otp = journey
        .post(
            "/sca/login",
            &[
                ("csrf", &refused.csrf()),
                ("identifier", PSU),
                ("password", "sandbox"),
            ],
        )
        .await;
    assert_eq!(otp.status, 200, "{}", otp.html);
    secrets.collect_step(&otp);
    let code = otp.sandbox_code();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "the sandbox shows a six-digit code"
    );
    secrets.add("one-time code", &code);
    let wrong = wrong_code(&code);
    secrets.add("refused one-time code", &wrong);
    let refused = journey
        .post("/sca/otp", &[("csrf", &otp.csrf()), ("code", &wrong)])
        .await;
    assert_eq!(refused.status, 200, "the wrong code is refused");
    assert!(
        refused.html.contains("Code incorrect"),
        "the wrong code is refused"
    );
    secrets.collect_step(&refused);
    let done = journey
        .post("/sca/otp", &[("csrf", &refused.csrf()), ("code", &code)])
        .await;
    assert_eq!(done.status, 303, "the right code ends the SCA");
    secrets.collect_step(&done);
    done
}

/// Whether a log line holds the secret. Six-digit codes must stand alone (no ASCII digit on
/// either side), and the access log's duration (`micros=`) is not one of them.
fn holds(line: &str, secret: &str) -> bool {
    let digits = secret.bytes().all(|b| b.is_ascii_digit());
    let mut from = 0;
    while let Some(found) = line[from..].find(secret) {
        let start = from + found;
        if !digits {
            return true;
        }
        let end = start + secret.len();
        let before = line[..start].bytes().next_back();
        let after = line[end..].bytes().next();
        let alone = !before.is_some_and(|b| b.is_ascii_digit())
            && !after.is_some_and(|b| b.is_ascii_digit());
        if alone && !line[..start].ends_with("micros=") {
            return true;
        }
        // The secret is all ASCII digits here: one byte on is a character boundary.
        from = start + 1;
    }
    false
}

/// Enough of a secret to recognise it, never the whole.
fn mask(secret: &str) -> String {
    let length = secret.chars().count();
    let shown: String = secret.chars().take((length / 3).min(4)).collect();
    format!("{shown}…({length} chars)")
}

/// The lines leaking each secret, with the secret masked.
fn leaks(log: &str, secrets: &Secrets) -> Vec<String> {
    let mut found = Vec::new();
    for (what, secret) in &secrets.0 {
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let mut forms = vec![secret.clone()];
        if encoded != *secret {
            forms.push(encoded);
        }
        let masked = format!("<{what} {}>", mask(secret));
        let lines: Vec<String> = log
            .lines()
            .filter(|line| forms.iter().any(|form| holds(line, form)))
            .map(|line| {
                forms.iter().fold(line.to_owned(), |line, form| {
                    line.replace(form.as_str(), &masked)
                })
            })
            .collect();
        if !lines.is_empty() {
            found.push(format!(
                "{what} {} in {} line(s):\n  {}",
                mask(secret),
                lines.len(),
                lines
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ));
        }
    }
    found
}

on_both_backends! {
    // Issue #8: no cookie, form token, password, one-time code, authorization code, PKCE
    // verifier, token or fallback JWT in the logs, whether the bank accepted it or refused it.
    async fn no_secret_of_the_oauth2_journey_reaches_the_logs(backend) {
        let capture = capture();
        let app = TestApp::spawn(backend).await;
        let mut secrets = Secrets::default();

        // Authorize, with a failure at each factor, then the code.
        let (verifier, challenge) = pkce();
        secrets.add("PKCE code_verifier", &verifier);
        let (journey, first) = Journey::open(&app, CE, &query("aisp", "logs-1", Some(&challenge))).await;
        let done = sca(&journey, &first, &mut secrets).await;
        assert_eq!(done.param("state").as_deref(), Some("logs-1"));
        let Some(code) = done.param("code") else { panic!("no code in the redirect") };
        secrets.add("authorization code", &code);

        // The exchange, the API, the refresh, the revocation, the replays.
        let (status, tokens) = exchange(&app, CE, &code, Some(&verifier)).await;
        assert_eq!(status, 200, "the code is exchanged");
        let (access, refresh) = (text(&tokens, "access_token"), text(&tokens, "refresh_token"));
        secrets.add("access token", &access);
        secrets.add("refresh token", &refresh);
        assert_eq!(accounts_status(&app, &access).await, 200);
        let (status, _, renewed) = token_request(&app, CE, "token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", CLIENT)], &[]).await;
        assert_eq!(status, 200, "the refresh token is accepted");
        let (access2, refresh2) = (text(&renewed, "access_token"), text(&renewed, "refresh_token"));
        secrets.add("refreshed access token", &access2);
        secrets.add("refreshed refresh token", &refresh2);
        assert_eq!(accounts_status(&app, &access2).await, 200);
        let (status, _, old) = token_request(&app, CE, "token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", CLIENT)], &[]).await;
        assert_eq!((status, text(&old, "error")), (400, "invalid_grant".to_owned()), "the spent refresh token is refused");
        let (status, _, _) = token_request(&app, CE, "revoke", &[("token", &refresh2), ("client_id", CLIENT)], &[]).await;
        assert_eq!(status, 200);
        assert_eq!(accounts_status(&app, &access2).await, 401, "revoked with its refresh token");
        let (status, replay) = exchange(&app, CE, &code, Some(&verifier)).await;
        assert_eq!((status, text(&replay, "error")), (400, "invalid_grant".to_owned()), "the used code is refused");
        secrets.add("garbage bearer token", GARBAGE_TOKEN);
        assert_eq!(accounts_status(&app, GARBAGE_TOKEN).await, 401);

        // Client credentials for cbpii.
        let (status, _, granted) = token_request(&app, CE, "token", &[("grant_type", "client_credentials"), ("scope", "cbpii"), ("client_id", CLIENT)], &[]).await;
        assert_eq!(status, 200, "client credentials for cbpii");
        let cbpii = text(&granted, "access_token");
        secrets.add("cbpii access token", &cbpii);
        let check = json!({"paymentCoverageRequestId": "logs-1", "instructedAmount": {"currency": "EUR", "amount": "10"}, "accountId": {"iban": CLAIRE_FULL}});
        let answer = ok_json(app.request(Method::POST, CE, "/funds-confirmations", &cbpii).json(&check)).await;
        assert_eq!(answer["result"], true);

        // The PSU's own page, with its own SCA and cookie.
        let client = browser();
        let first = match client.get(format!("{}/psu/access", app.psu_origin(CE))).send().await {
            Ok(response) => Step::read(response).await,
            Err(e) => panic!("GET /psu/access: {e}"),
        };
        let journey = Journey { app: &app, bank: CE, client, cookie: first.cookie.clone().unwrap_or_default() };
        let done = sca(&journey, &first, &mut secrets).await;
        assert_eq!(done.location.as_deref(), Some("/psu/access"));
        let page = journey.get("/psu/access").await;
        assert_eq!(page.status, 200, "{}", page.html);
        secrets.collect_step(&page);
        let revoked = journey.post("/psu/access/revoke", &[("csrf", &page.csrf()), ("client_id", CLIENT)]).await;
        assert_eq!(revoked.status, 303, "{}", revoked.html);

        // The fallback: its JWT and the login page it opens.
        let fields = [("client_id", CLIENT), ("grant_type", "client_credentials"), ("scope", "aisp")];
        let (status, headers, _) = token_request(&app, CE, "token", &fields, &[("fallback", "1"), ("PSU-IP-Address", "192.0.2.7")]).await;
        assert_eq!(status, 302, "the fallback redirects");
        let location = headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let jwt = location.split("jwt=").nth(1).unwrap_or_default().to_owned();
        secrets.add("fallback JWT", &jwt);
        let fallback = match browser().get(&location).send().await {
            Ok(response) => Step::read(response).await,
            Err(e) => panic!("GET the fallback login: {e}"),
        };
        assert_eq!(fallback.status, 200, "{}", fallback.html);
        secrets.collect_step(&fallback);

        // Lines written after a response (a connection closing) come in too.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let log = capture.text();
        assert!(!log.is_empty(), "nothing was logged: the capture is not installed");
        assert!(log.contains("guichet::access"), "no access log line: logging is off");
        let kinds = [
            "guichet_sca session cookie",
            "CSRF form token",
            "refused password",
            "one-time code",
            "refused one-time code",
            "authorization code",
            "PKCE code_verifier",
            "access token",
            "refresh token",
            "refreshed access token",
            "refreshed refresh token",
            "cbpii access token",
            "garbage bearer token",
            "fallback JWT",
        ];
        for kind in kinds {
            assert!(secrets.0.iter().any(|(what, _)| *what == kind), "no {kind} was collected");
        }
        assert!(secrets.0.len() >= 15, "only {} distinct secrets were collected", secrets.0.len());
        let found = leaks(&log, &secrets);
        assert!(found.is_empty(), "{} of {} secrets reached the logs:\n{}", found.len(), secrets.0.len(), found.join("\n"));
    }
}

/// The value of a query parameter of a URL.
fn query_param(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default()
}

/// Issue #12: the journey through the bank's OpenID provider, accepted and refused, must not
/// log the `state` or `nonce` sent to the provider, its code, Guichet's client secret, the
/// session cookie, the form token, the TPP's code or token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_of_the_delegated_sca_reaches_the_logs() {
    let capture = capture();
    let bank = crate::oidc::delegated(
        guichet_store::Backend::Sqlite,
        crate::oidc::Setup::default(),
    )
    .await;
    let mut secrets = Secrets::default();
    secrets.add("client secret", crate::oidc::SECRET);
    for (login, tpp_state) in [("claire", "logs-ok"), ("onefactor", "logs-refused")] {
        let (verifier, challenge) = pkce();
        let (journey, to) = bank.open(tpp_state, &challenge).await;
        secrets.add(
            "guichet_sca session cookie",
            journey.cookie.trim_start_matches("__Host-guichet_sca="),
        );
        secrets.add("state sent to the provider", &query_param(&to, "state"));
        secrets.add("nonce sent to the provider", &query_param(&to, "nonce"));
        let back = bank
            .provider
            .login(&to, login, Some(&format!("{login}-pass")))
            .await;
        secrets.add("the provider's code", &query_param(&back, "code"));
        let page = bank.callback(&journey, &back).await;
        secrets.collect_step(&page);
        if login == "onefactor" {
            assert_eq!(page.status, 403, "{}", page.html);
            continue;
        }
        let done = journey
            .post(
                "/sca/consent",
                &[("csrf", &page.csrf()), ("decision", "allow")],
            )
            .await;
        let code = done.param("code").unwrap_or_default();
        secrets.add("authorization code", &code);
        let (status, token) = exchange(&bank.app, CE, &code, Some(&verifier)).await;
        assert_eq!(status, 200, "{token}");
        secrets.add("access token", &text(&token, "access_token"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = capture.text();
    assert!(
        log.contains("OpenID provider"),
        "the delegated SCA logged nothing: {log}"
    );
    assert!(
        secrets.0.len() >= 9,
        "only {} distinct secrets were collected",
        secrets.0.len()
    );
    let found = leaks(&log, &secrets);
    assert!(
        found.is_empty(),
        "{} of {} secrets reached the logs:\n{}",
        found.len(),
        secrets.0.len(),
        found.join("\n")
    );
}
