//! GET /accounts/{id}/balances. Portal acceptance tests, "Get account balance".

use guichet_store::on_both_backends;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

on_both_backends! {
    // "Get accounting balance => Check negative balance | LEA ... negative balance returned"
    async fn lea_has_a_negative_accounting_balance(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        app.consent_all(CE, "LEA", &token).await;
        let id = account_id(CE, "LEA");
        let value = ok_json(app.get(CE, &format!("/accounts/{id}/balances"), &token)).await;
        let clbd = value["balances"].as_array().into_iter().flatten().find(|b| b["balanceType"] == "CLBD").cloned().unwrap_or_default();
        assert_eq!(clbd["balanceAmount"], json!({"currency": "EUR", "amount": "-152.37"}));
        assert_eq!(value["_links"]["self"]["href"], format!("/stet/psd2/v1.4.2/accounts/{id}/balances"));
        assert_eq!(value["_links"]["parent-list"]["href"], "/stet/psd2/v1.4.2/accounts");
        assert_eq!(value["_links"]["transactions"]["href"], format!("/stet/psd2/v1.4.2/accounts/{id}/transactions"));
    }
}

on_both_backends! {
    // "Get accounting balance from an unknown account => check if HTTP 404 is returned |
    // unknown – CPT30014684067"
    async fn an_unknown_account_is_404(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        app.consent_all(CE, "LEA", &token).await;
        expect_error(app.get(CE, "/accounts/CPT30014684067/balances", &token), 404, "CPT30014684067").await;
    }
}

on_both_backends! {
    // Another PSU's account looks exactly like an unknown one.
    async fn another_psus_account_is_404_too(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        app.consent_all(CE, "LEA", &token).await;
        expect_error(app.get(CE, "/accounts/CPT08003580740/balances", &token), 404, "not found").await;
        expect_error(app.get(CE, &format!("/accounts/{}/balances", "x".repeat(36)), &token), 400, "resource identifier").await;
    }
}

on_both_backends! {
    // "HTTP request with non autorized access token (wrong scope) => 403" and "Use a non
    // authorized request (POST) => 405".
    async fn wrong_scope_is_403_and_post_is_405(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        app.consent_all(CE, "LEA", &token).await;
        let path = format!("/accounts/{}/balances", account_id(CE, "LEA"));
        let pisp = app.token(CE, "LEA", &["pisp"]).await;
        expect_error(app.get(CE, &path, &pisp), 403, "aisp").await;
        expect_error(app.request(Method::POST, CE, &path, &token), 405, "GET").await;
    }
}

on_both_backends! {
    // "Get accounting balance => Check null balance | CLAIRE FR7617515900000400358074026" and
    // "Check positive balance | CLAIRE FR7617515900000800358074006".
    async fn claire_has_a_zero_and_a_positive_balance(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        app.consent_all(CE, "CLAIRE", &token).await;
        let zero = ok_json(app.get(CE, "/accounts/CPT04003580740/balances", &token)).await;
        assert_eq!(zero["balances"][0]["balanceType"], "CLBD");
        assert_eq!(zero["balances"][0]["balanceAmount"]["amount"], "0.00");
        let positive = ok_json(app.get(CE, "/accounts/CPT08003580740/balances", &token)).await;
        assert_eq!(positive["balances"][0]["balanceAmount"]["amount"], "2486.13");
    }
}

on_both_backends! {
    // The instant balance (XPCD) comes beside CLBD where the bank offers it; BTP Banque gives
    // the accounting balance only.
    async fn the_instant_balance_follows_the_bank_profile(backend) {
        let app = TestApp::spawn(backend).await;
        let ce = app.token(CE, "GEORGES", &["aisp"]).await;
        app.consent_all(CE, "GEORGES", &ce).await;
        let value = ok_json(app.get(CE, &format!("/accounts/{}/balances", account_id(CE, "GEORGES")), &ce)).await;
        let types: Vec<&str> = value["balances"].as_array().into_iter().flatten().filter_map(|b| b["balanceType"].as_str()).collect();
        assert_eq!(types, ["CLBD", "XPCD"]);
        let btp = app.token(BTP, "GEORGES", &["aisp"]).await;
        app.consent_all(BTP, "GEORGES", &btp).await;
        let value = ok_json(app.get(BTP, &format!("/accounts/{}/balances", account_id(BTP, "GEORGES")), &btp)).await;
        let types: Vec<&str> = value["balances"].as_array().into_iter().flatten().filter_map(|b| b["balanceType"].as_str()).collect();
        assert_eq!(types, ["CLBD"]);
    }
}
