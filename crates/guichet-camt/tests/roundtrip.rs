//! Random accounts, balances and entries, written by `write_document` as each kind and
//! version, read back by `CamtReader` to the same model.

use guichet_camt::{
    AccountHeader, AccountId, Balance, BankTransactionCode, CreditDebit, CreditorReference,
    CreditorReferenceType, DOCUMENT_TYPE_CODES, Document, DomainCode, Entry, EntryStatus, Kind,
    ProprietaryCode, ProprietaryReference, Statement, Version, read_document, write_document,
};
use jiff::civil::{Date, date};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use rust_decimal::Decimal;

/// 1 to 32 characters that need escaping or are not ASCII, without spaces at either end
/// (the reader trims).
fn text() -> impl Strategy<Value = String> {
    r#"[A-Za-z0-9&<>"'é/.-]([A-Za-z0-9 &<>"'éç/.-]{0,30}[A-Za-z0-9&<>"'é])?"#
}

fn day() -> impl Strategy<Value = Date> {
    (1990i16..2100, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| date(y, m, d))
}

fn date_time() -> impl Strategy<Value = String> {
    (day(), 0u8..24, 0u8..60).prop_map(|(d, h, m)| format!("{d}T{h:02}:{m:02}:00+01:00"))
}

/// An unsigned amount of at most 18 digits and 5 decimals.
fn amount() -> impl Strategy<Value = Decimal> {
    (0i64..1_000_000_000_000, 0u32..=5).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale))
}

fn currency() -> impl Strategy<Value = String> {
    "[A-Z]{3}"
}

fn code4() -> impl Strategy<Value = String> {
    "[A-Z]{4}"
}

fn account_header() -> impl Strategy<Value = AccountHeader> {
    let id = prop_oneof![
        "[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}".prop_map(AccountId::Iban),
        text().prop_map(AccountId::Other),
    ];
    let bic = "[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?";
    (
        text(),
        option::of(0u64..1_000_000_000_000),
        date_time(),
        id,
        option::of(currency()),
        option::of(text()),
        option::of(text()),
        option::of(bic),
    )
        .prop_map(
            |(statement_id, sequence, created, account, currency, name, owner, bic)| {
                AccountHeader {
                    electronic_sequence: sequence,
                    created: Some(created),
                    currency,
                    name,
                    owner_name: owner,
                    servicer_bic: bic,
                    ..AccountHeader::new(statement_id, account)
                }
            },
        )
}

fn balance() -> impl Strategy<Value = Balance> {
    let iso = proptest::sample::select(vec![
        "OPBD", "CLBD", "ITBD", "OPAV", "CLAV", "ITAV", "FWAV", "PRCD", "XPCD", "INFO",
    ]);
    let code = prop_oneof![
        iso.prop_map(|code| (code.to_owned(), false)),
        text().prop_map(|code| (code, true)),
    ];
    let signed =
        (amount(), any::<bool>()).prop_map(|(a, debit)| if debit && !a.is_zero() { -a } else { a });
    (code, signed, currency(), day()).prop_map(|((code, proprietary), amount, currency, date)| {
        Balance {
            code,
            proprietary,
            amount,
            currency,
            date,
            line: 0,
        }
    })
}

fn status() -> impl Strategy<Value = EntryStatus> {
    prop_oneof![
        Just(EntryStatus::Booked),
        Just(EntryStatus::Pending),
        Just(EntryStatus::Information),
        "FUTR|[A-Z]{5,12}".prop_map(EntryStatus::Other),
    ]
}

fn bank_transaction_code() -> impl Strategy<Value = BankTransactionCode> {
    let domain = (code4(), code4(), code4()).prop_map(|(domain, family, sub_family)| DomainCode {
        domain,
        family,
        sub_family,
    });
    let proprietary =
        (text(), option::of(text())).prop_map(|(code, issuer)| ProprietaryCode { code, issuer });
    (option::of(domain), option::of(proprietary))
        .prop_filter("a code holds Domn or Prtry", |(d, p)| {
            d.is_some() || p.is_some()
        })
        .prop_map(|(domain, proprietary)| BankTransactionCode {
            domain,
            proprietary,
        })
}

/// A `Strd/CdtrRefInf`: untyped, typed by an ISO code or by the bank's own, with or without
/// an issuer.
fn creditor_reference() -> impl Strategy<Value = CreditorReference> {
    let code = prop_oneof![
        proptest::sample::select(DOCUMENT_TYPE_CODES.to_vec())
            .prop_map(|code| (code.to_owned(), false)),
        text().prop_map(|code| (code, true)),
    ];
    let kind = (code, option::of(text())).prop_map(|((code, proprietary), issuer)| {
        CreditorReferenceType {
            code,
            proprietary,
            issuer,
        }
    });
    (option::of(kind), text()).prop_map(|(kind, reference)| CreditorReference { kind, reference })
}

fn proprietary_reference() -> impl Strategy<Value = ProprietaryReference> {
    (text(), text()).prop_map(|(kind, reference)| ProprietaryReference { kind, reference })
}

fn entry() -> impl Strategy<Value = Entry> {
    let direction = prop_oneof![Just(CreditDebit::Credit), Just(CreditDebit::Debit)];
    let head = (
        amount(),
        currency(),
        direction,
        any::<bool>(),
        status(),
        option::of(day()),
        option::of(day()),
    );
    let references = (
        option::of(text()),
        option::of(text()),
        option::of(bank_transaction_code()),
        option::of(text()),
        option::of(text()),
        option::of(text()),
    );
    let remittance = (
        vec(text(), 0..3),
        vec(creditor_reference(), 0..3),
        option::of(day()),
        option::of(text()),
        vec(proprietary_reference(), 0..2),
    );
    (head, references, remittance).prop_map(|(head, references, remittance)| {
        let (amount, currency, credit_debit, reversal, status, booking_date, value_date) = head;
        let (entry_reference, servicer_reference, code, end_to_end_id, debtor, creditor) =
            references;
        let (unstructured, structured, transaction_date, additional_info, proprietary_references) =
            remittance;
        Entry {
            entry_reference,
            reversal,
            booking_date,
            value_date,
            account_servicer_reference: servicer_reference,
            bank_transaction_code: code,
            end_to_end_id,
            proprietary_references,
            debtor_name: debtor,
            creditor_name: creditor,
            unstructured,
            structured,
            transaction_date,
            additional_info,
            ..Entry::new(amount, currency, credit_debit, status)
        }
    })
}

fn document() -> impl Strategy<Value = Document> {
    let kind = prop_oneof![Just(Kind::Statement053), Just(Kind::Report052)];
    let version = prop_oneof![Just(Version::V02), Just(Version::V08)];
    let statement = (account_header(), vec(balance(), 0..4), vec(entry(), 0..6)).prop_map(
        |(account, balances, entries)| Statement {
            account,
            balances,
            entries,
        },
    );
    (kind, version, text(), date_time(), vec(statement, 0..4)).prop_map(
        |(kind, version, message_id, created, statements)| Document {
            kind,
            version,
            message_id,
            created,
            statements,
        },
    )
}

/// The document without the line numbers the reader adds.
fn without_lines(mut document: Document) -> Document {
    for statement in &mut document.statements {
        statement.account.line = 0;
        statement.balances.iter_mut().for_each(|b| b.line = 0);
        statement.entries.iter_mut().for_each(|e| e.line = 0);
    }
    document
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn what_is_written_reads_back_the_same(original in document()) {
        let accounts: Vec<_> = original
            .statements
            .iter()
            .map(|s| (s.account.clone(), s.balances.clone(), s.entries.clone()))
            .collect();
        let xml = write_document(original.kind, original.version, &original.header(), &accounts);
        prop_assert_eq!(&xml, &original.to_xml());
        let read = read_document(xml.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(without_lines(read), original);
    }
}
