//! The bank's Prometheus metrics, exposed by the operations listener at `GET /metrics`.
//!
//! Built on [`prometheus_client`], the official Prometheus client for Rust
//! (`prometheus/client_rust`, maintained in the Prometheus organisation), rather than the
//! `metrics` facade with its Prometheus exporter:
//! - its text output is the OpenMetrics exposition format, conformant by construction
//!   (counters exported with their `_total` suffix, `# UNIT` lines, the closing `# EOF`, label
//!   values escaped), served as `application/openmetrics-text; version=1.0.0`;
//! - label sets are typed: each family's labels are a struct deriving `EncodeLabelSet`, so a
//!   misspelt or missing label is a compile error, not a new time series;
//! - there is no global registry or recorder: the [`Registry`] lives in [`Metrics`], which
//!   lives in the application state, so the tests that start several servers in one process
//!   never see each other's counts (the `metrics` crate installs one recorder per process).
//!
//! Families (a family with no series yet is left out of the output entirely):
//!
//! | name | type | labels |
//! |---|---|---|
//! | `guichet_requests_total` | counter | `bank`, `api_version`, `operation`, `status` |
//! | `guichet_request_duration_seconds` | histogram, 1 ms … 32.768 s (×2) | `bank`, `operation` |
//! | `guichet_tls_refusals_total` | counter | `reason` |
//! | `guichet_rate_limited_total` | counter | `bank` |
//! | `guichet_sca_total` | counter | `bank`, `outcome` |
//! | `guichet_tokens_issued_total` | counter | `bank`, `kind` |
//! | `guichet_tokens_revoked_total` | counter | `bank` |
//! | `guichet_db_pool_connections` | gauge | `state` (`size`, `idle`) |
//! | `guichet_db_errors_total` | counter | (none; always present) |
//! | `guichet_connections_open` | gauge | `listener` |
//! | `guichet_page_cache_pages_total` | counter | `result` (`hit`, `miss`) |
//! | `guichet_page_cache_bytes` | gauge | (none) |
//! | `guichet_token_reads_total` | counter | (none; always present; 0 on SQLite) |
//! | `guichet_token_read_queries_total` | counter | (none; always present; 0 on SQLite) |
//! | `guichet_token_reads_kept_total` | counter | (none; always present) |
//! | `guichet_token_reads_stale_total` | counter | (none; always present) |
//!
//! Counters are registered without their `_total` suffix: `prometheus-client` appends it when
//! encoding (and, since 0.26, refuses a registered counter name ending in `_total` in debug
//! builds).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

mod labels;

use labels::{
    BankLabels, CacheLabels, DurationLabels, ListenerLabels, PoolLabels, PoolState, ReasonLabels,
    RequestLabels, ScaLabels, TokenLabels,
};
pub use labels::{Operation, ScaOutcome};

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets: 1 ms doubling 15 times, up to 32.768 s (past the 30 s after which RTS
/// art. 32 / EBA GL 2.4 count a request as unanswered); `+Inf` is added by the histogram.
/// Powers of two keep the bounds exact (0.001 × 2ⁿ), so `le` labels print as `0.001`, `0.002`…
const BUCKETS: u32 = 16;

fn duration_histogram() -> Histogram {
    Histogram::new((0..BUCKETS).map(|n| 0.001 * f64::from(1u32 << n)))
}

/// The metric families and the registry that encodes them. One per server, in its state;
/// every method takes `&self` (the families are shared, lock-protected maps of atomics).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram, fn() -> Histogram>,
    tls_refusals: Family<ReasonLabels, Counter>,
    rate_limited: Family<BankLabels, Counter>,
    sca: Family<ScaLabels, Counter>,
    tokens_issued: Family<TokenLabels, Counter>,
    tokens_revoked: Family<BankLabels, Counter>,
    db_pool: Family<PoolLabels, Gauge>,
    db_errors: Counter,
    connections_open: Family<ListenerLabels, Gauge>,
    page_cache_pages: Family<CacheLabels, Counter>,
    page_cache_bytes: Gauge,
    token_reads: Counter,
    token_read_queries: Counter,
    token_reads_kept: Counter,
    token_reads_stale: Counter,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let requests = Family::<RequestLabels, Counter>::default();
        let durations =
            Family::<DurationLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                duration_histogram,
            );
        let tls_refusals = Family::<ReasonLabels, Counter>::default();
        let rate_limited = Family::<BankLabels, Counter>::default();
        let sca = Family::<ScaLabels, Counter>::default();
        let tokens_issued = Family::<TokenLabels, Counter>::default();
        let tokens_revoked = Family::<BankLabels, Counter>::default();
        let db_pool = Family::<PoolLabels, Gauge>::default();
        let db_errors = Counter::default();
        let connections_open = Family::<ListenerLabels, Gauge>::default();
        let page_cache_pages = Family::<CacheLabels, Counter>::default();
        let page_cache_bytes = Gauge::default();
        let token_reads = Counter::default();
        let token_read_queries = Counter::default();
        let token_reads_kept = Counter::default();
        let token_reads_stale = Counter::default();

        let mut registry = Registry::default();
        registry.register(
            "guichet_requests",
            "API calls answered, by bank, API version, operation and HTTP status",
            requests.clone(),
        );
        registry.register_with_unit(
            "guichet_request_duration",
            "Time to answer an API call, by bank and operation",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register(
            "guichet_tls_refusals",
            "Connections and requests refused at TLS or for their certificate, by reason",
            tls_refusals.clone(),
        );
        registry.register(
            "guichet_rate_limited",
            "Calls answered 429 Too Many Requests, by bank",
            rate_limited.clone(),
        );
        registry.register(
            "guichet_sca",
            "Strong customer authentications, by bank and outcome",
            sca.clone(),
        );
        registry.register(
            "guichet_tokens_issued",
            "OAuth2 tokens issued, by bank and kind",
            tokens_issued.clone(),
        );
        registry.register(
            "guichet_tokens_revoked",
            "OAuth2 tokens revoked, by bank",
            tokens_revoked.clone(),
        );
        registry.register(
            "guichet_db_pool_connections",
            "Database pool connections: its size and how many are idle",
            db_pool.clone(),
        );
        registry.register(
            "guichet_db_errors",
            "Database errors met while answering",
            db_errors.clone(),
        );
        registry.register(
            "guichet_connections_open",
            "Open client connections, by listener",
            connections_open.clone(),
        );
        registry.register(
            "guichet_page_cache_pages",
            "Transactions pages answered from the pages kept in memory (hit) or read (miss)",
            page_cache_pages.clone(),
        );
        registry.register(
            "guichet_page_cache_bytes",
            "Bytes of the transactions pages kept in memory",
            page_cache_bytes.clone(),
        );
        registry.register(
            "guichet_token_reads",
            "Token reads of API calls on PostgreSQL, made in queries they may share",
            token_reads.clone(),
        );
        registry.register(
            "guichet_token_read_queries",
            "Queries that made the token reads (fewer than the reads when calls share them)",
            token_read_queries.clone(),
        );
        registry.register(
            "guichet_token_reads_kept",
            "Token reads of API calls answered by a read this instance kept, its PSU's stamp read unchanged",
            token_reads_kept.clone(),
        );
        registry.register(
            "guichet_token_reads_stale",
            "Kept token reads found stale at a call, their PSU's stamp moved by a write on any instance, and made again",
            token_reads_stale.clone(),
        );

        Metrics {
            registry,
            requests,
            durations,
            tls_refusals,
            rate_limited,
            sca,
            tokens_issued,
            tokens_revoked,
            db_pool,
            db_errors,
            connections_open,
            page_cache_pages,
            page_cache_bytes,
            token_reads,
            token_read_queries,
            token_reads_kept,
            token_reads_stale,
        }
    }

    /// One API call answered: counts it and records how long it took (`seconds`; negative or
    /// non-finite durations are recorded as 0).
    pub fn request(
        &self,
        bank: &str,
        api_version: &str,
        operation: Operation,
        status: u16,
        seconds: f64,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                bank: bank.to_owned(),
                api_version: api_version.to_owned(),
                operation,
                status,
            })
            .inc();
        let seconds = if seconds.is_finite() && seconds > 0.0 {
            seconds
        } else {
            0.0
        };
        self.durations
            .get_or_create(&DurationLabels {
                bank: bank.to_owned(),
                operation,
            })
            .observe(seconds);
    }

    /// A connection or request refused for TLS or its certificate: `handshake_failed`,
    /// `handshake_timeout`, `no_certificate`, `untrusted`, `expired`, `revoked`, `not_psd2`,
    /// `not_qwac`, `connection_cap`, `client_cap`…
    pub fn tls_refusal(&self, reason: &str) {
        self.tls_refusals
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// A call answered 429.
    pub fn rate_limited(&self, bank: &str) {
        self.rate_limited
            .get_or_create(&BankLabels {
                bank: bank.to_owned(),
            })
            .inc();
    }

    /// A strong customer authentication ended.
    pub fn sca(&self, bank: &str, outcome: ScaOutcome) {
        self.sca
            .get_or_create(&ScaLabels {
                bank: bank.to_owned(),
                outcome,
            })
            .inc();
    }

    /// `n` tokens of a kind (`access`, `refresh`…) issued.
    pub fn tokens_issued(&self, bank: &str, kind: &str, n: u64) {
        self.tokens_issued
            .get_or_create(&TokenLabels {
                bank: bank.to_owned(),
                kind: kind.to_owned(),
            })
            .inc_by(n);
    }

    /// `n` tokens revoked.
    pub fn tokens_revoked(&self, bank: &str, n: u64) {
        self.tokens_revoked
            .get_or_create(&BankLabels {
                bank: bank.to_owned(),
            })
            .inc_by(n);
    }

    /// Sets the pool gauges: its current size (open connections) and how many are idle.
    pub fn db_pool(&self, size: u32, idle: usize) {
        self.db_pool
            .get_or_create(&PoolLabels {
                state: PoolState::Size,
            })
            .set(i64::from(size));
        self.db_pool
            .get_or_create(&PoolLabels {
                state: PoolState::Idle,
            })
            .set(i64::try_from(idle).unwrap_or(i64::MAX));
    }

    /// Brings the kept pages' counters and gauge to the store's figures (read at each scrape).
    pub fn page_cache(&self, stats: guichet_store::PageCacheStats) {
        for (result, count) in [("hit", stats.hits), ("miss", stats.misses)] {
            // The store's count, never lowered: two scrapes at once set the same value.
            self.page_cache_pages
                .get_or_create(&CacheLabels {
                    result: result.to_owned(),
                })
                .inner()
                .fetch_max(count, std::sync::atomic::Ordering::Relaxed);
        }
        self.page_cache_bytes
            .set(i64::try_from(stats.bytes).unwrap_or(i64::MAX));
    }

    /// The store's counts of token reads made on PostgreSQL and of the queries that made them
    /// (`Store::batched_token_reads`), of the token reads answered by a kept read
    /// (`Store::kept_token_reads`) and of the kept reads found stale
    /// (`Store::stale_token_reads`).
    pub fn token_reads(&self, (reads, queries): (u64, u64), kept: u64, stale: u64) {
        // The store's counts, never lowered: two scrapes at once set the same value.
        for (counter, count) in [
            (&self.token_reads, reads),
            (&self.token_read_queries, queries),
            (&self.token_reads_kept, kept),
            (&self.token_reads_stale, stale),
        ] {
            counter
                .inner()
                .fetch_max(count, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// A database error met while answering.
    pub fn db_error(&self) {
        self.db_errors.inc();
    }

    /// Sets a listener's gauge to `n`, its open connections now (e.g. `Gate::open()`).
    pub fn connections_open(&self, listener: &str, n: i64) {
        self.connections_open
            .get_or_create(&ListenerLabels {
                listener: listener.to_owned(),
            })
            .set(n);
    }

    /// Every family in the OpenMetrics text format, ending with `# EOF`; serve it as
    /// [`CONTENT_TYPE`].
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "encoding the metrics failed");
        }
        text
    }
}

#[cfg(test)]
mod tests;
