//! The journeys through the bank's provider that end without access: cancel and refusal,
//! a level below SCA, a stranger, an ID token failing a check, the provider down or slow,
//! forged, replayed or mixed-up answers. Each has its page and its error to the TPP.

use std::time::{Duration, Instant};

use serde_json::json;

use super::*;

#[tokio::test]
async fn the_psu_who_cancels_at_the_provider_or_refuses_on_the_consent_page_sends_access_denied() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (_, challenge) = pkce();
    let (journey, to) = bank.open("st-c", &challenge).await;
    let back = bank.provider.login(&to, "claire", None).await;
    let done = tpp_redirect(&bank.callback(&journey, &back).await);
    assert_eq!(done.param("error").as_deref(), Some("access_denied"));
    assert_eq!(done.param("state").as_deref(), Some("st-c"));

    let (journey, consent, _) = bank.authenticate("claire", "st-r").await;
    let refused = tpp_redirect(
        &journey
            .post(
                "/sca/consent",
                &[("csrf", &consent.csrf()), ("decision", "refuse")],
            )
            .await,
    );
    assert_eq!(refused.param("error").as_deref(), Some("access_denied"));
    assert_eq!(refused.param("code"), None);
}

#[tokio::test]
async fn an_authentication_below_sca_or_of_a_stranger_is_refused_with_its_page() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    for (login, status, words) in [
        ("onefactor", 403, "authentification forte"),
        ("lowacr", 403, "authentification forte"),
        ("stranger", 403, "pas client"),
    ] {
        let (journey, page, _) = bank.authenticate(login, "st-l").await;
        assert_eq!(page.status, status, "{login}: {}", page.html);
        assert!(page.html.contains(words), "{login}: {}", page.html);
        let back = leave(&journey, &page).await;
        assert_eq!(
            back.param("error").as_deref(),
            Some("access_denied"),
            "{login}"
        );
        assert_eq!(back.param("state").as_deref(), Some("st-l"));
    }
}

#[tokio::test]
async fn an_id_token_that_fails_a_check_gives_no_access() {
    // Signed with RS256 where the bank accepts ES256 only.
    let bank = delegated(
        Backend::Sqlite,
        Setup {
            settings: json!({ "id_token_algs": ["ES256"] }),
            ..Setup::default()
        },
    )
    .await;
    let (journey, page, _) = bank.authenticate("claire", "st-a").await;
    assert_eq!(page.status, 502, "{}", page.html);
    assert_eq!(
        leave(&journey, &page).await.param("error").as_deref(),
        Some("access_denied")
    );

    // Expired: the bank's clock is past the ID token's `exp` (300 s) when the callback comes,
    // within the attempt's ten minutes.
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (journey, back, _) = bank.away("st-e", "claire").await;
    bank.app.clock.advance(jiff::SignedDuration::from_secs(420));
    let page = bank.callback(&journey, &back).await;
    assert_eq!(page.status, 502, "{}", page.html);
    assert_eq!(
        leave(&journey, &page).await.param("error").as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn a_provider_down_or_slow_gives_a_page_within_its_timeout_and_temporarily_unavailable() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    // Down before the bank ever read its metadata: the bank cannot send the PSU there.
    bank.provider.admin("down", json!({})).await;
    let (_, challenge) = pkce();
    let (journey, first) =
        Journey::open(&bank.app, CE, &query("aisp", "st-d", Some(&challenge))).await;
    assert_eq!(first.status, 503, "{}", first.html);
    let back = leave(&journey, &first).await;
    assert_eq!(
        back.param("error").as_deref(),
        Some("temporarily_unavailable")
    );
    assert_eq!(back.param("state").as_deref(), Some("st-d"));
    // While the failure is recent, the next PSU gets the page at once rather than waiting
    // on the provider again.
    bank.provider.admin("up", json!({})).await;
    let (_, challenge) = pkce();
    let (_, again) = Journey::open(&bank.app, CE, &query("aisp", "st-d2", Some(&challenge))).await;
    assert_eq!(again.status, 503, "{}", again.html);
    // Thirty seconds later the provider is asked again.
    bank.app.clock.advance(jiff::SignedDuration::from_secs(31));

    // Slow once the PSU has logged in: the code exchange is cut at `timeout_seconds` (2 s).
    let (journey, back, _) = bank.away("st-s", "claire").await;
    bank.provider.admin("slow", json!({ "ms": 6000 })).await;
    let started = Instant::now();
    let page = bank.callback(&journey, &back).await;
    let took = started.elapsed();
    assert_eq!(page.status, 503, "{}", page.html);
    assert!(took < Duration::from_secs(5), "the bank waited {took:?}");
    let back = leave(&journey, &page).await;
    assert_eq!(
        back.param("error").as_deref(),
        Some("temporarily_unavailable")
    );
    bank.provider.admin("slow", json!({ "ms": 0 })).await;

    // Down at the code exchange.
    let (journey, back, _) = bank.away("st-x", "claire").await;
    bank.provider.admin("down", json!({})).await;
    let page = bank.callback(&journey, &back).await;
    assert_eq!(page.status, 503, "{}", page.html);
}

#[tokio::test]
async fn a_forged_or_replayed_callback_changes_nothing() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (journey, back, _) = bank.away("st-f", "claire").await;
    // Another state: refused, and the attempt still waits for the real answer.
    let forged = journey.get("/sca/callback?code=forged&state=forged").await;
    assert_eq!(forged.status, 400, "{}", forged.html);
    // The real answer without the browser's cookie: no session.
    let path = back.trim_start_matches(&bank.app.psu_origin(CE)).to_owned();
    let stranger = Journey {
        app: &bank.app,
        bank: CE,
        client: journey.client.clone(),
        cookie: String::new(),
    };
    assert_eq!(stranger.get(&path).await.status, 400);
    let consent = bank.callback(&journey, &back).await;
    assert_eq!(consent.status, 200, "{}", consent.html);
    // Used once.
    let again = bank.callback(&journey, &back).await;
    assert_eq!(again.status, 409, "{}", again.html);
}

/// RFC 9207: an answer naming another issuer is a mix-up, refused even with this browser's
/// `state`; the TPP is told `server_error`.
#[tokio::test]
async fn an_answer_from_another_issuer_is_refused() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (journey, back, _) = bank.away("st-iss", "claire").await;
    let Ok(mut url) = reqwest::Url::parse(&back) else {
        panic!("{back}")
    };
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "iss" {
                "https://login.other-bank.example".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    assert!(
        pairs.iter().any(|(k, _)| k == "iss"),
        "the provider sends iss: {back}"
    );
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let page = bank.callback(&journey, url.as_str()).await;
    assert_eq!(page.status, 502, "{}", page.html);
    let back = leave(&journey, &page).await;
    assert_eq!(back.param("error").as_deref(), Some("server_error"));
}

/// An ID token whose `nonce` is not the one this attempt sent (a code obtained for another
/// request and injected here) gives no access.
#[tokio::test]
async fn an_id_token_of_another_request_gives_no_access() {
    let bank = delegated(Backend::Sqlite, Setup::default()).await;
    let (journey, back, _) = bank.away("st-n", "claire").await;
    // The attempt now expects another nonce than the one the provider put in the token.
    let id = journey
        .cookie
        .trim_start_matches("__Host-guichet_sca=")
        .to_owned();
    let store = &bank.app.state().store;
    let mut attempt = match store.attempt(&id).await {
        Ok(Some(attempt)) => attempt,
        other => panic!("the attempt: {other:?}"),
    };
    let Some(login) = attempt.delegated.as_mut() else {
        panic!("no delegated login on the attempt")
    };
    login.nonce = "another-request-nonce".into();
    assert_eq!(
        store.advance_attempt(&attempt, "oidc").await.ok(),
        Some(true)
    );
    let page = bank.callback(&journey, &back).await;
    assert_eq!(page.status, 502, "{}", page.html);
    let back = leave(&journey, &page).await;
    assert_eq!(back.param("error").as_deref(), Some("access_denied"));
}
