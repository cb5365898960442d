//! `TestApp`: a started bank on a throwaway database with a hand-moved clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use guichet_aspsp::sandbox::DemoTpp;
use guichet_aspsp::{Application, BankProfile, ManualClock, Mode, ServerConfig, sandbox};
use guichet_store::Backend;
use guichet_store::sandbox::account_resource_id;
use guichet_store::sandbox::personas::{PERSONAS, french_iban};
use guichet_store::testing::TestDatabase;
use guichet_tpp::TppIdentity;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::pki::{TestPki, pki};

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
    /// The demo TPP, and an HTTP client presenting its QWAC.
    pub tpp: TppIdentity,
    pub client: reqwest::Client,
    banks: Vec<BankProfile>,
    tls: guichet_aspsp::security::TlsConfig,
    urls: HashMap<String, String>,
    origins: HashMap<String, String>,
    mode: Mode,
    /// The edge's limits; tests of the edge lower them before `restart`.
    pub edge: guichet_aspsp::conn::EdgeLimits,
    /// `--sandbox-maintenance`; tests set it before `restart`.
    pub sandbox_maintenance: bool,
    /// `--host-domain`; in production the PSU pages' origin is then `www.<bank>.<domain>`,
    /// which a test that follows redirects to them clears before `restart`.
    pub host_domain: Option<String>,
}

/// A TPP's identity from its four files.
pub fn identity(files: &DemoTpp) -> TppIdentity {
    match TppIdentity::from_files(
        &files.qwac,
        &files.qwac_key,
        &files.qseal,
        &files.qseal_key,
        "https://tpp.example/qseal.pem",
    ) {
        Ok(identity) => identity,
        Err(e) => panic!("TPP identity: {e}"),
    }
}

pub fn the_pki() -> &'static TestPki {
    pki()
}

static REQUESTS: AtomicU64 = AtomicU64::new(0);

fn next_request_id() -> String {
    format!("test-{}", REQUESTS.fetch_add(1, Ordering::Relaxed))
}

/// A change made to a request around its signing.
type Change = Box<dyn FnOnce(&mut reqwest::Request) + Send>;

/// A request being built: sent over the TPP's client and signed with its QSealC unless told
/// otherwise; `tamper` changes it after signing (for the refusal tests).
pub struct Req {
    builder: reqwest::RequestBuilder,
    client: reqwest::Client,
    signer: Option<TppIdentity>,
    tamper: Option<Change>,
    resign: Option<Change>,
}

impl Req {
    fn new(
        builder: reqwest::RequestBuilder,
        client: reqwest::Client,
        signer: Option<TppIdentity>,
    ) -> Req {
        Req {
            builder,
            client,
            signer,
            tamper: None,
            resign: None,
        }
    }

    pub fn header(mut self, name: &str, value: impl AsRef<str>) -> Req {
        self.builder = self.builder.header(name, value.as_ref());
        self
    }

    pub fn bearer_auth(mut self, token: &str) -> Req {
        self.builder = self.builder.bearer_auth(token);
        self
    }

    pub fn json(mut self, value: &Value) -> Req {
        self.builder = self.builder.json(value);
        self
    }

    pub fn body(mut self, body: impl Into<reqwest::Body>) -> Req {
        self.builder = self.builder.body(body);
        self
    }

    /// Sent without Digest and Signature.
    pub fn unsigned(mut self) -> Req {
        self.signer = None;
        self
    }

    /// Signed with another TPP's QSealC.
    pub fn signed_by(mut self, tpp: &TppIdentity) -> Req {
        self.signer = Some(tpp.clone());
        self
    }

    /// Changes the request after it was signed.
    pub fn tamper(mut self, change: impl FnOnce(&mut reqwest::Request) + Send + 'static) -> Req {
        self.tamper = Some(Box::new(change));
        self
    }

    /// Changes the request before it is signed.
    pub fn before_signing(
        mut self,
        change: impl FnOnce(&mut reqwest::Request) + Send + 'static,
    ) -> Req {
        self.resign = Some(Box::new(change));
        self
    }
}
impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, BankProfile::sandbox_banks(), Mode::Sandbox).await
    }

    pub async fn spawn_with(backend: Backend, banks: Vec<BankProfile>, mode: Mode) -> TestApp {
        TestApp::spawn_with_tls(backend, banks, mode, pki().sandbox.tls.clone()).await
    }

    /// The same with another trust list and certificates (a test that changes its CRL).
    pub async fn spawn_with_tls(
        backend: Backend,
        banks: Vec<BankProfile>,
        mode: Mode,
        tls: guichet_aspsp::security::TlsConfig,
    ) -> TestApp {
        TestApp::spawn_on(TestDatabase::new(backend).await, banks, mode, tls).await
    }

    /// The same on a given database (a test that stops its own PostgreSQL).
    pub async fn spawn_on(
        db: TestDatabase,
        banks: Vec<BankProfile>,
        mode: Mode,
        tls: guichet_aspsp::security::TlsConfig,
    ) -> TestApp {
        let now = match NOW.parse() {
            Ok(now) => now,
            Err(e) => panic!("{e}"),
        };
        let tpp = identity(&pki().sandbox.demo);
        let client = match tpp.http_client(&pki().sandbox.ca_file) {
            Ok(client) => client,
            Err(e) => panic!("{e}"),
        };
        let mut app = TestApp {
            app: None,
            db,
            clock: Arc::new(ManualClock::new(now)),
            tpp,
            client,
            banks,
            tls,
            urls: HashMap::new(),
            origins: HashMap::new(),
            mode,
            edge: guichet_aspsp::conn::EdgeLimits::default(),
            sandbox_maintenance: false,
            host_domain: Some("sandbox.guichet.test".into()),
        };
        app.start().await;
        for tpp in [
            &pki().sandbox.demo,
            &pki().tpp(crate::pki::OTHER),
            &pki().tpp(crate::pki::AI_ONLY),
        ] {
            app.register(tpp).await;
        }
        app
    }

    async fn start(&mut self) {
        let config = ServerConfig {
            mode: self.mode,
            banks: self.banks.clone(),
            database_url: self.db.url.clone(),
            listen: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            psu_port: 0,
            host_domain: self.host_domain.clone(),
            pool_size: 4,
            page_cache_mb: guichet_store::DEFAULT_PAGE_CACHE_MB,
            tls: self.tls.clone(),
            edge: self.edge.clone(),
            sandbox_maintenance: self.sandbox_maintenance,
            ops_listen: None,
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
        self.origins = self
            .banks
            .iter()
            .filter_map(|b| app.origin(&b.code).map(|url| (b.code.clone(), url)))
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

    /// The origin (`https://127.0.0.1:port`) of a bank's API listener.
    pub fn origin(&self, bank: &str) -> String {
        self.origins.get(bank).cloned().unwrap_or_default()
    }

    /// The bank's clock, in Unix seconds.
    pub fn clock_now(&self) -> i64 {
        self.clock.now_seconds()
    }

    /// The origin of a bank's PSU pages.
    pub fn psu_origin(&self, bank: &str) -> String {
        self.app
            .as_ref()
            .and_then(|app| app.psu_origin(bank))
            .unwrap_or_default()
    }

    /// Registers a TPP directly in the store, with its QSealC.
    pub async fn register(&self, files: &DemoTpp) {
        let pem = std::fs::read_to_string(&files.qseal).unwrap_or_default();
        let uris = vec![sandbox::DEMO_REDIRECT_URI.to_owned()];
        if let Err(e) = sandbox::register_tpp(
            &self.state().store,
            "Test TPP",
            &uris,
            &pem,
            self.clock.now_seconds(),
        )
        .await
        {
            panic!("registering {}: {e}", files.client_id);
        }
    }

    /// An access token for a persona of the demo TPP, as if it had just passed SCA. Minted
    /// directly in the store: the resource tests exercise the API, not the OAuth2 journey,
    /// which `oauth.rs` and `browser.rs` test end to end.
    pub async fn token(&self, bank: &str, persona: &str, scopes: &[&str]) -> String {
        self.token_for(bank, persona, scopes, &self.tpp.clone())
            .await
    }

    /// The same for another TPP (bound to its QWAC).
    pub async fn token_for(
        &self,
        bank: &str,
        persona: &str,
        scopes: &[&str],
        tpp: &TppIdentity,
    ) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let now = self.clock.now_seconds();
        match sandbox::mint_token(
            &self.state().store,
            bank,
            persona,
            &tpp.qwac,
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
    pub fn request(&self, method: Method, bank: &str, path: &str, token: &str) -> Req {
        self.batch_request(method, bank, path, token)
            .header("PSU-IP-Address", "192.0.2.10")
    }

    /// The same without PSU-IP-Address: a batch call, counted against the daily limit.
    pub fn batch_request(&self, method: Method, bank: &str, path: &str, token: &str) -> Req {
        self.raw(method, bank, path)
            .header("X-Request-ID", next_request_id())
            .bearer_auth(token)
    }

    /// A signed request of the demo TPP with nothing else set.
    pub fn raw(&self, method: Method, bank: &str, path: &str) -> Req {
        Req::new(
            self.client.request(method, self.url(bank, path)),
            self.client.clone(),
            Some(self.tpp.clone()),
        )
    }

    /// A batch request sent by another TPP over its own QWAC and signed with its QSealC.
    pub fn as_tpp(
        &self,
        tpp: &TppIdentity,
        method: Method,
        bank: &str,
        path: &str,
        token: &str,
    ) -> Req {
        let client = match tpp.http_client(&pki().sandbox.ca_file) {
            Ok(client) => client,
            Err(e) => panic!("{e}"),
        };
        Req::new(
            client.request(method, self.url(bank, path)),
            client.clone(),
            Some(tpp.clone()),
        )
        .header("X-Request-ID", next_request_id())
        .bearer_auth(token)
    }

    /// A request over a TLS connection presenting any certificate and key (no PSD2 checks on
    /// the client side), signed by the demo TPP.
    pub fn over_tls(
        &self,
        cert: &std::path::Path,
        key: &std::path::Path,
        method: Method,
        bank: &str,
        path: &str,
        token: &str,
    ) -> Req {
        use rustls_pki_types::pem::PemObject;
        let chain: Vec<rustls_pki_types::CertificateDer<'static>> =
            rustls_pki_types::CertificateDer::pem_file_iter(cert)
                .map(|certs| certs.filter_map(Result::ok).collect())
                .unwrap_or_default();
        let key = match rustls_pki_types::PrivateKeyDer::from_pem_file(key) {
            Ok(key) => key,
            Err(e) => panic!("{e}"),
        };
        let mut roots = rustls::RootCertStore::empty();
        for ca in rustls_pki_types::CertificateDer::pem_file_iter(&pki().sandbox.ca_file)
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = roots.add(ca);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| {
                b.with_root_certificates(roots)
                    .with_client_auth_cert(chain, key)
            });
        let client =
            match config.map(|c| reqwest::Client::builder().use_preconfigured_tls(c).build()) {
                Ok(Ok(client)) => client,
                _ => panic!("TLS client"),
            };
        Req::new(
            client.request(method, self.url(bank, path)),
            client.clone(),
            Some(self.tpp.clone()),
        )
        .header("X-Request-ID", next_request_id())
        .bearer_auth(token)
    }

    pub fn get(&self, bank: &str, path: &str, token: &str) -> Req {
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

pub async fn send(req: Req) -> Response {
    let mut request = match req.builder.build() {
        Ok(request) => request,
        Err(e) => panic!("cannot build the request: {e}"),
    };
    if let Some(change) = req.resign {
        change(&mut request);
    }
    if let Some(tpp) = &req.signer
        && let Err(e) = guichet_tpp::sign_request(&mut request, &tpp.signer)
    {
        panic!("signing: {e}");
    }
    if let Some(change) = req.tamper {
        change(&mut request);
    }
    match req.client.execute(request).await {
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
pub async fn ok_json(request: Req) -> Value {
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
pub async fn expect_error(request: Req, status: u16, needle: &str) -> Value {
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

/// The IBANs of a GET /accounts answer, in its order.
pub fn ibans(accounts: &Value) -> Vec<&str> {
    accounts["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["accountId"]["iban"].as_str())
        .collect()
}

/// Renames a table under the running bank: its reads and writes fail as no outage does (a
/// 500, not a 503).
pub async fn rename_table(app: &TestApp, from: &str, to: &str) {
    let sql = format!("ALTER TABLE {from} RENAME TO {to}");
    if let Err(e) = guichet_store::testing::execute(&app.state().store, &sql).await {
        panic!("{sql}: {e}");
    }
}
