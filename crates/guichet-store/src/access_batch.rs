//! On PostgreSQL, the token reads of concurrent requests in one query.
//!
//! Every API call reads its token and the consent in one query ([`Store::access`]), with the
//! PSU's accounts for GET /accounts and an account's balances and transactions
//! ([`Store::access_with_accounts`]). On PostgreSQL most of that read's cost is the
//! statement's own: starting and ending the execution of a two-branch join, and a round trip
//! (BENCHMARKS.md, "PostgreSQL's token reads in batches"). So the reads that arrive while others are being read wait for the
//! next query, which reads them all (a `VALUES` list joined to the tokens, each row numbered).
//! No read waits for a timer: with nothing in flight, a read goes at once, alone.
//!
//! Nothing is served from memory: each read's query starts after the read was asked for, so
//! a token or consent revoked before is seen revoked, as with a read of its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::access::{Given, TokenRow, add_row, token_and_accounts};
use crate::accounts::{AccountRecord, BalanceRecord};
use crate::read::Bound;
use crate::tokens::{TokenKind, TokenSecret};
use crate::{Result, Store, StoreError};

/// Reads in one query at most (32 measured 5 % slower than 16 at 32 connections: a larger
/// batch waits longer for its query).
const MAX_BATCH: usize = 16;

/// Queries in flight at once at most. One is in flight whenever reads wait; another starts
/// only when more reads wait than those in flight will take, since the fewer the queries, the
/// less each read costs PostgreSQL (GET /accounts at 32 connections, with one query in flight
/// at most: 13,913–15,140 answers/s; two: 11,901–12,399; four: 9,803–10,394; BENCHMARKS.md).
const MAX_RUNNERS: usize = 4;

/// The parameters of one read: `$1`…`$7` of its row of the batch.
const PARAMETERS: usize = 7;

/// What one request asks for.
#[derive(Debug, Clone)]
pub(crate) struct AccessAsked {
    pub token_hash: String,
    pub kind: &'static str,
    pub bank_code: String,
    pub client_id: String,
    pub qseal_sha256: String,
    pub balance_type: String,
    pub accounts: Accounts,
}

impl AccessAsked {
    /// The access token `secret` of a bank, presented by `client_id` with a request signed
    /// with the QSealC `qseal_sha256`; no account yet.
    pub(crate) fn access(
        secret: &TokenSecret,
        bank_code: &str,
        client_id: &str,
        qseal_sha256: &str,
    ) -> AccessAsked {
        AccessAsked {
            token_hash: secret.hash(),
            kind: TokenKind::Access.as_str(),
            bank_code: bank_code.to_owned(),
            client_id: client_id.to_owned(),
            qseal_sha256: qseal_sha256.to_owned(),
            balance_type: String::new(),
            accounts: Accounts::None,
        }
    }

    /// The same read, with these accounts and their balance of `balance_type`.
    pub(crate) fn with(self, accounts: Accounts, balance_type: &str) -> AccessAsked {
        AccessAsked {
            accounts,
            balance_type: balance_type.to_owned(),
            ..self
        }
    }
}

/// Which of the PSU's accounts a read wants with its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Accounts {
    All,
    One(String),
    /// The token and its consent alone ([`Store::access`]).
    None,
}

impl Accounts {
    /// The batch's `only_account`: '' for all the accounts, '=' and its id for one (an empty
    /// id is one too), '-' for none (no account's '=' and id is '-').
    fn only_account(&self) -> String {
        match self {
            Accounts::All => String::new(),
            Accounts::One(id) => format!("={id}"),
            Accounts::None => "-".to_owned(),
        }
    }
}

/// What one request's read found: its token rows, and its PSU's accounts with their balance.
pub(crate) type AccessFound = (Vec<TokenRow>, Vec<(AccountRecord, Option<BalanceRecord>)>);

type Reply = oneshot::Sender<Result<AccessFound>>;

/// The reads waiting for a query, and how many queries are running.
#[derive(Default)]
pub(crate) struct AccessBatches {
    queue: Mutex<Queue>,
    /// Reads answered (or failed) so far, and the queries that read them.
    reads: AtomicU64,
    queries: AtomicU64,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<(AccessAsked, Reply)>,
    runners: usize,
}

/// The tokens of a batch's reads (`r`), found once for both branches of its query (the token
/// and consent, the accounts and balances), each with what its read gave. Joined in each
/// branch instead, PostgreSQL found them twice, and on small tables planned the second branch
/// from the accounts: the query ran 6,600–7,000 times a second for sixteen reads (pgbench, two
/// clients), 10,000 with the tokens found first. It names the columns of the tokens that
/// `token_columns` and the accounts' branch read. `MATERIALIZED`: PostgreSQL 12 and later.
const FOUND: &str = "f AS MATERIALIZED (SELECT r.n, r.client_id AS asked_client, \
     r.qseal_sha256 AS asked_seal, r.balance_type AS asked_balance, \
     r.only_account AS asked_account, t.family_id, t.bank_code, t.client_id, t.psu_id, \
     t.scopes, t.issued_at, t.expires_at, t.sca_at, t.revoked_at, t.cert_thumbprint \
     FROM r JOIN tokens t \
       ON t.token_hash = r.token_hash AND t.kind = r.kind AND t.bank_code = r.bank_code)";

/// The batch's tokens, and what each read gave.
const BATCHED: Given = Given {
    tokens: "f t",
    condition: None,
    client_id: "t.asked_client",
    qseal_sha256: "t.asked_seal",
    balance_type: "t.asked_balance",
};

/// The sizes of batch a query is written for, the last [`MAX_BATCH`]. A batch is padded to
/// the next of them with rows that find no token (an empty hash): each size is one more
/// statement for PostgreSQL to prepare and plan on each connection, and a statement run
/// rarely is planned afresh each time (its first five runs are), which cost more than the
/// padding.
const SIZES: [usize; 8] = [1, 2, 3, 4, 6, 8, 12, MAX_BATCH];

/// The query of a batch of each of [`SIZES`].
static BATCH_SQL: LazyLock<Vec<(usize, String)>> =
    LazyLock::new(|| SIZES.iter().map(|&n| (n, batch_sql(n))).collect());

fn batch_sql(reads: usize) -> String {
    let rows: Vec<String> = (0..reads)
        .map(|n| {
            let at = n * PARAMETERS;
            let texts: Vec<String> = (1..=PARAMETERS)
                .map(|i| format!("${}::text", at + i))
                .collect();
            format!("({n}::bigint, {})", texts.join(", "))
        })
        .collect();
    format!(
        "WITH r(n, token_hash, kind, bank_code, client_id, qseal_sha256, balance_type, only_account) \
         AS (VALUES {}), {FOUND} {} \
         WHERE (t.asked_account = '' OR '=' || acc.resource_id = t.asked_account)",
        rows.join(", "),
        token_and_accounts(&BATCHED, "t.n AS request, ")
    )
}

/// Where a row of a batch's answer goes.
fn request_of(row: &dyn crate::read::Cols) -> Result<usize> {
    usize::try_from(row.int("request")?)
        .map_err(|_| StoreError::Corrupt("a batch's row names no read of it".into()))
}

impl AccessBatches {
    /// The queue, whatever a panicking holder left: each change to it is whole under the lock
    /// (a push, a drain, a count), so it is never seen half made.
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One runner counted in [`Queue::runners`], from before its task is spawned until it ends.
/// A runner that finds the queue empty counts itself out under the queue's lock
/// (`counted_out`), so that a read queued at that moment starts another. One that ends
/// otherwise (a panic, its task dropped before it ran, at the runtime's shutdown) is counted
/// out here; if it was the last, the reads still queued are dropped, and each fails as
/// unavailable (503) rather than waiting for a runner that will not come.
struct Running {
    batches: Arc<AccessBatches>,
    counted_out: bool,
}

impl Drop for Running {
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

impl Store {
    /// The token reads made in batches so far, and the queries that made them (none on
    /// SQLite, whose reads cost no round trip).
    pub fn batched_token_reads(&self) -> (u64, u64) {
        let batches = &self.access_batches;
        (
            batches.reads.load(Ordering::Relaxed),
            batches.queries.load(Ordering::Relaxed),
        )
    }

    /// The read of [`Store::access`] or [`Store::access_with_accounts`] on PostgreSQL, with
    /// those of the requests asking at the same moment.
    pub(crate) async fn access_in_batch(&self, asked: AccessAsked) -> Result<AccessFound> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.access_batches.queue();
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
                batches: self.access_batches.clone(),
                counted_out: false,
            };
            let store = self.clone();
            tokio::spawn(async move { store.run_access_batches(running).await });
        }
        answer.await.map_err(|_| {
            StoreError::Read("the read's batch stopped before it was read".into(), true)
        })?
    }

    /// Reads the waiting batches until none is left.
    async fn run_access_batches(&self, mut running: Running) {
        let batches = &self.access_batches;
        loop {
            let batch: Vec<(AccessAsked, Reply)> = {
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
            let (asked, replies): (Vec<AccessAsked>, Vec<Reply>) = batch.into_iter().unzip();
            let read = self.read_access_batch(&asked).await;
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

    /// One query for the reads of a batch (at most [`MAX_BATCH`]); what each found, in order.
    /// A row one read cannot map fails that read alone; the query's failure fails them all.
    async fn read_access_batch(&self, asked: &[AccessAsked]) -> Result<Vec<Result<AccessFound>>> {
        let (size, sql) = BATCH_SQL
            .iter()
            .find(|(size, _)| *size >= asked.len())
            .ok_or_else(|| StoreError::Corrupt(format!("a batch of {} reads", asked.len())))?;
        let mut binds = Vec::with_capacity(size * PARAMETERS);
        for one in asked {
            binds.extend([
                Bound::Text(one.token_hash.clone()),
                one.kind.into(),
                Bound::Text(one.bank_code.clone()),
                Bound::Text(one.client_id.clone()),
                Bound::Text(one.qseal_sha256.clone()),
                Bound::Text(one.balance_type.clone()),
                Bound::Text(one.accounts.only_account()),
            ]);
        }
        // The padding: no token has an empty hash.
        binds.resize(size * PARAMETERS, Bound::Text(String::new()));
        let mut found: Vec<Result<AccessFound>> =
            asked.iter().map(|_| Ok(Default::default())).collect();
        self.read_each(sql, &binds, |row| {
            // A padding row finds nothing; were it to, what it found is no read's.
            if let Some(entry) = found.get_mut(request_of(row)?)
                && let Ok(so_far) = entry
                && let Err(error) = add_row(so_far, row)
            {
                *entry = Err(error);
            }
            Ok(())
        })
        .await?;
        Ok(found)
    }
}

#[cfg(all(test, feature = "test-support"))]
mod tests;
