//! The PSU's authentication block (RTS art. 4(3)(d)): at most five consecutive failed factors,
//! across attempts, factors and server instances, then a block of the bank's profile length
//! (Caisse d'Epargne: 5 failures, 60 minutes); the per-address throttle of the PSU pages; the
//! sandbox's BLOCKED persona. The attempt-level lock after three failures stays.

use guichet_store::{Backend, on_both_backends};

use crate::flow::*;
use crate::helpers::*;

const CLAIRE_ID: &str = "D0999991I0";
const LEA_ID: &str = "D0999992I0";
const BLOCKED_ID: &str = "D0999995I0";

/// CLAIRE blocked at 11:00 in Paris for 60 minutes: the page names the end of the block.
const UNTIL_NOON: &str = "24/11/2026 à 12:00";

/// A new authorization of the demo TPP, at its login page.
async fn open<'a>(app: &'a TestApp, state: &str) -> (Journey<'a>, Step) {
    let (journey, first) = Journey::open(app, CE, &query("aisp", state, None)).await;
    assert_eq!(first.status, 200, "{}", first.html);
    assert!(!first.csrf().is_empty(), "{}", first.html);
    (journey, first)
}

fn heading(step: &Step) -> String {
    step.find("<h1 id=\"heading\">", "</h1>")
        .unwrap_or_default()
}

/// A wrong factor answered with the form again and its error, neither lock nor block.
fn assert_refused_again(step: &Step, what: &str) {
    assert_eq!(step.status, 200, "{what}: {}", step.html);
    assert!(step.html.contains("id=\"error\""), "{what}: {}", step.html);
}

/// The attempt's own lock after three failures ("Accès bloqué"), not the PSU's block.
fn assert_attempt_locked(step: &Step, what: &str) {
    assert_eq!(step.status, 403, "{what}: {}", step.html);
    assert_eq!(heading(step), "Accès bloqué", "{what}: {}", step.html);
}

/// The PSU's block page: 403, its heading, and no one-time code sent.
fn assert_blocked(step: &Step, what: &str) {
    assert_eq!(step.status, 403, "{what}: {}", step.html);
    assert_eq!(
        heading(step),
        "Authentification bloquée",
        "{what}: {}",
        step.html
    );
    assert!(
        step.sandbox_code().is_empty(),
        "{what}: no code is sent to a blocked PSU"
    );
}

/// The one-time code page, with the code the sandbox shows.
fn assert_otp_page(step: &Step, what: &str) -> String {
    assert_eq!(step.status, 200, "{what}: {}", step.html);
    let code = step.sandbox_code();
    assert_eq!(code.len(), 6, "{what}: {}", step.html);
    code
}

/// Five wrong passwords of CLAIRE over two attempts: three lock the first attempt, the fifth
/// (the second of the next attempt) blocks her. Answers the last page.
async fn block_claire(app: &TestApp) -> Step {
    let (first_try, page) = open(app, "first").await;
    let csrf = page.csrf();
    for n in 1..=2 {
        let wrong = first_try.login(&csrf, "CLAIRE", "wrong").await;
        assert_refused_again(&wrong, &format!("failure {n}"));
    }
    let third = first_try.login(&csrf, "CLAIRE", "wrong").await;
    assert_attempt_locked(&third, "failure 3");
    let (second_try, page) = open(app, "second").await;
    let csrf = page.csrf();
    let fourth = second_try.login(&csrf, "CLAIRE", "wrong").await;
    assert_refused_again(&fourth, "failure 4");
    second_try.login(&csrf, "CLAIRE", "wrong").await
}

on_both_backends! {
    // RTS art. 4(3)(d): five consecutive failures, whatever the attempt, block the PSU; the
    // right password is then refused without sending a code, until the block ends.
    async fn five_failures_across_attempts_block_the_psu_until_the_block_ends(backend) {
        let app = TestApp::spawn(backend).await;
        let fifth = block_claire(&app).await;
        assert_blocked(&fifth, "failure 5");
        assert!(fifth.html.contains(UNTIL_NOON), "the page says until when: {}", fifth.html);

        let (third_try, page) = open(&app, "third").await;
        let refused = third_try.login(&page.csrf(), "CLAIRE", "sandbox").await;
        assert_blocked(&refused, "the right password during the block");
        assert!(refused.html.contains(UNTIL_NOON), "{}", refused.html);

        app.clock.advance(jiff::SignedDuration::from_mins(61));
        let (after, page) = open(&app, "after").await;
        let otp = after.login(&page.csrf(), "CLAIRE", "sandbox").await;
        let code = assert_otp_page(&otp, "the right password once the block ended");
        let done = after.post("/sca/otp", &[("csrf", &otp.csrf()), ("code", &code)]).await;
        assert_eq!(done.status, 303, "{}", done.html);
        assert!(done.param("code").is_some(), "{:?}", done.location);
    }
}

on_both_backends! {
    // The count is of failed factors: wrong one-time codes count with wrong passwords.
    async fn wrong_one_time_codes_count_with_wrong_passwords(backend) {
        let app = TestApp::spawn(backend).await;
        let (first_try, page) = open(&app, "first").await;
        let csrf = page.csrf();
        for n in 1..=2 {
            let wrong = first_try.login(&csrf, "LEA", "wrong").await;
            assert_refused_again(&wrong, &format!("password failure {n}"));
        }
        let third = first_try.login(&csrf, "LEA", "wrong").await;
        assert_attempt_locked(&third, "password failure 3");
        let (second_try, page) = open(&app, "second").await;
        let csrf = page.csrf();
        let fourth = second_try.login(&csrf, "LEA", "wrong").await;
        assert_refused_again(&fourth, "password failure 4");
        let otp = second_try.login(&csrf, "LEA", "sandbox").await;
        assert_otp_page(&otp, "the right password after four failures");
        let fifth = second_try.post("/sca/otp", &[("csrf", &otp.csrf()), ("code", "000000x")]).await;
        assert_blocked(&fifth, "a wrong code as the fifth failure");

        let (third_try, page) = open(&app, "third").await;
        let refused = third_try.login(&page.csrf(), "LEA", "sandbox").await;
        assert_blocked(&refused, "the right password during the block");
        let blocks = app.state().store.sca_blocks(CE, LEA_ID).await.unwrap_or_default();
        assert_eq!(blocks.len(), 1, "{blocks:?}");
        assert_eq!(blocks[0].reason, "otp", "the factor of the fifth failure is recorded");
    }
}

on_both_backends! {
    // "Consecutive": a successful SCA ends the run of failures.
    async fn a_successful_authentication_resets_the_failure_count(backend) {
        let app = TestApp::spawn(backend).await;
        let (first_try, page) = open(&app, "first").await;
        let csrf = page.csrf();
        for n in 1..=2 {
            let wrong = first_try.login(&csrf, "CLAIRE", "wrong").await;
            assert_refused_again(&wrong, &format!("failure {n}"));
        }
        assert_attempt_locked(&first_try.login(&csrf, "CLAIRE", "wrong").await, "failure 3");
        let (second_try, page) = open(&app, "second").await;
        assert_refused_again(&second_try.login(&page.csrf(), "CLAIRE", "wrong").await, "failure 4");
        let done = second_try.authenticate(&page, "CLAIRE").await;
        assert_eq!(done.status, 303, "the fifth try succeeds: {}", done.html);
        assert!(done.param("code").is_some(), "{:?}", done.location);

        // Four more failures: with the count reset, they are failures 1 to 4.
        let (third_try, page) = open(&app, "third").await;
        let csrf = page.csrf();
        for n in 1..=2 {
            let wrong = third_try.login(&csrf, "CLAIRE", "wrong").await;
            assert_refused_again(&wrong, &format!("failure {n} after the success"));
        }
        assert_attempt_locked(&third_try.login(&csrf, "CLAIRE", "wrong").await, "failure 3 after the success");
        let (fourth_try, page) = open(&app, "fourth").await;
        let csrf = page.csrf();
        assert_refused_again(&fourth_try.login(&csrf, "CLAIRE", "wrong").await, "failure 4 after the success");
        let otp = fourth_try.login(&csrf, "CLAIRE", "sandbox").await;
        assert_otp_page(&otp, "not blocked after 4 + success + 4");
        let blocks = app.state().store.sca_blocks(CE, CLAIRE_ID).await.unwrap_or_default();
        assert!(blocks.is_empty(), "{blocks:?}");
    }
}

on_both_backends! {
    // The block is kept in the store's append-only record, with its count and its factor.
    async fn the_block_is_recorded_in_the_store(backend) {
        let app = TestApp::spawn(backend).await;
        let before = app.state().store.sca_blocks(CE, CLAIRE_ID).await;
        assert!(matches!(&before, Ok(blocks) if blocks.is_empty()), "{before:?}");
        let now = app.clock_now();
        let fifth = block_claire(&app).await;
        assert_blocked(&fifth, "failure 5");
        let blocks = match app.state().store.sca_blocks(CE, CLAIRE_ID).await {
            Ok(blocks) => blocks,
            Err(e) => panic!("reading the blocks: {e}"),
        };
        assert_eq!(blocks.len(), 1, "{blocks:?}");
        let block = &blocks[0];
        assert_eq!(block.blocked_at, now);
        assert_eq!(block.blocked_until, now + 3600, "Caisse d'Epargne blocks for 60 minutes");
        assert_eq!(block.failures, 5);
        assert_eq!(block.reason, "password");
        let until = app.state().store.sca_blocked_until(CE, CLAIRE_ID, now).await.ok().flatten();
        assert_eq!(until, Some(now + 3600));
    }
}

/// The PSU pages of any instance, driven by hand: one attempt, its cookie and form token.
struct Pages {
    client: reqwest::Client,
    origin: String,
    cookie: String,
}

impl Pages {
    async fn open(origin: &str, state: &str) -> (Pages, Step) {
        let client = browser();
        let response = client
            .get(format!(
                "{origin}/stet/psd2/oauth/authorize?{}",
                query("aisp", state, None)
            ))
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(e) => panic!("authorize at {origin}: {e}"),
        };
        let step = Step::read(response).await;
        assert_eq!(step.status, 200, "{origin}: {}", step.html);
        let cookie = step.cookie.clone().unwrap_or_default();
        (
            Pages {
                client,
                origin: origin.to_owned(),
                cookie,
            },
            step,
        )
    }

    async fn login(&self, csrf: &str, identifier: &str, password: &str) -> Step {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("csrf", csrf),
                ("identifier", identifier),
                ("password", password),
            ])
            .finish();
        let response = self
            .client
            .post(format!("{}/sca/login", self.origin))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &self.cookie)
            .body(body)
            .send()
            .await;
        match response {
            Ok(response) => Step::read(response).await,
            Err(e) => panic!("POST /sca/login at {}: {e}", self.origin),
        }
    }
}

/// Two server processes of one deployment share the count through the database: five tries
/// per instance are not five tries per PSU. PostgreSQL only (the deployment's database); it
/// fails, never skips, without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgresql_database_share_the_failure_count() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let config = guichet_aspsp::ServerConfig {
        mode: guichet_aspsp::Mode::Sandbox,
        banks: guichet_aspsp::BankProfile::sandbox_banks(),
        database_url: app.db.url.clone(),
        listen: std::net::IpAddr::from([127, 0, 0, 1]),
        port: 0,
        psu_port: 0,
        host_domain: Some("sandbox.guichet.test".into()),
        pool_size: 4,
        page_cache_mb: guichet_store::DEFAULT_PAGE_CACHE_MB,
        tls: crate::pki::pki().sandbox.tls.clone(),
        edge: app.edge.clone(),
        sandbox_maintenance: false,
        ops_listen: None,
    };
    let second = match guichet_aspsp::Application::start(config, app.clock.clone()).await {
        Ok(second) => second,
        Err(e) => panic!("the second instance did not start: {e:#}"),
    };
    let first_origin = app.psu_origin(CE);
    let second_origin = second.psu_origin(CE).unwrap_or_default();
    assert!(!second_origin.is_empty());
    assert_ne!(first_origin, second_origin, "two listeners");

    let (on_first, page) = Pages::open(&first_origin, "one").await;
    let first_csrf = page.csrf();
    let (on_second, page) = Pages::open(&second_origin, "two").await;
    let second_csrf = page.csrf();
    assert_refused_again(
        &on_first.login(&first_csrf, "CLAIRE", "wrong").await,
        "failure 1, first instance",
    );
    assert_refused_again(
        &on_second.login(&second_csrf, "CLAIRE", "wrong").await,
        "failure 2, second instance",
    );
    assert_refused_again(
        &on_first.login(&first_csrf, "CLAIRE", "wrong").await,
        "failure 3, first instance",
    );
    assert_refused_again(
        &on_second.login(&second_csrf, "CLAIRE", "wrong").await,
        "failure 4, second instance",
    );
    let fifth = on_second.login(&second_csrf, "CLAIRE", "wrong").await;
    assert_blocked(&fifth, "failure 5, second instance");
    assert!(fifth.html.contains(UNTIL_NOON), "{}", fifth.html);

    // The first instance's attempt has two failures only: it is the PSU who is blocked.
    let refused = on_first.login(&first_csrf, "CLAIRE", "sandbox").await;
    assert_blocked(&refused, "the right password on the first instance");
    let blocks = app
        .state()
        .store
        .sca_blocks(CE, CLAIRE_ID)
        .await
        .unwrap_or_default();
    assert_eq!(blocks.len(), 1, "one block, set once: {blocks:?}");
    assert_eq!(blocks[0].failures, 5);
    second.stop().await;
}

on_both_backends! {
    // Guessing from one address is slowed down, whoever the PSU: past the limit of failures
    // per window, nothing is checked (429 with Retry-After) until the window ends.
    async fn failures_from_one_address_are_throttled_until_the_window_ends(backend) {
        let mut app = TestApp::spawn(backend).await;
        app.edge.psu_failures_per_client = 3;
        let window = app.edge.psu_failure_window_seconds;
        assert_eq!(window, 600);
        app.restart().await;
        let (first_try, page) = open(&app, "first").await;
        let csrf = page.csrf();
        assert_refused_again(&first_try.login(&csrf, "CLAIRE", "wrong").await, "failure 1 (CLAIRE)");
        assert_refused_again(&first_try.login(&csrf, "NOBODY-AT-ALL", "wrong").await, "failure 2 (unknown identifier)");
        let (second_try, page) = open(&app, "second").await;
        assert_refused_again(&second_try.login(&page.csrf(), "LEA", "wrong").await, "failure 3 (LEA)");

        let (third_try, page) = open(&app, "third").await;
        let throttled = third_try.login(&page.csrf(), "CLAIRE", "sandbox").await;
        assert_eq!(throttled.status, 429, "{}", throttled.html);
        let retry_after = throttled.headers.get("retry-after").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(retry_after, "600", "the window started with the first failure, the clock stood still");
        assert!(throttled.sandbox_code().is_empty(), "nothing was checked: {}", throttled.html);

        app.clock.advance(jiff::SignedDuration::from_secs(window + 1));
        let (after, page) = open(&app, "after").await;
        let otp = after.login(&page.csrf(), "CLAIRE", "sandbox").await;
        assert_otp_page(&otp, "the window ended");
    }
}

on_both_backends! {
    // The sandbox's BLOCKED persona is blocked from the first data set; `guichet sandbox
    // unblock` lifts the block.
    async fn the_blocked_persona_is_refused_until_unblocked(backend) {
        let app = TestApp::spawn(backend).await;
        let (journey, page) = open(&app, "blocked").await;
        let csrf = page.csrf();
        let refused = journey.login(&csrf, "BLOCKED", "sandbox").await;
        assert_blocked(&refused, "BLOCKED with the right password");
        let blocks = app.state().store.sca_blocks(CE, BLOCKED_ID).await.unwrap_or_default();
        assert_eq!(blocks.first().map(|b| b.reason.as_str()), Some("sandbox"), "{blocks:?}");

        let now = app.clock_now();
        let (psu, lifted) = match guichet_aspsp::sandbox::unblock(&app.state().store, CE, "BLOCKED", now).await {
            Ok(answer) => answer,
            Err(e) => panic!("unblock: {e}"),
        };
        assert_eq!(psu.psu_id, BLOCKED_ID);
        assert!(lifted, "a block in force was lifted");
        let otp = journey.login(&csrf, "BLOCKED", "sandbox").await;
        assert_otp_page(&otp, "BLOCKED once unblocked");
        let again = guichet_aspsp::sandbox::unblock(&app.state().store, CE, "BLOCKED", now).await;
        assert!(matches!(again, Ok((_, false))), "nothing left to lift");
    }
}
