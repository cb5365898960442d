//! The OAuth2 authorization server: every error with its status and code, code replay, PKCE,
//! refresh after 180 days, revocation cascade, fallback, the PSU's own page, App2App.

use guichet_eidas::Psd2Certificate;
use guichet_store::on_both_backends;
use reqwest::Method;
use serde_json::Value;

use crate::flow::*;
use crate::helpers::*;

async fn get_accounts(app: &TestApp, bank: &str, token: &str) -> u16 {
    send(app.get(bank, "/accounts", token))
        .await
        .status()
        .as_u16()
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

on_both_backends! {
    // Portal, "Get your token": authorize, SCA on the bank's pages, code, token over mutual TLS
    // without scope, then the API.
    async fn the_authorization_code_flow_gives_tokens_that_open_the_api(backend) {
        let app = TestApp::spawn(backend).await;
        let (verifier, challenge) = pkce();
        let (journey, first) = Journey::open(&app, CE, &query("aisp", "xyz", Some(&challenge))).await;
        assert_eq!(first.status, 200);
        assert!(first.html.contains("Guichet Demo TPP") || first.html.contains("Test TPP"), "the page names the TPP");
        assert!(first.html.contains("PSDFR-ACPR-12345"), "and its organizationIdentifier");
        assert!(first.html.contains("soldes et opérations"), "and the access asked for");
        let cookie = first.headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        for flag in ["HttpOnly", "Secure", "SameSite=Strict"] {
            assert!(cookie.contains(flag), "{cookie}");
        }
        let csp = first.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self' http://127.0.0.1:8765"), "{csp}");
        assert_eq!(first.headers.get("x-frame-options").and_then(|v| v.to_str().ok()), Some("DENY"));
        let done = journey.authenticate(&first, "D0999991I0").await;
        assert_eq!(done.status, 303);
        assert!(done.location.as_deref().unwrap_or_default().starts_with(REDIRECT));
        assert_eq!(done.param("state").as_deref(), Some("xyz"));
        let code = done.param("code").unwrap_or_default();
        let (status, headers, body) = token_request(&app, CE, "token", &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("client_id", "PSDFR-ACPR-12345"), ("code_verifier", &verifier)], &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 600, "Caisse d'Epargne's profile: 10 minutes");
        assert_eq!(body["scope"], "aisp");
        assert!(body["refresh_token"].is_string());
        assert_eq!(get_accounts(&app, CE, &text(&body, "access_token")).await, 200);
    }
}

on_both_backends! {
    // RFC 6749 §4.1.2.1: an unknown client or a redirect URI that does not match shows an error
    // page and never redirects; other errors redirect with `error` and `state`.
    async fn authorize_errors_redirect_only_to_a_registered_uri(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, unknown) = Journey::open(&app, CE, &query("aisp", "s", None).replace("PSDFR-ACPR-12345", "PSDFR-ACPR-NOBODY")).await;
        assert_eq!((unknown.status, unknown.location.is_none()), (400, true));
        assert!(unknown.html.contains("client_id inconnu"));
        let (_, elsewhere) = Journey::open(&app, CE, &query("aisp", "s", None).replace("8765", "9999")).await;
        assert_eq!((elsewhere.status, elsewhere.location.is_none()), (400, true));
        for (mutated, error) in [
            (query("aisp", "s", None).replace("response_type=code", "response_type=token"), "unsupported_response_type"),
            (query("", "s", None), "invalid_scope"),
            (query("aisp pisp", "s", None), "invalid_scope"),
            (format!("{}&code_challenge={}&code_challenge_method=plain", query("aisp", "s", None), "a".repeat(43)), "invalid_request"),
        ] {
            let (_, step) = Journey::open(&app, CE, &mutated).await;
            assert_eq!(step.status, 303, "{mutated}");
            assert_eq!(step.param("error").as_deref(), Some(error), "{mutated}");
            assert_eq!(step.param("state").as_deref(), Some("s"));
        }
        // BTP Banque: "aisp extended_transaction_history mode is NOT supported".
        let (_, extended) = Journey::open(&app, BTP, &query("aisp extended_transaction_history", "s", None)).await;
        assert_eq!(extended.param("error").as_deref(), Some("invalid_scope"));
        let (_, allowed) = Journey::open(&app, CE, &query("aisp extended_transaction_history", "s", None)).await;
        assert_eq!(allowed.status, 200);
    }
}

on_both_backends! {
    // Three failed attempts lock the attempt; cancelling returns access_denied; forms need
    // their CSRF token.
    async fn failures_lock_and_cancel_returns_access_denied(backend) {
        let app = TestApp::spawn(backend).await;
        let (journey, first) = Journey::open(&app, CE, &query("aisp", "st", None)).await;
        let csrf = first.csrf();
        let forged = journey.post("/sca/login", &[("csrf", "forged"), ("identifier", "D0999991I0"), ("password", "sandbox")]).await;
        assert_eq!(forged.status, 400);
        let wrong = journey.post("/sca/login", &[("csrf", &csrf), ("identifier", "D0999991I0"), ("password", "nope")]).await;
        assert!(wrong.html.contains("2 essais restants"), "{}", wrong.html);
        assert!(!wrong.html.contains("nope"), "the password is never echoed");
        let _ = journey.post("/sca/login", &[("csrf", &csrf), ("identifier", "D0999991I0"), ("password", "nope")]).await;
        let locked = journey.post("/sca/login", &[("csrf", &csrf), ("identifier", "D0999991I0"), ("password", "nope")]).await;
        assert_eq!(locked.status, 403);
        assert!(locked.html.contains("bloquée"));
        let still = journey.post("/sca/login", &[("csrf", &csrf), ("identifier", "D0999991I0"), ("password", "sandbox")]).await;
        assert_eq!(still.status, 403, "a locked attempt stays locked, even with the right password");
        let back = journey.post("/sca/cancel", &[("csrf", &csrf)]).await;
        assert_eq!(back.param("error").as_deref(), Some("access_denied"));
        assert_eq!(back.param("state").as_deref(), Some("st"));

        let (journey, first) = Journey::open(&app, CE, &query("aisp", "st2", None)).await;
        let otp = journey.post("/sca/login", &[("csrf", &first.csrf()), ("identifier", "LEA"), ("password", "sandbox")]).await;
        for _ in 0..2 {
            let wrong = journey.post("/sca/otp", &[("csrf", &otp.csrf()), ("code", "000000x")]).await;
            assert!(wrong.html.contains("Code incorrect"));
        }
        let locked = journey.post("/sca/otp", &[("csrf", &otp.csrf()), ("code", "000000x")]).await;
        assert_eq!(locked.status, 403);
        let (journey, first) = Journey::open(&app, CE, &query("aisp", "st3", None)).await;
        let cancelled = journey.post("/sca/cancel", &[("csrf", &first.csrf())]).await;
        assert_eq!(cancelled.status, 303);
        assert_eq!(cancelled.param("error").as_deref(), Some("access_denied"));
        assert_eq!(cancelled.param("state").as_deref(), Some("st3"));
    }
}

on_both_backends! {
    // The token endpoint's refusals, RFC 6749 §5.2.
    async fn token_errors_have_their_codes(backend) {
        let app = TestApp::spawn(backend).await;
        let (verifier, challenge) = pkce();
        let code = code_for(&app, CE, "CLAIRE", "aisp", Some(&challenge)).await;
        let base = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("client_id", "PSDFR-ACPR-12345")];
        let with = |extra: &[(&'static str, &str)]| {
            let mut fields: Vec<(&str, String)> = base.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            for (k, v) in extra {
                fields.retain(|(name, _)| name != k);
                fields.push((*k, (*v).to_owned()));
            }
            fields
        };
        for (fields, status, error) in [
            (with(&[("scope", "aisp"), ("code_verifier", &verifier)]), 400, "invalid_request"),
            (with(&[("client_id", "PSDBE-NBB-0123456789"), ("code_verifier", &verifier)]), 401, "invalid_client"),
            (with(&[("grant_type", "password")]), 400, "unsupported_grant_type"),
        ] {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (got, _, body) = token_request(&app, CE, "token", &fields, &[]).await;
            assert_eq!((got, text(&body, "error")), (status, error.to_owned()), "{fields:?}: {body}");
        }
        let bad_verifier = with(&[("code_verifier", &"x".repeat(50))]);
        let fields: Vec<(&str, &str)> = bad_verifier.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, body) = token_request(&app, CE, "token", &fields, &[]).await;
        assert_eq!((status, text(&body, "error")), (400, "invalid_grant".to_owned()), "PKCE mismatch");
        // The code was spent by the PKCE failure: a replay is refused.
        let (status, body) = exchange(&app, CE, &code, Some(&verifier)).await;
        assert_eq!((status, text(&body, "error")), (400, "invalid_grant".to_owned()));

        let other = code_for(&app, CE, "CLAIRE", "aisp", None).await;
        let fields = [("grant_type", "authorization_code"), ("code", other.as_str()), ("redirect_uri", "http://127.0.0.1:8765/other"), ("client_id", "PSDFR-ACPR-12345")];
        let (status, _, body) = token_request(&app, CE, "token", &fields, &[]).await;
        assert_eq!((status, text(&body, "error")), (400, "invalid_grant".to_owned()), "redirect_uri mismatch");

        let late = code_for(&app, CE, "CLAIRE", "aisp", None).await;
        app.clock.advance(jiff::SignedDuration::from_secs(61));
        let (status, body) = exchange(&app, CE, &late, None).await;
        assert_eq!((status, text(&body, "error")), (400, "invalid_grant".to_owned()), "a code lives one minute");
        let (status, _, body) = token_request(&app, CE, "token", &[("grant_type", "authorization_code")], &[("content-type", "application/json")]).await;
        assert_eq!((status, text(&body, "error")), (400, "invalid_request".to_owned()), "{body}");
    }
}

on_both_backends! {
    // A replayed code is refused and revokes what the first exchange gave.
    async fn a_replayed_code_revokes_its_tokens(backend) {
        let app = TestApp::spawn(backend).await;
        let code = code_for(&app, CE, "CLAIRE", "aisp", None).await;
        let (status, body) = exchange(&app, CE, &code, None).await;
        assert_eq!(status, 200);
        let access = text(&body, "access_token");
        assert_eq!(get_accounts(&app, CE, &access).await, 200);
        let (status, again) = exchange(&app, CE, &code, None).await;
        assert_eq!((status, text(&again, "error")), (400, "invalid_grant".to_owned()));
        assert_eq!(get_accounts(&app, CE, &access).await, 401, "the first tokens are revoked");
        let refresh = text(&body, "refresh_token");
        let (status, _, body) = token_request(&app, CE, "token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", "PSDFR-ACPR-12345")], &[]).await;
        assert_eq!((status, text(&body, "error")), (400, "invalid_grant".to_owned()));
    }
}

on_both_backends! {
    // Portal: an expired access token answers 401 invalid_token, "The request can be replayed
    // once the access token has been refreshed"; the previous refresh token is revoked; the
    // refresh is refused once the last SCA is 180 days old.
    async fn refresh_replays_and_ends_after_180_days(backend) {
        let app = TestApp::spawn(backend).await;
        let code = code_for(&app, BTP, "GEORGES", "aisp", None).await;
        let (_, body) = exchange(&app, BTP, &code, None).await;
        assert_eq!(body["expires_in"], 900, "BTP Banque: 15 minutes");
        let access = text(&body, "access_token");
        let refresh = text(&body, "refresh_token");
        app.clock.advance(jiff::SignedDuration::from_mins(16));
        let expired = expect_error(app.get(BTP, "/accounts", &access), 401, "expired").await;
        assert_eq!(expired["error"], "invalid_token");
        let refresh_fields = |token: &str| vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", token.to_owned()), ("client_id", "PSDFR-ACPR-12345".to_owned())];
        let as_ref = |fields: &Vec<(&'static str, String)>| fields.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
        let fields = as_ref(&refresh_fields(&refresh));
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, renewed) = token_request(&app, BTP, "token", &pairs, &[]).await;
        assert_eq!(status, 200, "{renewed}");
        assert_eq!(get_accounts(&app, BTP, &text(&renewed, "access_token")).await, 200, "the request is replayed after the refresh");
        let (status, _, old) = token_request(&app, BTP, "token", &pairs, &[]).await;
        assert_eq!((status, text(&old, "error")), (400, "invalid_grant".to_owned()), "the previous refresh token is revoked");
        // RFC 9700 §4.14.2: that replay revoked the whole grant, the renewed pair with it.
        let fields = as_ref(&refresh_fields(&text(&renewed, "refresh_token")));
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, family) = token_request(&app, BTP, "token", &pairs, &[]).await;
        assert_eq!((status, text(&family, "error")), (400, "invalid_grant".to_owned()), "the renewed refresh token is revoked with its grant");
        assert_eq!(get_accounts(&app, BTP, &text(&renewed, "access_token")).await, 401, "the renewed access token too");
        // A new grant, renewed once, then 181 days later: the PSU must authenticate again.
        let code = code_for(&app, BTP, "GEORGES", "aisp", None).await;
        let (_, body) = exchange(&app, BTP, &code, None).await;
        let fields = as_ref(&refresh_fields(&text(&body, "refresh_token")));
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, renewed) = token_request(&app, BTP, "token", &pairs, &[]).await;
        assert_eq!(status, 200, "{renewed}");
        app.clock.advance(jiff::SignedDuration::from_hours(24 * 181));
        let fields = as_ref(&refresh_fields(&text(&renewed, "refresh_token")));
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, late) = token_request(&app, BTP, "token", &pairs, &[]).await;
        assert_eq!((status, text(&late, "error")), (400, "invalid_grant".to_owned()));
        assert!(text(&late, "error_description").contains("180 days"), "{late}");
    }
}

on_both_backends! {
    // Portal: "If the Authorization token is revoked, then the refresh one is automatically
    // revoked (and the other way round)" (RFC 7009).
    async fn revocation_cascades_both_ways(backend) {
        let app = TestApp::spawn(backend).await;
        for revoke_access in [true, false] {
            let code = code_for(&app, CE, "MARC", "aisp", None).await;
            let (_, body) = exchange(&app, CE, &code, None).await;
            let (access, refresh) = (text(&body, "access_token"), text(&body, "refresh_token"));
            let target = if revoke_access { &access } else { &refresh };
            let (status, _, _) = token_request(&app, CE, "revoke", &[("token", target), ("client_id", "PSDFR-ACPR-12345")], &[]).await;
            assert_eq!(status, 200);
            assert_eq!(get_accounts(&app, CE, &access).await, 401);
            let (status, _, body) = token_request(&app, CE, "token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", "PSDFR-ACPR-12345")], &[]).await;
            assert_eq!((status, text(&body, "error")), (400, "invalid_grant".to_owned()));
        }
        let (status, _, _) = token_request(&app, CE, "revoke", &[("token", "unknown"), ("client_id", "PSDFR-ACPR-12345")], &[]).await;
        assert_eq!(status, 200, "RFC 7009: an unknown token is not an error");
    }
}

on_both_backends! {
    // Client credentials for cbpii (no PSU); aisp needs the PSU; role versus scope at /token.
    async fn client_credentials_serve_cbpii_only(backend) {
        let app = TestApp::spawn(backend).await;
        let (status, _, body) = token_request(&app, CE, "token", &[("grant_type", "client_credentials"), ("scope", "cbpii"), ("client_id", "PSDFR-ACPR-12345")], &[]).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("refresh_token").is_none());
        let check = serde_json::json!({"paymentCoverageRequestId": "cc1", "instructedAmount": {"currency": "EUR", "amount": "10"}, "accountId": {"iban": CLAIRE_FULL}});
        let answer = ok_json(app.request(Method::POST, CE, "/funds-confirmations", &text(&body, "access_token")).json(&check)).await;
        assert_eq!(answer["result"], true);
        expect_error(app.get(CE, "/accounts", &text(&body, "access_token")), 403, "aisp").await;
        let (status, _, body) = token_request(&app, CE, "token", &[("grant_type", "client_credentials"), ("scope", "aisp"), ("client_id", "PSDFR-ACPR-12345")], &[]).await;
        assert_eq!((status, text(&body, "error")), (400, "invalid_scope".to_owned()));
        let ai_only = identity(&the_pki().tpp(crate::pki::AI_ONLY));
        let client = ai_only.http_client(&the_pki().sandbox.ca_file).unwrap_or_default();
        let response = client
            .post(format!("{}/stet/psd2/oauth/token", app.origin(CE)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=cbpii&client_id=PSDFR-ACPR-AIONLY")
            .send()
            .await;
        let Ok(response) = response else { panic!("token") };
        assert_eq!(response.status().as_u16(), 400);
        let body: Value = response.json().await.unwrap_or_default();
        assert_eq!(body["error"], "invalid_scope");
        assert!(text(&body, "error_description").contains("PSP_IC"));
    }
}

on_both_backends! {
    // Portal, "How to use the fallback mode": 302 Found to the online-banking login with a JWT
    // signed by the bank; every use recorded; the JWT is no API token. The portal's own
    // sample request carries no PSU-IP-Address: it is accepted (the PSU logs in next).
    async fn the_fallback_redirects_to_online_banking_with_a_signed_jwt(backend) {
        let app = TestApp::spawn(backend).await;
        let fields = [("client_id", "PSDFR-ACPR-12345"), ("grant_type", "client_credentials"), ("scope", "aisp")];
        let (status, headers, _) = token_request(&app, CE, "token", &fields, &[("fallback", "1")]).await;
        assert_eq!(status, 302, "the portal's sample, without PSU-IP-Address");
        assert!(headers.get("location").is_some());
        let (status, headers, _) = token_request(&app, CE, "token", &fields, &[("fallback", "1"), ("PSU-IP-Address", "192.0.2.7")]).await;
        assert_eq!(status, 302);
        let location = headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(location.starts_with(&format!("{}/fallback/login?jwt=", app.psu_origin(CE))), "{location}");
        let jwt = location.split("jwt=").nth(1).unwrap_or_default().to_owned();
        let seal = Psd2Certificate::from_pem(&std::fs::read(the_pki().dir.join("banks/17515/qseal.pem")).unwrap_or_default());
        let Ok(seal) = seal else { panic!("bank QSealC") };
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&["online-banking:17515"]);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(&jwt, &jsonwebtoken::DecodingKey::from_rsa_der(&seal.public_key.bytes), &validation);
        let Ok(claims) = claims else { panic!("the JWT does not verify with the bank's QSealC: {claims:?}") };
        assert_eq!(claims.claims["sub"], "PSDFR-ACPR-12345");
        assert_eq!(claims.claims["iss"], "guichet:17515");
        let uses = app.state().store.fallback_uses(CE, 0).await.unwrap_or_default();
        assert_eq!(uses.len(), 2, "recorded for the supervision report");
        expect_error(app.get(CE, "/accounts", &jwt), 401, "unknown access token").await;
        let client = browser();
        let page = client.get(&location).send().await;
        let Ok(page) = page else { panic!("fallback page") };
        let first = Step::read(page).await;
        assert_eq!(first.status, 200);
        let journey = Journey { app: &app, bank: CE, client, cookie: first.cookie.clone().unwrap_or_default() };
        let done = journey.authenticate(&first, "CLAIRE").await;
        assert_eq!(done.location.as_deref(), Some("/fallback/banking"));
        let banking = journey.get("/fallback/banking").await;
        assert!(banking.html.contains(CLAIRE_FULL) && banking.html.contains("2486.13"), "{}", banking.html);
        let tampered = format!("{}x", &location);
        let refused = Step::read(browser().get(&tampered).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
        assert_eq!(refused.status, 400);
    }
}

on_both_backends! {
    // The PSU's side: after SCA, the TPPs with access, and revoking one: tokens and consent go.
    async fn the_psu_sees_and_revokes_a_tpps_access(backend) {
        let app = TestApp::spawn(backend).await;
        let code = code_for(&app, CE, "CLAIRE", "aisp", None).await;
        let (_, body) = exchange(&app, CE, &code, None).await;
        let access = text(&body, "access_token");
        app.consent_all(CE, "CLAIRE", &access).await;
        let client = browser();
        let first = Step::read(client.get(format!("{}/psu/access", app.psu_origin(CE))).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
        let journey = Journey { app: &app, bank: CE, client, cookie: first.cookie.clone().unwrap_or_default() };
        let done = journey.authenticate(&first, "D0999991I0").await;
        assert_eq!(done.location.as_deref(), Some("/psu/access"));
        let page = journey.get("/psu/access").await;
        assert!(page.html.contains("PSDFR-ACPR-12345"), "{}", page.html);
        let revoked = journey.post("/psu/access/revoke", &[("csrf", &page.csrf()), ("client_id", "PSDFR-ACPR-12345")]).await;
        assert_eq!(revoked.status, 303);
        let after = journey.get("/psu/access").await;
        assert!(after.html.contains("id=\"none\""), "{}", after.html);
        assert_eq!(get_accounts(&app, CE, &access).await, 401);
        let consent = app.state().store.consent(CE, "D0999991I0", "PSDFR-ACPR-12345").await.ok().flatten();
        assert_eq!(consent, None, "the consent goes with the tokens");
    }
}

on_both_backends! {
    // App2App: the bank's domain serves the association files of its app; a universal link
    // registered by the TPP is accepted like any redirect URI.
    async fn app2app_association_files_and_universal_links(backend) {
        let app = TestApp::spawn(backend).await;
        let client = browser();
        let apple = client.get(format!("{}/.well-known/apple-app-site-association", app.psu_origin(CE))).send().await;
        let apple: Value = match apple {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(apple["applinks"]["details"][0]["appID"], "GUICHET01.fr.guichet.sandbox.ce");
        let android = client.get(format!("{}/.well-known/assetlinks.json", app.psu_origin(CE))).send().await;
        let android: Value = match android {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(android[0]["target"]["package_name"], "fr.guichet.sandbox.ce");
        let none = client.get(format!("{}/.well-known/assetlinks.json", app.psu_origin(BTP))).send().await;
        assert_eq!(none.map(|r| r.status().as_u16()).unwrap_or_default(), 404);
        let pem = std::fs::read_to_string(&the_pki().sandbox.demo.qseal).unwrap_or_default();
        let uris = vec![REDIRECT.to_owned(), "https://app.tpp.example/psd2/callback".to_owned()];
        let _ = guichet_aspsp::sandbox::register_tpp(&app.state().store, "Demo", &uris, &pem, 0).await;
        let (_, page) = Journey::open(&app, CE, &query("aisp", "s", None).replace("http%3A%2F%2F127.0.0.1%3A8765%2Fcallback", "https%3A%2F%2Fapp.tpp.example%2Fpsd2%2Fcallback")).await;
        assert_eq!(page.status, 200, "{}", page.html);
    }
}

on_both_backends! {
    // The PSU passed SCA but the bank cannot write the code: the TPP is told (RFC 6749
    // §4.1.2.1, server_error), rather than the PSU being left on an error page with the
    // attempt already spent.
    async fn a_code_the_bank_cannot_write_sends_the_tpp_a_server_error(backend) {
        let app = TestApp::spawn(backend).await;
        let (journey, first) = Journey::open(&app, CE, &query("aisp", "st-fault", None)).await;
        assert_eq!(first.status, 200, "{}", first.html);
        rename_table(&app, "auth_codes", "auth_codes_away").await;
        let done = journey.authenticate(&first, "D0999991I0").await;
        assert_eq!(done.status, 303, "{}", done.html);
        assert!(done.location.as_deref().unwrap_or_default().starts_with(REDIRECT), "{:?}", done.location);
        assert_eq!(done.param("error").as_deref(), Some("server_error"));
        assert_eq!(done.param("state").as_deref(), Some("st-fault"));
        assert_eq!(done.param("code"), None);
    }
}
