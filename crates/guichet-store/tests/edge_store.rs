//! SCA failure counting and blocking, funds-confirmation registrations and TPP roles, against
//! real SQLite files and a real PostgreSQL.

use std::fmt::Display;

use guichet_store::sandbox::{
    DEMO_TPP_CLIENT_ID, SANDBOX_BLOCK_REASON, SANDBOX_BLOCK_SECONDS, account_resource_id,
};
use guichet_store::testing::TestDatabase;
use guichet_store::{
    Backend, FundsCheckRecord, ScaBlockRecord, ScaFailure, Store, TppRecord, on_both_backends,
};

const CE: &str = "17515";
const PSU: &str = "D0999991I0";

async fn store(backend: Backend) -> (Store, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    let store = match Store::connect(&db.url, 4).await {
        Ok(store) => store,
        Err(e) => panic!("cannot open {}: {e}", db.url),
    };
    (store, db)
}

fn ok<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{what}: {e}"),
    }
}

/// One failed password try at `now`, with the RTS maximum of 5 and a 15-minute block.
async fn fail(store: &Store, psu: &str, now: i64) -> ScaFailure {
    ok(
        store
            .record_sca_failure(CE, psu, "password", now, 5, 900)
            .await,
        "record_sca_failure",
    )
}

async fn blocked_until(store: &Store, psu: &str, now: i64) -> Option<i64> {
    ok(
        store.sca_blocked_until(CE, psu, now).await,
        "sca_blocked_until",
    )
}

fn today() -> jiff::civil::Date {
    jiff::civil::date(2026, 11, 24)
}

on_both_backends! {
    // RTS art. 4(3)(d): at most five consecutive failed tries, then a block for a duration the
    // bank sets; after the block the count starts again.
    async fn the_fifth_failure_blocks_until_the_block_expires(backend) {
        let (store, _db) = store(backend).await;
        for expected in 1..=4 {
            let failure = fail(&store, PSU, 1000 + expected).await;
            assert_eq!(failure, ScaFailure { failures: expected, blocked_until: None });
            assert_eq!(blocked_until(&store, PSU, 1000 + expected).await, None);
        }
        let fifth = fail(&store, PSU, 1010).await;
        assert_eq!(fifth, ScaFailure { failures: 5, blocked_until: Some(1910) });
        assert_eq!(blocked_until(&store, PSU, 1010).await, Some(1910));
        assert_eq!(blocked_until(&store, PSU, 1909).await, Some(1910));
        assert_eq!(blocked_until(&store, PSU, 1910).await, None, "blocked until 1910, not at 1910");
        assert_eq!(blocked_until(&store, "D0999992I0", 1010).await, None, "other PSUs are not blocked");
        assert_eq!(ok(store.sca_blocked_until("30258", PSU, 1010).await, "other bank"), None);

        // A failure during the block goes on counting and sets no second block.
        let during = fail(&store, PSU, 1100).await;
        assert_eq!(during, ScaFailure { failures: 6, blocked_until: Some(1910) });
        let record = ok(store.sca_blocks(CE, PSU).await, "sca_blocks");
        assert_eq!(record, [ScaBlockRecord { blocked_at: 1010, blocked_until: 1910, failures: 5, reason: "password".into() }]);

        // Once the block has expired, the next failure counts 1 and there is no block.
        let after = fail(&store, PSU, 1910).await;
        assert_eq!(after, ScaFailure { failures: 1, blocked_until: None });
        assert_eq!(blocked_until(&store, PSU, 1910).await, None);
        for expected in 2..=4 {
            assert_eq!(fail(&store, PSU, 2000).await.failures, expected);
        }
        let again = fail(&store, PSU, 2000).await;
        assert_eq!(again, ScaFailure { failures: 5, blocked_until: Some(2900) });
        let record = ok(store.sca_blocks(CE, PSU).await, "sca_blocks");
        let blocked_at: Vec<i64> = record.iter().map(|b| b.blocked_at).collect();
        assert_eq!(blocked_at, [2000, 1010], "newest first");
    }
}

on_both_backends! {
    // A successful SCA ends the run of failures, but does not lift a block.
    async fn a_success_resets_the_count(backend) {
        let (store, _db) = store(backend).await;
        for _ in 0..3 {
            fail(&store, PSU, 100).await;
        }
        ok(store.reset_sca_failures(CE, PSU).await, "reset");
        assert_eq!(fail(&store, PSU, 101).await.failures, 1, "the count starts again");
        ok(store.reset_sca_failures(CE, "NOBODY").await, "reset of an unknown PSU");

        for _ in 0..4 {
            fail(&store, PSU, 102).await;
        }
        assert_eq!(blocked_until(&store, PSU, 102).await, Some(1002));
        ok(store.reset_sca_failures(CE, PSU).await, "reset while blocked");
        assert_eq!(blocked_until(&store, PSU, 103).await, Some(1002), "a success does not lift a block");
        assert_eq!(fail(&store, PSU, 1002).await, ScaFailure { failures: 1, blocked_until: None });
    }
}

on_both_backends! {
    // The bank (the sandbox command) lifts a block; the record of blocks stays.
    async fn an_unblocked_psu_starts_from_zero(backend) {
        let (store, _db) = store(backend).await;
        for _ in 0..5 {
            fail(&store, PSU, 100).await;
        }
        assert_eq!(blocked_until(&store, PSU, 100).await, Some(1000));
        assert!(ok(store.unblock_psu(CE, PSU, 200).await, "unblock"));
        assert_eq!(blocked_until(&store, PSU, 200).await, None);
        assert_eq!(fail(&store, PSU, 201).await, ScaFailure { failures: 1, blocked_until: None });
        assert!(!ok(store.unblock_psu(CE, PSU, 202).await, "unblock"), "failures but no block");
        assert!(!ok(store.unblock_psu(CE, "NOBODY", 202).await, "unblock"), "nothing at all");
        assert_eq!(fail(&store, PSU, 203).await.failures, 1, "the unblock removed the count too");
        assert_eq!(ok(store.sca_blocks(CE, PSU).await, "sca_blocks").len(), 1);

        // An expired block is not "lifted".
        for _ in 0..4 {
            fail(&store, PSU, 300).await;
        }
        assert_eq!(blocked_until(&store, PSU, 300).await, Some(1200));
        assert!(!ok(store.unblock_psu(CE, PSU, 1200).await, "unblock after expiry"));
    }
}

on_both_backends! {
    // A block set directly (the sandbox's blocked persona) keeps the count and is recorded.
    async fn a_block_can_be_set_directly(backend) {
        let (store, _db) = store(backend).await;
        ok(store.block_psu(CE, PSU, 100, 200, "sandbox").await, "block_psu");
        assert_eq!(blocked_until(&store, PSU, 150).await, Some(200));
        assert_eq!(blocked_until(&store, PSU, 200).await, None);
        assert_eq!(fail(&store, PSU, 250).await, ScaFailure { failures: 1, blocked_until: None });
        fail(&store, PSU, 260).await;
        ok(store.block_psu(CE, PSU, 300, 400, "otp").await, "block_psu");
        assert_eq!(fail(&store, PSU, 310).await, ScaFailure { failures: 3, blocked_until: Some(400) });
        let record = ok(store.sca_blocks(CE, PSU).await, "sca_blocks");
        assert_eq!(record, [
            ScaBlockRecord { blocked_at: 300, blocked_until: 400, failures: 2, reason: "otp".into() },
            ScaBlockRecord { blocked_at: 100, blocked_until: 200, failures: 0, reason: "sandbox".into() },
        ]);
        assert!(ok(store.sca_blocks(CE, "NOBODY").await, "sca_blocks").is_empty());
    }
}

/// Twenty failed tries of one PSU at once, through two stores (two pools, as two server
/// processes would have) on one PostgreSQL database. Counted under the row lock, they are
/// exactly 1 to 20 and exactly one of them blocks; a read-then-write count would give the same
/// number twice, and could set the block twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_are_counted_exactly_on_postgres() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let first = ok(Store::connect(&db.url, 8).await, "first store");
    let second = ok(Store::connect(&db.url, 8).await, "second store");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let store = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.spawn(async move { store.record_sca_failure(CE, PSU, "otp", 5000, 5, 600).await });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        results.push(ok(ok(joined, "task"), "record_sca_failure"));
    }
    let mut counts: Vec<i64> = results.iter().map(|r| r.failures).collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=20).collect::<Vec<i64>>(),
        "every failure counted once"
    );
    for result in &results {
        let expected = (result.failures >= 5).then_some(5600_i64);
        assert_eq!(result.blocked_until, expected, "{result:?}");
    }
    let record = ok(first.sca_blocks(CE, PSU).await, "sca_blocks");
    assert_eq!(
        record,
        [ScaBlockRecord {
            blocked_at: 5000,
            blocked_until: 5600,
            failures: 5,
            reason: "otp".into()
        }],
        "exactly one block"
    );
    assert_eq!(
        ok(second.sca_blocked_until(CE, PSU, 5000).await, "blocked"),
        Some(5600)
    );
    first.close().await;
    second.close().await;
}

on_both_backends! {
    // PSD2 art. 65: the bank answers a CBPII only under a contract it registered, for that TPP
    // and account (and PSU, when the request names one).
    async fn funds_checks_are_registered_revoked_and_checked(backend) {
        let (store, _db) = store(backend).await;
        ok(store.seed_sandbox(&[CE], today(), 0).await, "seed");
        let claire = account_resource_id("04003580740");
        let tpp = "PSDBE-NBB-0987654321";
        let allowed = |client: &'static str, account: String, psu: Option<&'static str>| {
            let store = store.clone();
            async move { ok(store.funds_check_allowed(CE, client, &account, psu).await, "funds_check_allowed") }
        };
        assert!(!allowed(tpp, claire.clone(), None).await, "nothing registered yet");
        ok(store.register_funds_check(CE, PSU, tpp, &claire, 10).await, "register");
        assert!(allowed(tpp, claire.clone(), None).await);
        assert!(allowed(tpp, claire.clone(), Some(PSU)).await);
        assert!(!allowed(tpp, claire.clone(), Some("D0999992I0")).await, "another PSU's contract");
        assert!(!allowed(tpp, "CPT04123456701".into(), None).await, "another account");
        assert!(!allowed("PSDFR-ACPR-99999", claire.clone(), None).await, "another TPP");
        assert!(!ok(store.funds_check_allowed("30258", tpp, &claire, None).await, "other bank"));

        ok(store.register_funds_check(CE, PSU, tpp, "CPT99999999999", 11).await, "register");
        ok(store.register_tpp(&TppRecord {
            client_id: tpp.into(),
            name: "Other TPP".into(),
            contacts: vec![],
            redirect_uris: vec![],
            registered_at: 1,
            updated_at: 1,
            roles: None,
        }, &[]).await, "register_tpp");
        let listed = ok(store.funds_checks(CE, PSU).await, "funds_checks");
        let expected = vec![
            FundsCheckRecord {
                client_id: tpp.into(),
                tpp_name: Some("Other TPP".into()),
                account_id: claire.clone(),
                iban: Some("FR7617515900000400358074026".into()),
                registered_at: 10,
            },
            FundsCheckRecord {
                client_id: tpp.into(),
                tpp_name: Some("Other TPP".into()),
                account_id: "CPT99999999999".into(),
                iban: None,
                registered_at: 11,
            },
            FundsCheckRecord {
                client_id: DEMO_TPP_CLIENT_ID.into(),
                tpp_name: None,
                account_id: claire.clone(),
                iban: Some("FR7617515900000400358074026".into()),
                registered_at: 0,
            },
            FundsCheckRecord {
                client_id: DEMO_TPP_CLIENT_ID.into(),
                tpp_name: None,
                account_id: account_resource_id("08003580740"),
                iban: Some("FR7617515900000800358074006".into()),
                registered_at: 0,
            },
        ];
        assert_eq!(listed, expected);

        assert!(ok(store.revoke_funds_check(CE, PSU, tpp, &claire, 20).await, "revoke"));
        assert!(!ok(store.revoke_funds_check(CE, PSU, tpp, &claire, 21).await, "revoke"), "already revoked");
        assert!(!ok(store.revoke_funds_check(CE, PSU, "PSDFR-ACPR-99999", &claire, 21).await, "revoke"), "never registered");
        assert!(!allowed(tpp, claire.clone(), Some(PSU)).await, "revoked");
        assert!(!allowed(tpp, claire.clone(), None).await, "revoked");
        let listed = ok(store.funds_checks(CE, PSU).await, "funds_checks");
        assert_eq!(listed.len(), 3, "{listed:?}");
        assert!(!listed.iter().any(|f| f.client_id == tpp && f.account_id == claire));

        // Registering again renews the contract.
        ok(store.register_funds_check(CE, PSU, tpp, &claire, 30).await, "register again");
        assert!(allowed(tpp, claire.clone(), Some(PSU)).await);
        let renewed = ok(store.funds_checks(CE, PSU).await, "funds_checks");
        let renewed = renewed.iter().find(|f| f.client_id == tpp && f.account_id == claire).map(|f| f.registered_at);
        assert_eq!(renewed, Some(30));
        assert!(ok(store.funds_checks(CE, "NOBODY").await, "funds_checks").is_empty());
    }
}

on_both_backends! {
    // The sandbox data set: the demo TPP's contracts (none for LEA), and BLOCKED blocked once,
    // not again after an unblock, nor a revoked contract restored, by the daily refresh.
    async fn the_sandbox_blocks_its_blocked_persona_once(backend) {
        let (store, _db) = store(backend).await;
        ok(store.seed_sandbox(&["30258", CE], today(), 1000).await, "seed");
        let blocked = ok(store.find_psu(CE, "blocked").await, "find_psu");
        let Some(blocked) = blocked else { panic!("BLOCKED is missing") };
        assert_eq!(blocked.psu_id, "D0999995I0");
        let accounts = ok(store.psu_accounts(CE, &blocked.psu_id).await, "psu_accounts");
        let ibans: Vec<&str> = accounts.iter().map(|a| a.iban.as_str()).collect();
        assert_eq!(ibans, ["FR7617515900000488877760174"]);
        let until = 1000 + SANDBOX_BLOCK_SECONDS;
        assert_eq!(blocked_until(&store, "D0999995I0", 2_000_000_000).await, Some(until));
        let record = ok(store.sca_blocks(CE, "D0999995I0").await, "sca_blocks");
        assert_eq!(record, [ScaBlockRecord { blocked_at: 1000, blocked_until: until, failures: 0, reason: SANDBOX_BLOCK_REASON.into() }]);
        assert_eq!(blocked_until(&store, "D0999991I0", 1000).await, None, "CLAIRE is not blocked");

        let demo = |bank: &'static str, account: &'static str| {
            let store = store.clone();
            async move {
                ok(store.funds_check_allowed(bank, DEMO_TPP_CLIENT_ID, &account_resource_id(account), None).await, "allowed")
            }
        };
        for (bank, account) in [
            (CE, "04003580740"),
            (CE, "08003580740"),
            (CE, "08765432101"),
            (CE, "04555444301"),
            (CE, "08222333401"),
            ("30258", "08456789101"),
            ("30258", "08111222301"),
            ("30258", "08111222302"),
        ] {
            assert!(demo(bank, account).await, "{bank} {account}");
        }
        assert!(!demo(CE, "04123456701").await, "LEA has no contract");
        assert!(!demo(CE, "04123456799").await, "LEA's savings account neither");
        assert!(!demo(CE, "04888777601").await, "BLOCKED has none");
        assert!(ok(store.funds_check_allowed(CE, DEMO_TPP_CLIENT_ID, &account_resource_id("04555444301"), Some("D0999990I0")).await, "MARC"));

        assert!(ok(store.unblock_psu(CE, "D0999995I0", 2000).await, "unblock"));
        assert!(ok(store.revoke_funds_check(CE, "D0999990I0", DEMO_TPP_CLIENT_ID, &account_resource_id("04555444301"), 2000).await, "revoke"));
        let next_day = ok(store.seed_sandbox(&["30258", CE], jiff::civil::date(2026, 11, 25), 90_000).await, "seed the next day");
        assert!(next_day.refreshed);
        assert_eq!(blocked_until(&store, "D0999995I0", 90_000).await, None, "the unblock holds");
        assert_eq!(ok(store.sca_blocks(CE, "D0999995I0").await, "sca_blocks").len(), 1);
        assert!(!demo(CE, "04555444301").await, "the revocation holds");
        assert!(demo(CE, "04003580740").await);
    }
}

on_both_backends! {
    // The roles of the TPP's certificate are kept with its registration.
    async fn tpp_roles_round_trip(backend) {
        let (store, _db) = store(backend).await;
        let mut tpp = TppRecord {
            client_id: "PSDFR-ACPR-12345".into(),
            name: "Demo".into(),
            contacts: vec!["ops@tpp.example".into()],
            redirect_uris: vec!["https://tpp.example/cb".into()],
            registered_at: 1,
            updated_at: 1,
            roles: Some(vec!["PSP_AI".into(), "PSP_PI".into(), "PSP_IC".into()]),
        };
        assert!(ok(store.register_tpp(&tpp, &[]).await, "register_tpp"), "new");
        assert_eq!(ok(store.tpp(&tpp.client_id).await, "tpp"), Some(tpp.clone()));

        tpp.roles = Some(vec!["PSP_AI".into()]);
        tpp.updated_at = 2;
        assert!(!ok(store.register_tpp(&tpp, &[]).await, "register_tpp"), "updated");
        assert_eq!(ok(store.tpp(&tpp.client_id).await, "tpp"), Some(tpp.clone()));

        let legacy = TppRecord {
            client_id: "PSDBE-NBB-0987654321".into(),
            name: "Legacy".into(),
            contacts: vec![],
            redirect_uris: vec![],
            registered_at: 3,
            updated_at: 3,
            roles: None,
        };
        assert!(ok(store.register_tpp(&legacy, &[]).await, "register_tpp"));
        let read = ok(store.tpp(&legacy.client_id).await, "tpp");
        assert_eq!(read.as_ref().and_then(|t| t.roles.clone()), None);
        assert_eq!(read, Some(legacy));
    }
}
