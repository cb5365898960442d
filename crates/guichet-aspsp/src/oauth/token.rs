//! `POST /stet/psd2/oauth/token` and `POST /stet/psd2/oauth/revoke`, over mutual TLS.
//!
//! The client authenticates with its QWAC: `client_id` must equal the certificate's
//! organizationIdentifier (portal: "Checks the direct or indirect matching between the
//! Authorization Number within the eIDAS certificate and the [client_id] value"; RFC 8705).
//! Answers and errors follow RFC 6749 §5.1 and §5.2, with `Cache-Control: no-store`.

use std::collections::HashMap;

use aws_lc_rs::digest::{SHA256, digest};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use guichet_eidas::Psd2Certificate;
use guichet_store::{AuthCode, NewToken, Redeemed, TokenKind, TokenSecret, new_family_id};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};

use super::error::{OAuthError, no_store};
use super::fallback::{FallbackClaims, audience};
use super::{bank_of, form, random};
use crate::auth::role_for_scope;
use crate::context::Qwac;
use crate::security::BankSeal;
use crate::state::{Bank, SharedState};

/// Refresh tokens live until 180 days after the PSU's last SCA (RTS art. 10 as amended).
pub const SCA_VALIDITY_SECONDS: i64 = 180 * 86_400;
const MAX_BODY: usize = 16 * 1024;

/// The RSA keys a bank signs its fallback JWTs with: its QSealC's.
pub fn jwt_keys(seal: &BankSeal) -> anyhow::Result<(EncodingKey, DecodingKey)> {
    let key = std::fs::read(&seal.key)?;
    let cert = Psd2Certificate::from_pem(&std::fs::read(&seal.cert)?)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((
        EncodingKey::from_rsa_pem(&key)?,
        DecodingKey::from_rsa_der(&cert.public_key.bytes),
    ))
}

/// What every token-endpoint request establishes: the bank, the TPP's QWAC, its parameters.
struct Client {
    bank: std::sync::Arc<Bank>,
    qwac: std::sync::Arc<Psd2Certificate>,
    params: HashMap<String, String>,
    headers: HeaderMap,
}

async fn authenticate(state: &SharedState, request: Request) -> Result<Client, OAuthError> {
    let (parts, body) = request.into_parts();
    let bank = bank_of(state, &parts)
        .ok_or_else(|| OAuthError::invalid_request("no bank is served at this address"))?;
    let Qwac(qwac) = Qwac::of(&parts.extensions)
        .map_err(|refusal| OAuthError::invalid_client(refusal.message()))?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let bytes = crate::edge::read_body(body, MAX_BODY)
        .await
        .map_err(|e| match e {
            crate::error::ApiError::PayloadTooLarge(m) => OAuthError::TooLarge(m),
            other => OAuthError::invalid_request(other.to_string()),
        })?;
    let params = form(&bytes).map_err(OAuthError::invalid_request)?;
    let client_id = params
        .get("client_id")
        .ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
    if client_id != qwac.org_id.as_str() {
        return Err(OAuthError::invalid_client(format!(
            "client_id {client_id} is not the organizationIdentifier of the QWAC ({})",
            qwac.org_id
        )));
    }
    if state.store.tpp(client_id).await?.is_none() {
        return Err(OAuthError::invalid_client(format!(
            "{client_id} is not registered; use POST /register"
        )));
    }
    Ok(Client {
        bank,
        qwac,
        params,
        headers: parts.headers,
    })
}

/// `X-Request-ID` is echoed by the listener's guard ([`crate::edge::guard`]), as on every API
/// answer.
pub async fn token(State(state): State<SharedState>, request: Request) -> Response {
    grant(&state, request)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn grant(state: &SharedState, request: Request) -> Result<Response, OAuthError> {
    let client = authenticate(state, request).await?;
    let fallback = client
        .headers
        .get("fallback")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        == Some("1");
    if fallback {
        return fallback_redirect(state, &client).await;
    }
    match client.params.get("grant_type").map(String::as_str) {
        Some("authorization_code") => authorization_code(state, &client).await,
        Some("refresh_token") => refresh(state, &client).await,
        Some("client_credentials") => client_credentials(state, &client).await,
        Some(other) => Err(OAuthError::unsupported_grant_type(format!(
            "grant_type '{}' is not supported",
            guichet_stet::error::truncate(other)
        ))),
        None => Err(OAuthError::invalid_request("grant_type is required")),
    }
}

/// Every scope must be allowed by a PSD2 role of the QWAC.
fn check_roles(qwac: &Psd2Certificate, scopes: &[String]) -> Result<(), OAuthError> {
    for scope in scopes {
        match role_for_scope(scope) {
            Some(role) if qwac.has_role(&role) => {}
            Some(role) => {
                return Err(OAuthError::invalid_scope(format!(
                    "scope '{scope}' needs the {} role, which the QWAC of {} lacks",
                    role.name(),
                    qwac.org_id
                )));
            }
            None => {
                return Err(OAuthError::invalid_scope(format!(
                    "unknown scope '{scope}'"
                )));
            }
        }
    }
    Ok(())
}

struct Issue<'a> {
    /// The refresh token this issue replaces, revoked with it.
    replaces: Option<&'a TokenSecret>,
    psu_id: Option<&'a str>,
    scopes: &'a [String],
    sca_at: Option<i64>,
    family_id: String,
    with_refresh: bool,
}

async fn issue(
    state: &SharedState,
    client: &Client,
    issue: Issue<'_>,
) -> Result<Response, OAuthError> {
    let now = state.now().as_second();
    let lifetime = client.bank.profile.access_token_minutes * 60;
    let token = |kind, expires_at| NewToken {
        kind,
        family_id: issue.family_id.clone(),
        bank_code: client.bank.code().to_owned(),
        client_id: client.qwac.org_id.to_string(),
        psu_id: issue.psu_id.map(str::to_owned),
        scopes: issue.scopes.to_vec(),
        issued_at: now,
        expires_at,
        sca_at: issue.sca_at,
        cert_thumbprint: Some(client.qwac.sha256.clone()),
    };
    let until = issue.sca_at.unwrap_or(now) + SCA_VALIDITY_SECONDS;
    let mut tokens = vec![token(TokenKind::Access, now + lifetime)];
    if issue.with_refresh {
        tokens.push(token(TokenKind::Refresh, until));
    }
    // The pair, and the revocation of the refresh token it replaces, in one transaction.
    let Some(secrets) = state
        .store
        .issue_tokens(&tokens, issue.replaces, now)
        .await?
    else {
        // Two renewals raced with one refresh token: the loser is a reuse (RFC 9700 §4.14.2).
        state.store.revoke_family(&issue.family_id, now).await?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; every token of this grant is now revoked",
        ));
    };
    state.metrics.tokens_issued(client.bank.code(), "access", 1);
    if issue.with_refresh {
        state
            .metrics
            .tokens_issued(client.bank.code(), "refresh", 1);
    }
    let mut body = serde_json::json!({
        "access_token": secrets.first().map(|s| s.expose()),
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": issue.scopes.join(" "),
    });
    if let Some(refresh) = secrets.get(1) {
        body["refresh_token"] = refresh.expose().into();
        body["refresh_token_expires_in"] = (until - now).into();
    }
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    no_store(response.headers_mut());
    Ok(response)
}

fn required<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, OAuthError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

async fn authorization_code(state: &SharedState, client: &Client) -> Result<Response, OAuthError> {
    // Portal, "Get your token": "these /token requests for getting the Authorization Code flow
    // shall be sent WITHOUT the « scope » parameter".
    if client.params.contains_key("scope") {
        return Err(OAuthError::invalid_request(
            "send no scope with grant_type=authorization_code (the code carries it)",
        ));
    }
    let code = TokenSecret::from_presented(required(&client.params, "code")?);
    let redirect_uri = required(&client.params, "redirect_uri")?;
    let now = state.now().as_second();
    let redeemed = match state
        .store
        .redeem_code(&code, client.bank.code(), now)
        .await?
    {
        Redeemed::Fresh(redeemed) => redeemed,
        Redeemed::Replayed { family_id } => {
            // RFC 6749 §4.1.2: a code used twice revokes what it gave.
            if let Some(family) = family_id {
                state.store.revoke_family(&family, now).await?;
            }
            tracing::warn!(client_id = %client.qwac.org_id, "authorization code replayed; its tokens are revoked");
            return Err(OAuthError::invalid_grant(
                "the code was already used; the tokens it gave are revoked",
            ));
        }
        Redeemed::Unknown => return Err(OAuthError::invalid_grant("unknown code")),
    };
    if redeemed.client_id != client.qwac.org_id.as_str() {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if redeemed.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the one of the authorization request",
        ));
    }
    if redeemed.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the code has expired (one minute)",
        ));
    }
    if let Some(challenge) = &redeemed.code_challenge {
        let verifier = client
            .params
            .get("code_verifier")
            .ok_or_else(|| OAuthError::invalid_grant("code_verifier is required (PKCE)"))?;
        let computed = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
        if !(43..=128).contains(&verifier.len()) || !super::same(&computed, challenge) {
            return Err(OAuthError::invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
    }
    check_roles(&client.qwac, &redeemed.scopes)?;
    let issued = issue_for_code(state, client, &code, &redeemed).await;
    if let Err(OAuthError::TemporarilyUnavailable(_)) = &issued {
        // Redeemed, and its tokens not issued: given back, the request made again (as the
        // 503 tells) gets them. Where the database is still away, the code stays used.
        match state.store.give_back_code(&code, client.bank.code()).await {
            Ok(given) => tracing::info!(given, "a code redeemed without its tokens"),
            Err(e) => tracing::warn!(error = %e, "a code redeemed without its tokens stays used"),
        }
    }
    issued
}

/// The tokens of a redeemed code, their family noted on the code (a replay revokes them).
async fn issue_for_code(
    state: &SharedState,
    client: &Client,
    code: &TokenSecret,
    redeemed: &AuthCode,
) -> Result<Response, OAuthError> {
    let family_id = new_family_id()?;
    state.store.set_code_family(code, &family_id).await?;
    issue(
        state,
        client,
        Issue {
            replaces: None,
            psu_id: Some(&redeemed.psu_id),
            scopes: &redeemed.scopes,
            sca_at: Some(redeemed.sca_at),
            family_id,
            with_refresh: true,
        },
    )
    .await
}

async fn refresh(state: &SharedState, client: &Client) -> Result<Response, OAuthError> {
    let presented = TokenSecret::from_presented(required(&client.params, "refresh_token")?);
    let now = state.now().as_second();
    let record = state
        .store
        .find_token(&presented, TokenKind::Refresh, client.bank.code())
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("unknown refresh token"))?;
    if record.client_id != client.qwac.org_id.as_str() {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if record.revoked_at.is_some() {
        // RFC 9700 §4.14.2: a refresh token presented after it was rotated tells of a leak;
        // the whole grant, newer tokens included, is revoked. One revoked outright (by the
        // TPP, the PSU, or after an insufficient-scope refusal) is only refused.
        if state.store.was_rotated(&presented).await? {
            let revoked = state.store.revoke_family(&record.family_id, now).await?;
            tracing::warn!(client_id = %record.client_id, revoked, "a rotated refresh token was presented again; its grant is revoked");
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; every token of this grant is now revoked",
            ));
        }
        return Err(OAuthError::invalid_grant("the refresh token was revoked"));
    }
    let sca_at = record.sca_at.unwrap_or(record.issued_at);
    if now >= sca_at + SCA_VALIDITY_SECONDS || now >= record.expires_at {
        return Err(OAuthError::invalid_grant(
            "the PSU's last strong authentication is 180 days old: send the PSU to /authorize again",
        ));
    }
    let scopes = match client.params.get("scope") {
        Some(asked) => {
            let asked = guichet_store::split_scopes(asked);
            if let Some(extra) = asked.iter().find(|s| !record.scopes.contains(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope '{extra}' was not granted"
                )));
            }
            asked
        }
        None => record.scopes.clone(),
    };
    check_roles(&client.qwac, &scopes)?;
    // Portal: "ASPSP de facto revokes the previous refresh token" (with the new pair's issue).
    issue(
        state,
        client,
        Issue {
            replaces: Some(&presented),
            psu_id: record.psu_id.as_deref(),
            scopes: &scopes,
            sca_at: Some(sca_at),
            family_id: record.family_id,
            with_refresh: true,
        },
    )
    .await
}

async fn client_credentials(state: &SharedState, client: &Client) -> Result<Response, OAuthError> {
    let scopes = guichet_store::split_scopes(required(&client.params, "scope")?);
    // STET: client credentials serve the CBPII (when the bank chose that model) and the PISP;
    // account information needs the PSU's authorization.
    if let Some(bad) = scopes
        .iter()
        .find(|s| !["cbpii", "pisp"].contains(&s.as_str()))
    {
        return Err(OAuthError::invalid_scope(format!(
            "scope '{bad}' needs the authorization code flow, not client_credentials"
        )));
    }
    check_roles(&client.qwac, &scopes)?;
    issue(
        state,
        client,
        Issue {
            replaces: None,
            psu_id: None,
            scopes: &scopes,
            sca_at: None,
            family_id: new_family_id()?,
            with_refresh: false,
        },
    )
    .await
}

/// Portal, "How to use the fallback mode": `fallback: 1`, `grant_type=client_credentials`,
/// `scope=aisp`, the same QWAC; answers `302 Found` to the online-banking login with a JWT.
async fn fallback_redirect(state: &SharedState, client: &Client) -> Result<Response, OAuthError> {
    if client.params.get("grant_type").map(String::as_str) != Some("client_credentials")
        || client.params.get("scope").map(String::as_str) != Some("aisp")
    {
        return Err(OAuthError::invalid_request(
            "the fallback takes grant_type=client_credentials and scope=aisp",
        ));
    }
    check_roles(&client.qwac, &["aisp".to_owned()])?;
    // Portal, "How to use the fallback mode": "The user of payment services (PSU) must be
    // connected to PSP app", yet the portal's own sample request carries no PSU-IP-Address:
    // the PSU's presence is proven by the online-banking login that follows, so the header is
    // recorded when sent and not required.
    let psu_ip = client
        .headers
        .get("psu-ip-address")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        .unwrap_or("");
    let (encoding, _) = state
        .security
        .jwt_keys
        .get(client.bank.code())
        .ok_or_else(|| {
            OAuthError::server_error(format!("no signing key for bank {}", client.bank.code()))
        })?;
    let now = state.now().as_second();
    let claims = FallbackClaims {
        iss: format!("guichet:{}", client.bank.code()),
        aud: audience(client.bank.code()),
        sub: client.qwac.org_id.to_string(),
        jti: random().map_err(|e| OAuthError::server_error(e.to_string()))?,
        iat: now,
        exp: now + 300,
    };
    let jwt = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, encoding)
        .map_err(|e| OAuthError::server_error(e.to_string()))?;
    state
        .store
        .record_fallback(&claims.jti, client.bank.code(), &claims.sub, psu_ip, now)
        .await?;
    tracing::warn!(bank = client.bank.code(), client_id = %claims.sub, "fallback interface used (RTS art. 33), recorded for supervision");
    let origin = state
        .psu_origin(client.bank.code())
        .ok_or_else(|| OAuthError::server_error("no online-banking address"))?;
    let location = format!("{origin}/fallback/login?jwt={jwt}");
    let body = format!(
        "<!DOCTYPE html><html><head><title>302 Found</title></head><body><h1>Found</h1><p>The document has moved <a href=\"{location}\">here</a>.</p></body></html>"
    );
    let mut response = (StatusCode::FOUND, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, value);
    }
    no_store(headers);
    Ok(response)
}

/// RFC 7009. Portal: "If the Authorization token is revoked, then the refresh one is
/// automatically revoked (and the other way round)". Unknown tokens answer 200 as well.
pub async fn revoke(State(state): State<SharedState>, request: Request<Body>) -> Response {
    let outcome = async {
        let client = authenticate(&state, request).await?;
        let presented = TokenSecret::from_presented(required(&client.params, "token")?);
        if let Some(record) = state
            .store
            .find_any_token(&presented, client.bank.code())
            .await?
            && record.client_id == client.qwac.org_id.as_str()
        {
            let revoked = state
                .store
                .revoke_family(&record.family_id, state.now().as_second())
                .await?;
            state.metrics.tokens_revoked(client.bank.code(), revoked);
            tracing::info!(client_id = %record.client_id, revoked, "tokens revoked by the TPP");
        }
        let mut response = StatusCode::OK.into_response();
        no_store(response.headers_mut());
        Ok::<Response, OAuthError>(response)
    }
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}
