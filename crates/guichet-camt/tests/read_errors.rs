//! The malformed fixtures fail with the line and the element at fault.

mod common;

use std::fs::File;
use std::io::BufReader;

use common::*;
use guichet_camt::{CamtReader, Item};

#[test]
fn a_bad_amount_is_reported_at_its_line_after_the_good_items() -> TestResult {
    let error = read_error("bad_amount.xml")?;
    assert_eq!(
        error.to_string(),
        "line 29, Document/BkToCstmrStmt/Stmt/Ntry/Amt: '12,50' is not an amount"
    );
    let file = File::open(fixture("bad_amount.xml"))?;
    let items: Vec<_> = CamtReader::new(BufReader::new(file)).collect();
    assert_eq!(
        items.len(),
        4,
        "account, balance, entry, then the error: {items:?}"
    );
    assert!(matches!(items[2], Ok(Item::Entry(ref e)) if e.line == 22));
    assert_eq!(items[3].as_ref().err().map(|e| e.line), Some(29));
    Ok(())
}

#[test]
fn a_missing_direction_is_reported_at_the_entry() -> TestResult {
    let error = read_error("missing_cdtdbtind.xml")?;
    assert_eq!(error.line, 21);
    assert_eq!(error.element, "Document/BkToCstmrStmt/Stmt/Ntry");
    assert!(error.message.contains("without CdtDbtInd"), "{error}");
    Ok(())
}

#[test]
fn another_namespace_is_refused_and_named() -> TestResult {
    let error = read_error("wrong_namespace.xml")?;
    assert_eq!((error.line, error.element.as_str()), (2, "Document"));
    assert!(
        error.message.contains(
            "'urn:iso:std:iso:20022:tech:xsd:camt.054.001.02' is not camt.052 or camt.053"
        ),
        "{error}"
    );
    Ok(())
}

#[test]
fn a_report_holding_a_statement_is_refused() -> TestResult {
    let error = read_error("statement_in_report.xml")?;
    assert_eq!(
        error.to_string(),
        "line 8, Document/BkToCstmrAcctRpt/Stmt: a camt.052 file holds <Rpt>, not <Stmt>"
    );
    Ok(())
}
