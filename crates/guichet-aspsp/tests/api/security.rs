//! eIDAS trust: mutual TLS with QWACs, QSealC signatures, TPP registration. Each refusal of the
//! matrix is checked with its status and message.

use std::process::Command;
use std::sync::Arc;

use guichet_aspsp::Mode;
use guichet_eidas::Psd2Certificate;
use guichet_httpsig::{SignatureHeader, Signer, SigningKey, VerifyingKey, signing_string};
use guichet_store::{Backend, QsealRecord, on_both_backends};
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::pki::{AI_ONLY, EXPIRED, FOREIGN, MISMATCH, NO_PSD2, OTHER, REVOKED};

fn tpp(name: &str) -> guichet_tpp::TppIdentity {
    identity(&the_pki().tpp(name))
}

/// A client that presents no certificate at all.
fn anonymous_client() -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&the_pki().sandbox.ca_file).unwrap_or_default();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
        let cert: rustls_pki_types::CertificateDer<'static> = match cert {
            Ok(cert) => cert,
            Err(e) => panic!("{e}"),
        };
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    match config.map(|c| reqwest::Client::builder().use_preconfigured_tls(c).build()) {
        Ok(Ok(client)) => client,
        _ => panic!("anonymous client"),
    }
}

on_both_backends! {
    // Mutual TLS refusals: each with 401 and a message that says what is wrong.
    async fn connections_without_a_valid_qwac_are_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let response = anonymous_client()
            .get(app.url(CE, "/accounts"))
            .header("X-Request-ID", "anon")
            .bearer_auth(&token)
            .send()
            .await;
        let Ok(response) = response else { panic!("no answer without a client certificate") };
        assert_eq!(response.status().as_u16(), 401);
        let value = body(response).await;
        assert!(value["message"].as_str().unwrap_or_default().contains("QWAC client certificate is required"), "{value}");
        for (variant, needle) in [
            (FOREIGN, "not issued by a trusted QTSP"),
            (EXPIRED, "expired"),
            (REVOKED, "revoked"),
            (NO_PSD2, "not a PSD2 certificate"),
        ] {
            let files = the_pki().tpp(variant);
            let error = expect_error(app.over_tls(&files.qwac, &files.qwac_key, Method::GET, CE, "/accounts", &token), 401, needle).await;
            assert_eq!(error["path"], "/stet/psd2/v1.4.2/accounts", "{variant}");
        }
        // A QSealC presented on TLS.
        let demo = &the_pki().sandbox.demo;
        expect_error(app.over_tls(&demo.qseal, &demo.qseal_key, Method::GET, CE, "/accounts", &token), 401, "not a QWAC").await;
    }
}

on_both_backends! {
    // Role versus scope: an AI-only TPP asking cbpii gets 403.
    async fn the_qwac_role_must_allow_the_scope(backend) {
        let app = TestApp::spawn(backend).await;
        let ai_only = tpp(AI_ONLY);
        let token = app.token_for(CE, "CLAIRE", &["cbpii", "aisp"], &ai_only).await;
        let body = json!({"paymentCoverageRequestId": "c1", "instructedAmount": {"currency": "EUR", "amount": "1"}, "accountId": {"iban": CLAIRE_FULL}});
        expect_error(app.as_tpp(&ai_only, Method::POST, CE, "/funds-confirmations", &token).json(&body), 403, "lacks the PSP_IC role").await;
        assert_eq!(send(app.as_tpp(&ai_only, Method::GET, CE, "/accounts", &token)).await.status().as_u16(), 200);
    }
}

on_both_backends! {
    // RFC 8705: a token presented over another TPP's certificate is refused.
    async fn a_token_is_bound_to_its_qwac(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let error = expect_error(app.as_tpp(&tpp(OTHER), Method::GET, CE, "/accounts", &token), 401, "issued to another TPP").await;
        assert_eq!(error["error"], "invalid_token");
    }
}

on_both_backends! {
    // HTTP signature refusals: each a 400 naming the problem.
    async fn bad_signatures_are_400_with_the_reason(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        expect_error(app.get(CE, "/accounts", &token).unsigned(), 400, "Signature header is missing").await;
        let balances_url = app.url(CE, "/accounts/CPT08003580740/balances");
        let moved = app.get(CE, "/accounts", &token).tamper(move |r| {
            if let Ok(url) = reqwest::Url::parse(&balances_url) {
                *r.url_mut() = url;
            }
        });
        let error = expect_error(moved, 400, "does not verify").await;
        let shown = error["signingString"].as_str().unwrap_or_default();
        assert!(shown.starts_with("(request-target): get /stet/psd2/v1.4.2/accounts/CPT08003580740/balances\ndigest: SHA-256="), "{shown}");
        let consent = json!({"balances": [], "transactions": [], "psuIdentity": false, "trustedBeneficiaries": false});
        let changed = app.request(Method::PUT, CE, "/consents", &token).json(&consent).tamper(|r| {
            *r.body_mut() = Some(reqwest::Body::from(r#"{"balances":[],"transactions":[],"psuIdentity":true,"trustedBeneficiaries":false}"#));
        });
        expect_error(changed, 400, "Digest does not match").await;
        let left_out = app
            .get(CE, "/accounts", &token)
            .before_signing(|r| {
                r.headers_mut().remove("psu-ip-address");
            })
            .tamper(|r| {
                r.headers_mut().insert("psu-ip-address", reqwest::header::HeaderValue::from_static("192.0.2.10"));
            });
        expect_error(left_out, 400, "'psu-ip-address' must be in the signed headers list").await;
        let unknown = app.get(CE, "/accounts", &token).tamper(|r| {
            let value = r.headers().get("signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            let start = value.find("_").unwrap_or(0);
            let replaced = format!("{}_{}{}", &value[..start], "0".repeat(64), &value[start + 65..]);
            if let Ok(v) = reqwest::header::HeaderValue::from_str(&replaced) {
                r.headers_mut().insert("signature", v);
            }
        });
        expect_error(unknown, 400, "unknown keyId").await;
        let stale = app.get(CE, "/accounts", &token).header("Date", "Tue, 24 Nov 2026 08:00:00 GMT");
        expect_error(stale, 400, "Date header is 7200 s from the bank's clock").await;
        let fresh = app.get(CE, "/accounts", &token).header("Date", "Tue, 24 Nov 2026 10:01:00 GMT");
        assert_eq!(send(fresh).await.status().as_u16(), 200);
        let no_digest = app.get(CE, "/accounts", &token).tamper(|r| {
            r.headers_mut().remove("digest");
        });
        // Signed over a Digest that is then removed: the signed list names a header the
        // request lacks (a bodiless request may go without Digest only when unsigned).
        expect_error(no_digest, 400, "digest").await;
    }
}

#[tokio::test]
async fn the_signing_string_is_shown_only_in_the_sandbox() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        guichet_aspsp::BankProfile::sandbox_banks(),
        Mode::Production,
    )
    .await;
    let store = &app.state().store;
    let _ = store
        .seed_sandbox(&["17515"], jiff::civil::date(2026, 11, 24), 0)
        .await;
    let _ = store.set_meta("mode", "sandbox").await;
    let token = app.token(CE, "CLAIRE", &["aisp"]).await;
    let balances_url = app.url(CE, "/accounts/CPT1/balances");
    let moved = app.get(CE, "/accounts", &token).tamper(move |r| {
        if let Ok(url) = reqwest::Url::parse(&balances_url) {
            *r.url_mut() = url;
        }
    });
    let error = expect_error(moved, 400, "does not verify").await;
    assert!(error.get("signingString").is_none(), "{error}");
}

on_both_backends! {
    // keyId: the URL with the SHA-256 or 40-hex fingerprint, and SN=<serial>,CA=<issuer>.
    async fn every_key_id_form_of_the_portal_is_accepted(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let seal = Psd2Certificate::from_pem(&std::fs::read(&the_pki().sandbox.demo.qseal).unwrap_or_default());
        let Ok(seal) = seal else { panic!("demo QSealC") };
        for key_id in [
            format!("https://tpp.example/qseal.pem_{}", seal.sha1),
            format!("SN={},CA={}", seal.serial_hex.to_uppercase(), seal.issuer),
        ] {
            let key = SigningKey::from_pem(&std::fs::read(&the_pki().sandbox.demo.qseal_key).unwrap_or_default());
            let Ok(key) = key else { panic!("demo key") };
            let signer = Signer { key_id: key_id.clone(), key };
            let mut tpp = app.tpp.clone();
            tpp.signer = Arc::new(signer);
            let response = send(app.get(CE, "/accounts", &token).signed_by(&tpp)).await;
            assert_eq!(response.status().as_u16(), 200, "{key_id}");
        }
    }
}

on_both_backends! {
    // A QSealC of another organisation than the QWAC: refused at registration, and at
    // signature time should one be in the store.
    async fn qwac_and_qseal_of_different_organisations_are_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let mismatch = tpp(MISMATCH);
        let client = mismatch.http_client(&the_pki().sandbox.ca_file).unwrap_or_default();
        let refused = guichet_tpp::register(&client, &app.origin(CE), &mismatch, "Mismatch", &[], &[]).await;
        match refused {
            Err(guichet_tpp::TransportError::Refused { status, message }) => {
                assert_eq!(status, 400);
                assert!(message.contains("belongs to PSDFR-ACPR-ELSEWHERE"), "{message}");
            }
            other => panic!("accepted: {other:?}"),
        }
        let seal = &mismatch.qseal;
        let record = QsealRecord { sha256: seal.sha256.clone(), sha1: seal.sha1.clone(), serial: seal.serial_hex.clone(), issuer: seal.issuer.clone(), not_after: seal.not_after, pem: mismatch.qseal_pem.clone() };
        assert!(app.state().store.add_qseal("PSDFR-ACPR-MISMATCH", &record).await.is_ok());
        let token = app.token_for(CE, "CLAIRE", &["aisp"], &mismatch).await;
        expect_error(app.as_tpp(&mismatch, Method::GET, CE, "/accounts", &token), 400, "the QSealC belongs to PSDFR-ACPR-ELSEWHERE").await;
    }
}

on_both_backends! {
    // The portal's "API Register": register, read, update, remove a QSealC.
    async fn a_tpp_registers_with_its_qwac(backend) {
        let app = TestApp::spawn(backend).await;
        let other = tpp(OTHER);
        let client = other.http_client(&the_pki().sandbox.ca_file).unwrap_or_default();
        let uris = vec!["https://tpp.example/callback".to_owned()];
        let answer = guichet_tpp::register(&client, &app.origin(BTP), &other, "Other TPP", &["ops@tpp.example".into()], &uris).await;
        let Ok(answer) = answer else { panic!("registration refused: {answer:?}") };
        assert_eq!(answer.client_id, "PSDBE-NBB-0123456789");
        assert_eq!(answer.redirect_uris, uris);
        assert_eq!(answer.qseal_certificates.len(), 1);
        let read = client.get(format!("{}/register", app.origin(BTP))).header("X-Request-ID", "r1").send().await;
        let Ok(read) = read else { panic!("GET /register") };
        assert_eq!(read.status().as_u16(), 200);
        let value: serde_json::Value = read.json().await.unwrap_or_default();
        assert_eq!(value["client_name"], "Other TPP");
        let bad_uri = client
            .post(format!("{}/register", app.origin(BTP)))
            .header("X-Request-ID", "r2")
            .json(&json!({"client_name": "x", "redirect_uris": ["http://evil.example/cb"]}))
            .send()
            .await;
        let Ok(bad_uri) = bad_uri else { panic!("POST /register") };
        assert_eq!(bad_uri.status().as_u16(), 400);
        let sha = answer.qseal_certificates[0].sha256.clone();
        let removed = client.delete(format!("{}/register/qseals/{sha}", app.origin(BTP))).header("X-Request-ID", "r3").send().await;
        let Ok(removed) = removed else { panic!("DELETE") };
        assert_eq!(removed.status().as_u16(), 200);
        let value: serde_json::Value = removed.json().await.unwrap_or_default();
        assert_eq!(value["qseal_certificates"], json!([]));
        let token = app.token_for(BTP, "GEORGES", &["aisp"], &other).await;
        expect_error(app.as_tpp(&other, Method::GET, BTP, "/accounts", &token), 400, "unknown keyId").await;
        let anonymous = anonymous_client().get(format!("{}/register", app.origin(BTP))).header("X-Request-ID", "r4").send().await;
        assert_eq!(anonymous.map(|r| r.status().as_u16()).unwrap_or_default(), 401);
    }
}

fn openssl(args: &[&str], input: Option<&std::path::Path>) -> std::process::Output {
    let mut command = Command::new("openssl");
    command.args(args);
    if let Some(path) = input {
        command.arg(path);
    }
    match command.output() {
        Ok(output) => output,
        Err(e) => panic!("openssl: {e}"),
    }
}

on_both_backends! {
    // Interoperability: a request signed by openssl verifies at the bank; a signature made by
    // Guichet verifies with openssl.
    async fn signatures_interoperate_with_openssl(backend) {
        use base64::Engine;
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let dir = std::env::temp_dir().join(format!("guichet-interop-{}-{:?}", std::process::id(), backend));
        let _ = std::fs::create_dir_all(&dir);
        let demo = &the_pki().sandbox.demo;
        let digest = guichet_httpsig::digest_header(b"");
        let text = format!("(request-target): get /stet/psd2/v1.4.2/accounts\ndigest: {digest}\nx-request-id: openssl-1\npsu-ip-address: 192.0.2.10");
        std::fs::write(dir.join("signing.txt"), &text).unwrap_or_default();
        let signed = openssl(&["dgst", "-sha256", "-sign", demo.qseal_key.to_str().unwrap_or_default(), "-out", dir.join("sig.bin").to_str().unwrap_or_default()], Some(&dir.join("signing.txt")));
        assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
        let signature = base64::engine::general_purpose::STANDARD.encode(std::fs::read(dir.join("sig.bin")).unwrap_or_default());
        let header = format!("keyId=\"https://tpp.example/qseal.pem_{}\",algorithm=\"rsa-sha256\",headers=\"(request-target) digest x-request-id psu-ip-address\",signature=\"{signature}\"", app.tpp.qseal.sha256);
        let response = send(
            app.raw(Method::GET, CE, "/accounts")
                .unsigned()
                .bearer_auth(&token)
                .header("X-Request-ID", "openssl-1")
                .header("PSU-IP-Address", "192.0.2.10")
                .header("Digest", &digest)
                .header("Signature", &header),
        )
        .await;
        assert_eq!(response.status().as_u16(), 200, "a request signed by openssl verifies");

        let ours = app.tpp.signer.sign(Some(("GET", "/stet/psd2/v1.4.2/accounts")), &[("x-request-id".to_owned(), "r".to_owned())]);
        let Ok(ours) = ours else { panic!("signing") };
        let parsed = SignatureHeader::parse(&ours);
        let Ok(parsed) = parsed else { panic!("parse") };
        std::fs::write(dir.join("ours.txt"), "(request-target): get /stet/psd2/v1.4.2/accounts\nx-request-id: r").unwrap_or_default();
        std::fs::write(dir.join("ours.sig"), &parsed.signature).unwrap_or_default();
        let public = openssl(&["x509", "-pubkey", "-noout", "-in", demo.qseal.to_str().unwrap_or_default()], None);
        std::fs::write(dir.join("pub.pem"), &public.stdout).unwrap_or_default();
        let verified = openssl(&["dgst", "-sha256", "-verify", dir.join("pub.pem").to_str().unwrap_or_default(), "-signature", dir.join("ours.sig").to_str().unwrap_or_default()], Some(&dir.join("ours.txt")));
        assert!(String::from_utf8_lossy(&verified.stdout).contains("Verified OK"), "{}", String::from_utf8_lossy(&verified.stderr));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

on_both_backends! {
    // STET CR199: the bank signs its CBPII answers with its QSealC.
    async fn funds_confirmations_are_signed_by_the_bank(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["cbpii"]).await;
        let body = json!({"paymentCoverageRequestId": "c1", "instructedAmount": {"currency": "EUR", "amount": "1"}, "accountId": {"iban": CLAIRE_FULL}});
        let response = send(app.request(Method::POST, CE, "/funds-confirmations", &token).json(&body)).await;
        assert_eq!(response.status().as_u16(), 200);
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let (digest, signature, request_id) = (header("digest"), header("signature"), header("x-request-id"));
        let bytes = response.bytes().await.unwrap_or_default();
        assert_eq!(guichet_httpsig::check_digest(&digest, &bytes), Ok(()));
        let parsed = SignatureHeader::parse(&signature);
        let Ok(parsed) = parsed else { panic!("{signature}") };
        assert_eq!(parsed.headers, ["digest", "x-request-id"]);
        let seal = Psd2Certificate::from_pem(&std::fs::read(the_pki().dir.join("banks/17515/qseal.pem")).unwrap_or_default());
        let Ok(seal) = seal else { panic!("bank QSealC") };
        assert!(parsed.key_id.ends_with(&seal.sha256));
        let lines = vec![("digest".to_owned(), digest), ("x-request-id".to_owned(), request_id)];
        let text = signing_string("", "", &parsed.headers, lines.as_slice()).unwrap_or_default();
        let key: &VerifyingKey = &seal.public_key;
        assert_eq!(key.verify(&parsed, &text), Ok(()));
    }
}

/// An independent TLS client: openssl completes the mutual-TLS handshake with the demo QWAC
/// (its parser is stricter than rustls' about the CertificateRequest).
#[tokio::test]
async fn openssl_clients_complete_the_mutual_tls_handshake() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let origin = app.origin(CE);
    let address = origin.trim_start_matches("https://").to_owned();
    let demo = the_pki().sandbox.demo.clone();
    let ca = the_pki().sandbox.ca_file.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &address,
                "-verify_return_error",
                "-brief",
                "-CAfile",
            ])
            .arg(&ca)
            .arg("-cert")
            .arg(&demo.qwac)
            .arg("-key")
            .arg(&demo.qwac_key)
            .stdin(std::process::Stdio::null())
            .output()
    })
    .await;
    let Ok(Ok(output)) = output else {
        panic!("openssl s_client did not run")
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("CONNECTION ESTABLISHED"), "{text}");
    assert!(!text.contains("alert"), "{text}");
}

/// "A CRL the server reads": a QWAC revoked while the bank runs is refused on the next
/// connection once the trust list is re-read (the bank re-reads it when a CRL file changes).
#[tokio::test]
async fn a_qwac_revoked_while_the_bank_runs_is_refused() {
    let dir = std::env::temp_dir().join(format!("guichet-crl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let now = time::OffsetDateTime::from_unix_timestamp(1_795_514_400)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let banks = guichet_aspsp::BankProfile::sandbox_banks();
    let named: Vec<(&str, &str)> = banks
        .iter()
        .map(|b| (b.code.as_str(), b.name.as_str()))
        .collect();
    let pki = match guichet_aspsp::sandbox::prepare_pki_at(
        &dir,
        &named,
        Some("sandbox.guichet.test"),
        now,
    ) {
        Ok(pki) => pki,
        Err(e) => panic!("{e}"),
    };
    let app = TestApp::spawn_with_tls(Backend::Sqlite, banks, Mode::Sandbox, pki.tls.clone()).await;
    let mut qtsp = match guichet_eidas::pki::Qtsp::open_or_create_at(&dir, now) {
        Ok(qtsp) => qtsp,
        Err(e) => panic!("{e}"),
    };
    let request = guichet_eidas::pki::TppRequest::new(
        "PSDFR-ACPR-LATER",
        vec![guichet_eidas::Role::AccountInformation],
    );
    let issued = qtsp.issue_tpp(&request).unwrap_or_else(|e| panic!("{e}"));
    let files = DemoTppFiles::new(&dir.join("later"));
    issued
        .qwac
        .write(&files.qwac, &files.qwac_key)
        .unwrap_or_else(|e| panic!("{e}"));
    issued
        .qseal
        .write(&files.qseal, &files.qseal_key)
        .unwrap_or_else(|e| panic!("{e}"));
    let later = guichet_tpp::TppIdentity::from_files(
        &files.qwac,
        &files.qwac_key,
        &files.qseal,
        &files.qseal_key,
        "https://later/qseal.pem",
    );
    let Ok(later) = later else { panic!("identity") };
    let pem = std::fs::read_to_string(&files.qseal).unwrap_or_default();
    let _ =
        guichet_aspsp::sandbox::register_tpp(&app.state().store, "Later TPP", &[], &pem, 0).await;
    let token = app.token_for(CE, "CLAIRE", &["aisp"], &later).await;
    let client = later
        .http_client(&pki.ca_file)
        .unwrap_or_else(|e| panic!("{e}"));
    let call = || async {
        let mut request = client
            .get(app.url(CE, "/accounts"))
            .bearer_auth(&token)
            .header("X-Request-ID", "crl-1")
            .header("PSU-IP-Address", "192.0.2.1")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        guichet_tpp::sign_request(&mut request, &later.signer).unwrap_or_else(|e| panic!("{e}"));
        // A new connection each time: the certificate is checked per connection.
        let fresh = later
            .http_client(&pki.ca_file)
            .unwrap_or_else(|e| panic!("{e}"));
        fresh
            .execute(request)
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(call().await, 200);
    qtsp.revoke(&issued.qwac.serial_hex)
        .unwrap_or_else(|e| panic!("{e}"));
    // The CRL file's modification time moved; the housekeeping pass re-reads it.
    assert!(matches!(app.state().security.refresh_trust(), Ok(true)));
    assert_eq!(call().await, 401, "the revoked QWAC is refused");
    let _ = std::fs::remove_dir_all(&dir);
}

struct DemoTppFiles {
    qwac: std::path::PathBuf,
    qwac_key: std::path::PathBuf,
    qseal: std::path::PathBuf,
    qseal_key: std::path::PathBuf,
}

impl DemoTppFiles {
    fn new(dir: &std::path::Path) -> DemoTppFiles {
        DemoTppFiles {
            qwac: dir.join("qwac.pem"),
            qwac_key: dir.join("qwac.key"),
            qseal: dir.join("qseal.pem"),
            qseal_key: dir.join("qseal.key"),
        }
    }
}

on_both_backends! {
    // Each instance keeps the QSealCs it has seen; another instance may remove one or add one
    // at any time. The removal is seen at the next request (the token's read confirms the
    // QSealC), an addition at once (a keyId the cache lacks is looked up afresh).
    async fn qseals_changed_by_another_instance_are_seen_at_the_next_request(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let get = || app.get(CE, "/accounts", &token);
        assert_eq!(send(get()).await.status().as_u16(), 200, "the demo QSealC is cached now");
        let other_instance = match guichet_store::Store::connect(&app.db.url, 1).await {
            Ok(store) => store,
            Err(e) => panic!("{e}"),
        };
        let demo = guichet_aspsp::sandbox::DEMO_TPP_CLIENT_ID;
        let registered = other_instance.qseals(demo).await.unwrap_or_default();
        assert_eq!(registered.len(), 1);
        let removed = other_instance.remove_qseal(demo, &registered[0].sha256).await;
        assert!(matches!(removed, Ok(true)), "{removed:?}");
        expect_error(get(), 400, "no longer registered").await;
        expect_error(get(), 400, "unknown keyId").await;
        let added = other_instance.add_qseal(demo, &registered[0]).await;
        assert!(added.is_ok(), "{added:?}");
        assert_eq!(send(get()).await.status().as_u16(), 200, "the QSealC added elsewhere is found");
        other_instance.close().await;
    }
}
