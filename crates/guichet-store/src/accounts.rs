//! Reading the bank's account data: PSUs, accounts, balances, transactions, beneficiaries.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsuRecord {
    pub bank_code: String,
    pub psu_id: String,
    /// The sandbox persona name (`CLAIRE`, `LEA`, …); the login for a real bank.
    pub persona: String,
    /// `person` or `company`.
    pub kind: String,
    pub name_prefix: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: String,
    /// Customer segment: `retail`, `small_pro`, `large_pro`, `corporate`.
    pub segment: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub bank_code: String,
    pub resource_id: String,
    pub psu_id: String,
    pub iban: String,
    pub currency: String,
    pub name: String,
    pub details: Option<String>,
    pub usage: Option<String>,
    pub cash_account_type: String,
    pub product: Option<String>,
    pub psu_status: Option<String>,
    pub company_scheme: Option<String>,
    pub company_id: Option<String>,
    pub segment: String,
    /// Active, euro, payment account reachable online (portal, Limits).
    pub eligible: bool,
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceRecord {
    pub account_id: String,
    pub balance_type: String,
    pub name: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reference_date: Option<String>,
    pub last_change: Option<i64>,
    pub last_committed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRecord {
    pub account_id: String,
    /// The technical incremental identification, stable for an operation's whole life.
    pub seq: i64,
    pub resource_id: String,
    pub entry_reference: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub credit_debit: String,
    pub status: String,
    /// The day the filters and the order use: the booking date once booked, the expected
    /// booking date before.
    pub imputation_date: String,
    pub value_date: Option<String>,
    pub transaction_date: Option<String>,
    pub remittance: String,
    pub btc: Option<[Option<String>; 5]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeneficiaryRecord {
    pub beneficiary_id: String,
    pub name: String,
    pub iban: String,
    pub bic: Option<String>,
    pub country: String,
    pub address_line: String,
}

/// A page of GET /transactions. Days are `YYYY-MM-DD`; `to_day` is exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionQuery {
    pub bank_code: String,
    pub account_id: String,
    pub from_day: Option<String>,
    pub to_day: Option<String>,
    /// Only operations whose technical id is greater than this.
    pub after_seq: Option<i64>,
    /// Only operations whose technical id is less than or equal to this.
    pub upto_seq: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

impl TransactionQuery {
    /// The WHERE clause and its bound values after `$1` (bank) and `$2` (account).
    fn filter(&self) -> (String, Vec<Bound>) {
        let mut sql = String::from("bank_code = $1 AND account_id = $2");
        let mut binds = vec![
            Bound::Text(self.bank_code.clone()),
            Bound::Text(self.account_id.clone()),
        ];
        let mut push = |clause: &str, value: Bound| {
            binds.push(value);
            sql.push_str(&format!(" AND {clause} ${}", binds.len()));
        };
        if let Some(day) = &self.from_day {
            push("imputation_date >=", Bound::Text(day.clone()));
        }
        if let Some(day) = &self.to_day {
            push("imputation_date <", Bound::Text(day.clone()));
        }
        if let Some(seq) = self.after_seq {
            push("seq >", Bound::Int(seq));
        }
        if let Some(seq) = self.upto_seq {
            push("seq <=", Bound::Int(seq));
        }
        (sql, binds)
    }
}

enum Bound {
    Text(String),
    Int(i64),
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: Vec<Bound>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for bound in binds {
        query = match bound {
            Bound::Text(text) => query.bind(text),
            Bound::Int(int) => query.bind(int),
        };
    }
    query
}

const ACCOUNT_COLUMNS: &str = "bank_code, resource_id, psu_id, iban, currency, name, details, usage, \
     cash_account_type, product, psu_status, company_scheme, company_id, segment, eligible, position";

fn account(row: &AnyRow) -> Result<AccountRecord> {
    Ok(AccountRecord {
        bank_code: row.try_get("bank_code")?,
        resource_id: row.try_get("resource_id")?,
        psu_id: row.try_get("psu_id")?,
        iban: row.try_get("iban")?,
        currency: row.try_get("currency")?,
        name: row.try_get("name")?,
        details: row.try_get("details")?,
        usage: row.try_get("usage")?,
        cash_account_type: row.try_get("cash_account_type")?,
        product: row.try_get("product")?,
        psu_status: row.try_get("psu_status")?,
        company_scheme: row.try_get("company_scheme")?,
        company_id: row.try_get("company_id")?,
        segment: row.try_get("segment")?,
        eligible: row.try_get::<i64, _>("eligible")? != 0,
        position: row.try_get("position")?,
    })
}

fn transaction(row: &AnyRow) -> Result<TransactionRecord> {
    let domain: Option<String> = row.try_get("btc_domain")?;
    let btc = match domain {
        Some(domain) => Some([
            Some(domain),
            row.try_get("btc_family")?,
            row.try_get("btc_sub_family")?,
            row.try_get("btc_code")?,
            row.try_get("btc_issuer")?,
        ]),
        None => None,
    };
    Ok(TransactionRecord {
        account_id: row.try_get("account_id")?,
        seq: row.try_get("seq")?,
        resource_id: row.try_get("resource_id")?,
        entry_reference: row.try_get("entry_reference")?,
        amount_minor: row.try_get("amount_minor")?,
        currency: row.try_get("currency")?,
        credit_debit: row.try_get("credit_debit")?,
        status: row.try_get("status")?,
        imputation_date: row.try_get("imputation_date")?,
        value_date: row.try_get("value_date")?,
        transaction_date: row.try_get("transaction_date")?,
        remittance: row.try_get("remittance")?,
        btc,
    })
}

impl Store {
    pub async fn psu(&self, bank_code: &str, psu_id: &str) -> Result<Option<PsuRecord>> {
        let row = sqlx::query(
            "SELECT bank_code, psu_id, persona, kind, name_prefix, first_name, last_name, \
             display_name, segment FROM psus WHERE bank_code = $1 AND psu_id = $2",
        )
        .bind(bank_code)
        .bind(psu_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| psu(&row)).transpose()
    }

    /// Finds a PSU by identifier or, in the sandbox, by persona name (case-insensitive).
    pub async fn find_psu(&self, bank_code: &str, login: &str) -> Result<Option<PsuRecord>> {
        let row = sqlx::query(
            "SELECT bank_code, psu_id, persona, kind, name_prefix, first_name, last_name, \
             display_name, segment FROM psus \
             WHERE bank_code = $1 AND (psu_id = $2 OR persona = $3)",
        )
        .bind(bank_code)
        .bind(login)
        .bind(login.to_uppercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| psu(&row)).transpose()
    }

    pub async fn psus(&self, bank_code: &str) -> Result<Vec<PsuRecord>> {
        let rows = sqlx::query(
            "SELECT bank_code, psu_id, persona, kind, name_prefix, first_name, last_name, \
             display_name, segment FROM psus WHERE bank_code = $1 ORDER BY persona",
        )
        .bind(bank_code)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(psu).collect()
    }

    /// All accounts of a PSU at a bank, eligible or not, in the bank's display order.
    pub async fn psu_accounts(&self, bank_code: &str, psu_id: &str) -> Result<Vec<AccountRecord>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE bank_code = $1 AND psu_id = $2 ORDER BY position"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(bank_code)
            .bind(psu_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(account).collect()
    }

    pub async fn account(
        &self,
        bank_code: &str,
        resource_id: &str,
    ) -> Result<Option<AccountRecord>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE bank_code = $1 AND resource_id = $2"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(bank_code)
            .bind(resource_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| account(&row)).transpose()
    }

    pub async fn account_by_iban(
        &self,
        bank_code: &str,
        iban: &str,
    ) -> Result<Option<AccountRecord>> {
        let sql =
            format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE bank_code = $1 AND iban = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(bank_code)
            .bind(iban)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| account(&row)).transpose()
    }

    /// The balances of every account of a PSU, for embedding in GET /accounts.
    pub async fn psu_balances(&self, bank_code: &str, psu_id: &str) -> Result<Vec<BalanceRecord>> {
        let rows = sqlx::query(
            "SELECT b.account_id, b.balance_type, b.name, b.amount_minor, b.currency, \
             b.reference_date, b.last_change, b.last_committed \
             FROM balances b JOIN accounts a \
               ON a.bank_code = b.bank_code AND a.resource_id = b.account_id \
             WHERE b.bank_code = $1 AND a.psu_id = $2 ORDER BY b.account_id, b.balance_type",
        )
        .bind(bank_code)
        .bind(psu_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(balance).collect()
    }

    pub async fn balances(&self, bank_code: &str, account_id: &str) -> Result<Vec<BalanceRecord>> {
        let rows = sqlx::query(
            "SELECT account_id, balance_type, name, amount_minor, currency, reference_date, \
             last_change, last_committed FROM balances \
             WHERE bank_code = $1 AND account_id = $2 ORDER BY balance_type",
        )
        .bind(bank_code)
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(balance).collect()
    }

    /// One page of operations, most recent first (imputation day, then technical id).
    pub async fn transactions(&self, query: &TransactionQuery) -> Result<Vec<TransactionRecord>> {
        let (filter, mut binds) = query.filter();
        binds.push(Bound::Int(query.limit));
        binds.push(Bound::Int(query.offset));
        let sql = format!(
            "SELECT account_id, seq, resource_id, entry_reference, amount_minor, currency, \
             credit_debit, status, imputation_date, value_date, transaction_date, remittance, \
             btc_domain, btc_family, btc_sub_family, btc_code, btc_issuer \
             FROM transactions WHERE {filter} \
             ORDER BY imputation_date DESC, seq DESC LIMIT ${} OFFSET ${}",
            binds.len() - 1,
            binds.len()
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(transaction).collect()
    }

    /// How many operations match the query's filters (its limit and offset are ignored).
    pub async fn count_transactions(&self, query: &TransactionQuery) -> Result<i64> {
        let (filter, binds) = query.filter();
        let sql = format!("SELECT COUNT(*) AS n FROM transactions WHERE {filter}");
        let row = bind_all(sqlx::query(AssertSqlSafe(sql)), binds)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// The technical id of the operation with this entryReference on this account.
    pub async fn seq_of_entry_reference(
        &self,
        bank_code: &str,
        account_id: &str,
        entry_reference: &str,
    ) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT seq FROM transactions \
             WHERE bank_code = $1 AND account_id = $2 AND entry_reference = $3",
        )
        .bind(bank_code)
        .bind(account_id)
        .bind(entry_reference)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(seq,)| seq))
    }

    pub async fn beneficiaries(
        &self,
        bank_code: &str,
        psu_id: &str,
    ) -> Result<Vec<BeneficiaryRecord>> {
        let rows = sqlx::query(
            "SELECT beneficiary_id, name, iban, bic, country, address_line FROM beneficiaries \
             WHERE bank_code = $1 AND psu_id = $2 ORDER BY position",
        )
        .bind(bank_code)
        .bind(psu_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BeneficiaryRecord {
                    beneficiary_id: row.try_get("beneficiary_id")?,
                    name: row.try_get("name")?,
                    iban: row.try_get("iban")?,
                    bic: row.try_get("bic")?,
                    country: row.try_get("country")?,
                    address_line: row.try_get("address_line")?,
                })
            })
            .collect()
    }
}

fn psu(row: &AnyRow) -> Result<PsuRecord> {
    Ok(PsuRecord {
        bank_code: row.try_get("bank_code")?,
        psu_id: row.try_get("psu_id")?,
        persona: row.try_get("persona")?,
        kind: row.try_get("kind")?,
        name_prefix: row.try_get("name_prefix")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        display_name: row.try_get("display_name")?,
        segment: row.try_get("segment")?,
    })
}

fn balance(row: &AnyRow) -> Result<BalanceRecord> {
    Ok(BalanceRecord {
        account_id: row.try_get("account_id")?,
        balance_type: row.try_get("balance_type")?,
        name: row.try_get("name")?,
        amount_minor: row.try_get("amount_minor")?,
        currency: row.try_get("currency")?,
        reference_date: row.try_get("reference_date")?,
        last_change: row.try_get("last_change")?,
        last_committed: row.try_get("last_committed")?,
    })
}
