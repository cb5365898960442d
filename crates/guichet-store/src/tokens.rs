//! OAuth2 tokens: opaque random strings, kept only as SHA-256 hashes.

use std::fmt;

use crate::read::{Bound, Cols};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::{Result, Store, StoreError};

/// A token as handed to the TPP. It is never stored and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// 256 random bits, base64url.
    pub fn generate() -> Result<TokenSecret> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| StoreError::Corrupt("the system random generator failed".into()))?;
        Ok(TokenSecret(URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn from_presented(text: &str) -> TokenSecret {
        TokenSecret(text.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which the token is stored.
    pub fn hash(&self) -> String {
        hex(digest(&SHA256, self.0.as_bytes()).as_ref())
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(*****)")
    }
}

/// Lower-case hexadecimal, written into one string (a token's hash at every request: a
/// `format!` per byte cost 1.3 % of GET /accounts).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// A token to store. Tokens of one grant share a `family_id`, so that revoking one revokes
/// the others (portal, "Refresh your token").
#[derive(Debug, Clone)]
pub struct NewToken {
    pub kind: TokenKind,
    pub family_id: String,
    pub bank_code: String,
    pub client_id: String,
    pub psu_id: Option<String>,
    pub scopes: Vec<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    /// When the PSU last passed strong customer authentication.
    pub sca_at: Option<i64>,
    /// SHA-256 of the QWAC the token was issued over (RFC 8705 binding).
    pub cert_thumbprint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub family_id: String,
    pub bank_code: String,
    pub client_id: String,
    pub psu_id: Option<String>,
    pub scopes: Vec<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub sca_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub cert_thumbprint: Option<String>,
}

impl TokenRecord {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// An OAuth2 scope string (`"aisp cbpii"`) as its scopes (RFC 6749 §3.3: space-delimited).
pub fn split_scopes(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) fn token_record(row: &dyn Cols) -> Result<TokenRecord> {
    let scopes = row.text("scopes")?;
    Ok(TokenRecord {
        family_id: row.text("family_id")?,
        bank_code: row.text("bank_code")?,
        client_id: row.text("client_id")?,
        psu_id: row.opt_text("psu_id")?,
        scopes: split_scopes(&scopes),
        issued_at: row.int("issued_at")?,
        expires_at: row.int("expires_at")?,
        sca_at: row.opt_int("sca_at")?,
        revoked_at: row.opt_int("revoked_at")?,
        cert_thumbprint: row.opt_text("cert_thumbprint")?,
    })
}

impl Store {
    /// Stores a new token and returns its secret.
    pub async fn issue_token(&self, token: &NewToken) -> Result<TokenSecret> {
        let mut secrets = self
            .issue_tokens(std::slice::from_ref(token), None, 0)
            .await?
            .unwrap_or_default();
        secrets
            .pop()
            .ok_or_else(|| StoreError::Corrupt("no token issued".into()))
    }

    /// Issues tokens together, and revokes `replaced` (a refresh token being renewed), in one
    /// transaction: the TPP gets the whole new pair, or nothing changes. `None` when `replaced`
    /// was already revoked (two renewals raced: only the first wins).
    pub async fn issue_tokens(
        &self,
        tokens: &[NewToken],
        replaced: Option<&TokenSecret>,
        now: i64,
    ) -> Result<Option<Vec<TokenSecret>>> {
        let mut tx = self.begin_write().await?;
        if let Some(old) = replaced {
            let done = sqlx::query(
                "UPDATE tokens SET revoked_at = $1, rotated_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(old.hash())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        let mut secrets = Vec::with_capacity(tokens.len());
        for token in tokens {
            let secret = TokenSecret::generate()?;
            sqlx::query(
                "INSERT INTO tokens (token_hash, kind, family_id, bank_code, client_id, psu_id, scopes, \
                 issued_at, expires_at, sca_at, revoked_at, cert_thumbprint) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11)",
            )
            .bind(secret.hash())
            .bind(token.kind.as_str())
            .bind(token.family_id.as_str())
            .bind(token.bank_code.as_str())
            .bind(token.client_id.as_str())
            .bind(token.psu_id.clone())
            .bind(token.scopes.join(" "))
            .bind(token.issued_at)
            .bind(token.expires_at)
            .bind(token.sca_at)
            .bind(token.cert_thumbprint.clone())
            .execute(&mut *tx)
            .await?;
            secrets.push(secret);
        }
        tx.commit().await?;
        Ok(Some(secrets))
    }

    /// The token of this kind with this secret at this bank, live or not.
    pub async fn find_token(
        &self,
        secret: &TokenSecret,
        kind: TokenKind,
        bank_code: &str,
    ) -> Result<Option<TokenRecord>> {
        let sql = "SELECT family_id, bank_code, client_id, psu_id, scopes, issued_at, expires_at, \
             sca_at, revoked_at, cert_thumbprint FROM tokens \
             WHERE token_hash = $1 AND kind = $2 AND bank_code = $3";
        let binds = [
            Bound::Text(secret.hash()),
            kind.as_str().into(),
            bank_code.into(),
        ];
        self.read_row(sql, &binds, token_record).await
    }

    /// Whether this token was replaced by its renewal (rather than revoked outright).
    pub async fn was_rotated(&self, secret: &TokenSecret) -> Result<bool> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT rotated_at FROM tokens WHERE token_hash = $1")
                .bind(secret.hash())
                .fetch_optional(&self.pool)
                .await?;
        Ok(matches!(row, Some((Some(_),))))
    }

    /// Revokes the refresh tokens of a grant (its access tokens stay); answers how many were
    /// live.
    pub async fn revoke_refresh_tokens(&self, family_id: &str, now: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE family_id = $2 AND kind = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(family_id)
        .bind(TokenKind::Refresh.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Revokes every token of a grant; answers how many were live.
    pub async fn revoke_family(&self, family_id: &str, now: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(family_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// A new random identifier for a token family.
pub fn new_family_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| StoreError::Corrupt("the system random generator failed".into()))?;
    Ok(hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_never_printed() -> Result<()> {
        let a = TokenSecret::generate()?;
        let b = TokenSecret::generate()?;
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert!(!format!("{a:?}").contains(a.expose()));
        assert_eq!(a.hash().len(), 64);
        assert_eq!(a.hash(), TokenSecret::from_presented(a.expose()).hash());
        Ok(())
    }

    /// A token's hash as every store already holds it: SHA-256, lower-case hexadecimal
    /// (FIPS 180-2's "abc" example).
    #[test]
    fn the_hash_is_sha256_in_lower_case_hexadecimal() {
        assert_eq!(
            TokenSecret::from_presented("abc").hash(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }
}
