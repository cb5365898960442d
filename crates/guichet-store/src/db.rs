//! The connection pool, the backend choice and the migrations.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, Executor, SqlSafeStr};

use crate::access::QsealCache;
use crate::access_batch::TokenReads;
use crate::access_cache::{AccessCache, StampChecks};
use crate::batches::Batches;
use crate::page_cache::{PageCache, PageCacheStats};
use crate::pg_reader::PgReader;
use crate::read::SqliteReader;
use crate::{Result, StoreError};

/// Which database the URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL that never prints its password (lldap's habit).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    backend: Backend,
}

impl DatabaseUrl {
    pub fn parse(text: &str) -> Result<DatabaseUrl> {
        let backend = if text.starts_with("sqlite:") {
            Backend::Sqlite
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::BadUrl(format!(
                "'{}': use sqlite://PATH or postgres://USER@HOST:PORT/DB",
                mask(text)
            )));
        };
        if backend == Backend::Postgres {
            refuse_verify_ca(text)?;
        }
        Ok(DatabaseUrl {
            url: text.to_owned(),
            backend,
        })
    }

    /// An SQLite file, created when missing.
    pub fn sqlite_file(path: &std::path::Path) -> DatabaseUrl {
        DatabaseUrl {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            backend: Backend::Sqlite,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn expose(&self) -> &str {
        &self.url
    }
}

/// `sslmode=verify-ca` is refused. In libpq it trusts `sslrootcert` alone, with any name; the
/// driver (sqlx, rustls) trusts the public roots it carries as well as `sslrootcert`, so with
/// any name it would take a certificate any public CA issued for any domain: a man in the
/// middle's. `verify-full` checks the name too, which a public CA cannot vouch for where the
/// database's name is the bank's own.
fn refuse_verify_ca(text: &str) -> Result<()> {
    // The mode as the driver will take it: the URL's, else PGSSLMODE's, else `prefer`.
    let Ok(options) = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(text)
    else {
        return Ok(());
    };
    if matches!(options.get_ssl_mode(), sqlx::postgres::PgSslMode::VerifyCa) {
        return Err(StoreError::BadUrl(format!(
            "'{}': sslmode=verify-ca (in the URL or PGSSLMODE) would trust any public CA's \
             certificate for any name; use sslmode=verify-full with sslrootcert",
            mask(text)
        )));
    }
    Ok(())
}

fn mask(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("*****"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(&self.url))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// The store: a pool shared by every request, cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// The API's reads on SQLite (see [`crate::read`]).
    pub(crate) reader: Option<Arc<SqliteReader>>,
    /// The API's reads on PostgreSQL: the native driver, without the `Any` driver's copy of
    /// every row (see [`crate::read`]), on connections of their own ([`crate::pg_reader`]).
    pub(crate) pg_reader: Option<Arc<PgReader>>,
    /// The registered QSealCs (see [`crate::access`]).
    pub(crate) qseal_cache: Arc<QsealCache>,
    /// The token reads waiting for a query on PostgreSQL (see [`crate::access_batch`]).
    pub(crate) access_batches: Arc<Batches<TokenReads>>,
    /// The token reads kept in this process (see [`crate::access_cache`]).
    pub(crate) access_cache: Arc<AccessCache>,
    /// Their checks waiting for a query on PostgreSQL.
    pub(crate) stamp_checks: Arc<Batches<StampChecks>>,
    /// The accounts whose operations' JSON this process is writing (see [`crate::fill`]).
    pub(crate) filling: Arc<std::sync::Mutex<std::collections::HashSet<(String, String)>>>,
    /// Pages of operations kept with their account's stamp (see [`crate::page_cache`]).
    pub(crate) page_cache: Arc<PageCache>,
}

/// The room for kept pages unless told otherwise (`page_cache_mb`), in MiB: some 128 full
/// pages.
pub const DEFAULT_PAGE_CACHE_MB: u32 = 32;

static DRIVERS: Once = Once::new();

impl Store {
    /// Connects and applies the migrations. `max_connections` bounds the pool: on SQLite one
    /// writer at a time is the rule anyway; on PostgreSQL size it to the machine.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Store> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = url.backend();
        // On PostgreSQL the API's reads have a pool of their own (`pg_reader`): the budget
        // is shared, three quarters to the reads.
        let writers = match backend {
            Backend::Postgres => (max_connections / 4).max(1),
            Backend::Sqlite => max_connections.max(1),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(writers)
            .min_connections(1)
            // A request waits at most this for a connection: on PostgreSQL down, the bank
            // answers 503 within a second rather than hanging (a local SQLite file cannot be
            // down; its writer may be busy for longer).
            .acquire_timeout(match backend {
                Backend::Postgres => Duration::from_millis(500),
                Backend::Sqlite => Duration::from_secs(10),
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; a busy writer waits instead of
                        // failing the request.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                    }
                    Ok(())
                })
            })
            .connect(url.expose())
            .await?;
        let mut store = Store {
            pool,
            backend,
            reader: None,
            pg_reader: None,
            qseal_cache: Arc::default(),
            access_batches: Arc::default(),
            access_cache: Arc::default(),
            stamp_checks: Arc::default(),
            filling: Arc::default(),
            page_cache: Arc::new(PageCache::new(u64::from(DEFAULT_PAGE_CACHE_MB) << 20)),
        };
        store.migrate().await?;
        // After the migrations: the reader's connections are read-only.
        store.reader = SqliteReader::for_url(url).map(Arc::new);
        if backend == Backend::Postgres {
            let reads = max_connections.saturating_sub(writers).max(1);
            let reader = Arc::new(PgReader::connect(url.expose(), reads).await?);
            reader.close_stale_every(crate::pg_reader::REAP_EVERY);
            store.pg_reader = Some(reader);
        }
        Ok(store)
    }

    /// Gives the pages of operations kept in memory at most `bytes` (0: none are kept).
    pub fn keep_pages(&mut self, bytes: u64) {
        self.page_cache = Arc::new(PageCache::new(bytes));
    }

    /// How the kept pages fare.
    pub fn page_cache_stats(&self) -> PageCacheStats {
        self.page_cache.stats()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that writes. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads first and writes later can find another
    /// writer in between and fail with "database is locked", which the busy timeout does not
    /// cover; an immediate one waits its turn.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Gives PostgreSQL's planner the statistics of tables just written in bulk (a seeded
    /// sandbox, a grown account), rather than leaving them to autovacuum's next pass: until a
    /// table is analyzed, the planner guesses its size, and the generic plans that prepared
    /// statements keep can walk a whole bank's tokens or accounts for the token's query (three
    /// times the execution time of the analyzed plan on the sandbox). SQLite needs nothing.
    /// A failure is logged, not answered: the data is written, and autovacuum analyzes later.
    pub(crate) async fn analyze(&self, tables: &[&str]) {
        if self.backend != Backend::Postgres {
            return;
        }
        let sql = format!("ANALYZE {}", tables.join(", "));
        if let Err(error) = sqlx::query(AssertSqlSafe(sql)).execute(&self.pool).await {
            tracing::warn!(%error, "the tables written could not be analyzed");
        }
    }

    /// The pool's connections: open, and idle among them.
    pub fn pool_state(&self) -> (u32, usize) {
        let (mut open, mut idle) = (self.pool.size(), self.pool.num_idle());
        if let Some(reads) = &self.pg_reader {
            let (reads_open, reads_idle) = reads.state();
            open += reads_open;
            idle += reads_idle;
        }
        (open, idle)
    }

    /// Each migration runs in a transaction. On PostgreSQL, one that writes the tables of a
    /// token's read (0012's deferred triggers) and then alters or truncates one of them must run
    /// `SET CONSTRAINTS ALL IMMEDIATE` between the two.
    async fn migrate(&self) -> Result<()> {
        let files: [(i64, &str, &'static str, &'static str); 13] = [
            (
                1,
                "init",
                include_str!("../migrations/sqlite/0001_init.sql"),
                include_str!("../migrations/postgres/0001_init.sql"),
            ),
            (
                2,
                "tpps",
                include_str!("../migrations/sqlite/0002_tpps.sql"),
                include_str!("../migrations/postgres/0002_tpps.sql"),
            ),
            (
                3,
                "oauth",
                include_str!("../migrations/sqlite/0003_oauth.sql"),
                include_str!("../migrations/postgres/0003_oauth.sql"),
            ),
            (
                4,
                "edge",
                include_str!("../migrations/sqlite/0004_edge.sql"),
                include_str!("../migrations/postgres/0004_edge.sql"),
            ),
            (
                5,
                "stats",
                include_str!("../migrations/sqlite/0005_stats.sql"),
                include_str!("../migrations/postgres/0005_stats.sql"),
            ),
            (
                6,
                "rotation",
                include_str!("../migrations/sqlite/0006_rotation.sql"),
                include_str!("../migrations/postgres/0006_rotation.sql"),
            ),
            (
                7,
                "delegated_sca",
                include_str!("../migrations/sqlite/0007_delegated_sca.sql"),
                include_str!("../migrations/postgres/0007_delegated_sca.sql"),
            ),
            (
                8,
                "structured_remittance",
                include_str!("../migrations/sqlite/0008_structured_remittance.sql"),
                include_str!("../migrations/postgres/0008_structured_remittance.sql"),
            ),
            (
                9,
                "operation_json",
                include_str!("../migrations/sqlite/0009_operation_json.sql"),
                include_str!("../migrations/postgres/0009_operation_json.sql"),
            ),
            (
                10,
                "operations_stamp",
                include_str!("../migrations/sqlite/0010_operations_stamp.sql"),
                include_str!("../migrations/postgres/0010_operations_stamp.sql"),
            ),
            (
                11,
                "pages_from_the_index",
                include_str!("../migrations/sqlite/0011_pages_from_the_index.sql"),
                include_str!("../migrations/postgres/0011_pages_from_the_index.sql"),
            ),
            (
                12,
                "access_stamps",
                include_str!("../migrations/sqlite/0012_access_stamps.sql"),
                include_str!("../migrations/postgres/0012_access_stamps.sql"),
            ),
            (
                13,
                "stamps_in_order",
                include_str!("../migrations/sqlite/0013_stamps_in_order.sql"),
                include_str!("../migrations/postgres/0013_stamps_in_order.sql"),
            ),
        ];
        let migrations = files
            .into_iter()
            .map(|(version, name, sqlite, postgres)| {
                let sql = match self.backend {
                    Backend::Sqlite => sqlite,
                    Backend::Postgres => postgres,
                };
                Migration::new(
                    version,
                    Cow::Borrowed(name),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        Migrator::with_migrations(migrations)
            .run(&self.pool)
            .await?;
        Ok(())
    }

    /// Reads a value of the `meta` table.
    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(value,)| value))
    }

    /// The value of `key`, set to `value` first if it had none; every process of a deployment
    /// gets the same (a secret made by whichever process starts first).
    pub async fn meta_or_insert(&self, key: &str, value: &str) -> Result<String> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(self.meta(key).await?.unwrap_or_else(|| value.to_owned()))
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(reads) = &self.pg_reader {
            reads.close().await;
        }
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print() -> Result<()> {
        let url = DatabaseUrl::parse("postgres://guichet:s3cret@db.internal:5432/guichet")?;
        assert!(!url.to_string().contains("s3cret"));
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.backend(), Backend::Postgres);
        Ok(())
    }

    #[test]
    fn verify_ca_is_refused_and_verify_full_taken() {
        // libpq's spelling, and sqlx's other one.
        for parameter in ["sslmode", "ssl-mode"] {
            let refused = DatabaseUrl::parse(&format!(
                "postgres://guichet:s3cret@db.internal/guichet?sslrootcert=/ca.pem&{parameter}=verify-ca"
            ));
            match refused {
                Ok(_) => panic!("{parameter}=verify-ca taken"),
                Err(e) => {
                    let said = e.to_string();
                    assert!(
                        said.contains("verify-full") && !said.contains("s3cret"),
                        "{said}"
                    );
                }
            }
        }
        for mode in ["verify-full", "require", "prefer", "disable"] {
            let url = format!("postgres://guichet@db.internal/guichet?sslmode={mode}");
            assert!(DatabaseUrl::parse(&url).is_ok(), "{mode}");
        }
    }

    #[test]
    fn unknown_schemes_are_refused() {
        assert!(DatabaseUrl::parse("mysql://root@localhost/test").is_err());
        assert!(DatabaseUrl::parse("guichet.db").is_err());
    }
}
