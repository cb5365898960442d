//! The regulatory statistics' raw material (RTS art. 32(4), EBA/GL/2018/07 guidelines 2.2–2.4):
//! the API calls' outcomes aggregated per minute, bank, API version, category and server
//! instance, so that years of traffic stay small and every instance of a deployment writes to
//! the same table without contention (each writes its own rows).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store};

/// One minute of calls of one category (or of every category together: `ALL`) to one API
/// version of one bank, as one server instance answered them.
///
/// A *failure* is a call not answered within 30 s, or answered with a server error (GL 2.4).
/// The failure runs count calls in the instance's arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteRow {
    pub bank_code: String,
    /// E.g. `1.4.2`; each version is a separate interface.
    pub api_version: String,
    /// `AIS`, `PIS`, `CBPII`, `OAUTH`, or `ALL` (the minute's calls of every category, kept for
    /// the runs of failures across categories).
    pub category: String,
    /// Unix seconds of the minute's start (a multiple of 60).
    pub minute: i64,
    /// The server process that answered, random at its start.
    pub instance: String,
    pub calls: i64,
    /// Answered with a 5xx.
    pub server_errors: i64,
    /// Answered with a 4xx.
    pub client_errors: i64,
    /// Answered after 30 s without a server error, so that `server_errors + slow_calls` is the
    /// minute's failures.
    pub slow_calls: i64,
    /// The sum of the response times, in microseconds.
    pub total_micros: i64,
    /// Failures before the minute's first success (all of them when `all_failed`).
    pub leading_failures: i64,
    /// Failures after the minute's last success (all of them when `all_failed`).
    pub trailing_failures: i64,
    /// The longest run of consecutive failures within the minute.
    pub max_failure_run: i64,
    /// Every call of the minute failed.
    pub all_failed: bool,
}

/// Adds a row, or merges it into the row already written for the same minute and instance as
/// the calls that came after it: counts add up, the leading run grows only when every earlier
/// call failed, the trailing run is the new part's unless it failed throughout, and the
/// longest run may be the old trailing run joined to the new leading run.
const INSERT_MINUTE: &str = "INSERT INTO api_minutes (bank_code, api_version, category, minute, instance, \
     calls, server_errors, client_errors, slow_calls, total_micros, leading_failures, \
     trailing_failures, max_failure_run, all_failed) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
     ON CONFLICT (bank_code, api_version, category, minute, instance) DO UPDATE SET \
       calls = api_minutes.calls + excluded.calls, \
       server_errors = api_minutes.server_errors + excluded.server_errors, \
       client_errors = api_minutes.client_errors + excluded.client_errors, \
       slow_calls = api_minutes.slow_calls + excluded.slow_calls, \
       total_micros = api_minutes.total_micros + excluded.total_micros, \
       leading_failures = CASE WHEN api_minutes.all_failed = 1 \
         THEN api_minutes.leading_failures + excluded.leading_failures \
         ELSE api_minutes.leading_failures END, \
       trailing_failures = CASE WHEN excluded.all_failed = 1 \
         THEN api_minutes.trailing_failures + excluded.trailing_failures \
         ELSE excluded.trailing_failures END, \
       max_failure_run = CASE \
         WHEN api_minutes.trailing_failures + excluded.leading_failures >= api_minutes.max_failure_run \
          AND api_minutes.trailing_failures + excluded.leading_failures >= excluded.max_failure_run \
         THEN api_minutes.trailing_failures + excluded.leading_failures \
         WHEN api_minutes.max_failure_run >= excluded.max_failure_run THEN api_minutes.max_failure_run \
         ELSE excluded.max_failure_run END, \
       all_failed = CASE WHEN api_minutes.all_failed = 1 AND excluded.all_failed = 1 THEN 1 ELSE 0 END";

const MINUTE_COLUMNS: &str = "bank_code, api_version, category, minute, instance, calls, \
     server_errors, client_errors, slow_calls, total_micros, leading_failures, trailing_failures, \
     max_failure_run, all_failed";

fn minute_row(row: &AnyRow) -> Result<MinuteRow> {
    Ok(MinuteRow {
        bank_code: row.try_get("bank_code")?,
        api_version: row.try_get("api_version")?,
        category: row.try_get("category")?,
        minute: row.try_get("minute")?,
        instance: row.try_get("instance")?,
        calls: row.try_get("calls")?,
        server_errors: row.try_get("server_errors")?,
        client_errors: row.try_get("client_errors")?,
        slow_calls: row.try_get("slow_calls")?,
        total_micros: row.try_get("total_micros")?,
        leading_failures: row.try_get("leading_failures")?,
        trailing_failures: row.try_get("trailing_failures")?,
        max_failure_run: row.try_get("max_failure_run")?,
        all_failed: row.try_get::<i64, _>("all_failed")? != 0,
    })
}

impl Store {
    /// Writes minutes in one transaction: all or none. A row already written for the same
    /// minute and instance (a minute flushed early, at shutdown, then continued) is merged
    /// with the new one as its continuation.
    pub async fn insert_minutes(&self, rows: &[MinuteRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for row in rows {
            sqlx::query(INSERT_MINUTE)
                .bind(row.bank_code.as_str())
                .bind(row.api_version.as_str())
                .bind(row.category.as_str())
                .bind(row.minute)
                .bind(row.instance.as_str())
                .bind(row.calls)
                .bind(row.server_errors)
                .bind(row.client_errors)
                .bind(row.slow_calls)
                .bind(row.total_micros)
                .bind(row.leading_failures)
                .bind(row.trailing_failures)
                .bind(row.max_failure_run)
                .bind(i64::from(row.all_failed))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The bank's minutes with `from <= minute < to` (Unix seconds), of every version,
    /// category and instance, ordered by version, instance, category and minute.
    pub async fn minutes(&self, bank_code: &str, from: i64, to: i64) -> Result<Vec<MinuteRow>> {
        let sql = format!(
            "SELECT {MINUTE_COLUMNS} FROM api_minutes \
             WHERE bank_code = $1 AND minute >= $2 AND minute < $3 \
             ORDER BY api_version, instance, category, minute"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(bank_code)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(minute_row).collect()
    }
}
