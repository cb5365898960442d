//! A bank's data in the store written as the files a core banking system would give
//! (`guichet sandbox export-camt`): the customer file, and per account a camt.053 of its booked
//! operations with the accounting balance and a camt.052 of its pending ones with the instant
//! balance. Imported into an empty store, they give back the same customers, accounts,
//! balances and operations (tests/import.rs).
//!
//! Each entry names its operation's resourceId in a `NtryDtls/TxDtls/Refs/Prtry` typed
//! [`RESOURCE_ID_REFERENCE`], and carries its entryReference as its account servicer reference
//! (`AcctSvcrRef`) where the operation has one: the portal gives one only to professional
//! customers' operations, and to a Paylib payment only once booked, so that an entry without
//! `AcctSvcrRef` is imported without entryReference. The portal's entryReferences of card and
//! "other" operations have 40 characters (STET allows 40), 5 more than ISO's `Max35Text`:
//! those entries are read by Guichet but not valid against the ISO schema.
//!
//! The balances are dated by their reference day and the file by `created`: the import takes
//! a balance's lastChangeDateTime from the file's creation time.

use guichet_camt::{
    AccountHeader, AccountId, Balance, BankTransactionCode, CreditDebit, DomainCode, Entry,
    EntryStatus, Header, Kind, ProprietaryCode, ProprietaryReference, Version, write_document,
};
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::RESOURCE_ID_REFERENCE;
use super::remittance::creditor_references;
use crate::{AccountRecord, Result, Store, StoreError, TransactionQuery, TransactionRecord};

/// The files of one bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankFiles {
    /// The customer file, JSON.
    pub customers: String,
    /// camt.053.001.08: every account's booked operations and accounting balance.
    pub statement: String,
    /// camt.052.001.08: every account's pending operations and instant balance.
    pub report: String,
}

fn day(text: &str) -> Result<Date> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("date '{text}': {e}")))
}

fn entry(tx: &TransactionRecord) -> Result<Entry> {
    let (status, credit_debit) = (
        if tx.status == "BOOK" {
            EntryStatus::Booked
        } else {
            EntryStatus::Pending
        },
        if tx.credit_debit == "CRDT" {
            CreditDebit::Credit
        } else {
            CreditDebit::Debit
        },
    );
    let mut entry = Entry::new(
        Decimal::new(tx.amount_minor, 2),
        tx.currency.clone(),
        credit_debit,
        status,
    );
    entry.proprietary_references = vec![ProprietaryReference {
        kind: RESOURCE_ID_REFERENCE.to_owned(),
        reference: tx.resource_id.clone(),
    }];
    entry.account_servicer_reference = tx.entry_reference.clone();
    entry.booking_date = Some(day(&tx.imputation_date)?);
    entry.value_date = tx.value_date.as_deref().map(day).transpose()?;
    entry.transaction_date = tx.transaction_date.as_deref().map(day).transpose()?;
    if !tx.remittance.is_empty() {
        entry.unstructured = vec![tx.remittance.clone()];
    }
    entry.structured = creditor_references(tx.remittance_structured.as_deref());
    entry.bank_transaction_code =
        tx.btc
            .as_ref()
            .map(|[domain, family, sub, code, issuer]| BankTransactionCode {
                domain: match (domain, family, sub) {
                    (Some(domain), Some(family), Some(sub_family)) => Some(DomainCode {
                        domain: domain.clone(),
                        family: family.clone(),
                        sub_family: sub_family.clone(),
                    }),
                    _ => None,
                },
                proprietary: code.as_ref().map(|code| ProprietaryCode {
                    code: code.clone(),
                    issuer: issuer.clone(),
                }),
            });
    Ok(entry)
}

impl Store {
    /// The files of a bank's data, made at `created` (an ISO date-time).
    pub async fn export_camt(
        &self,
        bank_code: &str,
        created: &str,
        bic: &str,
    ) -> Result<BankFiles> {
        let mut customers = Vec::new();
        let mut booked = Vec::new();
        let mut pending = Vec::new();
        for psu in self.psus(bank_code).await? {
            let accounts = self.psu_accounts(bank_code, &psu.psu_id).await?;
            customers.push(json!({
                "psuId": psu.psu_id,
                "login": psu.persona,
                "kind": psu.kind,
                "displayName": psu.display_name,
                "namePrefix": psu.name_prefix,
                "firstName": psu.first_name,
                "lastName": psu.last_name,
                "segment": psu.segment,
                "siren": accounts.iter().find_map(|a| a.company_id.clone()),
                "accounts": accounts.iter().map(customer_account).collect::<Vec<Value>>(),
            }));
            for account in &accounts {
                let header = account_header(account, created, bic);
                let (statement, report) = self.account_entries(account).await?;
                let balances = self.balances(bank_code, &account.resource_id).await?;
                let balance = |kind: &str, code: &str| -> Result<Vec<Balance>> {
                    balances
                        .iter()
                        .filter(|b| b.balance_type == kind)
                        .map(|b| {
                            Ok(Balance {
                                code: code.to_owned(),
                                proprietary: false,
                                amount: Decimal::new(b.amount_minor, 2),
                                currency: b.currency.clone(),
                                date: day(b.reference_date.as_deref().unwrap_or_default())?,
                                line: 0,
                            })
                        })
                        .collect()
                };
                booked.push((header.clone(), balance("CLBD", "CLBD")?, statement));
                pending.push((header, balance("XPCD", "ITAV")?, report));
            }
        }
        let head = |kind| Header {
            kind,
            version: Version::V08,
            message_id: format!(
                "GUICHET-{bank_code}-{}",
                created.get(..10).unwrap_or(created)
            ),
            created: created.to_owned(),
        };
        let customers = serde_json::to_string_pretty(&json!({ "customers": customers }))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(BankFiles {
            customers,
            statement: write_document(
                Kind::Statement053,
                Version::V08,
                &head(Kind::Statement053),
                &booked,
            ),
            report: write_document(
                Kind::Report052,
                Version::V08,
                &head(Kind::Report052),
                &pending,
            ),
        })
    }

    /// An account's booked and pending entries, oldest first.
    async fn account_entries(&self, account: &AccountRecord) -> Result<(Vec<Entry>, Vec<Entry>)> {
        let query = TransactionQuery {
            bank_code: account.bank_code.clone(),
            account_id: account.resource_id.clone(),
            limit: i64::MAX,
            ..TransactionQuery::default()
        };
        let mut operations = self.transactions(&query).await?;
        operations.sort_by_key(|tx| tx.seq);
        let mut booked = Vec::new();
        let mut pending = Vec::new();
        for tx in &operations {
            let entry = entry(tx)?;
            if tx.status == "BOOK" {
                booked.push(entry);
            } else {
                pending.push(entry);
            }
        }
        Ok((booked, pending))
    }
}

fn customer_account(account: &AccountRecord) -> Value {
    json!({
        "iban": account.iban,
        "name": account.name,
        "currency": account.currency,
        "cashAccountType": account.cash_account_type,
        "usage": account.usage,
        "product": account.product,
        "status": if account.eligible { "active" } else { "closed" },
        "psuStatus": account.psu_status,
        "resourceId": account.resource_id,
    })
}

fn account_header(account: &AccountRecord, created: &str, bic: &str) -> AccountHeader {
    AccountHeader {
        statement_id: format!(
            "{}-{}",
            account.resource_id,
            created.get(..10).unwrap_or(created)
        ),
        electronic_sequence: None,
        created: Some(created.to_owned()),
        account: AccountId::Iban(account.iban.clone()),
        currency: Some(account.currency.clone()),
        name: Some(account.name.clone()),
        owner_name: None,
        servicer_bic: Some(bic.to_owned()),
        line: 0,
    }
}
