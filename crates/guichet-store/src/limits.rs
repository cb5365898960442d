//! Daily call counters for batch access (portal, Limits).
//!
//! Counters live in the database so that they survive a restart and are shared by every
//! server process of a deployment.

use crate::{Result, Store};

/// What a counter counts: one TPP, bank, PSU, account (empty for PSU-level methods), AIS
/// method and calendar day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallKey<'a> {
    pub bank_code: &'a str,
    pub client_id: &'a str,
    pub psu_id: &'a str,
    pub account_id: &'a str,
    pub method: &'a str,
    /// The calendar day in the bank's time zone, `YYYY-MM-DD`.
    pub day: &'a str,
}

impl Store {
    /// Counts one call if fewer than `limit` were made, atomically, and answers how many calls
    /// remain afterwards; `None` when the limit was already reached (nothing is counted).
    pub async fn take_call(&self, key: &CallKey<'_>, limit: i64) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO call_counters (bank_code, client_id, psu_id, account_id, method, day, calls) \
             VALUES ($1, $2, $3, $4, $5, $6, 1) \
             ON CONFLICT (bank_code, client_id, psu_id, account_id, method, day) \
             DO UPDATE SET calls = call_counters.calls + 1 WHERE call_counters.calls < $7 \
             RETURNING calls",
        )
        .bind(key.bank_code)
        .bind(key.client_id)
        .bind(key.psu_id)
        .bind(key.account_id)
        .bind(key.method)
        .bind(key.day)
        .bind(limit)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(calls,)| (limit - calls).max(0)))
    }

    /// Calls already made today under this key.
    pub async fn calls_made(&self, key: &CallKey<'_>) -> Result<i64> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT calls FROM call_counters WHERE bank_code = $1 AND client_id = $2 \
             AND psu_id = $3 AND account_id = $4 AND method = $5 AND day = $6",
        )
        .bind(key.bank_code)
        .bind(key.client_id)
        .bind(key.psu_id)
        .bind(key.account_id)
        .bind(key.method)
        .bind(key.day)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or(0, |(calls,)| calls))
    }

    /// Drops counters of days before `day`.
    pub async fn prune_call_counters(&self, day: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM call_counters WHERE day < $1")
            .bind(day)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
