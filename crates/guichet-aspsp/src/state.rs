//! What every request shares: the store, the clock, the banks. Built once at start-up.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use guichet_store::Store;
use jiff::tz::TimeZone;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::profile::BankProfile;

/// Sandbox or production. Sandbox-only conveniences (minting tokens from the command line,
/// the daily data refresh) check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Sandbox,
    Production,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sandbox => "sandbox",
            Mode::Production => "production",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(text: &str) -> Result<Mode, String> {
        match text {
            "sandbox" => Ok(Mode::Sandbox),
            "production" => Ok(Mode::Production),
            other => Err(format!("unknown mode '{other}': sandbox or production")),
        }
    }
}

/// A bank with its settings checked and its time zone loaded.
#[derive(Debug)]
pub struct Bank {
    pub profile: BankProfile,
    pub zone: TimeZone,
    /// Whether its maintenance windows close it (the profile's choice, else `by_default`).
    pub maintenance_enforced: bool,
    /// The bank's OpenID provider, when it does the PSU's SCA.
    pub oidc: Option<Arc<crate::oidc::OidcProvider>>,
}

impl Bank {
    pub fn new(profile: BankProfile, enforce_by_default: bool) -> Result<Bank, String> {
        let zone = profile.validate()?;
        let maintenance_enforced = profile.enforce_maintenance.unwrap_or(enforce_by_default);
        let oidc = profile
            .oidc
            .as_ref()
            .map(|settings| crate::oidc::OidcProvider::new(settings).map(Arc::new))
            .transpose()
            .map_err(|e| format!("bank {}: {e}", profile.code))?;
        Ok(Bank {
            profile,
            zone,
            maintenance_enforced,
            oidc,
        })
    }

    /// Portal: maintenance is planned on Monday 00:00–06:00. Seconds until the current
    /// window ends, when the bank is closed for it now.
    pub fn in_maintenance(&self, now: jiff::Timestamp) -> Option<i64> {
        if !self.maintenance_enforced {
            return None;
        }
        self.profile
            .maintenance
            .iter()
            .find_map(|window| window.remaining(now, &self.zone))
    }

    pub fn code(&self) -> &str {
        &self.profile.code
    }

    /// Today's calendar day at this bank.
    pub fn today(&self, now: jiff::Timestamp) -> jiff::civil::Date {
        self.zone.to_datetime(now).date()
    }
}

pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub banks: Vec<Arc<Bank>>,
    pub mode: Mode,
    /// In production, banks are told apart by `Host: www.<bankcode>.<domain>`.
    pub host_domain: Option<String>,
    pub security: crate::security::Security,
    /// Strong customer authentication of the PSU.
    pub sca: std::sync::Arc<dyn crate::sca::ScaProvider>,
    /// Where each bank's PSU pages are served (`https://host:port`), once bound.
    pub psu_origins: std::sync::OnceLock<std::collections::HashMap<String, String>>,
    /// Connection and request limits.
    pub edge: crate::conn::EdgeLimits,
    /// Failed SCA factors per client address.
    pub throttle: crate::throttle::Throttle,
    /// The deployment's key for hashing what must be stored but not readable (an unknown
    /// identifier typed on the login page), the same in every instance.
    pub identifier_key: aws_lc_rs::hmac::Key,
    /// What the operations listener exposes.
    pub metrics: crate::ops::Metrics,
    pub readiness: crate::ops::Readiness,
    /// The API calls' outcomes, per minute, for the regulatory statistics.
    pub recorder: crate::regulatory::Recorder,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn bank(&self, code: &str) -> Option<&Arc<Bank>> {
        self.banks.iter().find(|bank| bank.code() == code)
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// HMAC-SHA-256 of `text` under the deployment's key, lower-case hex.
    pub fn keyed_hash(&self, text: &str) -> String {
        guichet_eidas::hex(aws_lc_rs::hmac::sign(&self.identifier_key, text.as_bytes()).as_ref())
    }

    /// The origin of a bank's PSU pages: `www.<bankcode>.<domain>` in production, the bound
    /// listener otherwise.
    pub fn psu_origin(&self, code: &str) -> Option<String> {
        self.psu_origins
            .get()
            .and_then(|origins| origins.get(code).cloned())
    }

    /// The bank a request is for: the `Host` header when it names one of ours, else the bank
    /// of the listener the request came in on.
    pub fn resolve_bank(
        &self,
        host: Option<&str>,
        listener_bank: Option<&str>,
    ) -> Option<Arc<Bank>> {
        let by_host = host
            .zip(self.host_domain.as_deref())
            .and_then(|(host, domain)| {
                let name = host.rsplit_once(':').map_or(host, |(name, _port)| name);
                let code = name
                    .strip_prefix("www.")?
                    .strip_suffix(domain)?
                    .strip_suffix('.')?;
                self.bank(code)
            });
        by_host
            .or_else(|| listener_bank.and_then(|code| self.bank(code)))
            .cloned()
    }
}

/// The bank of the current request, put in place by the edge layer.
#[derive(Debug, Clone)]
pub struct CurrentBank(pub Arc<Bank>);

impl<S: Send + Sync> FromRequestParts<S> for CurrentBank {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentBank>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("no bank resolved for the request".into()))
    }
}

/// The bank a listener serves, attached to each connection's requests by the accept loop.
#[derive(Debug, Clone)]
pub struct ListenerBank(pub Option<String>);

#[cfg(test)]
mod tests {
    use super::*;

    /// Portal: maintenance on Monday 00:00–06:00; production closes for it unless the profile
    /// says otherwise, the sandbox only when asked.
    #[test]
    fn maintenance_is_enforced_in_production_unless_the_profile_says_otherwise() {
        let monday = "2026-11-30T02:00:00Z".parse::<jiff::Timestamp>();
        let Ok(monday) = monday else { panic!("date") };
        let production = Bank::new(BankProfile::btp_banque(), true);
        let sandbox = Bank::new(BankProfile::btp_banque(), false);
        let mut off = BankProfile::btp_banque();
        off.enforce_maintenance = Some(false);
        let opted_out = Bank::new(off, true);
        let (Ok(production), Ok(sandbox), Ok(opted_out)) = (production, sandbox, opted_out) else {
            panic!("profiles")
        };
        assert_eq!(production.in_maintenance(monday), Some(3 * 3600));
        assert_eq!(sandbox.in_maintenance(monday), None);
        assert_eq!(opted_out.in_maintenance(monday), None);
    }
}
