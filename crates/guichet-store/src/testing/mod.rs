//! Throwaway databases for tests: a fresh SQLite file or a fresh PostgreSQL database, removed
//! when the value is dropped.
//!
//! PostgreSQL tests never skip. The server is `GUICHET_TEST_POSTGRES_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/postgres` (the CI machine's); when that default does not
//! answer, the tests start a throwaway cluster from the system's PostgreSQL binaries
//! ([`cluster`]) instead, and fail with the reason only when that is impossible.

pub mod cluster;

use std::path::PathBuf;

use sqlx::{AssertSqlSafe, Connection};

use crate::{Backend, DatabaseUrl, tokens::new_family_id};

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for the life of this value.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> TestDatabase {
        let suffix = new_family_id().unwrap_or_else(|_| format!("{}", std::process::id()));
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("guichet-test-{suffix}"));
                if let Err(e) = std::fs::create_dir_all(&dir) {
                    panic!("cannot create {}: {e}", dir.display());
                }
                TestDatabase {
                    url: DatabaseUrl::sqlite_file(&dir.join("guichet.db")),
                    cleanup: Cleanup::Directory(dir),
                }
            }
            Backend::Postgres => TestDatabase::on_postgres(postgres_admin_url().await).await,
        }
    }

    /// A fresh database on the PostgreSQL server at `admin_url`.
    pub async fn on_postgres(admin_url: String) -> TestDatabase {
        let suffix = new_family_id().unwrap_or_else(|_| format!("{}", std::process::id()));
        let name = format!("guichet_test_{}", &suffix[..16.min(suffix.len())]);
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) => panic!(
                "PostgreSQL is required by this test and is not reachable at {admin_url}: {e}. \
                         Start it (.ci/run does) or set GUICHET_TEST_POSTGRES_URL."
            ),
        };
        if let Err(e) = sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
        {
            panic!("cannot create the test database {name}: {e}");
        }
        let _ = admin.close().await;
        let mut url = match url::Url::parse(&admin_url) {
            Ok(url) => url,
            Err(e) => panic!("GUICHET_TEST_POSTGRES_URL is not a URL: {e}"),
        };
        url.set_path(&name);
        let url = match DatabaseUrl::parse(url.as_str()) {
            Ok(url) => url,
            Err(e) => panic!("{e}"),
        };
        TestDatabase {
            url,
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        }
    }
}

/// The PostgreSQL server of the tests: the configured one, the default one when it answers,
/// else the throwaway cluster.
pub async fn postgres_admin_url() -> String {
    if let Ok(url) = std::env::var("GUICHET_TEST_POSTGRES_URL") {
        return url;
    }
    let default_answers = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        sqlx::PgConnection::connect(DEFAULT_POSTGRES),
    )
    .await
    .is_ok_and(|conn| conn.is_ok());
    if default_answers {
        return DEFAULT_POSTGRES.to_owned();
    }
    match tokio::task::spawn_blocking(cluster::ensure).await {
        Ok(Ok(url)) => url,
        Ok(Err(e)) => panic!(
            "PostgreSQL is required by this test: nothing answers at {DEFAULT_POSTGRES} and no throwaway cluster could be started: {e}"
        ),
        Err(e) => panic!("starting PostgreSQL: {e}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime; a separate thread with its own runtime
                // can block on the DROP without stalling it.
                let dropper = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    runtime.block_on(async move {
                        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut admin).await;
                            let _ = admin.close().await;
                        }
                    });
                });
                let _ = dropper.join();
            }
        }
    }
}

/// Runs a test body once per backend. In CI both run; PostgreSQL is never skipped.
#[macro_export]
macro_rules! on_both_backends {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($backend: $crate::Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$meta])*
            async fn sqlite() { run($crate::Backend::Sqlite).await }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$meta])*
            async fn postgres() { run($crate::Backend::Postgres).await }
        }
    };
}

/// Revokes the live access tokens of a PSU's grant to a TPP, keeping its refresh token (as a
/// bank does when it ends sessions): the TPP is then answered `invalid_token` without
/// "expired", and must refresh.
pub async fn revoke_access_tokens(
    store: &crate::Store,
    client_id: &str,
    psu_id: &str,
    now: i64,
) -> crate::Result<u64> {
    let done = sqlx::query(
        "UPDATE tokens SET revoked_at = $1 WHERE client_id = $2 AND psu_id = $3 \
         AND kind = 'access' AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(client_id)
    .bind(psu_id)
    .execute(&store.pool)
    .await?;
    Ok(done.rows_affected())
}

/// The tables of the database PostgreSQL's planner has no statistics of (never analyzed,
/// `reltuples` -1); none on SQLite.
pub async fn tables_never_analyzed(store: &crate::Store) -> crate::Result<Vec<String>> {
    if store.backend() != crate::Backend::Postgres {
        return Ok(Vec::new());
    }
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.reltuples < 0 \
         ORDER BY 1",
    )
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(|(name,)| name).collect())
}

/// Operations whose kept JSON is not what their columns render, as `bank account seq: …`:
/// none while every writer keeps the two in step.
pub async fn stale_operation_json(store: &crate::Store) -> crate::Result<Vec<String>> {
    use crate::read::Cols;
    let sql = format!(
        "SELECT bank_code, {}, json FROM transactions",
        crate::accounts::TRANSACTION_COLUMNS
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(&store.pool)
        .await?;
    let mut stale = Vec::new();
    for row in &rows {
        let operation = crate::accounts::transaction(row)?;
        let rendered = crate::operation_json::operation_json(&operation);
        let kept = row.opt_text("json")?;
        if kept.as_deref() != Some(rendered.as_str()) {
            stale.push(format!(
                "{} {} {}: kept {kept:?}, rendered {rendered}",
                row.text("bank_code")?,
                operation.account_id,
                operation.seq
            ));
        }
    }
    Ok(stale)
}

/// Makes operations look written by a version that kept no JSON: one operation of an account,
/// all of the account's, or all of them (and then the store no longer remembers having filled
/// them). Answers how many.
pub async fn forget_operation_json(
    store: &crate::Store,
    account: Option<(&str, &str)>,
    seq: Option<i64>,
) -> crate::Result<u64> {
    let done = match (account, seq) {
        (Some((bank_code, account_id)), seq) => {
            sqlx::query(
                "UPDATE transactions SET json = NULL WHERE bank_code = $1 AND account_id = $2 \
                 AND ($3 < 0 OR seq = $3)",
            )
            .bind(bank_code)
            .bind(account_id)
            .bind(seq.unwrap_or(-1))
            .execute(&store.pool)
            .await?
        }
        (None, _) => {
            sqlx::query("DELETE FROM meta WHERE key = $1")
                .bind(crate::fill::FILLED)
                .execute(&store.pool)
                .await?;
            sqlx::query("UPDATE transactions SET json = NULL")
                .execute(&store.pool)
                .await?
        }
    };
    Ok(done.rows_affected())
}

/// Runs a statement as an operator would, by hand on the database; answers the rows changed.
pub async fn execute(store: &crate::Store, sql: &str) -> crate::Result<u64> {
    let done = sqlx::query(AssertSqlSafe(sql.to_owned()))
        .execute(&store.pool)
        .await?;
    Ok(done.rows_affected())
}

/// How SQLite reads a transactions page of `query` and its count: the `detail` lines of
/// `EXPLAIN QUERY PLAN` for each, on the API's read path (empty on PostgreSQL).
pub async fn page_and_count_plans(
    store: &crate::Store,
    query: &crate::TransactionQuery,
) -> crate::Result<(Vec<String>, Vec<String>)> {
    if store.backend() != crate::Backend::Sqlite {
        return Ok((Vec::new(), Vec::new()));
    }
    let plan = |(sql, binds): (String, Vec<crate::read::Bound>)| async move {
        store
            .read_rows(&format!("EXPLAIN QUERY PLAN {sql}"), &binds, |row| {
                row.text("detail")
            })
            .await
    };
    let page = plan(crate::pages::page_sql(query)).await?;
    let count = plan(store.count_sql(query)).await?;
    Ok((page, count))
}
