//! POST /funds-confirmations (CBPII).

use guichet_store::on_both_backends;
use reqwest::Method;
use serde_json::json;

use crate::flow::token_request;
use crate::helpers::*;

/// The demo TPP's organizationIdentifier (`app.tpp`).
pub const DEMO_TPP: &str = "PSDFR-ACPR-12345";

/// The PSU ids of CLAIRE and LEA at Caisse d'Epargne (the sandbox personas).
pub const CLAIRE_PSU: &str = "D0999991I0";
pub const LEA_PSU: &str = "D0999992I0";

pub fn coverage(iban: &str, amount: &str) -> serde_json::Value {
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

/// A client-credentials `cbpii` token of the demo TPP, from the token endpoint (no PSU).
pub async fn client_credentials(app: &TestApp, bank: &str) -> String {
    let fields = [
        ("grant_type", "client_credentials"),
        ("scope", "cbpii"),
        ("client_id", DEMO_TPP),
    ];
    let (status, _, body) = token_request(app, bank, "token", &fields, &[]).await;
    assert_eq!(status, 200, "{body}");
    match body["access_token"].as_str() {
        Some(token) => token.to_owned(),
        None => panic!("no access token: {body}"),
    }
}

/// The first eligible account of a persona: (IBAN, resource id).
pub fn first_account(bank: &str, persona: &str) -> (String, String) {
    match accounts_of(bank, persona).into_iter().next() {
        Some(account) => account,
        None => panic!("{persona} has no eligible account at {bank}"),
    }
}

on_both_backends! {
    // PSD2 art. 65(2)(c) and the portal ("the TPP and the PSU have a contract that has been
    // registered by the ASPSP"): without the PSU's registration the bank does not answer. The
    // sandbox registers the demo TPP for CLAIRE, not for LEA.
    async fn a_check_needs_the_psus_registration_of_the_tpp(backend) {
        let app = TestApp::spawn(backend).await;
        let (lea_iban, _) = first_account(CE, "LEA");
        let lea = app.token(CE, "LEA", &["cbpii"]).await;
        expect_error(app.request(Method::POST, CE, "/funds-confirmations", &lea).json(&coverage(&lea_iban, "10.00")), 403, "has not registered PSDFR-ACPR-12345 for funds confirmation").await;
        expect_error(app.request(Method::POST, CE, "/funds-confirmations", &lea).json(&coverage(CLAIRE_FULL, "10.00")), 400, "not an account this token may check").await;
        let claire = app.token(CE, "CLAIRE", &["cbpii"]).await;
        let covered = ok_json(app.request(Method::POST, CE, "/funds-confirmations", &claire).json(&coverage(CLAIRE_FULL, "10.00"))).await;
        assert_eq!(covered["result"], true);

        // Client credentials: a registration by any PSU holding the account.
        let cc = client_credentials(&app, CE).await;
        let refused = expect_error(app.request(Method::POST, CE, "/funds-confirmations", &cc).json(&coverage(&lea_iban, "10.00")), 403, "has not registered PSDFR-ACPR-12345 for funds confirmation").await;
        let message = refused["message"].as_str().unwrap_or_default().to_owned();
        assert!(!message.contains(&lea_iban) && !message.contains("LEA") && !message.contains("D0999992I0"), "{message}");
        let covered = ok_json(app.request(Method::POST, CE, "/funds-confirmations", &cc).json(&coverage(CLAIRE_FULL, "10.00"))).await;
        assert_eq!(covered["result"], true);
        expect_error(app.request(Method::POST, CE, "/funds-confirmations", &cc).json(&coverage("FR7630004000031234567890143", "10.00")), 400, "FR7630004000031234567890143").await;
    }
}

on_both_backends! {
    // A registration names one TPP: another TPP is refused on CLAIRE's account, though the
    // demo TPP is answered, until CLAIRE registers that TPP too.
    async fn a_registration_is_for_one_tpp(backend) {
        let app = TestApp::spawn(backend).await;
        let other = identity(&the_pki().tpp(crate::pki::OTHER));
        let token = app.token_for(CE, "CLAIRE", &["cbpii"], &other).await;
        let check = || app.as_tpp(&other, Method::POST, CE, "/funds-confirmations", &token).json(&coverage(CLAIRE_FULL, "10.00"));
        expect_error(check(), 403, &format!("has not registered {} for funds confirmation", other.client_id)).await;
        let claire = app.token(CE, "CLAIRE", &["cbpii"]).await;
        ok_json(app.request(Method::POST, CE, "/funds-confirmations", &claire).json(&coverage(CLAIRE_FULL, "10.00"))).await;
        let Some((_, account)) = accounts_of(CE, "CLAIRE").into_iter().find(|(iban, _)| iban == CLAIRE_FULL) else {
            panic!("CLAIRE_FULL is one of CLAIRE's eligible accounts")
        };
        if let Err(e) = app.state().store.register_funds_check(CE, CLAIRE_PSU, &other.client_id, &account, app.clock_now()).await {
            panic!("{e}");
        }
        let covered = ok_json(check()).await;
        assert_eq!(covered["result"], true);
    }
}
