//! Liveness and readiness.
//!
//! Live: the process answers HTTP. Ready: it can serve the API, which takes
//! - a database that answers a trivial query (a `SELECT` of the `meta` table) within a
//!   second, whatever the pool's own acquire timeout, so a stopped PostgreSQL shows at once;
//! - a trust list with at least one QTSP anchor (every client certificate would be refused
//!   without one);
//! - no shutdown under way: [`Readiness::begin_shutdown`] turns the instance "not ready" so a
//!   load balancer stops sending it connections while it drains.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::state::AppState;

/// How long the readiness check waits for the database.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(1);

/// The reason given while the instance drains.
pub const SHUTTING_DOWN: &str = "shutting down";

/// What readiness knows beyond the state's other parts: whether a shutdown has begun.
#[derive(Debug, Default)]
pub struct Readiness {
    shutting_down: AtomicBool,
}

impl Readiness {
    pub fn new() -> Readiness {
        Readiness {
            shutting_down: AtomicBool::new(false),
        }
    }

    /// From now on the instance answers "not ready". There is no way back: a shutdown ends
    /// with the process.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }
}

/// Ready, or the reasons why not (each a short sentence for the operator).
pub async fn check(state: &AppState) -> Result<(), Vec<String>> {
    let mut reasons = Vec::new();
    if state.readiness.is_shutting_down() {
        reasons.push(SHUTTING_DOWN.to_owned());
    }
    // `subjects` holds one entry per trust anchor.
    if state.security.trust().subjects.is_empty() {
        reasons.push("trust list: no trusted QTSP certificate is loaded".to_owned());
    }
    match tokio::time::timeout(DATABASE_TIMEOUT, state.store.meta("mode")).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => reasons.push(format!("database unreachable: {e}")),
        Err(_) => reasons.push(format!(
            "database unreachable: no answer within {} s",
            DATABASE_TIMEOUT.as_secs()
        )),
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shutdown_is_for_good() {
        let readiness = Readiness::new();
        assert!(!readiness.is_shutting_down());
        readiness.begin_shutdown();
        assert!(readiness.is_shutting_down());
        readiness.begin_shutdown();
        assert!(readiness.is_shutting_down());
        assert!(!Readiness::default().is_shutting_down());
    }
}
