//! Who owns which account, from the bank's customer file (`guichet import customers FILE`).
//!
//! JSON: `{"customers": [{"psuId", "login"?, "kind", "displayName", "namePrefix"?,
//! "firstName"?, "lastName"?, "segment", "siren"?, "accounts": [{"iban", "name", "currency",
//! "cashAccountType", "usage"?, "product"?, "status", "psuStatus"?, "resourceId"?}]}]}`.
//! CSV: one line per account, the header naming the same fields (`accountName` for the
//! account's name); the customer's fields are repeated on each of its accounts.
//!
//! Portal, Limits: the accounts a TPP sees are the PSU's "active" accounts "in euro" that are
//! "payment accounts": an account is eligible when its status is `active`, its currency `EUR`
//! and its cash account type `CACC` (a savings account, `SVGS`, is not).

use serde::Deserialize;

use crate::sandbox::Cell;
use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerFile {
    pub customers: Vec<Customer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Customer {
    pub psu_id: String,
    /// What the PSU types to log in when the bank's own pages authenticate it; the PSU
    /// identifier by default.
    #[serde(default)]
    pub login: Option<String>,
    /// `person` or `company`.
    pub kind: String,
    pub display_name: String,
    #[serde(default)]
    pub name_prefix: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// `retail`, `small_pro`, `large_pro` or `corporate`: the history depth the bank gives.
    pub segment: String,
    #[serde(default)]
    pub siren: Option<String>,
    pub accounts: Vec<CustomerAccount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerAccount {
    pub iban: String,
    pub name: String,
    pub currency: String,
    /// ISO 20022 cash account type: `CACC` (current), `SVGS` (savings)…
    pub cash_account_type: String,
    #[serde(default)]
    pub usage: Option<String>,
    #[serde(default)]
    pub product: Option<String>,
    /// `active`, or anything else (`closed`, `blocked`…).
    pub status: String,
    #[serde(default)]
    pub psu_status: Option<String>,
    /// The account's resourceId; by default `CPT` and the account number of a French IBAN
    /// (the rest of the BBAN otherwise).
    #[serde(default)]
    pub resource_id: Option<String>,
}

impl CustomerAccount {
    pub fn eligible(&self) -> bool {
        self.status.eq_ignore_ascii_case("active")
            && self.currency == "EUR"
            && self.cash_account_type == "CACC"
    }

    pub fn resource_id(&self) -> Result<String> {
        if let Some(id) = &self.resource_id {
            return Ok(guichet_stet::ids::ResourceId::parse(id)
                .map_err(|e| refused(&format!("resourceId '{id}': {e}")))?
                .as_str()
                .to_owned());
        }
        let iban = compact(&self.iban);
        let bban = iban.get(4..).unwrap_or_default();
        // A French BBAN: bank (5), branch (5), account number (11), key (2).
        let number = match (iban.starts_with("FR"), bban.get(10..21)) {
            (true, Some(number)) => number,
            _ => bban,
        };
        Ok(format!("CPT{number}"))
    }
}

fn compact(iban: &str) -> String {
    iban.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

fn refused(message: &str) -> StoreError {
    StoreError::Corrupt(message.to_owned())
}

/// One line of the CSV form.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CsvLine {
    psu_id: String,
    #[serde(default)]
    login: Option<String>,
    kind: String,
    display_name: String,
    #[serde(default)]
    name_prefix: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    segment: String,
    #[serde(default)]
    siren: Option<String>,
    iban: String,
    account_name: String,
    currency: String,
    cash_account_type: String,
    #[serde(default)]
    usage: Option<String>,
    #[serde(default)]
    product: Option<String>,
    status: String,
    #[serde(default)]
    psu_status: Option<String>,
    #[serde(default)]
    resource_id: Option<String>,
}

fn blank_is_none(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl CustomerFile {
    /// A customer file in JSON, or in CSV (the first character decides).
    pub fn parse(text: &str) -> Result<CustomerFile> {
        if text.trim_start().starts_with('{') {
            return serde_json::from_str(text)
                .map_err(|e| refused(&format!("customer file, line {}: {e}", e.line())));
        }
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut customers: Vec<Customer> = Vec::new();
        for (i, line) in reader.deserialize::<CsvLine>().enumerate() {
            let line = line.map_err(|e| refused(&format!("customer file, line {}: {e}", i + 2)))?;
            let account = CustomerAccount {
                iban: line.iban,
                name: line.account_name,
                currency: line.currency,
                cash_account_type: line.cash_account_type,
                usage: blank_is_none(line.usage),
                product: blank_is_none(line.product),
                status: line.status,
                psu_status: blank_is_none(line.psu_status),
                resource_id: blank_is_none(line.resource_id),
            };
            match customers.iter_mut().find(|c| c.psu_id == line.psu_id) {
                Some(customer) => customer.accounts.push(account),
                None => customers.push(Customer {
                    psu_id: line.psu_id,
                    login: blank_is_none(line.login),
                    kind: line.kind,
                    display_name: line.display_name,
                    name_prefix: blank_is_none(line.name_prefix),
                    first_name: blank_is_none(line.first_name),
                    last_name: blank_is_none(line.last_name),
                    segment: line.segment,
                    siren: blank_is_none(line.siren),
                    accounts: vec![account],
                }),
            }
        }
        Ok(CustomerFile { customers })
    }

    /// Every field checked before anything is written.
    fn check(&self) -> Result<()> {
        for customer in &self.customers {
            let who = &customer.psu_id;
            if who.trim().is_empty() || who.len() > 70 {
                return Err(refused(&format!("psuId '{who}': 1 to 70 characters")));
            }
            if !["person", "company"].contains(&customer.kind.as_str()) {
                return Err(refused(&format!("{who}: kind must be person or company")));
            }
            if !["retail", "small_pro", "large_pro", "corporate"]
                .contains(&customer.segment.as_str())
            {
                return Err(refused(&format!(
                    "{who}: segment must be retail, small_pro, large_pro or corporate"
                )));
            }
            for account in &customer.accounts {
                guichet_stet::ids::Iban::parse(&account.iban)
                    .map_err(|e| refused(&format!("{who}: IBAN '{}': {e}", account.iban)))?;
                guichet_stet::amount::check_currency(&account.currency).map_err(|e| {
                    refused(&format!("{who}: currency '{}': {e}", account.currency))
                })?;
                account.resource_id()?;
            }
        }
        Ok(())
    }
}

/// What an import of customers wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CustomerSummary {
    pub psus: usize,
    pub accounts: usize,
    pub eligible: usize,
}

impl Store {
    /// Creates or updates the bank's PSUs and their accounts, in one transaction: the whole
    /// file, or nothing.
    pub async fn import_customers(
        &self,
        bank_code: &str,
        file: &CustomerFile,
    ) -> Result<CustomerSummary> {
        file.check()?;
        let mut summary = CustomerSummary::default();
        let mut tx = self.begin_write().await?;
        for customer in &file.customers {
            let login = customer
                .login
                .clone()
                .unwrap_or_else(|| customer.psu_id.clone());
            sqlx::query(
                "INSERT INTO psus (bank_code, psu_id, persona, kind, name_prefix, first_name, \
                 last_name, display_name, segment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (bank_code, psu_id) DO UPDATE SET persona = excluded.persona, \
                 kind = excluded.kind, name_prefix = excluded.name_prefix, \
                 first_name = excluded.first_name, last_name = excluded.last_name, \
                 display_name = excluded.display_name, segment = excluded.segment",
            )
            .bind(bank_code)
            .bind(&customer.psu_id)
            .bind(login.to_uppercase())
            .bind(&customer.kind)
            .bind(&customer.name_prefix)
            .bind(&customer.first_name)
            .bind(&customer.last_name)
            .bind(&customer.display_name)
            .bind(&customer.segment)
            .execute(&mut *tx)
            .await?;
            summary.psus += 1;
            for (position, account) in customer.accounts.iter().enumerate() {
                let row = account_row(bank_code, customer, account, position)?;
                let mut query = sqlx::query(
                    "INSERT INTO accounts (bank_code, resource_id, psu_id, iban, currency, name, \
                     details, usage, cash_account_type, product, psu_status, company_scheme, \
                     company_id, segment, eligible, position) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                     $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                     ON CONFLICT (bank_code, resource_id) DO UPDATE SET psu_id = excluded.psu_id, \
                     iban = excluded.iban, currency = excluded.currency, name = excluded.name, \
                     usage = excluded.usage, cash_account_type = excluded.cash_account_type, \
                     product = excluded.product, psu_status = excluded.psu_status, \
                     company_scheme = excluded.company_scheme, company_id = excluded.company_id, \
                     segment = excluded.segment, eligible = excluded.eligible, \
                     position = excluded.position",
                );
                for cell in row {
                    query = match cell {
                        Cell::Text(v) => query.bind(v),
                        Cell::Int(v) => query.bind(v),
                    };
                }
                query.execute(&mut *tx).await?;
                summary.accounts += 1;
                summary.eligible += usize::from(account.eligible());
            }
        }
        tx.commit().await?;
        if summary.psus + summary.accounts >= super::ANALYZE_AFTER {
            self.analyze(&["psus", "accounts"]).await;
        }
        Ok(summary)
    }
}

fn account_row(
    bank_code: &str,
    customer: &Customer,
    account: &CustomerAccount,
    position: usize,
) -> Result<Vec<Cell>> {
    let text = |v: &str| Cell::Text(Some(v.to_owned()));
    let opt = |v: &Option<String>| Cell::Text(v.clone());
    Ok(vec![
        text(bank_code),
        text(&account.resource_id()?),
        text(&customer.psu_id),
        text(&compact(&account.iban)),
        text(&account.currency),
        text(&account.name),
        Cell::Text(None),
        opt(&account.usage),
        text(&account.cash_account_type),
        opt(&account.product),
        opt(&account.psu_status),
        Cell::Text(customer.siren.as_ref().map(|_| "SREN".to_owned())),
        opt(&customer.siren),
        text(&customer.segment),
        Cell::Int(Some(i64::from(account.eligible()))),
        Cell::Int(Some(i64::try_from(position).unwrap_or(0))),
    ])
}
