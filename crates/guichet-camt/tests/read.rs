//! The hand-written camt.053 fixtures (a French bank's end-of-day statements, valid against
//! the ISO 20022 schemas) read to the expected model.

mod common;

use common::*;
use guichet_camt::{AccountId, BankTransactionCode, CreditDebit, Kind, ProprietaryCode, Version};
use rust_decimal::Decimal;

#[test]
fn a_statement_of_version_02() -> TestResult {
    let document = read("camt053_v02.xml")?;
    assert_eq!(
        (document.kind, document.version),
        (Kind::Statement053, Version::V02)
    );
    assert_eq!(document.message_id, "BEC20240305-053-0001");
    assert_eq!(document.created, "2024-03-06T02:15:00+01:00");
    assert_eq!(document.statements.len(), 2);
    let current = &document.statements[0];
    let account = &current.account;
    assert_eq!(account.statement_id, "STMT-20240305-0001");
    assert_eq!(account.electronic_sequence, Some(64));
    assert_eq!(
        account.created.as_deref(),
        Some("2024-03-06T02:15:00+01:00")
    );
    assert_eq!(
        account.account,
        AccountId::Iban("FR7630004000310001234567865".into())
    );
    assert_eq!(account.currency.as_deref(), Some("EUR"));
    assert_eq!(account.name.as_deref(), Some("Compte courant"));
    assert_eq!(account.owner_name.as_deref(), Some("M. Paul Martin"));
    assert_eq!(account.servicer_bic.as_deref(), Some("BECEFRPPXXX"));
    assert_eq!(account.line, 12);
    let balances: Vec<_> = current
        .balances
        .iter()
        .map(|b| {
            (
                b.code.as_str(),
                b.proprietary,
                b.amount,
                b.currency.as_str(),
                b.date,
                b.line,
            )
        })
        .collect();
    assert_eq!(
        balances,
        [
            ("OPBD", false, eur(152345), "EUR", march(4), 39),
            ("CLBD", false, eur(233206), "EUR", march(5), 51),
            ("CLAV", false, eur(233206), "EUR", march(5), 63),
        ]
    );
    assert_eq!(current.entries.len(), 5);
    assert_balanced(&document, 0);
    Ok(())
}

#[test]
fn the_entries_of_version_02() -> TestResult {
    let document = read("camt053_v02.xml")?;
    let entries = &document.statements[0].entries;

    let mut card = booked(4290, CreditDebit::Debit, 80);
    card.entry_reference = Some("1".into());
    card.booking_date = Some(march(5));
    card.value_date = Some(march(4));
    card.account_servicer_reference = Some("2024030500001".into());
    card.bank_transaction_code = domain("PMNT", "CCRD", "POSD").map(|code| BankTransactionCode {
        proprietary: Some(ProprietaryCode {
            code: "A1".into(),
            issuer: Some("CFONB".into()),
        }),
        ..code
    });
    card.creditor_name = Some("CARREFOUR MARKET".into());
    card.unstructured = strings(&["CB CARREFOUR MARKET 04/03 PARIS"]);
    card.transaction_date = Some(march(4));
    assert_eq!(entries[0], card);

    let mut salary = booked(125000, CreditDebit::Credit, 121);
    salary.entry_reference = Some("2".into());
    salary.booking_date = Some(march(5));
    salary.value_date = Some(march(5));
    salary.account_servicer_reference = Some("2024030500002".into());
    salary.bank_transaction_code = domain("PMNT", "RCDT", "ESCT");
    salary.end_to_end_id = Some("SALAIRE-2024-03".into());
    salary.debtor_name = Some("ACME SAS".into());
    salary.structured = vec![scor("RF18539007547034")];
    assert_eq!(entries[1], salary);

    let mut direct_debit = booked(8999, CreditDebit::Debit, 178);
    direct_debit.entry_reference = Some("3".into());
    direct_debit.booking_date = Some(march(5));
    direct_debit.value_date = Some(march(5));
    direct_debit.account_servicer_reference = Some("2024030500003".into());
    direct_debit.bank_transaction_code = domain("PMNT", "RDDT", "ESDD");
    direct_debit.end_to_end_id = Some("EDF-FAC-2024-0315".into());
    direct_debit.creditor_name = Some("EDF".into());
    direct_debit.unstructured = strings(&["PRLV SEPA EDF FACTURE 0315", "ICS FR12ZZZ123456"]);
    assert_eq!(entries[2], direct_debit);

    let rent = &entries[3];
    assert_eq!(rent.creditor_name.as_deref(), Some("Dupont & Fils"));
    assert_eq!(rent.transaction_date, Some(march(5)));
    assert_eq!(rent.signed_amount(), eur(-30000));

    let mut fees = booked(850, CreditDebit::Debit, 257);
    fees.booking_date = Some(march(5));
    fees.value_date = Some(march(5));
    fees.account_servicer_reference = Some("2024030500005".into());
    fees.bank_transaction_code = domain("ACMT", "MDOP", "CHRG");
    fees.additional_info = Some("FRAIS TENUE DE COMPTE MARS".into());
    assert_eq!(entries[4], fees);

    let savings = &document.statements[1];
    assert_eq!(
        savings.account.account,
        AccountId::Other("LIVRETA-00042".into())
    );
    assert_eq!(savings.account.electronic_sequence, None);
    assert_eq!(savings.account.line, 280);
    assert!(savings.entries.is_empty());
    assert_eq!(savings.balances.len(), 2);
    assert_balanced(&document, 1);
    Ok(())
}

#[test]
fn a_statement_of_version_08() -> TestResult {
    let document = read("camt053_v08.xml")?;
    assert_eq!(
        (document.kind, document.version),
        (Kind::Statement053, Version::V08)
    );
    let statement = &document.statements[0];
    assert_eq!(
        statement.account.servicer_bic.as_deref(),
        Some("BECEFRPPXXX")
    );
    assert_eq!(
        statement.account.owner_name.as_deref(),
        Some("Boulangerie Martin SARL")
    );
    assert_eq!(statement.balances[0].amount, eur(-25000));
    let authorised = &statement.balances[2];
    assert_eq!(
        (
            authorised.code.as_str(),
            authorised.proprietary,
            authorised.amount
        ),
        ("SOLDE-AUTORISE", true, Decimal::new(2000, 0))
    );
    assert_balanced(&document, 0);
    let entries = &statement.entries;
    assert_eq!(entries.len(), 4);

    let mut received = booked(145000, CreditDebit::Credit, 63);
    received.entry_reference = Some("20240305-0001".into());
    received.booking_date = Some(march(5));
    received.value_date = Some(march(5));
    received.account_servicer_reference = Some("BEC-0305-000981".into());
    received.bank_transaction_code = domain("PMNT", "RCDT", "ESCT");
    received.end_to_end_id = Some("CMD-2024-118".into());
    received.debtor_name = Some("Hôtel du Marché".into());
    received.creditor_name = Some("Boulangerie Martin SARL".into());
    received.structured = vec![scor("RF302024INV0042")];
    assert_eq!(entries[0], received);

    let direct_debit = &entries[1];
    assert_eq!(
        direct_debit.booking_date,
        Some(march(5)),
        "from BookgDt/DtTm"
    );
    assert_eq!(
        direct_debit
            .bank_transaction_code
            .as_ref()
            .and_then(|c| c.proprietary.clone()),
        Some(ProprietaryCode {
            code: "PRLV".into(),
            issuer: Some("BEC".into())
        })
    );
    assert_eq!(direct_debit.creditor_name.as_deref(), Some("ORANGE SA"));

    let batch = &entries[2];
    assert_eq!(
        batch.account_servicer_reference.as_deref(),
        Some("BEC-0305-000983")
    );
    assert_eq!(batch.end_to_end_id.as_deref(), Some("FOURN-0305-1"));
    assert_eq!(batch.creditor_name.as_deref(), Some("Moulins de France"));
    assert_eq!(
        batch.unstructured,
        strings(&["FARINE FACTURE 118", "BEURRE FACTURE 77"])
    );

    let returned = &entries[3];
    assert!(returned.reversal);
    assert_eq!(returned.value_date, Some(march(1)));
    assert_eq!(
        returned.additional_info.as_deref(),
        Some("REJET PRLV SEPA CONTESTATION")
    );
    assert_eq!(returned.line, 239);
    Ok(())
}
