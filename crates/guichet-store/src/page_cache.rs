//! Pages of operations kept in memory, each with the stamp its account's operations had when
//! it was read (migration 0010).
//!
//! A page of 500 operations is 251 KB that the database walks, copies and hands over row by
//! row; most of a bank's time on GET /transactions (BENCHMARKS.md). The same page is asked for
//! again whenever nothing was booked in between: a PSU opening their aggregator's app several
//! times, several TPPs reading the same account, a TPP's four daily batch reads.
//!
//! Kept safely across instances: every write to an account's operations changes the account's
//! stamp in the same transaction (a trigger, whoever writes; all but the JSON given to an
//! operation that had none, which no kept page holds: migration 0010), and the token's read, which
//! every request makes anyway, reads the stamp with the account. A kept page answers only a
//! request that read the same stamp; any write, on any instance, makes the next request read
//! the page afresh. A page is read after its stamp, so it is at least as recent as the stamp
//! it is kept with: a request that read stamp `s` never gets a page older than `s`.
//!
//! Bounded by bytes (`page_cache_mb`, 0 for none); quick_cache's S3-FIFO evicts. A page is
//! counted by its bytes; the allocation that holds them may be up to a quarter larger (a page
//! read is shrunk beyond that: `pages.rs`), about 2 % for a full page of 500 operations.

use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::sync::Cache;
use quick_cache::{OptionsBuilder, Weighter};

use crate::{PageOperations, TransactionQuery};

/// What a kept page costs besides its bytes and its key's text: the key and the value, five
/// allocations, the cache's slot and its hash table's.
const ENTRY_OVERHEAD: usize = 512;

/// A kept page's size, for the number of pages a cache expects: a full page of 500 operations
/// is about 250 KB, most accounts' default pages far less.
const MEAN_PAGE_BYTES: u64 = 32 << 10;

/// The share of the room for pages asked for more than once (quick_cache's S3-FIFO "hot"
/// queue); the rest holds pages asked for once, until asked again. A page's second request
/// may come minutes later (a PSU opening their app again), so that rest is not left at
/// quick_cache's 3 %.
const HOT_SHARE: f64 = 0.75;

/// Everything a page's bytes depend on besides the account's operations.
#[derive(Clone, PartialEq, Eq, Hash)]
struct PageKey {
    bank_code: String,
    account_id: String,
    from_day: Option<String>,
    to_day: Option<String>,
    after_seq: Option<i64>,
    upto_seq: Option<i64>,
    limit: i64,
    offset: i64,
    pending_status: String,
}

impl PageKey {
    fn of(query: &TransactionQuery, pending_status: &str) -> PageKey {
        PageKey {
            bank_code: query.bank_code.clone(),
            account_id: query.account_id.clone(),
            from_day: query.from_day.clone(),
            to_day: query.to_day.clone(),
            after_seq: query.after_seq,
            upto_seq: query.upto_seq,
            limit: query.limit,
            offset: query.offset,
            pending_status: pending_status.to_owned(),
        }
    }
}

/// A page and the stamp it was read after. Its bytes are shared with the answers that send
/// them, never copied: a page of 250 kB copied at each answer took a fifth of the bank's time.
#[derive(Clone)]
struct KeptPage {
    stamp: i64,
    page: PageOperations,
}

#[derive(Clone)]
struct PageWeight;

impl Weighter<PageKey, KeptPage> for PageWeight {
    fn weight(&self, key: &PageKey, page: &KeptPage) -> u64 {
        let days = [&key.from_day, &key.to_day].map(|day| day.as_ref().map_or(0, String::len));
        let key_bytes = key.bank_code.len()
            + key.account_id.len()
            + key.pending_status.len()
            + days.iter().sum::<usize>();
        (page.page.json.len() + key_bytes + ENTRY_OVERHEAD) as u64
    }
}

/// How the cache fares, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageCacheStats {
    /// Pages answered from memory.
    pub hits: u64,
    /// Pages read from the database (none kept, or kept with another stamp).
    pub misses: u64,
    /// The bytes kept now, and at most.
    pub bytes: u64,
    pub capacity: u64,
}

pub(crate) struct PageCache {
    pages: Option<Cache<PageKey, KeptPage, PageWeight>>,
    /// A page larger than this is not kept: one page never takes the room of many.
    largest: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl PageCache {
    /// A cache of at most `capacity` bytes; none at 0.
    pub(crate) fn new(capacity: u64) -> PageCache {
        let pages = (capacity > 0).then(|| {
            let pages = (capacity / MEAN_PAGE_BYTES).max(32);
            // quick_cache shares the room between shards (32 pages a shard at least).
            let options = OptionsBuilder::new()
                .estimated_items_capacity(usize::try_from(pages).unwrap_or(usize::MAX))
                .weight_capacity(capacity)
                .hot_allocation(HOT_SHARE)
                .build();
            match options {
                Ok(options) => {
                    Cache::with_options(options, PageWeight, Default::default(), Default::default())
                }
                // Every option is given: `build` does not fail.
                Err(_) => Cache::with_weighter(32, capacity, PageWeight),
            }
        });
        // A page larger than an eighth of its shard's room is not kept.
        let largest = pages.as_ref().map_or(0, |pages| pages.shard_capacity() / 8);
        PageCache {
            pages,
            largest: usize::try_from(largest).unwrap_or(usize::MAX),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The page kept for this query with this stamp, if one is.
    pub(crate) fn answer(
        &self,
        query: &TransactionQuery,
        stamp: i64,
        pending_status: &str,
    ) -> Option<PageOperations> {
        let pages = self.pages.as_ref()?;
        let kept = pages
            .get(&PageKey::of(query, pending_status))
            .filter(|kept| kept.stamp == stamp);
        let Some(kept) = kept else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(kept.page)
    }

    /// Whether a page of `bytes` would be kept.
    pub(crate) fn keeps(&self, bytes: usize) -> bool {
        self.pages.is_some() && bytes <= self.largest
    }

    /// Keeps a page read after its account's stamp was `stamp` (its bytes shared, not copied).
    pub(crate) fn keep(
        &self,
        query: &TransactionQuery,
        stamp: i64,
        pending_status: &str,
        page: &PageOperations,
    ) {
        let Some(pages) = &self.pages else {
            return;
        };
        if !self.keeps(page.json.len()) {
            return;
        }
        pages.insert(
            PageKey::of(query, pending_status),
            KeptPage {
                stamp,
                page: page.clone(),
            },
        );
    }

    pub(crate) fn stats(&self) -> PageCacheStats {
        PageCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: self.pages.as_ref().map_or(0, Cache::weight),
            capacity: self.pages.as_ref().map_or(0, Cache::capacity),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(account: &str) -> TransactionQuery {
        TransactionQuery {
            bank_code: "30258".into(),
            account_id: account.into(),
            from_day: Some("2026-09-01".into()),
            limit: 500,
            ..TransactionQuery::default()
        }
    }

    fn page(json: &[u8], count: usize) -> PageOperations {
        PageOperations {
            json: bytes::Bytes::copy_from_slice(json),
            count,
        }
    }

    /// The json and count a cache answers.
    fn answered(
        cache: &PageCache,
        query: &TransactionQuery,
        stamp: i64,
        pending: &str,
    ) -> Option<(Vec<u8>, usize)> {
        cache
            .answer(query, stamp, pending)
            .map(|page| (page.json.to_vec(), page.count))
    }

    #[test]
    fn a_page_answers_only_its_query_and_stamp() {
        let cache = PageCache::new(1 << 20);
        let kept = page(b"{\"x\":1}", 1);
        cache.keep(&query("A"), 7, "PDNG", &kept);
        let answer = cache.answer(&query("A"), 7, "PDNG");
        assert_eq!(
            answer.as_ref().map(|p| (&p.json[..], p.count)),
            Some((&b"{\"x\":1}"[..], 1))
        );
        assert_eq!(
            answer.map(|p| p.json.as_ptr()),
            Some(kept.json.as_ptr()),
            "the kept bytes are shared, not copied"
        );
        assert_eq!(answered(&cache, &query("A"), 8, "PDNG"), None);
        assert_eq!(answered(&cache, &query("A"), 7, "OTHR"), None);
        assert_eq!(answered(&cache, &query("B"), 7, "PDNG"), None);
        let mut later = query("A");
        later.offset = 500;
        assert_eq!(answered(&cache, &later, 7, "PDNG"), None);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (1, 4));
        assert!(stats.bytes > 7 && stats.bytes <= stats.capacity);
    }

    #[test]
    fn a_new_stamp_replaces_the_page() {
        let cache = PageCache::new(1 << 20);
        cache.keep(&query("A"), 1, "PDNG", &page(b"old", 1));
        cache.keep(&query("A"), 2, "PDNG", &page(b"new", 2));
        assert_eq!(
            answered(&cache, &query("A"), 2, "PDNG"),
            Some((b"new".to_vec(), 2))
        );
        assert_eq!(answered(&cache, &query("A"), 1, "PDNG"), None);
    }

    #[test]
    fn the_bytes_stay_within_the_capacity() {
        let capacity = 1 << 20;
        let cache = PageCache::new(capacity);
        let kept = page(&vec![b'x'; 100_000], 1);
        for account in 0..100 {
            cache.keep(&query(&account.to_string()), 1, "PDNG", &kept);
        }
        let stats = cache.stats();
        assert!(stats.bytes <= capacity, "{stats:?}");
        assert!(stats.bytes >= 500_000, "pages are kept: {stats:?}");
        // A page larger than an eighth of the room is not kept.
        cache.keep(&query("large"), 1, "PDNG", &page(&vec![b'x'; 200_000], 1));
        assert_eq!(answered(&cache, &query("large"), 1, "PDNG"), None);
    }

    #[test]
    fn a_cache_of_no_bytes_keeps_nothing() {
        let cache = PageCache::new(0);
        cache.keep(&query("A"), 1, "PDNG", &page(b"x", 1));
        assert_eq!(answered(&cache, &query("A"), 1, "PDNG"), None);
        assert_eq!(cache.stats(), PageCacheStats::default());
    }
}
