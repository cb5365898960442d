//! The hand-written camt.052 fixtures (intraday reports with pending entries, valid against
//! the ISO 20022 schemas) read to the expected model, whole and item by item.

mod common;

use std::fs::File;
use std::io::BufReader;

use common::*;
use guichet_camt::{
    BankTransactionCode, CamtReader, CreditDebit, Entry, EntryStatus, Item, Kind, ProprietaryCode,
    Version,
};

#[test]
fn a_report_of_version_02_with_pending_entries() -> TestResult {
    let document = read("camt052_v02.xml")?;
    assert_eq!(
        (document.kind, document.version),
        (Kind::Report052, Version::V02)
    );
    assert_eq!(document.created, "2024-03-06T12:00:00");
    let report = &document.statements[0];
    assert_eq!(report.account.statement_id, "RPT-20240306-1200");
    assert_eq!(report.account.servicer_bic.as_deref(), Some("BECEFRPP"));
    assert_eq!(report.account.line, 9);
    let codes: Vec<_> = report
        .balances
        .iter()
        .map(|b| (b.code.as_str(), b.date))
        .collect();
    assert_eq!(codes, [("ITBD", march(6)), ("ITAV", march(6))]);

    let entries = &report.entries;
    let statuses: Vec<_> = entries.iter().map(|e| e.status.clone()).collect();
    assert_eq!(
        statuses,
        [
            EntryStatus::Booked,
            EntryStatus::Pending,
            EntryStatus::Pending
        ]
    );
    assert_eq!(entries[0].creditor_name.as_deref(), Some("SNCF VOYAGEURS"));
    assert_eq!(entries[0].transaction_date, Some(march(6)));

    let mut incoming = Entry::new(eur(50000), "EUR", CreditDebit::Credit, EntryStatus::Pending);
    incoming.value_date = Some(march(7));
    incoming.bank_transaction_code = domain("PMNT", "RCDT", "ESCT");
    incoming.end_to_end_id = Some("NOTPROVIDED".into());
    incoming.debtor_name = Some("Mme Claire Martin".into());
    incoming.unstructured = strings(&["REMBOURSEMENT VACANCES"]);
    incoming.line = 83;
    assert_eq!(entries[1], incoming);

    let authorisation = &entries[2];
    assert_eq!(authorisation.booking_date, None);
    assert_eq!(
        authorisation.bank_transaction_code,
        Some(BankTransactionCode {
            domain: None,
            proprietary: Some(ProprietaryCode {
                code: "AUTORISATION CB".into(),
                issuer: None
            }),
        })
    );
    assert_eq!(
        authorisation.additional_info.as_deref(),
        Some("CB FNAC 06/03 EN ATTENTE")
    );
    Ok(())
}

#[test]
fn a_report_of_version_08_item_by_item() -> TestResult {
    let file = File::open(fixture("camt052_v08.xml"))?;
    let mut reader = CamtReader::new(BufReader::new(file));
    let header = reader.header()?;
    assert_eq!(
        (header.kind, header.version),
        (Kind::Report052, Version::V08)
    );
    assert_eq!(header.message_id, "BEC20240306-052-0008");
    let mut shape = Vec::new();
    let mut entries = Vec::new();
    while let Some(item) = reader.next_item()? {
        match item {
            Item::Account(account) => {
                assert_eq!(account.electronic_sequence, Some(3));
                shape.push(format!("account {}", account.account.as_str()));
            }
            Item::Balance(balance) => shape.push(format!("{} {}", balance.code, balance.amount)),
            Item::Entry(entry) => {
                shape.push(format!("{} {}", entry.status.code(), entry.signed_amount()));
                entries.push(entry);
            }
            Item::EndAccount => shape.push("end".into()),
        }
    }
    assert_eq!(
        shape,
        [
            "account FR7630066100210001023450107",
            "ITBD 1333.20",
            "BOOK 238.20",
            "PDNG -780.00",
            "INFO -35.00",
            "end"
        ]
    );
    assert_eq!(reader.next_item()?, None, "the end stays the end");
    let rent = &entries[1];
    assert_eq!(rent.debtor_name.as_deref(), Some("Boulangerie Martin SARL"));
    assert_eq!(rent.creditor_name.as_deref(), Some("SCI Les Tilleuls"));
    assert_eq!(rent.transaction_date, Some(march(6)), "from AccptncDtTm");
    assert_eq!(
        rent.end_to_end_id.as_deref(),
        Some("LOYER-BOUTIQUE-2024-03")
    );
    assert_eq!(
        entries.iter().map(|e| e.line).collect::<Vec<_>>(),
        [43, 74, 119]
    );
    Ok(())
}
