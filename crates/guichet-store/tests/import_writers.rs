//! Imports beside other writers, on PostgreSQL chiefly: two imports of one account at once, an
//! import stopped by a deadlock, and the statistics a large import refreshes.

#[allow(dead_code, reason = "each test file uses a part of the shared files")]
mod camt_files;

use camt_files::*;
use guichet_camt::Kind;
use guichet_store::import::CustomerFile;
use guichet_store::sandbox::personas::french_iban;
use guichet_store::testing::{execute, tables_never_analyzed};
use guichet_store::{Backend, Store, TransactionQuery, on_both_backends};

on_both_backends! {
    // Two imports of the same new operations at once (an inbox and `guichet import`, a file
    // dropped twice): the operations are numbered from the account's last one, so the second
    // import waits for the first and finds them, rather than numbering them again (on
    // PostgreSQL it failed on the primary key and its file was refused).
    async fn two_imports_of_the_same_new_operations_at_once_both_succeed_and_write_them_once(backend) {
        // Two writers on PostgreSQL (a quarter of 8), as two processes would have.
        let (store, _db) = with_customers(backend, 8).await;
        let entries = booked("REF", 0, 300, "2026-12-04");
        let statement = document(Kind::Statement053, "2026-12-04T20:00:00Z", Vec::new(), entries);
        let (first, second) = tokio::join!(import(&store, &statement), import(&store, &statement));
        let (first, second) = match (first, second) {
            (Ok(first), Ok(second)) => (first, second),
            other => panic!("both imports succeed: {other:?}"),
        };
        assert_eq!(first.added + second.added, 300, "{first:?} {second:?}");
        assert_eq!(first.unchanged + second.unchanged, 300, "{first:?} {second:?}");
        let query = TransactionQuery {
            bank_code: BANK.into(),
            account_id: "CPT08111222301".into(),
            limit: 1000,
            ..TransactionQuery::default()
        };
        let written = store.transactions(&query).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(written.len(), 300);
        let mut seqs: Vec<i64> = written.iter().map(|tx| tx.seq).collect();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), 300, "each operation numbered once");
    }
}

// A large import gives PostgreSQL's planner fresh statistics of what it wrote; a small one
// leaves them to autovacuum (turned off here for the table, so that only the import could
// have analyzed it).
#[tokio::test]
async fn a_large_import_refreshes_postgresqls_statistics_and_a_small_one_does_not() {
    let (store, _db) = with_customers(Backend::Postgres, 4).await;
    execute(
        &store,
        "ALTER TABLE transactions SET (autovacuum_enabled = false)",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let day = "2026-12-03";
    let small = document(
        Kind::Statement053,
        "2026-12-03T20:00:00Z",
        Vec::new(),
        booked("REF", 0, 100, day),
    );
    import(&store, &small)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        analyzed(&store, &["transactions"]).await,
        [false],
        "100 operations: left to autovacuum"
    );
    let large = document(
        Kind::Statement053,
        "2026-12-04T20:00:00Z",
        Vec::new(),
        booked("REF", 100, 10_000, day),
    );
    let summary = import(&store, &large)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.added, 10_000);
    assert_eq!(
        analyzed(&store, &["transactions"]).await,
        [true],
        "10,000 operations: analyzed"
    );
}

/// A statement of both accounts of the customer file, the current account first.
fn both_accounts(created: &str) -> String {
    let day = "2026-12-03";
    statement(
        Kind::Statement053,
        created,
        vec![
            (CURRENT, Vec::new(), booked("CUR", 0, 3, day)),
            (SAVINGS, Vec::new(), booked("SAV", 0, 3, day)),
        ],
    )
}

// An import that meets another writer holding its accounts in the other order is stopped by
// PostgreSQL's deadlock detection: a failure of the database, which the inbox tries again,
// not a refusal of the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_stopped_by_a_deadlock_is_a_failure_to_try_again() {
    use sqlx::Connection;
    let (store, db) = with_customers(Backend::Postgres, 8).await;
    let mut other = sqlx::PgConnection::connect(db.url.expose())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lock = |iban: &str| format!("SELECT 1 FROM accounts WHERE iban = '{iban}' FOR UPDATE");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("BEGIN; {}", lock(SAVINGS))))
        .execute(&mut other)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The import locks the current account, then waits for the savings account.
    let importing = {
        let store = store.clone();
        let statement = both_accounts("2026-12-03T20:00:00Z");
        tokio::spawn(async move { import(&store, &statement).await })
    };
    let mut watch = sqlx::PgConnection::connect(db.url.expose())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut watch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the import never waited for its lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The other writer now waits for the current account: a cycle, which the import, waiting
    // for longer, finds first (deadlock_timeout) and is stopped by.
    let other_lock = sqlx::raw_sql(sqlx::AssertSqlSafe(lock(CURRENT)))
        .execute(&mut other)
        .await;
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut other).await;
    let imported = importing.await.unwrap_or_else(|e| panic!("{e}"));
    match (imported, other_lock) {
        (Err(error), Ok(_)) => {
            assert!(error.is_transient(), "{error}");
            assert!(error.to_string().contains("deadlock"), "{error}");
        }
        (imported, other_lock) => {
            panic!("the import was to be stopped: {imported:?}; the other writer: {other_lock:?}")
        }
    }
    // Tried again, it goes through.
    let again = import(&store, &both_accounts("2026-12-03T20:00:00Z")).await;
    assert_eq!(again.map(|summary| summary.added).ok(), Some(6));
}

/// Whether PostgreSQL has statistics of each of `tables`.
async fn analyzed(store: &Store, tables: &[&str]) -> Vec<bool> {
    let never = tables_never_analyzed(store)
        .await
        .unwrap_or_else(|e| panic!("reading pg_class: {e}"));
    tables
        .iter()
        .map(|table| !never.contains(&(*table).to_owned()))
        .collect()
}

// A customer file of 5,000 customers and their 5,000 accounts refreshes PostgreSQL's
// statistics of both tables; one of a single customer leaves them to autovacuum (off here).
#[tokio::test]
async fn a_large_customer_file_refreshes_postgresqls_statistics() {
    let (store, _db) = empty(Backend::Postgres, 4).await;
    for table in ["psus", "accounts"] {
        execute(
            &store,
            &format!("ALTER TABLE {table} SET (autovacuum_enabled = false)"),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    store
        .import_customers(BANK, &customers())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        analyzed(&store, &["psus", "accounts"]).await,
        [false, false]
    );
    let many: Vec<String> = (0..5_000u64)
        .map(|n| {
            format!(
                r#"{{"psuId": "P{n:05}", "login": "user{n}", "kind": "person",
                    "displayName": "CLIENT {n}", "segment": "retail", "accounts": [
                      {{"iban": "{}", "name": "Compte chèques", "currency": "EUR",
                        "cashAccountType": "CACC", "status": "active"}}]}}"#,
                french_iban(BANK, "00001", &format!("{:011}", 900_000 + n))
            )
        })
        .collect();
    let file = CustomerFile::parse(&format!(r#"{{"customers": [{}]}}"#, many.join(",")))
        .unwrap_or_else(|e| panic!("{e}"));
    let summary = store
        .import_customers(BANK, &file)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((summary.psus, summary.accounts), (5_000, 5_000));
    assert_eq!(analyzed(&store, &["psus", "accounts"]).await, [true, true]);
}
