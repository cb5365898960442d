use super::*;
use crate::model::{CreditDebit, CreditorReference, EntryStatus, ProprietaryReference, Statement};

fn header(kind: Kind, version: Version) -> Header {
    Header {
        kind,
        version,
        message_id: "M-1".into(),
        created: "2024-03-06T02:00:00".into(),
    }
}

fn pending_with_parties() -> Entry {
    let mut entry = Entry::new(
        Decimal::new(-1250, 2),
        "EUR",
        CreditDebit::Debit,
        EntryStatus::Pending,
    );
    entry.debtor_name = Some("Dupont & Fils".into());
    entry.creditor_name = Some("EDF".into());
    entry
}

fn one_account(kind: Kind, version: Version) -> String {
    let mut account = AccountHeader::new("S-1", AccountId::Other("0042".into()));
    account.servicer_bic = Some("BECEFRPPXXX".into());
    let balance = Balance {
        code: "CLBD".into(),
        proprietary: false,
        amount: Decimal::new(-30000, 2),
        currency: "EUR".into(),
        date: jiff::civil::date(2024, 3, 5),
        line: 0,
    };
    write_document(
        kind,
        version,
        &header(kind, version),
        &[(account, vec![balance], vec![pending_with_parties()])],
    )
}

/// The text without its indentation and line ends.
fn flat(xml: &str) -> String {
    xml.lines().map(str::trim).collect()
}

#[test]
fn version_02_shapes() {
    let xml = flat(&one_account(Kind::Statement053, Version::V02));
    assert!(xml.contains("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt><GrpHdr><MsgId>M-1</MsgId>"), "{xml}");
    assert!(xml.contains("<Stmt><Id>S-1</Id><CreDtTm>2024-03-06T02:00:00</CreDtTm><Acct><Id><Othr><Id>0042</Id></Othr></Id>"), "{xml}");
    assert!(
        xml.contains("<Svcr><FinInstnId><BIC>BECEFRPPXXX</BIC></FinInstnId></Svcr>"),
        "{xml}"
    );
    assert!(xml.contains("<Amt Ccy=\"EUR\">300.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2024-03-05</Dt></Dt></Bal>"), "{xml}");
    assert!(
        xml.contains(
            "<Amt Ccy=\"EUR\">12.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>PDNG</Sts><BkTxCd/>"
        ),
        "{xml}"
    );
    assert!(xml.contains("<RltdPties><Dbtr><Nm>Dupont &amp; Fils</Nm></Dbtr><Cdtr><Nm>EDF</Nm></Cdtr></RltdPties>"), "{xml}");
    assert!(
        xml.ends_with("</Ntry></Stmt></BkToCstmrStmt></Document>"),
        "{xml}"
    );
}

#[test]
fn version_08_shapes() {
    let xml = flat(&one_account(Kind::Report052, Version::V08));
    assert!(
        xml.contains("camt.052.001.08\"><BkToCstmrAcctRpt><GrpHdr>"),
        "{xml}"
    );
    assert!(xml.contains("<Rpt><Id>S-1</Id>"), "{xml}");
    assert!(xml.contains("<BICFI>BECEFRPPXXX</BICFI>"), "{xml}");
    assert!(xml.contains("<Sts><Cd>PDNG</Cd></Sts><BkTxCd/>"), "{xml}");
    assert!(
        xml.contains(
            "<Dbtr><Pty><Nm>Dupont &amp; Fils</Nm></Pty></Dbtr><Cdtr><Pty><Nm>EDF</Nm></Pty></Cdtr>"
        ),
        "{xml}"
    );
    assert!(
        xml.ends_with("</Rpt></BkToCstmrAcctRpt></Document>"),
        "{xml}"
    );
}

#[test]
fn a_long_status_is_proprietary_in_version_08() {
    let mut out = Out::new();
    entry::write_entry(
        &mut out,
        Version::V08,
        &Entry::new(
            Decimal::ONE,
            "EUR",
            CreditDebit::Credit,
            EntryStatus::Other("RESERVED".into()),
        ),
    );
    assert!(
        flat(&out.xml).contains("<Sts><Prtry>RESERVED</Prtry></Sts>"),
        "{}",
        out.xml
    );
}

#[test]
fn creditor_references_and_proprietary_references() {
    let mut entry = Entry::new(
        Decimal::ONE,
        "EUR",
        CreditDebit::Credit,
        EntryStatus::Booked,
    );
    entry.structured = vec![
        CreditorReference::iso11649("RF18539007547034"),
        CreditorReference::proprietary("FACTURE", "F-42"),
        CreditorReference::untyped("CMD 118"),
    ];
    entry.proprietary_references = vec![ProprietaryReference {
        kind: "STET resourceId".into(),
        reference: "T0001".into(),
    }];
    for version in [Version::V02, Version::V08] {
        let mut out = Out::new();
        entry::write_entry(&mut out, version, &entry);
        let xml = flat(&out.xml);
        assert!(
            xml.contains(
                "<NtryDtls><TxDtls><Refs><Prtry><Tp>STET resourceId</Tp><Ref>T0001</Ref></Prtry></Refs><RmtInf>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp><Ref>RF18539007547034</Ref></CdtrRefInf></Strd>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<Strd><CdtrRefInf><Tp><CdOrPrtry><Prtry>FACTURE</Prtry></CdOrPrtry></Tp><Ref>F-42</Ref></CdtrRefInf></Strd>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("<Strd><CdtrRefInf><Ref>CMD 118</Ref></CdtrRefInf></Strd></RmtInf>"),
            "{xml}"
        );
    }
}

#[test]
fn the_document_writes_as_write_document_does() {
    let account = AccountHeader::new("S-1", AccountId::Iban("FR7630004000310001234567865".into()));
    let document = Document {
        kind: Kind::Statement053,
        version: Version::V08,
        message_id: "M-1".into(),
        created: "2024-03-06T02:00:00".into(),
        statements: vec![Statement {
            account: account.clone(),
            balances: Vec::new(),
            entries: vec![pending_with_parties()],
        }],
    };
    let written = write_document(
        Kind::Statement053,
        Version::V08,
        &document.header(),
        &[(account, Vec::new(), vec![pending_with_parties()])],
    );
    assert_eq!(document.to_xml(), written);
}

#[test]
fn escaping() {
    assert!(matches!(
        escape("Plain text é"),
        Cow::Borrowed("Plain text é")
    ));
    assert_eq!(
        escape("a&b<c>d\"e'f\rg\u{1}h\ti\nj"),
        "a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;g\u{FFFD}h\ti\nj"
    );
}

/// Written statement by statement, a document is the same bytes as written whole.
#[test]
fn the_stream_writer_writes_what_write_document_writes() -> std::io::Result<()> {
    for kind in [Kind::Statement053, Kind::Report052] {
        for version in [Version::V02, Version::V08] {
            let accounts: Vec<(AccountHeader, Vec<Balance>, Vec<Entry>)> = (0..3)
                .map(|i| {
                    let mut account =
                        AccountHeader::new(format!("S-{i}"), AccountId::Other(format!("00{i}")));
                    account.servicer_bic = Some("BECEFRPPXXX".into());
                    (account, Vec::new(), vec![pending_with_parties(); i])
                })
                .collect();
            let whole = write_document(kind, version, &header(kind, version), &accounts);
            let mut stream = StreamWriter::new(Vec::new(), kind, version, header(kind, version))?;
            for (account, balances, entries) in &accounts {
                stream.statement(account, balances, entries)?;
            }
            let streamed = stream.finish()?;
            assert_eq!(String::from_utf8_lossy(&streamed), whole);
        }
    }
    Ok(())
}
