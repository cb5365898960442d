//! A page of operations as GET /transactions answers it: the operations' kept JSON
//! (`operation_json`), one after the other, read as one column per row.

use sqlx::AssertSqlSafe;

use crate::accounts::{TRANSACTION_COLUMNS, transaction};
use crate::operation_json::{operation_json, push_with_status, splice_status, write_operation};
use crate::read::Cols;
use crate::{Result, Store, TransactionQuery};

/// Operations given their JSON per transaction by [`Store::fill_operation_json`].
const FILL_BATCH: i64 = 1_000;

/// The `meta` key set once every operation has its JSON.
pub(crate) const FILLED: &str = "operation_json_filled";

/// The page being written: the operations so far, and whether one lacked its JSON.
struct Sink<'o> {
    out: &'o mut Vec<u8>,
    pending_status: &'o str,
    count: usize,
    complete: bool,
}

impl Sink<'_> {
    fn push(&mut self, json: Option<&str>) {
        let Some(json) = json else {
            self.complete = false;
            return;
        };
        if self.count > 0 {
            self.out.push(b',');
        }
        push_with_status(self.out, json, self.pending_status);
        self.count += 1;
    }
}

impl Store {
    /// Appends the query's operations to `out` as their STET JSON separated by commas (the
    /// inside of a page's `transactions` array), a pending one with the bank's
    /// `pending_status`; answers how many.
    ///
    /// A row without its JSON (written by an earlier version since this process filled them)
    /// makes the page be written again from the columns: the same bytes, more slowly.
    pub async fn write_operations(
        &self,
        query: &TransactionQuery,
        pending_status: &str,
        out: &mut Vec<u8>,
    ) -> Result<usize> {
        let (filter, binds) = query.filter();
        let sql = format!(
            "SELECT json FROM transactions WHERE {filter} \
             ORDER BY imputation_date DESC, seq DESC {}",
            query.limit_clause()
        );
        let start = out.len();
        let mut sink = Sink {
            out: &mut *out,
            pending_status,
            count: 0,
            complete: true,
        };
        if query.offset > 0 {
            // A page far from the first walks the pages before it: off the workers, copied.
            let rows = self
                .read_rows_off_worker(sql, binds, |row| row.opt_text("json"))
                .await?;
            for json in &rows {
                sink.push(json.as_deref());
            }
        } else {
            self.read_each(&sql, &binds, |row| {
                sink.push(row.opt_text_ref("json")?);
                Ok(())
            })
            .await?;
        }
        if sink.complete {
            return Ok(sink.count);
        }
        out.truncate(start);
        let count = self
            .write_operations_from_columns(query, pending_status, out)
            .await?;
        if let Err(error) = self
            .fill_account_json(&query.bank_code, &query.account_id)
            .await
        {
            // The page is right without it; the next one tries again.
            tracing::warn!(%error, "the JSON of operations written without it is not kept yet");
        }
        Ok(count)
    }

    async fn write_operations_from_columns(
        &self,
        query: &TransactionQuery,
        pending_status: &str,
        out: &mut Vec<u8>,
    ) -> Result<usize> {
        let mut first = true;
        self.each_transaction(query, |tx| {
            if !first {
                out.push(b',');
            }
            first = false;
            let at = out.len();
            write_operation(out, tx);
            splice_status(&mut out[at..], pending_status);
            Ok(())
        })
        .await
    }

    /// Writes the JSON of the operations kept without it (written before migration 0009),
    /// a thousand per transaction, once: the `meta` table remembers that none is left, so that
    /// later starts read nothing. Answers how many it wrote; several processes may run it at
    /// once (each row is written only while it has none).
    pub async fn fill_operation_json(&self) -> Result<u64> {
        if self.meta(FILLED).await?.is_some() {
            return Ok(0);
        }
        let filled = self.fill_json_where("json IS NULL", &[]).await?;
        self.meta_or_insert(FILLED, "all operations have their JSON")
            .await?;
        Ok(filled)
    }

    /// The same for one account: a page that met an operation without its JSON (written since
    /// by an earlier version of Guichet, during an upgrade) writes the account's.
    async fn fill_account_json(&self, bank_code: &str, account_id: &str) -> Result<u64> {
        self.fill_json_where(
            "bank_code = $1 AND account_id = $2 AND json IS NULL",
            &[bank_code, account_id],
        )
        .await
    }

    async fn fill_json_where(&self, filter: &str, binds: &[&str]) -> Result<u64> {
        let select = format!(
            "SELECT bank_code, {TRANSACTION_COLUMNS} FROM transactions \
             WHERE {filter} LIMIT {FILL_BATCH}"
        );
        let mut filled = 0;
        loop {
            let mut query = sqlx::query(AssertSqlSafe(select.clone()));
            for bound in binds {
                query = query.bind(*bound);
            }
            let rows = query.fetch_all(&self.pool).await?;
            if rows.is_empty() {
                return Ok(filled);
            }
            let mut tx = self.begin_write().await?;
            for row in &rows {
                let bank_code = row.text("bank_code")?;
                let operation = transaction(row)?;
                sqlx::query(
                    "UPDATE transactions SET json = $4 \
                     WHERE bank_code = $1 AND account_id = $2 AND seq = $3 AND json IS NULL",
                )
                .bind(bank_code)
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
}
