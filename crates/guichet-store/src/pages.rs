//! A page of operations as GET /transactions answers it: the operations' kept JSON
//! (`operation_json`), one after the other, read as one column per row.

use std::sync::Arc;

use bytes::Bytes;

use crate::operation_json::{push_rendered, push_with_status};
use crate::pg_reader::{ABANDONED_READ_DEADLINE, PgReader};
use crate::read::{Bound, Cols};
use crate::{Result, Store, StoreError, TransactionQuery};

/// The page being written: the operations so far, and whether one lacked its JSON.
struct Sink {
    out: Vec<u8>,
    pending_status: String,
    count: usize,
    complete: bool,
}

impl Sink {
    fn new(limit: i64, pending_status: &str) -> Sink {
        Sink {
            out: Vec::with_capacity(expected_bytes(limit)),
            pending_status: pending_status.to_owned(),
            count: 0,
            complete: true,
        }
    }

    fn push(&mut self, json: Option<&str>) {
        let Some(json) = json else {
            self.complete = false;
            return;
        };
        if self.count > 0 {
            self.out.push(b',');
        }
        push_with_status(&mut self.out, json, &self.pending_status);
        self.count += 1;
    }

    /// Adds a row of [`page_sql`].
    fn push_row(&mut self, row: &dyn Cols) -> Result<()> {
        self.push(row.opt_text_ref_at(0)?);
        Ok(())
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

/// On PostgreSQL, a page's rows come in some thirty reads of the socket (PostgreSQL sends 8 kB
/// at a time), each a wake of the task that reads them. Read in a task of its own, a wake polls
/// that task alone rather than the request's whole stack of futures, its span entered and left
/// each time: 4 to 5 % more first reads a second (BENCHMARKS.md, 7 December, late night). A
/// request dropped meanwhile leaves the read to end and its connection to serve again, where
/// it was closed; a read that takes longer than [`ABANDONED_READ_DEADLINE`] (a PostgreSQL that
/// no longer answers at all, which its statement timeout cannot stop) is dropped then, its
/// connection closed and its turn freed (`deadline`, that one but in tests).
async fn read_page_in_task(
    reads: Arc<PgReader>,
    sql: String,
    binds: Vec<Bound>,
    mut sink: Sink,
    deadline: std::time::Duration,
) -> Result<Sink> {
    let read = tokio::spawn(async move {
        let mut push = |row: &sqlx::postgres::PgRow| sink.push_row(row);
        let rows = reads.each(&sql, &binds, &mut push);
        match tokio::time::timeout(deadline, rows).await {
            Ok(read) => read.map(|_| sink),
            Err(_) => Err(StoreError::Read(
                "PostgreSQL did not send a page of operations in time".into(),
                true,
            )),
        }
    });
    match read.await {
        Ok(read) => read,
        Err(stopped) if stopped.is_cancelled() => Err(StoreError::Read(
            "a page's read stopped with the runtime".into(),
            true,
        )),
        Err(stopped) => Err(StoreError::Corrupt(format!(
            "a page's read stopped: {stopped}"
        ))),
    }
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
        let mut sink = Sink::new(query.limit, pending_status);
        if query.offset > 0 {
            // A page far from the first walks the pages before it: off the workers, copied.
            let rows = self
                .read_rows_off_worker(sql, binds, |row| row.opt_text("json"))
                .await?;
            for json in &rows {
                sink.push(json.as_deref());
            }
        } else if let Some(reads) = &self.pg_reader {
            sink =
                read_page_in_task(reads.clone(), sql, binds, sink, ABANDONED_READ_DEADLINE).await?;
        } else {
            self.read_each(&sql, &binds, |row| sink.push_row(row))
                .await?;
        }
        let Sink {
            mut out,
            count,
            complete,
            ..
        } = sink;
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

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Backend;
    use crate::pg_reader::tests::{backend_pid, closed_then_new, until_state};
    use crate::testing::TestDatabase;

    /// Rows of one JSON object each, `{"n":1}` to `{"n":<rows>}`, after PostgreSQL slept
    /// `sleep` seconds.
    fn rows_sql(rows: i64, sleep: f64) -> String {
        format!(
            "SELECT '{{\"n\":' || x || '}}' AS json \
             FROM (SELECT pg_sleep({sleep})) AS s, generate_series(1, {rows}) AS x ORDER BY x"
        )
    }

    const LONG: Duration = ABANDONED_READ_DEADLINE;

    /// A reader of up to `max` connections at once.
    async fn reader_of(db: &TestDatabase, max: u32) -> Arc<PgReader> {
        Arc::new(crate::pg_reader::tests::reader(db, max).await)
    }

    async fn reader(db: &TestDatabase) -> Arc<PgReader> {
        reader_of(db, 4).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_read_in_its_own_task_gives_its_rows_in_order() {
        let db = TestDatabase::new(Backend::Postgres).await;
        let reads = reader(&db).await;
        let sink = Sink::new(600, "OTHR");
        let read = read_page_in_task(reads, rows_sql(600, 0.0), Vec::new(), sink, LONG).await;
        let sink = read.unwrap_or_else(|e| panic!("the page: {e}"));
        let expected = (1..=600)
            .map(|n| format!("{{\"n\":{n}}}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(sink.count, 600);
        assert!(sink.complete);
        assert_eq!(String::from_utf8_lossy(&sink.out), expected);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_whose_request_went_away_is_read_to_its_end_and_its_connection_kept() {
        let db = TestDatabase::new(Backend::Postgres).await;
        let reads = reader(&db).await;
        let before = backend_pid(&reads).await;
        assert_eq!(reads.state(), (1, 1), "one connection, idle");
        let abandoned = tokio::time::timeout(
            Duration::from_millis(50),
            read_page_in_task(
                reads.clone(),
                rows_sql(500, 1.0),
                Vec::new(),
                Sink::new(500, "PDNG"),
                LONG,
            ),
        )
        .await;
        assert!(
            abandoned.is_err(),
            "the request went away while PostgreSQL slept"
        );
        until_state(&reads, (1, 0), "the read goes on without its request").await;
        until_state(
            &reads,
            (1, 1),
            "read to its end, the connection serves again rather than being closed",
        )
        .await;
        assert_eq!(backend_pid(&reads).await, before, "the same connection");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_past_its_deadline_is_dropped_its_connection_closed_and_its_turn_freed() {
        let db = TestDatabase::new(Backend::Postgres).await;
        // One read at a time: the next read finds the turn free, or waits and fails.
        let reads = reader_of(&db, 1).await;
        let before = backend_pid(&reads).await;
        let started = std::time::Instant::now();
        let late = read_page_in_task(
            reads.clone(),
            rows_sql(500, 3.0),
            Vec::new(),
            Sink::new(500, "PDNG"),
            Duration::from_millis(200),
        )
        .await;
        match late {
            Ok(_) => panic!("a read of 3 s answered within a deadline of 200 ms"),
            Err(e) => assert!(e.is_unavailable(), "answered 503: {e}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        closed_then_new(&reads, before, "a read past its deadline").await;
    }
}
