//! The JSON of operations kept without it: rows written before migration 0009, by an earlier
//! version still running during an upgrade, or whose columns changed without it (the
//! migration's trigger forgets it then). Pages answer such rows from their columns
//! (`pages.rs`); these write their JSON so that the next pages copy it again.
//!
//! Rows are read in the order of the primary key, a hundred at a time after the last one
//! written, each batch read and written in one transaction that holds them (SQLite's write
//! lock, PostgreSQL's `FOR UPDATE`): the JSON is that of the columns as they are, and two
//! processes filling at once take the rows in the same order.

use sqlx::AssertSqlSafe;

use crate::accounts::{TRANSACTION_COLUMNS, transaction};
use crate::operation_json::operation_json;
use crate::read::Cols;
use crate::{Backend, Result, Store};

/// Operations given their JSON per transaction: a short one (tens of milliseconds), so that
/// the writes of requests get the connection between two (on PostgreSQL the writers have a
/// quarter of the connection budget).
const FILL_BATCH: i64 = 100;

/// The `meta` key set once every operation has its JSON.
pub(crate) const FILLED: &str = "operation_json_filled";

/// How many times the fill behind the start tries a database busy or unreachable.
const FILL_ATTEMPTS: u32 = 10;

/// Where a fill has got to: the last row written, in primary-key order.
type Key = (String, String, i64);

impl Store {
    /// Writes the JSON of every operation kept without it, once: the `meta` table remembers
    /// that none was left, so that later starts read nothing (rows written without it since
    /// are found by the pages that meet them). Answers how many it wrote.
    pub async fn fill_operation_json(&self) -> Result<u64> {
        if self.meta(FILLED).await?.is_some() {
            return Ok(0);
        }
        let filled = self.fill_json(None).await?;
        self.meta_or_insert(FILLED, "all operations have their JSON")
            .await?;
        Ok(filled)
    }

    /// [`Store::fill_operation_json`] behind the server's start, which it does not hold up: a
    /// history of millions of operations written before migration 0009 takes minutes, and
    /// pages answer from the columns meanwhile. A database busy or unreachable for a moment
    /// (another process writing, a restart) is tried again, a second later, up to
    /// [`FILL_ATTEMPTS`] times; any other failure is logged. The next start goes on from where
    /// this one stopped (the rows written keep their JSON).
    pub fn fill_operation_json_later(&self) {
        let store = self.clone();
        tokio::spawn(async move {
            for attempt in 1..=FILL_ATTEMPTS {
                match store.fill_operation_json().await {
                    Ok(0) => return,
                    Ok(filled) => {
                        tracing::info!(filled, "operations given their JSON");
                        return;
                    }
                    Err(error) if error.is_unavailable() && attempt < FILL_ATTEMPTS => {
                        tracing::info!(%error, attempt, "the JSON of operations kept without it: trying again");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "the JSON of operations kept without it is not written yet");
                        return;
                    }
                }
            }
        });
    }

    /// Writes one account's missing JSON behind the answer of the page that met it, once at a
    /// time per account in this process; a failure is logged, and the next page tries again.
    pub(crate) fn fill_account_json_later(&self, bank_code: &str, account_id: &str) {
        let key = (bank_code.to_owned(), account_id.to_owned());
        let first = self
            .filling
            .lock()
            .is_ok_and(|mut filling| filling.insert(key.clone()));
        if !first {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(error) = store.fill_json(Some((&key.0, &key.1))).await {
                tracing::warn!(%error, "the JSON of operations kept without it is not written yet");
            }
            if let Ok(mut filling) = store.filling.lock() {
                filling.remove(&key);
            }
        });
    }

    /// Writes the missing JSON of one account's operations, or of all; answers how many.
    pub(crate) async fn fill_json(&self, account: Option<(&str, &str)>) -> Result<u64> {
        let mut after: Option<Key> = None;
        let mut filled = 0;
        loop {
            let mut tx = self.begin_write().await?;
            let rows = self.without_json(&mut tx, account, after.as_ref()).await?;
            let Some(last) = rows.last() else {
                tx.commit().await?;
                return Ok(filled);
            };
            after = Some((
                last.text("bank_code")?,
                last.text("account_id")?,
                last.int("seq")?,
            ));
            for row in &rows {
                let operation = transaction(row)?;
                sqlx::query(
                    "UPDATE transactions SET json = $4 \
                     WHERE bank_code = $1 AND account_id = $2 AND seq = $3",
                )
                .bind(row.text("bank_code")?)
                .bind(operation.account_id)
                .bind(operation.seq)
                .bind(operation_json(&operation))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            filled += u64::try_from(rows.len()).unwrap_or(0);
        }
    }

    /// The next rows without JSON after `after`, held by the transaction.
    async fn without_json(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        account: Option<(&str, &str)>,
        after: Option<&Key>,
    ) -> Result<Vec<sqlx::any::AnyRow>> {
        let mut sql =
            format!("SELECT bank_code, {TRANSACTION_COLUMNS} FROM transactions WHERE json IS NULL");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if account.is_some() {
            sql.push_str(&format!(
                " AND bank_code = {} AND account_id = {}",
                next(),
                next()
            ));
        }
        if after.is_some() {
            sql.push_str(&format!(
                " AND (bank_code, account_id, seq) > ({}, {}, {})",
                next(),
                next(),
                next()
            ));
        }
        sql.push_str(&format!(
            " ORDER BY bank_code, account_id, seq LIMIT {FILL_BATCH}"
        ));
        if self.backend() == Backend::Postgres {
            sql.push_str(" FOR UPDATE");
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        if let Some((bank_code, account_id)) = account {
            query = query.bind(bank_code.to_owned()).bind(account_id.to_owned());
        }
        if let Some((bank_code, account_id, seq)) = after {
            query = query
                .bind(bank_code.clone())
                .bind(account_id.clone())
                .bind(*seq);
        }
        Ok(query.fetch_all(&mut **tx).await?)
    }
}
