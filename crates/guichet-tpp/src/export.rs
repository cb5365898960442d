//! Exports of the synced operations: CSV, JSON, OFX.

use crate::store::{LocalAccount, LocalTransaction};

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

pub fn csv(transactions: &[LocalTransaction]) -> String {
    let mut out = String::from("bank,iban,date,amount,currency,status,label,reference\n");
    for t in transactions {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            csv_field(&t.bank),
            csv_field(&t.iban),
            csv_field(&t.day),
            t.amount,
            csv_field(&t.currency),
            csv_field(&t.status),
            csv_field(&t.label),
            csv_field(t.entry_reference.as_deref().unwrap_or(&t.key))
        ));
    }
    out
}

pub fn json(transactions: &[LocalTransaction]) -> String {
    let items: Vec<serde_json::Value> = transactions
        .iter()
        .map(|t| {
            serde_json::json!({
                "bank": t.bank, "iban": t.iban, "date": t.day, "amount": t.amount.to_string(), "currency": t.currency,
                "status": t.status, "label": t.label, "key": t.key, "entryReference": t.entry_reference,
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_default()
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// OFX 2.2 (XML): one statement per account, booked and pending operations.
pub fn ofx(
    accounts: &[LocalAccount],
    transactions: &[LocalTransaction],
    generated: &str,
) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?OFX OFXHEADER=\"200\" VERSION=\"220\" SECURITY=\"NONE\" OLDFILEUID=\"NONE\" NEWFILEUID=\"NONE\"?>\n<OFX>\n<BANKMSGSRSV1>\n",
    );
    for (n, account) in accounts.iter().enumerate() {
        out.push_str(&format!(
            "<STMTTRNRS><TRNUID>{n}</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><STMTRS><CURDEF>{}</CURDEF>\
             <BANKACCTFROM><BANKID>{}</BANKID><ACCTID>{}</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>\n<BANKTRANLIST><DTSTART>{generated}</DTSTART><DTEND>{generated}</DTEND>\n",
            xml(&account.currency),
            xml(&account.bank),
            xml(&account.iban)
        ));
        for t in transactions
            .iter()
            .filter(|t| t.bank == account.bank && t.iban == account.iban)
        {
            let kind = if t.amount.is_sign_negative() {
                "DEBIT"
            } else {
                "CREDIT"
            };
            out.push_str(&format!(
                "<STMTTRN><TRNTYPE>{kind}</TRNTYPE><DTPOSTED>{}</DTPOSTED><TRNAMT>{}</TRNAMT><FITID>{}</FITID><NAME>{}</NAME><MEMO>{}</MEMO></STMTTRN>\n",
                t.day.replace('-', ""),
                t.amount,
                xml(&t.key),
                xml(&t.label.chars().take(32).collect::<String>()),
                xml(&t.status)
            ));
        }
        out.push_str("</BANKTRANLIST>");
        if let Some(balance) = account.balance {
            out.push_str(&format!(
                "<LEDGERBAL><BALAMT>{balance}</BALAMT><DTASOF>{generated}</DTASOF></LEDGERBAL>"
            ));
        }
        out.push_str("</STMTRS></STMTTRNRS>\n");
    }
    out.push_str("</BANKMSGSRSV1>\n</OFX>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn op(label: &str) -> LocalTransaction {
        LocalTransaction {
            bank: "17515".into(),
            iban: "FR76".into(),
            key: "k1".into(),
            entry_reference: None,
            amount: Decimal::new(-1250, 2),
            currency: "EUR".into(),
            status: "BOOK".into(),
            day: "2026-11-20".into(),
            label: label.into(),
        }
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        let out = csv(&[op("CB \"SHOP\", PARIS")]);
        assert!(out.contains("-12.50"));
        assert!(out.contains("\"CB \"\"SHOP\"\", PARIS\""), "{out}");
    }

    #[test]
    fn ofx_escapes_labels() {
        let account = LocalAccount {
            bank: "17515".into(),
            iban: "FR76".into(),
            resource_id: None,
            name: "A".into(),
            currency: "EUR".into(),
            balance: Some(Decimal::ONE),
        };
        let out = ofx(&[account], &[op("A<B & C")], "20261124");
        assert!(out.contains("<NAME>A&lt;B &amp; C</NAME>"), "{out}");
        assert!(out.contains("<TRNTYPE>DEBIT</TRNTYPE>"));
    }
}
