//! Failed strong customer authentication tries and the blocks they lead to.
//!
//! RTS (EU) 2018/389 art. 4(3)(d): "the number of failed authentication attempts that can take
//! place consecutively, after which the actions referred to in Article 97(1) of Directive (EU)
//! 2015/2366 shall be temporarily or permanently blocked, shall not exceed five within a given
//! period of time". The count and the block live in the database, per PSU and bank, so that
//! every server process of a deployment sees the same count: a PSU cannot get five tries per
//! process.

use sqlx::AnyConnection;

use crate::{Result, Store};

/// What recording a failed try gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaFailure {
    /// Consecutive failed tries so far, this one included. The count is not reset when a block
    /// is set: it keeps counting until a successful SCA, an unblock, or the first failure after
    /// the block expired (which counts 1 again).
    pub failures: i64,
    /// The block in force after this try (set by this try or an earlier one), if any.
    pub blocked_until: Option<i64>,
}

/// One block, as kept in the append-only record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaBlockRecord {
    pub blocked_at: i64,
    pub blocked_until: i64,
    /// The consecutive failures counted when the block was set (0 for a block set directly).
    pub failures: i64,
    /// What led to the block: the factor that failed (`password`, `otp`) or `sandbox`.
    pub reason: String,
}

/// Adds a block to the record.
async fn record_block(
    conn: &mut AnyConnection,
    bank_code: &str,
    psu_id: &str,
    blocked_at: i64,
    blocked_until: i64,
    failures: i64,
    reason: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sca_blocks (bank_code, psu_id, blocked_at, blocked_until, failures, reason) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(bank_code)
    .bind(psu_id)
    .bind(blocked_at)
    .bind(blocked_until)
    .bind(failures)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets a block directly and records it, inside the caller's transaction (the sandbox seeding
/// uses it too). The failure count is kept. Answers the count recorded with the block.
pub(crate) async fn set_block(
    conn: &mut AnyConnection,
    bank_code: &str,
    psu_id: &str,
    now: i64,
    until: i64,
    reason: &str,
) -> Result<i64> {
    let (failures,): (i64,) = sqlx::query_as(
        "INSERT INTO sca_failures (bank_code, psu_id, failures, last_failure_at, blocked_until) \
         VALUES ($1, $2, 0, $3, $4) \
         ON CONFLICT (bank_code, psu_id) DO UPDATE SET blocked_until = excluded.blocked_until \
         RETURNING failures",
    )
    .bind(bank_code)
    .bind(psu_id)
    .bind(now)
    .bind(until)
    .fetch_one(&mut *conn)
    .await?;
    record_block(conn, bank_code, psu_id, now, until, failures, reason).await?;
    Ok(failures)
}

/// A bank's lockout: how many consecutive failures block, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    pub max_failures: i64,
    pub block_seconds: i64,
}

/// Counts one failure of a PSU in one atomic UPSERT (`$1` bank, `$2` PSU, `$3` now): an
/// expired block is cleared and the count restarts at 1. Answers the count and the live block.
const COUNT_FAILURE: &str = "INSERT INTO sca_failures (bank_code, psu_id, failures, last_failure_at, blocked_until) \
     VALUES ($1, $2, 1, $3, NULL) \
     ON CONFLICT (bank_code, psu_id) DO UPDATE SET \
       failures = CASE WHEN sca_failures.blocked_until IS NOT NULL AND sca_failures.blocked_until <= $3 \
         THEN 1 ELSE sca_failures.failures + 1 END, \
       blocked_until = CASE WHEN sca_failures.blocked_until IS NOT NULL AND sca_failures.blocked_until <= $3 \
         THEN NULL ELSE sca_failures.blocked_until END, \
       last_failure_at = $3 \
     RETURNING failures, blocked_until";

/// What asking for one SCA try gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaTry {
    /// The try may be checked; it is counted as failed until [`Store::release_sca_try`] says
    /// otherwise. `count` is the consecutive failures, this try included.
    Granted { count: i64 },
    /// The PSU's authentication is blocked until then.
    Blocked { until: i64 },
    /// As many tries as the limit are being checked at this moment: this one is not.
    TooMany,
}

impl Store {
    /// Takes one SCA try of the PSU before its factor is checked, so that concurrent guesses
    /// cannot get more than `max_failures` checks (RTS art. 4(3)(d)): the try is counted as a
    /// failure first, in one atomic UPSERT shared by every process, and refunded when the
    /// factor was right. An expired block is cleared and the count restarts at 1.
    pub async fn take_sca_try(
        &self,
        bank_code: &str,
        psu_id: &str,
        now: i64,
        max_failures: i64,
    ) -> Result<ScaTry> {
        let (count, blocked_until): (i64, Option<i64>) = sqlx::query_as(COUNT_FAILURE)
            .bind(bank_code)
            .bind(psu_id)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        Ok(match blocked_until {
            Some(until) => ScaTry::Blocked { until },
            None if count > max_failures.max(1) => ScaTry::TooMany,
            None => ScaTry::Granted { count },
        })
    }

    /// The factor of a granted try was wrong: when it was the `max_failures`-th consecutive
    /// one, the PSU is blocked for `block_seconds` and the block recorded (one transaction).
    /// Answers the block set, if any.
    pub async fn fail_sca_try(
        &self,
        bank_code: &str,
        psu_id: &str,
        factor: &str,
        now: i64,
        count: i64,
        rule: LockoutRule,
    ) -> Result<Option<i64>> {
        if count < rule.max_failures.max(1) {
            return Ok(None);
        }
        let until = now.saturating_add(rule.block_seconds.max(0));
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE sca_failures SET blocked_until = $1 WHERE bank_code = $2 AND psu_id = $3",
        )
        .bind(until)
        .bind(bank_code)
        .bind(psu_id)
        .execute(&mut *tx)
        .await?;
        record_block(&mut tx, bank_code, psu_id, now, until, count, factor).await?;
        tx.commit().await?;
        Ok(Some(until))
    }

    /// The factor of a granted try was right: the try is no failure.
    pub async fn release_sca_try(&self, bank_code: &str, psu_id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE sca_failures SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END \
             WHERE bank_code = $1 AND psu_id = $2",
        )
        .bind(bank_code)
        .bind(psu_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets failure counts without a block in force whose last failure is older than
    /// `before` (unknown identifiers are counted too: this keeps the table small).
    pub async fn prune_sca_failures(&self, before: i64, now: i64) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM sca_failures WHERE last_failure_at < $1 \
             AND (blocked_until IS NULL OR blocked_until <= $2)",
        )
        .bind(before)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// When the PSU's authentication is blocked at `now`: `Some(until)` with `until > now`.
    pub async fn sca_blocked_until(
        &self,
        bank_code: &str,
        psu_id: &str,
        now: i64,
    ) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT blocked_until FROM sca_failures \
             WHERE bank_code = $1 AND psu_id = $2 AND blocked_until > $3",
        )
        .bind(bank_code)
        .bind(psu_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(until,)| until))
    }

    /// Counts one failed SCA try (`factor`: `password`, `otp`, …) and blocks the PSU for
    /// `block_seconds` when the count reaches `max_failures` (RTS art. 4(3)(d): at most 5).
    ///
    /// Exact across processes: one transaction whose first statement is a single UPSERT, so
    /// that concurrent failures of one PSU are counted one after the other under the row's
    /// lock; the try that reaches `max_failures` sets the block and adds it to the record in
    /// the same transaction, and only that try does (the next ones find the block set).
    ///
    /// Once a block has expired (`blocked_until <= now`) the next failure counts 1 again and
    /// clears the block, in the same UPSERT. The count is not reset when the block is set: it
    /// goes on counting (6, 7, …) if failures are recorded during the block.
    pub async fn record_sca_failure(
        &self,
        bank_code: &str,
        psu_id: &str,
        factor: &str,
        now: i64,
        max_failures: i64,
        block_seconds: i64,
    ) -> Result<ScaFailure> {
        let mut tx = self.begin_write().await?;
        let (failures, blocked_until): (i64, Option<i64>) = sqlx::query_as(COUNT_FAILURE)
            .bind(bank_code)
            .bind(psu_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        // A block still returned here is live: expired ones were cleared by the UPSERT.
        if blocked_until.is_some() || failures < max_failures.max(1) {
            tx.commit().await?;
            return Ok(ScaFailure {
                failures,
                blocked_until,
            });
        }
        let until = now.saturating_add(block_seconds.max(0));
        sqlx::query(
            "UPDATE sca_failures SET blocked_until = $1 WHERE bank_code = $2 AND psu_id = $3",
        )
        .bind(until)
        .bind(bank_code)
        .bind(psu_id)
        .execute(&mut *tx)
        .await?;
        record_block(&mut tx, bank_code, psu_id, now, until, failures, factor).await?;
        tx.commit().await?;
        Ok(ScaFailure {
            failures,
            blocked_until: Some(until),
        })
    }

    /// A successful SCA ends the run of failures: the count goes, unless a block is set (a
    /// block is lifted only by its expiry or by `unblock_psu`; after an expired block the next
    /// failure counts 1 anyway).
    pub async fn reset_sca_failures(&self, bank_code: &str, psu_id: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM sca_failures \
             WHERE bank_code = $1 AND psu_id = $2 AND blocked_until IS NULL",
        )
        .bind(bank_code)
        .bind(psu_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Lifts the PSU's block and forgets its failures (the bank's unblocking procedure; the
    /// sandbox's command). Answers whether a block in force at `now` was lifted. The record of
    /// past blocks is kept.
    pub async fn unblock_psu(&self, bank_code: &str, psu_id: &str, now: i64) -> Result<bool> {
        let row: Option<(Option<i64>,)> = sqlx::query_as(
            "DELETE FROM sca_failures WHERE bank_code = $1 AND psu_id = $2 RETURNING blocked_until",
        )
        .bind(bank_code)
        .bind(psu_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(matches!(row, Some((Some(until),)) if until > now))
    }

    /// Blocks the PSU's authentication until `until`, whatever its failures, and records the
    /// block (the sandbox's blocked persona; a bank's own decision). The failure count is kept.
    pub async fn block_psu(
        &self,
        bank_code: &str,
        psu_id: &str,
        now: i64,
        until: i64,
        reason: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        set_block(&mut tx, bank_code, psu_id, now, until, reason).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every block of the PSU ever set, newest first.
    pub async fn sca_blocks(&self, bank_code: &str, psu_id: &str) -> Result<Vec<ScaBlockRecord>> {
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "SELECT blocked_at, blocked_until, failures, reason FROM sca_blocks \
             WHERE bank_code = $1 AND psu_id = $2 ORDER BY blocked_at DESC, id DESC",
        )
        .bind(bank_code)
        .bind(psu_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(blocked_at, blocked_until, failures, reason)| ScaBlockRecord {
                    blocked_at,
                    blocked_until,
                    failures,
                    reason,
                },
            )
            .collect())
    }
}
