//! The journeys through the bank's provider that end with the TPP's code: both client
//! authentications, key rotation, another instance, the PSU's own page, a doubled callback.

use serde_json::json;

use super::*;

guichet_store::on_both_backends! {
    async fn a_psu_authenticated_by_the_banks_provider_gives_the_tpp_its_code(backend) {
        let bank = delegated(backend, Setup::default()).await;
        let (journey, consent, verifier) = bank.authenticate("claire", "st-1").await;
        assert_eq!(consent.status, 200, "{}", consent.html);
        // The bank shows who asks for what, and who the PSU is.
        assert!(consent.html.contains("PSDFR-ACPR-12345"), "{}", consent.html);
        assert!(consent.html.contains("id=\"psu-name\""), "{}", consent.html);
        let done = allow(&journey, &consent).await;
        assert_eq!(done.param("state").as_deref(), Some("st-1"));
        let code = done.param("code").unwrap_or_default();
        let (status, token) = exchange(&bank.app, CE, &code, Some(&verifier)).await;
        assert_eq!(status, 200, "{token}");
        let access = token["access_token"].as_str().unwrap_or_default().to_owned();
        let accounts = ok_json(bank.app.get(CE, "/accounts", &access)).await;
        assert_eq!(ibans(&accounts), [CLAIRE_EMPTY, CLAIRE_FULL]);
    }
}

#[tokio::test]
async fn private_key_jwt_and_es256_id_tokens() {
    let bank = delegated(
        Backend::Sqlite,
        Setup {
            private_key_jwt: true,
            id_token_alg: "ES256",
            settings: json!({ "id_token_algs": ["ES256"] }),
        },
    )
    .await;
    let (journey, consent, _) = bank.authenticate("claire", "st-k").await;
    assert_eq!(consent.status, 200, "{}", consent.html);
    let done = allow(&journey, &consent).await;
    assert!(done.param("code").is_some(), "{:?}", done.location);
}

#[tokio::test]
async fn keys_rotated_by_the_provider_are_fetched_again() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (_, consent, _) = bank.authenticate("claire", "st-1").await;
    assert_eq!(consent.status, 200, "{}", consent.html);
    let rotated = bank.provider.admin("rotate", json!({})).await;
    assert!(
        rotated["kids"].as_array().is_some_and(|k| k.len() >= 4),
        "{rotated}"
    );
    // Signed with a key the bank's cached JWKS lacks.
    let (_, consent, _) = bank.authenticate("claire", "st-2").await;
    assert_eq!(consent.status, 200, "{}", consent.html);
}

/// PSUs coming back at the same time with ID tokens signed by a key the bank has not seen make
/// the bank fetch the provider's JWKS once, not once each.
#[tokio::test]
async fn callbacks_meeting_a_new_key_at_once_fetch_the_keys_once() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (_, consent, _) = bank.authenticate("claire", "st-0").await;
    assert_eq!(consent.status, 200, "{}", consent.html);
    let mut away = Vec::new();
    for i in 0..4 {
        away.push(bank.away(&format!("st-{}", i + 1), "claire").await);
    }
    bank.provider.admin("rotate", json!({})).await;
    let before = bank.provider.state().await["jwksRequests"].as_i64();
    // Every answer of the provider slowed: the four code exchanges overlap, so the four ID
    // tokens meet the bank's old key set together.
    bank.provider.admin("slow", json!({ "ms": 300 })).await;
    let [one, two, three, four] = &away[..] else {
        panic!("four journeys")
    };
    let pages = tokio::join!(
        bank.callback(&one.0, &one.1),
        bank.callback(&two.0, &two.1),
        bank.callback(&three.0, &three.1),
        bank.callback(&four.0, &four.1),
    );
    bank.provider.admin("slow", json!({ "ms": 0 })).await;
    for page in [&pages.0, &pages.1, &pages.2, &pages.3] {
        assert_eq!(page.status, 200, "{}", page.html);
    }
    let after = bank.provider.state().await["jwksRequests"].as_i64();
    assert_eq!(
        after.zip(before).map(|(after, before)| after - before),
        Some(1),
        "JWKS requests before {before:?}, after {after:?}"
    );
}

/// Nothing of a login lives in an instance's memory: the PSU leaves for the provider from one
/// instance and comes back to another (here the same database served by a new process state,
/// with the public callback address of a load balancer configured as `redirect_uri`).
#[tokio::test]
async fn the_callback_may_reach_another_instance() {
    let mut bank = delegated(
        Backend::Sqlite,
        Setup {
            settings: json!({ "redirect_uri": "https://www.17515.bank.example/sca/callback" }),
            ..Setup::default()
        },
    )
    .await;
    let (verifier, challenge) = pkce();
    let (journey, to) = bank.open("st-i", &challenge).await;
    let (client, cookie) = (journey.client.clone(), journey.cookie.clone());
    drop(journey);
    let back = bank
        .provider
        .login(&to, "claire", Some("claire-pass"))
        .await;
    bank.app.restart().await;
    let journey = Journey {
        app: &bank.app,
        bank: CE,
        client,
        cookie,
    };
    let consent = bank.callback(&journey, &back).await;
    assert_eq!(consent.status, 200, "{}", consent.html);
    let done = allow(&journey, &consent).await;
    let code = done.param("code").unwrap_or_default();
    let (status, token) = exchange(&bank.app, CE, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{token}");
}

/// The PSU's own page of the TPPs with access authenticates at the provider too.
#[tokio::test]
async fn the_psus_access_page_authenticates_at_the_provider() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let client = crate::flow::browser();
    let opened = client
        .get(format!("{}/psu/access", bank.app.psu_origin(CE)))
        .send()
        .await;
    let Ok(opened) = opened else {
        panic!("GET /psu/access")
    };
    let first = Step::read(opened).await;
    assert_eq!(first.status, 303, "{}", first.html);
    let to = first.location.clone().unwrap_or_default();
    assert!(to.starts_with(&bank.provider.issuer), "{to}");
    let journey = Journey {
        app: &bank.app,
        bank: CE,
        client,
        cookie: first.cookie.clone().unwrap_or_default(),
    };
    let back = bank
        .provider
        .login(&to, "claire", Some("claire-pass"))
        .await;
    let done = bank.callback(&journey, &back).await;
    let page = journey.access_page(&done).await;
    // CLAIRE's own page: no TPP has access yet, and her accounts can be chosen for funds
    // confirmation.
    assert!(page.html.contains("id=\"none\""), "{}", page.html);
    assert!(page.html.contains(CLAIRE_FULL), "{}", page.html);
}

/// Two answers of the provider at once (a reload): one is taken, the other finds it taken,
/// and the code is exchanged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_callbacks_at_once_exchange_the_code_once() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (journey, back, _) = bank.away("st-2x", "claire").await;
    let path = format!("/sca/callback{}", back.trim_start_matches(&bank.callback));
    let (one, two) = tokio::join!(journey.get(&path), journey.get(&path));
    let mut statuses = [one.status, two.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 409], "{} / {}", one.html, two.html);
    let consent = journey.get("/sca/consent").await;
    assert_eq!(consent.status, 200, "{}", consent.html);
}
