//! README's production configuration, run: `guichet serve --mode production --config` with
//! the example of "Running in production" (its files and addresses swapped for the test's
//! own, nothing else), the bank's customer file and a camt.053 imported with the same
//! configuration, the demo TPP registered through the API, a PSU authenticated by the bank's
//! OpenID provider (a real one, `tests/oidc`), then the TPP reads the account over mutual TLS.
//! The two interfaces a bank already has, and no Rust.

mod common;
#[path = "../../../tests/oidc/provider.rs"]
mod oidc_provider;

use std::path::{Path, PathBuf};

use serde_json::json;

use common::guichet;
use oidc_provider::{ClientAuth, Provider, account, es256_key};

const REDIRECT: &str = "http://127.0.0.1:8765/callback";

/// The README's first TOML block, as a table.
fn readme_configuration() -> toml::Table {
    let readme = include_str!("../../../README.md");
    let block = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("no toml block in README.md"));
    toml::from_str(block).unwrap_or_else(|e| panic!("README's configuration: {e}"))
}

fn path(p: &Path) -> toml::Value {
    toml::Value::String(p.display().to_string())
}

fn table<'a>(value: Option<&'a mut toml::Value>, name: &str) -> &'a mut toml::Table {
    match value {
        Some(toml::Value::Table(t)) => t,
        _ => panic!("README's configuration has no {name} table"),
    }
}

/// `guichet serve --mode production --config …`: its API base and its PSU pages.
fn serve(config: &Path, data_dir: &Path, log: &Path) -> (common::Server, String, String) {
    let mut command = guichet();
    command
        .args([
            "serve",
            "--mode",
            "production",
            "--ops-listen",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir);
    let server = common::spawn(command, log, common::Announced::Banks(1));
    let (api, pages) = (server.api("30258"), server.pages("30258"));
    (server, api, pages)
}

fn run(args: &[&str]) -> String {
    let output = guichet()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "guichet {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn https_client(ca: &Path) -> reqwest::Client {
    guichet_tpp::sandbox::browser(ca).unwrap_or_else(|e| panic!("{e}"))
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn param(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_production_configuration_serves_a_bank_fed_by_its_files_and_its_provider() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("guichet-production-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    // The bank's certificates, from a test QTSP.
    let pki =
        guichet_aspsp::sandbox::prepare_pki(&dir.join("pki"), &[("30258", "BTP Banque")], None)
            .unwrap_or_else(|e| panic!("{e:#}"));
    // The bank's provider knows its customer C0001 and authenticates with two factors.
    let provider = Provider::start(
        vec![account(
            "martin",
            "C0001",
            "urn:btp:sca:2fa",
            &["pwd", "otp"],
        )],
        json!({}),
    );
    let (key_pem, jwk) = es256_key("guichet-2026");
    let key_file = dir.join("oidc-30258.key");
    std::fs::write(&key_file, key_pem).unwrap_or_else(|e| panic!("{e}"));

    // README's example, with the test's files and addresses.
    let mut config = readme_configuration();
    config.remove("database_url"); // the data folder's SQLite file
    config.remove("host_domain"); // PSU pages on their listener's address
    config.insert("listen".into(), toml::Value::String("127.0.0.1".into()));
    config.insert("port".into(), toml::Value::Integer(0));
    config.insert("psu_port".into(), toml::Value::Integer(0));
    let tls = table(config.get_mut("tls"), "[tls]");
    tls.insert("server_cert".into(), path(&pki.tls.server_cert));
    tls.insert("server_key".into(), path(&pki.tls.server_key));
    tls.insert(
        "trust_files".into(),
        toml::Value::Array(pki.tls.trust_files.iter().map(|p| path(p)).collect()),
    );
    tls.insert(
        "crl_files".into(),
        toml::Value::Array(pki.tls.crl_files.iter().map(|p| path(p)).collect()),
    );
    let seal = &pki.tls.bank_seals[0];
    let mut seal_table = toml::Table::new();
    seal_table.insert("bank_code".into(), toml::Value::String("30258".into()));
    seal_table.insert("cert".into(), path(&seal.cert));
    seal_table.insert("key".into(), path(&seal.key));
    tls.insert(
        "bank_seals".into(),
        toml::Value::Array(vec![toml::Value::Table(seal_table)]),
    );
    let Some(toml::Value::Array(banks)) = config.get_mut("banks") else {
        panic!("README's configuration has no [[banks]]")
    };
    let bank = table(banks.get_mut(0), "[[banks]]");
    // The test runs on the real clock, whatever the day: the Monday window stays open.
    bank.insert("enforce_maintenance".into(), toml::Value::Boolean(false));
    let oidc = table(bank.get_mut("oidc"), "[banks.oidc]");
    oidc.insert(
        "issuer".into(),
        toml::Value::String(provider.issuer.clone()),
    );
    oidc.insert("private_key_file".into(), path(&key_file));
    oidc.remove("redirect_uri"); // the default: the PSU pages' /sca/callback
    let config_file = dir.join("guichet.toml");
    std::fs::write(
        &config_file,
        toml::to_string(&config).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let config_arg = config_file.display().to_string();
    let dir_arg = dir.display().to_string();

    // Who owns which account, then the core banking system's statement.
    let customers = dir.join("customers.csv");
    std::fs::write(&customers, common::MARTIN_CUSTOMERS_CSV).unwrap_or_else(|e| panic!("{e}"));
    let customers_arg = customers.display().to_string();
    // `guichet import [customers]` with the configuration of `serve`.
    let import = |what: &[&str], file: &str| {
        let mut args = vec!["import"];
        args.extend_from_slice(what);
        args.extend([
            "--bank",
            "30258",
            "--config",
            &config_arg,
            "--data-dir",
            &dir_arg,
            file,
        ]);
        run(&args)
    };
    let said = import(&["customers"], &customers_arg);
    assert!(said.contains("1 customers"), "{said}");
    let statement = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guichet-camt/tests/fixtures/camt053_v02.xml")
        .display()
        .to_string();
    let said = import(&[], &statement);
    assert!(said.contains("operations added"), "{said}");

    let (_server, api, pages) = serve(&config_file, &dir, &dir.join("serve.log"));
    let origin = api.trim_end_matches("/stet/psd2/v1.4.2").to_owned();
    provider
        .client(
            "guichet",
            &format!("{pages}/sca/callback"),
            ClientAuth::Key(jwk),
            "ES256",
        )
        .await;

    // The TPP registers through the API with its QWAC and QSealC.
    let demo = &pki.demo;
    run(&[
        "tpp",
        "register",
        "--bank-url",
        &origin,
        "--ca",
        &pki.ca_file.display().to_string(),
        "--name",
        "Guichet Demo TPP",
        "--redirect-uri",
        REDIRECT,
        "--qwac",
        &demo.qwac.display().to_string(),
        "--qwac-key",
        &demo.qwac_key.display().to_string(),
        "--qseal",
        &demo.qseal.display().to_string(),
        "--qseal-key",
        &demo.qseal_key.display().to_string(),
    ]);

    // The PSU: TPP → bank → provider → bank's consent page → TPP.
    let browser = https_client(&pki.ca_file);
    let verifier = "production-verifier-0123456789-0123456789-0123456789";
    let challenge = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            verifier.as_bytes(),
        ))
    };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", "PSDFR-ACPR-12345")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "aisp")
        .append_pair("state", "prod-1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let sent = browser
        .get(format!("{pages}/stet/psd2/oauth/authorize?{query}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent.status().as_u16(), 303);
    let to_provider = location(&sent);
    assert!(to_provider.starts_with(&provider.issuer), "{to_provider}");
    assert_eq!(
        param(&to_provider, "acr_values").as_deref(),
        Some("urn:btp:sca:2fa")
    );
    let cookie = guichet_tpp::sandbox::session_cookie(&sent);
    let back = provider
        .login(&to_provider, "martin", Some("martin-pass"))
        .await;
    assert!(back.starts_with(&format!("{pages}/sca/callback")), "{back}");
    let checked = browser
        .get(&back)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(checked.status().as_u16(), 303);
    assert_eq!(location(&checked), "/sca/consent");
    let consent = browser
        .get(format!("{pages}/sca/consent"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(consent.status().as_u16(), 200);
    let html = consent.text().await.unwrap_or_default();
    assert!(html.contains("ATELIERS MARTIN SARL"), "{html}");
    let csrf = common::between(&html, "name=\"csrf\" value=\"");
    let allowed = browser
        .post(format!("{pages}/sca/consent"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&decision=allow"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let to_tpp = location(&allowed);
    assert_eq!(
        param(&to_tpp, "state").as_deref(),
        Some("prod-1"),
        "{to_tpp}"
    );
    let code = param(&to_tpp, "code").unwrap_or_else(|| panic!("no code in {to_tpp}"));

    // The TPP's token over mutual TLS, then its signed call.
    let tpp = guichet_tpp::TppIdentity::from_files(
        &demo.qwac,
        &demo.qwac_key,
        &demo.qseal,
        &demo.qseal_key,
        "https://demo.tpp/qseal.pem",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let client = tpp
        .http_client(&pki.ca_file)
        .unwrap_or_else(|e| panic!("{e}"));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("client_id", "PSDFR-ACPR-12345")
        .append_pair("code_verifier", verifier)
        .finish();
    let token: serde_json::Value = client
        .post(format!("{origin}/stet/psd2/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Request-ID", "prod-token")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let access = token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{token}"));
    let mut request = client
        .get(format!("{api}/accounts"))
        .bearer_auth(access)
        .header("X-Request-ID", "prod-accounts")
        .header("PSU-IP-Address", "192.0.2.10")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    guichet_tpp::sign_request(&mut request, &tpp.signer).unwrap_or_else(|e| panic!("{e}"));
    let accounts: serde_json::Value = client
        .execute(request)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ibans: Vec<&str> = accounts["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["accountId"]["iban"].as_str())
        .collect();
    // The eligible account only: the closed one and the savings account are not listed.
    assert_eq!(ibans, ["FR7630004000310001234567865"], "{accounts}");
    let _ = std::fs::remove_dir_all(&dir);
}
