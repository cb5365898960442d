//! The authorization server's records: SCA attempts, single-use authorization codes, the
//! PSU's grants per TPP, fallback uses.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::tokens::TokenSecret;
use crate::{Result, Store};

/// One PSU journey through the bank's SCA pages (authorize, manage access, fallback login).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaAttempt {
    pub id: String,
    pub bank_code: String,
    /// `authorize`, `manage` or `fallback`.
    pub purpose: String,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub csrf: String,
    pub psu_id: Option<String>,
    /// `login`, `otp`, `done`, `locked`, `cancelled`.
    pub stage: String,
    pub failures: i64,
    pub otp_hash: Option<String>,
    /// The sandbox's stand-in for the SMS: the code, shown on the page. Never set in production.
    pub otp_shown: Option<String>,
    pub sca_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    /// SCA delegated to the bank's OpenID provider: what its callback must match.
    pub delegated: Option<DelegatedLogin>,
}

/// What an authorization request to the bank's OpenID provider sent, kept for its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegatedLogin {
    /// SHA-256 of the `state` sent, hex: the value itself is never stored.
    pub state_hash: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE `code_verifier` (RFC 7636) of the code exchange.
    pub verifier: String,
}

fn attempt(row: &AnyRow) -> Result<ScaAttempt> {
    Ok(ScaAttempt {
        id: row.try_get("id")?,
        bank_code: row.try_get("bank_code")?,
        purpose: row.try_get("purpose")?,
        client_id: row.try_get("client_id")?,
        redirect_uri: row.try_get("redirect_uri")?,
        scope: row.try_get("scope")?,
        state: row.try_get("state")?,
        code_challenge: row.try_get("code_challenge")?,
        csrf: row.try_get("csrf")?,
        psu_id: row.try_get("psu_id")?,
        stage: row.try_get("stage")?,
        failures: row.try_get("failures")?,
        otp_hash: row.try_get("otp_hash")?,
        otp_shown: row.try_get("otp_shown")?,
        sca_at: row.try_get("sca_at")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        delegated: delegated(
            row.try_get("oidc_state_hash")?,
            row.try_get("oidc_nonce")?,
            row.try_get("oidc_verifier")?,
        ),
    })
}

fn delegated(
    state_hash: Option<String>,
    nonce: Option<String>,
    verifier: Option<String>,
) -> Option<DelegatedLogin> {
    Some(DelegatedLogin {
        state_hash: state_hash?,
        nonce: nonce?,
        verifier: verifier?,
    })
}

/// The three delegated-login columns of an attempt, NULL without one.
fn delegated_columns(a: &ScaAttempt) -> [Option<String>; 3] {
    match &a.delegated {
        Some(d) => [
            Some(d.state_hash.clone()),
            Some(d.nonce.clone()),
            Some(d.verifier.clone()),
        ],
        None => [None, None, None],
    }
}

/// An authorization code being redeemed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub bank_code: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub psu_id: String,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
    pub sca_at: i64,
    pub expires_at: i64,
}

/// What redeeming a code gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    Fresh(AuthCode),
    /// Used before: the tokens it gave (`family_id`) must be revoked (RFC 6749 §4.1.2).
    Replayed {
        family_id: Option<String>,
    },
    Unknown,
}

/// A TPP that holds a live grant of a PSU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsuGrant {
    pub client_id: String,
    pub name: Option<String>,
    pub scopes: String,
    pub sca_at: Option<i64>,
    pub expires_at: i64,
}

impl Store {
    pub async fn create_attempt(&self, a: &ScaAttempt) -> Result<()> {
        let [state_hash, nonce, verifier] = delegated_columns(a);
        sqlx::query(
            "INSERT INTO sca_attempts (id, bank_code, purpose, client_id, redirect_uri, scope, state, code_challenge, \
             csrf, psu_id, stage, failures, otp_hash, otp_shown, sca_at, created_at, expires_at, \
             oidc_state_hash, oidc_nonce, oidc_verifier) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .bind(a.id.as_str())
        .bind(a.bank_code.as_str())
        .bind(a.purpose.as_str())
        .bind(a.client_id.clone())
        .bind(a.redirect_uri.clone())
        .bind(a.scope.clone())
        .bind(a.state.clone())
        .bind(a.code_challenge.clone())
        .bind(a.csrf.as_str())
        .bind(a.psu_id.clone())
        .bind(a.stage.as_str())
        .bind(a.failures)
        .bind(a.otp_hash.clone())
        .bind(a.otp_shown.clone())
        .bind(a.sca_at)
        .bind(a.created_at)
        .bind(a.expires_at)
        .bind(state_hash)
        .bind(nonce)
        .bind(verifier)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn attempt(&self, id: &str) -> Result<Option<ScaAttempt>> {
        let row = sqlx::query("SELECT * FROM sca_attempts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| attempt(&row)).transpose()
    }

    /// Forgets the SCA attempts that expired before `before`: a finished or abandoned journey,
    /// with whatever a delegated login left on it. Answers how many.
    pub async fn prune_attempts(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sca_attempts WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Saves an attempt's progress if it is still at `expected_stage` (so that two tabs or a
    /// replayed form cannot move it twice); answers whether it was saved.
    pub async fn advance_attempt(&self, a: &ScaAttempt, expected_stage: &str) -> Result<bool> {
        let [state_hash, nonce, verifier] = delegated_columns(a);
        let done = sqlx::query(
            "UPDATE sca_attempts SET psu_id = $1, stage = $2, failures = $3, otp_hash = $4, otp_shown = $5, sca_at = $6, \
             oidc_state_hash = $9, oidc_nonce = $10, oidc_verifier = $11 \
             WHERE id = $7 AND stage = $8",
        )
        .bind(a.psu_id.clone())
        .bind(a.stage.as_str())
        .bind(a.failures)
        .bind(a.otp_hash.clone())
        .bind(a.otp_shown.clone())
        .bind(a.sca_at)
        .bind(a.id.as_str())
        .bind(expected_stage)
        .bind(state_hash)
        .bind(nonce)
        .bind(verifier)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a single-use authorization code and returns it.
    pub async fn issue_code(&self, code: &AuthCode) -> Result<TokenSecret> {
        let secret = TokenSecret::generate()?;
        sqlx::query(
            "INSERT INTO auth_codes (code_hash, bank_code, client_id, redirect_uri, psu_id, scopes, code_challenge, \
             sca_at, expires_at, used_at, family_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL)",
        )
        .bind(secret.hash())
        .bind(code.bank_code.as_str())
        .bind(code.client_id.as_str())
        .bind(code.redirect_uri.as_str())
        .bind(code.psu_id.as_str())
        .bind(code.scopes.join(" "))
        .bind(code.code_challenge.clone())
        .bind(code.sca_at)
        .bind(code.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(secret)
    }

    /// Marks a code used, atomically: only the first redemption gets it.
    pub async fn redeem_code(
        &self,
        secret: &TokenSecret,
        bank_code: &str,
        now: i64,
    ) -> Result<Redeemed> {
        let row = sqlx::query(
            "UPDATE auth_codes SET used_at = $1 WHERE code_hash = $2 AND bank_code = $3 AND used_at IS NULL \
             RETURNING bank_code, client_id, redirect_uri, psu_id, scopes, code_challenge, sca_at, expires_at",
        )
        .bind(now)
        .bind(secret.hash())
        .bind(bank_code)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            let scopes: String = row.try_get("scopes")?;
            return Ok(Redeemed::Fresh(AuthCode {
                bank_code: row.try_get("bank_code")?,
                client_id: row.try_get("client_id")?,
                redirect_uri: row.try_get("redirect_uri")?,
                psu_id: row.try_get("psu_id")?,
                scopes: crate::tokens::split_scopes(&scopes),
                code_challenge: row.try_get("code_challenge")?,
                sca_at: row.try_get("sca_at")?,
                expires_at: row.try_get("expires_at")?,
            }));
        }
        let used: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT family_id FROM auth_codes WHERE code_hash = $1 AND bank_code = $2",
        )
        .bind(secret.hash())
        .bind(bank_code)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match used {
            Some((family_id,)) => Redeemed::Replayed { family_id },
            None => Redeemed::Unknown,
        })
    }

    /// Remembers which tokens a code gave, for the replay rule.
    pub async fn set_code_family(&self, secret: &TokenSecret, family_id: &str) -> Result<()> {
        sqlx::query("UPDATE auth_codes SET family_id = $1 WHERE code_hash = $2")
            .bind(family_id)
            .bind(secret.hash())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Gives back a redeemed code whose tokens were not issued: the database failed for a
    /// moment after the code was redeemed (its redemption and its tokens are two
    /// transactions), so that the TPP's request, made again, redeems it afresh rather than
    /// being told it was used. A code that gave tokens is never given back. Answers whether
    /// it was.
    pub async fn give_back_code(&self, secret: &TokenSecret, bank_code: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE auth_codes SET used_at = NULL, family_id = NULL \
             WHERE code_hash = $1 AND bank_code = $2 AND used_at IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.family_id = auth_codes.family_id)",
        )
        .bind(secret.hash())
        .bind(bank_code)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The token with this secret, of either kind, at this bank.
    pub async fn find_any_token(
        &self,
        secret: &TokenSecret,
        bank_code: &str,
    ) -> Result<Option<crate::TokenRecord>> {
        for kind in [crate::TokenKind::Access, crate::TokenKind::Refresh] {
            if let Some(record) = self.find_token(secret, kind, bank_code).await? {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// The TPPs holding a live refresh token of this PSU at this bank.
    pub async fn psu_grants(
        &self,
        bank_code: &str,
        psu_id: &str,
        now: i64,
    ) -> Result<Vec<PsuGrant>> {
        let rows = sqlx::query(
            "SELECT t.client_id, p.name, t.scopes, t.sca_at, t.expires_at FROM tokens t \
             LEFT JOIN tpps p ON p.client_id = t.client_id \
             WHERE t.bank_code = $1 AND t.psu_id = $2 AND t.kind = 'refresh' AND t.revoked_at IS NULL AND t.expires_at > $3 \
             ORDER BY t.client_id, t.expires_at DESC",
        )
        .bind(bank_code)
        .bind(psu_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut grants: Vec<PsuGrant> = Vec::new();
        for row in rows {
            let client_id: String = row.try_get("client_id")?;
            if grants.iter().any(|g| g.client_id == client_id) {
                continue;
            }
            grants.push(PsuGrant {
                client_id,
                name: row.try_get("name")?,
                scopes: row.try_get("scopes")?,
                sca_at: row.try_get("sca_at")?,
                expires_at: row.try_get("expires_at")?,
            });
        }
        Ok(grants)
    }

    /// The PSU withdraws a TPP's access: every token of that TPP for this PSU goes, and its
    /// consent, in one transaction. Answers how many tokens were live.
    pub async fn revoke_psu_access(
        &self,
        bank_code: &str,
        psu_id: &str,
        client_id: &str,
        now: i64,
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE bank_code = $2 AND psu_id = $3 AND client_id = $4 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(bank_code)
        .bind(psu_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        for table in ["consent_accounts", "consents"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE bank_code = $1 AND psu_id = $2 AND client_id = $3"
            )))
            .bind(bank_code)
            .bind(psu_id)
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Records a use of the fallback interface, for the supervision report (RTS art. 33).
    pub async fn record_fallback(
        &self,
        jti: &str,
        bank_code: &str,
        client_id: &str,
        psu_ip: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO fallback_uses (jti, bank_code, client_id, psu_ip, used_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(jti)
            .bind(bank_code)
            .bind(client_id)
            .bind(psu_ip)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Fallback uses of a bank since `since`: (jti, client_id, used_at).
    pub async fn fallback_uses(
        &self,
        bank_code: &str,
        since: i64,
    ) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as("SELECT jti, client_id, used_at FROM fallback_uses WHERE bank_code = $1 AND used_at >= $2 ORDER BY used_at")
            .bind(bank_code)
            .bind(since)
            .fetch_all(&self.pool)
            .await?)
    }
}
