//! The store against real SQLite files and a real PostgreSQL.

use guichet_store::testing::TestDatabase;
use guichet_store::{
    Backend, CallKey, ConsentRecord, DelegatedLogin, NewToken, ScaAttempt, Store, TokenKind,
    new_family_id, on_both_backends,
};

async fn store(backend: Backend) -> (Store, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    let store = match Store::connect(&db.url, 4).await {
        Ok(store) => store,
        Err(e) => panic!("cannot open {}: {e}", db.url),
    };
    (store, db)
}

fn today() -> jiff::civil::Date {
    jiff::civil::date(2026, 11, 24)
}

/// After the sandbox's seed, PostgreSQL's planner knows the size of every table the API's
/// reads join: the token's query is not planned on guesses (BENCHMARKS.md, 7 December).
#[tokio::test]
async fn the_seeded_tables_are_analyzed_on_postgresql() {
    let (store, _db) = store(Backend::Postgres).await;
    let read_by_the_api = [
        "accounts",
        "balances",
        "beneficiaries",
        "consent_accounts",
        "consents",
        "psus",
        "tokens",
        "tpp_qseals",
        "transactions",
    ];
    let never_analyzed = || async {
        match guichet_store::testing::tables_never_analyzed(&store).await {
            Ok(tables) => tables,
            Err(e) => panic!("reading pg_class: {e}"),
        }
    };
    let before = never_analyzed().await;
    assert!(
        read_by_the_api
            .iter()
            .all(|t| before.contains(&t.to_string())),
        "a new database: {before:?}"
    );
    let seeded = store.seed_sandbox(&["30258", "17515"], today(), 0).await;
    assert!(seeded.is_ok(), "{seeded:?}");
    let after = never_analyzed().await;
    assert!(
        read_by_the_api
            .iter()
            .all(|t| !after.contains(&t.to_string())),
        "{after:?}"
    );
}

on_both_backends! {
    async fn the_sandbox_is_seeded_once_a_day(backend) {
        let (store, _db) = store(backend).await;
        let first = store.seed_sandbox(&["30258", "17515"], today(), 0).await.ok();
        let Some(first) = first else { panic!("seeding failed") };
        assert!(first.refreshed);
        assert!(first.transactions > 2000, "{first:?}");
        let again = store.seed_sandbox(&["30258", "17515"], today(), 0).await.ok();
        assert_eq!(again.map(|s| s.refreshed), Some(false));
        let next_day = store.seed_sandbox(&["30258", "17515"], jiff::civil::date(2026, 11, 25), 0).await.ok();
        assert_eq!(next_day.map(|s| s.refreshed), Some(true));
        let claire = store.find_psu("17515", "claire").await.ok().flatten();
        let Some(claire) = claire else { panic!("CLAIRE is missing") };
        let accounts = store.psu_accounts("17515", &claire.psu_id).await.unwrap_or_default();
        let ibans: Vec<_> = accounts.iter().map(|a| a.iban.as_str()).collect();
        assert_eq!(ibans, ["FR7617515900000400358074026", "FR7617515900000800358074006"]);
    }
}

on_both_backends! {
    async fn a_consent_is_replaced_as_a_whole(backend) {
        let (store, _db) = store(backend).await;
        let mut consent = ConsentRecord { psu_identity: true, updated_at: 1, ..ConsentRecord::default() };
        consent.balances.insert("CPT1".into());
        consent.transactions.insert("CPT2".into());
        assert!(store.replace_consent("17515", "P", "TPP", &consent).await.is_ok());
        let replacement = ConsentRecord { updated_at: 2, ..ConsentRecord::default() };
        assert!(store.replace_consent("17515", "P", "TPP", &replacement).await.is_ok());
        let stored = store.consent("17515", "P", "TPP").await.ok().flatten();
        assert_eq!(stored, Some(replacement));
        assert_eq!(store.consent("17515", "P", "OTHER").await.ok().flatten(), None);
    }
}

on_both_backends! {
    async fn the_fifth_call_of_a_day_is_refused(backend) {
        let (store, _db) = store(backend).await;
        let key = CallKey { bank_code: "17515", client_id: "T", psu_id: "P", account_id: "A", method: "balances", day: "2026-11-24" };
        let mut remaining = Vec::new();
        for _ in 0..5 {
            remaining.push(store.take_call(&key, 4).await.ok().flatten());
        }
        assert_eq!(remaining, [Some(3), Some(2), Some(1), Some(0), None]);
        assert_eq!(store.calls_made(&key).await.ok(), Some(4));
        let tomorrow = CallKey { day: "2026-11-25", ..key };
        assert_eq!(store.take_call(&tomorrow, 4).await.ok().flatten(), Some(3));
    }
}

on_both_backends! {
    // A refresh token renews once: of two renewals racing, one gets the new pair, the other
    // nothing, and no half pair is ever stored.
    async fn a_refresh_token_is_replaced_once(backend) {
        let (store, _db) = store(backend).await;
        let family = new_family_id().unwrap_or_default();
        let token = |kind| NewToken {
            kind,
            family_id: family.clone(),
            bank_code: "17515".into(),
            client_id: "PSDFR-ACPR-12345".into(),
            psu_id: Some("P".into()),
            scopes: vec!["aisp".into()],
            issued_at: 0,
            expires_at: 1000,
            sca_at: Some(0),
            cert_thumbprint: None,
        };
        let first = store.issue_tokens(&[token(TokenKind::Access), token(TokenKind::Refresh)], None, 0).await.ok().flatten().unwrap_or_default();
        assert_eq!(first.len(), 2);
        let old = first[1].clone();
        let pair = [token(TokenKind::Access), token(TokenKind::Refresh)];
        let (a, b) = tokio::join!(store.issue_tokens(&pair, Some(&old), 10), store.issue_tokens(&pair, Some(&old), 10));
        let winners = [a, b].into_iter().filter(|r| matches!(r, Ok(Some(_)))).count();
        assert_eq!(winners, 1, "exactly one renewal wins");
        let record = store.find_token(&old, TokenKind::Refresh, "17515").await.ok().flatten();
        assert_eq!(record.and_then(|r| r.revoked_at), Some(10));
    }
}

fn attempt(id: &str, expires_at: i64) -> ScaAttempt {
    ScaAttempt {
        id: id.into(),
        bank_code: "17515".into(),
        purpose: "authorize".into(),
        client_id: Some("PSDFR-ACPR-12345".into()),
        redirect_uri: Some("https://tpp.example/cb".into()),
        scope: Some("aisp".into()),
        state: None,
        code_challenge: None,
        csrf: format!("csrf-{id}"),
        psu_id: None,
        stage: "oidc".into(),
        failures: 0,
        otp_hash: None,
        otp_shown: None,
        sca_at: None,
        created_at: expires_at - 600,
        expires_at,
        delegated: Some(DelegatedLogin {
            state_hash: format!("hash-{id}"),
            nonce: format!("nonce-{id}"),
            verifier: format!("verifier-{id}"),
        }),
    }
}

on_both_backends! {
    // A delegated login's state is kept with its attempt, given back whole, cleared once used,
    // and forgotten with the attempt when it is long expired.
    async fn sca_attempts_keep_their_delegated_login_and_are_pruned(backend) {
        let (store, _db) = store(backend).await;
        let now = 1_800_000_000;
        for (id, expires_at) in [("old", now - 7_200), ("alive", now + 600)] {
            assert!(store.create_attempt(&attempt(id, expires_at)).await.is_ok());
        }
        let read = store.attempt("alive").await.ok().flatten();
        assert_eq!(read, Some(attempt("alive", now + 600)));
        let mut used = attempt("alive", now + 600);
        used.delegated = None;
        used.stage = "consent".into();
        assert_eq!(store.advance_attempt(&used, "oidc").await.ok(), Some(true));
        assert_eq!(store.advance_attempt(&used, "oidc").await.ok(), Some(false), "used once");
        let read = store.attempt("alive").await.ok().flatten();
        assert_eq!(read.and_then(|a| a.delegated), None);
        assert_eq!(store.prune_attempts(now - 3_600).await.ok(), Some(1));
        assert_eq!(store.attempt("old").await.ok().flatten(), None);
        assert!(store.attempt("alive").await.ok().flatten().is_some());
    }
}
