//! What the fixture tests share.
#![allow(dead_code)]

use std::error::Error;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use guichet_camt::{
    BankTransactionCode, CamtError, CreditDebit, CreditorReference, CreditorReferenceType,
    Document, DomainCode, Entry, EntryStatus, read_document,
};
use jiff::civil::{Date, date};
use rust_decimal::Decimal;

pub type TestResult = Result<(), Box<dyn Error>>;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

pub fn read(name: &str) -> Result<Document, Box<dyn Error>> {
    let file = File::open(fixture(name))?;
    Ok(read_document(BufReader::new(file))?)
}

pub fn read_error(name: &str) -> Result<CamtError, Box<dyn Error>> {
    match read(name) {
        Ok(document) => Err(format!("{name} was read: {document:?}").into()),
        Err(error) => match error.downcast::<CamtError>() {
            Ok(camt) => Ok(*camt),
            Err(other) => Err(other),
        },
    }
}

pub fn march(day: i8) -> Date {
    date(2024, 3, day)
}

pub fn eur(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

pub fn domain(domain: &str, family: &str, sub_family: &str) -> Option<BankTransactionCode> {
    Some(BankTransactionCode {
        domain: Some(DomainCode {
            domain: domain.into(),
            family: family.into(),
            sub_family: sub_family.into(),
        }),
        proprietary: None,
    })
}

/// A booked EUR entry of `cents`, at `line`.
pub fn booked(cents: i64, direction: CreditDebit, line: u64) -> Entry {
    let mut entry = Entry::new(eur(cents), "EUR", direction, EntryStatus::Booked);
    entry.line = line;
    entry
}

/// A creditor reference typed `SCOR` (`Tp/CdOrPrtry/Cd`), without an issuer.
pub fn scor(reference: &str) -> CreditorReference {
    CreditorReference {
        kind: Some(CreditorReferenceType {
            code: "SCOR".into(),
            proprietary: false,
            issuer: None,
        }),
        reference: reference.into(),
    }
}

pub fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|line| (*line).to_owned()).collect()
}

/// The closing booked balance is the opening one plus the booked entries.
pub fn assert_balanced(document: &Document, statement: usize) {
    let statement = &document.statements[statement];
    let find = |code: &str| {
        statement
            .balances
            .iter()
            .find(|b| b.code == code)
            .map(|b| b.amount)
    };
    let booked: Decimal = statement
        .entries
        .iter()
        .filter(|e| e.status == EntryStatus::Booked)
        .map(|e| e.signed_amount())
        .sum();
    assert_eq!(find("OPBD").map(|o| o + booked), find("CLBD"));
}
