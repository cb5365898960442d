//! Frequency limits. Portal, Limits: without PSU-IP-Address, 4 calls per calendar day per TPP,
//! bank, PSU, IBAN and AIS method; /transactions with or without dates is one method.

use guichet_store::on_both_backends;
use reqwest::Method;

use crate::helpers::*;

on_both_backends! {
    async fn the_fifth_batch_call_of_the_day_is_429(backend) {
        let mut app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        app.consent_all(CE, "LEA", &token).await;
        let path = format!("/accounts/{}/transactions", account_id(CE, "LEA"));
        let with_dates = format!("{path}?dateFrom=2026-11-01T00:00:00.000");
        let mut remaining = Vec::new();
        for (i, p) in [&path, &with_dates, &path, &with_dates].into_iter().enumerate() {
            let response = send(app.batch_request(Method::GET, CE, p, &token)).await;
            assert_eq!(response.status().as_u16(), 200, "call {i}");
            assert_eq!(response.headers()["x-ratelimit-limit"], "4");
            // 13 hours from 11:00 to midnight in Paris.
            assert_eq!(response.headers()["x-ratelimit-reset"], "46800");
            remaining.push(response.headers()["x-ratelimit-remaining"].to_str().unwrap_or_default().to_owned());
        }
        assert_eq!(remaining, ["3", "2", "1", "0"]);
        let refused = send(app.batch_request(Method::GET, CE, &path, &token)).await;
        assert_eq!(refused.status().as_u16(), 429);
        assert_eq!(refused.headers()["retry-after"], "46800");
        assert!(refused.headers().get("x-request-id").is_some());
        let value = body(refused).await;
        assert_eq!(value["status"], 429);
        // The PSU present: no limit.
        let interactive = send(app.get(CE, &path, &token)).await;
        assert_eq!(interactive.status().as_u16(), 200);
        assert!(interactive.headers().get("x-ratelimit-remaining").is_none());
        // Other methods and other TPPs have their own counters.
        let balances = send(app.batch_request(Method::GET, CE, &format!("/accounts/{}/balances", account_id(CE, "LEA")), &token)).await;
        assert_eq!(balances.status().as_u16(), 200);
        let other = identity(&the_pki().tpp(crate::pki::OTHER));
        let other_token = app.token_for(CE, "LEA", &["aisp"], &other).await;
        let (iban, _) = accounts_of(CE, "LEA").remove(0);
        let consent = serde_json::json!({"balances": [], "transactions": [{"iban": iban}], "psuIdentity": false, "trustedBeneficiaries": false});
        let put = send(app.as_tpp(&other, Method::PUT, CE, "/consents", &other_token).json(&consent)).await;
        assert_eq!(put.status().as_u16(), 201);
        assert_eq!(send(app.as_tpp(&other, Method::GET, CE, &path, &other_token)).await.status().as_u16(), 200);
        // The counters live in the database: a restart does not reset them.
        app.restart().await;
        assert_eq!(send(app.batch_request(Method::GET, CE, &path, &token)).await.status().as_u16(), 429);
        // A new calendar day in Paris (23:00 UTC is midnight in November) resets them.
        app.clock.advance(jiff::SignedDuration::from_hours(13));
        let token = app.token(CE, "LEA", &["aisp"]).await;
        assert_eq!(send(app.batch_request(Method::GET, CE, &path, &token)).await.status().as_u16(), 200);
    }
}

on_both_backends! {
    // A refused request does not spend the allowance.
    async fn refused_requests_are_not_counted(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        for _ in 0..6 {
            let response = send(app.batch_request(Method::GET, CE, "/accounts/CPT08003580740/balances", &token)).await;
            assert_eq!(response.status().as_u16(), 403);
        }
        app.consent_all(CE, "CLAIRE", &token).await;
        let response = send(app.batch_request(Method::GET, CE, "/accounts/CPT08003580740/balances", &token)).await;
        assert_eq!(response.headers()["x-ratelimit-remaining"], "3");
    }
}
