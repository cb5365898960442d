//! Funds-confirmation registrations (CBPII).
//!
//! PSD2 art. 65(2)(c): the bank answers a card-based payment instrument issuer only when "the
//! payer has given explicit consent to the account servicing payment service provider to
//! respond to requests from a specific payment service provider"; the portal: "the TPP and the
//! PSU have a contract that has been registered by the ASPSP". A registration names one PSU,
//! one TPP and one account; revoking it keeps the row (with `revoked_at`) for the record.

use sqlx::Row;

use crate::{Result, Store};

/// A live registration, as shown to the PSU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundsCheckRecord {
    pub client_id: String,
    /// The TPP's registered name; `None` when the TPP is not registered (any more).
    pub tpp_name: Option<String>,
    /// The account resource id.
    pub account_id: String,
    /// The account's IBAN; `None` when the account no longer exists.
    pub iban: Option<String>,
    pub registered_at: i64,
}

impl Store {
    /// Registers the PSU's contract with a TPP for funds confirmations on one account. Registering
    /// again renews it: `registered_at` becomes `now` and a revocation is cleared.
    pub async fn register_funds_check(
        &self,
        bank_code: &str,
        psu_id: &str,
        client_id: &str,
        account_id: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO funds_checks (bank_code, psu_id, client_id, account_id, registered_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, NULL) \
             ON CONFLICT (bank_code, psu_id, client_id, account_id) \
             DO UPDATE SET registered_at = excluded.registered_at, revoked_at = NULL",
        )
        .bind(bank_code)
        .bind(psu_id)
        .bind(client_id)
        .bind(account_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes a registration; answers whether a live one was revoked.
    pub async fn revoke_funds_check(
        &self,
        bank_code: &str,
        psu_id: &str,
        client_id: &str,
        account_id: &str,
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE funds_checks SET revoked_at = $1 \
             WHERE bank_code = $2 AND psu_id = $3 AND client_id = $4 AND account_id = $5 \
             AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(bank_code)
        .bind(psu_id)
        .bind(client_id)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The PSU's live registrations at a bank, by TPP then account, with the TPP's name and the
    /// account's IBAN.
    pub async fn funds_checks(
        &self,
        bank_code: &str,
        psu_id: &str,
    ) -> Result<Vec<FundsCheckRecord>> {
        let rows = sqlx::query(
            "SELECT f.client_id, p.name AS tpp_name, f.account_id, a.iban, f.registered_at \
             FROM funds_checks f \
             LEFT JOIN tpps p ON p.client_id = f.client_id \
             LEFT JOIN accounts a ON a.bank_code = f.bank_code AND a.resource_id = f.account_id \
             WHERE f.bank_code = $1 AND f.psu_id = $2 AND f.revoked_at IS NULL \
             ORDER BY f.client_id, f.account_id",
        )
        .bind(bank_code)
        .bind(psu_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FundsCheckRecord {
                    client_id: row.try_get("client_id")?,
                    tpp_name: row.try_get("tpp_name")?,
                    account_id: row.try_get("account_id")?,
                    iban: row.try_get("iban")?,
                    registered_at: row.try_get("registered_at")?,
                })
            })
            .collect()
    }

    /// Whether the TPP may be told about the funds of this account: a live registration for
    /// that TPP and account, by that PSU when `psu_id` is given (the request names the PSU), by
    /// any PSU otherwise.
    pub async fn funds_check_allowed(
        &self,
        bank_code: &str,
        client_id: &str,
        account_id: &str,
        psu_id: Option<&str>,
    ) -> Result<bool> {
        // One statement for both: an empty PSU stands for "any PSU".
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) AS n FROM funds_checks \
             WHERE bank_code = $1 AND client_id = $2 AND account_id = $3 \
             AND ($4 = '' OR psu_id = $4) AND revoked_at IS NULL",
        )
        .bind(bank_code)
        .bind(client_id)
        .bind(account_id)
        .bind(psu_id.unwrap_or(""))
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }
}
