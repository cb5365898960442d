//! The OAuth2 side of a bank client: the authorization request with PKCE, the code exchange,
//! refresh, client credentials, revocation.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::{Answer, AuthorizationRequest, BankClient, Tokens, random};
use crate::error::TppError;
use crate::transport::new_request_id;

impl BankClient {
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
        let at = self.now_second();
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

    /// Ends a login with the parameters the bank's redirect carried: an `error` is the bank's
    /// refusal; otherwise the `code` is exchanged (its `state` checked) and the tokens kept.
    pub async fn complete_authorization(
        &self,
        request: &AuthorizationRequest,
        params: &HashMap<String, String>,
    ) -> Result<Tokens, TppError> {
        if let Some(error) = params.get("error") {
            let description = params
                .get("error_description")
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            return Err(TppError::Refused {
                status: 0,
                message: format!(
                    "{} did not grant access ({error}){description}",
                    self.endpoints.name
                ),
            });
        }
        let code = params.get("code").map(String::as_str).unwrap_or("");
        if code.is_empty() {
            return Err(TppError::Local(
                "the bank's redirect carries neither a code nor an error".into(),
            ));
        }
        let state = params.get("state").map(String::as_str).unwrap_or("");
        self.exchange_code(request, code, state).await
    }

    /// A client-credentials token (for `cbpii`). It is the TPP's own, kept in memory apart from
    /// the PSU's tokens, which it never replaces: [`BankClient::funds_confirmation`] uses it
    /// (and asks for one itself when there is none).
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
        self.keep_client_token(tokens.clone());
        Ok(tokens)
    }

    /// Renews the PSU's access token with the refresh token.
    pub async fn refresh(&self) -> Result<Tokens, TppError> {
        let current = self
            .tokens()
            .ok_or_else(|| TppError::NotLoggedIn(self.endpoints.code.clone()))?;
        if current
            .refresh_expires_at
            .is_some_and(|until| until <= self.now_second())
        {
            return Err(self.reconnect("the PSU's 180-day authentication has run out"));
        }
        let refresh = current.refresh_token.ok_or_else(|| {
            self.reconnect("the access token expired and there is no refresh token")
        })?;
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
                let mut tokens = self.tokens_from(&answer)?;
                // The PSU's 180 days run from its last SCA, not from this refresh: the earlier
                // end is kept (a bank may send the full lifetime again, or none).
                tokens.refresh_expires_at =
                    match (current.refresh_expires_at, tokens.refresh_expires_at) {
                        (Some(before), Some(now)) => Some(before.min(now)),
                        (before, now) => before.or(now),
                    };
                self.keep(tokens.clone());
                Ok(tokens)
            }
            400 | 401 => Err(self.reconnect(&answer.message())),
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
}
