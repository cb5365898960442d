//! How Guichet proves itself to the bank's OpenID provider at its token endpoint (OpenID
//! Connect Core 1.0 §9): `client_secret_basic` (the secret in HTTP Basic, RFC 6749 §2.3.1) or
//! `private_key_jwt` (a JWT signed with Guichet's key, RFC 7523 §2.2, with `iss` = `sub` = the
//! client_id, `aud` = the token endpoint, a fresh `jti` and a short `exp`).

use std::path::Path;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// The `client_assertion_type` of RFC 7523 §2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a client assertion is good for.
const ASSERTION_SECONDS: i64 = 60;

/// Guichet's credential at the provider.
pub enum ClientAuth {
    Secret(openidconnect::ClientSecret),
    PrivateKeyJwt(AssertionKey),
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::Secret(_) => f.write_str("ClientAuth::Secret(…)"),
            ClientAuth::PrivateKeyJwt(key) => write!(f, "ClientAuth::PrivateKeyJwt({:?})", key.alg),
        }
    }
}

impl ClientAuth {
    /// Reads the secret from its file (trailing line breaks dropped).
    pub fn secret_file(path: &Path) -> Result<ClientAuth, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("the client secret file {}: {e}", path.display()))?;
        let secret = text.trim_end_matches(['\r', '\n']);
        if secret.is_empty() {
            return Err(format!(
                "the client secret file {} is empty",
                path.display()
            ));
        }
        Ok(ClientAuth::Secret(openidconnect::ClientSecret::new(
            secret.to_owned(),
        )))
    }
}

/// The key that signs client assertions.
pub struct AssertionKey {
    key: EncodingKey,
    alg: Algorithm,
    kid: Option<String>,
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: i64,
    exp: i64,
}

impl AssertionKey {
    /// A PEM private key (PKCS#8, or SEC1 for EC) for `ES256`, `RS256` or `PS256`.
    pub fn load(path: &Path, alg: &str, kid: Option<String>) -> Result<AssertionKey, String> {
        let named = |e: &dyn std::fmt::Display| format!("the private key {}: {e}", path.display());
        let pem = std::fs::read(path).map_err(|e| named(&e))?;
        let (alg, key) = match alg {
            "ES256" => (Algorithm::ES256, EncodingKey::from_ec_pem(&pem)),
            "RS256" => (Algorithm::RS256, EncodingKey::from_rsa_pem(&pem)),
            "PS256" => (Algorithm::PS256, EncodingKey::from_rsa_pem(&pem)),
            other => {
                return Err(format!(
                    "private_key_alg '{other}' is not one of ES256, RS256, PS256"
                ));
            }
        };
        let key = key.map_err(|e| named(&e))?;
        let signer = AssertionKey { key, alg, kid };
        // Signing once now tells a key of the wrong kind at start, not at the first PSU.
        signer
            .assertion("check", "check", 0)
            .map_err(|e| named(&e))?;
        Ok(signer)
    }

    /// A client assertion for this token endpoint, issued at `now`.
    pub fn assertion(&self, client_id: &str, audience: &str, now: i64) -> Result<String, String> {
        use aws_lc_rs::rand::SecureRandom;
        let mut nonce = [0u8; 16];
        aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "no randomness".to_owned())?;
        let claims = Assertion {
            iss: client_id,
            sub: client_id,
            aud: audience,
            jti: guichet_eidas::hex(&nonce),
            iat: now,
            exp: now + ASSERTION_SECONDS,
        };
        let mut header = Header::new(self.alg);
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| e.to_string())
    }
}
