//! Token reads kept per process, each checked at every request against its PSU's access
//! stamp (migration 0012).
//!
//! A token's read (`access.rs`) joins the token, the consent and its accounts, and for GET
//! /accounts and the pages of an account the PSU's accounts and their balances: on PostgreSQL a
//! two-branch query of 38 columns, most of what an API call costs the database. The same token
//! reads the same rows until one of them is written, and every write of them moves the PSU's
//! stamp in its own transaction (triggers, on every instance and by hand alike). So a process
//! keeps each read with the stamp it found, and the next request with the same token, client,
//! QSealC and accounts reads the stamp alone, with whether the QSealC is still registered:
//! - the same stamp: nothing the read returned has changed since it was made; the kept read
//!   answers, with the QSealC's registration just read;
//! - another (or none): the read is made again, and kept with its stamp.
//!
//! Nothing is answered without a read of the database that started after the request came:
//! a token or consent revoked on any instance before is refused, as with a read of its own.
//! What depends on the time (a token's expiry) is judged by the caller at each request, as
//! before. An unknown token is not kept: guessing fills nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use crate::access::AccessFound;
use crate::access_batch::AccessAsked;
use crate::batches::{
    BatchRead, Batches, SIZES, numbered_rows, padded, query_for, request_of,
};
use crate::read::{Bound, Cols};
use crate::{Result, Store};

/// Reads kept at most (all forgotten at once beyond): a read is a few hundred bytes for a
/// token whose consent names a few accounts.
const MAX_KEPT_READS: usize = 10_000;

/// Reads kept, by what was asked.
#[derive(Default)]
pub(crate) struct AccessCache {
    kept: Mutex<HashMap<AccessAsked, Arc<AccessFound>>>,
    /// Reads answered from a kept read.
    answered: AtomicU64,
}

impl AccessCache {
    fn get(&self, asked: &AccessAsked) -> Option<Arc<AccessFound>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.get(asked).cloned()
    }

    /// Keeps a read of a known token that found its PSU's stamp.
    fn keep(&self, asked: AccessAsked, found: &AccessFound) {
        if found.stamp.is_none() || found.tokens.is_empty() {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= MAX_KEPT_READS {
            kept.clear();
        }
        kept.insert(asked, Arc::new(found.clone()));
    }

    fn forget(&self, asked: &AccessAsked) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.remove(asked);
    }
}

/// The check of a kept read: its PSU's stamp, and whether the QSealC is registered to the
/// client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StampAsked {
    bank_code: String,
    psu_id: String,
    client_id: String,
    qseal_sha256: String,
}

/// What a check found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StampFound {
    stamp: Option<i64>,
    seal_registered: bool,
}

/// Whether the QSealC `q` of `client` is registered, as the token's read says it.
fn seal_registered(client: &str, seal: &str) -> String {
    format!(
        "CAST(CASE WHEN EXISTS (SELECT 1 FROM tpp_qseals q \
           WHERE q.client_id = {client} AND q.sha256 = {seal}) THEN 1 ELSE 0 END AS BIGINT) \
         AS seal_registered"
    )
}

/// A check alone (SQLite, where a read costs no round trip): `$1`…`$4`.
static CHECK_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT (SELECT stamp FROM access_stamps WHERE bank_code = $1 AND psu_id = $2) \
           AS stamp, {}",
        seal_registered("$3", "$4")
    )
});

/// The parameters of one check: `$1`…`$4` of its row of the batch.
const PARAMETERS: usize = 4;

/// The query of a batch of checks of each of [`SIZES`]: one row per check (a padding row, of
/// no bank, finds no stamp and is no check's).
static BATCH_SQL: LazyLock<Vec<(usize, String)>> =
    LazyLock::new(|| SIZES.iter().map(|&n| (n, batch_sql(n))).collect());

fn batch_sql(checks: usize) -> String {
    format!(
        "SELECT r.n AS request, s.stamp, {} \
         FROM (VALUES {}) r(n, bank_code, psu_id, client_id, qseal_sha256) \
         LEFT JOIN access_stamps s ON s.bank_code = r.bank_code AND s.psu_id = r.psu_id",
        seal_registered("r.client_id", "r.qseal_sha256"),
        numbered_rows(checks, PARAMETERS)
    )
}

fn stamp_found(row: &dyn Cols) -> Result<StampFound> {
    Ok(StampFound {
        stamp: row.opt_int("stamp")?,
        seal_registered: row.int("seal_registered")? != 0,
    })
}

/// Checks of kept token reads in batches.
pub(crate) struct StampChecks;

impl BatchRead for StampChecks {
    type Asked = StampAsked;
    type Found = StampFound;

    fn batches(store: &Store) -> &Arc<Batches<StampChecks>> {
        &store.stamp_checks
    }

    async fn read(store: &Store, asked: &[StampAsked]) -> Result<Vec<Result<StampFound>>> {
        let (size, sql) = query_for(&BATCH_SQL, asked.len())?;
        let mut binds = Vec::with_capacity(size * PARAMETERS);
        for one in asked {
            binds.extend([
                Bound::Text(one.bank_code.clone()),
                Bound::Text(one.psu_id.clone()),
                Bound::Text(one.client_id.clone()),
                Bound::Text(one.qseal_sha256.clone()),
            ]);
        }
        let binds = padded(binds, size, PARAMETERS);
        let mut found: Vec<Result<StampFound>> =
            asked.iter().map(|_| Ok(StampFound::default())).collect();
        store
            .read_each(sql, &binds, |row| {
                if let Some(entry) = found.get_mut(request_of(row)?) {
                    *entry = stamp_found(row);
                }
                Ok(())
            })
            .await?;
        Ok(found)
    }
}

impl Store {
    /// A token's read: the one kept in this process if its PSU's stamp has not moved since,
    /// else made now and kept.
    pub(crate) async fn read_access(&self, asked: AccessAsked) -> Result<AccessFound> {
        if let Some(kept) = self.access_cache.get(&asked)
            && let Some((token, ..)) = kept.tokens.first()
        {
            let check = StampAsked {
                bank_code: asked.bank_code.clone(),
                psu_id: token.psu_id.clone().unwrap_or_default(),
                client_id: asked.client_id.clone(),
                qseal_sha256: asked.qseal_sha256.clone(),
            };
            let now = self.check_stamp(check).await?;
            if now.stamp.is_some() && now.stamp == kept.stamp {
                self.access_cache.answered.fetch_add(1, Ordering::Relaxed);
                let mut found = AccessFound::clone(&kept);
                for (_, seal_registered, _) in &mut found.tokens {
                    *seal_registered = now.seal_registered;
                }
                return Ok(found);
            }
            self.access_cache.forget(&asked);
        }
        let found = self.read_access_now(asked.clone()).await?;
        self.access_cache.keep(asked, &found);
        Ok(found)
    }

    /// The token reads answered by a read kept in this process, its PSU's stamp unchanged.
    pub fn kept_token_reads(&self) -> u64 {
        self.access_cache.answered.load(Ordering::Relaxed)
    }

    async fn check_stamp(&self, check: StampAsked) -> Result<StampFound> {
        if self.pg_reader.is_some() {
            return self.read_in_batch::<StampChecks>(check).await;
        }
        let binds = [
            Bound::Text(check.bank_code),
            Bound::Text(check.psu_id),
            Bound::Text(check.client_id),
            Bound::Text(check.qseal_sha256),
        ];
        self.read_row(&CHECK_SQL, &binds, stamp_found)
            .await?
            .ok_or_else(|| crate::StoreError::Corrupt("a stamp's check found no row".into()))
    }
}
