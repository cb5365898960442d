//! One camt entry as an operation of the store.
//!
//! - **resourceId**, which identifies the operation from one file to the next: the
//!   `NtryDtls/TxDtls/Refs/Prtry` reference typed [`RESOURCE_ID_REFERENCE`] when the bank gives
//!   one, else the entry's account servicer reference (`AcctSvcrRef`), else its `NtryRef`, else
//!   a digest of what it states (stable across imports of the same entry).
//! - **entryReference**: the entry's account servicer reference, else its `NtryRef`; none when
//!   it has neither. A pending operation may have none and get one once booked (portal: "other
//!   types of operations (e. g. Paylib) have this data only for BOOK status"): the booked entry
//!   finds the operation by its resourceId and gives it its entryReference.
//! - **Remittance**: the `Ustrd` lines on one line (else `AddtlNtryInf`), at most 140
//!   characters, and the `Strd/CdtrRefInf` as STET's structured remittance (`remittance`).

use aws_lc_rs::digest::{SHA256, digest};
use guichet_camt::{Entry, EntryStatus};

use super::RESOURCE_ID_REFERENCE;
use super::remittance::structured_remittance;
use super::statements::{Current, ImportError, Tx, minor, refused};
use crate::TransactionRef;
use crate::operation_json::operation_json;

pub(super) enum Written {
    Added,
    Updated,
    Unchanged,
    Skipped,
}

fn given(reference: Option<&String>) -> Option<String> {
    reference
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
}

/// The operation's entryReference: the entry's account servicer reference, else its entry
/// reference.
fn entry_reference(entry: &Entry) -> Option<String> {
    given(entry.account_servicer_reference.as_ref())
        .or_else(|| given(entry.entry_reference.as_ref()))
}

/// The operation's resourceId, see the module's documentation.
fn resource_id(entry: &Entry) -> String {
    let named = entry
        .proprietary_references
        .iter()
        .find(|r| r.kind.trim() == RESOURCE_ID_REFERENCE)
        .map(|r| &r.reference);
    if let Some(id) = given(named).or_else(|| entry_reference(entry)) {
        return id;
    }
    let stated = format!(
        "{}|{}|{}|{:?}|{:?}|{}",
        entry.amount,
        entry.currency,
        entry.credit_debit.code(),
        entry.booking_date,
        entry.value_date,
        entry.unstructured.join(" ")
    );
    let hash = digest(&SHA256, stated.as_bytes());
    format!("H{}", crate::tokens::hex(&hash.as_ref()[..12]))
}

/// The unstructured remittance on one line: the `Ustrd` lines, else `AddtlNtryInf`; the
/// structured references are STET's `structured` remittance, not repeated here.
fn remittance(entry: &Entry) -> String {
    let text = if !entry.unstructured.is_empty() {
        entry.unstructured.join(" ")
    } else {
        entry.additional_info.clone().unwrap_or_default()
    };
    text.chars().take(140).collect()
}

pub(super) async fn write_entry(
    tx: &mut Tx,
    account: &mut Current,
    entry: &Entry,
    report_day: Option<jiff::civil::Date>,
) -> Result<Written, ImportError> {
    let status = match entry.status {
        EntryStatus::Booked => "BOOK",
        EntryStatus::Pending => "PDNG",
        _ => return Ok(Written::Skipped),
    };
    if entry.currency != account.currency {
        return Err(refused(
            entry.line,
            "Ntry/Amt",
            format!(
                "an entry in {} on an account in {}",
                entry.currency, account.currency
            ),
        ));
    }
    let amount = minor(entry.amount, entry.line, "Ntry/Amt")?;
    // Without a booking date (a pending operation has none yet) nor a value date, the
    // operation is dated on the day of the statement or report.
    let day = entry
        .booking_date
        .or(entry.value_date)
        .or(report_day)
        .ok_or_else(|| {
            refused(
                entry.line,
                "Ntry/BookgDt",
                "no date to book the entry on".into(),
            )
        })?;
    let codes = entry.bank_transaction_code.as_ref();
    let domain = codes.and_then(|c| c.domain.as_ref());
    let proprietary = codes.and_then(|c| c.proprietary.as_ref());
    let btc = [
        domain.map(|d| d.domain.clone()),
        domain.map(|d| d.family.clone()),
        domain.map(|d| d.sub_family.clone()),
        proprietary.map(|p| p.code.clone()),
        proprietary.and_then(|p| p.issuer.clone()),
    ];
    let operation = Operation {
        resource_id: resource_id(entry),
        amount,
        direction: entry.credit_debit.code(),
        status,
        day: day.to_string(),
        value_date: entry.value_date.map(|d| d.to_string()),
        transaction_date: entry.transaction_date.map(|d| d.to_string()),
        remittance: remittance(entry),
        btc,
        entry_reference: entry_reference(entry),
        structured: structured_remittance(&entry.structured),
    };
    let existing = sqlx::query(
        "SELECT seq FROM transactions WHERE bank_code = $1 AND account_id = $2 AND resource_id = $3",
    )
    .bind(&account.bank_code)
    .bind(&account.account_id)
    .bind(&operation.resource_id)
    .fetch_optional(&mut **tx)
    .await?;
    if existing.is_some() {
        // Booked stays booked: an older intraday report does not set it back to pending.
        let update = sqlx::query(
            "UPDATE transactions SET amount_minor = $4, credit_debit = $5, status = $6, \
             imputation_date = $7, value_date = $8, transaction_date = $9, remittance = $10, \
             btc_domain = $11, btc_family = $12, btc_sub_family = $13, btc_code = $14, \
             btc_issuer = $15, entry_reference = $16, remittance_structured = $17, json = $18 \
             WHERE bank_code = $1 AND account_id = $2 AND resource_id = $3 \
               AND NOT (status = 'BOOK' AND $6 = 'PDNG') \
               AND (amount_minor IS DISTINCT FROM $4 OR credit_debit IS DISTINCT FROM $5 \
                 OR status IS DISTINCT FROM $6 OR imputation_date IS DISTINCT FROM $7 \
                 OR value_date IS DISTINCT FROM $8 OR transaction_date IS DISTINCT FROM $9 \
                 OR remittance IS DISTINCT FROM $10 OR btc_domain IS DISTINCT FROM $11 \
                 OR btc_family IS DISTINCT FROM $12 OR btc_sub_family IS DISTINCT FROM $13 \
                 OR btc_code IS DISTINCT FROM $14 OR btc_issuer IS DISTINCT FROM $15 \
                 OR entry_reference IS DISTINCT FROM $16 \
                 OR remittance_structured IS DISTINCT FROM $17)",
        );
        let done = operation
            .bind(update, account)
            .bind(operation.json(account))
            .execute(&mut **tx)
            .await?;
        return Ok(if done.rows_affected() > 0 {
            Written::Updated
        } else {
            Written::Unchanged
        });
    }
    let seq = account.next_seq;
    account.next_seq += 1;
    let insert = sqlx::query(
        "INSERT INTO transactions (bank_code, account_id, resource_id, amount_minor, \
         credit_debit, status, imputation_date, value_date, transaction_date, remittance, \
         btc_domain, btc_family, btc_sub_family, btc_code, btc_issuer, entry_reference, \
         remittance_structured, seq, currency, json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
         $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    );
    operation
        .bind(insert, account)
        .bind(seq)
        .bind(account.currency.clone())
        .bind(operation.json(account))
        .execute(&mut **tx)
        .await?;
    Ok(Written::Added)
}

/// An operation's columns as an entry gives them.
struct Operation {
    resource_id: String,
    amount: i64,
    direction: &'static str,
    status: &'static str,
    day: String,
    value_date: Option<String>,
    transaction_date: Option<String>,
    remittance: String,
    btc: [Option<String>; 5],
    entry_reference: Option<String>,
    structured: Option<String>,
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

impl Operation {
    /// The operation's STET JSON, kept with it (`operation_json`).
    fn json(&self, account: &Current) -> String {
        operation_json(&TransactionRef {
            account_id: &account.account_id,
            seq: 0,
            resource_id: &self.resource_id,
            entry_reference: self.entry_reference.as_deref(),
            amount_minor: self.amount,
            currency: &account.currency,
            credit_debit: self.direction,
            status: self.status,
            imputation_date: &self.day,
            value_date: self.value_date.as_deref(),
            transaction_date: self.transaction_date.as_deref(),
            remittance: &self.remittance,
            remittance_structured: self.structured.as_deref(),
            btc: self.btc[0]
                .as_ref()
                .map(|_| [0, 1, 2, 3, 4].map(|i| self.btc[i].as_deref())),
        })
    }

    /// Binds `$1` (bank), `$2` (account), `$3` (resourceId) and the operation's columns `$4`
    /// to `$17`.
    fn bind<'q>(&self, query: AnyQuery<'q>, account: &Current) -> AnyQuery<'q> {
        let mut query = query
            .bind(account.bank_code.clone())
            .bind(account.account_id.clone())
            .bind(self.resource_id.clone())
            .bind(self.amount)
            .bind(self.direction)
            .bind(self.status)
            .bind(self.day.clone())
            .bind(self.value_date.clone())
            .bind(self.transaction_date.clone())
            .bind(self.remittance.clone());
        for code in &self.btc {
            query = query.bind(code.clone());
        }
        query
            .bind(self.entry_reference.clone())
            .bind(self.structured.clone())
    }
}

#[cfg(test)]
mod tests {
    use guichet_camt::{CreditDebit, ProprietaryReference};
    use rust_decimal::Decimal;

    use super::*;

    fn entry() -> Entry {
        Entry::new(
            Decimal::new(1250, 2),
            "EUR",
            CreditDebit::Debit,
            EntryStatus::Pending,
        )
    }

    #[test]
    fn resource_id_and_entry_reference() {
        let mut bare = entry();
        assert_eq!(entry_reference(&bare), None);
        let digest = resource_id(&bare);
        assert!(digest.starts_with('H') && digest.len() == 25, "{digest}");
        bare.entry_reference = Some(" 7 ".into());
        assert_eq!(
            (resource_id(&bare), entry_reference(&bare)),
            ("7".into(), Some("7".into()))
        );
        bare.account_servicer_reference = Some("2024030500001".into());
        assert_eq!(
            (resource_id(&bare), entry_reference(&bare)),
            ("2024030500001".into(), Some("2024030500001".into())),
            "the account servicer reference first"
        );
        let mut named = entry();
        named.proprietary_references = vec![
            ProprietaryReference {
                kind: "OTHER".into(),
                reference: "X".into(),
            },
            ProprietaryReference {
                kind: RESOURCE_ID_REFERENCE.into(),
                reference: "T3580740977407".into(),
            },
        ];
        assert_eq!(
            (resource_id(&named), entry_reference(&named)),
            ("T3580740977407".into(), None),
            "a pending Paylib payment: a resourceId, no entryReference yet"
        );
        named.account_servicer_reference =
            Some("17515000876543212026-11-23-09.12.13.000042".into());
        assert_eq!(resource_id(&named), "T3580740977407");
        assert_eq!(
            entry_reference(&named).as_deref(),
            Some("17515000876543212026-11-23-09.12.13.000042")
        );
    }

    #[test]
    fn remittance_is_the_unstructured_lines() {
        let mut e = entry();
        e.structured = vec![guichet_camt::CreditorReference::iso11649(
            "RF18539007547034",
        )];
        e.additional_info = Some("VIREMENT".into());
        assert_eq!(remittance(&e), "VIREMENT");
        e.unstructured = vec!["FACTURE".into(), "x".repeat(200)];
        assert_eq!(remittance(&e).chars().count(), 140);
    }
}
