//! Issue #9: PostgreSQL stopped while the bank serves. Requests answer a 503 ErrorModel within
//! a second (no hang, no 500), the PSU's pages a 503 page with `Retry-After`; service resumes
//! without a restart once it is back. The test stops and starts a PostgreSQL cluster of its
//! own.

use std::time::{Duration, Instant};

use guichet_aspsp::{BankProfile, Mode};
use guichet_store::testing::TestDatabase;
use guichet_store::testing::cluster::OwnCluster;

use crate::flow::{Journey, Step, code_for, exchange, query};
use crate::helpers::*;

/// A PSU page the store could not serve: 503, try again in a few seconds.
fn assert_unavailable_page(page: &Step, what: &str) {
    assert_eq!(page.status, 503, "{what}: {}", page.html);
    assert_eq!(
        page.headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5"),
        "{what}"
    );
    assert!(
        page.html.contains("momentanément indisponible"),
        "{what}: {}",
        page.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_within_a_second_and_service_resumes() {
    let own = match OwnCluster::start() {
        Ok(own) => own,
        Err(e) => panic!("this test needs PostgreSQL's binaries to run a cluster of its own: {e}"),
    };
    let cluster = own.0.clone();
    let db = TestDatabase::on_postgres(cluster.admin_url()).await;
    let app = TestApp::spawn_on(
        db,
        BankProfile::sandbox_banks(),
        Mode::Sandbox,
        the_pki().sandbox.tls.clone(),
    )
    .await;
    let token = app.token(CE, "CLAIRE", &["aisp"]).await;
    ok_json(app.get(CE, "/accounts", &token)).await;
    let (journey, login) = Journey::open(&app, CE, &query("aisp", "st-outage", None)).await;
    assert_eq!(login.status, 200, "{}", login.html);

    if let Err(e) = cluster.stop() {
        panic!("stopping PostgreSQL: {e}");
    }
    for _ in 0..3 {
        let started = Instant::now();
        let refused = expect_error(app.get(CE, "/accounts", &token), 503, "unavailable").await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "503 within a second, not after {:?}",
            started.elapsed()
        );
        assert_eq!(refused["status"], 503);
    }
    // The PSU's pages: a new authorization (the TPP cannot be read), a login posted in a
    // journey begun before (its SCA attempt cannot be read), the access page (no attempt can
    // be stored). Never a 500, and no failed try counted against the PSU.
    let (_, authorize) = Journey::open(&app, CE, &query("aisp", "st-down", None)).await;
    assert_unavailable_page(&authorize, "authorize");
    let posted = journey.login(&login.csrf(), "CLAIRE", "sandbox").await;
    assert_unavailable_page(&posted, "login");
    assert_unavailable_page(&journey.get("/psu/access").await, "access page");
    let ready = tower::ServiceExt::oneshot(
        guichet_aspsp::ops::router(app.state().clone()),
        axum::http::Request::get("/health/ready")
            .body(axum::body::Body::empty())
            .unwrap_or_default(),
    )
    .await;
    let Ok(ready) = ready;
    assert_eq!(
        ready.status().as_u16(),
        503,
        "not ready while the database is down"
    );

    if let Err(e) = cluster.start() {
        panic!("restarting PostgreSQL: {e}");
    }
    let back = Instant::now();
    loop {
        let status = send(app.get(CE, "/accounts", &token))
            .await
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "only 503 while reconnecting");
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "service did not resume"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The journey begun before the outage goes on: its attempt was kept, no try was spent.
    let done = journey.authenticate(&login, "CLAIRE").await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(done.param("state").as_deref(), Some("st-outage"));
    assert!(done.param("code").is_some(), "{:?}", done.location);
    drop(app);
    drop(own);
}

/// A read that fails on a PSU page is never taken for absent data: a login whose PSU cannot be
/// read is not a wrong password (no failure counted in the attempt), an access page whose
/// lists cannot be read is not one with empty lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_read_on_a_psu_page_is_never_taken_for_absent_data() {
    let app = TestApp::spawn(guichet_store::Backend::Sqlite).await;
    let (journey, login) = Journey::open(&app, CE, &query("aisp", "st-read", None)).await;
    assert_eq!(login.status, 200, "{}", login.html);
    rename_table(&app, "psus", "psus_away").await;
    let posted = journey.login(&login.csrf(), "CLAIRE", "sandbox").await;
    rename_table(&app, "psus_away", "psus").await;
    assert_eq!(posted.status, 500, "{}", posted.html);
    assert!(posted.html.contains("Erreur interne"), "{}", posted.html);
    // Nothing was counted: two wrong passwords now are the attempt's first two failures (a
    // third would lock it), and the right one still passes.
    for _ in 0..2 {
        let wrong = journey.login(&login.csrf(), "CLAIRE", "wrong").await;
        assert_eq!(wrong.status, 200, "{}", wrong.html);
        assert!(wrong.html.contains("id=\"error\""), "{}", wrong.html);
    }
    let done = journey.authenticate(&login, "CLAIRE").await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(done.param("state").as_deref(), Some("st-read"));

    let (access, page) = crate::funds_registration::manage(&app, "CLAIRE").await;
    assert!(page.html.contains("PSDFR-ACPR-12345"), "{}", page.html);
    rename_table(&app, "funds_checks", "funds_checks_away").await;
    let broken = access.get("/psu/access").await;
    rename_table(&app, "funds_checks_away", "funds_checks").await;
    assert_eq!(broken.status, 500, "{}", broken.html);
    assert!(!broken.html.contains("PSDFR-ACPR-12345"), "{}", broken.html);
    assert_eq!(access.get("/psu/access").await.status, 200);
}

/// PostgreSQL stops a write in a conflict with another writer (a deadlock, 40P01, or a
/// serialization failure, 40001): the request may succeed if made again, so the TPP is told
/// 503 with `Retry-After`, an ErrorModel and its X-Request-ID, never 500; nothing of the
/// stopped transaction is kept. The conflict is PostgreSQL's own error, raised by a trigger on
/// the consents the request writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_stopped_in_a_conflict_answers_503_and_keeps_nothing() {
    let app = TestApp::spawn(guichet_store::Backend::Postgres).await;
    let token = app.token(CE, "LEA", &["aisp"]).await;
    let (iban, resource_id) = accounts_of(CE, "LEA").remove(0);
    let consent = serde_json::json!({"balances": [{"iban": iban}], "transactions": [],
        "psuIdentity": false, "trustedBeneficiaries": false});
    let balances = format!("/accounts/{resource_id}/balances");
    for code in ["40P01", "40001"] {
        conflict_on(&app, "consents", code).await;
        let response = app.put_consent(CE, &token, &consent).await;
        assert_eq!(response.status().as_u16(), 503, "{code}");
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("1"),
            "{code}"
        );
        assert!(response.headers().get("x-request-id").is_some(), "{code}");
        let refused = body(response).await;
        assert_eq!(refused["status"], 503, "{code}: {refused}");
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains("retry shortly")),
            "{code}: {refused}"
        );
        // No consent was kept: the account's balances stay out of reach.
        expect_error(app.get(CE, &balances, &token), 403, "").await;
    }
    conflict_lifted(&app, "consents").await;
    let made_again = app.put_consent(CE, &token, &consent).await;
    assert_eq!(
        made_again.status().as_u16(),
        201,
        "made again, it goes through"
    );
    ok_json(app.get(CE, &balances, &token)).await;
}

/// PostgreSQL's own error `code` raised by every write of `table` from now on.
async fn conflict_on(app: &TestApp, table: &str, code: &str) {
    let raise = [
        format!(
            "CREATE OR REPLACE FUNCTION conflict_now() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '{code}'; END $$"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER conflict_now BEFORE INSERT OR UPDATE ON {table} \
             FOR EACH ROW EXECUTE FUNCTION conflict_now()"
        ),
    ];
    for sql in raise {
        if let Err(e) = guichet_store::testing::execute(&app.state().store, &sql).await {
            panic!("{e}");
        }
    }
}

async fn conflict_lifted(app: &TestApp, table: &str) {
    let lift = format!("DROP TRIGGER conflict_now ON {table}");
    if let Err(e) = guichet_store::testing::execute(&app.state().store, &lift).await {
        panic!("{e}");
    }
}

/// A code redeemed whose tokens PostgreSQL refused for a moment (a deadlock, 40P01): /token
/// answers 503 `temporarily_unavailable`, and the code is given back, so that the same
/// request made again gets the tokens; the code stays single-use after that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_whose_tokens_were_refused_for_a_moment_is_redeemed_when_asked_again() {
    let app = TestApp::spawn(guichet_store::Backend::Postgres).await;
    let code = code_for(&app, CE, "CLAIRE", "aisp", None).await;
    conflict_on(&app, "tokens", "40P01").await;
    let (status, refused) = exchange(&app, CE, &code, None).await;
    assert_eq!(status, 503, "{refused}");
    assert_eq!(refused["error"], "temporarily_unavailable", "{refused}");
    conflict_lifted(&app, "tokens").await;
    let (status, tokens) = exchange(&app, CE, &code, None).await;
    assert_eq!(status, 200, "made again: {tokens}");
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!access.is_empty(), "{tokens}");
    ok_json(app.get(CE, "/accounts", &access)).await;
    // Still one use: a third exchange is a replay, which revokes what the code gave.
    let (status, replayed) = exchange(&app, CE, &code, None).await;
    assert_eq!(status, 400, "{replayed}");
    assert_eq!(replayed["error"], "invalid_grant", "{replayed}");
    expect_error(app.get(CE, "/accounts", &access), 401, "").await;
}
