//! ISO 20022 camt.053.001.08, the bank-to-customer statement: one `Stmt` per account with its
//! opening and closing booked balances and one `Ntry` per booked operation.

use std::fmt::Write;

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;

use super::{Operation, first_chars, operations, xml_text};
use crate::error::TppError;
use crate::store::{LocalAccount, LocalTransaction};

/// The XML namespace of camt.053.001.08.
pub const CAMT053_NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08";

/// What one `Stmt` states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The bank's code, written as the account servicer's identifier.
    pub bank: String,
    pub iban: String,
    /// The account's name.
    pub name: Option<String>,
    pub currency: String,
    /// The booked balance before the first operation (OPBD); when not known it is the closing
    /// balance minus the operations.
    pub opening_balance: Option<Decimal>,
    /// The booked balance after the last operation (CLBD): the accounting balance of the last
    /// sync.
    pub closing_balance: Option<Decimal>,
    /// The account's operations; only booked ones are stated.
    pub operations: Vec<Operation>,
}

impl Statement {
    /// The statement of an account from the store, with those of `operations` that are its
    /// own. The opening balance is left to be computed.
    pub fn of(account: &LocalAccount, operations: &[Operation]) -> Statement {
        Statement {
            bank: account.bank.clone(),
            iban: account.iban.clone(),
            name: Some(account.name.clone()).filter(|n| !n.trim().is_empty()),
            currency: account.currency.clone(),
            opening_balance: None,
            closing_balance: account.balance,
            operations: operations
                .iter()
                .filter(|op| op.bank == account.bank && op.iban == account.iban)
                .cloned()
                .collect(),
        }
    }
}

/// A camt.053.001.08 message of the accounts of the store that have a synced balance or a
/// booked operation, made at `created`.
///
/// The closing balance (CLBD) is the accounting balance of the last sync; the opening balance
/// (OPBD) is that minus the booked operations given, so `transactions` must hold every booked
/// operation of the account since the first one given (the whole store does). Pending
/// operations (`OTHR`, `PDNG`) are not in a statement of booked entries and are left out.
pub fn camt053(
    accounts: &[LocalAccount],
    transactions: &[LocalTransaction],
    created: Timestamp,
) -> Result<String, TppError> {
    let operations = operations(transactions);
    let statements: Vec<Statement> = accounts
        .iter()
        .map(|account| Statement::of(account, &operations))
        .filter(|s| s.closing_balance.is_some() || s.operations.iter().any(Operation::is_booked))
        .collect();
    camt053_statements(&statements, created)
}

/// A camt.053.001.08 message of `statements`, made at `created`. Fails on what the schema
/// cannot carry: no statement, an account without any balance, a currency that is not an ISO
/// 4217 code, an operation in another currency than its account's, an amount of more than 18
/// digits.
pub fn camt053_statements(
    statements: &[Statement],
    created: Timestamp,
) -> Result<String, TppError> {
    if statements.is_empty() {
        return Err(TppError::Local(
            "camt.053: no account to state (sync the accounts' balances first)".into(),
        ));
    }
    let stamp = Stamp::of(created);
    let mut out = String::with_capacity(2048 + 700 * statements.len());
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Document xmlns=\"{CAMT053_NAMESPACE}\">\n<BkToCstmrStmt>\n\
         <GrpHdr><MsgId>GUICHET-{}</MsgId><CreDtTm>{}</CreDtTm></GrpHdr>\n",
        stamp.compact, stamp.iso
    );
    for (number, statement) in statements.iter().enumerate() {
        write_statement(&mut out, number + 1, statement, &stamp)?;
    }
    out.push_str("</BkToCstmrStmt>\n</Document>\n");
    Ok(out)
}

/// The creation time, as written.
struct Stamp {
    /// ISODateTime, in UTC.
    iso: String,
    /// `YYYYMMDDhhmmss`, for identifiers.
    compact: String,
    /// The day, in UTC.
    day: Date,
}

impl Stamp {
    fn of(created: Timestamp) -> Stamp {
        let at = jiff::tz::TimeZone::UTC.to_datetime(created);
        let (date, time) = (at.date(), at.time());
        Stamp {
            iso: format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                date.year(),
                date.month(),
                date.day(),
                time.hour(),
                time.minute(),
                time.second()
            ),
            compact: format!(
                "{:04}{:02}{:02}{:02}{:02}{:02}",
                date.year(),
                date.month(),
                date.day(),
                time.hour(),
                time.minute(),
                time.second()
            ),
            day: date,
        }
    }
}

fn local_error(text: String) -> TppError {
    TppError::Local(format!("camt.053: {text}"))
}

/// ActiveOrHistoricCurrencyCode: `[A-Z]{3}`.
fn check_currency(currency: &str) -> Result<(), TppError> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(local_error(format!(
            "currency '{}' is not an ISO 4217 code",
            first_chars(currency, 16)
        )))
    }
}

/// ActiveOrHistoricCurrencyAndAmount: unsigned, at most 5 decimals and 18 digits; the sign is
/// the CdtDbtInd.
fn amount(value: Decimal) -> Result<(String, &'static str), TppError> {
    let text = value.abs().round_dp(5).to_string();
    if text.bytes().filter(u8::is_ascii_digit).count() > 18 {
        return Err(local_error(format!(
            "amount {value} has more than 18 digits"
        )));
    }
    let direction = if value.is_sign_negative() && !value.is_zero() {
        "DBIT"
    } else {
        "CRDT"
    };
    Ok((text, direction))
}

/// IBAN2007Identifier: `[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}`.
fn is_iban(text: &str) -> bool {
    let bytes = text.as_bytes();
    (5..=34).contains(&bytes.len())
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..4].iter().all(u8::is_ascii_digit)
        && bytes[4..].iter().all(u8::is_ascii_alphanumeric)
}

fn write_balance(
    out: &mut String,
    code: &str,
    value: Decimal,
    currency: &str,
    day: Date,
) -> Result<(), TppError> {
    let (text, direction) = amount(value)?;
    let _ = writeln!(
        out,
        "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{currency}\">{text}</Amt>\
         <CdtDbtInd>{direction}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    );
    Ok(())
}

fn write_statement(
    out: &mut String,
    number: usize,
    statement: &Statement,
    stamp: &Stamp,
) -> Result<(), TppError> {
    let currency = statement.currency.as_str();
    check_currency(currency)?;
    let mut booked: Vec<&Operation> = statement
        .operations
        .iter()
        .filter(|op| op.is_booked())
        .collect();
    booked.sort_by(|a, b| (a.date(), &a.key).cmp(&(b.date(), &b.key)));
    let mut net = Decimal::ZERO;
    let mut gross = Decimal::ZERO;
    for op in &booked {
        if op.currency != currency {
            return Err(local_error(format!(
                "operation {} of account {} is in {}, the account in {currency}",
                op.key, statement.iban, op.currency
            )));
        }
        net = net
            .checked_add(op.amount)
            .ok_or_else(|| local_error("the operations' total overflows".into()))?;
        gross = gross
            .checked_add(op.amount.abs())
            .ok_or_else(|| local_error("the operations' total overflows".into()))?;
    }
    let overflow = || {
        local_error(format!(
            "the balances of account {} overflow",
            statement.iban
        ))
    };
    let (opening, closing) = match (statement.opening_balance, statement.closing_balance) {
        (Some(opening), Some(closing)) => (opening, closing),
        (None, Some(closing)) => (closing.checked_sub(net).ok_or_else(overflow)?, closing),
        (Some(opening), None) => (opening, opening.checked_add(net).ok_or_else(overflow)?),
        (None, None) => {
            return Err(local_error(format!(
                "no balance of account {} at bank {} was synced: sync its balances first",
                statement.iban, statement.bank
            )));
        }
    };
    let first = booked
        .iter()
        .filter_map(|op| op.date())
        .min()
        .unwrap_or(stamp.day);
    let last = booked
        .iter()
        .filter_map(|op| op.date())
        .max()
        .unwrap_or(stamp.day);

    // Stmt/Id is Max35Text: the bank's code, the statement's number and the creation time.
    let id = first_chars(
        &format!("{}-{number}-{}", statement.bank, stamp.compact),
        35,
    );
    let _ = write!(
        out,
        "<Stmt>\n<Id>{}</Id><CreDtTm>{}</CreDtTm>\n<Acct><Id>",
        xml_text(&id),
        stamp.iso
    );
    let iban: String = statement
        .iban
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if is_iban(&iban) {
        let _ = write!(out, "<IBAN>{iban}</IBAN>");
    } else {
        let _ = write!(
            out,
            "<Othr><Id>{}</Id></Othr>",
            xml_text(&first_chars(statement.iban.trim(), 34))
        );
    }
    let _ = write!(out, "</Id><Ccy>{currency}</Ccy>");
    if let Some(name) = statement
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let _ = write!(out, "<Nm>{}</Nm>", xml_text(&first_chars(name, 70)));
    }
    let servicer = statement.bank.trim();
    if !servicer.is_empty() {
        let _ = write!(
            out,
            "<Svcr><FinInstnId><Othr><Id>{}</Id></Othr></FinInstnId></Svcr>",
            xml_text(&first_chars(servicer, 35))
        );
    }
    out.push_str("</Acct>\n");
    write_balance(out, "OPBD", opening, currency, first)?;
    write_balance(out, "CLBD", closing, currency, last)?;
    let (net_text, net_direction) = amount(net)?;
    let (gross_text, _) = amount(gross)?;
    let _ = writeln!(
        out,
        "<TxsSummry><TtlNtries><NbOfNtries>{}</NbOfNtries><Sum>{gross_text}</Sum>\
         <TtlNetNtry><Amt>{net_text}</Amt><CdtDbtInd>{net_direction}</CdtDbtInd></TtlNetNtry></TtlNtries></TxsSummry>",
        booked.len()
    );
    for op in booked {
        write_entry(out, op, currency)?;
    }
    out.push_str("</Stmt>\n");
    Ok(())
}

/// One booked operation: `Ntry`.
fn write_entry(out: &mut String, op: &Operation, currency: &str) -> Result<(), TppError> {
    let (text, direction) = amount(op.amount)?;
    out.push_str("<Ntry>");
    // NtryRef: the bank's id of the operation (resourceId), when it fits Max35Text.
    if let Some(id) = op
        .transaction_id
        .as_deref()
        .filter(|id| !id.is_empty() && id.chars().count() <= 35)
    {
        let _ = write!(out, "<NtryRef>{}</NtryRef>", xml_text(id));
    }
    let _ = write!(
        out,
        "<Amt Ccy=\"{currency}\">{text}</Amt><CdtDbtInd>{direction}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
    );
    if let Some(day) = op.date() {
        let _ = write!(out, "<BookgDt><Dt>{day}</Dt></BookgDt>");
    }
    if let Some(day) = op.value_date {
        let _ = write!(out, "<ValDt><Dt>{day}</Dt></ValDt>");
    }
    // AcctSvcrRef (Max35Text) is the entryReference; a longer one (the portal's card and
    // other references have 40 characters) is written whole in AddtlNtryInf instead of cut.
    let reference = op
        .entry_reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let long_reference = match reference {
        Some(r) if r.chars().count() <= 35 => {
            let _ = write!(out, "<AcctSvcrRef>{}</AcctSvcrRef>", xml_text(r));
            None
        }
        other => other,
    };
    write_bank_transaction_code(out, op);
    let lines = remittance_lines(op);
    if !lines.is_empty() {
        out.push_str("<NtryDtls><TxDtls><RmtInf>");
        for line in lines {
            let _ = write!(out, "<Ustrd>{}</Ustrd>", xml_text(&line));
        }
        out.push_str("</RmtInf></TxDtls></NtryDtls>");
    }
    if let Some(reference) = long_reference {
        let _ = write!(
            out,
            "<AddtlNtryInf>{}</AddtlNtryInf>",
            xml_text(&first_chars(&format!("entryReference {reference}"), 500))
        );
    }
    out.push_str("</Ntry>\n");
    Ok(())
}

/// BkTxCd, which the schema requires: the bank's ISO code (`Domn/Cd`, `Fmly/Cd`, `SubFmlyCd`,
/// each of at most 4 characters) and its proprietary code with the issuer when it gave them;
/// `XTND`/`NTAV`/`NTAV` (ISO's "not available") otherwise.
fn write_bank_transaction_code(out: &mut String, op: &Operation) {
    let fits = |code: &str| (1..=4).contains(&code.chars().count());
    let code = op.bank_transaction_code.as_ref();
    let (domain, family, sub_family) = match code {
        Some(c)
            if fits(c.domain.as_str())
                && fits(c.family.as_str())
                && fits(c.sub_family.as_str()) =>
        {
            (c.domain.as_str(), c.family.as_str(), c.sub_family.as_str())
        }
        _ => ("XTND", "NTAV", "NTAV"),
    };
    let _ = write!(
        out,
        "<BkTxCd><Domn><Cd>{}</Cd><Fmly><Cd>{}</Cd><SubFmlyCd>{}</SubFmlyCd></Fmly></Domn>",
        xml_text(domain),
        xml_text(family),
        xml_text(sub_family)
    );
    let proprietary = code.and_then(|c| {
        c.code
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty() && p.chars().count() <= 35)
            .map(|p| (p, c.issuer.as_deref().map(str::trim)))
    });
    if let Some((proprietary, issuer)) = proprietary {
        let _ = write!(out, "<Prtry><Cd>{}</Cd>", xml_text(proprietary));
        if let Some(issuer) = issuer.filter(|i| !i.is_empty()) {
            let _ = write!(out, "<Issr>{}</Issr>", xml_text(&first_chars(issuer, 35)));
        }
        out.push_str("</Prtry>");
    }
    out.push_str("</BkTxCd>");
}

/// The remittance information as `Ustrd` lines of 1 to 140 characters (Max140Text).
fn remittance_lines(op: &Operation) -> Vec<String> {
    let mut lines = Vec::new();
    for line in &op.remittance {
        let chars: Vec<char> = line.trim().chars().collect();
        for chunk in chars.chunks(140) {
            let text: String = chunk.iter().collect();
            if !text.trim().is_empty() {
                lines.push(text);
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_unsigned_with_a_direction() {
        assert_eq!(
            amount(Decimal::new(-1250, 2)).ok(),
            Some(("12.50".to_owned(), "DBIT"))
        );
        assert_eq!(
            amount(Decimal::new(300, 0)).ok(),
            Some(("300".to_owned(), "CRDT"))
        );
        assert_eq!(amount(Decimal::ZERO).ok(), Some(("0".to_owned(), "CRDT")));
    }

    #[test]
    fn ibans_follow_the_schema_pattern() {
        assert!(is_iban("FR7617515000920400000000001"));
        assert!(!is_iban("FR76"));
        assert!(!is_iban("fr7617515000920400000000001"));
    }

    #[test]
    fn long_remittance_is_cut_in_lines_of_140() {
        let op = Operation {
            bank: "17515".into(),
            iban: "FR76".into(),
            key: "k".into(),
            transaction_id: None,
            entry_reference: None,
            amount: Decimal::ONE,
            currency: "EUR".into(),
            status: "BOOK".into(),
            booking_date: None,
            value_date: None,
            expected_booking_date: None,
            remittance: vec!["x".repeat(300)],
            bank_transaction_code: None,
        };
        let lines = remittance_lines(&op);
        assert_eq!(
            lines.iter().map(|l| l.chars().count()).collect::<Vec<_>>(),
            [140, 140, 20]
        );
    }

    #[test]
    fn a_statement_needs_a_balance() {
        let statement = Statement {
            bank: "17515".into(),
            iban: "FR7617515000920400000000001".into(),
            name: None,
            currency: "EUR".into(),
            opening_balance: None,
            closing_balance: None,
            operations: Vec::new(),
        };
        assert!(camt053_statements(&[statement], Timestamp::UNIX_EPOCH).is_err());
        assert!(camt053_statements(&[], Timestamp::UNIX_EPOCH).is_err());
    }
}
