//! POST /funds-confirmations (CBPII).

use guichet_store::on_both_backends;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

fn coverage(iban: &str, amount: &str) -> serde_json::Value {
    json!({"paymentCoverageRequestId": "MyCoverage123456", "payee": "Boulangerie", "instructedAmount": {"currency": "EUR", "amount": amount}, "accountId": {"iban": iban}})
}

on_both_backends! {
    async fn the_coverage_answer_echoes_the_request(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["cbpii"]).await;
        let covered = ok_json(app.request(Method::POST, CE, "/funds-confirmations", &token).json(&coverage(CLAIRE_FULL, "100.00"))).await;
        assert_eq!(covered["result"], true);
        assert_eq!(covered["request"], coverage(CLAIRE_FULL, "100.00"));
        assert_eq!(covered["_links"]["self"]["href"], "/stet/psd2/v1.4.2/funds-confirmations");
        let too_much = ok_json(app.request(Method::POST, CE, "/funds-confirmations", &token).json(&coverage(CLAIRE_FULL, "1000000"))).await;
        assert_eq!(too_much["result"], false);
        let empty = ok_json(app.request(Method::POST, CE, "/funds-confirmations", &token).json(&coverage(CLAIRE_EMPTY, "0.01"))).await;
        assert_eq!(empty["result"], false);
    }
}

on_both_backends! {
    async fn coverage_needs_the_cbpii_scope_and_a_valid_request(backend) {
        let app = TestApp::spawn(backend).await;
        let aisp = app.token(CE, "CLAIRE", &["aisp"]).await;
        expect_error(app.request(Method::POST, CE, "/funds-confirmations", &aisp).json(&coverage(CLAIRE_FULL, "1")), 403, "cbpii").await;
        let token = app.token(CE, "CLAIRE", &["cbpii"]).await;
        let post = || app.request(Method::POST, CE, "/funds-confirmations", &token);
        expect_error(post().json(&coverage(CLAIRE_FULL, "-5")), 400, "positive").await;
        expect_error(post().json(&coverage(CLAIRE_FULL, "1.1234567")), 400, "invalid").await;
        expect_error(post().json(&coverage("FR7630004000031234567890143", "5")), 400, "FR7630004000031234567890143").await;
        expect_error(post().json(&json!({"paymentCoverageRequestId": "x"})), 400, "invalid").await;
        expect_error(app.request(Method::GET, CE, "/funds-confirmations", &token), 405, "POST").await;
    }
}
