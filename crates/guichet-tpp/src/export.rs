//! Exports of the synced operations: CSV, JSON, OFX 2.2 and ISO 20022 camt.053.001.08.
//!
//! Every export reads operations as [`Operation`]s: what the local store keeps of one
//! ([`LocalTransaction`] converts into it), or what a bank sent ([`Operation::from_stet`]), which
//! also carries the value date and the bank transaction code.
//!
//! Booked and pending operations are told apart everywhere: STET status `BOOK` is booked,
//! `OTHR` and `PDNG` are not booked yet (their amount, date or very existence may still
//! change). The CSV and JSON say which in a `status` column; the OFX lists pending operations
//! apart from posted ones; the camt.053 statement holds booked operations only.

mod camt;
mod ofx;

use guichet_stet::model::{BankTransactionCode, Transaction};
use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::store::LocalTransaction;

pub use self::camt::{CAMT053_NAMESPACE, Statement, camt053, camt053_statements};
pub use self::ofx::{ofx, ofx_operations};

/// STET status of a booked operation; `OTHR` and `PDNG` are not booked yet.
pub const BOOKED: &str = "BOOK";

/// The CSV's header row.
pub const CSV_HEADER: &str = "bank,iban,date,amount,currency,status,label,reference,transaction_id";

/// One operation of one account, as the exports see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The bank's code.
    pub bank: String,
    pub iban: String,
    /// The local store's key of the operation, unique within the account: the bank's
    /// resourceId, else its entryReference, else `day|amount|label`.
    pub key: String,
    /// The bank's id of the operation (STET `resourceId`), when it gave one.
    pub transaction_id: Option<String>,
    /// STET `entryReference`: the bank's accounting reference, identical before and after
    /// booking.
    pub entry_reference: Option<String>,
    /// Signed: negative for a debit.
    pub amount: Decimal,
    pub currency: String,
    /// STET status: `BOOK`, `OTHR` or `PDNG`.
    pub status: String,
    pub booking_date: Option<Date>,
    pub value_date: Option<Date>,
    /// When an operation not booked yet is expected to be.
    pub expected_booking_date: Option<Date>,
    /// The unstructured remittance information, line by line (the label).
    pub remittance: Vec<String>,
    pub bank_transaction_code: Option<BankTransactionCode>,
}

/// A day written `YYYY-MM-DD` (a date-time is cut to its day).
pub(crate) fn parse_day(text: &str) -> Option<Date> {
    text.get(..10).and_then(|day| day.parse::<Date>().ok())
}

impl Operation {
    /// An operation as a STET bank sent it.
    pub fn from_stet(bank: &str, iban: &str, tx: &Transaction) -> Operation {
        let magnitude = tx.transaction_amount.amount.decimal().abs();
        // STET 1.4.2: amounts are unsigned, the creditDebitIndicator tells the direction.
        let amount = if tx.credit_debit_indicator == "DBIT" {
            -magnitude
        } else {
            magnitude
        };
        let remittance: Vec<String> = tx
            .remittance_information
            .as_ref()
            .map(|r| r.unstructured.clone())
            .unwrap_or_default();
        // The same key as the local store's (`sync::local`).
        let day = tx
            .booking_date
            .clone()
            .or_else(|| tx.expected_booking_date.clone())
            .or_else(|| tx.transaction_date.clone())
            .unwrap_or_default();
        let key = tx
            .resource_id
            .clone()
            .or_else(|| tx.entry_reference.clone())
            .unwrap_or_else(|| format!("{day}|{amount}|{}", remittance.join(" ")));
        Operation {
            bank: bank.to_owned(),
            iban: iban.to_owned(),
            key,
            transaction_id: tx.resource_id.clone(),
            entry_reference: tx.entry_reference.clone(),
            amount,
            currency: tx.transaction_amount.currency.clone(),
            status: tx.status.clone(),
            booking_date: tx.booking_date.as_deref().and_then(parse_day),
            value_date: tx.value_date.as_deref().and_then(parse_day),
            expected_booking_date: tx.expected_booking_date.as_deref().and_then(parse_day),
            remittance,
            bank_transaction_code: tx.bank_transaction_code.clone(),
        }
    }

    pub fn is_booked(&self) -> bool {
        self.status == BOOKED
    }

    /// The day of the operation: its booking date, else the day it is expected to be booked,
    /// else its value date.
    pub fn date(&self) -> Option<Date> {
        self.booking_date
            .or(self.expected_booking_date)
            .or(self.value_date)
    }

    /// The remittance information on one line.
    pub fn label(&self) -> String {
        self.remittance.join(" ")
    }
}

/// The store keys an operation by the bank's resourceId, else its entryReference, else
/// `day|amount|label` (`sync::local`): only the first is the bank's id of the operation.
fn transaction_id_of(t: &LocalTransaction) -> Option<String> {
    let is_reference = t.entry_reference.as_deref() == Some(t.key.as_str());
    let is_made_up = t.key.contains('|');
    (!t.key.is_empty() && !is_reference && !is_made_up).then(|| t.key.clone())
}

impl From<&LocalTransaction> for Operation {
    /// The store keeps one day per operation: the booking date of a booked operation, else the
    /// day it is expected to be booked (`sync::local`).
    fn from(t: &LocalTransaction) -> Operation {
        let day = parse_day(&t.day);
        let booked = t.status == BOOKED;
        Operation {
            bank: t.bank.clone(),
            iban: t.iban.clone(),
            key: t.key.clone(),
            transaction_id: transaction_id_of(t),
            entry_reference: t.entry_reference.clone(),
            amount: t.amount,
            currency: t.currency.clone(),
            status: t.status.clone(),
            booking_date: if booked { day } else { None },
            value_date: None,
            expected_booking_date: if booked { None } else { day },
            remittance: if t.label.is_empty() {
                Vec::new()
            } else {
                vec![t.label.clone()]
            },
            bank_transaction_code: None,
        }
    }
}

/// The operations of the store, as the exports read them.
pub fn operations(transactions: &[LocalTransaction]) -> Vec<Operation> {
    transactions.iter().map(Operation::from).collect()
}

fn csv_field(text: &str) -> String {
    // A spreadsheet runs a cell that starts with = + - @ as a formula (CSV injection, OWASP):
    // such a text, which a payer can put in a transfer's label, is written with a leading
    // apostrophe. Amounts are written as numbers, never through here.
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// CSV under [`CSV_HEADER`], one row per operation, booked or not: `date` is the booking
/// date of a booked operation and the expected booking date of a pending one, `status` says
/// which (STET `BOOK`, `OTHR`, `PDNG`), `reference` is the bank's entryReference only and
/// `transaction_id` the bank's resourceId; either is empty when the bank gave none.
pub fn csv(transactions: &[LocalTransaction]) -> String {
    csv_operations(&operations(transactions))
}

/// [`csv`] of operations from any source.
pub fn csv_operations(operations: &[Operation]) -> String {
    let mut out = String::with_capacity(120 * (operations.len() + 1));
    out.push_str(CSV_HEADER);
    out.push('\n');
    for op in operations {
        let fields = [
            csv_field(&op.bank),
            csv_field(&op.iban),
            op.date().map(|d| d.to_string()).unwrap_or_default(),
            op.amount.to_string(),
            csv_field(&op.currency),
            csv_field(&op.status),
            csv_field(&op.label()),
            csv_field(op.entry_reference.as_deref().unwrap_or_default()),
            csv_field(op.transaction_id.as_deref().unwrap_or_default()),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// A JSON array, one object per operation, booked or not.
pub fn json(transactions: &[LocalTransaction]) -> String {
    json_operations(&operations(transactions))
}

/// [`json`] of operations from any source.
pub fn json_operations(operations: &[Operation]) -> String {
    let day = |d: Option<Date>| d.map(|d| d.to_string());
    let items: Vec<serde_json::Value> = operations
        .iter()
        .map(|op| {
            serde_json::json!({
                "bank": op.bank,
                "iban": op.iban,
                "date": day(op.date()),
                "bookingDate": day(op.booking_date),
                "valueDate": day(op.value_date),
                "expectedBookingDate": day(op.expected_booking_date),
                "amount": op.amount.to_string(),
                "currency": op.currency,
                "status": op.status,
                "booked": op.is_booked(),
                "label": op.label(),
                "key": op.key,
                "transactionId": op.transaction_id,
                "entryReference": op.entry_reference,
                "bankTransactionCode": op.bank_transaction_code,
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_default()
}

/// Text for an XML element or attribute: the five special characters escaped, and the
/// control characters XML 1.0 forbids (all below U+0020 but tab, line feed and carriage
/// return) written as spaces.
pub(crate) fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// At most `limit` characters of `text`.
pub(crate) fn first_chars(text: &str, limit: usize) -> String {
    text.chars().take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(label: &str, status: &str, key: &str, reference: Option<&str>) -> LocalTransaction {
        LocalTransaction {
            bank: "17515".into(),
            iban: "FR7617515000920400000000001".into(),
            key: key.into(),
            entry_reference: reference.map(str::to_owned),
            amount: Decimal::new(-1250, 2),
            currency: "EUR".into(),
            status: status.into(),
            day: "2026-11-20".into(),
            label: label.into(),
        }
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        let out = csv(&[op("CB \"SHOP\", PARIS", "BOOK", "T1", None)]);
        assert!(out.contains("-12.50"));
        assert!(out.contains("\"CB \"\"SHOP\"\", PARIS\""), "{out}");
    }

    #[test]
    fn csv_keeps_the_reference_and_the_transaction_id_apart() {
        let out = csv(&[
            op("A", "BOOK", "T1", Some("REF1")),
            op("B", "OTHR", "REF2", Some("REF2")),
            op("C", "PDNG", "2026-11-20|-12.50|C", None),
        ]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert!(lines[0].starts_with("bank,iban,date,amount"));
        assert_eq!(
            lines[1],
            "17515,FR7617515000920400000000001,2026-11-20,-12.50,EUR,BOOK,A,REF1,T1"
        );
        assert_eq!(
            lines[2],
            "17515,FR7617515000920400000000001,2026-11-20,-12.50,EUR,OTHR,B,REF2,"
        );
        assert_eq!(
            lines[3],
            "17515,FR7617515000920400000000001,2026-11-20,-12.50,EUR,PDNG,C,,"
        );
    }

    #[test]
    fn csv_neutralises_formulas() {
        let out = csv(&[op("=HYPERLINK(\"x\")", "BOOK", "T1", None)]);
        assert!(out.contains(",\"'=HYPERLINK(\"\"x\"\")\","), "{out}");
    }

    #[test]
    fn a_stored_operation_keeps_its_day_as_booking_or_expected_date() {
        let booked = Operation::from(&op("A", "BOOK", "T1", None));
        assert_eq!(booked.booking_date, Some(jiff::civil::date(2026, 11, 20)));
        assert_eq!(booked.expected_booking_date, None);
        let pending = Operation::from(&op("A", "OTHR", "T1", None));
        assert_eq!(pending.booking_date, None);
        assert_eq!(
            pending.expected_booking_date,
            Some(jiff::civil::date(2026, 11, 20))
        );
        assert!(!pending.is_booked());
    }

    #[test]
    fn xml_text_escapes_and_drops_control_characters() {
        assert_eq!(
            xml_text("A<B & \"C\" 'D'>\u{1}"),
            "A&lt;B &amp; &quot;C&quot; &apos;D&apos;&gt; "
        );
    }
}
