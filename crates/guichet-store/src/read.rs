//! The read path of API calls.
//!
//! Every request reads its token, its consent and its accounts; on SQLite, sqlx hands each
//! row from a worker thread over a channel, and that hand-over (thread wake-ups, copies into
//! `AnyRow`s) cost more than the queries themselves (see BENCHMARKS.md). So on SQLite the
//! reads of the API go straight to the file through `rusqlite`, on read-only connections of
//! their own (WAL lets them read beside the writer, and they see every committed write); on
//! PostgreSQL they go through the pool. One SQL text and one row mapping serve both: a query
//! is written once, with `$1`…`$n` parameters, and read through [`Cols`].

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OpenFlags, ToSql};
use sqlx::any::AnyRow;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, Row};

use crate::db::{Backend, DatabaseUrl};
use crate::{Result, Store, StoreError};

/// A query parameter.
#[derive(Debug, Clone)]
pub(crate) enum Bound {
    Text(String),
    Int(i64),
}

impl From<&str> for Bound {
    fn from(text: &str) -> Bound {
        Bound::Text(text.to_owned())
    }
}

impl From<i64> for Bound {
    fn from(int: i64) -> Bound {
        Bound::Int(int)
    }
}

impl ToSql for Bound {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Bound::Text(text) => text.to_sql(),
            Bound::Int(int) => int.to_sql(),
        }
    }
}

pub(crate) fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: &[Bound],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for bound in binds {
        query = match bound {
            Bound::Text(text) => query.bind(text.clone()),
            Bound::Int(int) => query.bind(*int),
        };
    }
    query
}

/// A result row, by column name, whichever driver read it.
pub(crate) trait Cols {
    /// A text column borrowed from the row (no copy).
    fn text_ref(&self, name: &str) -> Result<&str>;
    fn opt_text_ref(&self, name: &str) -> Result<Option<&str>>;
    /// The text of the column at `index` of the select list, borrowed: for a query of one
    /// column read row by row (a page's 500 operations), where a lookup by name is a hash on
    /// PostgreSQL's rows at every row.
    fn opt_text_ref_at(&self, index: usize) -> Result<Option<&str>>;
    fn text(&self, name: &str) -> Result<String>;
    fn opt_text(&self, name: &str) -> Result<Option<String>>;
    fn int(&self, name: &str) -> Result<i64>;
    fn opt_int(&self, name: &str) -> Result<Option<i64>>;
}

macro_rules! cols_by_try_get {
    ($row:ty) => {
        impl Cols for $row {
            fn text_ref(&self, name: &str) -> Result<&str> {
                Ok(self.try_get(name)?)
            }
            fn opt_text_ref(&self, name: &str) -> Result<Option<&str>> {
                Ok(self.try_get(name)?)
            }
            fn opt_text_ref_at(&self, index: usize) -> Result<Option<&str>> {
                Ok(self.try_get(index)?)
            }
            fn text(&self, name: &str) -> Result<String> {
                Ok(self.try_get(name)?)
            }
            fn opt_text(&self, name: &str) -> Result<Option<String>> {
                Ok(self.try_get(name)?)
            }
            fn int(&self, name: &str) -> Result<i64> {
                Ok(self.try_get(name)?)
            }
            fn opt_int(&self, name: &str) -> Result<Option<i64>> {
                Ok(self.try_get(name)?)
            }
        }
    };
}

cols_by_try_get!(AnyRow);
cols_by_try_get!(sqlx::postgres::PgRow);

/// A row of the direct reader with its statement's column names: found by a comparison of
/// Rust strings, where rusqlite's lookup by name asks SQLite for every column's name (and
/// its length) at every access, which cost more than the query on a page of 500 operations.
struct LiteRow<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    names: &'r [String],
    /// Where the next column is likely to be: mappings read columns in the select list's
    /// order, so most lookups compare one name.
    next: std::cell::Cell<usize>,
}

impl LiteRow<'_, '_> {
    fn index(&self, name: &str) -> Result<usize> {
        let hint = self.next.get();
        let found = if self.names.get(hint).is_some_and(|n| n == name) {
            Some(hint)
        } else {
            self.names.iter().position(|n| n == name)
        };
        let index = found
            .ok_or_else(|| StoreError::Corrupt(format!("no column '{name}' in the result")))?;
        self.next.set(index + 1);
        Ok(index)
    }
}

impl Cols for LiteRow<'_, '_> {
    fn text_ref(&self, name: &str) -> Result<&str> {
        self.opt_text_ref(name)?
            .ok_or_else(|| StoreError::Corrupt(format!("column '{name}' is NULL")))
    }
    fn opt_text_ref(&self, name: &str) -> Result<Option<&str>> {
        text_or_null(self.row.get_ref(self.index(name)?)?)
            .map_err(|e| StoreError::Corrupt(format!("column '{name}': {e}")))
    }
    fn opt_text_ref_at(&self, index: usize) -> Result<Option<&str>> {
        text_or_null(self.row.get_ref(index)?)
            .map_err(|e| StoreError::Corrupt(format!("column {index}: {e}")))
    }
    fn text(&self, name: &str) -> Result<String> {
        Ok(self.row.get(self.index(name)?)?)
    }
    fn opt_text(&self, name: &str) -> Result<Option<String>> {
        Ok(self.row.get(self.index(name)?)?)
    }
    fn int(&self, name: &str) -> Result<i64> {
        Ok(self.row.get(self.index(name)?)?)
    }
    fn opt_int(&self, name: &str) -> Result<Option<i64>> {
        Ok(self.row.get(self.index(name)?)?)
    }
}

/// A text value, or NULL, as rusqlite's `as_str_or_null` reads it, its UTF-8 checked with
/// SIMD: a page's first read checks 250 kB of operations' JSON, 4 % of its time with the
/// standard library's check.
fn text_or_null(value: rusqlite::types::ValueRef<'_>) -> std::result::Result<Option<&str>, String> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Text(bytes) => simdutf8::basic::from_utf8(bytes)
            .map(Some)
            .map_err(|_| "not UTF-8".to_owned()),
        other => Err(format!("{:?} where text was expected", other.data_type())),
    }
}

/// Read-only connections to the SQLite file, kept between requests.
pub(crate) struct SqliteReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// Idle connections kept (one per runtime worker is enough; a few more for bursts).
const MAX_IDLE: usize = 16;

impl SqliteReader {
    /// A reader of the file an SQLite URL names, as sqlx reads the URL (percent-decoding,
    /// `sqlite:` and `sqlite://` forms); none for an in-memory database, another backend, or
    /// a URL whose options the reader would not honour alike (`vfs`, `immutable`). The
    /// reader's first connection is opened and queried: a file it cannot read leaves the
    /// reads to the pool rather than failing every request.
    pub(crate) fn for_url(url: &DatabaseUrl) -> Option<SqliteReader> {
        if url.backend() != Backend::Sqlite {
            return None;
        }
        let text = url.expose();
        let query = text.split_once('?').map_or("", |(_, query)| query);
        let unusual = |option: &str| {
            query
                .split('&')
                .any(|pair| pair.split('=').next() == Some(option))
        };
        if unusual("vfs") || unusual("immutable") || query.contains("mode=memory") {
            return None;
        }
        let options = SqliteConnectOptions::from_str(text).ok()?;
        let path = options.get_filename();
        if path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:") {
            return None;
        }
        let reader = SqliteReader {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        };
        match reader.each("SELECT 1", &[], &mut |_| Ok(())) {
            Ok(_) => Some(reader),
            Err(error) => {
                tracing::warn!(%error, "the API's direct SQLite reads are off: the pool reads");
                None
            }
        }
    }

    /// The same reads, off the runtime's workers: for queries whose cost grows with the data
    /// (a count over a date range, a page far from the first).
    async fn each_off_worker<T: Send + 'static>(
        self: Arc<Self>,
        sql: String,
        binds: Vec<Bound>,
        map: fn(&dyn Cols) -> Result<T>,
    ) -> Result<Vec<T>> {
        let work = move || {
            let mut out = Vec::new();
            self.each(&sql, &binds, &mut |row| {
                out.push(map(row)?);
                Ok(())
            })?;
            Ok(out)
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| StoreError::Corrupt(format!("a read stopped: {e}")))?
    }

    fn connection(&self) -> Result<Connection> {
        if let Ok(mut idle) = self.idle.lock()
            && let Some(connection) = idle.pop()
        {
            return Ok(connection);
        }
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_millis(500))?;
        connection.set_prepared_statement_cache_capacity(64);
        Ok(connection)
    }

    fn give_back(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(connection);
        }
    }

    /// Runs a query and hands its rows to `visit`, one by one; answers how many there were.
    fn each(
        &self,
        sql: &str,
        binds: &[Bound],
        visit: &mut dyn FnMut(&dyn Cols) -> Result<()>,
    ) -> Result<usize> {
        let connection = self.connection()?;
        let answer = run(&connection, sql, binds, visit);
        // A connection whose query failed may be in any state: it is not kept.
        if answer.is_ok() {
            self.give_back(connection);
        }
        answer
    }
}

/// The names of the first parameters, written once rather than at each bind.
const PARAMETER_NAMES: [&str; 9] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9"];

fn run(
    connection: &Connection,
    sql: &str,
    binds: &[Bound],
    visit: &mut dyn FnMut(&dyn Cols) -> Result<()>,
) -> Result<usize> {
    let mut statement = connection.prepare_cached(sql)?;
    // `$n` is a named parameter to SQLite: bind each by its name, wherever it appears.
    for (i, bound) in binds.iter().enumerate() {
        let name: std::borrow::Cow<'_, str> = PARAMETER_NAMES
            .get(i)
            .map_or_else(|| format!("${}", i + 1).into(), |name| (*name).into());
        if let Some(index) = statement.parameter_index(&name)? {
            statement.raw_bind_parameter(index, bound)?;
        }
    }
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    debug_assert!(
        names
            .iter()
            .enumerate()
            .all(|(i, name)| !names[..i].contains(name)),
        "a query's columns are read by name: no two may share one ({sql})"
    );
    let mut rows = statement.raw_query();
    let mut count = 0;
    while let Some(row) = rows.next()? {
        visit(&LiteRow {
            row,
            names: &names,
            next: std::cell::Cell::new(0),
        })?;
        count += 1;
    }
    Ok(count)
}

impl Store {
    /// The rows of a read-only query of the API's read path.
    pub(crate) async fn read_rows<T: Send>(
        &self,
        sql: &str,
        binds: &[Bound],
        map: impl Fn(&dyn Cols) -> Result<T> + Sync,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.read_each(sql, binds, |row| {
            out.push(map(row)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Visits the rows of a read-only query one by one, without collecting them; answers how
    /// many there were.
    pub(crate) async fn read_each(
        &self,
        sql: &str,
        binds: &[Bound],
        mut visit: impl FnMut(&dyn Cols) -> Result<()> + Send,
    ) -> Result<usize> {
        if let Some(reader) = &self.reader {
            // In place, on the request's worker: these reads take microseconds (a 500-row
            // page about a millisecond) of CPU that the request needs anyway; handing them to
            // another thread (`block_in_place`, `spawn_blocking`) measured slower and grew the
            // process by a connection and a thread per concurrent request.
            return reader.each(sql, binds, &mut visit);
        }
        if let Some(reads) = &self.pg_reader {
            return reads.each(sql, binds, &mut |row| visit(row)).await;
        }
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.to_owned())), binds)
            .fetch_all(&self.pool)
            .await?;
        for row in &rows {
            visit(row)?;
        }
        Ok(rows.len())
    }

    /// The rows of a read-only query whose cost grows with the data, read off the runtime's
    /// workers (on SQLite; PostgreSQL answers over the network anyway).
    pub(crate) async fn read_rows_off_worker<T: Send + 'static>(
        &self,
        sql: String,
        binds: Vec<Bound>,
        map: fn(&dyn Cols) -> Result<T>,
    ) -> Result<Vec<T>> {
        match &self.reader {
            Some(reader) => reader.clone().each_off_worker(sql, binds, map).await,
            None => self.read_rows(&sql, &binds, map).await,
        }
    }

    /// The first row of a read-only query, if any.
    pub(crate) async fn read_row<T: Send>(
        &self,
        sql: &str,
        binds: &[Bound],
        map: impl Fn(&dyn Cols) -> Result<T> + Sync,
    ) -> Result<Option<T>> {
        Ok(self.read_rows(sql, binds, map).await?.into_iter().next())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError::Sqlite(error.to_string(), busy(&error))
    }
}

/// SQLite's busy and locked codes: the database is there but not available right now.
fn busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader_path(url: &str) -> Option<PathBuf> {
        DatabaseUrl::parse(url)
            .ok()
            .and_then(|url| SqliteReader::for_url(&url))
            .map(|reader| reader.path)
    }

    #[test]
    fn the_reader_opens_the_file_sqlx_opens() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("guichet-reader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let file = dir.join("my db.db");
        Connection::open(&file)?.execute_batch("CREATE TABLE t (x INTEGER)")?;
        let encoded = format!("{}/my%20db.db", dir.display());
        assert_eq!(
            reader_path(&format!("sqlite://{encoded}?mode=rwc")),
            Some(file.clone()),
            "percent-decoded as sqlx decodes it"
        );
        assert_eq!(
            reader_path(&format!("sqlite:{encoded}")),
            Some(file.clone())
        );
        assert_eq!(
            reader_path(&format!("sqlite://{}/absent.db", dir.display())),
            None,
            "a file the reader cannot open leaves the reads to the pool"
        );
        assert_eq!(
            reader_path(&format!("sqlite://{encoded}?vfs=unix-dotfile")),
            None
        );
        assert_eq!(
            reader_path(&format!("sqlite://{encoded}?immutable=1")),
            None
        );
        assert_eq!(reader_path("sqlite::memory:"), None);
        assert_eq!(reader_path("postgres://postgres@127.0.0.1/guichet"), None);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    /// Text as rusqlite reads it: the value, NULL as none, and an error for bytes that are not
    /// UTF-8 or a value that is not text (a row changed by hand).
    #[test]
    fn text_is_read_as_rusqlite_reads_it() -> Result<()> {
        let connection = Connection::open_in_memory()?;
        let mut statement = connection.prepare(
            "SELECT 'opération', NULL, CAST(x'C328' AS TEXT), 42, x'00', CAST(x'7B7D' AS TEXT)",
        )?;
        let mut rows = statement.query([])?;
        let row = rows
            .next()?
            .ok_or_else(|| StoreError::Corrupt("no row".into()))?;
        let ours: Vec<_> = (0..6)
            .map(|i| {
                row.get_ref(i)
                    .map_err(|e| e.to_string())
                    .and_then(text_or_null)
            })
            .collect();
        assert_eq!(ours[0], Ok(Some("opération")));
        assert_eq!(ours[1], Ok(None));
        assert_eq!(ours[2], Err("not UTF-8".to_owned()));
        assert!(ours[3].is_err() && ours[4].is_err(), "{ours:?}");
        assert_eq!(ours[5], Ok(Some("{}")));
        for i in 0..6 {
            let theirs = row.get_ref(i)?.as_str_or_null();
            assert_eq!(theirs.is_ok(), ours[i].is_ok(), "column {i}");
            if let (Ok(theirs), Ok(ours)) = (theirs, &ours[i]) {
                assert_eq!(&theirs, ours);
            }
        }
        Ok(())
    }

    /// The SQLite the workspace builds (`.cargo/config.toml`): no page cache shared by all
    /// connections behind one mutex, no memory statistics behind another.
    #[test]
    fn sqlite_is_built_without_its_process_wide_mutexes() -> Result<()> {
        let connection = Connection::open_in_memory()?;
        let mut statement = connection.prepare("PRAGMA compile_options")?;
        let options: Vec<String> = statement
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
        Ok(())
    }
}
