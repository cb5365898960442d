//! Reading the bank's account data: PSUs, accounts, balances, transactions, beneficiaries.

use crate::db::Backend;
use crate::read::{Bound, Cols};
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
    /// The stamp of the account's operations: changes with every write to them (migration
    /// 0010); none before the first.
    pub operations_stamp: Option<i64>,
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
    /// The unstructured remittance information, one line (empty when there is none).
    pub remittance: String,
    /// The structured remittance information as STET 1.4.2 gives it: a compact JSON array of
    /// StructuredRemittanceInformation, here creditor references (`import::remittance`).
    pub remittance_structured: Option<String>,
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
    /// The account's [`AccountRecord::operations_stamp`] as read before the page: a page kept
    /// with it answers (see `page_cache`). None: read from the database.
    pub stamp: Option<i64>,
}

impl TransactionQuery {
    /// `LIMIT … OFFSET …`, written out rather than bound: SQLite reads a bound limit when it
    /// compiles the statement, and so compiles it again whenever the value is bound again,
    /// that is at every request (5 % of a page's time, BENCHMARKS.md, 7 December).
    pub(crate) fn limit_clause(&self) -> String {
        format!("LIMIT {} OFFSET {}", self.limit.max(0), self.offset.max(0))
    }

    /// The WHERE clause and its bound values after `$1` (bank) and `$2` (account).
    pub(crate) fn filter(&self) -> (String, Vec<Bound>) {
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

const ACCOUNT_COLUMNS: &str = "bank_code, resource_id, psu_id, iban, currency, name, details, usage, \
     cash_account_type, product, psu_status, company_scheme, company_id, segment, eligible, position, \
     operations_stamp";

pub(crate) fn account(row: &dyn Cols) -> Result<AccountRecord> {
    Ok(AccountRecord {
        bank_code: row.text("bank_code")?,
        resource_id: row.text("resource_id")?,
        psu_id: row.text("psu_id")?,
        iban: row.text("iban")?,
        currency: row.text("currency")?,
        name: row.text("name")?,
        details: row.opt_text("details")?,
        usage: row.opt_text("usage")?,
        cash_account_type: row.text("cash_account_type")?,
        product: row.opt_text("product")?,
        psu_status: row.opt_text("psu_status")?,
        company_scheme: row.opt_text("company_scheme")?,
        company_id: row.opt_text("company_id")?,
        segment: row.text("segment")?,
        eligible: row.int("eligible")? != 0,
        position: row.int("position")?,
        operations_stamp: row.opt_int("operations_stamp")?,
    })
}

/// One operation as a query of its columns reads it, borrowed from its row: its JSON is
/// rendered from it (`operation_json`) without copying each column into a record first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionRef<'a> {
    pub account_id: &'a str,
    pub seq: i64,
    pub resource_id: &'a str,
    pub entry_reference: Option<&'a str>,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub credit_debit: &'a str,
    pub status: &'a str,
    pub imputation_date: &'a str,
    pub value_date: Option<&'a str>,
    pub transaction_date: Option<&'a str>,
    pub remittance: &'a str,
    pub remittance_structured: Option<&'a str>,
    pub btc: Option<[Option<&'a str>; 5]>,
}

impl TransactionRecord {
    /// The record as a page reads it.
    pub fn as_ref(&self) -> TransactionRef<'_> {
        TransactionRef {
            account_id: &self.account_id,
            seq: self.seq,
            resource_id: &self.resource_id,
            entry_reference: self.entry_reference.as_deref(),
            amount_minor: self.amount_minor,
            currency: &self.currency,
            credit_debit: &self.credit_debit,
            status: &self.status,
            imputation_date: &self.imputation_date,
            value_date: self.value_date.as_deref(),
            transaction_date: self.transaction_date.as_deref(),
            remittance: &self.remittance,
            remittance_structured: self.remittance_structured.as_deref(),
            btc: self
                .btc
                .as_ref()
                .map(|codes| [0, 1, 2, 3, 4].map(|i| codes[i].as_deref())),
        }
    }
}

impl TransactionRef<'_> {
    pub fn to_record(&self) -> TransactionRecord {
        let own = |text: Option<&str>| text.map(str::to_owned);
        TransactionRecord {
            account_id: self.account_id.to_owned(),
            seq: self.seq,
            resource_id: self.resource_id.to_owned(),
            entry_reference: own(self.entry_reference),
            amount_minor: self.amount_minor,
            currency: self.currency.to_owned(),
            credit_debit: self.credit_debit.to_owned(),
            status: self.status.to_owned(),
            imputation_date: self.imputation_date.to_owned(),
            value_date: own(self.value_date),
            transaction_date: own(self.transaction_date),
            remittance: self.remittance.to_owned(),
            remittance_structured: own(self.remittance_structured),
            btc: self.btc.map(|codes| codes.map(own)),
        }
    }
}

pub(crate) fn transaction(row: &dyn Cols) -> Result<TransactionRef<'_>> {
    let btc = match row.opt_text_ref("btc_domain")? {
        Some(domain) => Some([
            Some(domain),
            row.opt_text_ref("btc_family")?,
            row.opt_text_ref("btc_sub_family")?,
            row.opt_text_ref("btc_code")?,
            row.opt_text_ref("btc_issuer")?,
        ]),
        None => None,
    };
    Ok(TransactionRef {
        account_id: row.text_ref("account_id")?,
        seq: row.int("seq")?,
        resource_id: row.text_ref("resource_id")?,
        entry_reference: row.opt_text_ref("entry_reference")?,
        amount_minor: row.int("amount_minor")?,
        currency: row.text_ref("currency")?,
        credit_debit: row.text_ref("credit_debit")?,
        status: row.text_ref("status")?,
        imputation_date: row.text_ref("imputation_date")?,
        value_date: row.opt_text_ref("value_date")?,
        transaction_date: row.opt_text_ref("transaction_date")?,
        remittance: row.text_ref("remittance")?,
        remittance_structured: row.opt_text_ref("remittance_structured")?,
        btc,
    })
}

/// The balance an outer join brought with an account (columns `balance_type`, `balance_name`,
/// `amount_minor`, `balance_currency`, `reference_date`, `last_change`, `last_committed`), if
/// any.
pub(crate) fn joined_balance(row: &dyn Cols, account_id: &str) -> Result<Option<BalanceRecord>> {
    let Some(balance_type) = row.opt_text("balance_type")? else {
        return Ok(None);
    };
    Ok(Some(BalanceRecord {
        account_id: account_id.to_owned(),
        balance_type,
        name: row.text("balance_name")?,
        amount_minor: row.int("amount_minor")?,
        currency: row.text("balance_currency")?,
        reference_date: row.opt_text("reference_date")?,
        last_change: row.opt_int("last_change")?,
        last_committed: row.opt_text("last_committed")?,
    }))
}

const PSU_COLUMNS: &str =
    "bank_code, psu_id, persona, kind, name_prefix, first_name, last_name, display_name, segment";

const BALANCE_COLUMNS: &str = "account_id, balance_type, name, amount_minor, currency, reference_date, last_change, last_committed";

pub(crate) const TRANSACTION_COLUMNS: &str = "account_id, seq, resource_id, entry_reference, amount_minor, \
     currency, credit_debit, status, imputation_date, value_date, transaction_date, remittance, \
     remittance_structured, btc_domain, btc_family, btc_sub_family, btc_code, btc_issuer";

impl Store {
    pub async fn psu(&self, bank_code: &str, psu_id: &str) -> Result<Option<PsuRecord>> {
        let sql = format!("SELECT {PSU_COLUMNS} FROM psus WHERE bank_code = $1 AND psu_id = $2");
        self.read_row(&sql, &[bank_code.into(), psu_id.into()], psu)
            .await
    }

    /// Finds a PSU by identifier or, in the sandbox, by persona name (case-insensitive).
    pub async fn find_psu(&self, bank_code: &str, login: &str) -> Result<Option<PsuRecord>> {
        let sql = format!(
            "SELECT {PSU_COLUMNS} FROM psus WHERE bank_code = $1 AND (psu_id = $2 OR persona = $3)"
        );
        let binds = [
            bank_code.into(),
            login.into(),
            Bound::Text(login.to_uppercase()),
        ];
        self.read_row(&sql, &binds, psu).await
    }

    pub async fn psus(&self, bank_code: &str) -> Result<Vec<PsuRecord>> {
        let sql = format!("SELECT {PSU_COLUMNS} FROM psus WHERE bank_code = $1 ORDER BY persona");
        self.read_rows(&sql, &[bank_code.into()], psu).await
    }

    /// All accounts of a PSU at a bank, eligible or not, in the bank's display order.
    pub async fn psu_accounts(&self, bank_code: &str, psu_id: &str) -> Result<Vec<AccountRecord>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE bank_code = $1 AND psu_id = $2 ORDER BY position"
        );
        self.read_rows(&sql, &[bank_code.into(), psu_id.into()], account)
            .await
    }

    pub async fn account(
        &self,
        bank_code: &str,
        resource_id: &str,
    ) -> Result<Option<AccountRecord>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE bank_code = $1 AND resource_id = $2"
        );
        self.read_row(&sql, &[bank_code.into(), resource_id.into()], account)
            .await
    }

    pub async fn account_by_iban(
        &self,
        bank_code: &str,
        iban: &str,
    ) -> Result<Option<AccountRecord>> {
        let sql =
            format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE bank_code = $1 AND iban = $2");
        self.read_row(&sql, &[bank_code.into(), iban.into()], account)
            .await
    }

    /// The balances of every account of a PSU, for embedding in GET /accounts.
    pub async fn psu_balances(&self, bank_code: &str, psu_id: &str) -> Result<Vec<BalanceRecord>> {
        let sql = "SELECT b.account_id, b.balance_type, b.name, b.amount_minor, b.currency, \
             b.reference_date, b.last_change, b.last_committed \
             FROM balances b JOIN accounts a \
               ON a.bank_code = b.bank_code AND a.resource_id = b.account_id \
             WHERE b.bank_code = $1 AND a.psu_id = $2 ORDER BY b.account_id, b.balance_type";
        self.read_rows(sql, &[bank_code.into(), psu_id.into()], balance)
            .await
    }

    pub async fn balances(&self, bank_code: &str, account_id: &str) -> Result<Vec<BalanceRecord>> {
        let sql = format!(
            "SELECT {BALANCE_COLUMNS} FROM balances \
             WHERE bank_code = $1 AND account_id = $2 ORDER BY balance_type"
        );
        self.read_rows(&sql, &[bank_code.into(), account_id.into()], balance)
            .await
    }

    /// One page of operations, most recent first (imputation day, then technical id).
    pub async fn transactions(&self, query: &TransactionQuery) -> Result<Vec<TransactionRecord>> {
        let mut out = Vec::new();
        self.each_transaction(query, |tx| {
            out.push(tx.to_record());
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// The same page, handed to `visit` operation by operation as the rows come; answers how
    /// many there were.
    pub async fn each_transaction(
        &self,
        query: &TransactionQuery,
        mut visit: impl FnMut(&TransactionRef<'_>) -> Result<()> + Send,
    ) -> Result<usize> {
        let (filter, binds) = query.filter();
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE {filter} \
             ORDER BY imputation_date DESC, seq DESC {}",
            query.limit_clause()
        );
        if query.offset > 0 {
            // A page far from the first walks the pages before it: off the workers, copied.
            let rows = self
                .read_rows_off_worker(sql, binds, |row| Ok(transaction(row)?.to_record()))
                .await?;
            for row in &rows {
                visit(&row.as_ref())?;
            }
            return Ok(rows.len());
        }
        self.read_each(&sql, &binds, |row| visit(&transaction(row)?))
            .await
    }

    /// How many operations match the query's filters (its limit and offset are ignored). Its
    /// cost grows with the date range: read off the runtime's workers.
    pub async fn count_transactions(&self, query: &TransactionQuery) -> Result<i64> {
        let (sql, binds) = self.count_sql(query);
        let counts = self
            .read_rows_off_worker(sql, binds, |row| row.int("n"))
            .await?;
        Ok(counts.first().copied().unwrap_or(0))
    }

    /// The query of [`Store::count_transactions`]. On SQLite it names the narrow index by day:
    /// the index of pages (migration 0011) covers the count too, with entries ten times as
    /// wide, and SQLite without statistics may take either.
    pub(crate) fn count_sql(&self, query: &TransactionQuery) -> (String, Vec<Bound>) {
        let (filter, binds) = query.filter();
        let index = match self.backend() {
            Backend::Sqlite => " INDEXED BY transactions_by_day",
            Backend::Postgres => "",
        };
        let sql = format!("SELECT COUNT(*) AS n FROM transactions{index} WHERE {filter}");
        (sql, binds)
    }

    /// The technical id of the operation with this entryReference on this account.
    pub async fn seq_of_entry_reference(
        &self,
        bank_code: &str,
        account_id: &str,
        entry_reference: &str,
    ) -> Result<Option<i64>> {
        let sql = "SELECT seq FROM transactions \
             WHERE bank_code = $1 AND account_id = $2 AND entry_reference = $3";
        let binds = [bank_code.into(), account_id.into(), entry_reference.into()];
        self.read_row(sql, &binds, |row| row.int("seq")).await
    }

    pub async fn beneficiaries(
        &self,
        bank_code: &str,
        psu_id: &str,
    ) -> Result<Vec<BeneficiaryRecord>> {
        let sql = "SELECT beneficiary_id, name, iban, bic, country, address_line FROM beneficiaries \
             WHERE bank_code = $1 AND psu_id = $2 ORDER BY position";
        self.read_rows(sql, &[bank_code.into(), psu_id.into()], |row| {
            Ok(BeneficiaryRecord {
                beneficiary_id: row.text("beneficiary_id")?,
                name: row.text("name")?,
                iban: row.text("iban")?,
                bic: row.opt_text("bic")?,
                country: row.text("country")?,
                address_line: row.text("address_line")?,
            })
        })
        .await
    }
}

fn psu(row: &dyn Cols) -> Result<PsuRecord> {
    Ok(PsuRecord {
        bank_code: row.text("bank_code")?,
        psu_id: row.text("psu_id")?,
        persona: row.text("persona")?,
        kind: row.text("kind")?,
        name_prefix: row.opt_text("name_prefix")?,
        first_name: row.opt_text("first_name")?,
        last_name: row.opt_text("last_name")?,
        display_name: row.text("display_name")?,
        segment: row.text("segment")?,
    })
}

fn balance(row: &dyn Cols) -> Result<BalanceRecord> {
    Ok(BalanceRecord {
        account_id: row.text("account_id")?,
        balance_type: row.text("balance_type")?,
        name: row.text("name")?,
        amount_minor: row.int("amount_minor")?,
        currency: row.text("currency")?,
        reference_date: row.opt_text("reference_date")?,
        last_change: row.opt_int("last_change")?,
        last_committed: row.opt_text("last_committed")?,
    })
}
