//! The read connections against a real PostgreSQL.

use std::time::Duration;

use sqlx::Row;

use super::*;
use crate::Backend;
use crate::testing::TestDatabase;

pub(crate) async fn reader(db: &TestDatabase, max: u32) -> PgReader {
    match PgReader::connect(db.url.expose(), max).await {
        Ok(reader) => reader,
        Err(e) => panic!("cannot open {}: {e}", db.url),
    }
}

impl PgReader {
    /// How many rows a query answers.
    async fn rows(&self, sql: &str, binds: &[Bound]) -> Result<usize> {
        self.each(sql, binds, &mut |_| Ok(())).await
    }
}

/// The server process behind the connection that answers the next read.
pub(crate) async fn backend_pid(reader: &PgReader) -> i64 {
    let mut pid = -1;
    let read = reader
        .each(
            "SELECT CAST(pg_backend_pid() AS BIGINT) AS pid",
            &[],
            &mut |row| {
                pid = row.try_get("pid")?;
                Ok(())
            },
        )
        .await;
    match read {
        Ok(1) => assert!(pid > 0, "pg_backend_pid: {pid}"),
        other => panic!("pg_backend_pid: {other:?}"),
    }
    pid
}

/// After a read whose connection must not be kept: none is open, and the next read has a
/// connection of its own (another server process than `before`); answers that one's pid.
pub(crate) async fn closed_then_new(reader: &PgReader, before: i64, what: &str) -> i64 {
    assert_eq!(
        reader.state(),
        (0, 0),
        "{what}: its connection is closed, not kept"
    );
    let next = backend_pid(reader).await;
    assert_ne!(
        next, before,
        "{what}: the next read has a connection of its own"
    );
    next
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_read_ends_serves_the_next_one() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let reader = reader(&db, 4).await;
    assert_eq!(reader.state(), (1, 1), "one connection opened at the start");
    let first = backend_pid(&reader).await;
    let rows = reader
        .rows(
            "SELECT x FROM generate_series(1, CAST($1 AS BIGINT)) AS x",
            &[Bound::Int(1000)],
        )
        .await;
    assert_eq!(rows.ok(), Some(1000), "generate_series");
    assert_eq!(backend_pid(&reader).await, first, "kept, without a check");
    assert_eq!(reader.state(), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_dropped_halfway_failed_or_refused_closes_its_connection() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let reader = reader(&db, 4).await;
    let first = backend_pid(&reader).await;
    let abandoned = tokio::time::timeout(
        Duration::from_millis(50),
        reader.rows("SELECT pg_sleep(2)", &[]),
    )
    .await;
    assert!(
        abandoned.is_err(),
        "the read was dropped while PostgreSQL slept"
    );
    let second = closed_then_new(&reader, first, "dropped").await;

    let failed = reader
        .rows("SELECT no_such_column FROM pg_class", &[])
        .await;
    assert!(failed.is_err());
    let third = closed_then_new(&reader, second, "failed").await;

    // A row refused halfway through the answer: the rest is never read, the connection goes.
    let refused = reader
        .each(
            "SELECT x FROM generate_series(1, 100000) AS x",
            &[],
            &mut |_| Err(StoreError::Corrupt("refused".into())),
        )
        .await;
    assert!(refused.is_err());
    closed_then_new(&reader, third, "refused").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_take_turns_within_the_bound_and_wait_at_most_half_a_second() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let reader = std::sync::Arc::new(reader(&db, 2).await);
    let mut reads = tokio::task::JoinSet::new();
    let started = Instant::now();
    for _ in 0..6 {
        let reader = reader.clone();
        reads.spawn(async move {
            let rows = reader.rows("SELECT pg_sleep(0.05)", &[]).await;
            (rows.ok(), reader.state().0)
        });
    }
    while let Some(joined) = reads.join_next().await {
        let Ok((rows, open)) = joined else {
            panic!("a read panicked")
        };
        assert_eq!(rows, Some(1));
        assert!(open <= 2, "{open} connections open, at most 2");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "six reads of 50 ms on two connections took {:?}",
        started.elapsed()
    );
    assert_eq!(reader.state(), (2, 2));

    let sleepers = {
        let reader = reader.clone();
        tokio::spawn(async move {
            let first = reader.rows("SELECT pg_sleep(1.5)", &[]);
            let second = reader.rows("SELECT pg_sleep(1.5)", &[]);
            let (first, second) = tokio::join!(first, second);
            first.is_ok() && second.is_ok()
        })
    };
    // Both sleepers hold their connection.
    let deadline = Instant::now() + Duration::from_secs(1);
    while reader.state() != (2, 0) {
        assert!(
            Instant::now() < deadline,
            "the sleepers did not start: {:?}",
            reader.state()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let refused = reader.rows("SELECT 1", &[]).await;
    let waited = started.elapsed();
    match refused {
        Ok(_) => panic!("a third read ran beside two on a reader of two"),
        Err(e) => assert!(e.is_unavailable(), "{e}"),
    }
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_millis(1200),
        "waited {waited:?}"
    );
    assert_eq!(sleepers.await.ok(), Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_past_its_lifetime_is_replaced() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let mut reader = reader(&db, 2).await;
    let first = backend_pid(&reader).await;
    reader.lifetime = Duration::ZERO;
    let second = backend_pid(&reader).await;
    assert_ne!(
        second, first,
        "the idle connection past its lifetime is not used"
    );
    closed_then_new(&reader, second, "past its lifetime").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_idle_for_too_long_is_replaced() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let mut reader = reader(&db, 2).await;
    let first = backend_pid(&reader).await;
    assert_eq!(backend_pid(&reader).await, first);
    reader.idle_timeout = Duration::ZERO;
    let second = backend_pid(&reader).await;
    assert_ne!(
        second, first,
        "the idle connection was closed, a new one opened"
    );
    assert_eq!(reader.state(), (1, 1), "the old one is no longer counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_stops_a_read_past_its_statement_timeout() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let short = match PgReader::connect_with(db.url.expose(), 2, "1s").await {
        Ok(short) => short,
        Err(e) => panic!("{e}"),
    };
    let started = Instant::now();
    match short.rows("SELECT pg_sleep(5)", &[]).await {
        Ok(_) => panic!("a read of 5 s ran past a timeout of 1 s"),
        Err(e) => assert!(e.is_unavailable(), "answered 503: {e}"),
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "stopped by PostgreSQL after {took:?}"
    );
    assert_eq!(short.rows("SELECT 1", &[]).await.ok(), Some(1));
    // The reader of the bank: 30 s.
    let bank = reader(&db, 1).await;
    let mut shown = String::new();
    let read = bank
        .each("SHOW statement_timeout", &[], &mut |row| {
            shown = row.try_get(0)?;
            Ok(())
        })
        .await;
    assert!(read.is_ok(), "{read:?}");
    assert_eq!(shown, "30s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_reader_refuses_reads_and_closes_its_connections() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let reader = reader(&db, 2).await;
    reader.close().await;
    assert_eq!(reader.state(), (0, 0));
    match reader.rows("SELECT 1", &[]).await {
        Ok(_) => panic!("a closed reader read"),
        Err(e) => assert!(e.is_unavailable(), "{e}"),
    }
}

/// Waits, 10 s at most, for the reader's (open, idle) connections to be `state`.
pub(crate) async fn until_state(reader: &PgReader, state: (u32, usize), what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while reader.state() != state && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(reader.state(), state, "{what}");
}

/// Whether PostgreSQL still has a server process `pid`, asked on a connection of its own.
async fn server_process_exists(db: &TestDatabase, pid: i64) -> bool {
    let other = reader(db, 1).await;
    let mut found: i64 = -1;
    let read = other
        .each(
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE CAST(pid AS BIGINT) = $1",
            &[Bound::Int(pid)],
            &mut |row| {
                found = row.try_get("n")?;
                Ok(())
            },
        )
        .await;
    other.close().await;
    assert!(matches!(read, Ok(1)), "pg_stat_activity: {read:?}");
    found == 1
}

/// Waits, 5 s at most, for PostgreSQL's server process `pid` to end.
async fn server_process_ends(db: &TestDatabase, pid: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server_process_exists(db, pid).await && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !server_process_exists(db, pid).await,
        "PostgreSQL's process of the connection ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_past_their_idle_time_without_a_read_to_meet_them() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let mut quiet = reader(&db, 4).await;
    quiet.idle_timeout = Duration::from_secs(3);
    let quiet = Arc::new(quiet);
    // A burst: two reads at once leave two idle connections.
    let (a, b) = tokio::join!(
        quiet.rows("SELECT pg_sleep(0.1)", &[]),
        quiet.rows("SELECT pg_sleep(0.1)", &[])
    );
    assert_eq!((a.ok(), b.ok()), (Some(1), Some(1)));
    assert_eq!(quiet.close_stale(), 0, "fresh connections are kept");
    assert_eq!(quiet.state(), (2, 2));
    let pid = backend_pid(&quiet).await;
    assert!(server_process_exists(&db, pid).await);

    let closing = quiet.close_stale_every(Duration::from_millis(50));
    until_state(&quiet, (0, 0), "no read came, both were closed").await;
    server_process_ends(&db, pid).await;

    // The reader still reads, on a connection of its own; closed, its task ends.
    assert_ne!(backend_pid(&quiet).await, pid);
    assert_eq!(quiet.state(), (1, 1));
    quiet.close().await;
    let ended = tokio::time::timeout(Duration::from_secs(2), closing).await;
    assert!(ended.is_ok(), "the task ends once the reader is closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_that_closes_stale_connections_ends_with_its_reader() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let dropped = Arc::new(reader(&db, 1).await);
    let closing = dropped.close_stale_every(Duration::from_millis(20));
    drop(dropped);
    let ended = tokio::time::timeout(Duration::from_secs(2), closing).await;
    assert!(ended.is_ok(), "the task ends once the reader is dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_under_way_when_the_reader_closes_ends_then_its_connection_is_closed() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let reader = Arc::new(reader(&db, 2).await);
    let pid = backend_pid(&reader).await;
    let reading = {
        let reader = reader.clone();
        tokio::spawn(async move {
            reader
                .rows(
                    "SELECT x FROM (SELECT pg_sleep(1)) AS s, generate_series(1, 3) AS x",
                    &[],
                )
                .await
        })
    };
    until_state(&reader, (1, 0), "the read holds the connection").await;
    reader.close().await;
    let read = reading.await;
    assert!(
        matches!(read, Ok(Ok(3))),
        "the read under way is answered: {read:?}"
    );
    assert_eq!(reader.state(), (0, 0), "its connection is not kept");
    server_process_ends(&db, pid).await;
    match reader.rows("SELECT 1", &[]).await {
        Ok(_) => panic!("a closed reader read"),
        Err(e) => assert!(e.is_unavailable(), "{e}"),
    }
}
