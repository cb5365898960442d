//! GET /accounts. Portal acceptance tests, "Get accounts list".

use guichet_store::on_both_backends;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

on_both_backends! {
    // "Get all PSU payment accounts | PSU Persona: CLAIRE ... Result: message HTTP 200 => OK
    // with 2 accounts returned"
    async fn claire_gets_her_two_accounts_without_links_before_any_consent(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let response = send(app.get(CE, "/accounts", &token)).await;
        assert_eq!(response.headers()["content-type"], "application/hal+json; charset=utf-8");
        let value = body(response).await;
        assert_no_null(&value);
        let accounts = value["accounts"].as_array().cloned().unwrap_or_default();
        assert_eq!(accounts.len(), 2);
        for account in &accounts {
            assert_eq!(account["_links"], json!({}), "no links before a consent: {account}");
            assert!(account.get("resourceId").is_none(), "no resourceId before a consent");
            assert!(account.get("balances").is_none());
            assert_eq!(account["accountId"]["currency"], "EUR");
            assert!(account.get("currency").is_none(), "1.4.2: currency lives in accountId");
        }
        assert_eq!(accounts[0]["accountId"]["iban"], CLAIRE_EMPTY);
        assert_eq!(accounts[1]["accountId"]["iban"], CLAIRE_FULL);
        assert_eq!(value["_links"], json!({"self": {"href": "/stet/psd2/v1.4.2/accounts"}}));
    }
}

on_both_backends! {
    // "HTTP request with non autorized access token for this resource (wrong scope) => check if
    // HTTP 403 is returned | LEA, scope OAuth2 <> aisp"
    async fn a_token_without_the_aisp_scope_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["pisp"]).await;
        let error = expect_error(app.get(CE, "/accounts", &token), 403, "aisp").await;
        assert_eq!(error["error"], "insufficient_scope");
    }
}

on_both_backends! {
    // "Use a non authorized request (POST) => check if HTTP 405 is returned | LEA"
    async fn post_on_accounts_is_405_with_allow(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        let response = send(app.request(Method::POST, CE, "/accounts", &token)).await;
        assert_eq!(response.status().as_u16(), 405);
        let allow = response.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(allow.contains("GET"), "Allow: {allow}");
        let value = body(response).await;
        assert_eq!(value["status"], 405);
        assert_eq!(value["path"], "/stet/psd2/v1.4.2/accounts");
    }
}

on_both_backends! {
    // Portal: once a consent names accounts, each gets its resourceId, the accounting balance
    // if in `balances`, and the links of the consented operations; psuIdentity adds
    // endUserIdentity.
    async fn a_consent_adds_resource_ids_balances_and_links_per_operation(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        let consent = json!({
            "balances": [{"iban": CLAIRE_FULL}],
            "transactions": [{"iban": CLAIRE_EMPTY}],
            "psuIdentity": true,
            "trustedBeneficiaries": false
        });
        assert_eq!(app.put_consent(CE, &token, &consent).await.status().as_u16(), 201);
        let value = ok_json(app.get(CE, "/accounts", &token)).await;
        let empty = &value["accounts"][0];
        let full = &value["accounts"][1];
        assert_eq!(empty["resourceId"], "CPT04003580740");
        assert_eq!(empty["_links"], json!({"transactions": {"href": "/stet/psd2/v1.4.2/accounts/CPT04003580740/transactions"}}));
        assert!(empty.get("balances").is_none());
        assert_eq!(full["resourceId"], "CPT08003580740");
        assert_eq!(full["_links"], json!({"balances": {"href": "/stet/psd2/v1.4.2/accounts/CPT08003580740/balances"}}));
        assert_eq!(full["balances"][0]["balanceType"], "CLBD");
        assert_eq!(full["balances"][0]["balanceAmount"], json!({"currency": "EUR", "amount": "2486.13"}));
        assert_eq!(value["_links"]["endUserIdentity"]["href"], "/stet/psd2/v1.4.2/end-user-identity");
        assert!(value["_links"].get("beneficiaries").is_none());
    }
}

on_both_backends! {
    // Portal, Limits: only "active and eligible online accessible payment accounts in euro".
    async fn savings_accounts_are_not_listed(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        let value = ok_json(app.get(CE, "/accounts", &token)).await;
        let names: Vec<&str> = value["accounts"].as_array().into_iter().flatten().filter_map(|a| a["name"].as_str()).collect();
        assert_eq!(names, ["Compte chèques Mlle Léa Dubois"]);
    }
}

on_both_backends! {
    async fn companies_carry_their_siren(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(BTP, "ATLAS", &["aisp"]).await;
        let value = ok_json(app.get(BTP, "/accounts", &token)).await;
        assert_eq!(value["accounts"][0]["company"], json!({"identification": "552081317", "schemeName": "SREN"}));
        assert_eq!(value["accounts"][0]["usage"], "ORGA");
        assert_eq!(value["accounts"][0]["bicFi"], "BTPBFRPPXXX");
    }
}
