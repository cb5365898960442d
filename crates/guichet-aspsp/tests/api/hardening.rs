//! Hardening of the API edge and of the OAuth2 server: request-head and body limits answered
//! with ErrorModels, the X-Request-ID echo whatever its bytes, the rate-limit headers of a
//! refused batch call, refresh-token revocation (portal step 4, RFC 9700 §4.14.2), the QWAC role
//! checked at /authorize, Digest optional without a body, a QWAC expiring on an open connection,
//! a token revoked while calls are in flight.

use guichet_eidas::Psd2Certificate;
use guichet_store::on_both_backends;
use reqwest::Method;
use serde_json::{Value, json};

use crate::flow::*;
use crate::helpers::*;

const PSU_IP: &str = "192.0.2.10";

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

/// A signed request of the demo TPP with the PSU present and a known X-Request-ID.
fn with_id(app: &TestApp, method: Method, path: &str, token: &str, id: &str) -> Req {
    app.raw(method, CE, path)
        .header("X-Request-ID", id)
        .header("PSU-IP-Address", PSU_IP)
        .bearer_auth(token)
}

/// Expects an ErrorModel with this status, `id` echoed in X-Request-ID and `needle` in the
/// message; answers the ErrorModel.
async fn expect_echoed(request: Req, status: u16, id: &str, needle: &str) -> Value {
    let response = send(request).await;
    assert_eq!(response.status().as_u16(), status, "status");
    let echoed = response
        .headers()
        .get("x-request-id")
        .map(|v| v.as_bytes().to_vec());
    assert_eq!(
        echoed.as_deref(),
        Some(id.as_bytes()),
        "X-Request-ID echoed"
    );
    let value = body(response).await;
    assert_eq!(value["status"], status, "{value}");
    assert!(
        value["timestamp"].is_string() && value["path"].is_string() && value["error"].is_string(),
        "{value}"
    );
    let message = text(&value, "message");
    assert!(
        message.contains(needle),
        "message {message:?} lacks {needle:?}"
    );
    value
}

on_both_backends! {
    // README, "Security": at most 100 header fields, 16 KiB a field, 64 KiB of header block and
    // 64 KiB of body; beyond, a 431 or a 413 ErrorModel with X-Request-ID echoed, up to the
    // parser's own limit of 1 MiB.
    async fn oversized_request_heads_and_bodies_get_error_models_with_the_request_id(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let fine = send(with_id(&app, Method::GET, "/accounts", &token, "fine-1")).await;
        assert_eq!(fine.status().as_u16(), 200);

        let mut many = with_id(&app, Method::GET, "/accounts", &token, "many-headers");
        for i in 0..120 {
            many = many.header(&format!("x-extra-{i:03}"), "v");
        }
        expect_echoed(many, 431, "many-headers", "header fields").await;

        let big = with_id(&app, Method::GET, "/accounts", &token, "big-header").header("x-big", "a".repeat(300 * 1024));
        expect_echoed(big, 431, "big-header", "x-big").await;

        let huge = with_id(&app, Method::GET, "/accounts", &token, "huge-header").header("x-huge", "a".repeat(500 * 1024));
        expect_echoed(huge, 431, "huge-header", "x-huge").await;

        let big_body = with_id(&app, Method::PUT, "/consents", &token, "big-body")
            .header("content-type", "application/json")
            .body(vec![b' '; 100 * 1024]);
        let error = expect_echoed(big_body, 413, "big-body", "larger than 64 KiB").await;
        assert_eq!(error["error"], "Payload Too Large", "not a 400: {error}");
    }
}

on_both_backends! {
    // The echo is the value as received, whatever its bytes; the value itself is refused.
    async fn a_non_ascii_request_id_is_refused_and_echoed_as_received(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let request = app.get(CE, "/accounts", &token).tamper(|r| {
            if let Ok(value) = reqwest::header::HeaderValue::from_bytes("req-é".as_bytes()) {
                r.headers_mut().insert("x-request-id", value);
            }
        });
        let error = expect_echoed(request, 400, "req-é", "X-Request-ID").await;
        assert_eq!(error["path"], "/stet/psd2/v1.4.2/accounts", "{error}");
    }
}

on_both_backends! {
    // Portal, Limits: the refused batch call carries the same X-RateLimit-* headers as the
    // counted ones, with nothing remaining, and Retry-After.
    async fn a_refused_batch_call_carries_the_rate_limit_headers(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        app.consent_all(CE, "LEA", &token).await;
        let path = format!("/accounts/{}/transactions", account_id(CE, "LEA"));
        for i in 0..4 {
            let response = send(app.batch_request(Method::GET, CE, &path, &token)).await;
            assert_eq!(response.status().as_u16(), 200, "call {i}");
        }
        let refused = send(app.batch_request(Method::GET, CE, &path, &token)).await;
        assert_eq!(refused.status().as_u16(), 429);
        let header = |name: &str| {
            refused
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(header("x-ratelimit-limit").as_deref(), Some("4"));
        assert_eq!(header("x-ratelimit-remaining").as_deref(), Some("0"));
        let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok()).unwrap_or_default();
        assert!(reset > 0, "X-RateLimit-Reset: {reset}");
        let retry = header("retry-after").and_then(|v| v.parse::<i64>().ok()).unwrap_or_default();
        assert_eq!(retry, reset, "Retry-After and X-RateLimit-Reset name the same midnight");
        let value = body(refused).await;
        assert_eq!(value["status"], 429, "{value}");
    }
}

/// The refresh grant at the token endpoint: the status and the body.
async fn refresh(app: &TestApp, refresh_token: &str) -> (u16, Value) {
    let (status, _, body) = token_request(
        app,
        CE,
        "token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "PSDFR-ACPR-12345"),
        ],
        &[],
    )
    .await;
    (status, body)
}

/// A token pair of CLAIRE for the demo TPP through the real flow: authorize, SCA, code.
async fn pair(app: &TestApp, scope: &str) -> (String, String) {
    let code = code_for(app, CE, "CLAIRE", scope, None).await;
    let (status, body) = exchange(app, CE, &code, None).await;
    assert_eq!(status, 200, "{body}");
    let (access, refresh) = (text(&body, "access_token"), text(&body, "refresh_token"));
    assert!(!access.is_empty() && !refresh.is_empty(), "{body}");
    (access, refresh)
}

on_both_backends! {
    // Portal, "Refresh your token", step 4: the bank revokes the refresh token "after reject of
    // a request for insufficient scope, in order to allow the AISP to request another token
    // with the desired scope".
    async fn a_refusal_for_insufficient_scope_revokes_the_refresh_token(backend) {
        let app = TestApp::spawn(backend).await;
        let (access, refresh_token) = pair(&app, "cbpii").await;
        let refused = expect_error(app.get(CE, "/accounts", &access), 403, "aisp").await;
        assert_eq!(refused["error"], "insufficient_scope", "{refused}");
        let (status, answer) = refresh(&app, &refresh_token).await;
        assert_eq!((status, text(&answer, "error")), (400, "invalid_grant".to_owned()), "{answer}");
    }
}

on_both_backends! {
    // RFC 9700 §4.14.2: a rotated refresh token presented again tells of a leak; the whole
    // grant goes, the newer pair included.
    async fn a_reused_refresh_token_revokes_the_whole_grant(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, old_refresh) = pair(&app, "aisp").await;
        let (status, renewed) = refresh(&app, &old_refresh).await;
        assert_eq!(status, 200, "{renewed}");
        let (new_access, new_refresh) = (text(&renewed, "access_token"), text(&renewed, "refresh_token"));
        assert_eq!(send(app.get(CE, "/accounts", &new_access)).await.status().as_u16(), 200, "the new pair works");

        let (status, reused) = refresh(&app, &old_refresh).await;
        assert_eq!((status, text(&reused, "error")), (400, "invalid_grant".to_owned()), "{reused}");
        let error = expect_error(app.get(CE, "/accounts", &new_access), 401, "revoked").await;
        assert_eq!(error["error"], "invalid_token", "{error}");
        let (status, answer) = refresh(&app, &new_refresh).await;
        assert_eq!((status, text(&answer, "error")), (400, "invalid_grant".to_owned()), "{answer}");
    }
}

on_both_backends! {
    // eIDAS notes §1.5: the registered QWAC's PSD2 roles are checked before the PSU is sent
    // through SCA: an AI-only TPP asking cbpii goes back with invalid_scope, no login page.
    async fn authorize_refuses_a_scope_the_registered_qwac_role_does_not_allow(backend) {
        let app = TestApp::spawn(backend).await;
        let as_ai_only = |scope: &str| query(scope, "role", None).replace("PSDFR-ACPR-12345", "PSDFR-ACPR-AIONLY");
        let (_, refused) = Journey::open(&app, CE, &as_ai_only("cbpii")).await;
        assert_eq!(refused.status, 303, "{}", refused.html);
        assert!(refused.location.as_deref().unwrap_or_default().starts_with(REDIRECT), "{:?}", refused.location);
        assert_eq!(refused.param("error").as_deref(), Some("invalid_scope"));
        assert_eq!(refused.param("state").as_deref(), Some("role"));
        assert!(refused.param("error_description").unwrap_or_default().contains("PSP_IC"), "{:?}", refused.location);
        assert!(refused.csrf().is_empty(), "no login page");

        let (_, login) = Journey::open(&app, CE, &as_ai_only("aisp")).await;
        assert_eq!(login.status, 200, "{}", login.html);
        assert!(login.html.contains("id=\"login-form\""), "{}", login.html);
        assert!(login.html.contains("PSDFR-ACPR-AIONLY"), "{}", login.html);
    }
}

on_both_backends! {
    // Portal: Digest is "not mandatory" for a request without a body; with a body it is
    // required and signed, and a Digest sent anyway must be signed.
    async fn digest_is_optional_without_a_body_and_must_be_signed_when_sent(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let sign = |method: &str, path: &str, id: &str| {
            let lines = [
                ("x-request-id".to_owned(), id.to_owned()),
                ("psu-ip-address".to_owned(), PSU_IP.to_owned()),
            ];
            match app.tpp.signer.sign(Some((method, path)), &lines) {
                Ok(signature) => signature,
                Err(e) => panic!("signing: {e}"),
            }
        };
        let by_hand = |method: Method, path: &str, id: &str, signature: &str| {
            app.raw(method, CE, path)
                .unsigned()
                .bearer_auth(&token)
                .header("X-Request-ID", id)
                .header("PSU-IP-Address", PSU_IP)
                .header("Signature", signature)
        };

        let signature = sign("GET", "/stet/psd2/v1.4.2/accounts", "no-digest-1");
        let response = send(by_hand(Method::GET, "/accounts", "no-digest-1", &signature)).await;
        let status = response.status().as_u16();
        let value = body(response).await;
        assert_eq!(status, 200, "a bodiless request without Digest: {value}");

        let signature = sign("GET", "/stet/psd2/v1.4.2/accounts", "no-digest-2");
        let unsigned_digest = by_hand(Method::GET, "/accounts", "no-digest-2", &signature)
            .header("Digest", guichet_httpsig::digest_header(b""));
        expect_error(unsigned_digest, 400, "'digest' must be in the signed headers list").await;

        let consent = json!({"balances": [], "transactions": [], "psuIdentity": false, "trustedBeneficiaries": false});
        let without_digest = app
            .request(Method::PUT, CE, "/consents", &token)
            .json(&consent)
            .tamper(|r| {
                r.headers_mut().remove("digest");
            });
        expect_error(without_digest, 400, "Digest").await;

        let signature = sign("PUT", "/stet/psd2/v1.4.2/consents", "no-digest-3");
        let body_unsigned = by_hand(Method::PUT, "/consents", "no-digest-3", &signature)
            .header("content-type", "application/json")
            .body(consent.to_string());
        expect_error(body_unsigned, 400, "'digest' must be in the signed headers list").await;
    }
}

on_both_backends! {
    // A QWAC that expires while a kept-alive connection is open is refused at the connection's
    // next request: the certificate is checked again, not only at the handshake.
    async fn a_qwac_that_expires_on_an_open_connection_is_refused_at_its_next_request(backend) {
        let app = TestApp::spawn(backend).await;
        let qwac = Psd2Certificate::from_pem(&std::fs::read(&crate::pki::pki().sandbox.demo.qwac).unwrap_or_default());
        let qwac = match qwac {
            Ok(qwac) => qwac,
            Err(e) => panic!("the demo QWAC: {e}"),
        };
        // A token that outlives the QWAC, so that only the certificate can refuse the call.
        let now = app.clock_now();
        let lifetime = qwac.not_after - now + 86_400;
        let minted = guichet_aspsp::sandbox::mint_token(&app.state().store, CE, "CLAIRE", &app.tpp.qwac, &["aisp".to_owned()], now, lifetime).await;
        let token = match minted {
            Ok((secret, _)) => secret.expose().to_owned(),
            Err(e) => panic!("minting: {e}"),
        };
        let first = send(app.get(CE, "/accounts", &token)).await;
        assert_eq!(first.status().as_u16(), 200);
        // Read to the end, so that the connection goes back to the client's pool.
        let _ = first.bytes().await;

        let after = match jiff::Timestamp::from_second(qwac.not_after + 1) {
            Ok(after) => after,
            Err(e) => panic!("{e}"),
        };
        app.clock.set(after);
        let error = expect_error(app.get(CE, "/accounts", &token), 401, "certificate has expired").await;
        assert_ne!(error["error"], "invalid_token", "the certificate refuses, not the token: {error}");
    }
}

/// One TLS connection presenting the demo TPP's QWAC, speaking HTTP/1.1: every request sent
/// on it goes over that same connection (no pool that could open another).
async fn one_connection(
    app: &TestApp,
    bank: &str,
) -> hyper::client::conn::http1::SendRequest<http_body_util::Full<axum::body::Bytes>> {
    use rustls_pki_types::pem::PemObject;
    let demo = &crate::pki::pki().sandbox.demo;
    let chain: Vec<rustls_pki_types::CertificateDer<'static>> =
        rustls_pki_types::CertificateDer::pem_file_iter(&demo.qwac)
            .map(|certs| certs.filter_map(Result::ok).collect())
            .unwrap_or_default();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(&demo.qwac_key)
        .unwrap_or_else(|e| panic!("{e}"));
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_root_certificates(crate::flow::sandbox_roots())
                .with_client_auth_cert(chain, key)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let origin = app.origin(bank);
    let address: std::net::SocketAddr = origin
        .trim_start_matches("https://")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(
            rustls_pki_types::ServerName::IpAddress(address.ip().into()),
            tcp,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(connection);
    sender
}

/// Sends a signed GET /accounts on that connection; answers the status and the body.
async fn signed_get_on(
    sender: &mut hyper::client::conn::http1::SendRequest<http_body_util::Full<axum::body::Bytes>>,
    app: &TestApp,
    token: &str,
    id: &str,
) -> (u16, String) {
    use http_body_util::BodyExt;
    let mut request = app
        .client
        .get(app.url(CE, "/accounts"))
        .bearer_auth(token)
        .header("X-Request-ID", id)
        .header("PSU-IP-Address", "192.0.2.10")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    guichet_tpp::sign_request(&mut request, &app.tpp.signer).unwrap_or_else(|e| panic!("{e}"));
    let mut builder = hyper::Request::get(request.url().path());
    for (name, value) in request.headers() {
        builder = builder.header(name, value);
    }
    let host = request.url().host_str().unwrap_or("127.0.0.1").to_owned();
    let request = builder
        .header("host", host)
        .body(http_body_util::Full::new(axum::body::Bytes::new()))
        .unwrap_or_else(|e| panic!("{e}"));
    sender
        .ready()
        .await
        .unwrap_or_else(|e| panic!("the connection closed: {e}"));
    let response = sender
        .send_request(request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    (status, body)
}

on_both_backends! {
    // Issue #8: the QWAC is checked again at each request of a kept-alive connection: the
    // second request, on the very same connection, is refused once the certificate expired.
    async fn a_qwac_expiring_mid_connection_is_refused_on_that_same_connection(backend) {
        let app = TestApp::spawn(backend).await;
        let qwac = Psd2Certificate::from_pem(&std::fs::read(&crate::pki::pki().sandbox.demo.qwac).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        let now = app.clock_now();
        let minted = guichet_aspsp::sandbox::mint_token(&app.state().store, CE, "CLAIRE", &app.tpp.qwac, &["aisp".to_owned()], now, qwac.not_after - now + 86_400).await;
        let token = minted.map(|(secret, _)| secret.expose().to_owned()).unwrap_or_else(|e| panic!("{e}"));
        let mut connection = one_connection(&app, CE).await;
        let (status, body) = signed_get_on(&mut connection, &app, &token, "same-1").await;
        assert_eq!(status, 200, "{body}");
        app.clock.set(jiff::Timestamp::from_second(qwac.not_after + 1).unwrap_or_else(|e| panic!("{e}")));
        let (status, body) = signed_get_on(&mut connection, &app, &token, "same-2").await;
        assert_eq!(status, 401, "{body}");
        assert!(body.contains("expired"), "{body}");
    }
}

on_both_backends! {
    /// A token revoked while calls are in flight: every call sent after the revocation
    /// returned is refused, on PostgreSQL too, where concurrent calls share their token's
    /// query (guichet-store's access_batch): a read waiting for a query is read by one that
    /// starts after it was asked for.
    async fn a_token_revoked_under_load_is_refused_by_every_later_call(backend) {
        use guichet_store::{TokenKind, TokenSecret};
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let store = app.state().store.clone();
        let found = store.find_token(&TokenSecret::from_presented(&token), TokenKind::Access, CE).await;
        let Ok(Some(record)) = found else { panic!("the token: {found:?}") };
        let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let calls: Vec<Req> = (0..30)
                .map(|_| app.get(CE, "/accounts", &token).header("PSU-IP-Address", PSU_IP))
                .collect();
            let answered = answered.clone();
            callers.spawn(async move {
                let mut seen = Vec::new();
                for call in calls {
                    let sent = std::time::Instant::now();
                    seen.push((sent, send(call).await.status().as_u16()));
                    answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                seen
            });
        }
        // The revocation once 40 of the 240 calls are answered, the others in flight or to come.
        while answered.load(std::sync::atomic::Ordering::Relaxed) < 40 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let revoked = store.revoke_family(&record.family_id, 1).await;
        assert!(revoked.is_ok_and(|n| n >= 1), "the token is revoked");
        let revoked = std::time::Instant::now();
        let mut seen = Vec::new();
        while let Some(calls) = callers.join_next().await {
            seen.extend(calls.unwrap_or_else(|e| panic!("{e}")));
        }
        let before: Vec<u16> = seen.iter().filter(|(sent, _)| *sent < revoked).map(|(_, s)| *s).collect();
        let after: Vec<u16> = seen.iter().filter(|(sent, _)| *sent > revoked).map(|(_, s)| *s).collect();
        assert!(before.contains(&200), "calls answered before the revocation: {before:?}");
        assert!(after.len() >= 80, "calls sent after the revocation: {after:?}");
        assert!(after.iter().all(|s| *s == 401), "after the revocation: {after:?}");
        if backend == guichet_store::Backend::Postgres {
            let (reads, queries) = store.batched_token_reads();
            assert!(queries < reads, "the calls shared queries: {reads} reads, {queries} queries");
        }
    }
}
