//! `guichet conformance`: the BTP Banque portal's acceptance tests and the STET 1.4.2 rules,
//! run against a live bank, each case saying what it expected, what it got and the
//! `X-Request-ID` of the request that showed it.
//!
//! A run needs a [`Config`] (the bank's endpoints, the TPP's certificates, personas to log in
//! with); [`Config::from_sandbox`] builds one for a Guichet sandbox. [`run`] runs the
//! [`cases`] in order and answers a [`Report`], which writes JUnit XML
//! ([`Report::junit_xml`]), a self-contained HTML page ([`Report::html`]) and a terminal
//! summary ([`Report::terminal_summary`]).
//!
//! Cases are named after what they check: `portal/…` after the portal's use cases and
//! acceptance tests, `stet/1.4.2/…` after STET's framework rules (Part I §3.4 OAuth2, §3.5
//! signatures, …). They use only what any TPP has: the bank's public endpoints, the TPP's
//! certificates, the personas' logins. Some change the bank's state: the consents of the
//! personas, and the batch allowance of the `batch-allowance` account (spent for the day).

/// Wraps a case body (an `async fn(&mut Ctx) -> Step<Outcome>`) as a [`CaseFn`].
macro_rules! case {
    ($id:literal, $title:literal, $body:path) => {
        $crate::conformance::Case {
            id: $id,
            title: $title,
            run: |ctx| Box::pin(async move { $crate::conformance::ctx::settle($body(ctx).await) }),
        }
    };
}

mod config;
mod ctx;
mod framework;
mod oauth;
mod portal;
mod report;
mod wire;

use std::pin::Pin;
use std::time::{Duration, Instant};

pub use config::{BankConfig, Config, Login, Persona, Role, TppFiles};
pub use ctx::Ctx;
pub use report::Report;

/// Why a configuration cannot be read or built.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("sandbox.json: {0}")]
    Sandbox(String),
    #[error("configuration: {0}")]
    Config(String),
}

/// What a case found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub passed: bool,
    /// Not run: the configuration gives no persona for it (`got` says which role is missing).
    pub skipped: bool,
    /// What the rule requires.
    pub expected: String,
    /// What the bank did.
    pub got: String,
    /// The X-Request-ID of the request that decided the outcome.
    pub request_id: Option<String>,
}

/// The future of a running case.
pub type CaseFuture<'a> = Pin<Box<dyn std::future::Future<Output = Outcome> + 'a>>;

/// A case's body.
pub type CaseFn = for<'a> fn(&'a mut Ctx) -> CaseFuture<'a>;

/// One check of the bank.
#[derive(Clone, Copy)]
pub struct Case {
    /// e.g. `portal/accounts-before-consent`, `stet/1.4.2/part1-3.5-signature-missing`.
    pub id: &'static str,
    pub title: &'static str,
    pub run: CaseFn,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

/// A case and its outcome.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub id: &'static str,
    pub title: &'static str,
    pub outcome: Outcome,
    pub duration: Duration,
}

/// Every case, in the order a run takes them.
pub fn cases() -> Vec<Case> {
    let mut all = portal::cases();
    all.extend(framework::cases());
    all.extend(oauth::cases());
    all
}

/// Whether `id` is selected by `filter` (prefixes; empty selects everything).
pub fn selected(id: &str, filter: &[String]) -> bool {
    filter.is_empty() || filter.iter().any(|prefix| id.starts_with(prefix.as_str()))
}

/// Runs the selected cases in order against the configured banks, calling `progress` after
/// each. A configuration whose certificates cannot be read fails every case with the reason.
pub async fn run(
    config: Config,
    filter: &[String],
    mut progress: impl FnMut(&CaseResult),
) -> Report {
    let started_at = jiff::Timestamp::now();
    let started = Instant::now();
    let banks: Vec<(String, String)> = config
        .banks
        .iter()
        .map(|b| (b.code.clone(), b.api_base_url.clone()))
        .collect();
    let selection: Vec<Case> = cases()
        .into_iter()
        .filter(|c| selected(c.id, filter))
        .collect();
    let mut results = Vec::with_capacity(selection.len());
    let mut ctx = match config
        .check()
        .map_err(|e| e.to_string())
        .and_then(|()| Ctx::new(config))
    {
        Ok(ctx) => Some(ctx),
        Err(why) => {
            for case in &selection {
                let result = CaseResult {
                    id: case.id,
                    title: case.title,
                    outcome: Outcome {
                        passed: false,
                        skipped: false,
                        expected:
                            "a usable configuration (the TPP's certificates and keys, the CA file)"
                                .into(),
                        got: why.clone(),
                        request_id: None,
                    },
                    duration: Duration::ZERO,
                };
                progress(&result);
                results.push(result);
            }
            None
        }
    };
    if let Some(ctx) = ctx.as_mut() {
        for case in &selection {
            let began = Instant::now();
            let outcome = (case.run)(ctx).await;
            let result = CaseResult {
                id: case.id,
                title: case.title,
                outcome,
                duration: began.elapsed(),
            };
            progress(&result);
            results.push(result);
        }
    }
    Report {
        results,
        started_at,
        duration: started.elapsed(),
        banks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_are_unique_and_named_after_their_source() {
        let all = cases();
        assert!(all.len() >= 25, "{} cases", all.len());
        let mut ids: Vec<&str> = all.iter().map(|c| c.id).collect();
        for id in &ids {
            assert!(
                id.starts_with("portal/") || id.starts_with("stet/1.4.2/"),
                "{id}"
            );
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "duplicate case ids");
    }

    #[test]
    fn filters_select_by_prefix() {
        assert!(selected("portal/balances", &[]));
        assert!(selected("portal/balances", &["portal/".into()]));
        assert!(!selected("stet/1.4.2/error-model", &["portal/".into()]));
        assert!(selected(
            "stet/1.4.2/error-model",
            &["portal/".into(), "stet/".into()]
        ));
    }
}
