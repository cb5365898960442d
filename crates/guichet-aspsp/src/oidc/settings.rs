//! `[banks.oidc]`: a bank's OpenID provider, as the configuration file states it.

use std::path::PathBuf;

use openidconnect::core::CoreJwsSigningAlgorithm;
use serde::Deserialize;

use super::client_auth::{AssertionKey, ClientAuth};

/// How Guichet authenticates at the provider's token endpoint.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    #[default]
    ClientSecretBasic,
    PrivateKeyJwt,
}

/// The bank's OpenID Connect provider that performs the PSU's SCA.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The provider's issuer, exactly as its discovery document states it
    /// (`<issuer>/.well-known/openid-configuration` is read).
    pub issuer: String,
    /// Guichet's client_id at the provider.
    pub client_id: String,
    #[serde(default)]
    pub client_auth: ClientAuthMethod,
    /// `client_secret_basic`: a file holding the secret (kept out of the configuration).
    pub client_secret_file: Option<PathBuf>,
    /// `private_key_jwt`: Guichet's private key, PEM.
    pub private_key_file: Option<PathBuf>,
    /// `ES256` (default), `RS256` or `PS256`.
    #[serde(default = "default_key_alg")]
    pub private_key_alg: String,
    /// The `kid` of that key in the JWKS the provider knows for Guichet.
    pub private_key_id: Option<String>,
    /// Guichet's callback as registered at the provider; by default the bank's PSU pages'
    /// origin followed by `/sca/callback`.
    pub redirect_uri: Option<String>,
    /// Scopes asked besides `openid`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The ID token claim that holds the bank's PSU identifier (`psuId` of the customer file).
    #[serde(default = "default_psu_claim")]
    pub psu_claim: String,
    /// The `acr` values that mean SCA at this bank; sent as `acr_values` too.
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// Require `amr` to show elements of two PSD2 categories (RFC 8176 methods).
    #[serde(default)]
    pub two_factor_amr: bool,
    /// Algorithms the ID token may be signed with (asymmetric only).
    #[serde(default = "default_algs")]
    pub id_token_algs: Vec<String>,
    /// The most a call to the provider may take, in seconds (1 to 30).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// How long the discovery document and JWKS are kept, in seconds.
    #[serde(default = "default_refresh")]
    pub metadata_refresh_seconds: u64,
    /// A PEM file of CA certificates to trust for the provider, besides the system's.
    pub ca_file: Option<PathBuf>,
}

fn default_key_alg() -> String {
    "ES256".into()
}
fn default_psu_claim() -> String {
    "sub".into()
}
fn default_algs() -> Vec<String> {
    vec!["RS256".into(), "ES256".into()]
}
fn default_timeout() -> u64 {
    5
}
fn default_refresh() -> u64 {
    3600
}

/// Claims that are no PSU identifier: the protocol's own (OpenID Connect Core 1.0 §2) and
/// the standard profile claims (§5.1), which the crate reads apart and users may change.
const NOT_A_PSU_CLAIM: &[&str] = &[
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
];

/// Symmetric and unsigned ID tokens are never accepted: the client secret is no key of the
/// provider's, and `none` proves nothing.
const ASYMMETRIC: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

impl OidcSettings {
    pub fn validate(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.issuer)
            .map_err(|e| format!("oidc.issuer '{}': {e}", self.issuer))?;
        // OpenID Connect Discovery 1.0 §3: the issuer is an https URL; plain http only on
        // the loopback, for tests.
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(format!("oidc.issuer '{}' must be https", self.issuer));
        }
        if self.client_id.is_empty() {
            return Err("oidc.client_id is empty".into());
        }
        if !(1..=30).contains(&self.timeout_seconds) {
            return Err("oidc.timeout_seconds must be 1 to 30".into());
        }
        if self.metadata_refresh_seconds < 60 {
            return Err("oidc.metadata_refresh_seconds must be at least 60".into());
        }
        if self.psu_claim.is_empty() {
            return Err("oidc.psu_claim is empty".into());
        }
        if self.psu_claim != "sub" && NOT_A_PSU_CLAIM.contains(&self.psu_claim.as_str()) {
            return Err(format!(
                "oidc.psu_claim '{}' cannot name the PSU: use sub or a claim of the bank's own \
                 (standard profile claims such as email can be changed by their user)",
                self.psu_claim
            ));
        }
        if let Some(uri) = &self.redirect_uri {
            let url =
                url::Url::parse(uri).map_err(|e| format!("oidc.redirect_uri '{uri}': {e}"))?;
            // The session cookie is `Secure`: the callback must be https to receive it.
            if url.scheme() != "https" {
                return Err(format!("oidc.redirect_uri '{uri}' must be https"));
            }
        }
        Ok(())
    }

    /// The credential, read from its file.
    pub fn client_auth(&self) -> Result<ClientAuth, String> {
        match self.client_auth {
            ClientAuthMethod::ClientSecretBasic => {
                let path = self.client_secret_file.as_deref().ok_or(
                    "oidc.client_secret_file is needed with client_auth = \"client_secret_basic\"",
                )?;
                ClientAuth::secret_file(path)
            }
            ClientAuthMethod::PrivateKeyJwt => {
                let path = self.private_key_file.as_deref().ok_or(
                    "oidc.private_key_file is needed with client_auth = \"private_key_jwt\"",
                )?;
                AssertionKey::load(path, &self.private_key_alg, self.private_key_id.clone())
                    .map(ClientAuth::PrivateKeyJwt)
            }
        }
    }

    pub fn signing_algs(&self) -> Result<Vec<CoreJwsSigningAlgorithm>, String> {
        if self.id_token_algs.is_empty() {
            return Err("oidc.id_token_algs is empty".into());
        }
        self.id_token_algs
            .iter()
            .map(|name| {
                if !ASYMMETRIC.contains(&name.as_str()) {
                    return Err(format!(
                        "oidc.id_token_algs: '{name}' is not one of {}",
                        ASYMMETRIC.join(", ")
                    ));
                }
                serde_json::from_value(serde_json::Value::String(name.clone()))
                    .map_err(|e| format!("oidc.id_token_algs: '{name}': {e}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &str) -> Result<OidcSettings, toml::de::Error> {
        toml::from_str(&format!(
            "issuer = \"https://login.bank.example\"\nclient_id = \"guichet\"\n{extra}"
        ))
    }

    #[test]
    fn defaults_are_those_documented() -> Result<(), Box<dyn std::error::Error>> {
        let s = settings("acr_values = [\"urn:bank:sca\"]")?;
        assert_eq!(s.client_auth, ClientAuthMethod::ClientSecretBasic);
        assert_eq!(s.psu_claim, "sub");
        assert_eq!(s.timeout_seconds, 5);
        assert_eq!(s.id_token_algs, ["RS256", "ES256"]);
        assert!(s.validate().is_ok());
        assert_eq!(s.signing_algs()?.len(), 2);
        Ok(())
    }

    #[test]
    fn unsafe_settings_are_refused() -> Result<(), Box<dyn std::error::Error>> {
        assert!(
            settings("id_token_algs = [\"HS256\"]")?
                .signing_algs()
                .is_err()
        );
        assert!(
            settings("id_token_algs = [\"none\"]")?
                .signing_algs()
                .is_err()
        );
        assert!(settings("timeout_seconds = 0")?.validate().is_err());
        assert!(settings("unknown = 1").is_err());
        let plain: OidcSettings =
            toml::from_str("issuer = \"http://login.bank.example\"\nclient_id = \"guichet\"")?;
        assert!(plain.validate().is_err());
        let loopback: OidcSettings =
            toml::from_str("issuer = \"http://127.0.0.1:4000\"\nclient_id = \"guichet\"")?;
        assert!(loopback.validate().is_ok());
        assert!(settings("psu_claim = \"email\"")?.validate().is_err());
        assert!(settings("psu_claim = \"nonce\"")?.validate().is_err());
        assert!(settings("psu_claim = \"psu_id\"")?.validate().is_ok());
        let plain_callback = settings("redirect_uri = \"http://bank.example/sca/callback\"")?;
        assert!(plain_callback.validate().is_err());
        // No secret file: the start stops with a message naming the setting.
        let missing = settings("")?.client_auth().err().unwrap_or_default();
        assert!(missing.contains("client_secret_file"), "{missing}");
        Ok(())
    }
}
