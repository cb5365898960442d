//! The mixed consent (STET CR164): per PSU × TPP × bank × account × operation.

use std::collections::BTreeSet;

use crate::read::Cols;
use crate::{Result, Store};

/// The two per-account operations a consent grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Balances,
    Transactions,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Balances => "balances",
            Operation::Transactions => "transactions",
        }
    }
}

/// The consent a PSU gave a TPP at a bank, as last forwarded by PUT /consents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentRecord {
    /// Account resource ids granted for balances.
    pub balances: BTreeSet<String>,
    /// Account resource ids granted for transactions.
    pub transactions: BTreeSet<String>,
    pub psu_identity: bool,
    pub trusted_beneficiaries: bool,
    pub updated_at: i64,
}

impl ConsentRecord {
    pub fn allows(&self, account_id: &str, operation: Operation) -> bool {
        match operation {
            Operation::Balances => self.balances.contains(account_id),
            Operation::Transactions => self.transactions.contains(account_id),
        }
    }

    /// Whether the account is named for any operation.
    pub fn covers(&self, account_id: &str) -> bool {
        self.balances.contains(account_id) || self.transactions.contains(account_id)
    }

    /// Portal: "if all granted accounts have been revoked" the list is shown as before any
    /// consent.
    pub fn grants_any_account(&self) -> bool {
        !self.balances.is_empty() || !self.transactions.is_empty()
    }
}

/// psu_identity, trusted_beneficiaries, updated_at (NULL when there is no consent, in an outer
/// join), account_id, operation.
pub(crate) type ConsentRow = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// A consent's columns as read by [`consent_row`]'s select list (`c.` the consent, `a.` its
/// accounts).
pub(crate) const CONSENT_COLUMNS: &str =
    "c.psu_identity, c.trusted_beneficiaries, c.updated_at, a.account_id, a.operation";

pub(crate) fn consent_row(row: &dyn Cols) -> Result<ConsentRow> {
    Ok((
        row.opt_int("psu_identity")?,
        row.opt_int("trusted_beneficiaries")?,
        row.opt_int("updated_at")?,
        row.opt_text("account_id")?,
        row.opt_text("operation")?,
    ))
}

/// The consent the rows of one consent and its accounts describe (one row per granted account
/// and operation, or one row of NULL accounts); none when the rows hold no consent.
pub(crate) fn fold_consent(rows: Vec<ConsentRow>) -> Option<ConsentRecord> {
    let (Some(psu_identity), Some(trusted_beneficiaries), Some(updated_at), _, _) =
        rows.first().cloned()?
    else {
        return None;
    };
    let mut consent = ConsentRecord {
        psu_identity: psu_identity != 0,
        trusted_beneficiaries: trusted_beneficiaries != 0,
        updated_at,
        ..ConsentRecord::default()
    };
    for (_, _, _, account_id, operation) in rows {
        match (account_id, operation.as_deref()) {
            (Some(id), Some("balances")) => consent.balances.insert(id),
            (Some(id), Some("transactions")) => consent.transactions.insert(id),
            _ => false,
        };
    }
    Some(consent)
}

impl Store {
    pub async fn consent(
        &self,
        bank_code: &str,
        psu_id: &str,
        client_id: &str,
    ) -> Result<Option<ConsentRecord>> {
        // One round trip: the flags, and one row per granted account and operation (or one row
        // of NULLs when the consent names no account).
        let sql = format!(
            "SELECT {CONSENT_COLUMNS} FROM consents c LEFT JOIN consent_accounts a \
               ON a.bank_code = c.bank_code AND a.psu_id = c.psu_id AND a.client_id = c.client_id \
             WHERE c.bank_code = $1 AND c.psu_id = $2 AND c.client_id = $3"
        );
        let binds = [bank_code.into(), psu_id.into(), client_id.into()];
        let rows = self.read_rows(&sql, &binds, consent_row).await?;
        Ok(fold_consent(rows))
    }

    /// Replaces the whole consent in one transaction: either the new consent is stored in full
    /// or the old one stays (STET: "This consent replaces any prior consent").
    pub async fn replace_consent(
        &self,
        bank_code: &str,
        psu_id: &str,
        client_id: &str,
        consent: &ConsentRecord,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO consents (bank_code, psu_id, client_id, psu_identity, trusted_beneficiaries, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (bank_code, psu_id, client_id) DO UPDATE SET \
               psu_identity = excluded.psu_identity, \
               trusted_beneficiaries = excluded.trusted_beneficiaries, \
               updated_at = excluded.updated_at",
        )
        .bind(bank_code)
        .bind(psu_id)
        .bind(client_id)
        .bind(i64::from(consent.psu_identity))
        .bind(i64::from(consent.trusted_beneficiaries))
        .bind(consent.updated_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM consent_accounts WHERE bank_code = $1 AND psu_id = $2 AND client_id = $3",
        )
        .bind(bank_code)
        .bind(psu_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        let grants = consent
            .balances
            .iter()
            .map(|id| (id, Operation::Balances))
            .chain(
                consent
                    .transactions
                    .iter()
                    .map(|id| (id, Operation::Transactions)),
            );
        for (account_id, operation) in grants {
            sqlx::query(
                "INSERT INTO consent_accounts (bank_code, psu_id, client_id, account_id, operation) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(bank_code)
            .bind(psu_id)
            .bind(client_id)
            .bind(account_id.as_str())
            .bind(operation.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes a TPP's consent altogether (the PSU revoking the TPP's access).
    pub async fn delete_consent(
        &self,
        bank_code: &str,
        psu_id: &str,
        client_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for table in ["consent_accounts", "consents"] {
            let sql = format!(
                "DELETE FROM {table} WHERE bank_code = $1 AND psu_id = $2 AND client_id = $3"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(bank_code)
                .bind(psu_id)
                .bind(client_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
