//! GET /end-user-identity and GET /trusted-beneficiaries.

use guichet_store::on_both_backends;
use serde_json::json;

use crate::helpers::*;

on_both_backends! {
    // "User identity recovery | Marc – D0999990I0 | scope aisp | HTTP answer 200"
    async fn marc_shares_his_identity(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "D0999990I0", &["aisp"]).await;
        app.consent_all(CE, "MARC", &token).await;
        let accounts = ok_json(app.get(CE, "/accounts", &token)).await;
        let href = accounts["_links"]["endUserIdentity"]["href"].as_str().unwrap_or_default().to_owned();
        assert_eq!(href, "/stet/psd2/v1.4.2/end-user-identity");
        let value = ok_json(app.get(CE, "/end-user-identity", &token)).await;
        assert_eq!(value["connectedPsu"], "M MARC PETIT");
        assert_eq!(value["connectedPsuFirstName"], "Marc");
        assert_eq!(value["connectedPsuLastName"], "Petit");
        assert_eq!(value["_links"]["self"]["href"], href);
    }
}

on_both_backends! {
    // "Recovery of the identity of the user who has not given their consent for this | Tech'n
    // Co – D0999993I0 | HTTP answer 403"
    async fn technco_did_not_consent_to_its_identity(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "D0999993I0", &["aisp"]).await;
        let (iban, _) = accounts_of(CE, "TECHNCO").remove(0);
        let consent = json!({"balances": [{"iban": iban}], "transactions": [{"iban": iban}], "psuIdentity": false, "trustedBeneficiaries": false});
        assert_eq!(app.put_consent(CE, &token, &consent).await.status().as_u16(), 201);
        expect_error(app.get(CE, "/end-user-identity", &token), 403, "psuIdentity").await;
    }
}

on_both_backends! {
    // Portal, Limits: identity and trusted beneficiaries are not offered by BTP Banque.
    async fn btp_banque_offers_neither_identity_nor_beneficiaries(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(BTP, "GEORGES", &["aisp"]).await;
        app.consent_all(BTP, "GEORGES", &token).await;
        let accounts = ok_json(app.get(BTP, "/accounts", &token)).await;
        assert!(accounts["_links"].get("endUserIdentity").is_none());
        assert!(accounts["_links"].get("beneficiaries").is_none());
        expect_error(app.get(BTP, "/end-user-identity", &token), 403, "does not offer").await;
        let error = expect_error(app.get(BTP, "/trusted-beneficiaries", &token), 501, "does not offer").await;
        assert_eq!(error["error"], "Not Implemented");
    }
}

on_both_backends! {
    async fn trusted_beneficiaries_need_the_consent_flag(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        expect_error(app.get(CE, "/trusted-beneficiaries", &token), 403, "trusted beneficiaries").await;
        app.consent_all(CE, "CLAIRE", &token).await;
        let accounts = ok_json(app.get(CE, "/accounts", &token)).await;
        assert_eq!(accounts["_links"]["beneficiaries"]["href"], "/stet/psd2/v1.4.2/trusted-beneficiaries");
        let value = ok_json(app.get(CE, "/trusted-beneficiaries", &token)).await;
        let names: Vec<&str> = value["beneficiaries"].as_array().into_iter().flatten().filter_map(|b| b["creditor"]["name"].as_str()).collect();
        assert_eq!(names, ["SCI LES TILLEULS", "MME SOPHIE MARTIN"]);
        assert_eq!(value["beneficiaries"][0]["creditorAccount"]["iban"], "FR7630004000031234567890143");
        let lea = app.token(CE, "LEA", &["aisp"]).await;
        app.consent_all(CE, "LEA", &lea).await;
        assert_eq!(send(app.get(CE, "/trusted-beneficiaries", &lea)).await.status().as_u16(), 204);
    }
}
