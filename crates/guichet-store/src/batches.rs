//! On PostgreSQL, the reads of concurrent requests in one query: the token reads
//! ([`crate::access_batch`]) and the checks of kept token reads ([`crate::access_cache`]).
//!
//! On PostgreSQL most of such a read's cost is the statement's own: starting and ending its
//! execution, and a round trip (BENCHMARKS.md, "PostgreSQL's token reads in batches"). So the
//! reads that arrive while others are being read wait for the next query, which reads them all
//! (a `VALUES` list, each row numbered). No read waits for a timer: with nothing in flight, a
//! read goes at once, alone.
//!
//! Each read's query starts after the read was asked for, so a write committed before is
//! seen, as with a read of its own.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::read::{Bound, Cols};
use crate::{Result, Store, StoreError};

/// Reads in one query at most (32 measured 5 % slower than 16 at 32 connections: a larger
/// batch waits longer for its query).
pub(crate) const MAX_BATCH: usize = 16;

/// Queries of one kind in flight at once at most. One is in flight whenever reads wait;
/// another starts only when more reads wait than those in flight will take, since the fewer
/// the queries, the less each read costs PostgreSQL (GET /accounts at 32 connections, with one
/// query in flight at most: 13,913–15,140 answers/s; two: 11,901–12,399; four: 9,803–10,394;
/// BENCHMARKS.md).
const MAX_RUNNERS: usize = 4;

/// The sizes of batch a query is written for, the last [`MAX_BATCH`]. A batch is padded to
/// the next of them with rows that find nothing (empty strings): each size is one more
/// statement for PostgreSQL to prepare and plan on each connection, and a statement run
/// rarely is planned afresh each time (its first five runs are), which cost more than the
/// padding.
pub(crate) const SIZES: [usize; 8] = [1, 2, 3, 4, 6, 8, 12, MAX_BATCH];

/// A kind of read made in batches.
pub(crate) trait BatchRead: Sized + Send + Sync + 'static {
    /// What one request asks for.
    type Asked: Send + 'static;
    /// What it finds.
    type Found: Send + 'static;

    /// The store's batches of this kind.
    fn batches(store: &Store) -> &Arc<Batches<Self>>;

    /// One query for the reads of a batch (at most [`MAX_BATCH`]); what each found, in order.
    /// A row one read cannot map fails that read alone; the query's failure fails them all.
    fn read(
        store: &Store,
        asked: &[Self::Asked],
    ) -> impl Future<Output = Result<Vec<Result<Self::Found>>>> + Send;
}

type Reply<R> = oneshot::Sender<Result<<R as BatchRead>::Found>>;

/// The reads of one kind waiting for a query, and how many queries are running.
pub(crate) struct Batches<R: BatchRead> {
    queue: Mutex<Queue<R>>,
    /// Reads answered (or failed) so far, and the queries that read them.
    reads: AtomicU64,
    queries: AtomicU64,
}

impl<R: BatchRead> Default for Batches<R> {
    fn default() -> Batches<R> {
        Batches {
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                runners: 0,
            }),
            reads: AtomicU64::new(0),
            queries: AtomicU64::new(0),
        }
    }
}

struct Queue<R: BatchRead> {
    waiting: Vec<(R::Asked, Reply<R>)>,
    runners: usize,
}

impl<R: BatchRead> Batches<R> {
    /// The queue, whatever a panicking holder left: each change to it is whole under the lock
    /// (a push, a drain, a count), so it is never seen half made.
    fn queue(&self) -> MutexGuard<'_, Queue<R>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The reads made so far, and the queries that made them.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.reads.load(Ordering::Relaxed),
            self.queries.load(Ordering::Relaxed),
        )
    }
}

/// One runner counted in [`Queue::runners`], from before its task is spawned until it ends.
/// A runner that finds the queue empty counts itself out under the queue's lock
/// (`counted_out`), so that a read queued at that moment starts another. One that ends
/// otherwise (a panic, its task dropped before it ran, at the runtime's shutdown) is counted
/// out here; if it was the last, the reads still queued are dropped, and each fails as
/// unavailable (503) rather than waiting for a runner that will not come.
struct Running<R: BatchRead> {
    batches: Arc<Batches<R>>,
    counted_out: bool,
}

impl<R: BatchRead> Drop for Running<R> {
    fn drop(&mut self) {
        if self.counted_out {
            return;
        }
        let stranded = {
            let mut queue = self.batches.queue();
            queue.runners = queue.runners.saturating_sub(1);
            if queue.runners == 0 {
                std::mem::take(&mut queue.waiting)
            } else {
                Vec::new()
            }
        };
        drop(stranded);
    }
}

/// The query of a batch of `size` reads, padded: the smallest of `queries` (one per size of
/// [`SIZES`]) that takes `reads`.
fn query_for(queries: &[(usize, String)], reads: usize) -> Result<(usize, &str)> {
    queries
        .iter()
        .find(|(size, _)| *size >= reads)
        .map(|(size, sql)| (*size, sql.as_str()))
        .ok_or_else(|| StoreError::Corrupt(format!("a batch of {reads} reads")))
}

/// `VALUES` rows for a batch of `reads` reads of `parameters` text parameters each, each row
/// first numbered (`n`, from 0).
pub(crate) fn numbered_rows(reads: usize, parameters: usize) -> String {
    let rows: Vec<String> = (0..reads)
        .map(|n| {
            let at = n * parameters;
            let texts: Vec<String> = (1..=parameters)
                .map(|i| format!("${}::text", at + i))
                .collect();
            format!("({n}::bigint, {})", texts.join(", "))
        })
        .collect();
    rows.join(", ")
}

/// Where a row of a batch's answer goes: its `request` column.
fn request_of(row: &dyn Cols) -> Result<usize> {
    usize::try_from(row.int("request")?)
        .map_err(|_| StoreError::Corrupt("a batch's row names no read of it".into()))
}

/// One query for the reads `asked`: the smallest of `queries` (one per size of [`SIZES`]) that
/// takes them, each read's `parameters` texts from `binds_of`, the batch padded with empty
/// texts (rows that find nothing: no token has an empty hash, no bank an empty code). Each row
/// is added by `add` to the read its `request` column names; what each read found, in order.
/// A row one read cannot take fails that read alone; the query's failure fails them all.
pub(crate) async fn read_batch<A, T: Default + Send>(
    store: &Store,
    queries: &[(usize, String)],
    asked: &[A],
    parameters: usize,
    binds_of: impl Fn(&A) -> Vec<Bound>,
    add: impl Fn(&mut T, &dyn Cols) -> Result<()> + Sync,
) -> Result<Vec<Result<T>>> {
    let (size, sql) = query_for(queries, asked.len())?;
    let mut binds = Vec::with_capacity(size * parameters);
    for one in asked {
        binds.extend(binds_of(one));
    }
    binds.resize(size * parameters, Bound::Text(String::new()));
    let mut found: Vec<Result<T>> = asked.iter().map(|_| Ok(T::default())).collect();
    store
        .read_each(sql, &binds, |row| {
            // A padding row finds nothing; were it to, what it found is no read's.
            if let Some(entry) = found.get_mut(request_of(row)?)
                && let Ok(so_far) = entry
                && let Err(error) = add(so_far, row)
            {
                *entry = Err(error);
            }
            Ok(())
        })
        .await?;
    Ok(found)
}

impl Store {
    /// A read of kind `R` on PostgreSQL, with those of the requests asking at the same moment.
    pub(crate) async fn read_in_batch<R: BatchRead>(&self, asked: R::Asked) -> Result<R::Found> {
        let batches = R::batches(self);
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = batches.queue();
            queue.waiting.push((asked, reply));
            let start = queue.runners == 0
                || (queue.runners < MAX_RUNNERS && queue.waiting.len() > queue.runners * MAX_BATCH);
            if start {
                queue.runners += 1;
            }
            start
        };
        if start {
            let running = Running {
                batches: batches.clone(),
                counted_out: false,
            };
            let store = self.clone();
            tokio::spawn(async move { store.run_batches(running).await });
        }
        answer.await.map_err(|_| {
            StoreError::Read("the read's batch stopped before it was read".into(), true)
        })?
    }

    /// Reads the waiting batches until none is left.
    async fn run_batches<R: BatchRead>(&self, mut running: Running<R>) {
        let batches = running.batches.clone();
        loop {
            let batch: Vec<(R::Asked, Reply<R>)> = {
                let mut queue = batches.queue();
                // Requests dropped meanwhile are not read.
                queue.waiting.retain(|(_, reply)| !reply.is_closed());
                if queue.waiting.is_empty() {
                    queue.runners = queue.runners.saturating_sub(1);
                    running.counted_out = true;
                    return;
                }
                let take = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..take).collect()
            };
            let (asked, replies): (Vec<R::Asked>, Vec<Reply<R>>) = batch.into_iter().unzip();
            let read = R::read(self, &asked).await;
            batches.queries.fetch_add(1, Ordering::Relaxed);
            batches
                .reads
                .fetch_add(asked.len() as u64, Ordering::Relaxed);
            match read {
                Ok(found) => {
                    for (reply, found) in replies.into_iter().zip(found) {
                        let _ = reply.send(found);
                    }
                }
                Err(error) => {
                    let unavailable = error.is_unavailable();
                    let message = error.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(StoreError::Read(message.clone(), unavailable)));
                    }
                }
            }
        }
    }
}
