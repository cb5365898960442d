//! The metrics' text as Prometheus reads it.

use super::*;

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn a_fresh_registry_shows_only_the_unlabelled_series() {
    assert_eq!(
        Metrics::new().encode(),
        "# HELP guichet_db_errors Database errors met while answering.\n\
         # TYPE guichet_db_errors counter\n\
         guichet_db_errors_total 0\n\
         # HELP guichet_page_cache_bytes Bytes of the transactions pages kept in memory.\n\
         # TYPE guichet_page_cache_bytes gauge\n\
         guichet_page_cache_bytes 0\n\
         # HELP guichet_token_reads Token reads of API calls on PostgreSQL, made in queries they may share.\n\
         # TYPE guichet_token_reads counter\n\
         guichet_token_reads_total 0\n\
         # HELP guichet_token_read_queries Queries that made the token reads (fewer than the reads when calls share them).\n\
         # TYPE guichet_token_read_queries counter\n\
         guichet_token_read_queries_total 0\n\
         # HELP guichet_token_reads_kept Token reads of API calls answered by a read this instance kept, its PSU's stamp read unchanged.\n\
         # TYPE guichet_token_reads_kept counter\n\
         guichet_token_reads_kept_total 0\n\
         # HELP guichet_token_reads_stale Kept token reads found stale at a call, their PSU's stamp moved by a write on any instance, and made again.\n\
         # TYPE guichet_token_reads_stale counter\n\
         guichet_token_reads_stale_total 0\n\
         # EOF\n"
    );
}

#[test]
fn requests_are_counted_by_bank_version_operation_and_status() {
    let metrics = Metrics::new();
    metrics.request("17515", "1.4.2", Operation::Ais, 200, 0.25);
    metrics.request("17515", "1.4.2", Operation::Ais, 200, 0.5);
    metrics.request("17515", "1.4.2", Operation::Ais, 404, 0.002);
    metrics.request("30258", "1.4.2", Operation::OAuth, 200, 0.01);
    metrics.request("30258", "1.4.2", Operation::PsuPages, 303, f64::NAN);
    let text = metrics.encode();
    for line in [
        "# HELP guichet_requests API calls answered, by bank, API version, operation and HTTP status.",
        "# TYPE guichet_requests counter",
        r#"guichet_requests_total{bank="17515",api_version="1.4.2",operation="ais",status="200"} 2"#,
        r#"guichet_requests_total{bank="17515",api_version="1.4.2",operation="ais",status="404"} 1"#,
        r#"guichet_requests_total{bank="30258",api_version="1.4.2",operation="oauth",status="200"} 1"#,
        r#"guichet_requests_total{bank="30258",api_version="1.4.2",operation="psu_pages",status="303"} 1"#,
    ] {
        assert!(has_line(&text, line), "missing {line}\n{text}");
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn durations_fill_a_histogram_from_a_millisecond_up() {
    let metrics = Metrics::new();
    metrics.request("17515", "1.4.2", Operation::Ais, 200, 0.25);
    metrics.request("17515", "1.4.2", Operation::Ais, 200, 0.5);
    let text = metrics.encode();
    for line in [
        "# TYPE guichet_request_duration_seconds histogram",
        "# UNIT guichet_request_duration_seconds seconds",
        r#"guichet_request_duration_seconds_sum{bank="17515",operation="ais"} 0.75"#,
        r#"guichet_request_duration_seconds_count{bank="17515",operation="ais"} 2"#,
        r#"guichet_request_duration_seconds_bucket{le="0.001",bank="17515",operation="ais"} 0"#,
        r#"guichet_request_duration_seconds_bucket{le="+Inf",bank="17515",operation="ais"} 2"#,
    ] {
        assert!(has_line(&text, line), "missing {line}\n{text}");
    }
    let buckets = text
        .lines()
        .filter(|l| l.starts_with("guichet_request_duration_seconds_bucket{"))
        .count();
    assert_eq!(buckets, 17, "16 bounds and +Inf\n{text}");
    // Cumulative counts never decrease and end at the count.
    let counts: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with("guichet_request_duration_seconds_bucket{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert_eq!(counts.last(), Some(&2));
}

#[test]
fn refusals_429s_sca_and_tokens_carry_their_labels() {
    let metrics = Metrics::new();
    metrics.tls_refusal("revoked");
    metrics.tls_refusal("revoked");
    metrics.tls_refusal("handshake_timeout");
    metrics.rate_limited("17515");
    metrics.sca("17515", ScaOutcome::Success);
    metrics.sca("17515", ScaOutcome::Blocked);
    metrics.sca("30258", ScaOutcome::Abandoned);
    metrics.tokens_issued("17515", "access", 1);
    metrics.tokens_issued("17515", "refresh", 3);
    metrics.tokens_revoked("17515", 2);
    let text = metrics.encode();
    for line in [
        "# TYPE guichet_tls_refusals counter",
        r#"guichet_tls_refusals_total{reason="revoked"} 2"#,
        r#"guichet_tls_refusals_total{reason="handshake_timeout"} 1"#,
        r#"guichet_rate_limited_total{bank="17515"} 1"#,
        r#"guichet_sca_total{bank="17515",outcome="success"} 1"#,
        r#"guichet_sca_total{bank="17515",outcome="blocked"} 1"#,
        r#"guichet_sca_total{bank="30258",outcome="abandoned"} 1"#,
        r#"guichet_tokens_issued_total{bank="17515",kind="access"} 1"#,
        r#"guichet_tokens_issued_total{bank="17515",kind="refresh"} 3"#,
        r#"guichet_tokens_revoked_total{bank="17515"} 2"#,
    ] {
        assert!(has_line(&text, line), "missing {line}\n{text}");
    }
}

#[test]
fn gauges_hold_the_last_value_set() {
    let metrics = Metrics::new();
    metrics.db_pool(4, 1);
    metrics.db_pool(4, 3);
    metrics.db_error();
    metrics.connections_open("17515-api", 7);
    metrics.connections_open("17515-api", 5);
    let text = metrics.encode();
    for line in [
        "# TYPE guichet_db_pool_connections gauge",
        r#"guichet_db_pool_connections{state="size"} 4"#,
        r#"guichet_db_pool_connections{state="idle"} 3"#,
        "guichet_db_errors_total 1",
        "# TYPE guichet_connections_open gauge",
        r#"guichet_connections_open{listener="17515-api"} 5"#,
    ] {
        assert!(has_line(&text, line), "missing {line}\n{text}");
    }
}

#[test]
fn label_values_are_escaped() {
    let metrics = Metrics::new();
    metrics.tls_refusal("odd \"reason\"\\");
    let text = metrics.encode();
    let line = r#"guichet_tls_refusals_total{reason="odd \"reason\"\\"} 1"#;
    assert!(has_line(&text, line), "missing {line}\n{text}");
}

#[test]
fn two_registries_never_mix() {
    let one = Metrics::new();
    let other = Metrics::new();
    one.rate_limited("17515");
    assert!(one.encode().contains("guichet_rate_limited_total"));
    assert!(!other.encode().contains("guichet_rate_limited_total"));
}
