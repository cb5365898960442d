//! Accounts fed from core banking statements (`guichet import FILE…`): ISO 20022 camt.053
//! (end-of-day: booked operations, opening and closing booked balances) and camt.052
//! (intraday: pending operations, the instant balance), streamed into the store in one
//! transaction per file: the whole file, or nothing.
//!
//! Operations are keyed by their resourceId (see `operations`): importing a file twice changes
//! nothing, and a pending operation that later arrives booked is the same operation (same
//! technical id, same resourceId), never a second one; a booked operation is never set back to
//! pending by an older report. A balance is replaced only by a newer one (its date, then the
//! file's creation time), so files imported out of order leave the newest balances; its
//! lastCommittedTransaction is the account's last booked operation.

use std::io::BufRead;

use guichet_camt::{AccountHeader, AccountId, Balance, CamtError, CamtReader, Item, Kind};
use rust_decimal::Decimal;
use sqlx::Row;

use super::operations::{Written, write_entry};
use crate::{Backend, Store, StoreError};

/// Why a file was refused; nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Camt(#[from] CamtError),
    #[error("line {line}, {element}: {message}")]
    Refused {
        line: u64,
        element: String,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    /// Whether the same file may be imported if tried again: the database could not be
    /// reached (down, restarting, busy: [`StoreError::is_unavailable`]), or PostgreSQL stopped
    /// this import to break a deadlock or a serialization failure with another writer (SQLSTATE
    /// 40P01, 40001). The file itself was not refused.
    pub fn is_transient(&self) -> bool {
        matches!(self, ImportError::Store(error) if error.is_transient())
    }
}

impl From<sqlx::Error> for ImportError {
    fn from(error: sqlx::Error) -> ImportError {
        ImportError::Store(StoreError::Database(error))
    }
}

pub(super) fn refused(line: u64, element: &str, message: String) -> ImportError {
    ImportError::Refused {
        line,
        element: element.to_owned(),
        message,
    }
}

/// Which bank a file is for: given, or found by the account servicer's BIC among the banks
/// (code, BIC) served.
#[derive(Debug, Clone, Copy)]
pub enum BankChoice<'a> {
    Given(&'a str),
    ByBic(&'a [(String, String)]),
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub kind: Option<Kind>,
    /// `Stmt` or `Rpt` elements.
    pub statements: usize,
    /// Distinct accounts among them.
    pub accounts: usize,
    pub balances: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Entries of another status than booked or pending (`INFO`…), not operations.
    pub skipped: usize,
}

/// The account a `Stmt`/`Rpt` is about, as found in the store.
pub(super) struct Current {
    pub(super) bank_code: String,
    pub(super) account_id: String,
    pub(super) currency: String,
    pub(super) next_seq: i64,
}

pub(super) type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Imports one camt.053 or camt.052 file.
    pub async fn import_statement<R: BufRead>(
        &self,
        input: R,
        bank: BankChoice<'_>,
    ) -> Result<ImportSummary, ImportError> {
        let mut reader = CamtReader::new(input);
        let header = reader.header()?;
        let created = created_seconds(&header.created);
        // An entry without a date is dated on the day of the statement or report.
        let report_day: Option<jiff::civil::Date> =
            header.created.get(..10).and_then(|day| day.parse().ok());
        let mut summary = ImportSummary {
            kind: Some(header.kind),
            ..ImportSummary::default()
        };
        let mut tx = self.begin_write().await?;
        let mut current: Option<Current> = None;
        let mut accounts = std::collections::HashSet::new();
        while let Some(item) = reader.next_item()? {
            match item {
                Item::Account(account) => {
                    let opened = open_account(&mut tx, self.backend(), &account, bank).await?;
                    accounts.insert((opened.bank_code.clone(), opened.account_id.clone()));
                    summary.accounts = accounts.len();
                    summary.statements += 1;
                    current = Some(opened);
                }
                Item::Balance(balance) => {
                    let Some(account) = &current else { continue };
                    summary.balances +=
                        usize::from(write_balance(&mut tx, account, &balance, created).await?);
                }
                Item::Entry(entry) => {
                    let Some(account) = current.as_mut() else {
                        continue;
                    };
                    match write_entry(&mut tx, account, &entry, report_day).await? {
                        Written::Added => summary.added += 1,
                        Written::Updated => summary.updated += 1,
                        Written::Unchanged => summary.unchanged += 1,
                        Written::Skipped => summary.skipped += 1,
                    }
                }
                Item::EndAccount => current = None,
            }
        }
        // Once per account, however many of its statements the file holds.
        for (bank_code, account_id) in &accounts {
            write_last_committed(&mut tx, bank_code, account_id).await?;
        }
        tx.commit().await?;
        if summary.added + summary.updated >= super::ANALYZE_AFTER {
            self.analyze(&["transactions", "balances"]).await;
        }
        Ok(summary)
    }
}

/// `GrpHdr/CreDtTm` in seconds (an ISO date-time with or without an offset, read as UTC
/// without); 0 when unreadable (the balance's date then decides alone).
fn created_seconds(text: &str) -> i64 {
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return at.as_second();
    }
    text.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|at| jiff::tz::TimeZone::UTC.to_timestamp(at).ok())
        .map_or(0, |at| at.as_second())
}

async fn open_account(
    tx: &mut Tx,
    backend: Backend,
    account: &AccountHeader,
    bank: BankChoice<'_>,
) -> Result<Current, ImportError> {
    let line = account.line;
    let bank_code = match bank {
        BankChoice::Given(code) => code.to_owned(),
        BankChoice::ByBic(banks) => {
            let bic = account.servicer_bic.as_deref().unwrap_or_default();
            banks
                .iter()
                .find(|(_, served)| same_bic(served, bic))
                .map(|(code, _)| code.clone())
                .ok_or_else(|| {
                    refused(
                        line,
                        "Acct/Svcr/FinInstnId",
                        format!("no bank served here has the BIC '{bic}': give --bank"),
                    )
                })?
        }
    };
    // An IBAN names the account; another identifier (`Othr/Id`) names it by its resourceId.
    let (column, id, element) = match &account.account {
        AccountId::Iban(iban) => ("iban", iban.as_str(), "Acct/Id/IBAN"),
        AccountId::Other(id) => ("resource_id", id.as_str(), "Acct/Id/Othr/Id"),
    };
    if backend == Backend::Postgres {
        // The account's operations are numbered from its last one: another import of the same
        // account numbers its new operations alike, so the second waits for the first to end,
        // and its next statement, which reads the last number, sees what the first wrote. On
        // SQLite the writer is one at a time (`BEGIN IMMEDIATE`). Two imports that lock the
        // same accounts in different orders may deadlock: PostgreSQL then stops one, a failure
        // the inbox tries again (`ImportError::is_transient`).
        let lock =
            format!("SELECT 1 FROM accounts WHERE bank_code = $1 AND {column} = $2 FOR UPDATE");
        sqlx::query(sqlx::AssertSqlSafe(lock))
            .bind(&bank_code)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    let sql = format!(
        "SELECT a.resource_id, a.currency, \
         (SELECT COALESCE(MAX(t.seq), 0) FROM transactions t \
           WHERE t.bank_code = a.bank_code AND t.account_id = a.resource_id) AS last_seq \
         FROM accounts a WHERE a.bank_code = $1 AND a.{column} = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&bank_code)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            refused(
                line,
                element,
                format!(
                    "{id} is not an account of bank {bank_code}: import the customer file first"
                ),
            )
        })?;
    let currency: String = row.try_get("currency")?;
    if let Some(stated) = &account.currency
        && *stated != currency
    {
        return Err(refused(
            line,
            "Acct/Ccy",
            format!("the account {id} is in {currency}, the statement in {stated}"),
        ));
    }
    let last_seq: i64 = row.try_get("last_seq")?;
    Ok(Current {
        bank_code,
        account_id: row.try_get("resource_id")?,
        currency,
        next_seq: last_seq + 1,
    })
}

/// BICs compare on their first eight characters: a BIC8 names the same institution as its
/// BIC11 with the head office's branch code.
fn same_bic(a: &str, b: &str) -> bool {
    let head = |bic: &str| {
        bic.trim()
            .to_ascii_uppercase()
            .chars()
            .take(8)
            .collect::<String>()
    };
    !b.trim().is_empty() && head(a) == head(b)
}

/// Minor units of a two-decimal currency; an amount with more decimals is refused.
pub(super) fn minor(amount: Decimal, line: u64, element: &str) -> Result<i64, ImportError> {
    let scaled = amount
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or_else(|| refused(line, element, format!("{amount} is out of range")))?;
    if scaled.fract() != Decimal::ZERO {
        return Err(refused(
            line,
            element,
            format!("{amount} has more than two decimals"),
        ));
    }
    i64::try_from(scaled.trunc())
        .map_err(|_| refused(line, element, format!("{amount} is out of range")))
}

/// STET's balance type for an ISO one (STET 1.4.2 BalanceStatus: CLBD the accounting
/// balance, XPCD the instant balance); balances STET does not show are not kept.
fn stet_balance_type(code: &str) -> Option<(&'static str, &'static str)> {
    match code {
        "CLBD" | "ITBD" => Some(("CLBD", "Solde comptable")),
        "XPCD" | "ITAV" | "CLAV" => Some(("XPCD", "Solde instantané")),
        _ => None,
    }
}

async fn write_balance(
    tx: &mut Tx,
    account: &Current,
    balance: &Balance,
    created: i64,
) -> Result<bool, ImportError> {
    let Some((kind, label)) = stet_balance_type(&balance.code).filter(|_| !balance.proprietary)
    else {
        return Ok(false);
    };
    if balance.currency != account.currency {
        return Err(refused(
            balance.line,
            "Bal/Amt",
            format!(
                "a balance in {} on an account in {}",
                balance.currency, account.currency
            ),
        ));
    }
    let amount = minor(balance.amount, balance.line, "Bal/Amt")?;
    let day = balance.date;
    let name = format!(
        "{label} au {:02}/{:02}/{}",
        day.day(),
        day.month(),
        day.year()
    );
    sqlx::query(
        "INSERT INTO balances (bank_code, account_id, balance_type, name, amount_minor, currency, \
         reference_date, last_change, last_committed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) \
         ON CONFLICT (bank_code, account_id, balance_type) DO UPDATE SET name = excluded.name, \
         amount_minor = excluded.amount_minor, currency = excluded.currency, \
         reference_date = excluded.reference_date, last_change = excluded.last_change \
         WHERE balances.reference_date < excluded.reference_date \
            OR (balances.reference_date = excluded.reference_date \
                AND COALESCE(balances.last_change, 0) <= excluded.last_change)",
    )
    .bind(&account.bank_code)
    .bind(&account.account_id)
    .bind(kind)
    .bind(name)
    .bind(amount)
    .bind(&account.currency)
    .bind(day.to_string())
    .bind(created)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// The balances' lastCommittedTransaction ("Identification of the last committed
/// transaction", STET): the entryReference, else the resourceId, of the account's last booked
/// operation in the order of the pages (booking day, then technical id), as the sandbox gives
/// it.
async fn write_last_committed(
    tx: &mut Tx,
    bank_code: &str,
    account_id: &str,
) -> Result<(), ImportError> {
    sqlx::query(
        "UPDATE balances SET last_committed = \
           (SELECT COALESCE(t.entry_reference, t.resource_id) FROM transactions t \
             WHERE t.bank_code = $1 AND t.account_id = $2 AND t.status = 'BOOK' \
             ORDER BY t.imputation_date DESC, t.seq DESC LIMIT 1) \
         WHERE bank_code = $1 AND account_id = $2",
    )
    .bind(bank_code)
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
