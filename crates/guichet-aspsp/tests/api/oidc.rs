//! SCA delegated to the bank's OpenID Connect provider (issue #12), against a real provider:
//! the certified `oidc-provider` library in `tests/oidc/provider.mjs`. The PSU's journey is
//! walked over plain HTTP (the browser test walks it in Chromium): the TPP's authorize URL,
//! Guichet's redirect to the provider, the provider's login, Guichet's callback and consent
//! page, the code to the TPP, the token over mutual TLS, then GET /accounts. Then every way it
//! can fail: cancel, provider down or slow, an ID token that fails a check, an SCA level too
//! low, a PSU unknown to the bank, a forged or replayed callback.

use std::time::{Duration, Instant};

use guichet_aspsp::{BankProfile, Mode};
use guichet_store::Backend;
use serde_json::{Value, json};

use crate::flow::{Journey, REDIRECT, Step, exchange, pkce, query};
use crate::helpers::*;
use crate::oidc_provider::{ClientAuth, Provider, account, es256_key};

/// CLAIRE of the sandbox's Caisse d'Epargne, as the bank's provider knows her.
const CLAIRE_ID: &str = "D0999991I0";
pub(crate) const SECRET: &str = "guichet-oidc-secret-0123456789abcdef";
const SCA_ACR: &str = "urn:bank:sca:2fa";

fn accounts() -> Vec<Value> {
    vec![
        account("claire", CLAIRE_ID, SCA_ACR, &["pwd", "otp"]),
        // A password only: below SCA whatever the acr says.
        account("onefactor", CLAIRE_ID, SCA_ACR, &["pwd"]),
        account("lowacr", CLAIRE_ID, "urn:bank:sca:1fa", &["pwd", "otp"]),
        // Authenticated by the provider, but no customer of the bank.
        account("stranger", "NOT-A-CUSTOMER", SCA_ACR, &["pwd", "otp"]),
    ]
}

pub(crate) struct Delegated {
    pub app: TestApp,
    pub provider: Provider,
    callback: String,
    _dir: tempfile_dir::Dir,
}

mod tempfile_dir {
    /// A folder removed when dropped.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let path = std::env::temp_dir().join(format!(
                "guichet-oidc-{tag}-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            ));
            if let Err(e) = std::fs::create_dir_all(&path) {
                panic!("{}: {e}", path.display());
            }
            Dir(path)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// How the bank's provider is set up in a test.
pub(crate) struct Setup {
    private_key_jwt: bool,
    id_token_alg: &'static str,
    settings: Value,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            private_key_jwt: false,
            id_token_alg: "RS256",
            settings: json!({}),
        }
    }
}

/// A production Caisse d'Epargne whose SCA is the provider's, with the sandbox's customers.
pub(crate) async fn delegated(backend: Backend, setup: Setup) -> Delegated {
    let provider = Provider::start(accounts(), json!({}));
    let dir = tempfile_dir::Dir::new("bank");
    let mut settings = json!({
        "issuer": provider.issuer,
        "client_id": "guichet",
        "psu_claim": "psu_id",
        "acr_values": [SCA_ACR],
        "two_factor_amr": true,
        "timeout_seconds": 2,
    });
    let key = if setup.private_key_jwt {
        let (pem, jwk) = es256_key("guichet-1");
        let path = dir.0.join("oidc-key.pem");
        let _ = std::fs::write(&path, pem);
        settings["client_auth"] = json!("private_key_jwt");
        settings["private_key_file"] = json!(path);
        settings["private_key_id"] = json!("guichet-1");
        Some(jwk)
    } else {
        let path = dir.0.join("oidc-secret");
        let _ = std::fs::write(&path, format!("{SECRET}\n"));
        settings["client_secret_file"] = json!(path);
        None
    };
    if let (Some(settings), Some(extra)) = (settings.as_object_mut(), setup.settings.as_object()) {
        for (k, v) in extra {
            settings.insert(k.clone(), v.clone());
        }
    }
    let settings: guichet_aspsp::oidc::OidcSettings = match serde_json::from_value(settings) {
        Ok(settings) => settings,
        Err(e) => panic!("settings: {e}"),
    };
    let banks: Vec<BankProfile> = BankProfile::sandbox_banks()
        .into_iter()
        .map(|mut bank| {
            if bank.code == CE {
                bank.oidc = Some(settings.clone());
                // The provider's tokens are dated by the real clock, which the bank follows
                // here: no maintenance window may close it whatever the day.
                bank.enforce_maintenance = Some(false);
            }
            bank
        })
        .collect();
    let mut app = TestApp::spawn_with(backend, banks, Mode::Production).await;
    app.clock.set(jiff::Timestamp::now());
    // The PSU pages on their listener's address, which the test can reach.
    app.host_domain = None;
    app.restart().await;
    let seeded = app
        .state()
        .store
        .seed_sandbox(&[CE], jiff::civil::date(2026, 11, 24), 0)
        .await;
    assert!(seeded.is_ok(), "{seeded:?}");
    // The callback registered at the provider: the configured one, else the PSU pages'.
    let callback = setup
        .settings
        .get("redirect_uri")
        .and_then(Value::as_str)
        .map_or_else(
            || format!("{}/sca/callback", app.psu_origin(CE)),
            str::to_owned,
        );
    let auth = match key {
        Some(jwk) => ClientAuth::Key(jwk),
        None => ClientAuth::Secret(SECRET),
    };
    provider
        .client("guichet", &callback, auth, setup.id_token_alg)
        .await;
    Delegated {
        app,
        provider,
        callback,
        _dir: dir,
    }
}

impl Delegated {
    /// The TPP sends the PSU to the bank; the bank sends the PSU on to its provider.
    pub(crate) async fn open(&self, state: &str, challenge: &str) -> (Journey<'_>, String) {
        let (journey, first) =
            Journey::open(&self.app, CE, &query("aisp", state, Some(challenge))).await;
        assert_eq!(first.status, 303, "{}", first.html);
        let Some(to) = first.location.clone() else {
            panic!("no redirect to the provider")
        };
        assert!(to.starts_with(&self.provider.issuer), "{to}");
        assert!(
            journey.cookie.starts_with("__Host-guichet_sca="),
            "{:?}",
            first.headers
        );
        (journey, to)
    }

    /// The provider's answer, followed on the bank's callback with the journey's cookie.
    pub(crate) async fn callback(&self, journey: &Journey<'_>, url: &str) -> Step {
        let Some(query) = url.strip_prefix(&self.callback) else {
            panic!("{url} is not the callback {}", self.callback)
        };
        let answer = journey.get(&format!("/sca/callback{query}")).await;
        // An authenticated PSU is sent on to the consent page (POST/redirect/GET).
        if answer.location.as_deref() == Some("/sca/consent") {
            return journey.get("/sca/consent").await;
        }
        answer
    }

    /// The whole journey of a provider account, up to the bank's answer on its callback.
    async fn authenticate(&self, login: &str, state: &str) -> (Journey<'_>, Step, String) {
        let (verifier, challenge) = pkce();
        let (journey, to) = self.open(state, &challenge).await;
        let back = self
            .provider
            .login(&to, login, Some(&format!("{login}-pass")))
            .await;
        let step = self.callback(&journey, &back).await;
        (journey, step, verifier)
    }
}

/// The TPP's redirect, with its parameters.
fn tpp_redirect(step: &Step) -> Step {
    assert_eq!(step.status, 303, "{}", step.html);
    let location = step.location.clone().unwrap_or_default();
    assert!(location.starts_with(REDIRECT), "{location}");
    Step {
        status: step.status,
        html: String::new(),
        location: step.location.clone(),
        cookie: None,
        headers: step.headers.clone(),
    }
}

/// The refusal page's "Revenir au service": the TPP gets the error.
async fn leave(journey: &Journey<'_>, page: &Step) -> Step {
    assert!(page.html.contains("id=\"cancel\""), "{}", page.html);
    tpp_redirect(&journey.post("/sca/cancel", &[("csrf", &page.csrf())]).await)
}

guichet_store::on_both_backends! {
    async fn a_psu_authenticated_by_the_banks_provider_gives_the_tpp_its_code(backend) {
        let bank = delegated(backend, Setup::default()).await;
        let (journey, consent, verifier) = bank.authenticate("claire", "st-1").await;
        assert_eq!(consent.status, 200, "{}", consent.html);
        // The bank shows who asks for what, and who the PSU is.
        assert!(consent.html.contains("PSDFR-ACPR-12345"), "{}", consent.html);
        assert!(consent.html.contains("id=\"psu-name\""), "{}", consent.html);
        let done = tpp_redirect(
            &journey
                .post("/sca/consent", &[("csrf", &consent.csrf()), ("decision", "allow")])
                .await,
        );
        assert_eq!(done.param("state").as_deref(), Some("st-1"));
        let code = done.param("code").unwrap_or_default();
        let (status, token) = exchange(&bank.app, CE, &code, Some(&verifier)).await;
        assert_eq!(status, 200, "{token}");
        let access = token["access_token"].as_str().unwrap_or_default().to_owned();
        let accounts = ok_json(bank.app.get(CE, "/accounts", &access)).await;
        let ibans: Vec<&str> = accounts["accounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["accountId"]["iban"].as_str())
            .collect();
        assert_eq!(ibans, [CLAIRE_EMPTY, CLAIRE_FULL]);
    }
}

#[tokio::test]
async fn private_key_jwt_and_es256_id_tokens() {
    let bank = delegated(
        Backend::Sqlite,
        Setup {
            private_key_jwt: true,
            id_token_alg: "ES256",
            settings: json!({ "id_token_algs": ["ES256"] }),
        },
    )
    .await;
    let (journey, consent, _) = bank.authenticate("claire", "st-k").await;
    assert_eq!(consent.status, 200, "{}", consent.html);
    let done = tpp_redirect(
        &journey
            .post(
                "/sca/consent",
                &[("csrf", &consent.csrf()), ("decision", "allow")],
            )
            .await,
    );
    assert!(done.param("code").is_some(), "{:?}", done.location);
}

#[tokio::test]
async fn the_psu_who_cancels_at_the_provider_or_refuses_on_the_consent_page_sends_access_denied() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (_, challenge) = pkce();
    let (journey, to) = bank.open("st-c", &challenge).await;
    let back = bank.provider.login(&to, "claire", None).await;
    let done = tpp_redirect(&bank.callback(&journey, &back).await);
    assert_eq!(done.param("error").as_deref(), Some("access_denied"));
    assert_eq!(done.param("state").as_deref(), Some("st-c"));

    let (journey, consent, _) = bank.authenticate("claire", "st-r").await;
    let refused = tpp_redirect(
        &journey
            .post(
                "/sca/consent",
                &[("csrf", &consent.csrf()), ("decision", "refuse")],
            )
            .await,
    );
    assert_eq!(refused.param("error").as_deref(), Some("access_denied"));
    assert_eq!(refused.param("code"), None);
}

#[tokio::test]
async fn an_authentication_below_sca_or_of_a_stranger_is_refused_with_its_page() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    for (login, status, words) in [
        ("onefactor", 403, "authentification forte"),
        ("lowacr", 403, "authentification forte"),
        ("stranger", 403, "pas client"),
    ] {
        let (journey, page, _) = bank.authenticate(login, "st-l").await;
        assert_eq!(page.status, status, "{login}: {}", page.html);
        assert!(page.html.contains(words), "{login}: {}", page.html);
        let back = leave(&journey, &page).await;
        assert_eq!(
            back.param("error").as_deref(),
            Some("access_denied"),
            "{login}"
        );
        assert_eq!(back.param("state").as_deref(), Some("st-l"));
    }
}

#[tokio::test]
async fn an_id_token_that_fails_a_check_gives_no_access() {
    // Signed with RS256 where the bank accepts ES256 only.
    let bank = delegated(
        Backend::Sqlite,
        Setup {
            settings: json!({ "id_token_algs": ["ES256"] }),
            ..Setup::default()
        },
    )
    .await;
    let (journey, page, _) = bank.authenticate("claire", "st-a").await;
    assert_eq!(page.status, 502, "{}", page.html);
    assert_eq!(
        leave(&journey, &page).await.param("error").as_deref(),
        Some("access_denied")
    );

    // Expired: the bank's clock is past the ID token's `exp` (300 s) when the callback comes,
    // within the attempt's ten minutes.
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (_, challenge) = pkce();
    let (journey, to) = bank.open("st-e", &challenge).await;
    let back = bank
        .provider
        .login(&to, "claire", Some("claire-pass"))
        .await;
    bank.app.clock.advance(jiff::SignedDuration::from_secs(420));
    let page = bank.callback(&journey, &back).await;
    assert_eq!(page.status, 502, "{}", page.html);
    assert_eq!(
        leave(&journey, &page).await.param("error").as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn keys_rotated_by_the_provider_are_fetched_again() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (_, consent, _) = bank.authenticate("claire", "st-1").await;
    assert_eq!(consent.status, 200, "{}", consent.html);
    let rotated = bank.provider.admin("rotate", json!({})).await;
    assert!(
        rotated["kids"].as_array().is_some_and(|k| k.len() >= 4),
        "{rotated}"
    );
    // Signed with a key the bank's cached JWKS lacks.
    let (_, consent, _) = bank.authenticate("claire", "st-2").await;
    assert_eq!(consent.status, 200, "{}", consent.html);
}

#[tokio::test]
async fn a_provider_down_or_slow_gives_a_page_within_its_timeout_and_temporarily_unavailable() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    // Down before the bank ever read its metadata: the bank cannot send the PSU there.
    bank.provider.admin("down", json!({})).await;
    let (_, challenge) = pkce();
    let (journey, first) =
        Journey::open(&bank.app, CE, &query("aisp", "st-d", Some(&challenge))).await;
    assert_eq!(first.status, 503, "{}", first.html);
    let back = leave(&journey, &first).await;
    assert_eq!(
        back.param("error").as_deref(),
        Some("temporarily_unavailable")
    );
    assert_eq!(back.param("state").as_deref(), Some("st-d"));
    // While the failure is recent, the next PSU gets the page at once rather than waiting
    // on the provider again.
    bank.provider.admin("up", json!({})).await;
    let (_, challenge) = pkce();
    let (_, again) = Journey::open(&bank.app, CE, &query("aisp", "st-d2", Some(&challenge))).await;
    assert_eq!(again.status, 503, "{}", again.html);
    // Thirty seconds later the provider is asked again.
    bank.app.clock.advance(jiff::SignedDuration::from_secs(31));

    // Slow once the PSU has logged in: the code exchange is cut at `timeout_seconds` (2 s).
    let (_, challenge) = pkce();
    let (journey, to) = bank.open("st-s", &challenge).await;
    let back = bank
        .provider
        .login(&to, "claire", Some("claire-pass"))
        .await;
    bank.provider.admin("slow", json!({ "ms": 6000 })).await;
    let started = Instant::now();
    let page = bank.callback(&journey, &back).await;
    let took = started.elapsed();
    assert_eq!(page.status, 503, "{}", page.html);
    assert!(took < Duration::from_secs(5), "the bank waited {took:?}");
    let back = leave(&journey, &page).await;
    assert_eq!(
        back.param("error").as_deref(),
        Some("temporarily_unavailable")
    );
    bank.provider.admin("slow", json!({ "ms": 0 })).await;

    // Down at the code exchange.
    let (_, challenge) = pkce();
    let (journey, to) = bank.open("st-x", &challenge).await;
    let back = bank
        .provider
        .login(&to, "claire", Some("claire-pass"))
        .await;
    bank.provider.admin("down", json!({})).await;
    let page = bank.callback(&journey, &back).await;
    assert_eq!(page.status, 503, "{}", page.html);
}

#[tokio::test]
async fn a_forged_or_replayed_callback_changes_nothing() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (_, challenge) = pkce();
    let (journey, to) = bank.open("st-f", &challenge).await;
    let back = bank
        .provider
        .login(&to, "claire", Some("claire-pass"))
        .await;
    // Another state: refused, and the attempt still waits for the real answer.
    let forged = journey.get("/sca/callback?code=forged&state=forged").await;
    assert_eq!(forged.status, 400, "{}", forged.html);
    // The real answer without the browser's cookie: no session.
    let path = back.trim_start_matches(&bank.app.psu_origin(CE)).to_owned();
    let stranger = Journey {
        app: &bank.app,
        bank: CE,
        client: journey.client.clone(),
        cookie: String::new(),
    };
    assert_eq!(stranger.get(&path).await.status, 400);
    let consent = bank.callback(&journey, &back).await;
    assert_eq!(consent.status, 200, "{}", consent.html);
    // Used once.
    let again = bank.callback(&journey, &back).await;
    assert_eq!(again.status, 409, "{}", again.html);
}

/// Nothing of a login lives in an instance's memory: the PSU leaves for the provider from one
/// instance and comes back to another (here the same database served by a new process state,
/// with the public callback address of a load balancer configured as `redirect_uri`).
#[tokio::test]
async fn the_callback_may_reach_another_instance() {
    let mut bank = delegated(
        Backend::Sqlite,
        Setup {
            settings: json!({ "redirect_uri": "https://www.17515.bank.example/sca/callback" }),
            ..Setup::default()
        },
    )
    .await;
    let (verifier, challenge) = pkce();
    let (journey, to) = bank.open("st-i", &challenge).await;
    let (client, cookie) = (journey.client.clone(), journey.cookie.clone());
    drop(journey);
    let back = bank
        .provider
        .login(&to, "claire", Some("claire-pass"))
        .await;
    bank.app.restart().await;
    let journey = Journey {
        app: &bank.app,
        bank: CE,
        client,
        cookie,
    };
    let consent = bank.callback(&journey, &back).await;
    assert_eq!(consent.status, 200, "{}", consent.html);
    let done = tpp_redirect(
        &journey
            .post(
                "/sca/consent",
                &[("csrf", &consent.csrf()), ("decision", "allow")],
            )
            .await,
    );
    let code = done.param("code").unwrap_or_default();
    let (status, token) = exchange(&bank.app, CE, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{token}");
}

/// The PSU's own page of the TPPs with access authenticates at the provider too.
#[tokio::test]
async fn the_psus_access_page_authenticates_at_the_provider() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let client = crate::flow::browser();
    let opened = client
        .get(format!("{}/psu/access", bank.app.psu_origin(CE)))
        .send()
        .await;
    let Ok(opened) = opened else {
        panic!("GET /psu/access")
    };
    let first = Step::read(opened).await;
    assert_eq!(first.status, 303, "{}", first.html);
    let to = first.location.clone().unwrap_or_default();
    assert!(to.starts_with(&bank.provider.issuer), "{to}");
    let journey = Journey {
        app: &bank.app,
        bank: CE,
        client,
        cookie: first.cookie.clone().unwrap_or_default(),
    };
    let back = bank
        .provider
        .login(&to, "claire", Some("claire-pass"))
        .await;
    let done = bank.callback(&journey, &back).await;
    assert_eq!(
        done.location.as_deref(),
        Some("/psu/access"),
        "{}",
        done.html
    );
    let page = journey.get("/psu/access").await;
    assert_eq!(page.status, 200, "{}", page.html);
    // CLAIRE's own page: no TPP has access yet, and her accounts can be chosen for funds
    // confirmation.
    assert!(page.html.contains("id=\"none\""), "{}", page.html);
    assert!(page.html.contains(CLAIRE_FULL), "{}", page.html);
}

/// Two answers of the provider at once (a reload): one is taken, the other finds it taken,
/// and the code is exchanged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_callbacks_at_once_exchange_the_code_once() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (_, challenge) = pkce();
    let (journey, to) = bank.open("st-2x", &challenge).await;
    let back = bank
        .provider
        .login(&to, "claire", Some("claire-pass"))
        .await;
    let path = format!("/sca/callback{}", back.trim_start_matches(&bank.callback));
    let (one, two) = tokio::join!(journey.get(&path), journey.get(&path));
    let mut statuses = [one.status, two.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 409], "{} / {}", one.html, two.html);
    let consent = journey.get("/sca/consent").await;
    assert_eq!(consent.status, 200, "{}", consent.html);
}

/// RFC 9207: an answer naming another issuer is a mix-up, refused even with this browser's
/// `state`; the TPP is told `server_error`.
#[tokio::test]
async fn an_answer_from_another_issuer_is_refused() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (_, challenge) = pkce();
    let (journey, to) = bank.open("st-iss", &challenge).await;
    let back = bank
        .provider
        .login(&to, "claire", Some("claire-pass"))
        .await;
    let Ok(mut url) = reqwest::Url::parse(&back) else {
        panic!("{back}")
    };
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "iss" {
                "https://login.other-bank.example".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    assert!(
        pairs.iter().any(|(k, _)| k == "iss"),
        "the provider sends iss: {back}"
    );
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let page = bank.callback(&journey, url.as_str()).await;
    assert_eq!(page.status, 502, "{}", page.html);
    let back = leave(&journey, &page).await;
    assert_eq!(back.param("error").as_deref(), Some("server_error"));
}

/// An ID token whose `nonce` is not the one this attempt sent (a code obtained for another
/// request and injected here) gives no access.
#[tokio::test]
async fn an_id_token_of_another_request_gives_no_access() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (_, challenge) = pkce();
    let (journey, to) = bank.open("st-n", &challenge).await;
    let back = bank
        .provider
        .login(&to, "claire", Some("claire-pass"))
        .await;
    // The attempt now expects another nonce than the one the provider put in the token.
    let id = journey
        .cookie
        .trim_start_matches("__Host-guichet_sca=")
        .to_owned();
    let store = &bank.app.state().store;
    let mut attempt = match store.attempt(&id).await {
        Ok(Some(attempt)) => attempt,
        other => panic!("the attempt: {other:?}"),
    };
    let Some(login) = attempt.delegated.as_mut() else {
        panic!("no delegated login on the attempt")
    };
    login.nonce = "another-request-nonce".into();
    assert_eq!(
        store.advance_attempt(&attempt, "oidc").await.ok(),
        Some(true)
    );
    let page = bank.callback(&journey, &back).await;
    assert_eq!(page.status, 502, "{}", page.html);
    let back = leave(&journey, &page).await;
    assert_eq!(back.param("error").as_deref(), Some("access_denied"));
}
