//! `guichet bench` as README gives it: it starts its own sandbox bank, measures the baselines
//! and the bank with the same client, and grows accounts. The figures themselves belong to
//! BENCHMARKS.md (no timed assertion here): this test checks that every measurement ran,
//! answered without error, and was printed.

use std::process::Command;

use guichet_store::Backend;
use guichet_store::testing::TestDatabase;

fn bench(extra: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(["bench", "--seconds", "1", "--connections", "2"])
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("guichet bench: {e}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "guichet bench failed: {text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// A table row's answers/s and error count.
fn row(text: &str, label: &str) -> (f64, u64) {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no '{label}' row in:\n{text}"));
    // After the label (and its size in parentheses, for grown accounts): answers/s, p50,
    // p99, errors, RSS.
    let numbers: Vec<f64> = line[line.find(label).unwrap_or(0) + label.len()..]
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let rate = numbers.first().copied().unwrap_or(0.0);
    let errors = numbers.get(3).map_or(u64::MAX, |n| *n as u64);
    (rate, errors)
}

#[test]
fn bench_measures_the_bank_against_its_own_tls_stack_on_sqlite() {
    let text = bench(&["--grow", "12000"]);
    assert!(text.contains("sandbox cold start"), "{text}");
    assert!(text.contains("pages kept in memory: 32 MiB"), "{text}");
    for label in [
        "static handler, same TLS stack",
        "static + one RSA-2048 verification",
        "Guichet",
    ] {
        let (rate, errors) = row(&text, label);
        assert!(rate > 0.0, "{label}: no answer\n{text}");
        assert_eq!(errors, 0, "{label}\n{text}");
    }
    assert_eq!(text.matches("ratio: ").count(), 2, "{text}");
    for label in [
        "default page, 10000 operations",
        "default page, 12000 operations",
        "dated page, 10000 operations",
        "dated page, 12000 operations",
    ] {
        let (rate, errors) = row(&text, label);
        assert!(rate > 0.0 && errors == 0, "{label}\n{text}");
    }
    assert!(text.contains("server resident memory: peak"), "{text}");
}

#[tokio::test]
async fn bench_runs_on_postgresql() {
    let db = TestDatabase::new(Backend::Postgres).await;
    // As README gives it: PostgreSQL on the same machine, without TLS.
    let base = db.url.expose();
    let url = format!(
        "{base}{}sslmode=disable",
        if base.contains('?') { '&' } else { '?' }
    );
    let text = bench(&[
        "--only",
        "accounts,grow",
        "--grow",
        "10500",
        "--no-baseline",
        "--database-url",
        &url,
    ]);
    assert!(text.contains("PostgreSQL"), "{text}");
    let (rate, errors) = row(&text, "Guichet");
    assert!(rate > 0.0 && errors == 0, "{text}");
    // The bank alone: no baseline row, and no ratio to one.
    assert!(
        !text.contains("static handler") && !text.contains("ratio: "),
        "--no-baseline\n{text}"
    );
    assert!(
        !text.contains("GET transactions"),
        "--only accounts,grow\n{text}"
    );
    let (rate, errors) = row(&text, "dated page, 10500 operations");
    assert!(rate > 0.0 && errors == 0, "{text}");
}

/// `--page-cache-mb 0`: the bank keeps no page, every page is read from the database.
#[test]
fn bench_measures_pages_read_from_the_database() {
    let text = bench(&["--only", "transactions", "--page-cache-mb", "0"]);
    assert!(
        text.contains("pages kept in memory: none (every page read from the database)"),
        "{text}"
    );
    assert!(
        !text.contains("GET /accounts"),
        "--only transactions\n{text}"
    );
    let (rate, errors) = row(&text, "Guichet");
    assert!(rate > 0.0 && errors == 0, "{text}");
}

/// `--import N`: the statement is written, imported whole, then imported again without a
/// change; the rate and the peak memory are printed.
#[test]
fn bench_times_the_import_of_a_statement() {
    // 3,000 at 140 a day: 21 full days and a last one of 60, every operation its own.
    let text = bench(&["--import", "3000", "--per-day", "140"]);
    assert!(text.contains("3000 operations in 22 statements"), "{text}");
    let first = text
        .lines()
        .find(|l| l.starts_with("first import:"))
        .unwrap_or_else(|| panic!("no first import in:\n{text}"));
    assert!(first.contains("22 statements of 1 accounts"), "{first}");
    assert!(
        first.contains("3000 operations added, 0 updated"),
        "{first}"
    );
    assert!(
        first.contains("operations/s") && first.contains("MB"),
        "{first}"
    );
    let again = text
        .lines()
        .find(|l| l.starts_with("again (nothing changes):"))
        .unwrap_or_else(|| panic!("no second import in:\n{text}"));
    assert!(
        again.contains("0 operations added, 0 updated, 3000 unchanged"),
        "{again}"
    );
}

/// `--rounds N`: the baselines and the bank measured in turn N times, every round printed, and
/// one ratio line with the medians and each round's ratio.
#[test]
fn bench_gives_the_median_of_rounds() {
    let text = bench(&["--only", "accounts", "--rounds", "2"]);
    assert!(
        text.contains("  round 1\n") && text.contains("  round 2\n"),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.trim_start().starts_with("Guichet"))
            .count(),
        2,
        "{text}"
    );
    let ratio = text
        .lines()
        .find(|l| l.starts_with("ratio: "))
        .unwrap_or_else(|| panic!("no ratio\n{text}"));
    assert_eq!(text.matches("ratio: ").count(), 1, "{text}");
    assert!(
        ratio.contains("(medians of 2 rounds; of static + verify: "),
        "{ratio}"
    );
    // The two rounds' ratios, then their median first on the line.
    let each: Vec<f64> = ratio
        .rsplit(": ")
        .next()
        .unwrap_or_default()
        .trim_end_matches(')')
        .split(", ")
        .filter_map(|r| r.parse().ok())
        .collect();
    assert_eq!(each.len(), 2, "{ratio}");
    let median: f64 = ratio["ratio: ".len()..]
        .split('×')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(-1.0);
    assert!(
        (median - (each[0] + each[1]) / 2.0).abs() <= 0.011,
        "{ratio}"
    );
    for label in ["static handler, same TLS stack", "Guichet"] {
        let (rate, errors) = row(&text, label);
        assert!(rate > 0.0 && errors == 0, "{label}\n{text}");
    }
}
