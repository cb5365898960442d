//! SCA delegated to the bank's OpenID Connect provider (issue #12), against a real provider:
//! the certified `oidc-provider` library in `tests/oidc/provider.mjs`. The PSU's journey is
//! walked over plain HTTP (the browser test walks it in Chromium): the TPP's authorize URL,
//! Guichet's redirect to the provider, the provider's login, Guichet's callback and consent
//! page, the code to the TPP, the token over mutual TLS, then GET /accounts. Then every way it
//! can fail: cancel, provider down or slow, an ID token that fails a check, an SCA level too
//! low, a PSU unknown to the bank, a forged or replayed callback.

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

    /// The PSU sent to the provider and logged in there by `login`: the journey, the
    /// provider's answer (not yet followed) and the TPP's PKCE verifier.
    pub(crate) async fn away(&self, state: &str, login: &str) -> (Journey<'_>, String, String) {
        let (verifier, challenge) = pkce();
        let (journey, to) = self.open(state, &challenge).await;
        let back = self
            .provider
            .login(&to, login, Some(&format!("{login}-pass")))
            .await;
        (journey, back, verifier)
    }

    /// The whole journey of a provider account, up to the bank's answer on its callback.
    async fn authenticate(&self, login: &str, state: &str) -> (Journey<'_>, Step, String) {
        let (journey, back, verifier) = self.away(state, login).await;
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

/// "Autoriser" on the bank's consent page: the TPP's redirect.
async fn allow(journey: &Journey<'_>, consent: &Step) -> Step {
    tpp_redirect(
        &journey
            .post(
                "/sca/consent",
                &[("csrf", &consent.csrf()), ("decision", "allow")],
            )
            .await,
    )
}

/// The refusal page's "Revenir au service": the TPP gets the error.
async fn leave(journey: &Journey<'_>, page: &Step) -> Step {
    assert!(page.html.contains("id=\"cancel\""), "{}", page.html);
    tpp_redirect(&journey.post("/sca/cancel", &[("csrf", &page.csrf())]).await)
}

mod journeys;
mod refusals;
