//! The TPP side end to end, against the sandbox: login through the SCA pages (form posting),
//! consent, sync of both banks, a report whose total is the sum of the persona's balances,
//! batch limits, token refresh and re-login, a bank down, OTHR to BOOK on a second sync.

use std::sync::Arc;

use guichet_stet::model::{Access, AccountIdentification};
use guichet_store::Backend;
use guichet_tpp::sync::{BankSync, sync_all};
use guichet_tpp::{BankEndpoints, Callback, Certificates, Config, TppError, Workspace};
use rust_decimal::Decimal;

use crate::helpers::*;

fn workspace(app: &TestApp, extra: Vec<BankEndpoints>) -> (Workspace, std::path::PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("guichet-tpp-{}-{}", std::process::id(), next_id()));
    let _ = std::fs::remove_dir_all(&dir);
    let demo = &the_pki().sandbox.demo;
    let mut banks: Vec<BankEndpoints> = [BTP, CE]
        .iter()
        .map(|code| BankEndpoints {
            code: (*code).to_owned(),
            name: format!("bank {code}"),
            api_base: app.url(code, ""),
            token_url: format!("{}/stet/psd2/oauth/token", app.origin(code)),
            revoke_url: format!("{}/stet/psd2/oauth/revoke", app.origin(code)),
            authorize_url: format!("{}/stet/psd2/oauth/authorize", app.psu_origin(code)),
        })
        .collect();
    banks.extend(extra);
    let config = Config {
        ca_file: the_pki().sandbox.ca_file.clone(),
        redirect_port: 0,
        tpp: Certificates {
            qwac: demo.qwac.clone(),
            qwac_key: demo.qwac_key.clone(),
            qseal: demo.qseal.clone(),
            qseal_key: demo.qseal_key.clone(),
            key_id_base: "https://tpp.example/qseal.pem".into(),
        },
        banks,
    };
    match Workspace::create(&dir, config) {
        Ok(ws) => (ws, dir),
        Err(e) => panic!("{e}"),
    }
}

fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The PSU logs in at a bank through its pages (posting the forms), the TPP catches the
/// redirect on its loopback callback and exchanges the code.
async fn login(app: &TestApp, ws: &Workspace, bank: &str, identifier: &str) {
    let client = ws
        .client(bank, Some("192.0.2.1".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    let callback = Callback::bind(0).await.unwrap_or_else(|e| panic!("{e}"));
    let pem = std::fs::read_to_string(&the_pki().sandbox.demo.qseal).unwrap_or_default();
    let uris = vec![
        crate::flow::REDIRECT.to_owned(),
        callback.redirect_uri.clone(),
    ];
    let _ = guichet_aspsp::sandbox::register_tpp(
        &app.state().store,
        "Guichet Demo TPP",
        &uris,
        &pem,
        0,
    )
    .await;
    let request = client
        .authorization_request(&callback.redirect_uri, "aisp")
        .unwrap_or_else(|e| panic!("{e}"));
    let waiting = tokio::spawn(callback.wait(std::time::Duration::from_secs(20)));
    if let Err(e) =
        guichet_tpp::sandbox::log_in(&request.url, &the_pki().sandbox.ca_file, identifier).await
    {
        panic!("{e}");
    }
    let params = match waiting.await {
        Ok(Ok(params)) => params,
        other => panic!("no callback: {other:?}"),
    };
    let tokens = client
        .exchange_code(
            &request,
            params.get("code").map(String::as_str).unwrap_or(""),
            params.get("state").map(String::as_str).unwrap_or(""),
        )
        .await;
    assert!(tokens.is_ok(), "{tokens:?}");
}

async fn consent_everything(ws: &Workspace, bank: &str) {
    let client = ws
        .client(bank, Some("192.0.2.1".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    let accounts = client.accounts().await.unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<AccountIdentification> = accounts
        .iter()
        .filter_map(|a| a.account_id.clone())
        .map(|mut i| {
            i.currency = None;
            i
        })
        .collect();
    let access = Access {
        balances: ids.clone(),
        transactions: ids,
        trusted_beneficiaries: false,
        psu_identity: false,
    };
    assert!(client.put_consents(&access).await.is_ok());
}

async fn sync(ws: &Workspace, batch: bool) -> Vec<BankSync> {
    let clients = ws
        .clients(if batch {
            None
        } else {
            Some("192.0.2.1".into())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let store = ws.store().await.unwrap_or_else(|e| panic!("{e}"));
    sync_all(
        clients,
        store,
        batch,
        jiff::civil::date(2026, 11, 24),
        Arc::new(|_: &str, _: &str| {}),
    )
    .await
}

fn ok(results: &[BankSync]) -> Vec<guichet_tpp::sync::SyncCounts> {
    results
        .iter()
        .map(|r| match &r.outcome {
            Ok(counts) => counts.clone(),
            Err(e) => panic!("{}: {e}", r.bank),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn georges_aggregates_his_two_banks() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let (ws, dir) = workspace(&app, vec![]);
    for bank in [BTP, CE] {
        login(&app, &ws, bank, "GEORGES").await;
        consent_everything(&ws, bank).await;
    }
    let first = ok(&sync(&ws, false).await);
    assert!(
        first
            .iter()
            .all(|c| c.accounts == 1 && c.new_transactions > 0),
        "{first:?}"
    );
    let store = ws.store().await.unwrap_or_else(|e| panic!("{e}"));
    let report = guichet_tpp::report::build(
        &store,
        jiff::civil::date(2026, 10, 25),
        jiff::civil::date(2026, 11, 25),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // GEORGES: 18 342.56 at Caisse d'Epargne and 7 450.20 at BTP Banque.
    assert_eq!(
        report.totals.get("EUR").copied(),
        Some(Decimal::new(2_579_276, 2))
    );
    assert!(report.income > Decimal::ZERO && report.spending > Decimal::ZERO);
    assert_eq!(report.history.len(), 31);
    assert_eq!(
        report.history.last().map(|(_, v)| *v),
        Some(Decimal::new(2_579_276, 2))
    );
    let html = guichet_tpp::report::html(&report);
    assert!(html.contains("<svg") && html.contains("25,792.76"));
    assert!(
        !html.contains("src=") && !html.contains("href=") && !html.contains("<link"),
        "self-contained: no external resource"
    );
    let table = guichet_tpp::report::table(&report);
    assert!(
        table.contains("TOTAL POSITION") && table.contains("25792.76 EUR"),
        "{table}"
    );
    let transactions = store.transactions(None, None).await.unwrap_or_default();
    let pending: Vec<String> = transactions
        .iter()
        .filter(|t| t.status == "OTHR")
        .map(|t| t.key.clone())
        .collect();
    assert!(!pending.is_empty());
    let csv = guichet_tpp::export::csv(&transactions);
    assert_eq!(csv.lines().count(), transactions.len() + 1);
    let json: serde_json::Value =
        serde_json::from_str(&guichet_tpp::export::json(&transactions)).unwrap_or_default();
    assert_eq!(json.as_array().map(Vec::len), Some(transactions.len()));
    let ofx = guichet_tpp::export::ofx(
        &store.accounts().await.unwrap_or_default(),
        &transactions,
        "20261124",
    );
    // Issue #11: pending operations go in OFX's pending list, never among the posted ones.
    assert_eq!(
        ofx.matches("<STMTTRN>").count(),
        transactions.len() - pending.len()
    );
    assert_eq!(ofx.matches("<STMTTRNP>").count(), pending.len());
    let before = transactions.len();

    // Three days later the pending operations are booked: a second sync updates them.
    app.clock.advance(jiff::SignedDuration::from_hours(72));
    app.restart().await;
    let ws = Workspace {
        dir: ws.dir.clone(),
        config: Workspace::open(&ws.dir)
            .map(|w| w.config)
            .unwrap_or_else(|e| panic!("{e}")),
    };
    let mut config = ws.config.clone();
    for bank in &mut config.banks {
        bank.api_base = app.url(&bank.code, "");
        bank.token_url = format!("{}/stet/psd2/oauth/token", app.origin(&bank.code));
        bank.revoke_url = format!("{}/stet/psd2/oauth/revoke", app.origin(&bank.code));
    }
    let ws = Workspace::create(&ws.dir, config).unwrap_or_else(|e| panic!("{e}"));
    let second = ok(&sync(&ws, false).await);
    assert!(
        second.iter().map(|c| c.updated_transactions).sum::<usize>() >= pending.len(),
        "{second:?}"
    );
    let after = store.transactions(None, None).await.unwrap_or_default();
    for key in &pending {
        let matching: Vec<_> = after.iter().filter(|t| &t.key == key).collect();
        assert_eq!(matching.len(), 1, "{key} not duplicated");
        assert_eq!(matching[0].status, "BOOK");
    }
    assert!(after.len() >= before, "nothing lost");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_syncs_stop_at_the_daily_allowance_and_say_so() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (ws, dir) = workspace(&app, vec![]);
    login(&app, &ws, CE, "LEA").await;
    consent_everything(&ws, CE).await;
    // The first sync reads two pages of transactions (two calls), the next ones only the new
    // days (one call): the allowance of 4 transactions calls is spent at the third sync, and
    // the fourth says so instead of reporting "no new transactions".
    let mut limited_at = None;
    for round in 1..=4 {
        let counts = ok(&sync(&ws, true).await);
        if counts[0]
            .rate_limited
            .iter()
            .any(|r| r.ends_with("transactions"))
        {
            assert_eq!(counts[0].new_transactions, 0);
            limited_at = Some(round);
            break;
        }
    }
    assert!(
        limited_at.is_some(),
        "the allowance must run out within four batch syncs"
    );
    let (iban, _) = accounts_of(CE, "LEA").remove(0);
    let key = guichet_store::CallKey {
        bank_code: CE,
        client_id: "PSDFR-ACPR-12345",
        psu_id: "D0999992I0",
        account_id: "CPT04123456701",
        method: "transactions",
        day: "2026-11-24",
    };
    assert_eq!(
        app.state().store.calls_made(&key).await.ok(),
        Some(4),
        "exactly the 4 calls of the day were spent, none refused ({iban})"
    );
    for _ in 0..4 {
        let _ = sync(&ws, true).await;
    }
    let _fifth = sync(&ws, true).await;
    // A TPP that kept no count of its own learns it from the bank: 429, never retried.
    let (fresh, fresh_dir) = workspace(&app, vec![]);
    std::fs::create_dir_all(fresh.dir.join("tokens")).unwrap_or_default();
    let _ = fresh.save_tokens(CE, ws.tokens(CE).as_ref());
    let client = fresh.client(CE, None).unwrap_or_else(|e| panic!("{e}"));
    match client.accounts().await {
        Err(TppError::RateLimited { retry_after }) => assert!(retry_after > 0),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    let present = fresh
        .client(CE, Some("192.0.2.1".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        present.accounts().await.is_ok(),
        "with the PSU present there is no limit"
    );
    let summary = guichet_tpp::sync::sync_bank(
        &client,
        &fresh.store().await.unwrap_or_else(|e| panic!("{e}")),
        true,
        jiff::civil::date(2026, 11, 24),
        &|_: &str| {},
    )
    .await;
    assert!(matches!(summary, Err(TppError::RateLimited { .. })));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&fresh_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_refresh_and_a_revoked_access_asks_for_a_new_login() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (ws, dir) = workspace(&app, vec![]);
    login(&app, &ws, CE, "MARC").await;
    let client = ws
        .client(CE, Some("192.0.2.1".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    let before = client.tokens().map(|t| t.access_token);
    // The bank's access token expires (10 minutes); the client refreshes once and goes on.
    app.clock.advance(jiff::SignedDuration::from_mins(11));
    assert!(client.accounts().await.is_ok());
    let after = ws.tokens(CE).map(|t| t.access_token);
    assert_ne!(before, after, "the refreshed tokens are saved");
    // The PSU revokes the TPP at the bank: the next call says to log in again.
    let _ = app
        .state()
        .store
        .revoke_psu_access(CE, "D0999990I0", "PSDFR-ACPR-12345", app.clock_now())
        .await;
    let client = ws
        .client(CE, Some("192.0.2.1".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    match client.accounts().await {
        Err(TppError::ReauthenticationNeeded(_)) => {}
        other => panic!("expected ReauthenticationNeeded, got {other:?}"),
    }
    login(&app, &ws, CE, "MARC").await;
    assert!(
        ws.client(CE, Some("192.0.2.1".into()))
            .unwrap_or_else(|e| panic!("{e}"))
            .accounts()
            .await
            .is_ok()
    );
    // Issue #11, item 5: the bank ends the access token (not expired: revoked) but keeps the
    // refresh token; the client refreshes once on `invalid_token` and replays the call.
    let revoked = guichet_store::testing::revoke_access_tokens(
        &app.state().store,
        "PSDFR-ACPR-12345",
        "D0999990I0",
        app.clock_now(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(revoked >= 1, "an access token was live");
    let before = ws.tokens(CE).map(|t| t.access_token);
    let client = ws
        .client(CE, Some("192.0.2.1".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    let accounts = client.accounts().await;
    assert!(accounts.is_ok(), "refreshed and replayed: {accounts:?}");
    assert_ne!(
        before,
        ws.tokens(CE).map(|t| t.access_token),
        "new tokens saved"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bank_down_does_not_stop_the_others() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1);
    let down = BankEndpoints {
        code: "99999".into(),
        name: "Closed bank".into(),
        api_base: format!("https://127.0.0.1:{closed}/stet/psd2/v1.4.2"),
        token_url: format!("https://127.0.0.1:{closed}/stet/psd2/oauth/token"),
        revoke_url: format!("https://127.0.0.1:{closed}/stet/psd2/oauth/revoke"),
        authorize_url: format!("https://127.0.0.1:{closed}/stet/psd2/oauth/authorize"),
    };
    let (ws, dir) = workspace(&app, vec![down]);
    login(&app, &ws, CE, "GEORGES").await;
    consent_everything(&ws, CE).await;
    let fake = guichet_tpp::Tokens {
        access_token: "x".into(),
        refresh_token: None,
        expires_at: i64::MAX / 2,
        refresh_expires_at: None,
        scope: "aisp".into(),
    };
    let _ = ws.save_tokens("99999", Some(&fake));
    let results = sync(&ws, false).await;
    let by_bank = |code: &str| results.iter().find(|r| r.bank == code).map(|r| &r.outcome);
    assert!(matches!(by_bank(CE), Some(Ok(counts)) if counts.new_transactions > 0));
    assert!(
        matches!(
            by_bank("99999"),
            Some(Err(TppError::BankUnavailable { .. }))
        ),
        "{:?}",
        by_bank("99999")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
