//! A page of operations as GET /transactions answers it: the operations' kept JSON
//! (`operation_json`), one after the other, read as one column per row.

use crate::operation_json::{push_rendered, push_with_status};
use crate::read::Bound;
use crate::{Result, Store, TransactionQuery};

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

/// The query of a page's operations' JSON. On SQLite it reads the index of pages alone
/// (migration 0011): every column it names is in that index. Its one column, the JSON, is read
/// by its place (0).
pub(crate) fn page_sql(query: &TransactionQuery) -> (String, Vec<Bound>) {
    let (filter, binds) = query.filter();
    let sql = format!(
        "SELECT json FROM transactions WHERE {filter} \
         ORDER BY imputation_date DESC, seq DESC {}",
        query.limit_clause()
    );
    (sql, binds)
}

impl Store {
    /// Appends the query's operations to `out` as their STET JSON separated by commas (the
    /// inside of a page's `transactions` array), a pending one with the bank's
    /// `pending_status`; answers how many.
    ///
    /// With the account's stamp (`query.stamp`), a page kept with that stamp answers from
    /// memory, and a page read is kept with it (`page_cache`).
    ///
    /// A row without its JSON (written by an earlier version, or changed by hand: a trigger
    /// forgets the JSON of a row whose columns change without it) makes the page be written
    /// again from the columns, the same bytes more slowly, and the account's JSON be written
    /// behind the answer.
    pub async fn write_operations(
        &self,
        query: &TransactionQuery,
        pending_status: &str,
        out: &mut Vec<u8>,
    ) -> Result<usize> {
        let stamp = query.stamp;
        if let Some(stamp) = stamp
            && let Some(count) = self.page_cache.answer(query, stamp, pending_status, out)
        {
            return Ok(count);
        }
        let (sql, binds) = page_sql(query);
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
                sink.push(row.opt_text_ref_at(0)?);
                Ok(())
            })
            .await?;
        }
        if sink.complete {
            let count = sink.count;
            if let Some(stamp) = stamp {
                self.page_cache
                    .keep(query, stamp, pending_status, &out[start..], count);
            }
            return Ok(count);
        }
        out.truncate(start);
        let count = self
            .write_operations_from_columns(query, pending_status, out)
            .await?;
        self.fill_account_json_later(&query.bank_code, &query.account_id);
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
            push_rendered(out, tx, pending_status);
            Ok(())
        })
        .await
    }
}
