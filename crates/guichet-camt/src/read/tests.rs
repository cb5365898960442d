use super::*;
use crate::model::{
    CreditorReference, CreditorReferenceType, EntryStatus, ProprietaryReference, Version,
};

const V02: &str = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02";

/// A camt.053.001.02 whose one `Stmt` holds `body` from line 7 on.
fn statement(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<Document xmlns=\"{V02}\">\n<BkToCstmrStmt>\n\
         <GrpHdr><MsgId>M</MsgId><CreDtTm>2024-03-06T02:00:00</CreDtTm></GrpHdr>\n\
         <Stmt><Id>S</Id><CreDtTm>2024-03-06T02:00:00</CreDtTm>\n\
         <Acct><Id><IBAN>FR7630004000310001234567865</IBAN></Id></Acct>\n\
         {body}\n</Stmt>\n</BkToCstmrStmt>\n</Document>\n"
    )
}

/// An entry with `amount` (the whole `Amt`) and `rest` after it.
fn entry(amount: &str, rest: &str) -> String {
    statement(&format!("<Ntry>{amount}{rest}</Ntry>"))
}

const GOOD_AMOUNT: &str = "<Amt Ccy=\"EUR\">5.00</Amt>";
const DIRECTION_AND_STATUS: &str = "<CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BkTxCd/>";

fn error_of(xml: &str) -> CamtError {
    match read_document(xml.as_bytes()) {
        Err(error) => error,
        Ok(document) => panic!("read {document:?} from {xml}"),
    }
}

fn assert_error(xml: &str, line: u64, element: &str, words: &str) {
    let error = error_of(xml);
    assert_eq!(
        (error.line, error.element.as_str()),
        (line, element),
        "{error}"
    );
    assert!(error.message.contains(words), "{error}");
}

const NTRY: &str = "Document/BkToCstmrStmt/Stmt/Ntry";

#[test]
fn wrong_amounts_currencies_and_indicators() {
    let amt = format!("{NTRY}/Amt");
    let negative = entry("<Amt Ccy=\"EUR\">-5.00</Amt>", DIRECTION_AND_STATUS);
    assert_error(&negative, 7, &amt, "'-5.00' is a negative amount");
    let lowercase = entry("<Amt Ccy=\"eur\">5.00</Amt>", DIRECTION_AND_STATUS);
    assert_error(&lowercase, 7, &amt, "'eur' is not a currency code");
    let no_currency = entry("<Amt>5.00</Amt>", DIRECTION_AND_STATUS);
    assert_error(&no_currency, 7, &amt, "without its currency attribute Ccy");
    let credit = entry(GOOD_AMOUNT, "<CdtDbtInd>CREDIT</CdtDbtInd><Sts>BOOK</Sts>");
    assert_error(
        &credit,
        7,
        &format!("{NTRY}/CdtDbtInd"),
        "'CREDIT' is not a credit/debit",
    );
}

#[test]
fn a_wrong_date_is_reported_on_its_own_line() {
    let xml = entry(
        GOOD_AMOUNT,
        "<CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>\n<BookgDt>\n<Dt>05/03/2024</Dt></BookgDt>",
    );
    assert_error(
        &xml,
        9,
        &format!("{NTRY}/BookgDt/Dt"),
        "'05/03/2024' is not an ISO date",
    );
}

#[test]
fn mandatory_elements() {
    assert_error(
        &entry("", DIRECTION_AND_STATUS),
        7,
        NTRY,
        "Ntry without Amt",
    );
    let no_status = entry(GOOD_AMOUNT, "<CdtDbtInd>DBIT</CdtDbtInd><BkTxCd/>");
    assert_error(&no_status, 7, NTRY, "Ntry without Sts");
    let bal = "Document/BkToCstmrStmt/Stmt/Bal";
    let no_type = statement(
        "<Bal><Amt Ccy=\"EUR\">1</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-05</Dt></Dt></Bal>",
    );
    assert_error(&no_type, 7, bal, "Bal without Tp");
    let no_amount = statement(
        "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><CdtDbtInd>CRDT</CdtDbtInd>\
         <Dt><Dt>2024-03-05</Dt></Dt></Bal>",
    );
    assert_error(&no_amount, 7, bal, "Bal without Amt");
    let half_code = entry(
        GOOD_AMOUNT,
        "<CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BkTxCd><Domn><Cd>PMNT</Cd></Domn></BkTxCd>",
    );
    assert_error(
        &half_code,
        7,
        &format!("{NTRY}/BkTxCd/Domn"),
        "Domn without",
    );
}

#[test]
fn a_statement_needs_an_account_with_an_id() {
    let header = format!(
        "<Document xmlns=\"{V02}\"><BkToCstmrStmt>\n\
         <GrpHdr><MsgId>M</MsgId><CreDtTm>2024-03-06T02:00:00</CreDtTm></GrpHdr>\n"
    );
    let no_id = format!(
        "{header}<Stmt><Id>S</Id>\n<Acct><Ccy>EUR</Ccy></Acct></Stmt></BkToCstmrStmt></Document>"
    );
    assert_error(
        &no_id,
        4,
        "Document/BkToCstmrStmt/Stmt/Acct",
        "Acct without Id",
    );
    let no_account = format!("{header}<Stmt><Id>S</Id>\n<Bal/></Stmt></BkToCstmrStmt></Document>");
    assert_error(
        &no_account,
        3,
        "Document/BkToCstmrStmt/Stmt",
        "Stmt without Acct",
    );
    let report = format!("{header}<Rpt><Id>S</Id></Rpt></BkToCstmrStmt></Document>");
    assert_error(
        &report,
        3,
        "Document/BkToCstmrStmt/Rpt",
        "a camt.053 file holds <Stmt>, not <Rpt>",
    );
}

#[test]
fn documents_that_are_not_camt() {
    assert_error(
        "date;amount\n2024-03-05;12.50\n",
        1,
        "(top level)",
        "not an XML document",
    );
    assert_error("", 1, "(top level)", "without a root element");
    assert_error(
        "<?xml version=\"1.0\"?>\n<html><body/></html>",
        2,
        "html",
        "the root element is <html>",
    );
    assert_error(
        "<Document><BkToCstmrStmt/></Document>",
        1,
        "Document",
        "has no namespace",
    );
    let v04 = "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.04\"/>";
    assert_error(
        v04,
        1,
        "Document",
        "'urn:iso:std:iso:20022:tech:xsd:camt.053.001.04' is not",
    );
    let mixed = format!("<Document xmlns=\"{V02}\">\n<BkToCstmrAcctRpt/></Document>");
    assert_error(
        &mixed,
        2,
        "Document/BkToCstmrAcctRpt",
        "holds <BkToCstmrStmt>, not <BkToCstmrAcctRpt>",
    );
    let truncated = statement("<Ntry><Amt Ccy=\"EUR\">5.00</Amt>");
    let cut = &truncated[..truncated.find("</Stmt>").unwrap_or(truncated.len())];
    assert_error(cut, 8, NTRY, "the file ends before the end of <Ntry>");
    let unclosed = statement("<Ntry>\n<Amt Ccy=\"EUR\">5.00</Sts>\n</Ntry>");
    assert_error(&unclosed, 8, &format!("{NTRY}/Amt"), "not well-formed XML");
    let trailing = format!("{}<Document/>", statement(""));
    assert_error(&trailing, 11, "Document", "after the end of <Document>");
}

#[test]
fn unknown_elements_are_skipped_whatever_they_hold() -> Result<()> {
    let xml = entry(
        GOOD_AMOUNT,
        "<CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>\
         <Avlbty><Dt><ActlDt>not a date</ActlDt></Dt><Amt Ccy=\"x\">bad</Amt></Avlbty>\
         <BkTxCd/><Chrgs><Amt>-1</Amt><Ntry/></Chrgs><!-- a comment --><?pi x?>",
    );
    let document = read_document(xml.as_bytes())?;
    let entry = &document.statements[0].entries[0];
    assert_eq!(entry.amount, rust_decimal::Decimal::new(500, 2));
    assert_eq!(entry.status, EntryStatus::Booked);
    assert_eq!(entry.bank_transaction_code, None);
    Ok(())
}

#[test]
fn a_prefixed_document_of_version_08() -> Result<()> {
    let xml = "<c:Document xmlns:c=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\
        <c:BkToCstmrStmt><c:GrpHdr><c:MsgId>M</c:MsgId><c:CreDtTm>2024-03-06T02:00:00Z</c:CreDtTm></c:GrpHdr>\
        <c:Stmt><c:Id>S</c:Id><c:Acct><c:Id><c:Othr><c:Id>0042</c:Id></c:Othr></c:Id></c:Acct>\
        <c:Ntry><c:Amt Ccy=\"EUR\">1</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd><c:Sts><c:Prtry>HOLD</c:Prtry></c:Sts><c:BkTxCd/></c:Ntry>\
        </c:Stmt></c:BkToCstmrStmt></c:Document>";
    let document = read_document(xml.as_bytes())?;
    assert_eq!(document.version, Version::V08);
    assert_eq!(document.statements[0].account.created, None);
    assert_eq!(
        document.statements[0].entries[0].status,
        EntryStatus::Other("HOLD".into())
    );
    Ok(())
}

#[test]
fn errors_stay_and_the_iterator_ends() {
    let xml = entry("<Amt Ccy=\"EUR\">x</Amt>", DIRECTION_AND_STATUS);
    let mut reader = CamtReader::new(xml.as_bytes());
    assert!(
        matches!(reader.next_item(), Ok(Some(Item::Account(_)))),
        "the header is read first"
    );
    let first = reader.next_item();
    assert!(first.is_err());
    assert_eq!(reader.next_item(), first);
    assert_eq!(reader.header().err(), first.clone().err());
    assert!(reader.next().is_none());
}

/// `RmtInf` with every form of `Strd/CdtrRefInf`, and `Refs/Prtry`, of a `TxDtls`.
const DETAILS: &str = "<NtryDtls><TxDtls>\
     <Refs><EndToEndId>E2E-1</EndToEndId><Prtry><Tp>STET resourceId</Tp><Ref>T0001</Ref></Prtry>\
     <Prtry><Ref>no type</Ref></Prtry></Refs>\
     <RmtInf><Ustrd>FACTURE 42</Ustrd>\
     <Strd><RfrdDocInf><Nb>42</Nb></RfrdDocInf><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry>\
     <Issr>ISO</Issr></Tp><Ref>RF18539007547034</Ref></CdtrRefInf></Strd>\
     <Strd><CdtrRefInf><Tp><CdOrPrtry><Prtry>FACTURE</Prtry></CdOrPrtry></Tp><Ref>F-42</Ref>\
     </CdtrRefInf></Strd>\
     <Strd><CdtrRefInf><Ref>CMD 118</Ref></CdtrRefInf></Strd>\
     <Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp></CdtrRefInf></Strd>\
     <Strd><AddtlRmtInf>nothing to keep</AddtlRmtInf></Strd>\
     </RmtInf></TxDtls></NtryDtls>";

fn expected_references() -> (Vec<CreditorReference>, Vec<ProprietaryReference>) {
    let typed = |code: &str, proprietary: bool, issuer: Option<&str>| {
        Some(CreditorReferenceType {
            code: code.into(),
            proprietary,
            issuer: issuer.map(str::to_owned),
        })
    };
    let structured = vec![
        CreditorReference {
            kind: typed("SCOR", false, Some("ISO")),
            reference: "RF18539007547034".into(),
        },
        CreditorReference {
            kind: typed("FACTURE", true, None),
            reference: "F-42".into(),
        },
        CreditorReference::untyped("CMD 118"),
    ];
    let proprietary = vec![ProprietaryReference {
        kind: "STET resourceId".into(),
        reference: "T0001".into(),
    }];
    (structured, proprietary)
}

#[test]
fn structured_remittance_of_version_02() -> Result<()> {
    let xml = entry(GOOD_AMOUNT, &format!("{DIRECTION_AND_STATUS}{DETAILS}"));
    let document = read_document(xml.as_bytes())?;
    assert_eq!(document.version, Version::V02);
    let entry = &document.statements[0].entries[0];
    let (structured, proprietary) = expected_references();
    assert_eq!(
        entry.structured, structured,
        "a CdtrRefInf without Ref is left out"
    );
    assert_eq!(
        entry.proprietary_references, proprietary,
        "a Prtry without Tp is left out"
    );
    assert_eq!(entry.unstructured, ["FACTURE 42"]);
    assert_eq!(entry.end_to_end_id.as_deref(), Some("E2E-1"));
    Ok(())
}

#[test]
fn structured_remittance_of_version_08() -> Result<()> {
    let xml = entry(
        GOOD_AMOUNT,
        &format!("<CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BkTxCd/>{DETAILS}"),
    )
    .replace("camt.053.001.02", "camt.053.001.08");
    let document = read_document(xml.as_bytes())?;
    assert_eq!(document.version, Version::V08);
    let entry = &document.statements[0].entries[0];
    let (structured, proprietary) = expected_references();
    assert_eq!(entry.structured, structured);
    assert_eq!(entry.proprietary_references, proprietary);
    assert_eq!(entry.status, EntryStatus::Booked);
    Ok(())
}
