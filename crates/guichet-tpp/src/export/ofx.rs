//! OFX 2.2 (the XML form of the Open Financial Exchange), one bank statement per account.

use std::fmt::Write;

use jiff::civil::Date;

use super::{Operation, first_chars, operations, xml_text};
use crate::report::{Category, categorize};
use crate::store::{LocalAccount, LocalTransaction};

/// `YYYYMMDD`, the OFX form of a day.
fn ofx_day(day: Date) -> String {
    format!("{:04}{:02}{:02}", day.year(), day.month(), day.day())
}

/// OFX 2.2 bank statements of `accounts`; `generated` is the day of the export as OFX writes
/// it (`YYYYMMDD`): the server's time and the day the balances are given for.
///
/// Booked operations are the statement's `BANKTRANLIST`, whose `DTSTART` and `DTEND` are the
/// earliest and latest booking dates of the account's operations (`generated` when it has
/// none). Operations not booked yet (STET `OTHR`, `PDNG`) are not posted transactions: OFX
/// 2.1.1 and later have a list of their own for them, `BANKTRANLISTP` of `STMTTRNP` (OFX 2.2,
/// section 11.4.2.2), without a FITID because the operation is not final. They go there and
/// never in `BANKTRANLIST`: a reader keeps a posted `STMTTRN` for good, keyed by its FITID, so
/// a pending card payment listed as posted would stay in the customer's books with the wrong
/// day even after the bank books it (or drops it); readers that do not know `BANKTRANLISTP`
/// skip it. `LEDGERBAL` is the accounting balance of the last sync, left out (as the one
/// element OFX then misses) for an account whose balances were not synced.
pub fn ofx(
    accounts: &[LocalAccount],
    transactions: &[LocalTransaction],
    generated: &str,
) -> String {
    ofx_operations(accounts, &operations(transactions), generated)
}

/// [`ofx`] of operations from any source.
pub fn ofx_operations(
    accounts: &[LocalAccount],
    operations: &[Operation],
    generated: &str,
) -> String {
    let generated = xml_text(generated);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <?OFX OFXHEADER=\"200\" VERSION=\"220\" SECURITY=\"NONE\" OLDFILEUID=\"NONE\" NEWFILEUID=\"NONE\"?>\n\
         <OFX>\n",
    );
    // OFX 2.2 section 2.5.1: every response file opens with the signon response.
    let _ = write!(
        out,
        "<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>\
         <DTSERVER>{generated}</DTSERVER><LANGUAGE>FRA</LANGUAGE></SONRS></SIGNONMSGSRSV1>\n\
         <BANKMSGSRSV1>\n"
    );
    for (number, account) in accounts.iter().enumerate() {
        let own: Vec<&Operation> = operations
            .iter()
            .filter(|op| op.bank == account.bank && op.iban == account.iban)
            .collect();
        statement(&mut out, number + 1, account, &own, &generated);
    }
    out.push_str("</BANKMSGSRSV1>\n</OFX>\n");
    out
}

fn statement(
    out: &mut String,
    number: usize,
    account: &LocalAccount,
    own: &[&Operation],
    generated: &str,
) {
    let mut posted: Vec<(Date, &Operation)> = own
        .iter()
        .filter(|op| op.is_booked())
        .filter_map(|op| op.date().map(|day| (day, *op)))
        .collect();
    posted.sort_by(|(a, x), (b, y)| (a, &x.key).cmp(&(b, &y.key)));
    let pending: Vec<&Operation> = own.iter().filter(|op| !op.is_booked()).copied().collect();
    let (start, end) = match (posted.first(), posted.last()) {
        (Some((first, _)), Some((last, _))) => (ofx_day(*first), ofx_day(*last)),
        _ => (generated.to_owned(), generated.to_owned()),
    };
    let _ = write!(
        out,
        "<STMTTRNRS><TRNUID>{number}</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>\
         <STMTRS><CURDEF>{}</CURDEF>{}\n<BANKTRANLIST><DTSTART>{start}</DTSTART><DTEND>{end}</DTEND>\n",
        xml_text(&account.currency),
        bank_account_from(account),
    );
    for (day, op) in &posted {
        let label = op.label();
        let _ = write!(
            out,
            "<STMTTRN><TRNTYPE>{}</TRNTYPE><DTPOSTED>{}</DTPOSTED>",
            transaction_type(op),
            ofx_day(*day)
        );
        if let Some(value) = op.value_date {
            let _ = write!(out, "<DTAVAIL>{}</DTAVAIL>", ofx_day(value));
        }
        let _ = write!(
            out,
            "<TRNAMT>{}</TRNAMT><FITID>{}</FITID>",
            op.amount,
            xml_text(&first_chars(&op.key, 255))
        );
        push_reference_and_names(out, op, &label, false);
        out.push_str("</STMTTRN>\n");
    }
    out.push_str("</BANKTRANLIST>\n");
    if !pending.is_empty() {
        let _ = writeln!(out, "<BANKTRANLISTP><DTASOF>{generated}</DTASOF>");
        for op in pending {
            let label = op.label();
            let day = op.date().map_or_else(|| generated.to_owned(), ofx_day);
            let _ = write!(
                out,
                "<STMTTRNP><TRNTYPE>{}</TRNTYPE><DTTRAN>{day}</DTTRAN><TRNAMT>{}</TRNAMT>",
                transaction_type(op),
                op.amount
            );
            push_reference_and_names(out, op, &label, true);
            out.push_str("</STMTTRNP>\n");
        }
        out.push_str("</BANKTRANLISTP>\n");
    }
    if let Some(balance) = account.balance {
        let _ = write!(
            out,
            "<LEDGERBAL><BALAMT>{balance}</BALAMT><DTASOF>{generated}</DTASOF></LEDGERBAL>"
        );
    }
    out.push_str("</STMTRS></STMTTRNRS>\n");
}

/// `REFNUM` (the entryReference, when it fits OFX's 32 characters), `NAME` (the label's first
/// 32 characters) and `MEMO` (the whole label, when `NAME` had to cut it). A pending
/// transaction must have a `NAME`.
fn push_reference_and_names(out: &mut String, op: &Operation, label: &str, name_required: bool) {
    if let Some(reference) = op
        .entry_reference
        .as_deref()
        .filter(|r| !r.is_empty() && r.chars().count() <= 32)
    {
        let _ = write!(out, "<REFNUM>{}</REFNUM>", xml_text(reference));
    }
    let label = label.trim();
    let name = if label.is_empty() && name_required {
        "PENDING".to_owned()
    } else {
        first_chars(label, 32)
    };
    if !name.is_empty() {
        let _ = write!(out, "<NAME>{}</NAME>", xml_text(&name));
    }
    if label.chars().count() > 32 {
        let _ = write!(out, "<MEMO>{}</MEMO>", xml_text(&first_chars(label, 255)));
    }
}

/// OFX 2.2 section 11.4.4.3, from the operation's category.
fn transaction_type(op: &Operation) -> &'static str {
    match categorize(op.bank_transaction_code.as_ref(), &op.label()) {
        Category::Card => "POS",
        Category::Cash => "ATM",
        Category::DirectDebit => "DIRECTDEBIT",
        Category::Fees => "FEE",
        Category::Transfer => "XFER",
        Category::Other if op.amount.is_sign_negative() => "DEBIT",
        Category::Other => "CREDIT",
    }
}

/// `BANKACCTFROM`. `ACCTID` has at most 22 characters, fewer than a French IBAN's 27: a French
/// or Monegasque IBAN is written as French banks write their OFX files, its RIB split into bank
/// code (`BANKID`), branch code (`BRANCHID`), account number (`ACCTID`) and key (`ACCTKEY`).
/// Any other account is written whole, under the bank's code.
fn bank_account_from(account: &LocalAccount) -> String {
    let iban: String = account
        .iban
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let french =
        iban.len() == 27 && iban.is_ascii() && (iban.starts_with("FR") || iban.starts_with("MC"));
    let parts = (
        iban.get(4..9),
        iban.get(9..14),
        iban.get(14..25),
        iban.get(25..27),
    );
    match parts {
        (Some(bank), Some(branch), Some(number), Some(key)) if french => format!(
            "<BANKACCTFROM><BANKID>{}</BANKID><BRANCHID>{}</BRANCHID><ACCTID>{}</ACCTID>\
             <ACCTTYPE>CHECKING</ACCTTYPE><ACCTKEY>{}</ACCTKEY></BANKACCTFROM>",
            xml_text(bank),
            xml_text(branch),
            xml_text(number),
            xml_text(key)
        ),
        _ => format!(
            "<BANKACCTFROM><BANKID>{}</BANKID><ACCTID>{}</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>",
            xml_text(&first_chars(&account.bank, 9)),
            xml_text(&account.iban)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn account(iban: &str) -> LocalAccount {
        LocalAccount {
            bank: "17515".into(),
            iban: iban.into(),
            resource_id: None,
            name: "A".into(),
            currency: "EUR".into(),
            balance: Some(Decimal::ONE),
        }
    }

    fn op(label: &str, status: &str, day: &str) -> LocalTransaction {
        LocalTransaction {
            bank: "17515".into(),
            iban: "FR76".into(),
            key: format!("k-{day}-{status}"),
            entry_reference: None,
            amount: Decimal::new(-1250, 2),
            currency: "EUR".into(),
            status: status.into(),
            day: day.into(),
            label: label.into(),
        }
    }

    #[test]
    fn ofx_escapes_labels() {
        let out = ofx(
            &[account("FR76")],
            &[op("A<B & C", "BOOK", "2026-11-20")],
            "20261124",
        );
        assert!(out.contains("<NAME>A&lt;B &amp; C</NAME>"), "{out}");
        assert!(out.contains("<TRNTYPE>DEBIT</TRNTYPE>"));
    }

    #[test]
    fn the_period_is_that_of_the_booked_operations_and_pending_ones_are_apart() {
        let out = ofx(
            &[account("FR76")],
            &[
                op("CB SHOP", "BOOK", "2026-08-02"),
                op("PRLV SEPA EDF", "BOOK", "2026-11-05"),
                op("CB LATER", "OTHR", "2026-11-24"),
            ],
            "20261124",
        );
        assert!(
            out.contains("<DTSTART>20260802</DTSTART><DTEND>20261105</DTEND>"),
            "{out}"
        );
        let (posted, rest) = out.split_once("</BANKTRANLIST>").unwrap_or_default();
        assert!(!posted.contains("CB LATER"), "{out}");
        assert!(
            rest.contains("<STMTTRNP><TRNTYPE>POS</TRNTYPE><DTTRAN>20261124</DTTRAN>"),
            "{out}"
        );
        assert!(posted.contains("<TRNTYPE>DIRECTDEBIT</TRNTYPE>"));
    }

    #[test]
    fn a_french_iban_is_split_as_a_rib() {
        let from = bank_account_from(&account("FR76 3000 4001 2300 0123 4567 812"));
        assert_eq!(
            from,
            "<BANKACCTFROM><BANKID>30004</BANKID><BRANCHID>00123</BRANCHID><ACCTID>00012345678</ACCTID>\
             <ACCTTYPE>CHECKING</ACCTTYPE><ACCTKEY>12</ACCTKEY></BANKACCTFROM>"
        );
    }
}
