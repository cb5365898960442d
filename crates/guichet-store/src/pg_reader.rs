//! The API's read connections to PostgreSQL.
//!
//! sqlx's pool asks PostgreSQL for one more round trip each time a connection goes back to it
//! (a `Sync` and its `ReadyForQuery`, in a task spawned for it, the connection unavailable
//! meanwhile): every read of the API cost two round trips. The reads of the API are one query
//! each, read to their end, so a connection whose query was read to its end is known to be
//! ready; any other (an error, a request dropped halfway) is closed instead of being checked.
//! A connection found dead (PostgreSQL restarted) fails its one read with a 503 and is not
//! used again; no read checks first, as none did since the pool stopped pinging before reads.
//! So these connections are kept here:
//! - at most `max` open;
//! - a read waits at most [`WAIT`] for its turn and a connection, the opening of a new one
//!   included (then 503, as after the pool's timeout);
//! - a connection serves at most [`LIFETIME`] and waits unused at most [`IDLE_TIMEOUT`] (as in
//!   sqlx's pool), so that a failover or a connection balancer sees them move; the idle ones
//!   are looked at every [`REAP_EVERY`] too, so that an instance gone quiet after a burst gives
//!   its connections back to PostgreSQL (its `max_connections` is shared by every instance)
//!   rather than holding them until its next burst.

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Connection};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::read::Bound;
use crate::{Result, StoreError};

/// How long a read waits for a connection, or for a new one to open.
const WAIT: Duration = Duration::from_millis(500);

/// How long a connection serves before it is closed and replaced.
const LIFETIME: Duration = Duration::from_secs(30 * 60);

/// How long a connection may wait unused before it is closed (as in sqlx's pool): after a
/// failover or a restart, the connections of a quiet hour are not found dead at the next burst.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// How often the idle connections are looked at, and those past their idle time or lifetime
/// closed, when no read comes to meet them.
pub(crate) const REAP_EVERY: Duration = Duration::from_secs(30);

/// How long a read left to end by its request (a page of operations, `pages.rs`) may take
/// before it is dropped and its connection closed: PostgreSQL's own limit and a second, for a
/// PostgreSQL that no longer answers at all (a failover, a partition), which its statement
/// timeout does not stop.
pub(crate) const ABANDONED_READ_DEADLINE: Duration = Duration::from_secs(31);

/// How long PostgreSQL may run one read: the bank answers every request within 30 s (the
/// portal's GL 2.4, `edge::ANSWER_DEADLINE`) and drops it then; a read abandoned with its
/// request would otherwise run on in PostgreSQL until it next sends a row.
const STATEMENT_TIMEOUT: &str = "30s";

/// An open connection, when it was opened and since when it waits unused.
struct Kept {
    connection: PgConnection,
    opened: Instant,
    idle_since: Instant,
}

pub(crate) struct PgReader {
    options: PgConnectOptions,
    idle: Mutex<Vec<Kept>>,
    turns: Semaphore,
    open: AtomicUsize,
    lifetime: Duration,
    idle_timeout: Duration,
}

/// A connection lent to one read: given back by [`Lease::give_back`] only; dropped otherwise
/// (the read failed or was abandoned), it is closed.
struct Lease<'r> {
    reader: &'r PgReader,
    kept: Option<Kept>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if self.kept.take().is_some() {
            self.reader.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Lease<'_> {
    fn connection(&mut self) -> Result<&mut PgConnection> {
        self.kept
            .as_mut()
            .map(|kept| &mut kept.connection)
            .ok_or_else(|| StoreError::Corrupt("a read connection was already given back".into()))
    }

    fn give_back(mut self) {
        let Some(mut kept) = self.kept.take() else {
            return;
        };
        let reader = self.reader;
        if kept.opened.elapsed() >= reader.lifetime {
            return reader.retire(kept);
        }
        let Ok(mut idle) = reader.idle.lock() else {
            return reader.retire(kept);
        };
        // Under the idle list's lock, where `close` closes the reader: a connection is either
        // in the list `close` empties, or retired here.
        if reader.turns.is_closed() {
            drop(idle);
            return reader.retire(kept);
        }
        kept.idle_since = Instant::now();
        idle.push(kept);
    }
}

impl PgReader {
    /// Up to `max` connections to the database of `url`; one is opened now, so that a
    /// wrong URL fails the start.
    pub(crate) async fn connect(url: &str, max: u32) -> Result<PgReader> {
        PgReader::connect_with(url, max, STATEMENT_TIMEOUT).await
    }

    /// [`PgReader::connect`], each read stopped by PostgreSQL after `statement_timeout`.
    async fn connect_with(url: &str, max: u32, statement_timeout: &str) -> Result<PgReader> {
        let options =
            PgConnectOptions::from_str(url)?.options([("statement_timeout", statement_timeout)]);
        let reader = PgReader {
            options,
            idle: Mutex::new(Vec::new()),
            turns: Semaphore::new(max.max(1) as usize),
            open: AtomicUsize::new(0),
            lifetime: LIFETIME,
            idle_timeout: IDLE_TIMEOUT,
        };
        let first = reader.lease(Instant::now() + WAIT).await?;
        first.give_back();
        Ok(reader)
    }

    /// Open connections, and idle among them.
    pub(crate) fn state(&self) -> (u32, usize) {
        let idle = self.idle.lock().map_or(0, |idle| idle.len());
        let open = u32::try_from(self.open.load(Ordering::Relaxed)).unwrap_or(u32::MAX);
        (open, idle)
    }

    /// Closes a connection that is not to be used again.
    fn retire(&self, kept: Kept) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let _ = kept.connection.close().await;
        });
    }

    /// Whether an idle connection may still serve: within its lifetime and its idle time.
    fn fresh(&self, kept: &Kept) -> bool {
        kept.opened.elapsed() < self.lifetime && kept.idle_since.elapsed() < self.idle_timeout
    }

    /// The most recently used idle connection still fresh; the others met on the way are
    /// closed.
    fn idle_connection(&self) -> Option<Kept> {
        loop {
            let kept = self.idle.lock().ok()?.pop()?;
            if self.fresh(&kept) {
                return Some(kept);
            }
            self.retire(kept);
        }
    }

    /// Closes the idle connections that are no longer fresh; answers how many.
    fn close_stale(&self) -> usize {
        let stale = match self.idle.lock() {
            Ok(mut idle) => {
                let (fresh, stale) = std::mem::take(&mut *idle)
                    .into_iter()
                    .partition::<Vec<_>, _>(|kept| self.fresh(kept));
                *idle = fresh;
                stale
            }
            Err(_) => return 0,
        };
        let closed = stale.len();
        for kept in stale {
            self.retire(kept);
        }
        closed
    }

    /// Every `every`, closes the idle connections no longer fresh, until the reader is closed
    /// or dropped (the task holds it weakly).
    pub(crate) fn close_stale_every(self: &Arc<Self>, every: Duration) -> JoinHandle<()> {
        let reader = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(reader) = reader.upgrade() else {
                    return;
                };
                if reader.turns.is_closed() {
                    return;
                }
                reader.close_stale();
            }
        })
    }

    /// An idle connection, or a new one opened by `deadline`.
    async fn lease(&self, deadline: Instant) -> Result<Lease<'_>> {
        let kept = match self.idle_connection() {
            Some(kept) => kept,
            None => {
                let connect = PgConnection::connect_with(&self.options);
                let connection = tokio::time::timeout_at(deadline.into(), connect)
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)??;
                self.open.fetch_add(1, Ordering::Relaxed);
                let now = Instant::now();
                Kept {
                    connection,
                    opened: now,
                    idle_since: now,
                }
            }
        };
        Ok(Lease {
            reader: self,
            kept: Some(kept),
        })
    }

    /// Runs one query on a connection of its own for its time, and hands its rows to `visit`
    /// as they arrive (the first ones are handled while PostgreSQL sends the next); answers
    /// how many there were.
    pub(crate) async fn each(
        &self,
        sql: &str,
        binds: &[Bound],
        visit: &mut (dyn FnMut(&PgRow) -> Result<()> + Send),
    ) -> Result<usize> {
        let deadline = Instant::now() + WAIT;
        let _turn = tokio::time::timeout_at(deadline.into(), self.turns.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let mut lease = self.lease(deadline).await?;
        let mut query = sqlx::query(AssertSqlSafe(sql.to_owned()));
        for bound in binds {
            query = match bound {
                Bound::Text(text) => query.bind(text.as_str()),
                Bound::Int(int) => query.bind(*int),
            };
        }
        let mut count = 0;
        {
            let mut rows = query.fetch(lease.connection()?);
            // The stream ends once PostgreSQL said it is ready for the next query. Stopped
            // before (an error, a refusal of `visit`, the request dropped), the lease closes
            // the connection.
            while let Some(row) = rows.try_next().await? {
                visit(&row)?;
                count += 1;
            }
        }
        lease.give_back();
        Ok(count)
    }

    /// Closes the idle connections and refuses further reads.
    pub(crate) async fn close(&self) {
        let idle = self
            .idle
            .lock()
            .map(|mut idle| {
                self.turns.close();
                std::mem::take(&mut *idle)
            })
            .unwrap_or_else(|_| {
                self.turns.close();
                Vec::new()
            });
        for kept in idle {
            self.open.fetch_sub(1, Ordering::Relaxed);
            let _ = kept.connection.close().await;
        }
    }
}

#[cfg(all(test, feature = "test-support"))]
pub(crate) mod tests;
