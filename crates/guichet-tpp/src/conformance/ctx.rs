//! What the cases share: the TPP's identity and HTTP client, the personas' sessions, raw
//! signed requests that a case may alter (omit the signature, change a header after signing),
//! and the answers as they came.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use guichet_httpsig::{Signer, SigningKey};
use jiff::civil::Date;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::config::{BankConfig, Config, Login, Persona, Role};
use crate::{AuthorizationRequest, BankClient, BankEndpoints, Callback, TppIdentity};
use crate::{new_request_id, sign_request};

pub(crate) use super::wire::*;

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
