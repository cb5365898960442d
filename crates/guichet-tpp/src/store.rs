//! The TPP's local copy of what it synced: accounts, balances, transactions, in an SQLite file.
//! Transactions are keyed by the bank's resourceId (else its entryReference), so a second sync
//! updates an operation that went from OTHR to BOOK instead of duplicating it.

use std::path::Path;
use std::str::FromStr;

use rust_decimal::Decimal;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Executor, Row};

use crate::error::TppError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (bank TEXT NOT NULL, iban TEXT NOT NULL, resource_id TEXT, name TEXT NOT NULL,
  currency TEXT NOT NULL, PRIMARY KEY (bank, iban));
CREATE TABLE IF NOT EXISTS balances (bank TEXT NOT NULL, iban TEXT NOT NULL, balance_type TEXT NOT NULL, amount TEXT NOT NULL,
  currency TEXT NOT NULL, reference_date TEXT, fetched_at INTEGER NOT NULL, PRIMARY KEY (bank, iban, balance_type));
CREATE TABLE IF NOT EXISTS transactions (bank TEXT NOT NULL, iban TEXT NOT NULL, key TEXT NOT NULL, entry_reference TEXT,
  resource_id TEXT, amount TEXT NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL, day TEXT NOT NULL, label TEXT NOT NULL,
  first_seen INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (bank, iban, key));
CREATE INDEX IF NOT EXISTS transactions_by_day ON transactions (day);
CREATE TABLE IF NOT EXISTS sync_state (bank TEXT PRIMARY KEY, last_sync INTEGER NOT NULL, last_day TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS call_budget (bank TEXT NOT NULL, account TEXT NOT NULL, method TEXT NOT NULL, day TEXT NOT NULL,
  calls INTEGER NOT NULL, PRIMARY KEY (bank, account, method, day));
";

/// A synced operation, with its signed amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTransaction {
    pub bank: String,
    pub iban: String,
    pub key: String,
    pub entry_reference: Option<String>,
    pub amount: Decimal,
    pub currency: String,
    pub status: String,
    pub day: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAccount {
    pub bank: String,
    pub iban: String,
    pub resource_id: Option<String>,
    pub name: String,
    pub currency: String,
    /// The accounting balance (CLBD), when synced.
    pub balance: Option<Decimal>,
}

/// Whether an upserted operation was new, changed, or already known as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    New,
    Updated,
    Same,
}

#[derive(Clone)]
pub struct LocalStore {
    pool: SqlitePool,
}

impl LocalStore {
    /// Opens (or creates) the store; an error names the file.
    pub async fn open(path: &Path) -> Result<LocalStore, TppError> {
        let named = |e: &dyn std::fmt::Display| TppError::Local(format!("{}: {e}", path.display()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| named(&e))?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|e| named(&e))?
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| named(&e))?;
        for statement in SCHEMA.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            pool.execute(sqlx::AssertSqlSafe(statement.to_owned()))
                .await
                .map_err(|e| named(&e))?;
        }
        Ok(LocalStore { pool })
    }

    pub async fn save_account(
        &self,
        bank: &str,
        iban: &str,
        resource_id: Option<&str>,
        name: &str,
        currency: &str,
    ) -> Result<(), TppError> {
        sqlx::query(
            "INSERT INTO accounts (bank, iban, resource_id, name, currency) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (bank, iban) DO UPDATE SET resource_id = COALESCE(excluded.resource_id, accounts.resource_id), name = excluded.name",
        )
        .bind(bank)
        .bind(iban)
        .bind(resource_id)
        .bind(name)
        .bind(currency)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments, reason = "one column each, all required")]
    pub async fn save_balance(
        &self,
        bank: &str,
        iban: &str,
        kind: &str,
        amount: Decimal,
        currency: &str,
        reference_date: Option<&str>,
        now: i64,
    ) -> Result<(), TppError> {
        sqlx::query(
            "INSERT INTO balances (bank, iban, balance_type, amount, currency, reference_date, fetched_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (bank, iban, balance_type) DO UPDATE SET amount = excluded.amount, reference_date = excluded.reference_date, fetched_at = excluded.fetched_at",
        )
        .bind(bank)
        .bind(iban)
        .bind(kind)
        .bind(amount.to_string())
        .bind(currency)
        .bind(reference_date)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn upsert_transaction(
        &self,
        tx: &LocalTransaction,
        now: i64,
    ) -> Result<Upsert, TppError> {
        let before: Option<(String, String, String)> = sqlx::query_as("SELECT status, amount, day FROM transactions WHERE bank = $1 AND iban = $2 AND key = $3")
            .bind(&tx.bank)
            .bind(&tx.iban)
            .bind(&tx.key)
            .fetch_optional(&self.pool)
            .await?;
        let outcome = match &before {
            None => Upsert::New,
            Some((status, amount, day))
                if *status == tx.status && *amount == tx.amount.to_string() && *day == tx.day =>
            {
                Upsert::Same
            }
            Some(_) => Upsert::Updated,
        };
        if outcome == Upsert::Same {
            return Ok(outcome);
        }
        sqlx::query(
            "INSERT INTO transactions (bank, iban, key, entry_reference, resource_id, amount, currency, status, day, label, first_seen, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
             ON CONFLICT (bank, iban, key) DO UPDATE SET entry_reference = COALESCE(excluded.entry_reference, transactions.entry_reference), \
             amount = excluded.amount, status = excluded.status, day = excluded.day, label = excluded.label, updated_at = excluded.updated_at",
        )
        .bind(&tx.bank)
        .bind(&tx.iban)
        .bind(&tx.key)
        .bind(&tx.entry_reference)
        .bind(tx.key.clone())
        .bind(tx.amount.to_string())
        .bind(&tx.currency)
        .bind(&tx.status)
        .bind(&tx.day)
        .bind(&tx.label)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(outcome)
    }

    pub async fn accounts(&self) -> Result<Vec<LocalAccount>, TppError> {
        let rows = sqlx::query(
            "SELECT a.bank, a.iban, a.resource_id, a.name, a.currency, b.amount FROM accounts a \
             LEFT JOIN balances b ON b.bank = a.bank AND b.iban = a.iban AND b.balance_type = 'CLBD' ORDER BY a.bank, a.iban",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let amount: Option<String> = row.try_get("amount")?;
                Ok(LocalAccount {
                    bank: row.try_get("bank")?,
                    iban: row.try_get("iban")?,
                    resource_id: row.try_get("resource_id")?,
                    name: row.try_get("name")?,
                    currency: row.try_get("currency")?,
                    balance: amount.and_then(|a| Decimal::from_str(&a).ok()),
                })
            })
            .collect()
    }

    /// Operations, oldest first, of days in `[from, to)` when given.
    pub async fn transactions(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<LocalTransaction>, TppError> {
        let rows = sqlx::query(
            "SELECT bank, iban, key, entry_reference, amount, currency, status, day, label FROM transactions \
             WHERE ($1 IS NULL OR day >= $1) AND ($2 IS NULL OR day < $2) ORDER BY day, bank, iban, key",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let amount: String = row.try_get("amount")?;
                Ok(LocalTransaction {
                    bank: row.try_get("bank")?,
                    iban: row.try_get("iban")?,
                    key: row.try_get("key")?,
                    entry_reference: row.try_get("entry_reference")?,
                    amount: Decimal::from_str(&amount).unwrap_or_default(),
                    currency: row.try_get("currency")?,
                    status: row.try_get("status")?,
                    day: row.try_get("day")?,
                    label: row.try_get("label")?,
                })
            })
            .collect()
    }

    pub async fn record_sync(&self, bank: &str, now: i64, day: &str) -> Result<(), TppError> {
        sqlx::query("INSERT INTO sync_state (bank, last_sync, last_day) VALUES ($1, $2, $3) ON CONFLICT (bank) DO UPDATE SET last_sync = excluded.last_sync, last_day = excluded.last_day")
            .bind(bank)
            .bind(now)
            .bind(day)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The day of the last successful sync of a bank.
    pub async fn last_sync_day(&self, bank: &str) -> Result<Option<String>, TppError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT last_day FROM sync_state WHERE bank = $1")
                .bind(bank)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(day,)| day))
    }

    /// When the last successful sync of a bank ended (Unix seconds).
    pub async fn last_sync_at(&self, bank: &str) -> Result<Option<i64>, TppError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT last_sync FROM sync_state WHERE bank = $1")
                .bind(bank)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(at,)| at))
    }

    /// Batch calls made today for an account and method (the TPP's own count).
    pub async fn calls_today(
        &self,
        bank: &str,
        account: &str,
        method: &str,
        day: &str,
    ) -> Result<i64, TppError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT calls FROM call_budget WHERE bank = $1 AND account = $2 AND method = $3 AND day = $4")
            .bind(bank)
            .bind(account)
            .bind(method)
            .bind(day)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map_or(0, |(calls,)| calls))
    }

    /// Sets today's count from what the bank reported (`limit - remaining`): the bank counts
    /// every page of a paginated answer.
    pub async fn set_calls(
        &self,
        bank: &str,
        account: &str,
        method: &str,
        day: &str,
        calls: i64,
    ) -> Result<(), TppError> {
        sqlx::query(
            "INSERT INTO call_budget (bank, account, method, day, calls) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (bank, account, method, day) DO UPDATE SET calls = MAX(call_budget.calls, excluded.calls)",
        )
        .bind(bank)
        .bind(account)
        .bind(method)
        .bind(day)
        .bind(calls)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a batch call; `spent` marks the allowance as used up (the bank said 429).
    pub async fn count_call(
        &self,
        bank: &str,
        account: &str,
        method: &str,
        day: &str,
        spent: bool,
    ) -> Result<(), TppError> {
        let sql = if spent {
            "INSERT INTO call_budget (bank, account, method, day, calls) VALUES ($1, $2, $3, $4, 4) \
             ON CONFLICT (bank, account, method, day) DO UPDATE SET calls = MAX(call_budget.calls, 4)"
        } else {
            "INSERT INTO call_budget (bank, account, method, day, calls) VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (bank, account, method, day) DO UPDATE SET calls = call_budget.calls + 1"
        };
        sqlx::query(sql)
            .bind(bank)
            .bind(account)
            .bind(method)
            .bind(day)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
