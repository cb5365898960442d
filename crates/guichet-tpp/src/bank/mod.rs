//! A client of one STET bank: OAuth2 tokens ([`oauth`]), typed calls ([`api`]), and here the
//! request pipeline: signing, retries, token refresh, errors to act on.

mod api;
mod oauth;

pub(crate) use api::listing;
pub use api::{compact_iban, find_account, iban_of, looks_like_iban};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::error::TppError;
use crate::identity::TppIdentity;
use crate::transport::{new_request_id, sign_request};

/// Where a bank is: as `sandbox.json` or the bank's documentation gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankEndpoints {
    pub code: String,
    pub name: String,
    /// e.g. `https://127.0.0.1:8431/stet/psd2/v1.4.2`.
    pub api_base: String,
    pub token_url: String,
    pub revoke_url: String,
    pub authorize_url: String,
}

impl BankEndpoints {
    /// The scheme, host and port of the API.
    pub fn origin(&self) -> String {
        url::Url::parse(&self.api_base)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }
}

/// The tokens a PSU's authorization gave, kept by the TPP between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// When the refresh token ends: the PSU's SCA is then 180 days old.
    pub refresh_expires_at: Option<i64>,
    pub scope: String,
}

/// What the bank said of the batch allowance on the last counted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    pub limit: i64,
    pub remaining: i64,
    pub reset_in: i64,
}

/// An authorization request in progress: send the PSU to `url`, keep `state` and `verifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub url: String,
    pub state: String,
    pub verifier: String,
    pub redirect_uri: String,
}

/// How transient failures (503, 408, network) are retried. 429 is never retried blindly.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            first_delay: Duration::from_millis(250),
        }
    }
}

type TokenListener = Arc<dyn Fn(&Tokens) + Send + Sync>;
type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// Which token a call carries: the PSU's (authorization code, refreshed), or the TPP's own
/// client-credentials token for a scope (`cbpii`), kept apart from the PSU's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Psu,
    Client(&'static str),
}

/// A TPP's client of one bank.
pub struct BankClient {
    pub endpoints: BankEndpoints,
    pub identity: TppIdentity,
    http: reqwest::Client,
    /// The PSU's tokens: the only ones given to the `on_new_tokens` listener.
    tokens: Mutex<Option<Tokens>>,
    /// The TPP's client-credentials token (funds confirmation): in memory only, never in
    /// the PSU's slot.
    client_tokens: Mutex<Option<Tokens>>,
    psu_ip: Option<String>,
    retry: RetryPolicy,
    on_tokens: Option<TokenListener>,
    allowance: Mutex<Option<Allowance>>,
    clock: Clock,
    zone: jiff::tz::TimeZone,
    batch_calls_per_day: i64,
}

fn default_zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(crate::clock::DEFAULT_TIME_ZONE).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// Whether a 401 says the access token is not (or no longer) good: `invalid_token` in the
/// ErrorModel or in `WWW-Authenticate` (RFC 6750 §3.1), or a bank that only says "expired".
fn invalid_token(answer: &Answer) -> bool {
    let error: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let challenge = answer
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    error["error"] == "invalid_token"
        || challenge.contains("invalid_token")
        || answer.message().contains("expired")
}

fn random(bytes: usize) -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut buffer = vec![0u8; bytes];
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn message(&self) -> String {
        let value: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_default();
        value["message"]
            .as_str()
            .or_else(|| value["error_description"].as_str())
            .unwrap_or("")
            .to_owned()
    }

    fn json<T: for<'de> Deserialize<'de>>(&self) -> Result<T, TppError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| TppError::Local(format!("unexpected answer from the bank: {e}")))
    }
}

impl BankClient {
    pub fn new(
        endpoints: BankEndpoints,
        identity: TppIdentity,
        ca_file: &std::path::Path,
    ) -> Result<BankClient, TppError> {
        let http = identity
            .http_client(ca_file)
            .map_err(|e| TppError::Local(e.to_string()))?;
        Ok(BankClient {
            endpoints,
            identity,
            http,
            tokens: Mutex::new(None),
            client_tokens: Mutex::new(None),
            psu_ip: None,
            retry: RetryPolicy::default(),
            on_tokens: None,
            allowance: Mutex::new(None),
            clock: Arc::new(jiff::Timestamp::now),
            zone: default_zone(),
            batch_calls_per_day: crate::sync::BATCH_CALLS_PER_DAY,
        })
    }

    /// The clock the client reads (token lifetimes, the bank's day); the system clock by
    /// default.
    pub fn with_clock(
        mut self,
        clock: impl Fn() -> jiff::Timestamp + Send + Sync + 'static,
    ) -> BankClient {
        self.clock = Arc::new(clock);
        self
    }

    /// The bank's time zone: its day, and the midnight when its batch allowance starts again
    /// (default [`crate::clock::DEFAULT_TIME_ZONE`]).
    pub fn with_time_zone(mut self, zone: jiff::tz::TimeZone) -> BankClient {
        self.zone = zone;
        self
    }

    /// The bank's allowance of batch calls per account, method and day (default 4).
    pub fn with_batch_calls_per_day(mut self, calls: i64) -> BankClient {
        self.batch_calls_per_day = calls;
        self
    }

    /// Now, by the client's clock.
    pub fn now(&self) -> jiff::Timestamp {
        (self.clock)()
    }

    fn now_second(&self) -> i64 {
        self.now().as_second()
    }

    pub fn time_zone(&self) -> &jiff::tz::TimeZone {
        &self.zone
    }

    /// Today at the bank (in its time zone).
    pub fn today(&self) -> jiff::civil::Date {
        crate::clock::day_in(self.now(), &self.zone)
    }

    pub fn batch_calls_per_day(&self) -> i64 {
        self.batch_calls_per_day
    }

    /// Tokens kept from an earlier run.
    pub fn with_tokens(self, tokens: Option<Tokens>) -> BankClient {
        if let Ok(mut slot) = self.tokens.lock() {
            *slot = tokens;
        }
        self
    }

    /// Called with every new pair of tokens, to keep them.
    pub fn on_new_tokens(
        mut self,
        listener: impl Fn(&Tokens) + Send + Sync + 'static,
    ) -> BankClient {
        self.on_tokens = Some(Arc::new(listener));
        self
    }

    /// The PSU's IP address when the PSU is using the TPP right now; `None` is batch mode, where
    /// the bank allows 4 calls a day per account and method.
    pub fn psu_present(mut self, ip: Option<String>) -> BankClient {
        self.psu_ip = ip;
        self
    }

    pub fn retry_policy(mut self, retry: RetryPolicy) -> BankClient {
        self.retry = retry;
        self
    }

    /// The PSU's tokens.
    pub fn tokens(&self) -> Option<Tokens> {
        self.tokens.lock().ok().and_then(|t| t.clone())
    }

    /// The TPP's client-credentials token, when one was obtained.
    pub fn client_token(&self) -> Option<Tokens> {
        self.client_tokens.lock().ok().and_then(|t| t.clone())
    }

    /// Whether the PSU's refresh token may still renew the access token.
    fn can_refresh(&self) -> bool {
        self.tokens().is_some_and(|t| {
            t.refresh_token.is_some()
                && t.refresh_expires_at
                    .is_none_or(|until| until > self.now_second())
        })
    }

    /// "Reconnect needed", with the command that does it.
    pub(crate) fn reconnect(&self, reason: &str) -> TppError {
        let code = &self.endpoints.code;
        let reason = if reason.is_empty() {
            "the bank refused the PSU's token"
        } else {
            reason
        };
        TppError::ReauthenticationNeeded(format!("{reason}; run `guichet tpp login --bank {code}`"))
    }

    /// The batch allowance the bank reported on the last counted call.
    pub fn last_allowance(&self) -> Option<Allowance> {
        self.allowance.lock().ok().and_then(|a| *a)
    }

    fn keep_client_token(&self, tokens: Tokens) {
        if let Ok(mut slot) = self.client_tokens.lock() {
            *slot = Some(tokens);
        }
    }

    fn keep(&self, tokens: Tokens) {
        if let Some(listener) = &self.on_tokens {
            listener(&tokens);
        }
        if let Ok(mut slot) = self.tokens.lock() {
            *slot = Some(tokens);
        }
    }

    fn url_of(&self, target: &str) -> String {
        if target.starts_with("https://") || target.starts_with("http://") {
            target.to_owned()
        } else if target.starts_with('/') {
            format!("{}{target}", self.endpoints.origin())
        } else {
            format!("{}/{target}", self.endpoints.api_base.trim_end_matches('/'))
        }
    }

    /// One signed API call with the PSU's token and the retry rules.
    async fn call(
        &self,
        method: Method,
        target: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, TppError> {
        self.call_as(Grant::Psu, method, target, body).await
    }

    /// One signed API call with the retry rules: 503, 408 and network failures are retried with
    /// backoff; a 401 `invalid_token` renews the token once (the PSU's with its refresh token,
    /// a client-credentials one by asking again) and retries; 429 is never retried.
    async fn call_as(
        &self,
        grant: Grant,
        method: Method,
        target: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, TppError> {
        match grant {
            Grant::Psu => {
                if let Some(tokens) = self.tokens()
                    && tokens.expires_at - self.now_second() < 30
                    && tokens.refresh_token.is_some()
                {
                    self.refresh().await?;
                }
            }
            Grant::Client(scope) => {
                if self
                    .client_token()
                    .is_none_or(|t| t.expires_at - self.now_second() < 30)
                {
                    self.client_credentials(scope).await?;
                }
            }
        }
        let mut renewed = false;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let token = match grant {
                Grant::Psu => self
                    .tokens()
                    .ok_or_else(|| TppError::NotLoggedIn(self.endpoints.code.clone()))?,
                Grant::Client(scope) => self.client_token().ok_or_else(|| {
                    TppError::Local(format!("no client-credentials token for {scope}"))
                })?,
            }
            .access_token;
            let mut builder = self
                .http
                .request(method.clone(), self.url_of(target))
                .header("x-request-id", new_request_id())
                .header("accept", "application/hal+json")
                .bearer_auth(&token);
            if let Some(ip) = &self.psu_ip {
                builder = builder.header("psu-ip-address", ip);
            }
            if let Some(body) = &body {
                builder = builder
                    .header("content-type", "application/json")
                    .body(body.clone());
            }
            let mut request = builder
                .build()
                .map_err(|e| TppError::Local(e.to_string()))?;
            sign_request(&mut request, &self.identity.signer)?;
            let delay = self.retry.first_delay * 2u32.saturating_pow(attempt - 1);
            let response = match self.http.execute(request).await {
                Ok(response) => response,
                Err(e) if attempt < self.retry.attempts => {
                    tracing::debug!(error = %e, "network failure, retrying");
                    tokio::time::sleep(delay).await;
                    continue;
                }
                Err(e) => {
                    return Err(TppError::BankUnavailable {
                        status: 0,
                        message: e.to_string(),
                    });
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body_bytes = response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            let answer = Answer {
                status,
                headers,
                body: body_bytes,
            };
            self.note_allowance(&answer.headers);
            match status {
                503 | 408 if attempt < self.retry.attempts => {
                    tokio::time::sleep(delay).await;
                }
                503 | 408 => {
                    return Err(TppError::BankUnavailable {
                        status,
                        message: answer.message(),
                    });
                }
                401 if !renewed && invalid_token(&answer) => {
                    renewed = true;
                    match grant {
                        Grant::Psu if self.can_refresh() => {
                            self.refresh().await?;
                        }
                        Grant::Psu => return Err(self.reconnect(&answer.message())),
                        Grant::Client(scope) => {
                            self.client_credentials(scope).await?;
                        }
                    }
                    // The retry with the new token is not one of the transient-failure
                    // attempts.
                    attempt = attempt.saturating_sub(1);
                }
                401 if grant == Grant::Psu && invalid_token(&answer) => {
                    return Err(self.reconnect(&answer.message()));
                }
                401 => {
                    return Err(TppError::Refused {
                        status,
                        message: answer.message(),
                    });
                }
                429 => {
                    let retry_after = answer
                        .headers
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| {
                            crate::clock::seconds_to_midnight(self.now(), &self.zone)
                        });
                    return Err(TppError::RateLimited { retry_after });
                }
                _ => return Ok(answer),
            }
        }
    }

    fn note_allowance(&self, headers: &reqwest::header::HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i64>().ok())
        };
        if let (Some(limit), Some(remaining), Some(reset_in)) = (
            number("x-ratelimit-limit"),
            number("x-ratelimit-remaining"),
            number("x-ratelimit-reset"),
        ) && let Ok(mut slot) = self.allowance.lock()
        {
            *slot = Some(Allowance {
                limit,
                remaining,
                reset_in,
            });
        }
    }
}
