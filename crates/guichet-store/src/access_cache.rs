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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::access::{AccessFound, seal_registered};
use crate::access_batch::{AccessAsked, Accounts};
use crate::batches::{BatchRead, Batches, SIZES, numbered_rows, read_batch};
use crate::read::{Bound, Cols};
use crate::{Result, Store};

/// Bytes of kept reads at most, as [`weight`] counts them (the least used forgotten beyond).
const MAX_KEPT_BYTES: usize = 16 << 20;

/// A read weighing more is not kept (a PSU of hundreds of accounts): it is made at each
/// call, as without this cache.
const MAX_READ_BYTES: usize = 256 << 10;

/// A read's weight in memory, counted generously: each token row holds a copy of the token
/// (its hash, ids, scopes and instants) and a consent row; each account its record and
/// balance; and the key.
fn weight(asked: &AccessAsked, found: &AccessFound) -> usize {
    const TOKEN_ROW: usize = 512;
    const ACCOUNT: usize = 1024;
    const KEY: usize = 512;
    found.tokens.len() * TOKEN_ROW + found.accounts.len() * ACCOUNT + KEY + asked.token_hash.len()
}

/// A kept read's weight, as [`weight`] counts it.
#[derive(Clone)]
struct ReadWeight;

impl Weighter<AccessAsked, Arc<AccessFound>> for ReadWeight {
    fn weight(&self, asked: &AccessAsked, found: &Arc<AccessFound>) -> u64 {
        u64::try_from(weight(asked, found)).unwrap_or(u64::MAX)
    }
}

/// The reads kept in this process: a cache shared by the runtime's threads without one lock
/// for all, bounded by [`MAX_KEPT_BYTES`] as `page_cache` is by its bytes.
pub(crate) struct AccessCache {
    kept: Cache<AccessAsked, Arc<AccessFound>, ReadWeight>,
    /// Reads answered from a kept read.
    answered: AtomicU64,
    /// Kept reads found stale at a call (their PSU's stamp had moved), made again.
    stale: AtomicU64,
}

impl Default for AccessCache {
    fn default() -> AccessCache {
        // About 2 kB a read (a token, its consent, two accounts and the key).
        let reads = MAX_KEPT_BYTES / 2048;
        AccessCache {
            kept: Cache::with_weighter(reads, MAX_KEPT_BYTES as u64, ReadWeight),
            answered: AtomicU64::new(0),
            stale: AtomicU64::new(0),
        }
    }
}

impl AccessCache {
    fn get(&self, asked: &AccessAsked) -> Option<Arc<AccessFound>> {
        self.kept.get(asked)
    }

    /// Keeps a read of a known token that found its PSU's stamp, and for one account, the
    /// account: a read of an account that is not the PSU's (any resourceId a TPP puts in a
    /// path) is not kept.
    fn keep(&self, asked: AccessAsked, found: &AccessFound) {
        let one_not_found = matches!(asked.accounts, Accounts::One(_)) && found.accounts.is_empty();
        if found.stamp.is_none() || found.tokens.is_empty() || one_not_found {
            return;
        }
        if weight(&asked, found) > MAX_READ_BYTES {
            return;
        }
        self.kept.insert(asked, Arc::new(found.clone()));
    }

    fn forget(&self, asked: &AccessAsked) {
        self.kept.remove(asked);
    }

    /// The reads kept now, and their weight.
    #[cfg(any(test, feature = "test-support"))]
    fn size(&self) -> (usize, u64) {
        (self.kept.len(), self.kept.weight())
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

impl StampAsked {
    /// The check's parameters, in the order of its query.
    fn binds(&self) -> Vec<Bound> {
        [
            &self.bank_code,
            &self.psu_id,
            &self.client_id,
            &self.qseal_sha256,
        ]
        .map(|text| Bound::Text(text.clone()))
        .to_vec()
    }
}

/// What a check found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StampFound {
    stamp: Option<i64>,
    seal_registered: bool,
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
        let binds_of = StampAsked::binds;
        let add = |found: &mut StampFound, row: &dyn Cols| {
            *found = stamp_found(row)?;
            Ok(())
        };
        read_batch(store, &BATCH_SQL, asked, PARAMETERS, binds_of, add).await
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
            // A read is kept only with its stamp: `None` never matches.
            if now.stamp == kept.stamp {
                self.access_cache.answered.fetch_add(1, Ordering::Relaxed);
                let mut found = AccessFound::clone(&kept);
                for (_, seal_registered, _) in &mut found.tokens {
                    *seal_registered = now.seal_registered;
                }
                return Ok(found);
            }
            self.access_cache.stale.fetch_add(1, Ordering::Relaxed);
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

    /// How many token reads this process keeps now (tests).
    #[cfg(any(test, feature = "test-support"))]
    pub fn token_reads_kept_now(&self) -> usize {
        self.access_cache.size().0
    }

    /// The kept token reads found stale at a call (their PSU's stamp had moved: a write of
    /// what they returned, on any instance) and made again: each cost a check and a read.
    pub fn stale_token_reads(&self) -> u64 {
        self.access_cache.stale.load(Ordering::Relaxed)
    }

    async fn check_stamp(&self, check: StampAsked) -> Result<StampFound> {
        if self.pg_reader.is_some() {
            return self.read_in_batch::<StampChecks>(check).await;
        }
        self.read_row(&CHECK_SQL, &check.binds(), stamp_found)
            .await?
            .ok_or_else(|| crate::StoreError::Corrupt("a stamp's check found no row".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::AccountRecord;
    use crate::tokens::{TokenRecord, TokenSecret};

    fn asked(n: usize, accounts: Accounts) -> AccessAsked {
        let secret = TokenSecret::generate().unwrap_or_else(|e| panic!("{e}"));
        AccessAsked::access(&secret, "17515", &format!("client-{n}"), "seal").with(accounts, "CLBD")
    }

    fn found(tokens: usize, accounts: usize) -> AccessFound {
        let token = TokenRecord {
            family_id: "family".into(),
            bank_code: "17515".into(),
            client_id: "client".into(),
            psu_id: Some("PSU".into()),
            scopes: vec!["aisp".into()],
            issued_at: 0,
            expires_at: 1,
            sca_at: None,
            revoked_at: None,
            cert_thumbprint: None,
        };
        let account = AccountRecord {
            bank_code: "17515".into(),
            resource_id: "CPT1".into(),
            psu_id: "PSU".into(),
            iban: "FR76".into(),
            currency: "EUR".into(),
            name: "Compte".into(),
            details: None,
            usage: None,
            cash_account_type: "CACC".into(),
            product: None,
            psu_status: None,
            company_scheme: None,
            company_id: None,
            segment: "retail".into(),
            eligible: true,
            position: 0,
            operations_stamp: None,
        };
        AccessFound {
            tokens: (0..tokens)
                .map(|_| (token.clone(), true, (None, None, None, None, None)))
                .collect(),
            accounts: (0..accounts).map(|_| (account.clone(), None)).collect(),
            stamp: Some(7),
        }
    }

    #[test]
    fn the_kept_reads_stay_within_their_bytes() {
        let cache = AccessCache::default();
        let one = found(2, 1);
        let each = weight(&asked(0, Accounts::All), &one);
        for n in 0..(MAX_KEPT_BYTES / each) * 3 {
            cache.keep(asked(n, Accounts::All), &one);
            let (_, bytes) = cache.size();
            assert!(bytes <= MAX_KEPT_BYTES as u64, "{bytes} after {n}");
        }
        let (reads, bytes) = cache.size();
        assert!(
            reads > 0 && bytes == (reads * each) as u64,
            "{reads} reads, {bytes} bytes"
        );
        // Kept again under the same key, a read counts once; forgotten, not at all.
        let cache = AccessCache::default();
        let again = asked(1, Accounts::All);
        cache.keep(again.clone(), &one);
        cache.keep(again.clone(), &one);
        assert_eq!(cache.size(), (1, each as u64));
        cache.forget(&again);
        assert_eq!(cache.size(), (0, 0));
    }

    #[test]
    fn reads_that_found_nothing_to_keep_are_not_kept() {
        let cache = AccessCache::default();
        // No token; no stamp; an account that is not the PSU's; a PSU of too many accounts.
        cache.keep(asked(0, Accounts::All), &AccessFound::default());
        cache.keep(
            asked(1, Accounts::All),
            &AccessFound {
                stamp: None,
                ..found(2, 1)
            },
        );
        cache.keep(
            asked(2, Accounts::One("CPT-ELSEWHERE".into())),
            &found(2, 0),
        );
        cache.keep(asked(3, Accounts::All), &found(2, MAX_READ_BYTES / 1024));
        assert_eq!(cache.size(), (0, 0));
        cache.keep(asked(4, Accounts::One("CPT1".into())), &found(2, 1));
        cache.keep(asked(5, Accounts::None), &found(2, 0));
        assert_eq!(cache.size().0, 2);
    }
}
