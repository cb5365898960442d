//! What every request goes through: X-Request-ID, media types, tokens, banks, errors.

use guichet_aspsp::{BankProfile, Mode};
use guichet_store::on_both_backends;
use reqwest::Method;

use crate::helpers::*;

on_both_backends! {
    // STET: X-Request-ID is required, at most 70 characters, and comes back on every response.
    async fn the_request_id_is_required_checked_and_echoed(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let missing = app.raw(Method::GET, CE, "/accounts").bearer_auth(&token);
        expect_error(missing, 400, "X-Request-ID").await;
        let long = app.raw(Method::GET, CE, "/accounts").bearer_auth(&token).header("X-Request-ID", "r".repeat(71));
        expect_error(long, 400, "at most 70").await;
        let response = send(app.raw(Method::GET, CE, "/accounts").bearer_auth(&token).header("X-Request-ID", "r".repeat(70))).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["x-request-id"], "r".repeat(70).as_str());
        let refused = send(app.raw(Method::GET, CE, "/nowhere").header("X-Request-ID", "echo-me")).await;
        assert_eq!(refused.status().as_u16(), 404);
        assert_eq!(refused.headers()["x-request-id"], "echo-me");
    }
}

on_both_backends! {
    // Media types: HAL by default, plain JSON when asked, 406 otherwise.
    async fn content_negotiation(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let json = send(app.get(CE, "/accounts", &token).header("Accept", "application/json")).await;
        assert_eq!(json.headers()["content-type"], "application/json; charset=utf-8");
        let hal = send(app.get(CE, "/accounts", &token).header("Accept", "application/hal+json")).await;
        assert_eq!(hal.headers()["content-type"], "application/hal+json; charset=utf-8");
        let error = expect_error(app.get(CE, "/accounts", &token).header("Accept", "text/html"), 406, "application/hal+json").await;
        assert_eq!(error["error"], "Not Acceptable");
        let error_as_json = send(app.get(CE, "/accounts/CPT1/balances", &token).header("Accept", "application/json")).await;
        assert_eq!(error_as_json.headers()["content-type"], "application/json; charset=utf-8");
    }
}

on_both_backends! {
    // Portal: "If the access token is expired, the request will be rejected with HTTP401 with an
    // error equal to invalid_token."
    async fn missing_unknown_and_expired_tokens_are_401_invalid_token(backend) {
        let app = TestApp::spawn(backend).await;
        let no_token = app.raw(Method::GET, CE, "/accounts").header("X-Request-ID", "t");
        let error = expect_error(no_token, 401, "Bearer").await;
        assert_eq!(error["error"], "invalid_token");
        let response = send(app.get(CE, "/accounts", "not-a-token")).await;
        let challenge = response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(challenge.starts_with("Bearer error=\"invalid_token\""), "{challenge}");
        assert_eq!(response.status().as_u16(), 401);
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        assert_eq!(send(app.get(CE, "/accounts", &token)).await.status().as_u16(), 200);
        app.clock.advance(jiff::SignedDuration::from_mins(16));
        let expired = expect_error(app.get(CE, "/accounts", &token), 401, "expired").await;
        assert_eq!(expired["error"], "invalid_token");
    }
}

on_both_backends! {
    // "A PSU, token or consent of one bank is invisible to another."
    async fn banks_are_isolated(backend) {
        let app = TestApp::spawn(backend).await;
        let ce = app.token(CE, "GEORGES", &["aisp"]).await;
        app.consent_all(CE, "GEORGES", &ce).await;
        expect_error(app.get(BTP, "/accounts", &ce), 401, "unknown access token").await;
        let btp = app.token(BTP, "GEORGES", &["aisp"]).await;
        expect_error(app.get(BTP, &format!("/accounts/{}/balances", account_id(CE, "GEORGES")), &btp), 404, "not found").await;
        let accounts = ok_json(app.get(BTP, "/accounts", &btp)).await;
        assert_eq!(accounts["accounts"][0]["_links"], serde_json::json!({}), "the CE consent does not reach BTP Banque");
    }
}

on_both_backends! {
    // In production, banks are told apart by Host: www.<bankcode>.<domain>.
    async fn the_host_header_selects_the_bank(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let via_btp_port = app.get(BTP, "/accounts", &token).header("Host", "www.17515.sandbox.guichet.test");
        let value = ok_json(via_btp_port).await;
        assert_eq!(value["accounts"][0]["bicFi"], "CEPAFRPP751");
    }
}

on_both_backends! {
    // A bank whose profile enforces its weekly maintenance answers 503 then (Monday 03:00 in
    // Paris), with Retry-After.
    async fn the_maintenance_window_answers_503(backend) {
        let mut btp = BankProfile::btp_banque();
        btp.enforce_maintenance = Some(true);
        let app = TestApp::spawn_with(backend, vec![btp], Mode::Sandbox).await;
        let token = app.token(BTP, "GEORGES", &["aisp"]).await;
        assert_eq!(send(app.get(BTP, "/accounts", &token)).await.status().as_u16(), 200);
        if let Ok(monday) = "2026-11-30T02:00:00Z".parse() {
            app.clock.set(monday);
        }
        let response = send(app.get(BTP, "/accounts", &token)).await;
        assert_eq!(response.status().as_u16(), 503);
        assert_eq!(response.headers()["retry-after"], "10800");
        let refused = body(response).await;
        assert_eq!(refused["status"], 503, "an ErrorModel: {refused}");
        // The token endpoint and the PSU's pages close too, with the same Retry-After.
        let token_answer = app
            .client
            .post(format!("{}/stet/psd2/oauth/token", app.origin(BTP)))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("X-Request-ID", "maintenance-token")
            .body("grant_type=client_credentials&scope=cbpii&client_id=PSDFR-ACPR-12345")
            .send()
            .await;
        let Ok(token_answer) = token_answer else { panic!("token endpoint") };
        assert_eq!(token_answer.status().as_u16(), 503);
        assert_eq!(token_answer.headers()["retry-after"], "10800");
        assert_eq!(token_answer.headers()["x-request-id"], "maintenance-token");
        let page = crate::flow::browser()
            .get(format!("{}/stet/psd2/oauth/authorize?response_type=code", app.psu_origin(BTP)))
            .send()
            .await;
        let Ok(page) = page else { panic!("PSU pages") };
        assert_eq!(page.status().as_u16(), 503);
        assert_eq!(page.headers()["retry-after"], "10800");
        assert!(page.text().await.unwrap_or_default().contains("maintenance programmée"));
        // At 06:00 the bank is open again.
        if let Ok(open) = "2026-11-30T05:00:00Z".parse() {
            app.clock.set(open);
        }
        let fresh = app.token(BTP, "GEORGES", &["aisp"]).await;
        assert_eq!(send(app.get(BTP, "/accounts", &fresh)).await.status().as_u16(), 200);
    }
}

on_both_backends! {
    // Never a 500 and never a panic on hostile input: a battery of malformed requests.
    async fn malformed_requests_get_4xx_error_models(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "GEORGES", &["aisp"]).await;
        app.consent_all(CE, "GEORGES", &token).await;
        let id = account_id(CE, "GEORGES");
        let paths = [
            format!("/accounts/{id}/transactions?dateFrom=%00"),
            format!("/accounts/{id}/transactions?dateFrom=2026-11-01T00:00:00.000%2B99:99"),
            format!("/accounts/{id}/transactions?page=-1"),
            format!("/accounts/{id}/transactions?page=99999999999999999999"),
            format!("/accounts/{id}/transactions?&&&=&dateTo"),
            format!("/accounts/{id}/transactions?entryReferenceFrom={}", "9".repeat(41)),
            "/accounts/%FF%FE/balances".to_owned(),
            "/accounts/a;b/balances".to_owned(),
            "/accounts//balances".to_owned(),
        ];
        for path in paths {
            let response = send(app.get(CE, &path, &token)).await;
            let status = response.status().as_u16();
            assert!((400..500).contains(&status), "{path}: {status}");
            let value = body(response).await;
            assert_eq!(value["status"], status, "{path}");
        }
        let garbage = app.request(Method::PUT, CE, "/consents", &token).header("content-type", "application/json").body(vec![0xffu8; 10]);
        expect_error(garbage, 400, "JSON").await;
        let huge = app.request(Method::PUT, CE, "/consents", &token).header("content-type", "application/json").body(vec![b' '; 70 * 1024]);
        // Issue #8: a body over the limit is a 413 ErrorModel, not a 400.
        expect_error(huge, 413, "larger").await;
        let psu_ip = app.batch_request(Method::GET, CE, "/accounts", &token).header("PSU-IP-Address", "not-an-ip");
        expect_error(psu_ip, 400, "PSU-IP-Address").await;
    }
}

on_both_backends! {
    // Sandbox tokens are refused outside sandbox mode.
    async fn tokens_are_not_minted_in_production(backend) {
        let app = TestApp::spawn_with(backend, BankProfile::sandbox_banks(), Mode::Production).await;
        let minted = guichet_aspsp::sandbox::mint_token(&app.state().store, CE, "LEA", &app.tpp.qwac, &["aisp".into()], 0, 60).await;
        assert!(matches!(minted, Err(guichet_aspsp::sandbox::MintError::NotSandbox(_))));
        let psus = app.state().store.psus(CE).await.unwrap_or_default();
        assert!(psus.is_empty(), "no sandbox personas in production");
    }
}

on_both_backends! {
    // `--sandbox-maintenance`: the sandbox closes during the portal's Monday window as
    // production does (the built-in profiles carry it), /revoke included; without the flag it
    // stays open.
    async fn the_sandbox_closes_for_maintenance_only_when_asked(backend) {
        let mut app = TestApp::spawn(backend).await;
        if let Ok(monday) = "2026-11-30T02:00:00Z".parse() {
            app.clock.set(monday);
        }
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        assert_eq!(send(app.get(CE, "/accounts", &token)).await.status().as_u16(), 200, "open without the flag");
        app.sandbox_maintenance = true;
        app.restart().await;
        let closed = send(app.get(CE, "/accounts", &token)).await;
        assert_eq!(closed.status().as_u16(), 503);
        assert_eq!(closed.headers()["retry-after"], "10800");
        let revoke = app
            .client
            .post(format!("{}/stet/psd2/oauth/revoke", app.origin(CE)))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("X-Request-ID", "maintenance-revoke")
            .body(format!("client_id=PSDFR-ACPR-12345&token={token}"))
            .send()
            .await;
        let Ok(revoke) = revoke else { panic!("revoke endpoint") };
        assert_eq!(revoke.status().as_u16(), 503);
        assert_eq!(revoke.headers()["retry-after"], "10800");
    }
}
