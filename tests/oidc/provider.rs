//! The test OpenID provider (`provider.mjs`, the certified `oidc-provider` library) seen from
//! Rust tests: installs its npm packages when they are missing, starts it on a free loopback
//! port, drives its admin switches, and walks its login pages over plain HTTP as a browser
//! would (cookies, 303s). Included by path from the test crates that need it.
//!
//! Without Node.js or the npm registry the tests fail, naming what is missing: they never
//! skip.
#![allow(dead_code, reason = "each including test crate uses a part")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// `tests/oidc` of the repository.
pub fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc")
}

/// Runs `npm ci` once when `node_modules` lacks the provider (nextest runs tests in
/// parallel processes: a lock folder makes one install and the others wait for it).
pub fn ensure_installed() {
    let dir = provider_dir();
    let ready = || dir.join("node_modules/oidc-provider/package.json").exists();
    if ready() {
        return;
    }
    let lock = dir.join(".npm-install-lock");
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    loop {
        if ready() {
            return;
        }
        match std::fs::create_dir(&lock) {
            Ok(()) => break,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("waiting for another npm install ({}): {e}", lock.display()),
        }
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .stdout(Stdio::null())
        .status();
    let _ = std::fs::remove_dir(&lock);
    match status {
        Ok(s) if s.success() && ready() => {}
        Ok(s) => panic!(
            "npm ci --prefix {} failed ({s}): the OpenID provider tests need the npm registry",
            dir.display()
        ),
        Err(e) => panic!("npm is missing ({e}): the OpenID provider tests need Node.js and npm"),
    }
}

/// A running provider; stopped when dropped (and when the test process dies, by its stdin).
pub struct Provider {
    child: Child,
    _stdin: Option<ChildStdin>,
    pub issuer: String,
    http: reqwest::Client,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain-HTTP client that follows no redirect.
pub fn plain_client() -> reqwest::Client {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        });
    let Ok(tls) = tls else { panic!("TLS config") };
    match reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(client) => client,
        Err(e) => panic!("HTTP client: {e}"),
    }
}

/// One PSU at the provider: login, password, the claims its ID tokens carry.
pub fn account(login: &str, psu_id: &str, acr: &str, amr: &[&str]) -> Value {
    json!({
        "login": login,
        "password": format!("{login}-pass"),
        "sub": format!("sub-{login}"),
        "claims": { "psu_id": psu_id, "name": login },
        "acr": acr,
        "amr": amr,
    })
}

impl Provider {
    /// Starts the provider with these accounts and no client yet (see [`Provider::client`]).
    pub fn start(accounts: Vec<Value>, extra: Value) -> Provider {
        ensure_installed();
        let dir = provider_dir();
        let mut config = json!({
            "idTokenTtlSeconds": 300,
            "clients": [{
                "client_id": "placeholder",
                "client_secret": "placeholder-secret-0123456789",
                "redirect_uris": ["http://127.0.0.1:9/none"],
                "grant_types": ["authorization_code"],
                "response_types": ["code"]
            }],
            "accounts": accounts,
        });
        if let (Some(config), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                config.insert(k.clone(), v.clone());
            }
        }
        let file = std::env::temp_dir().join(format!(
            "guichet-oidc-{}-{}.json",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        if let Err(e) = std::fs::write(&file, config.to_string()) {
            panic!("{}: {e}", file.display());
        }
        // A start that does not answer (a starved machine) is ended and tried again: a test
        // fails on the provider only when three starts in a row came to nothing.
        let mut last = String::new();
        for attempt in 1..=3 {
            match Provider::spawn(&dir, &file) {
                Ok((child, stdin, issuer)) => {
                    return Provider {
                        child,
                        _stdin: stdin,
                        issuer,
                        http: plain_client(),
                    };
                }
                Err(why) => {
                    eprintln!("the OpenID provider's start {attempt} of 3 failed: {why}");
                    last = why;
                }
            }
        }
        panic!("the OpenID provider did not start: {last}")
    }

    /// One start: the child, its stdin (kept open), its issuer; a child that does not say it
    /// listens within 20 s is killed.
    fn spawn(dir: &Path, file: &Path) -> Result<(Child, Option<ChildStdin>, String), String> {
        let child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .args(["--port", "0", "--exit-with-stdin", "--config"])
            .arg(file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => panic!("node is missing ({e}): the OpenID provider tests need Node.js"),
        };
        let stdin = child.stdin.take();
        let Some(stdout) = child.stdout.take() else {
            return Err("no stdout".into());
        };
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let ready = receiver
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| "no answer within 20 s".to_owned())
            .and_then(|line| {
                let ready: Value = serde_json::from_str(&line)
                    .map_err(|e| format!("its first line {line:?}: {e}"))?;
                ready["issuer"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("no issuer in {line}"))
            });
        match ready {
            Ok(issuer) => Ok((child, stdin, issuer)),
            Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(why)
            }
        }
    }
}

/// The JSON an admin endpoint answers; a failure panics with its status and body.
async fn admin_answer(request: reqwest::RequestBuilder, what: &str) -> Value {
    let Ok(response) = request.send().await else {
        panic!("admin {what}")
    };
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "admin {what}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

impl Provider {
    /// POST /__admin/<path>.
    pub async fn admin(&self, path: &str, body: Value) -> Value {
        let request = self
            .http
            .post(format!("{}/__admin/{path}", self.issuer))
            .header("content-type", "application/json")
            .body(body.to_string());
        admin_answer(request, path).await
    }

    /// GET /__admin/state.
    pub async fn state(&self) -> Value {
        let request = self.http.get(format!("{}/__admin/state", self.issuer));
        admin_answer(request, "state").await
    }

    /// Registers (or replaces) Guichet's client: `client_secret_basic` with this secret, or
    /// `private_key_jwt` with this public JWK; ID tokens signed with `alg`.
    pub async fn client(
        &self,
        client_id: &str,
        redirect_uri: &str,
        auth: ClientAuth<'_>,
        alg: &str,
    ) {
        let mut client = json!({
            "client_id": client_id,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "id_token_signed_response_alg": alg,
        });
        match auth {
            ClientAuth::Secret(secret) => {
                client["client_secret"] = json!(secret);
                client["token_endpoint_auth_method"] = json!("client_secret_basic");
            }
            ClientAuth::Key(jwk) => {
                client["jwks"] = json!({ "keys": [jwk] });
                client["token_endpoint_auth_method"] = json!("private_key_jwt");
                client["token_endpoint_auth_signing_alg"] = json!("ES256");
            }
        }
        self.admin("clients", json!({ "clients": [client] })).await;
    }

    /// Walks the provider's pages from the authorization URL: the login form, then the
    /// redirects, until one leaves the provider. Answers that URL (Guichet's callback).
    /// `password: None` presses Cancel.
    pub async fn login(
        &self,
        authorization_url: &str,
        login: &str,
        password: Option<&str>,
    ) -> String {
        let mut jar: HashMap<String, String> = HashMap::new();
        let mut url = authorization_url.to_owned();
        let mut posted = false;
        for _ in 0..20 {
            if !url.starts_with(&self.issuer) {
                return url;
            }
            let cookies = jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let login_form = url.contains("/interaction/") && !posted;
            let request = if login_form {
                // The interaction page: post the form as a browser would.
                let uid = url
                    .rsplit("/interaction/")
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_owned();
                let mut form = vec![("login", login.to_owned())];
                match password {
                    Some(p) => {
                        form.push(("password", p.to_owned()));
                        form.push(("action", "login".into()));
                    }
                    None => form.push(("action", "cancel".into())),
                }
                posted = true;
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish();
                self.http
                    .post(format!("{}/interaction/{uid}/login", self.issuer))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
            } else {
                self.http.get(&url)
            };
            let response = request.header("cookie", cookies).send().await;
            let Ok(response) = response else {
                panic!("the provider at {url}")
            };
            for value in response.headers().get_all("set-cookie") {
                if let Some((name, value)) = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.split(';').next())
                    .and_then(|pair| pair.split_once('='))
                {
                    jar.insert(name.trim().to_owned(), value.to_owned());
                }
            }
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            match location {
                Some(next) if (300..400).contains(&status) => {
                    url = if next.starts_with('/') {
                        format!("{}{next}", self.issuer)
                    } else {
                        next
                    };
                }
                _ => {
                    let text = response.text().await.unwrap_or_default();
                    panic!("the provider answered {status} at {url}: {text}");
                }
            }
        }
        panic!("the provider's redirects did not end")
    }
}

pub enum ClientAuth<'a> {
    Secret(&'a str),
    Key(Value),
}

/// A fresh P-256 key: its PKCS#8 PEM (Guichet's `private_key_file`) and its public JWK
/// (registered at the provider).
pub fn es256_key(kid: &str) -> (String, Value) {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let Ok(pkcs8) = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng) else {
        panic!("P-256 key")
    };
    let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
    else {
        panic!("P-256 key")
    };
    let point = pair.public_key().as_ref();
    let (x, y) = (&point[1..33], &point[33..65]);
    let body = STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
    });
    (pem, jwk)
}
