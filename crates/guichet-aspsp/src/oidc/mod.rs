//! Strong customer authentication delegated to the bank's OpenID Connect provider (issue #12):
//! the authorization code flow of OpenID Connect Core 1.0 §3.1 with PKCE (RFC 7636), `state`
//! and `nonce`, by the `openidconnect` crate. Guichet sends the PSU to the provider, takes the
//! code back on its callback, exchanges it, checks the ID token (signature against the
//! provider's JWKS, fetched again when a token names a key it lacks; `iss`, `aud`, `exp`,
//! `nonce`) and the SCA level ([`level`]), and maps a configured claim to the bank's PSU.
//!
//! Nothing of a login lives in process memory: what the callback needs is stored on the SCA
//! attempt, so the callback may reach any instance. The provider's metadata is cached per
//! process and fetched again after `metadata_refresh_seconds`.

pub mod client_auth;
pub mod http;
pub mod level;
mod metadata;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use guichet_store::DelegatedLogin;
use openidconnect::core::{
    CoreAuthPrompt, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType,
};
use openidconnect::{
    AdditionalClaims, AuthType, AuthenticationContextClass, AuthenticationFlow, AuthorizationCode,
    ClaimsVerificationError, ClientId, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdToken, IdTokenVerifier, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};

pub use client_auth::ClientAuth;
pub use level::ScaLevel;
pub use settings::{ClientAuthMethod, OidcSettings};

/// Why a delegated authentication did not give a PSU. The detail is for the log: it never
/// holds a code, a token or a claim's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The PSU cancelled at the provider (`error=access_denied`).
    Cancelled,
    /// The provider could not be reached, did not answer in time, or said it is unavailable.
    Unavailable(String),
    /// The provider answered with an error.
    Provider(String),
    /// The ID token failed a check.
    IdToken(String),
    /// The authentication is below the bank's SCA level.
    Level(String),
    /// The PSU the provider names is no customer of this bank.
    UnknownPsu,
}

impl Failure {
    pub fn detail(&self) -> &str {
        match self {
            Failure::Cancelled => "the PSU cancelled at the provider",
            Failure::UnknownPsu => "the PSU is unknown to the bank",
            Failure::Unavailable(d)
            | Failure::Provider(d)
            | Failure::IdToken(d)
            | Failure::Level(d) => d,
        }
    }
}

/// The provider's answer on Guichet's callback (RFC 6749 §4.1.2, RFC 9207 for `iss`).
#[derive(Debug, Default, Clone)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// An authorization request ready to send.
#[derive(Debug)]
pub struct Begin {
    /// Where to send the PSU's browser.
    pub url: String,
    /// The `state` sent: stored hashed, compared on the callback.
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// A PSU authenticated by the provider at the bank's level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The value of the configured claim: the bank's PSU identifier.
    pub psu_id: String,
    /// When the provider authenticated the PSU (`auth_time`, which a token must carry).
    pub auth_time: i64,
}

/// The ID token's claims beyond the standard ones: the PSU claim may be any of them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OtherClaims(serde_json::Map<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

type PsuClaims = openidconnect::IdTokenClaims<OtherClaims, CoreGenderClaim>;

type PsuIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// A client made from discovery: an authorization endpoint, maybe a token endpoint.
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// One bank's OpenID provider, as Guichet's client of it.
pub struct OidcProvider {
    settings: OidcSettings,
    issuer: IssuerUrl,
    auth: ClientAuth,
    level: ScaLevel,
    algs: Vec<CoreJwsSigningAlgorithm>,
    http: http::Http,
    metadata: metadata::MetadataCache,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.settings.issuer)
            .field("client_id", &self.settings.client_id)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// Checks the settings and reads the credential files: a mistake stops the start.
    pub fn new(settings: &OidcSettings) -> Result<OidcProvider, String> {
        settings.validate()?;
        let issuer = IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| format!("oidc.issuer '{}': {e}", settings.issuer))?;
        let auth = settings.client_auth()?;
        let level = ScaLevel::new(settings.acr_values.clone(), settings.two_factor_amr)?;
        let algs = settings.signing_algs()?;
        let http = http::Http::new(
            Duration::from_secs(settings.timeout_seconds),
            settings.ca_file.as_deref(),
        )?;
        Ok(OidcProvider {
            settings: settings.clone(),
            metadata: metadata::MetadataCache::new(
                issuer.clone(),
                settings.metadata_refresh_seconds,
            ),
            issuer,
            auth,
            level,
            algs,
            http,
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The provider's metadata and keys (see [`metadata`]).
    pub async fn metadata(&self, now: i64) -> Result<Arc<CoreProviderMetadata>, Failure> {
        self.metadata.get(&self.http, now).await
    }

    /// The most a PSU waits on the provider in one step: discovery, the code exchange and a
    /// new JWKS are each bounded by `timeout_seconds`; together by twice that.
    fn budget(&self) -> Duration {
        Duration::from_secs(self.settings.timeout_seconds.saturating_mul(2))
    }

    fn client(
        &self,
        metadata: &CoreProviderMetadata,
        redirect_uri: &str,
    ) -> Result<DiscoveredClient, Failure> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| Failure::Provider(format!("redirect_uri: {e}")))?;
        let secret = match &self.auth {
            ClientAuth::Secret(secret) => Some(secret.clone()),
            ClientAuth::PrivateKeyJwt(_) => None,
        };
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            secret,
        )
        .set_redirect_uri(redirect);
        Ok(match &self.auth {
            ClientAuth::Secret(_) => client.set_auth_type(AuthType::BasicAuth),
            ClientAuth::PrivateKeyJwt(_) => client.set_auth_type(AuthType::RequestBody),
        })
    }

    /// An authorization request: PKCE S256, a fresh `state` and `nonce`, the configured
    /// scopes, the bank's `acr_values`, and `prompt=login` with `max_age=0` so that the PSU
    /// authenticates now rather than riding an old session (the SCA is for this access), and
    /// the ID token must say when (`auth_time`, OpenID Connect Core 1.0 §3.1.2.1).
    pub async fn begin(&self, redirect_uri: &str, now: i64) -> Result<Begin, Failure> {
        let metadata = tokio::time::timeout(self.budget(), self.metadata(now))
            .await
            .map_err(|_| self.too_slow())??;
        let client = self.client(&metadata, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .add_prompt(CoreAuthPrompt::Login)
            .set_max_age(Duration::ZERO);
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for acr in &self.settings.acr_values {
            request = request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(Begin {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        })
    }

    fn too_slow(&self) -> Failure {
        Failure::Unavailable(format!(
            "no answer from the provider within {} s",
            self.budget().as_secs()
        ))
    }

    /// The callback's answer turned into an authenticated PSU, or why not, within the budget.
    /// `state` has been matched by the caller; `not_before` is when the PSU was sent to the
    /// provider.
    pub async fn finish(
        &self,
        params: &CallbackParams,
        login: &DelegatedLogin,
        redirect_uri: &str,
        now: jiff::Timestamp,
        not_before: i64,
    ) -> Result<Authenticated, Failure> {
        // RFC 9207 §2.4: an `iss` that is not the issuer the request went to is a mix-up,
        // whatever the answer says.
        if let Some(iss) = &params.iss
            && iss != self.issuer.as_str()
        {
            return Err(Failure::Provider(
                "the callback's iss is another issuer".into(),
            ));
        }
        if let Some(error) = &params.error {
            return Err(match error.as_str() {
                "access_denied" => Failure::Cancelled,
                "temporarily_unavailable" => {
                    Failure::Unavailable("the provider says it is unavailable".into())
                }
                other => Failure::Provider(format!(
                    "the provider answered error={}",
                    guichet_stet::error::truncate(other)
                )),
            });
        }
        let Some(code) = &params.code else {
            return Err(Failure::Provider(
                "the callback has neither code nor error".into(),
            ));
        };
        let claims = tokio::time::timeout(
            self.budget(),
            self.verified_claims(code, login, redirect_uri, now),
        )
        .await
        .map_err(|_| self.too_slow())??;
        self.authenticated(&claims, not_before)
    }

    /// The code exchanged, and the ID token's signature and claims checked (a key the kept
    /// JWKS lacks makes it fetched again, once).
    async fn verified_claims(
        &self,
        code: &str,
        login: &DelegatedLogin,
        redirect_uri: &str,
        now: jiff::Timestamp,
    ) -> Result<PsuClaims, Failure> {
        let seconds = now.as_second();
        let metadata = self.metadata(seconds).await?;
        let id_token = self
            .exchange(&metadata, code, &login.verifier, redirect_uri, seconds)
            .await?;
        // serde's messages quote the values they refuse: never logged.
        let token: PsuIdToken = id_token
            .parse()
            .map_err(|_| Failure::IdToken("the ID token cannot be read".into()))?;
        let no_key = |verdict: &Result<PsuClaims, ClaimsVerificationError>| {
            matches!(
                verdict,
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                ))
            )
        };
        let mut verdict = self.verify(token.clone(), &metadata, &login.nonce, now);
        if no_key(&verdict) {
            // The key set another callback fetched meanwhile, else fetched now; fetched if the
            // copy kept meanwhile lacks the key too (rediscovered just before the provider
            // rotated its keys).
            let (keys, fetched) = self.metadata.refresh_keys(&self.http, &metadata).await?;
            verdict = self.verify(token.clone(), &keys, &login.nonce, now);
            if no_key(&verdict) && !fetched {
                let (keys, _) = self.metadata.refresh_keys(&self.http, &keys).await?;
                verdict = self.verify(token, &keys, &login.nonce, now);
            }
        }
        match verdict {
            Ok(claims) => Ok(claims),
            Err(e) => Err(Failure::IdToken(format!(
                "the ID token fails its checks: {}",
                guichet_stet::error::truncate(&e.to_string())
            ))),
        }
    }

    /// The checks beyond the signature: `azp`, `auth_time`, the SCA level, then the PSU.
    fn authenticated(&self, claims: &PsuClaims, not_before: i64) -> Result<Authenticated, Failure> {
        // Core §3.1.3.7 (5): with an `azp`, it must be this client.
        if claims
            .authorized_party()
            .is_some_and(|azp| azp.as_str() != self.settings.client_id)
        {
            return Err(Failure::IdToken("azp is another client".into()));
        }
        let acr = claims.auth_context_ref().map(|acr| acr.as_str());
        let amr: Vec<String> = claims
            .auth_method_refs()
            .map(|methods| methods.iter().map(|m| m.as_str().to_owned()).collect())
            .unwrap_or_default();
        self.level.check(acr, &amr).map_err(Failure::Level)?;
        // `max_age=0` makes `auth_time` required, and asked for an authentication now: one
        // from before the request is an old session, not the SCA of this access (a minute
        // of clock difference allowed).
        let Some(auth_time) = claims.auth_time().map(|t| t.timestamp()) else {
            return Err(Failure::IdToken("the ID token has no auth_time".into()));
        };
        if auth_time < not_before - 60 {
            return Err(Failure::IdToken(
                "auth_time is older than the authorization request".into(),
            ));
        }
        let psu_id = self.psu_of(claims)?;
        Ok(Authenticated { psu_id, auth_time })
    }

    /// The value of the configured claim: the bank's PSU identifier.
    fn psu_of(&self, claims: &PsuClaims) -> Result<String, Failure> {
        let name = self.settings.psu_claim.as_str();
        let value = match name {
            "sub" => Some(claims.subject().as_str().to_owned()),
            name => match claims.additional_claims().0.get(name) {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
        };
        value
            .filter(|id| !id.is_empty() && id.len() <= 140)
            .ok_or_else(|| Failure::IdToken(format!("the ID token has no usable '{name}' claim")))
    }

    /// Signature, `iss`, `aud`, `exp` (at the bank's clock), `nonce`, the algorithm, and an
    /// `iat` that is not in the future (a minute allowed).
    fn verify(
        &self,
        token: PsuIdToken,
        metadata: &CoreProviderMetadata,
        nonce: &str,
        now: jiff::Timestamp,
    ) -> Result<PsuClaims, ClaimsVerificationError> {
        let at =
            chrono::DateTime::<chrono::Utc>::from_timestamp(now.as_second(), 0).unwrap_or_default();
        let verifier = IdTokenVerifier::new_public_client(
            ClientId::new(self.settings.client_id.clone()),
            self.issuer.clone(),
            metadata.jwks().clone(),
        )
        .set_allowed_algs(self.algs.clone())
        .set_time_fn(move || at)
        .set_issue_time_verifier_fn(move |iat| {
            if iat.timestamp() > at.timestamp() + 60 {
                Err("iat is in the future".to_owned())
            } else {
                Ok(())
            }
        });
        token.into_claims(&verifier, &Nonce::new(nonce.to_owned()))
    }

    /// The code exchanged for the ID token (the compact JWS), within the timeout.
    async fn exchange(
        &self,
        metadata: &CoreProviderMetadata,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
        now: i64,
    ) -> Result<String, Failure> {
        let client = self.client(metadata, redirect_uri)?;
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| Failure::Provider(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
        if let ClientAuth::PrivateKeyJwt(key) = &self.auth {
            let audience = metadata
                .token_endpoint()
                .map(|url| url.as_str().to_owned())
                .unwrap_or_default();
            let assertion = key
                .assertion(&self.settings.client_id, &audience, now)
                .map_err(|e| Failure::Provider(format!("signing the client assertion: {e}")))?;
            request = request
                .add_extra_param("client_assertion_type", client_auth::JWT_BEARER)
                .add_extra_param("client_assertion", assertion);
        }
        let response = request
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(answer) => {
                    let error = answer.error().to_string();
                    if error == "temporarily_unavailable" {
                        Failure::Unavailable("the token endpoint says it is unavailable".into())
                    } else {
                        Failure::Provider(format!(
                            "the token endpoint answered {}",
                            guichet_stet::error::truncate(&error)
                        ))
                    }
                }
                RequestTokenError::Request(e) => {
                    Failure::Unavailable(format!("the token endpoint: {}", chain(&e)))
                }
                // A body that is not the answer expected: its text may quote personal data,
                // so only the kind of failure is kept.
                RequestTokenError::Parse(..) => {
                    Failure::Provider("the token endpoint's answer cannot be read".into())
                }
                RequestTokenError::Other(_) => {
                    Failure::Provider("the token endpoint's answer is not OAuth 2.0".into())
                }
            })?;
        response
            .id_token()
            .map(|token| token.to_string())
            .ok_or_else(|| Failure::IdToken("the token answer has no ID token".into()))
    }
}

/// An error and its causes, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
