//! The writer: a camt.053 or camt.052 of version 02 or 08, its elements in the order of the
//! ISO 20022 schema (`BankToCustomerStatementV02`/`V08`, `BankToCustomerAccountReportV02`/`V08`).
//!
//! The writer writes what it is given: values the schema bounds (35 characters for an `Id`,
//! 140 for a `Ustrd` line, 18 digits and 5 decimals for an amount, the version 02 balance and
//! status codes…) are the caller's to respect. Characters that XML 1.0 cannot carry are
//! written as U+FFFD.

use std::borrow::Cow;

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::model::{
    AccountHeader, AccountId, Balance, Document, Entry, Header, Kind, Version, namespace,
};

mod entry;

#[cfg(test)]
mod tests;

/// A camt document of `kind` in `version` (which win over `header.kind` and
/// `header.version`), with one `Stmt` (or `Rpt`) per account, each with its balances and
/// entries in the order given. A statement without `created` is dated `header.created`
/// (`CreDtTm` is mandatory in version 02).
pub fn write_document(
    kind: Kind,
    version: Version,
    header: &Header,
    accounts: &[(AccountHeader, Vec<Balance>, Vec<Entry>)],
) -> String {
    let mut out = open_document(kind, version, header);
    for (account, balances, entries) in accounts {
        write_statement(&mut out, kind, version, header, account, balances, entries);
    }
    close_document(out, kind)
}

/// A camt document written statement by statement to `sink`, for files too large to hold:
/// the same bytes as [`write_document`] given the same statements.
pub struct StreamWriter<W: std::io::Write> {
    sink: W,
    out: Out,
    kind: Kind,
    version: Version,
    header: Header,
}

impl<W: std::io::Write> StreamWriter<W> {
    /// Writes the declaration and the group header.
    pub fn new(
        sink: W,
        kind: Kind,
        version: Version,
        header: Header,
    ) -> std::io::Result<StreamWriter<W>> {
        let out = open_document(kind, version, &header);
        let mut writer = StreamWriter {
            sink,
            out,
            kind,
            version,
            header,
        };
        writer.drain()?;
        Ok(writer)
    }

    /// One `Stmt` (or `Rpt`) with its balances and entries.
    pub fn statement(
        &mut self,
        account: &AccountHeader,
        balances: &[Balance],
        entries: &[Entry],
    ) -> std::io::Result<()> {
        write_statement(
            &mut self.out,
            self.kind,
            self.version,
            &self.header,
            account,
            balances,
            entries,
        );
        self.drain()
    }

    fn drain(&mut self) -> std::io::Result<()> {
        self.sink.write_all(self.out.xml.as_bytes())?;
        self.out.xml.clear();
        Ok(())
    }

    /// Closes the document; answers the sink, flushed.
    pub fn finish(mut self) -> std::io::Result<W> {
        let out = std::mem::replace(&mut self.out, Out::new());
        let tail = close_document(out, self.kind);
        self.sink.write_all(tail.as_bytes())?;
        self.sink.flush()?;
        Ok(self.sink)
    }
}

impl Document {
    /// The document as camt XML of its kind and version.
    pub fn to_xml(&self) -> String {
        let header = self.header();
        let mut out = open_document(self.kind, self.version, &header);
        for statement in &self.statements {
            write_statement(
                &mut out,
                self.kind,
                self.version,
                &header,
                &statement.account,
                &statement.balances,
                &statement.entries,
            );
        }
        close_document(out, self.kind)
    }
}

/// The declaration, `Document`, the message element and `GrpHdr`.
fn open_document(kind: Kind, version: Version, header: &Header) -> Out {
    let mut out = Out::new();
    out.xml
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.xml.push_str("<Document xmlns=\"");
    out.xml.push_str(&namespace(kind, version));
    out.xml.push_str("\">\n");
    out.depth = 1;
    out.open(kind.message_element());
    out.open("GrpHdr");
    out.leaf("MsgId", &header.message_id);
    out.leaf("CreDtTm", &header.created);
    out.close("GrpHdr");
    out
}

fn close_document(mut out: Out, kind: Kind) -> String {
    out.close(kind.message_element());
    out.xml.push_str("</Document>\n");
    out.xml
}

/// One `Stmt` or `Rpt`: `Id`, `ElctrncSeqNb`, `CreDtTm`, `Acct`, `Bal`*, `Ntry`*.
fn write_statement(
    out: &mut Out,
    kind: Kind,
    version: Version,
    header: &Header,
    account: &AccountHeader,
    balances: &[Balance],
    entries: &[Entry],
) {
    out.open(kind.account_element());
    out.leaf("Id", &account.statement_id);
    if let Some(sequence) = account.electronic_sequence {
        out.leaf("ElctrncSeqNb", &sequence.to_string());
    }
    let created = account
        .created
        .as_deref()
        .unwrap_or(header.created.as_str());
    out.leaf("CreDtTm", created);
    write_account(out, version, account);
    for balance in balances {
        write_balance(out, balance);
    }
    for one in entries {
        entry::write_entry(out, version, one);
    }
    out.close(kind.account_element());
}

/// `Acct`: `Id` (`IBAN` or `Othr/Id`), `Ccy`, `Nm`, `Ownr/Nm`, `Svcr/FinInstnId/BIC` (version
/// 02) or `BICFI` (version 08).
fn write_account(out: &mut Out, version: Version, account: &AccountHeader) {
    out.open("Acct");
    out.open("Id");
    match &account.account {
        AccountId::Iban(iban) => out.leaf("IBAN", iban),
        AccountId::Other(id) => {
            out.open("Othr");
            out.leaf("Id", id);
            out.close("Othr");
        }
    }
    out.close("Id");
    out.optional("Ccy", account.currency.as_deref());
    out.optional("Nm", account.name.as_deref());
    if let Some(owner) = &account.owner_name {
        out.open("Ownr");
        out.leaf("Nm", owner);
        out.close("Ownr");
    }
    if let Some(bic) = &account.servicer_bic {
        out.open("Svcr");
        out.open("FinInstnId");
        match version {
            Version::V02 => out.leaf("BIC", bic),
            Version::V08 => out.leaf("BICFI", bic),
        }
        out.close("FinInstnId");
        out.close("Svcr");
    }
    out.close("Acct");
}

/// `Bal`: `Tp/CdOrPrtry/Cd` (or `Prtry`), `Amt`, `CdtDbtInd`, `Dt/Dt`.
fn write_balance(out: &mut Out, balance: &Balance) {
    out.open("Bal");
    out.open("Tp");
    out.open("CdOrPrtry");
    out.leaf(
        if balance.proprietary { "Prtry" } else { "Cd" },
        &balance.code,
    );
    out.close("CdOrPrtry");
    out.close("Tp");
    out.amount(balance.amount, &balance.currency);
    let debit = balance.amount.is_sign_negative() && !balance.amount.is_zero();
    out.leaf("CdtDbtInd", if debit { "DBIT" } else { "CRDT" });
    out.date_choice("Dt", balance.date);
    out.close("Bal");
}

/// The XML being written, indented by two spaces a level.
pub(crate) struct Out {
    xml: String,
    depth: usize,
}

impl Out {
    fn new() -> Self {
        Self {
            xml: String::with_capacity(4096),
            depth: 0,
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.xml.push_str("  ");
        }
    }

    /// `<name>` on its own line.
    pub(crate) fn open(&mut self, name: &str) {
        self.indent();
        self.xml.push('<');
        self.xml.push_str(name);
        self.xml.push_str(">\n");
        self.depth += 1;
    }

    /// `</name>` on its own line.
    pub(crate) fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.xml.push_str("</");
        self.xml.push_str(name);
        self.xml.push_str(">\n");
    }

    /// `<name/>`.
    pub(crate) fn empty(&mut self, name: &str) {
        self.indent();
        self.xml.push('<');
        self.xml.push_str(name);
        self.xml.push_str("/>\n");
    }

    /// `<name>text</name>`, the text escaped.
    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.indent();
        self.xml.push('<');
        self.xml.push_str(name);
        self.xml.push('>');
        self.xml.push_str(&escape(text));
        self.xml.push_str("</");
        self.xml.push_str(name);
        self.xml.push_str(">\n");
    }

    /// A leaf when there is a value.
    pub(crate) fn optional(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }

    /// `<Amt Ccy="EUR">12.50</Amt>`: the amount without its sign.
    pub(crate) fn amount(&mut self, amount: Decimal, currency: &str) {
        self.indent();
        self.xml.push_str("<Amt Ccy=\"");
        self.xml.push_str(&escape(currency));
        self.xml.push_str("\">");
        self.xml.push_str(&amount.abs().to_string());
        self.xml.push_str("</Amt>\n");
    }

    /// A `DateAndDateTimeChoice` holding `Dt`: `<name><Dt>2024-03-05</Dt></name>`.
    pub(crate) fn date_choice(&mut self, name: &str, date: Date) {
        self.open(name);
        self.leaf("Dt", &date.to_string());
        self.close(name);
    }
}

/// Text or an attribute value escaped for XML 1.0: the five special characters as entities,
/// a carriage return as `&#13;` (so that it is kept), and the characters XML 1.0 forbids
/// (most C0 controls, U+FFFE, U+FFFF) as U+FFFD.
pub fn escape(text: &str) -> Cow<'_, str> {
    let special = |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'' | '\r') || forbidden(c);
    if !text.chars().any(special) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\r' => escaped.push_str("&#13;"),
            c if forbidden(c) => escaped.push('\u{FFFD}'),
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// Characters outside XML 1.0's `Char` production.
fn forbidden(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}'
    )
}
