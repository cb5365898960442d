//! A page of operations as GET /transactions answers it: the operations' kept JSON
//! (`operation_json`), one after the other, read as one column per row.

use bytes::Bytes;

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

/// A page's operations as GET /transactions answers them: their JSON separated by commas (the
/// inside of the page's `transactions` array), and how many. The bytes are shared with the
/// page kept in memory, if it is kept: an answer sends them without copying them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageOperations {
    pub json: Bytes,
    pub count: usize,
}

/// About 480 bytes of JSON an operation (BENCHMARKS.md); room for a page of `limit`, 1 MiB at
/// most before it grows.
fn expected_bytes(limit: i64) -> usize {
    usize::try_from(limit)
        .unwrap_or(0)
        .saturating_mul(512)
        .min(1 << 20)
}

impl Store {
    /// The query's operations, a pending one with the bank's `pending_status`.
    ///
    /// With the account's stamp (`query.stamp`), a page kept with that stamp answers from
    /// memory, and a page read is kept with it (`page_cache`).
    ///
    /// A row without its JSON (written by an earlier version, or changed by hand: a trigger
    /// forgets the JSON of a row whose columns change without it) makes the page be written
    /// again from the columns, the same bytes more slowly, and the account's JSON be written
    /// behind the answer.
    pub async fn page_operations(
        &self,
        query: &TransactionQuery,
        pending_status: &str,
    ) -> Result<PageOperations> {
        let stamp = query.stamp;
        if let Some(stamp) = stamp
            && let Some(kept) = self.page_cache.answer(query, stamp, pending_status)
        {
            return Ok(kept);
        }
        let (sql, binds) = page_sql(query);
        let mut out = Vec::with_capacity(expected_bytes(query.limit));
        let mut sink = Sink {
            out: &mut out,
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
        let (count, complete) = (sink.count, sink.complete);
        if complete {
            let kept = stamp.is_some() && self.page_cache.keeps(out.len());
            if kept && out.capacity() > out.len() + out.len() / 4 {
                // A kept page holds its allocation: no more than its bytes and a quarter.
                out.shrink_to_fit();
            }
            let page = PageOperations {
                json: Bytes::from(out),
                count,
            };
            if let Some(stamp) = stamp {
                self.page_cache.keep(query, stamp, pending_status, &page);
            }
            return Ok(page);
        }
        out.clear();
        let count = self
            .write_operations_from_columns(query, pending_status, &mut out)
            .await?;
        self.fill_account_json_later(&query.bank_code, &query.account_id);
        Ok(PageOperations {
            json: Bytes::from(out),
            count,
        })
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
