//! Issue #9, "Observability": the operations listener. Its router is called in process (no
//! socket) for liveness, readiness and its reasons, and the metrics of a real signed call;
//! `serve` is tried once on a real socket, with its graceful stop.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use guichet_store::on_both_backends;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use crate::helpers::*;

/// One GET to the operations router: status, content type, body.
async fn ops(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let router = guichet_aspsp::ops::router(app.state().clone());
    let request = match Request::builder().uri(path).body(Body::empty()) {
        Ok(request) => request,
        Err(e) => panic!("{e}"),
    };
    let response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = match axum::body::to_bytes(response.into_body(), 1 << 20).await {
        Ok(bytes) => bytes,
        Err(e) => panic!("reading the body: {e}"),
    };
    (
        status,
        content_type,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn json_of(text: &str) -> Value {
    match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => panic!("not JSON ({e}): {text}"),
    }
}

on_both_backends! {
    async fn a_started_instance_is_live_and_ready(backend) {
        let app = TestApp::spawn(backend).await;
        let (status, content_type, text) = ops(&app, "/health/live").await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert!(content_type.starts_with("application/json"), "{content_type}");
        assert_eq!(json_of(&text), json!({"status": "live"}));

        let (status, content_type, text) = ops(&app, "/health/ready").await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert!(content_type.starts_with("application/json"), "{content_type}");
        assert_eq!(json_of(&text), json!({"status": "ready"}));
    }
}

on_both_backends! {
    async fn a_draining_instance_is_live_but_not_ready(backend) {
        let app = TestApp::spawn(backend).await;
        app.state().readiness.begin_shutdown();
        let (status, _, text) = ops(&app, "/health/ready").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
        assert_eq!(
            json_of(&text),
            json!({"status": "not ready", "reasons": ["shutting down"]})
        );
        let (status, _, text) = ops(&app, "/health/live").await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }
}

on_both_backends! {
    async fn an_unreachable_database_makes_the_instance_not_ready_at_once(backend) {
        let app = TestApp::spawn(backend).await;
        app.state().store.close().await;
        let started = Instant::now();
        let (status, _, text) = ops(&app, "/health/ready").await;
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
        let value = json_of(&text);
        assert_eq!(value["status"], "not ready", "{value}");
        let reasons = value["reasons"].as_array().cloned().unwrap_or_default();
        assert_eq!(reasons.len(), 1, "{value}");
        assert!(
            reasons[0].as_str().is_some_and(|r| r.starts_with("database unreachable")),
            "{value}"
        );
    }
}

on_both_backends! {
    async fn a_signed_call_shows_in_the_metrics(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        ok_json(app.get(CE, "/accounts", &token)).await;

        let (status, content_type, text) = ops(&app, "/metrics").await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(content_type, guichet_aspsp::ops::metrics::CONTENT_TYPE);
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(text.contains("# TYPE guichet_requests counter\n"), "{text}");
        let counted: Vec<&str> = text
            .lines()
            .filter(|line| {
                line.starts_with("guichet_requests_total{")
                    && line.contains(&format!("bank=\"{CE}\""))
                    && line.contains("operation=\"ais\"")
            })
            .collect();
        assert_eq!(counted.len(), 1, "one series for the call\n{text}");
        assert!(
            counted[0].contains("status=\"200\"") && counted[0].ends_with("} 1"),
            "{text}"
        );
        let timed = format!(
            "guichet_request_duration_seconds_count{{bank=\"{CE}\",operation=\"ais\"}} 1"
        );
        assert!(text.lines().any(|line| line == timed), "missing {timed}\n{text}");
        // On PostgreSQL the call's token was read in a query of its own (nothing else ran);
        // SQLite's reads cost no round trip and are not counted. Nothing was kept yet.
        let read = u8::from(backend == guichet_store::Backend::Postgres);
        let counts = |text: &str, lines: [String; 4]| {
            for line in lines {
                assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
            }
        };
        counts(&text, [
            format!("guichet_token_reads_total {read}"),
            format!("guichet_token_read_queries_total {read}"),
            "guichet_token_reads_kept_total 0".into(),
            "guichet_token_reads_stale_total 0".into(),
        ]);
        // The same call again is answered by the kept read, its PSU's stamp unchanged.
        ok_json(app.get(CE, "/accounts", &token)).await;
        let (_, _, text) = ops(&app, "/metrics").await;
        counts(&text, [
            format!("guichet_token_reads_total {read}"),
            format!("guichet_token_read_queries_total {read}"),
            "guichet_token_reads_kept_total 1".into(),
            "guichet_token_reads_stale_total 0".into(),
        ]);
        // An account of CLAIRE's renamed (as another instance, or the bank's import, would)
        // moves her stamp: the next call finds its kept read stale and reads afresh.
        let (_, account) = accounts_of(CE, "CLAIRE").remove(0);
        let rename = format!(
            "UPDATE accounts SET name = name || ' ' WHERE bank_code = '{CE}' AND resource_id = '{account}'"
        );
        if let Err(e) = guichet_store::testing::execute(&app.state().store, &rename).await {
            panic!("{e}");
        }
        ok_json(app.get(CE, "/accounts", &token)).await;
        let (_, _, text) = ops(&app, "/metrics").await;
        counts(&text, [
            format!("guichet_token_reads_total {}", 2 * read),
            format!("guichet_token_read_queries_total {}", 2 * read),
            "guichet_token_reads_kept_total 1".into(),
            "guichet_token_reads_stale_total 1".into(),
        ]);
    }
}

on_both_backends! {
    /// The transactions pages kept in memory show in the metrics: a page read, then the same
    /// page answered from memory.
    async fn kept_pages_show_in_the_metrics(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "GEORGES", &["aisp"]).await;
        app.consent_all(CE, "GEORGES", &token).await;
        let path = format!("/accounts/{}/transactions", account_id(CE, "GEORGES"));
        for _ in 0..2 {
            ok_json(app.get(CE, &path, &token)).await;
        }
        let (status, _, text) = ops(&app, "/metrics").await;
        assert_eq!(status, StatusCode::OK, "{text}");
        for line in [
            "guichet_page_cache_pages_total{result=\"miss\"} 1",
            "guichet_page_cache_pages_total{result=\"hit\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        let bytes = text
            .lines()
            .find_map(|l| l.strip_prefix("guichet_page_cache_bytes "))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_default();
        assert!(bytes > 10_000, "a page of GEORGES's operations is kept: {bytes}\n{text}");
    }
}

on_both_backends! {
    async fn the_listener_serves_plain_http_and_stops_on_the_signal(backend) {
        let app = TestApp::spawn(backend).await;
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(e) => panic!("{e}"),
        };
        let address = match listener.local_addr() {
            Ok(address) => address,
            Err(e) => panic!("{e}"),
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let state = app.state().clone();
        let server = tokio::spawn(guichet_aspsp::ops::serve(listener, state, stopped));

        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(address).await?;
            let head = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await?;
            std::io::Result::Ok(String::from_utf8_lossy(&answer).into_owned())
        };
        let answer = match tokio::time::timeout(Duration::from_secs(5), exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => panic!("no answer within 5 s"),
        };
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with(r#"{"status":"live"}"#), "{answer}");

        let _ = stop.send(true);
        match tokio::time::timeout(Duration::from_secs(5), server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("serve failed: {e}"),
            Ok(Err(e)) => panic!("serve panicked: {e}"),
            Err(_) => panic!("serve did not stop within 5 s"),
        }
        assert!(
            tokio::net::TcpStream::connect(address).await.is_err(),
            "the listener is closed once stopped"
        );
    }
}
