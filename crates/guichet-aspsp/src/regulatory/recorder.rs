//! Recording the API calls' outcomes: per-minute aggregates kept in memory, written to the
//! shared `api_minutes` table once their minute is over.
//!
//! Each server process is one *instance* with a random identifier: it writes its own rows, so
//! several instances never contend for a row. Within an instance, calls are counted in the
//! order `record` sees them (their arrival order as far as one process can tell).
//!
//! A *failure* is a call not answered within 30 s in total, or answered with a server error
//! (EBA/GL/2018/07 guideline 2.4). Besides counts and durations, each minute keeps the runs of
//! failures at its edges (before its first success, after its last) and the longest run inside
//! it, which is what the downtime rule needs: a run of five failures may span minutes. Every
//! call is counted twice: in its category's row and in the minute's `ALL` row, which keeps the
//! runs across categories.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use guichet_store::{MinuteRow, Store};
use serde::Serialize;

/// The API version Guichet serves (the last segment of [`guichet_stet::BASE_PATH`]).
pub const API_VERSION: &str = guichet_stet::API_VERSION;

/// A call answered after this many microseconds is a failure, whatever its status (GL 2.4:
/// "not replied to within a total timeout of 30 seconds").
pub const SLOW_MICROS: u64 = 30_000_000;

/// The category of the rows that count a minute's calls of every category together.
pub const ALL_CATEGORIES: &str = "ALL";

/// What a call was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Category {
    /// Account information: accounts, balances, transactions, consents, identity, trusted
    /// beneficiaries.
    Ais,
    /// Payment initiation.
    Pis,
    /// Confirmation of the availability of funds.
    Cbpii,
    /// The token and revocation endpoints.
    Oauth,
}

impl Category {
    pub const EVERY: [Category; 4] = [
        Category::Ais,
        Category::Pis,
        Category::Cbpii,
        Category::Oauth,
    ];

    /// As stored: `AIS`, `PIS`, `CBPII`, `OAUTH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Ais => "AIS",
            Category::Pis => "PIS",
            Category::Cbpii => "CBPII",
            Category::Oauth => "OAUTH",
        }
    }

    pub fn parse(text: &str) -> Option<Category> {
        Category::EVERY.into_iter().find(|c| c.as_str() == text)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The category of a request path of the API listener; `None` for what is not part of the
/// dedicated interface's statistics (`/register`, unknown paths, the PSU's pages).
pub fn category_of(path: &str) -> Option<Category> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    if let Some(rest) = path.strip_prefix(guichet_stet::BASE_PATH) {
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        let resource = rest.trim_start_matches('/').split('/').next().unwrap_or("");
        return match resource {
            "accounts" | "consents" | "end-user-identity" | "trusted-beneficiaries" => {
                Some(Category::Ais)
            }
            "funds-confirmations" => Some(Category::Cbpii),
            "payment-requests" => Some(Category::Pis),
            _ => None,
        };
    }
    match path.trim_end_matches('/') {
        "/stet/psd2/oauth/token" | "/stet/psd2/oauth/revoke" => Some(Category::Oauth),
        _ => None,
    }
}

/// The API version of a request path: `1.4.2` under `/stet/psd2/v1.4.2`, and for the token
/// and revocation endpoints, which serve the one version there is.
pub fn api_version_of(path: &str) -> Option<&'static str> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let versioned = path
        .strip_prefix(guichet_stet::BASE_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    (versioned || category_of(path) == Some(Category::Oauth)).then_some(API_VERSION)
}

/// Both at once: what the request path counts as, if anything.
pub fn classify(path: &str) -> Option<(Category, &'static str)> {
    Some((category_of(path)?, api_version_of(path)?))
}

/// One answered call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call<'a> {
    pub bank_code: &'a str,
    /// See [`api_version_of`].
    pub api_version: &'static str,
    pub category: Category,
    /// The HTTP status answered.
    pub status: u16,
    /// From the request's arrival to the response, in microseconds.
    pub micros: u64,
    /// When the call was answered, Unix seconds, from the bank's clock.
    pub at: i64,
}

impl Call<'_> {
    /// GL 2.4: not answered within 30 s, or answered with a server error.
    pub fn failed(&self) -> bool {
        // 501: an entry point the bank does not offer (STET), an answer, not a failure.
        (self.status >= 500 && self.status != 501) || self.micros > SLOW_MICROS
    }
}

/// One open minute of one row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    calls: i64,
    server_errors: i64,
    client_errors: i64,
    slow_calls: i64,
    total_micros: i64,
    leading: i64,
    trailing: i64,
    max_run: i64,
    any_success: bool,
}

impl Tally {
    fn add(&mut self, call: &Call<'_>) {
        self.calls += 1;
        if call.failed() && call.status >= 500 {
            self.server_errors += 1;
        } else if call.micros > SLOW_MICROS {
            self.slow_calls += 1;
        }
        if (400..500).contains(&call.status) {
            self.client_errors += 1;
        }
        self.total_micros = self
            .total_micros
            .saturating_add(i64::try_from(call.micros).unwrap_or(i64::MAX));
        if call.failed() {
            if !self.any_success {
                self.leading += 1;
            }
            self.trailing += 1;
            self.max_run = self.max_run.max(self.trailing);
        } else {
            self.any_success = true;
            self.trailing = 0;
        }
    }

    /// Appends `later`, the calls that came after these (the same merge as the store's).
    fn merge(&mut self, later: &Tally) {
        let joined = self.trailing + later.leading;
        if !self.any_success {
            self.leading += later.leading;
        }
        self.trailing = if later.any_success {
            later.trailing
        } else {
            self.trailing + later.trailing
        };
        self.max_run = self.max_run.max(later.max_run).max(joined);
        self.any_success |= later.any_success;
        self.calls += later.calls;
        self.server_errors += later.server_errors;
        self.client_errors += later.client_errors;
        self.slow_calls += later.slow_calls;
        self.total_micros = self.total_micros.saturating_add(later.total_micros);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    api_version: &'static str,
    /// A category's name, or [`ALL_CATEGORIES`].
    category: &'static str,
    minute: i64,
}

/// Minutes taken out of memory to be written.
struct Taken {
    bank_code: String,
    key: Key,
    tally: Tally,
}

/// Open minutes per bank.
type Open = HashMap<String, HashMap<Key, Tally>>;

/// The calls' outcomes of this process, per minute, until they are written. Cheap to call from
/// every request: one short lock and two in-place updates.
pub struct Recorder {
    instance: String,
    open: Mutex<Open>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("instance", &self.instance)
            .field("pending", &self.pending())
            .finish()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// A recorder with a random instance identifier.
    pub fn new() -> Recorder {
        Recorder::with_instance(random_instance())
    }

    /// A recorder with a given instance identifier (tests; a deployment that names its
    /// instances). Two live processes must never share one.
    pub fn with_instance(instance: impl Into<String>) -> Recorder {
        Recorder {
            instance: instance.into(),
            open: Mutex::new(HashMap::new()),
        }
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one call in its minute.
    pub fn record(&self, call: Call<'_>) {
        let minute = call.at - call.at.rem_euclid(60);
        let mut open = self.lock();
        if !open.contains_key(call.bank_code) {
            open.insert(call.bank_code.to_owned(), HashMap::new());
        }
        let Some(minutes) = open.get_mut(call.bank_code) else {
            return;
        };
        for category in [call.category.as_str(), ALL_CATEGORIES] {
            minutes
                .entry(Key {
                    api_version: call.api_version,
                    category,
                    minute,
                })
                .or_default()
                .add(&call);
        }
    }

    /// Rows not yet written (open or complete minutes, `ALL` rows included).
    pub fn pending(&self) -> usize {
        self.lock().values().map(HashMap::len).sum()
    }

    /// Takes the complete minutes (`minute + 60 <= now`) out of memory, or all of them.
    fn take(&self, now: i64, all: bool) -> Vec<Taken> {
        let mut taken = Vec::new();
        let mut open = self.lock();
        for (bank_code, minutes) in open.iter_mut() {
            minutes.retain(|key, tally| {
                if all || key.minute + 60 <= now {
                    taken.push(Taken {
                        bank_code: bank_code.clone(),
                        key: *key,
                        tally: *tally,
                    });
                    false
                } else {
                    true
                }
            });
        }
        open.retain(|_, minutes| !minutes.is_empty());
        taken
    }

    /// Puts minutes that could not be written back, before any call counted since.
    fn restore(&self, taken: Vec<Taken>) {
        let mut open = self.lock();
        for Taken {
            bank_code,
            key,
            tally,
        } in taken
        {
            let slot = open.entry(bank_code).or_default().entry(key).or_default();
            let mut merged = tally;
            merged.merge(slot);
            *slot = merged;
        }
    }

    fn row(&self, taken: &Taken) -> MinuteRow {
        let Taken {
            bank_code,
            key,
            tally,
        } = taken;
        MinuteRow {
            bank_code: bank_code.clone(),
            api_version: key.api_version.to_owned(),
            category: key.category.to_owned(),
            minute: key.minute,
            instance: self.instance.clone(),
            calls: tally.calls,
            server_errors: tally.server_errors,
            client_errors: tally.client_errors,
            slow_calls: tally.slow_calls,
            total_micros: tally.total_micros,
            leading_failures: tally.leading,
            trailing_failures: tally.trailing,
            max_failure_run: tally.max_run,
            all_failed: tally.calls > 0 && !tally.any_success,
        }
    }

    /// The complete minutes (`minute + 60 <= now`) as rows, without writing them.
    pub fn complete_rows(&self, now: i64) -> Vec<MinuteRow> {
        let taken = self.take(now, false);
        let rows = taken.iter().map(|t| self.row(t)).collect();
        self.restore(taken);
        rows
    }

    /// Writes the complete minutes (`minute + 60 <= now`), or every minute when `all` (at
    /// shutdown), in one transaction; answers how many rows were written. When the write
    /// fails, the minutes stay in memory for the next flush. Call it every few seconds (and
    /// with `all` when the process stops).
    pub async fn flush(&self, store: &Store, now: i64, all: bool) -> guichet_store::Result<usize> {
        let taken = self.take(now, all);
        if taken.is_empty() {
            return Ok(0);
        }
        let mut rows: Vec<MinuteRow> = taken.iter().map(|t| self.row(t)).collect();
        rows.sort_by(|a, b| {
            (&a.bank_code, &a.api_version, &a.category, a.minute).cmp(&(
                &b.bank_code,
                &b.api_version,
                &b.category,
                b.minute,
            ))
        });
        match store.insert_minutes(&rows).await {
            Ok(()) => Ok(rows.len()),
            Err(e) => {
                self.restore(taken);
                Err(e)
            }
        }
    }
}

/// 64 random bits, hex; the process id and the time if the system's generator fails.
fn random_instance() -> String {
    let mut bytes = [0u8; 8];
    match SystemRandom::new().fill(&mut bytes) {
        Ok(()) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            format!("p{}-{nanos:x}", std::process::id())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(category: Category, status: u16, micros: u64, at: i64) -> Call<'static> {
        Call {
            bank_code: "30258",
            api_version: API_VERSION,
            category,
            status,
            micros,
            at,
        }
    }

    fn find<'a>(rows: &'a [MinuteRow], category: &str, minute: i64) -> Option<&'a MinuteRow> {
        rows.iter()
            .find(|r| r.category == category && r.minute == minute)
    }

    #[test]
    fn paths_have_categories() {
        let v = "/stet/psd2/v1.4.2";
        for (path, expected) in [
            (format!("{v}/accounts"), Some(Category::Ais)),
            (
                format!("{v}/accounts/a1/transactions?dateFrom=x"),
                Some(Category::Ais),
            ),
            (format!("{v}/accounts/a1/balances"), Some(Category::Ais)),
            (format!("{v}/consents"), Some(Category::Ais)),
            (format!("{v}/end-user-identity"), Some(Category::Ais)),
            (format!("{v}/trusted-beneficiaries"), Some(Category::Ais)),
            (format!("{v}/funds-confirmations"), Some(Category::Cbpii)),
            (format!("{v}/payment-requests"), Some(Category::Pis)),
            (
                format!("{v}/payment-requests/p1/confirmation"),
                Some(Category::Pis),
            ),
            ("/stet/psd2/oauth/token".to_owned(), Some(Category::Oauth)),
            ("/stet/psd2/oauth/revoke".to_owned(), Some(Category::Oauth)),
            ("/stet/psd2/oauth/authorize".to_owned(), None),
            ("/register".to_owned(), None),
            ("/register/qseals/abc".to_owned(), None),
            (format!("{v}/accountsx"), None),
            (format!("{v}/unknown"), None),
            ("/stet/psd2/v1.4.2x/accounts".to_owned(), None),
            ("/".to_owned(), None),
        ] {
            assert_eq!(category_of(&path), expected, "{path}");
        }
        assert_eq!(api_version_of(&format!("{v}/accounts")), Some("1.4.2"));
        assert_eq!(api_version_of("/stet/psd2/oauth/token"), Some("1.4.2"));
        assert_eq!(api_version_of("/register"), None);
        assert_eq!(
            classify(&format!("{v}/funds-confirmations")),
            Some((Category::Cbpii, "1.4.2"))
        );
        assert!(guichet_stet::BASE_PATH.ends_with(API_VERSION));
    }

    #[test]
    fn categories_round_trip() {
        for category in Category::EVERY {
            assert_eq!(Category::parse(category.as_str()), Some(category));
        }
        assert_eq!(Category::parse(ALL_CATEGORIES), None);
    }

    #[test]
    fn a_minute_keeps_its_runs_of_failures() {
        let recorder = Recorder::with_instance("i1");
        let m = 1_795_000_020; // a multiple of 60
        // F F S F F F S F F  (in AIS), then one PIS success in the middle of the last run.
        for (second, status, micros) in [
            (0, 503, 1_000),
            (1, 500, 1_000),
            (2, 200, 1_000),
            (3, 200, 31_000_000), // slow: a failure
            (4, 502, 1_000),
            (5, 504, 1_000),
            (6, 404, 1_000),
            (7, 503, 1_000),
        ] {
            recorder.record(call(Category::Ais, status, micros, m + second));
        }
        recorder.record(call(Category::Pis, 201, 2_000, m + 8));
        recorder.record(call(Category::Ais, 500, 1_000, m + 9));
        // A call of the next minute stays open.
        recorder.record(call(Category::Ais, 200, 1_000, m + 60));
        assert_eq!(recorder.pending(), 5);
        let rows = recorder.complete_rows(m + 60);
        assert_eq!(rows.len(), 3, "{rows:?}");
        let Some(ais) = find(&rows, "AIS", m) else {
            panic!("no AIS row: {rows:?}")
        };
        assert_eq!(
            (
                ais.calls,
                ais.server_errors,
                ais.client_errors,
                ais.slow_calls
            ),
            (9, 6, 1, 1)
        );
        assert_eq!(ais.total_micros, 31_008_000);
        assert_eq!(
            (
                ais.leading_failures,
                ais.trailing_failures,
                ais.max_failure_run,
                ais.all_failed
            ),
            (2, 2, 3, false)
        );
        assert_eq!(ais.instance, "i1");
        let Some(all) = find(&rows, ALL_CATEGORIES, m) else {
            panic!("no ALL row: {rows:?}")
        };
        // The PIS success breaks the last run across categories.
        assert_eq!(all.calls, 10);
        assert_eq!(
            (
                all.leading_failures,
                all.trailing_failures,
                all.max_failure_run
            ),
            (2, 1, 3)
        );
        // Reading the rows gave them back.
        assert_eq!(recorder.pending(), 5);
    }

    #[test]
    fn merging_continues_a_minute() {
        let m = 600;
        let calls = [503, 503, 200, 503, 503, 503, 200, 503, 503];
        for split in 0..=calls.len() {
            let mut whole = Tally::default();
            let (mut first, mut second) = (Tally::default(), Tally::default());
            for (i, status) in calls.iter().enumerate() {
                let c = call(
                    Category::Ais,
                    *status,
                    10,
                    m + i64::try_from(i).unwrap_or(0),
                );
                whole.add(&c);
                if i < split {
                    first.add(&c);
                } else {
                    second.add(&c);
                }
            }
            first.merge(&second);
            assert_eq!(first, whole, "split at {split}");
        }
    }

    #[test]
    fn a_minute_of_failures_only() {
        let recorder = Recorder::with_instance("i1");
        for second in 0..4 {
            recorder.record(call(Category::Cbpii, 503, 10, 120 + second));
        }
        let rows = recorder.complete_rows(180);
        let Some(row) = find(&rows, "CBPII", 120) else {
            panic!("{rows:?}")
        };
        assert!(row.all_failed);
        assert_eq!(
            (
                row.leading_failures,
                row.trailing_failures,
                row.max_failure_run
            ),
            (4, 4, 4)
        );
        // Not complete before its end.
        assert!(recorder.complete_rows(179).is_empty());
    }

    #[test]
    fn instances_are_random() {
        assert_ne!(Recorder::new().instance(), Recorder::new().instance());
        assert_eq!(Recorder::new().instance().len(), 16);
    }
}
