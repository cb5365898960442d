//! The OAuth2 side of a bank client: the authorization request with PKCE, the code exchange,
//! refresh, client credentials, revocation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::{Answer, AuthorizationRequest, BankClient, Tokens, now, random};
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
}
