//! A client of one STET bank: OAuth2 tokens ([`oauth`]), typed calls ([`api`]), and here the
//! request pipeline: signing, retries, token refresh, errors to act on.

mod api;
mod oauth;

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

/// A TPP's client of one bank.
pub struct BankClient {
    pub endpoints: BankEndpoints,
    pub identity: TppIdentity,
    http: reqwest::Client,
    tokens: Mutex<Option<Tokens>>,
    psu_ip: Option<String>,
    retry: RetryPolicy,
    on_tokens: Option<TokenListener>,
    allowance: Mutex<Option<Allowance>>,
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
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
            psu_ip: None,
            retry: RetryPolicy::default(),
            on_tokens: None,
            allowance: Mutex::new(None),
        })
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

    pub fn tokens(&self) -> Option<Tokens> {
        self.tokens.lock().ok().and_then(|t| t.clone())
    }

    /// The batch allowance the bank reported on the last counted call.
    pub fn last_allowance(&self) -> Option<Allowance> {
        self.allowance.lock().ok().and_then(|a| *a)
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

    /// One signed API call with the retry rules: 503, 408 and network failures are retried with
    /// backoff; an `invalid_token` 401 refreshes the token once; 429 is never retried.
    async fn call(
        &self,
        method: Method,
        target: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, TppError> {
        if let Some(tokens) = self.tokens()
            && tokens.expires_at - now() < 30
            && tokens.refresh_token.is_some()
        {
            self.refresh().await?;
        }
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self
                .tokens()
                .ok_or_else(|| TppError::NotLoggedIn(self.endpoints.code.clone()))?
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
                401 if !refreshed && answer.message().contains("expired") => {
                    refreshed = true;
                    self.refresh().await?;
                }
                401 => {
                    let error: serde_json::Value =
                        serde_json::from_slice(&answer.body).unwrap_or_default();
                    if error["error"] == "invalid_token" {
                        return Err(TppError::ReauthenticationNeeded(answer.message()));
                    }
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
                        .unwrap_or(86_400);
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
