//! Issue #9: several `guichet serve` processes on one PostgreSQL share every state that must
//! be shared: the daily batch allowance, revocations, SCA blocks; and a process stops cleanly
//! on SIGTERM.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{batch_get, between, identity, mint, start};
use guichet_store::Backend;
use guichet_store::testing::TestDatabase;

/// Opens an authorization on a bank's pages: the session cookie and the form's CSRF token.
async fn open_login(pages: &str, browser: &reqwest::Client, state: &str) -> (String, String) {
    let query = format!(
        "response_type=code&client_id=PSDFR-ACPR-12345&scope=aisp&state={state}&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback"
    );
    let page = browser
        .get(format!("{pages}/stet/psd2/oauth/authorize?{query}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cookie = guichet_tpp::sandbox::session_cookie(&page);
    let html = page.text().await.unwrap_or_default();
    (cookie, between(&html, "name=\"csrf\" value=\""))
}

/// Opens an authorization on a bank's pages and posts one login; answers the page shown.
async fn try_password(
    pages: &str,
    browser: &reqwest::Client,
    identifier: &str,
    password: &str,
) -> (u16, String) {
    let (cookie, csrf) = open_login(pages, browser, "s1").await;
    // The CSRF token is base64url, the identifier and password plain letters: no escaping.
    let body = format!("csrf={csrf}&identifier={identifier}&password={password}");
    let answer = browser
        .post(format!("{pages}/sca/login"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgresql_share_limits_revocations_and_blocks() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let url = db.url.expose().to_owned();
    let dir = std::env::temp_dir().join(format!("guichet-instances-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    // The first instance makes the sandbox PKI; the second finds it in the shared folder.
    let first = start(&dir, &url, &dir.join("first.log"));
    let second = start(&dir, &url, &dir.join("second.log"));
    let (tpp, ca) = identity(&dir);
    let client = tpp.http_client(&ca).unwrap_or_else(|e| panic!("{e}"));

    // Portal, Limits: 4 batch calls a day per TPP × PSU × account × method, whichever
    // instance answers: of 10 concurrent calls spread over both, exactly 4 succeed.
    let token = mint(&dir, &url, "CLAIRE");
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..10 {
        let server = if i % 2 == 0 { &first } else { &second };
        let url = format!("{}/accounts", server.api("17515"));
        let (client, tpp, token) = (client.clone(), tpp.clone(), token.clone());
        calls.spawn(
            async move { batch_get(&client, &tpp, &url, &token, &format!("batch-{i}")).await },
        );
    }
    let mut statuses = Vec::new();
    while let Some(status) = calls.join_next().await {
        statuses.push(status.unwrap_or_else(|e| panic!("{e}")));
    }
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);

    // A token revoked through one instance is refused by the other at its next call.
    let other = mint(&dir, &url, "LEA");
    let on_second = format!("{}/accounts", second.api("17515"));
    assert_eq!(
        batch_get(&client, &tpp, &on_second, &other, "before-revoke").await,
        200
    );
    let revoke = client
        .post(format!(
            "{}/stet/psd2/oauth/revoke",
            first.api("17515").trim_end_matches("/stet/psd2/v1.4.2")
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Request-ID", "revoke-1")
        .body(format!("client_id=PSDFR-ACPR-12345&token={other}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(revoke.status().as_u16(), 200);
    assert_eq!(
        batch_get(&client, &tpp, &on_second, &other, "after-revoke").await,
        401
    );

    // A PSU blocked on one instance (five wrong passwords there) is blocked on the other.
    for attempt in 0..5 {
        let (status, _) =
            try_password(&first.pages("17515"), &client, "MARC", "wrong-password").await;
        assert!(
            status == 200 || (attempt == 4 && status == 403),
            "attempt {attempt}: {status}"
        );
    }
    let (status, page) = try_password(&second.pages("17515"), &client, "MARC", "sandbox").await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("Authentification bloquée"), "{page}");
    let (status, page) = try_password(&second.pages("17515"), &client, "CLAIRE", "sandbox").await;
    assert_eq!(status, 200, "another PSU is not blocked: {page}");
    assert!(page.contains("sandbox-code"), "{page}");

    // An SCA started on one instance (login) finishes on the other (one-time code).
    let (cookie, csrf) = open_login(&first.pages("17515"), &client, "across").await;
    let otp_page = client
        .post(format!("{}/sca/login", first.pages("17515")))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&identifier=CLAIRE&password=sandbox"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let code = between(&otp_page, "id=\"sandbox-code\">");
    let csrf = between(&otp_page, "name=\"csrf\" value=\"");
    assert_eq!(code.len(), 6, "{otp_page}");
    let finished = client
        .post(format!("{}/sca/otp", second.pages("17515")))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&code={code}"))
        .send()
        .await;
    // The answer redirects to the TPP's callback (which nothing serves here).
    let location = match finished {
        Ok(response) if response.status().is_redirection() => response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        Ok(response) => panic!(
            "{}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        ),
        Err(e) => e.url().map(ToString::to_string).unwrap_or_default(),
    };
    assert!(
        location.starts_with("http://127.0.0.1:8765/callback?code=")
            && location.contains("state=across"),
        "{location}"
    );
    drop(first);
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGTERM: the process stops accepting, finishes what is in flight and exits in bounded time.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_within_a_bounded_time() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let url = db.url.expose().to_owned();
    let dir = std::env::temp_dir().join(format!("guichet-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut server = start(&dir, &url, &dir.join("serve.log"));
    let (tpp, ca) = identity(&dir);
    let client = tpp.http_client(&ca).unwrap_or_else(|e| panic!("{e}"));
    let token = mint(&dir, &url, "CLAIRE");
    let accounts = format!("{}/accounts", server.api("17515"));
    assert_eq!(
        batch_get(&client, &tpp, &accounts, &token, "before-term").await,
        200
    );
    let pid = server.child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -TERM");
    let stopped = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            break status;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(15),
            "still running 15 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
    // Logs: JSON lines, no colour codes in a file, and the request's lines carry its span.
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    assert!(
        !log.contains('\u{1b}'),
        "no ANSI colour codes when not on a terminal"
    );
    let access: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "guichet::access")
        .collect();
    let ours = access
        .iter()
        .find(|line| line["span"]["request_id"] == "before-term")
        .unwrap_or_else(|| panic!("no access line with its span in {log}"));
    assert_eq!(ours["span"]["bank"], "17515");
    assert_eq!(ours["span"]["tpp"], "PSDFR-ACPR-12345");
    assert_eq!(ours["fields"]["status"], 200);
    // The stop wrote the last minutes of statistics: `guichet stats` (README, "Running in
    // production") reports today's calls, as CSV and as an HTML page with its charts.
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let today = paris.to_datetime(jiff::Timestamp::now()).date();
    let quarter = format!("{}Q{}", today.year(), (today.month() - 1) / 3 + 1);
    let csv = common::guichet()
        .args([
            "stats",
            "--bank",
            "17515",
            "--quarter",
            &quarter,
            "--format",
            "csv",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    let csv = String::from_utf8_lossy(&csv.stdout).into_owned();
    let header: Vec<&str> = csv.lines().next().unwrap_or_default().split(',').collect();
    let calls_column = header
        .iter()
        .position(|h| *h == "calls")
        .unwrap_or_else(|| panic!("{csv}"));
    let today_line = csv
        .lines()
        .find(|line| line.starts_with(&today.to_string()))
        .unwrap_or_else(|| panic!("no line for {today}: {csv}"));
    let calls: i64 = today_line
        .split(',')
        .nth(calls_column)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    assert!(calls >= 1, "{today_line}");
    let page = dir.join("stats.html");
    let html = common::guichet()
        .args([
            "stats",
            "--bank",
            "17515",
            "--quarter",
            &quarter,
            "--format",
            "html",
            "--database-url",
            &url,
            "--out",
        ])
        .arg(&page)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        html.status.success(),
        "{}",
        String::from_utf8_lossy(&html.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap_or_default();
    assert!(html.contains("<svg") && html.contains("17515"), "{html}");
    // New connections are refused once it has stopped.
    let fresh = tpp.http_client(&ca).unwrap_or_else(|e| panic!("{e}"));
    let refused = fresh.get(&accounts).send().await;
    assert!(
        refused.is_err(),
        "nothing listens after the stop: {refused:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
