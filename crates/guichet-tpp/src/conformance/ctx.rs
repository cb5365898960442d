//! What the cases share: the TPP's identity and HTTP client, the personas' sessions, raw
//! signed requests that a case may alter (omit the signature, change a header after signing),
//! and the answers as they came.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use guichet_httpsig::{Signer, SigningKey};
use jiff::civil::Date;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use super::Outcome;
use super::config::{BankConfig, Config, Login, Persona, Role};
use crate::{AuthorizationRequest, BankClient, BankEndpoints, Callback, TppIdentity};
use crate::{new_request_id, sign_request};

/// The PSU-IP-Address sent when the PSU is "present" (TEST-NET-1, RFC 5737).
pub(crate) const PSU_IP: &str = "192.0.2.1";

/// Why a case stopped before its end.
pub(crate) enum Stop {
    /// The configuration gives no persona for this case.
    Skip(String),
    Fail {
        expected: String,
        got: String,
        request_id: Option<String>,
    },
}

pub(crate) type Step<T> = Result<T, Stop>;

impl Stop {
    pub(crate) fn fail(expected: impl Into<String>, got: impl Into<String>) -> Stop {
        Stop::Fail {
            expected: expected.into(),
            got: got.into(),
            request_id: None,
        }
    }
}

/// The outcome of a case's steps.
pub(crate) fn settle(step: Step<Outcome>) -> Outcome {
    match step {
        Ok(outcome) => outcome,
        Err(Stop::Skip(why)) => Outcome {
            passed: true,
            skipped: true,
            expected: String::new(),
            got: why,
            request_id: None,
        },
        Err(Stop::Fail {
            expected,
            got,
            request_id,
        }) => Outcome {
            passed: false,
            skipped: false,
            expected,
            got,
            request_id,
        },
    }
}

/// A failure shown by `reply`.
pub(crate) fn failure(expected: &str, got: impl Into<String>, reply: &Reply) -> Stop {
    Stop::Fail {
        expected: expected.to_owned(),
        got: got.into(),
        request_id: reply.request_id.clone(),
    }
}

/// Fails with `expected` and what `got` says unless `ok`.
pub(crate) fn ensure(
    ok: bool,
    expected: &str,
    got: impl FnOnce() -> String,
    reply: &Reply,
) -> Step<()> {
    if ok {
        Ok(())
    } else {
        Err(Stop::Fail {
            expected: expected.to_owned(),
            got: got(),
            request_id: reply.request_id.clone(),
        })
    }
}

/// Fails unless the answer's status is one of `wanted`.
pub(crate) fn status_in(reply: &Reply, wanted: &[u16], expected: &str) -> Step<()> {
    ensure(
        wanted.contains(&reply.status),
        expected,
        || reply.describe(),
        reply,
    )
}

/// A passed case.
pub(crate) fn pass(expected: &str, got: impl Into<String>, reply: Option<&Reply>) -> Outcome {
    Outcome {
        passed: true,
        skipped: false,
        expected: expected.to_owned(),
        got: got.into(),
        request_id: reply.and_then(|r| r.request_id.clone()),
    }
}

/// An answer as it came.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The X-Request-ID sent (none when the case omitted it).
    pub request_id: Option<String>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub(crate) fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// `GET /stet/psd2/v1.4.2/accounts → 403 insufficient_scope: …`.
    pub(crate) fn describe(&self) -> String {
        let value = self.json();
        let error = value["error"].as_str().unwrap_or("");
        let message = value["message"]
            .as_str()
            .or_else(|| value["error_description"].as_str())
            .unwrap_or("");
        let mut text = format!("{} {} → {}", self.method, self.path, self.status);
        if !error.is_empty() {
            text.push(' ');
            text.push_str(error);
        }
        if !message.is_empty() {
            text.push_str(": ");
            text.push_str(&cut(message, 160));
        } else if value.is_null() && !self.body.is_empty() {
            text.push_str(&format!(" ({} bytes, not JSON)", self.body.len()));
        }
        text
    }
}

pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// Which key signs a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signing {
    /// The TPP's QSealC, under its keyId.
    Tpp,
    /// None: no `Signature` header.
    None,
    /// The QSealC's key under a keyId that designates no registered certificate.
    UnknownKeyId,
}

/// A request to build, sign and send, with what a case may change.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    method: Method,
    target: String,
    token: Option<String>,
    psu_present: bool,
    accept: Option<String>,
    body: Option<Vec<u8>>,
    signing: Signing,
    request_id: bool,
    after_signing: Vec<(&'static str, String)>,
    body_after_signing: Option<Vec<u8>>,
}

impl Req {
    pub(crate) fn new(method: Method, target: impl Into<String>) -> Req {
        Req {
            method,
            target: target.into(),
            token: None,
            psu_present: true,
            accept: Some("application/hal+json".into()),
            body: None,
            signing: Signing::Tpp,
            request_id: true,
            after_signing: Vec::new(),
            body_after_signing: None,
        }
    }

    pub(crate) fn get(target: impl Into<String>) -> Req {
        Req::new(Method::GET, target)
    }

    pub(crate) fn put(target: impl Into<String>) -> Req {
        Req::new(Method::PUT, target)
    }

    pub(crate) fn post(target: impl Into<String>) -> Req {
        Req::new(Method::POST, target)
    }

    pub(crate) fn token(mut self, token: &str) -> Req {
        self.token = Some(token.to_owned());
        self
    }

    /// Batch mode: no PSU-IP-Address.
    pub(crate) fn batch(mut self) -> Req {
        self.psu_present = false;
        self
    }

    pub(crate) fn accept(mut self, accept: &str) -> Req {
        self.accept = Some(accept.to_owned());
        self
    }

    pub(crate) fn json(mut self, body: &Value) -> Req {
        self.body = Some(serde_json::to_vec(body).unwrap_or_default());
        self
    }

    pub(crate) fn signing(mut self, signing: Signing) -> Req {
        self.signing = signing;
        self
    }

    pub(crate) fn without_request_id(mut self) -> Req {
        self.request_id = false;
        self
    }

    /// Sets a header after the signature was computed (a tampered signed header).
    pub(crate) fn after_signing(mut self, name: &'static str, value: &str) -> Req {
        self.after_signing.push((name, value.to_owned()));
        self
    }

    /// Replaces the body after the Digest was computed.
    pub(crate) fn body_after_signing(mut self, body: Vec<u8>) -> Req {
        self.body_after_signing = Some(body);
        self
    }
}

/// A persona's consent, as PUT /consents sends it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Consent {
    pub balances: Vec<String>,
    pub transactions: Vec<String>,
    pub psu_identity: bool,
    pub trusted_beneficiaries: bool,
}

impl Consent {
    /// Balances and transactions of every account.
    pub(crate) fn all(ibans: &[String]) -> Consent {
        Consent {
            balances: ibans.to_vec(),
            transactions: ibans.to_vec(),
            ..Consent::default()
        }
    }

    pub(crate) fn body(&self) -> Value {
        let list = |ibans: &[String]| -> Vec<Value> {
            ibans.iter().map(|iban| json!({ "iban": iban })).collect()
        };
        json!({
            "balances": list(&self.balances),
            "transactions": list(&self.transactions),
            "trustedBeneficiaries": self.trusted_beneficiaries,
            "psuIdentity": self.psu_identity,
        })
    }
}

/// What a login gave before the code is exchanged.
pub(crate) struct Authorized {
    pub client: BankClient,
    pub request: AuthorizationRequest,
    pub code: String,
    pub state: String,
}

/// A persona's tokens, kept for the run.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub access_token: String,
    pub expires_at: i64,
}

/// The shared state of a run.
pub struct Ctx {
    pub(crate) config: Config,
    identity: TppIdentity,
    http: reqwest::Client,
    unknown_key: Signer,
    sessions: HashMap<String, Session>,
}

impl Ctx {
    /// Reads the TPP's certificates and prepares the mutual-TLS client.
    pub(crate) fn new(config: Config) -> Result<Ctx, String> {
        let files = &config.tpp;
        let identity = TppIdentity::from_files(
            &files.qwac,
            &files.qwac_key,
            &files.qseal,
            &files.qseal_key,
            &files.key_id_url,
        )
        .map_err(|e| e.to_string())?;
        let http = identity
            .http_client(&config.ca_file)
            .map_err(|e| e.to_string())?;
        let key = std::fs::read(&files.qseal_key)
            .map_err(|e| format!("{}: {e}", files.qseal_key.display()))
            .and_then(|pem| {
                SigningKey::from_pem(&pem)
                    .map_err(|e| format!("{}: {e}", files.qseal_key.display()))
            })?;
        let unknown_key = Signer {
            key_id: format!("{}_{}", files.key_id_url, "0".repeat(64)),
            key,
        };
        Ok(Ctx {
            config,
            identity,
            http,
            unknown_key,
            sessions: HashMap::new(),
        })
    }

    pub(crate) fn bank(&self, code: &str) -> Step<BankConfig> {
        self.config
            .bank(code)
            .cloned()
            .ok_or_else(|| Stop::fail(format!("bank {code} in the configuration"), "none"))
    }

    /// The first persona playing a role that `pick` accepts, with what `pick` took from it.
    pub(crate) fn persona_with<T>(
        &self,
        what: &str,
        pick: impl Fn(&Role) -> Option<T>,
    ) -> Step<(Persona, BankConfig, T)> {
        self.personas_with(what, pick)?
            .into_iter()
            .next()
            .ok_or_else(|| Stop::Skip(format!("no persona plays '{what}' in the configuration")))
    }

    /// Every (persona, role) pair `pick` accepts, in configuration order.
    pub(crate) fn personas_with<T>(
        &self,
        what: &str,
        pick: impl Fn(&Role) -> Option<T>,
    ) -> Step<Vec<(Persona, BankConfig, T)>> {
        let mut found = Vec::new();
        for persona in &self.config.personas {
            for role in &persona.cases {
                if let Some(taken) = pick(role) {
                    found.push((persona.clone(), self.bank(&persona.bank)?, taken));
                }
            }
        }
        if found.is_empty() {
            return Err(Stop::Skip(format!(
                "no persona plays '{what}' in the configuration"
            )));
        }
        Ok(found)
    }

    fn endpoints(&self, bank: &BankConfig) -> BankEndpoints {
        BankEndpoints {
            code: bank.code.clone(),
            name: bank.name.clone(),
            api_base: bank.api_base_url.clone(),
            token_url: bank.token_url.clone(),
            revoke_url: bank.revoke_url.clone(),
            authorize_url: bank.authorize_url.clone(),
        }
    }

    /// The bank's today, in its time zone.
    pub(crate) fn today(&self, bank: &BankConfig) -> Date {
        let zone = jiff::tz::TimeZone::get(&bank.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        zone.to_datetime(jiff::Timestamp::now()).date()
    }

    /// The URL of an API target: absolute, an absolute path on the API's origin (a HAL link),
    /// or relative to the API base.
    fn url_of(bank: &BankConfig, target: &str) -> String {
        if target.starts_with("https://") || target.starts_with("http://") {
            target.to_owned()
        } else if target.starts_with('/') {
            let origin = url::Url::parse(&bank.api_base_url)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default();
            format!("{origin}{target}")
        } else {
            format!("{}/{target}", bank.api_base_url.trim_end_matches('/'))
        }
    }

    /// Builds, signs and sends an API request; answers what came back.
    pub(crate) async fn send(&self, bank: &BankConfig, req: Req) -> Step<Reply> {
        let url = Self::url_of(bank, &req.target);
        let request_id = req.request_id.then(new_request_id);
        let mut builder = self.http.request(req.method.clone(), &url);
        if let Some(id) = &request_id {
            builder = builder.header("x-request-id", id);
        }
        if let Some(token) = &req.token {
            builder = builder.bearer_auth(token);
        }
        if req.psu_present {
            builder = builder.header("psu-ip-address", PSU_IP);
        }
        if let Some(accept) = &req.accept {
            builder = builder.header("accept", accept);
        }
        if let Some(body) = &req.body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let failed = |got: String| Stop::Fail {
            expected: format!("an answer to {} {url}", req.method),
            got,
            request_id: request_id.clone(),
        };
        let mut request = builder
            .build()
            .map_err(|e| failed(format!("the request cannot be built: {e}")))?;
        match req.signing {
            Signing::Tpp => sign_request(&mut request, &self.identity.signer)
                .map_err(|e| failed(format!("signing: {e}")))?,
            Signing::UnknownKeyId => sign_request(&mut request, &self.unknown_key)
                .map_err(|e| failed(format!("signing: {e}")))?,
            Signing::None => {}
        }
        for (name, value) in &req.after_signing {
            let value =
                HeaderValue::from_str(value).map_err(|e| failed(format!("header {name}: {e}")))?;
            request
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
        if let Some(body) = &req.body_after_signing {
            *request.body_mut() = Some(body.clone().into());
        }
        let path = request.url().path().to_owned();
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| failed(format!("network: {e}")))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| failed(format!("reading the answer: {e}")))?
            .to_vec();
        Ok(Reply {
            method: req.method.to_string(),
            path,
            status,
            headers,
            body,
            request_id,
        })
    }

    /// A form POST to the token or revocation endpoint over mutual TLS.
    pub(crate) async fn form_post(&self, url: &str, fields: &[(&str, &str)]) -> Step<Reply> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request_id = new_request_id();
        let response = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-request-id", &request_id)
            .body(body)
            .send()
            .await
            .map_err(|e| Stop::Fail {
                expected: format!("an answer to POST {url}"),
                got: format!("network: {e}"),
                request_id: Some(request_id.clone()),
            })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Ok(Reply {
            method: "POST".into(),
            path: url::Url::parse(url)
                .map(|u| u.path().to_owned())
                .unwrap_or_else(|_| url.to_owned()),
            status,
            headers,
            body,
            request_id: Some(request_id),
        })
    }

    /// The authorization code exchange, by hand: `fields` adds to (or, for `redirect_uri` and
    /// `code_verifier`, replaces) what a correct exchange sends.
    pub(crate) async fn exchange(
        &self,
        bank: &BankConfig,
        login: &Authorized,
        overrides: &[(&str, &str)],
    ) -> Step<Reply> {
        let mut fields: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", login.code.as_str()),
            ("redirect_uri", login.request.redirect_uri.as_str()),
            ("client_id", self.config.client_id.as_str()),
            ("code_verifier", login.request.verifier.as_str()),
        ];
        for &(name, value) in overrides {
            fields.retain(|&(n, _)| n != name);
            fields.push((name, value));
        }
        self.form_post(&bank.token_url, &fields).await
    }

    /// A refresh by hand.
    pub(crate) async fn refresh(&self, bank: &BankConfig, refresh_token: &str) -> Step<Reply> {
        self.form_post(
            &bank.token_url,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", self.config.client_id.as_str()),
            ],
        )
        .await
    }

    /// A client-credentials token for `scope` (the library's call).
    pub(crate) async fn client_token(&self, bank: &BankConfig, scope: &str) -> Step<String> {
        let client = BankClient::new(
            self.endpoints(bank),
            self.identity.clone(),
            &self.config.ca_file,
        )
        .map_err(|e| Stop::fail("a bank client", e.to_string()))?;
        client
            .client_credentials(scope)
            .await
            .map(|t| t.access_token)
            .map_err(|e| {
                Stop::fail(
                    format!("a client-credentials token for '{scope}' at {}", bank.code),
                    e.to_string(),
                )
            })
    }

    /// The persona logs in for `scope` (the authorization code flow with PKCE), up to the code.
    pub(crate) async fn authorize(&self, persona: &Persona, scope: &str) -> Step<Authorized> {
        let bank = self.bank(&persona.bank)?;
        let expected = format!("a login of {} with scope {scope}", persona.key());
        let client = BankClient::new(
            self.endpoints(&bank),
            self.identity.clone(),
            &self.config.ca_file,
        )
        .map_err(|e| Stop::fail(&expected, e.to_string()))?;
        let request = client
            .authorization_request(&self.config.redirect_uri, scope)
            .map_err(|e| Stop::fail(&expected, e.to_string()))?;
        let params = match persona.login {
            // The sandbox's pages are filled by the program and the bank's redirect read, not
            // followed: nothing needs to listen on the callback (no port shared between runs).
            Login::Sandbox => {
                let location = crate::sandbox::authorize(
                    &request.url,
                    &self.config.ca_file,
                    &persona.identifier,
                )
                .await
                .map_err(|e| Stop::fail(&expected, e.to_string()))?;
                query_of(&location)
            }
            Login::Manual => {
                let port = loopback_port(&self.config.redirect_uri)
                    .map_err(|why| Stop::fail(&expected, why))?;
                let callback = bind(port).await.map_err(|why| Stop::fail(&expected, why))?;
                eprintln!(
                    "Log in as {} at {} ({}), scope {scope}; open:\n  {}\nWaiting for the redirect on {} …",
                    persona.name,
                    bank.code,
                    persona.identifier,
                    request.url,
                    self.config.redirect_uri
                );
                callback
                    .wait(Duration::from_secs(600))
                    .await
                    .map_err(|e| Stop::fail(&expected, e.to_string()))?
            }
        };
        if let Some(error) = params.get("error") {
            return Err(Stop::fail(
                expected,
                format!(
                    "the bank redirected with error={error} {}",
                    params
                        .get("error_description")
                        .map(String::as_str)
                        .unwrap_or("")
                ),
            ));
        }
        let code = params
            .get("code")
            .cloned()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Stop::fail(&expected, "a redirect without a code"))?;
        let state = params.get("state").cloned().unwrap_or_default();
        if state != request.state {
            return Err(Stop::fail(
                expected,
                format!(
                    "the redirect's state '{state}' is not the one sent ('{}')",
                    request.state
                ),
            ));
        }
        Ok(Authorized {
            client,
            request,
            code,
            state,
        })
    }

    /// The persona's `aisp` access token for the run, logging in the first time (with the
    /// library's code exchange).
    pub(crate) async fn session(&mut self, persona: &Persona) -> Step<String> {
        let key = persona.key();
        let now = jiff::Timestamp::now().as_second();
        if let Some(session) = self.sessions.get(&key)
            && session.expires_at - now > 60
        {
            return Ok(session.access_token.clone());
        }
        let login = self.authorize(persona, "aisp").await?;
        let tokens = login
            .client
            .exchange_code(&login.request, &login.code, &login.state)
            .await
            .map_err(|e| Stop::fail(format!("tokens for {key}"), e.to_string()))?;
        self.sessions.insert(
            key,
            Session {
                access_token: tokens.access_token.clone(),
                expires_at: tokens.expires_at,
            },
        );
        Ok(tokens.access_token)
    }

    /// PUT /consents, answered as it came.
    pub(crate) async fn put_consent(
        &self,
        bank: &BankConfig,
        token: &str,
        consent: &Consent,
    ) -> Step<Reply> {
        self.send(
            bank,
            Req::put("consents").token(token).json(&consent.body()),
        )
        .await
    }

    /// Forwards `consent` (expecting success) and answers GET /accounts's IBAN → resourceId.
    pub(crate) async fn consented(
        &mut self,
        persona: &Persona,
        consent: &Consent,
    ) -> Step<(String, BTreeMap<String, String>)> {
        let bank = self.bank(&persona.bank)?;
        let token = self.session(persona).await?;
        let put = self.put_consent(&bank, &token, consent).await?;
        status_in(
            &put,
            &[200, 201, 204],
            &format!("PUT /consents for {} accepted", persona.key()),
        )?;
        let accounts = self.send(&bank, Req::get("accounts").token(&token)).await?;
        status_in(
            &accounts,
            &[200],
            &format!("GET /accounts of {} answers 200", persona.key()),
        )?;
        Ok((token, resource_ids(&accounts.json())))
    }

    /// GET /transactions and every `next` page (the PSU present): the first answer and all the
    /// operations. A first answer other than 200 is returned as it came, with none.
    pub(crate) async fn all_transactions(
        &self,
        bank: &BankConfig,
        token: &str,
        target: String,
    ) -> Step<(Reply, Vec<Value>)> {
        let first = self.send(bank, Req::get(target).token(token)).await?;
        if first.status != 200 {
            return Ok((first, Vec::new()));
        }
        let mut all = array(&first.json()["transactions"]);
        let mut next = next_link(&first);
        let mut pages = 1;
        while let Some(href) = next {
            if pages >= 50 {
                break;
            }
            let page = self.send(bank, Req::get(href).token(token)).await?;
            status_in(&page, &[200], "every `next` page answers 200")?;
            all.extend(array(&page.json()["transactions"]));
            next = next_link(&page);
            pages += 1;
        }
        Ok((first, all))
    }
}

/// GET /accounts's IBAN → resourceId, for the accounts that have one.
pub(crate) fn resource_ids(accounts: &Value) -> BTreeMap<String, String> {
    array(&accounts["accounts"])
        .iter()
        .filter_map(|a| {
            Some((
                a["accountId"]["iban"].as_str()?.to_owned(),
                a["resourceId"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// The resourceId of `iban` once consented.
pub(crate) fn resource_of(ids: &BTreeMap<String, String>, iban: &str) -> Step<String> {
    ids.get(iban).cloned().ok_or_else(|| {
        Stop::fail(
            format!("a resourceId for {iban} in GET /accounts once consented"),
            format!(
                "none (resourceIds for: {:?})",
                ids.keys().collect::<Vec<_>>()
            ),
        )
    })
}

pub(crate) fn array(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}

fn next_link(reply: &Reply) -> Option<String> {
    reply.json()["_links"]["next"]["href"]
        .as_str()
        .map(str::to_owned)
}

fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// The port of a loopback `http` redirect URI, where logins catch the redirect.
fn loopback_port(redirect_uri: &str) -> Result<u16, String> {
    let url =
        url::Url::parse(redirect_uri).map_err(|e| format!("redirect_uri '{redirect_uri}': {e}"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost"));
    if url.scheme() != "http" || !loopback || url.path() != "/callback" {
        return Err(format!(
            "redirect_uri '{redirect_uri}' must be http://127.0.0.1:PORT/callback (registered at the bank) for the run to catch the redirect"
        ));
    }
    url.port_or_known_default()
        .ok_or_else(|| format!("redirect_uri '{redirect_uri}' has no port"))
}

/// Listens on the callback port, waiting (up to two minutes) while another program holds it:
/// two runs against two sandboxes share the demo TPP's redirect URI.
async fn bind(port: u16) -> Result<Callback, String> {
    let started = Instant::now();
    loop {
        match Callback::bind(port).await {
            Ok(callback) => return Ok(callback),
            Err(e) if started.elapsed() > Duration::from_secs(120) => {
                return Err(format!(
                    "cannot listen on 127.0.0.1:{port} for the login redirect: {e}"
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(150)).await,
        }
    }
}

/// The booking day of an operation: `bookingDate`, else `expectedBookingDate`.
pub(crate) fn day_of(transaction: &Value) -> Option<Date> {
    transaction["bookingDate"]
        .as_str()
        .or_else(|| transaction["expectedBookingDate"].as_str())
        .and_then(|d| d.get(..10))
        .and_then(|d| d.parse().ok())
}

/// `n` days before `day`.
pub(crate) fn days_before(day: Date, n: i64) -> Date {
    day.checked_sub(jiff::Span::new().days(n)).unwrap_or(day)
}

/// A decimal amount as STET writes it: a JSON string.
pub(crate) fn decimal(value: &Value) -> Option<rust_decimal::Decimal> {
    value.as_str().and_then(|s| s.trim().parse().ok())
}
