//! PUT /consents. Portal acceptance tests, "Forward customer's consent", and the mixed-model
//! rules.

use guichet_store::on_both_backends;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

on_both_backends! {
    // "Add / update the consent of a customer => HTTP code 201 is returned | LEA"
    async fn a_consent_is_created_with_201_and_no_body(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        let (iban, _) = accounts_of(CE, "LEA").remove(0);
        let response = app
            .put_consent(CE, &token, &json!({"balances": [{"iban": iban}], "transactions": [{"iban": iban}], "psuIdentity": false, "trustedBeneficiaries": false}))
            .await;
        assert_eq!(response.status().as_u16(), 201);
        assert!(response.headers().get("x-request-id").is_some());
        assert_eq!(response.text().await.unwrap_or_default(), "");
    }
}

on_both_backends! {
    // "HTTP request with an access token which is not authorized to access to this resource
    // (incorrect scope) => HTTP code 403 | LEA"
    async fn a_consent_needs_the_aisp_scope(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["cbpii"]).await;
        let body = json!({"balances": [], "transactions": [], "psuIdentity": false, "trustedBeneficiaries": false});
        expect_error(app.request(Method::PUT, CE, "/consents", &token).json(&body), 403, "aisp").await;
    }
}

on_both_backends! {
    // "HTTP request using POST method => HTTP code 405 is returned | LEA"
    async fn post_on_consents_is_405(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        expect_error(app.request(Method::POST, CE, "/consents", &token).json(&json!({})), 405, "PUT").await;
    }
}

on_both_backends! {
    async fn an_iban_that_is_not_the_psus_is_named_in_a_400(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        let body = json!({"balances": [{"iban": CLAIRE_FULL}], "transactions": [], "psuIdentity": false, "trustedBeneficiaries": false});
        expect_error(app.request(Method::PUT, CE, "/consents", &token).json(&body), 400, CLAIRE_FULL).await;
    }
}

on_both_backends! {
    async fn bad_bodies_are_400_and_leave_the_previous_consent_whole(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        app.consent_all(CE, "CLAIRE", &token).await;
        let bad_bodies = [
            json!({"balances": [{"iban": CLAIRE_FULL}], "transactions": []}),
            json!({"balances": [{"iban": CLAIRE_FULL}, {"iban": "FR7617515900000400358074027"}], "transactions": [], "psuIdentity": false, "trustedBeneficiaries": false}),
            json!({"balances": [{"iban": CLAIRE_FULL}, {"iban": "FR7630004000031234567890143"}], "transactions": [], "psuIdentity": false, "trustedBeneficiaries": false}),
            json!({"balances": [{"iban": CLAIRE_FULL, "currency": "USD"}], "transactions": [], "psuIdentity": false, "trustedBeneficiaries": false}),
            json!(["not", "an", "object"]),
        ];
        for bad in bad_bodies {
            let response = app.put_consent(CE, &token, &bad).await;
            assert_eq!(response.status().as_u16(), 400, "{bad}");
        }
        let raw = app.request(Method::PUT, CE, "/consents", &token).header("content-type", "application/json").body("{\"balances\": [");
        expect_error(raw, 400, "JSON").await;
        let typed = app.request(Method::PUT, CE, "/consents", &token).header("content-type", "text/plain").body("{}");
        expect_error(typed, 400, "Content-Type").await;
        // The first consent still stands, whole.
        let accounts = ok_json(app.get(CE, "/accounts", &token)).await;
        for account in accounts["accounts"].as_array().into_iter().flatten() {
            assert!(account["_links"]["balances"].is_object() && account["_links"]["transactions"].is_object(), "{account}");
        }
    }
}

on_both_backends! {
    // "This consent replaces any prior consent that was previously sent by the AISP"; it can be
    // revoked per operation ("access to transactions can be revoked while access to balances
    // stay active").
    async fn a_new_consent_replaces_the_old_one_per_account_and_operation(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        app.consent_all(CE, "CLAIRE", &token).await;
        let full = "/accounts/CPT08003580740";
        assert_eq!(send(app.get(CE, &format!("{full}/transactions"), &token)).await.status().as_u16(), 200);
        let only_balances = json!({"balances": [{"iban": CLAIRE_FULL}], "transactions": [], "psuIdentity": false, "trustedBeneficiaries": false});
        assert_eq!(app.put_consent(CE, &token, &only_balances).await.status().as_u16(), 201);
        ok_json(app.get(CE, &format!("{full}/balances"), &token)).await;
        expect_error(app.get(CE, &format!("{full}/transactions"), &token), 403, "consent").await;
        expect_error(app.get(CE, "/accounts/CPT04003580740/balances", &token), 403, "consent").await;
        let accounts = ok_json(app.get(CE, "/accounts", &token)).await;
        assert!(accounts["_links"].get("endUserIdentity").is_none(), "psuIdentity was withdrawn");
    }
}

on_both_backends! {
    // Portal: "If no account is transmitted with the PUT /consents method ... the customer is
    // revoking all his accounts"; "the GET /accounts method allows to get all the accounts list
    // but access to related data (balances, transactions) is NOT possible anymore."
    async fn empty_lists_revoke_every_account(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        app.consent_all(CE, "CLAIRE", &token).await;
        let revoke = json!({"balances": [], "transactions": [], "psuIdentity": false, "trustedBeneficiaries": false});
        assert_eq!(app.put_consent(CE, &token, &revoke).await.status().as_u16(), 201);
        let accounts = ok_json(app.get(CE, "/accounts", &token)).await;
        assert_eq!(accounts["accounts"].as_array().map(Vec::len), Some(2));
        for account in accounts["accounts"].as_array().into_iter().flatten() {
            assert_eq!(account["_links"], json!({}));
        }
        expect_error(app.get(CE, "/accounts/CPT08003580740/balances", &token), 403, "consent").await;
        expect_error(app.get(CE, "/accounts/CPT08003580740/transactions", &token), 403, "consent").await;
    }
}

on_both_backends! {
    // The consent is kept per PSU × TPP: another TPP of the same PSU sees none of it.
    async fn a_consent_belongs_to_one_tpp(backend) {
        let app = TestApp::spawn(backend).await;
        let first = app.token(CE, "CLAIRE", &["aisp"]).await;
        app.consent_all(CE, "CLAIRE", &first).await;
        let other_tpp = identity(&the_pki().tpp(crate::pki::OTHER));
        let other = app.token_for(CE, "CLAIRE", &["aisp"], &other_tpp).await;
        expect_error(app.as_tpp(&other_tpp, Method::GET, CE, "/accounts/CPT08003580740/balances", &other), 403, "consent").await;
        let accounts = ok_json(app.as_tpp(&other_tpp, Method::GET, CE, "/accounts", &other)).await;
        assert_eq!(accounts["accounts"][1]["_links"], json!({}));
    }
}
