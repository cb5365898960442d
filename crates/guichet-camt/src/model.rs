//! The neutral model of a bank-to-customer statement or report: what the store needs of a
//! camt.053 (`BkToCstmrStmt`) or camt.052 (`BkToCstmrAcctRpt`), whatever its version.

use jiff::civil::Date;
use rust_decimal::Decimal;

/// The start of the camt namespaces: `urn:iso:std:iso:20022:tech:xsd:camt.053.001.02`.
pub const NAMESPACE_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:";

/// Which message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// camt.053 BankToCustomerStatement: `BkToCstmrStmt`, one `Stmt` per account (end of day).
    Statement053,
    /// camt.052 BankToCustomerAccountReport: `BkToCstmrAcctRpt`, one `Rpt` per account
    /// (intraday).
    Report052,
}

impl Kind {
    /// `camt.053` or `camt.052`.
    pub fn message_name(self) -> &'static str {
        match self {
            Kind::Statement053 => "camt.053",
            Kind::Report052 => "camt.052",
        }
    }

    /// The element under `Document`: `BkToCstmrStmt` or `BkToCstmrAcctRpt`.
    pub fn message_element(self) -> &'static str {
        match self {
            Kind::Statement053 => "BkToCstmrStmt",
            Kind::Report052 => "BkToCstmrAcctRpt",
        }
    }

    /// The element of one account: `Stmt` or `Rpt`.
    pub fn account_element(self) -> &'static str {
        match self {
            Kind::Statement053 => "Stmt",
            Kind::Report052 => "Rpt",
        }
    }

    /// The other kind.
    pub fn other(self) -> Kind {
        match self {
            Kind::Statement053 => Kind::Report052,
            Kind::Report052 => Kind::Statement053,
        }
    }
}

/// Which version of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `.001.02` (2009), still the most common in French banks.
    V02,
    /// `.001.08` (2019), the SEPA and CBPR+ one.
    V08,
}

impl Version {
    /// `02` or `08`.
    pub fn number(self) -> &'static str {
        match self {
            Version::V02 => "02",
            Version::V08 => "08",
        }
    }
}

/// The XML namespace of `kind` in `version`, like `urn:iso:std:iso:20022:tech:xsd:camt.053.001.08`.
pub fn namespace(kind: Kind, version: Version) -> String {
    format!(
        "{NAMESPACE_PREFIX}{}.001.{}",
        kind.message_name(),
        version.number()
    )
}

/// The kind and version a namespace names, if it is one of the four this crate reads.
pub fn kind_and_version(namespace: &str) -> Option<(Kind, Version)> {
    let message = namespace.strip_prefix(NAMESPACE_PREFIX)?;
    let (name, number) = message.split_once(".001.")?;
    let kind = [Kind::Statement053, Kind::Report052]
        .into_iter()
        .find(|k| k.message_name() == name)?;
    let version = [Version::V02, Version::V08]
        .into_iter()
        .find(|v| v.number() == number)?;
    Some((kind, version))
}

/// The group header `GrpHdr`, with what the namespace says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub version: Version,
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// `GrpHdr/CreDtTm`, an ISODateTime as written (with or without an offset).
    pub created: String,
}

/// `Acct/Id`: the account's identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AccountId {
    /// `Acct/Id/IBAN`.
    Iban(String),
    /// `Acct/Id/Othr/Id`.
    Other(String),
}

impl AccountId {
    /// The identifier, whichever it is.
    pub fn as_str(&self) -> &str {
        match self {
            AccountId::Iban(id) | AccountId::Other(id) => id,
        }
    }
}

/// The start of one `Stmt` (camt.053) or `Rpt` (camt.052): which account it states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountHeader {
    /// `Stmt/Id` or `Rpt/Id`.
    pub statement_id: String,
    /// `ElctrncSeqNb`.
    pub electronic_sequence: Option<u64>,
    /// `CreDtTm` of the statement, as written (mandatory in version 02, optional in 08).
    pub created: Option<String>,
    /// `Acct/Id`.
    pub account: AccountId,
    /// `Acct/Ccy`.
    pub currency: Option<String>,
    /// `Acct/Nm`.
    pub name: Option<String>,
    /// `Acct/Ownr/Nm`.
    pub owner_name: Option<String>,
    /// `Acct/Svcr/FinInstnId/BIC` (version 02) or `BICFI` (version 08).
    pub servicer_bic: Option<String>,
    /// The line of the `Stmt` or `Rpt` start tag (0 for one not read from a file).
    pub line: u64,
}

impl AccountHeader {
    /// A header with only the mandatory parts.
    pub fn new(statement_id: impl Into<String>, account: AccountId) -> Self {
        Self {
            statement_id: statement_id.into(),
            electronic_sequence: None,
            created: None,
            account,
            currency: None,
            name: None,
            owner_name: None,
            servicer_bic: None,
            line: 0,
        }
    }
}

/// One `Bal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// `Tp/CdOrPrtry/Cd`: OPBD, CLBD, ITBD, OPAV, CLAV, ITAV, FWAV, PRCD, XPCD, INFO…; or
    /// `Tp/CdOrPrtry/Prtry` when `proprietary`.
    pub code: String,
    /// Whether `code` is the bank's own (`Prtry`) rather than ISO's (`Cd`).
    pub proprietary: bool,
    /// `Amt`, negative when `CdtDbtInd` is `DBIT`.
    pub amount: Decimal,
    /// `Amt/@Ccy`.
    pub currency: String,
    /// `Dt/Dt`, or the date of `Dt/DtTm`.
    pub date: Date,
    /// The line of the `Bal` start tag (0 for one not read from a file).
    pub line: u64,
}

/// `CdtDbtInd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreditDebit {
    /// `CRDT`: money in.
    Credit,
    /// `DBIT`: money out.
    Debit,
}

impl CreditDebit {
    /// `CRDT` or `DBIT`.
    pub fn code(self) -> &'static str {
        match self {
            CreditDebit::Credit => "CRDT",
            CreditDebit::Debit => "DBIT",
        }
    }
}

/// `Ntry/Sts`: `EntryStatus2Code` in version 02, `Sts/Cd` (or `Sts/Prtry`) in version 08.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntryStatus {
    /// `BOOK`.
    Booked,
    /// `PDNG`.
    Pending,
    /// `INFO`.
    Information,
    /// Another code (version 08's `FUTR`, or a proprietary status).
    Other(String),
}

impl EntryStatus {
    /// The status a code names.
    pub fn from_code(code: &str) -> EntryStatus {
        match code {
            "BOOK" => EntryStatus::Booked,
            "PDNG" => EntryStatus::Pending,
            "INFO" => EntryStatus::Information,
            other => EntryStatus::Other(other.to_owned()),
        }
    }

    /// The code, as written.
    pub fn code(&self) -> &str {
        match self {
            EntryStatus::Booked => "BOOK",
            EntryStatus::Pending => "PDNG",
            EntryStatus::Information => "INFO",
            EntryStatus::Other(code) => code,
        }
    }
}

/// `BkTxCd`: ISO's structured code and the bank's own, either or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BankTransactionCode {
    /// `BkTxCd/Domn`.
    pub domain: Option<DomainCode>,
    /// `BkTxCd/Prtry`.
    pub proprietary: Option<ProprietaryCode>,
}

/// `BkTxCd/Domn`: like PMNT / RCDT / ESCT for a SEPA credit transfer received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainCode {
    /// `Domn/Cd`.
    pub domain: String,
    /// `Domn/Fmly/Cd`.
    pub family: String,
    /// `Domn/Fmly/SubFmlyCd`.
    pub sub_family: String,
}

/// `BkTxCd/Prtry`: the bank's own code, like a CFONB operation code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProprietaryCode {
    /// `Prtry/Cd`.
    pub code: String,
    /// `Prtry/Issr`.
    pub issuer: Option<String>,
}

/// The codes of ISO's DocumentType3Code, which `CdtrRefInf/Tp/CdOrPrtry/Cd` takes: `SCOR` for a
/// structured communication reference (like an ISO 11649 `RF…`), `RADM`, `RPIN`, `FXDR`,
/// `DISP`, `PUOR`.
pub const DOCUMENT_TYPE_CODES: [&str; 6] = ["RADM", "RPIN", "FXDR", "DISP", "PUOR", "SCOR"];

/// `RmtInf/Strd/CdtrRefInf`: the creditor's reference of a payment, like an invoice's ISO 11649
/// reference `RF18539007547034`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditorReference {
    /// `Tp`, when given.
    pub kind: Option<CreditorReferenceType>,
    /// `Ref`.
    pub reference: String,
}

impl CreditorReference {
    /// An ISO 11649 creditor reference (`RF` and two check digits): a structured communication
    /// reference (`SCOR`) whose scheme ISO issued.
    pub fn iso11649(reference: impl Into<String>) -> Self {
        Self {
            kind: Some(CreditorReferenceType {
                code: "SCOR".to_owned(),
                proprietary: false,
                issuer: Some("ISO".to_owned()),
            }),
            reference: reference.into(),
        }
    }

    /// A reference of a kind the bank names itself (`Tp/CdOrPrtry/Prtry`), without an issuer.
    pub fn proprietary(code: impl Into<String>, reference: impl Into<String>) -> Self {
        Self {
            kind: Some(CreditorReferenceType {
                code: code.into(),
                proprietary: true,
                issuer: None,
            }),
            reference: reference.into(),
        }
    }

    /// A reference without a type (`Ref` alone).
    pub fn untyped(reference: impl Into<String>) -> Self {
        Self {
            kind: None,
            reference: reference.into(),
        }
    }
}

/// `CdtrRefInf/Tp`: what kind of reference it is, and who issued its scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditorReferenceType {
    /// `CdOrPrtry/Cd`, one of [`DOCUMENT_TYPE_CODES`]; or `CdOrPrtry/Prtry` when `proprietary`.
    pub code: String,
    /// Whether `code` is the bank's own (`Prtry`) rather than ISO's (`Cd`).
    pub proprietary: bool,
    /// `Issr`.
    pub issuer: Option<String>,
}

/// `NtryDtls/TxDtls/Refs/Prtry`: a reference of a type the bank and its customer agreed on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProprietaryReference {
    /// `Tp`.
    pub kind: String,
    /// `Ref`.
    pub reference: String,
}

/// One `Ntry`. When its `NtryDtls` hold several `TxDtls` (a batch), the lists gather every
/// one's lines and the single values are the first one's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `NtryRef`.
    pub entry_reference: Option<String>,
    /// `Amt`, never negative: the direction is `credit_debit`.
    pub amount: Decimal,
    /// `Amt/@Ccy`.
    pub currency: String,
    /// `CdtDbtInd`.
    pub credit_debit: CreditDebit,
    /// `RvslInd`: the entry reverses an earlier one.
    pub reversal: bool,
    /// `Sts`.
    pub status: EntryStatus,
    /// `BookgDt/Dt`, or the date of `BookgDt/DtTm`.
    pub booking_date: Option<Date>,
    /// `ValDt/Dt`, or the date of `ValDt/DtTm`.
    pub value_date: Option<Date>,
    /// The entry's `AcctSvcrRef`, else the first `NtryDtls/TxDtls/Refs/AcctSvcrRef`.
    pub account_servicer_reference: Option<String>,
    /// `BkTxCd`, when it holds `Domn` or `Prtry`.
    pub bank_transaction_code: Option<BankTransactionCode>,
    /// `NtryDtls/TxDtls/Refs/EndToEndId`.
    pub end_to_end_id: Option<String>,
    /// `NtryDtls/TxDtls/Refs/Prtry`, of every transaction.
    pub proprietary_references: Vec<ProprietaryReference>,
    /// `NtryDtls/TxDtls/RltdPties/Dbtr/Nm` (version 02) or `Dbtr/Pty/Nm` (version 08).
    pub debtor_name: Option<String>,
    /// `NtryDtls/TxDtls/RltdPties/Cdtr/Nm` (version 02) or `Cdtr/Pty/Nm` (version 08).
    pub creditor_name: Option<String>,
    /// `NtryDtls/TxDtls/RmtInf/Ustrd`, each line.
    pub unstructured: Vec<String>,
    /// `NtryDtls/TxDtls/RmtInf/Strd/CdtrRefInf`: creditor references (like `RF18…`), those
    /// with a `Ref`.
    pub structured: Vec<CreditorReference>,
    /// The date of `NtryDtls/TxDtls/RltdDts/TxDtTm`, else of `AccptncDtTm`.
    pub transaction_date: Option<Date>,
    /// `AddtlNtryInf`.
    pub additional_info: Option<String>,
    /// The line of the `Ntry` start tag (0 for one not read from a file).
    pub line: u64,
}

impl Entry {
    /// An entry with only the mandatory parts.
    pub fn new(
        amount: Decimal,
        currency: impl Into<String>,
        credit_debit: CreditDebit,
        status: EntryStatus,
    ) -> Self {
        Self {
            entry_reference: None,
            amount,
            currency: currency.into(),
            credit_debit,
            reversal: false,
            status,
            booking_date: None,
            value_date: None,
            account_servicer_reference: None,
            bank_transaction_code: None,
            end_to_end_id: None,
            proprietary_references: Vec::new(),
            debtor_name: None,
            creditor_name: None,
            unstructured: Vec::new(),
            structured: Vec::new(),
            transaction_date: None,
            additional_info: None,
            line: 0,
        }
    }

    /// The amount with its direction: negative for a debit.
    pub fn signed_amount(&self) -> Decimal {
        match self.credit_debit {
            CreditDebit::Credit => self.amount,
            CreditDebit::Debit => -self.amount,
        }
    }
}

/// What the streaming reader gives, in the order of the file.
// An item is moved once from the reader to its caller: boxing the entry would cost an
// allocation per entry for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A `Stmt` or `Rpt` starts: its account (read up to the end of `Acct`).
    Account(AccountHeader),
    /// One `Bal` of the current account.
    Balance(Balance),
    /// One `Ntry` of the current account.
    Entry(Entry),
    /// The `Stmt` or `Rpt` ended.
    EndAccount,
}

/// One `Stmt` or `Rpt`, whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub account: AccountHeader,
    pub balances: Vec<Balance>,
    pub entries: Vec<Entry>,
}

/// A whole camt document, for files small enough to hold; large ones are read item by item
/// with [`crate::CamtReader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub kind: Kind,
    pub version: Version,
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// `GrpHdr/CreDtTm`.
    pub created: String,
    pub statements: Vec<Statement>,
}

impl Document {
    /// The group header of the document.
    pub fn header(&self) -> Header {
        Header {
            kind: self.kind,
            version: self.version,
            message_id: self.message_id.clone(),
            created: self.created.clone(),
        }
    }
}
