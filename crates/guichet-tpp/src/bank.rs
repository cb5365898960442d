//! A client of one STET bank: OAuth2 tokens, typed calls, retries, errors to act on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use guichet_stet::model::{
    Access, AccountResource, BalanceResource, Beneficiary, HalAccounts, HalBalances,
    HalBeneficiaries, HalEndUserIdentity, HalPaymentCoverageReport, HalTransactions,
    PaymentCoverageRequestResource, Transaction,
};
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

    /// Starts the authorization code flow with `state` and PKCE (S256).
    pub fn authorization_request(
        &self,
        redirect_uri: &str,
        scope: &str,
    ) -> Result<AuthorizationRequest, TppError> {
        let state = random(16);
        let verifier = random(40);
        let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            verifier.as_bytes(),
        ));
        let mut url = url::Url::parse(&self.endpoints.authorize_url).map_err(|e| {
            TppError::Local(format!(
                "authorize URL {}: {e}",
                self.endpoints.authorize_url
            ))
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.identity.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(AuthorizationRequest {
            url: url.to_string(),
            state,
            verifier,
            redirect_uri: redirect_uri.to_owned(),
        })
    }

    async fn token_call(&self, url: &str, fields: &[(&str, &str)]) -> Result<Answer, TppError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let response = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-request-id", new_request_id())
            .body(body)
            .send()
            .await
            .map_err(|e| TppError::BankUnavailable {
                status: 0,
                message: e.to_string(),
            })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    fn tokens_from(&self, answer: &Answer) -> Result<Tokens, TppError> {
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
            refresh_token: Option<String>,
            expires_in: i64,
            refresh_token_expires_in: Option<i64>,
            #[serde(default)]
            scope: String,
        }
        let parsed: TokenAnswer = answer.json()?;
        let at = now();
        Ok(Tokens {
            access_token: parsed.access_token,
            refresh_token: parsed.refresh_token,
            expires_at: at + parsed.expires_in,
            refresh_expires_at: parsed.refresh_token_expires_in.map(|s| at + s),
            scope: parsed.scope,
        })
    }

    /// Exchanges the code the bank's redirect carried (checking its `state`).
    pub async fn exchange_code(
        &self,
        request: &AuthorizationRequest,
        code: &str,
        state: &str,
    ) -> Result<Tokens, TppError> {
        if state != request.state {
            return Err(TppError::Local(
                "the redirect's state is not the one sent: refusing the code".into(),
            ));
        }
        let answer = self
            .token_call(
                &self.endpoints.token_url,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &request.redirect_uri),
                    ("client_id", &self.identity.client_id),
                    ("code_verifier", &request.verifier),
                ],
            )
            .await?;
        if answer.status != 200 {
            return Err(TppError::BadRequest {
                status: answer.status,
                message: answer.message(),
            });
        }
        let tokens = self.tokens_from(&answer)?;
        self.keep(tokens.clone());
        Ok(tokens)
    }

    /// A client-credentials token (for `cbpii`).
    pub async fn client_credentials(&self, scope: &str) -> Result<Tokens, TppError> {
        let answer = self
            .token_call(
                &self.endpoints.token_url,
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", scope),
                    ("client_id", &self.identity.client_id),
                ],
            )
            .await?;
        if answer.status != 200 {
            return Err(TppError::Refused {
                status: answer.status,
                message: answer.message(),
            });
        }
        let tokens = self.tokens_from(&answer)?;
        self.keep(tokens.clone());
        Ok(tokens)
    }

    /// Renews the access token with the refresh token.
    pub async fn refresh(&self) -> Result<Tokens, TppError> {
        let current = self
            .tokens()
            .ok_or_else(|| TppError::NotLoggedIn(self.endpoints.code.clone()))?;
        let refresh = current
            .refresh_token
            .ok_or_else(|| TppError::ReauthenticationNeeded("no refresh token".into()))?;
        let answer = self
            .token_call(
                &self.endpoints.token_url,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh),
                    ("client_id", &self.identity.client_id),
                ],
            )
            .await?;
        match answer.status {
            200 => {
                let tokens = self.tokens_from(&answer)?;
                self.keep(tokens.clone());
                Ok(tokens)
            }
            400 | 401 => Err(TppError::ReauthenticationNeeded(answer.message())),
            503 | 408 => Err(TppError::BankUnavailable {
                status: answer.status,
                message: answer.message(),
            }),
            status => Err(TppError::Refused {
                status,
                message: answer.message(),
            }),
        }
    }

    /// Revokes the tokens (the bank revokes both).
    pub async fn revoke(&self) -> Result<(), TppError> {
        if let Some(tokens) = self.tokens() {
            let answer = self
                .token_call(
                    &self.endpoints.revoke_url,
                    &[
                        ("token", &tokens.access_token),
                        ("client_id", &self.identity.client_id),
                    ],
                )
                .await?;
            if answer.status != 200 {
                return Err(TppError::Refused {
                    status: answer.status,
                    message: answer.message(),
                });
            }
        }
        if let Ok(mut slot) = self.tokens.lock() {
            *slot = None;
        }
        Ok(())
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

    fn expect(answer: Answer, account: Option<(&str, &str)>) -> Result<Answer, TppError> {
        match answer.status {
            200..=299 => Ok(answer),
            403 => match account {
                Some((account, operation)) if answer.message().contains("consent") => {
                    Err(TppError::ConsentMissing {
                        account: account.to_owned(),
                        operation: operation.to_owned(),
                        message: answer.message(),
                    })
                }
                _ => Err(TppError::Refused {
                    status: 403,
                    message: answer.message(),
                }),
            },
            status => Err(TppError::BadRequest {
                status,
                message: answer.message(),
            }),
        }
    }

    /// GET /accounts: the PSU's eligible accounts (HAL links per consented operation).
    pub async fn accounts(&self) -> Result<Vec<AccountResource>, TppError> {
        let answer = Self::expect(self.call(Method::GET, "accounts", None).await?, None)?;
        if answer.status == 204 {
            return Ok(vec![]);
        }
        Ok(answer.json::<HalAccounts>()?.accounts)
    }

    /// GET /accounts with its top-level links (end-user identity, beneficiaries).
    pub async fn accounts_page(&self) -> Result<Option<HalAccounts>, TppError> {
        let answer = Self::expect(self.call(Method::GET, "accounts", None).await?, None)?;
        if answer.status == 204 {
            return Ok(None);
        }
        Ok(Some(answer.json()?))
    }

    /// PUT /consents: replaces the PSU's whole consent for this TPP.
    pub async fn put_consents(&self, access: &Access) -> Result<(), TppError> {
        let body = serde_json::to_vec(access).map_err(|e| TppError::Local(e.to_string()))?;
        Self::expect(self.call(Method::PUT, "consents", Some(body)).await?, None)?;
        Ok(())
    }

    pub async fn balances(&self, resource_id: &str) -> Result<Vec<BalanceResource>, TppError> {
        let path = format!("accounts/{resource_id}/balances");
        let answer = Self::expect(
            self.call(Method::GET, &path, None).await?,
            Some((resource_id, "balances")),
        )?;
        if answer.status == 204 {
            return Ok(vec![]);
        }
        Ok(answer.json::<HalBalances>()?.balances)
    }

    /// GET /transactions between two days (dateFrom inclusive, dateTo exclusive), following the
    /// `next` links of a paginating bank. Each page is one call against the batch allowance.
    pub async fn transactions(
        &self,
        resource_id: &str,
        from: Option<jiff::civil::Date>,
        to: Option<jiff::civil::Date>,
    ) -> Result<Vec<Transaction>, TppError> {
        let mut query = Vec::new();
        if let Some(from) = from {
            query.push(format!("dateFrom={from}T00:00:00.000"));
        }
        if let Some(to) = to {
            query.push(format!("dateTo={to}T00:00:00.000"));
        }
        let mut target = format!("accounts/{resource_id}/transactions");
        if !query.is_empty() {
            target = format!("{target}?{}", query.join("&"));
        }
        let mut all = Vec::new();
        let mut pages = 0;
        loop {
            let answer = Self::expect(
                self.call(Method::GET, &target, None).await?,
                Some((resource_id, "transactions")),
            )?;
            if answer.status == 204 {
                break;
            }
            let page: HalTransactions = answer.json()?;
            all.extend(page.transactions);
            pages += 1;
            match page.links.next {
                Some(next) if pages < 100 => target = next.href,
                _ => break,
            }
        }
        Ok(all)
    }

    pub async fn end_user_identity(&self) -> Result<HalEndUserIdentity, TppError> {
        Self::expect(
            self.call(Method::GET, "end-user-identity", None).await?,
            None,
        )?
        .json()
    }

    pub async fn trusted_beneficiaries(&self) -> Result<Vec<Beneficiary>, TppError> {
        let answer = Self::expect(
            self.call(Method::GET, "trusted-beneficiaries", None)
                .await?,
            None,
        )?;
        if answer.status == 204 {
            return Ok(vec![]);
        }
        Ok(answer.json::<HalBeneficiaries>()?.beneficiaries)
    }

    pub async fn funds_confirmation(
        &self,
        request: &PaymentCoverageRequestResource,
    ) -> Result<HalPaymentCoverageReport, TppError> {
        let body = serde_json::to_vec(request).map_err(|e| TppError::Local(e.to_string()))?;
        Self::expect(
            self.call(Method::POST, "funds-confirmations", Some(body))
                .await?,
            None,
        )?
        .json()
    }
}
