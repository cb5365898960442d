//! `TestApp`: a started bank on a throwaway database with a hand-moved clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use guichet_aspsp::{Application, BankProfile, ManualClock, Mode, ServerConfig, sandbox};
use guichet_store::Backend;
use guichet_store::sandbox::account_resource_id;
use guichet_store::sandbox::personas::{PERSONAS, french_iban};
use guichet_store::testing::TestDatabase;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

pub const CE: &str = "17515";
pub const BTP: &str = "30258";
pub const CLAIRE_EMPTY: &str = "FR7617515900000400358074026";
pub const CLAIRE_FULL: &str = "FR7617515900000800358074006";

/// Tuesday 24 November 2026, 11:00 in Paris.
pub const NOW: &str = "2026-11-24T10:00:00Z";

pub struct TestApp {
    app: Option<Application>,
    pub db: TestDatabase,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    banks: Vec<BankProfile>,
    urls: HashMap<String, String>,
    mode: Mode,
}

static REQUESTS: AtomicU64 = AtomicU64::new(0);

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, BankProfile::sandbox_banks(), Mode::Sandbox).await
    }

    pub async fn spawn_with(backend: Backend, banks: Vec<BankProfile>, mode: Mode) -> TestApp {
        let db = TestDatabase::new(backend).await;
        let now = match NOW.parse() {
            Ok(now) => now,
            Err(e) => panic!("{e}"),
        };
        let mut app = TestApp {
            app: None,
            db,
            clock: Arc::new(ManualClock::new(now)),
            client: reqwest::Client::new(),
            banks,
            urls: HashMap::new(),
            mode,
        };
        app.start().await;
        app
    }

    async fn start(&mut self) {
        let config = ServerConfig {
            mode: self.mode,
            banks: self.banks.clone(),
            database_url: self.db.url.clone(),
            listen: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            host_domain: Some("sandbox.guichet.test".into()),
            pool_size: 4,
        };
        let app = match Application::start(config, self.clock.clone()).await {
            Ok(app) => app,
            Err(e) => panic!("the server did not start: {e:#}"),
        };
        self.urls = self
            .banks
            .iter()
            .filter_map(|b| app.base_url(&b.code).map(|url| (b.code.clone(), url)))
            .collect();
        self.app = Some(app);
    }

    /// Stops the server and starts a new one on the same database.
    pub async fn restart(&mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
        self.start().await;
    }

    pub fn state(&self) -> &guichet_aspsp::SharedState {
        match &self.app {
            Some(app) => &app.state,
            None => panic!("the server is stopped"),
        }
    }

    pub fn url(&self, bank: &str, path: &str) -> String {
        match self.urls.get(bank) {
            Some(base) => format!("{base}{path}"),
            None => panic!("bank {bank} is not served"),
        }
    }

    /// An access token for a persona, as if it had just passed SCA.
    pub async fn token(&self, bank: &str, persona: &str, scopes: &[&str]) -> String {
        self.token_for(bank, persona, scopes, sandbox::DEMO_TPP_CLIENT_ID)
            .await
    }

    pub async fn token_for(
        &self,
        bank: &str,
        persona: &str,
        scopes: &[&str],
        client_id: &str,
    ) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let now = self.clock.now_seconds();
        match sandbox::mint_token(
            &self.state().store,
            bank,
            persona,
            client_id,
            &scopes,
            now,
            900,
        )
        .await
        {
            Ok((secret, _)) => secret.expose().to_owned(),
            Err(e) => panic!("minting a token for {persona}: {e}"),
        }
    }

    /// A request with a fresh X-Request-ID, the PSU present (PSU-IP-Address) and a token.
    pub fn request(&self, method: Method, bank: &str, path: &str, token: &str) -> RequestBuilder {
        self.batch_request(method, bank, path, token)
            .header("PSU-IP-Address", "192.0.2.10")
    }

    /// The same without PSU-IP-Address: a batch call, counted against the daily limit.
    pub fn batch_request(
        &self,
        method: Method,
        bank: &str,
        path: &str,
        token: &str,
    ) -> RequestBuilder {
        let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
        self.client
            .request(method, self.url(bank, path))
            .header("X-Request-ID", format!("test-{n}"))
            .bearer_auth(token)
    }

    pub fn get(&self, bank: &str, path: &str, token: &str) -> RequestBuilder {
        self.request(Method::GET, bank, path, token)
    }

    pub async fn put_consent(&self, bank: &str, token: &str, body: &Value) -> Response {
        send(
            self.request(Method::PUT, bank, "/consents", token)
                .json(body),
        )
        .await
    }

    /// Consents to every eligible account of the persona, for balances and transactions, and to
    /// the PSU-level data.
    pub async fn consent_all(&self, bank: &str, persona: &str, token: &str) {
        let ibans: Vec<Value> = accounts_of(bank, persona)
            .iter()
            .map(|(iban, _)| json!({"iban": iban}))
            .collect();
        let body = json!({"balances": ibans, "transactions": ibans, "psuIdentity": true, "trustedBeneficiaries": true});
        let response = self.put_consent(bank, token, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "consent for {persona}"
        );
    }
}

trait Seconds {
    fn now_seconds(&self) -> i64;
}

impl Seconds for ManualClock {
    fn now_seconds(&self) -> i64 {
        guichet_aspsp::Clock::now(self).as_second()
    }
}

/// The eligible accounts of a sandbox persona: (IBAN, resource id).
pub fn accounts_of(bank: &str, persona: &str) -> Vec<(String, String)> {
    PERSONAS
        .iter()
        .filter(|p| p.bank_code == bank && p.persona == persona)
        .flat_map(|p| {
            p.accounts.iter().filter(|a| a.eligible).map(move |a| {
                (
                    french_iban(p.bank_code, a.branch, a.number),
                    account_resource_id(a.number),
                )
            })
        })
        .collect()
}

pub fn account_id(bank: &str, persona: &str) -> String {
    match accounts_of(bank, persona).first() {
        Some((_, id)) => id.clone(),
        None => panic!("{persona} has no account at {bank}"),
    }
}

pub async fn send(request: RequestBuilder) -> Response {
    match request.send().await {
        Ok(response) => response,
        Err(e) => panic!("request failed: {e}"),
    }
}

pub async fn body(response: Response) -> Value {
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(e) => panic!("not JSON ({e}): {text}"),
    }
}

/// Sends, expects 200, returns the JSON body after checking it holds no `null`.
pub async fn ok_json(request: RequestBuilder) -> Value {
    let response = send(request).await;
    let status = response.status();
    let value = body(response).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_no_null(&value);
    value
}

pub fn assert_no_null(value: &Value) {
    match value {
        Value::Null => panic!("a null was written"),
        Value::Array(items) => items.iter().for_each(assert_no_null),
        Value::Object(map) => map.values().for_each(assert_no_null),
        _ => {}
    }
}

/// Expects a STET ErrorModel with this status whose message contains `needle`; returns it.
pub async fn expect_error(request: RequestBuilder, status: u16, needle: &str) -> Value {
    let response = send(request).await;
    assert_eq!(response.status().as_u16(), status, "status");
    assert!(
        response.headers().get("x-request-id").is_some() || status == 400,
        "X-Request-ID echoed"
    );
    let value = body(response).await;
    assert_eq!(value["status"], status, "{value}");
    assert!(
        value["timestamp"].is_string() && value["path"].is_string() && value["error"].is_string(),
        "{value}"
    );
    let message = value["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "message {message:?} lacks {needle:?}"
    );
    assert!(message.chars().count() <= 140);
    value
}
