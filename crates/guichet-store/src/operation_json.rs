//! The STET JSON of an operation, kept with it (column `json`, migration 0009) and written
//! whenever the operation is (import, sandbox, growth): a page of 500 operations is then 500
//! strings copied one after the other, where rendering each from its eighteen columns cost the
//! most of the request (BENCHMARKS.md, 7 December).
//!
//! The only part of the representation a bank's profile decides is the status of a pending
//! operation (OTHR or PDNG, four letters both): the stored JSON says PDNG and a bank that says
//! OTHR has those four bytes replaced as the page is written (`push_with_status`). Everything
//! else is the operation's own. A row without its JSON (written by an earlier version, before
//! [`Store::fill_operation_json`](crate::Store::fill_operation_json) reached it) is rendered
//! from its columns: the bytes are the same (tested).

use std::sync::LazyLock;

use guichet_stet::Amount;
use memchr::memmem::Finder;

use crate::TransactionRef;

/// The status a stored pending operation says, spliced for a bank that says another.
pub const STORED_PENDING_STATUS: &str = "PDNG";

/// Where an operation's status sits: the first top-level member after creditDebitIndicator,
/// before any nested object. JSON strings escape their quotes, so the bytes `,"status":"`
/// occur in an operation first as the key. Found about 150 bytes in, where looking for the
/// whole `,"status":"PDNG"` read every booked operation to its end.
const STATUS_KEY: &[u8] = b",\"status\":\"";

/// The operation's JSON as the store keeps it.
pub fn operation_json(tx: &TransactionRef<'_>) -> String {
    let mut out = Vec::with_capacity(512);
    write_operation(&mut out, tx);
    // Only UTF-8 is written (the escaped strings of `tx` and ASCII punctuation): nothing is
    // replaced, and no operation could ever be kept as an empty string.
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends a stored operation's JSON to a page, its pending status spelt as the bank spells it
/// (`pending_status` is four letters: OTHR or PDNG).
pub fn push_with_status(out: &mut Vec<u8>, json: &str, pending_status: &str) {
    let start = out.len();
    out.extend_from_slice(json.as_bytes());
    splice_status(&mut out[start..], pending_status);
}

/// Appends an operation's JSON rendered from its columns to a page, its pending status spelt
/// as the bank spells it: the same bytes as [`push_with_status`] of its kept JSON.
pub fn push_rendered(out: &mut Vec<u8>, tx: &TransactionRef<'_>, pending_status: &str) {
    let start = out.len();
    write_operation(out, tx);
    splice_status(&mut out[start..], pending_status);
}

/// Spells the pending status of one operation's JSON as the bank does.
pub fn splice_status(operation: &mut [u8], pending_status: &str) {
    if pending_status == STORED_PENDING_STATUS || pending_status.len() != 4 {
        return;
    }
    static KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(STATUS_KEY));
    let Some(at) = KEY.find(operation) else {
        return;
    };
    let status = at + STATUS_KEY.len();
    if let Some(value) = operation.get_mut(status..status + 4)
        && value == STORED_PENDING_STATUS.as_bytes()
    {
        value.copy_from_slice(pending_status.as_bytes());
    }
}

/// A JSON string, escaped as serde_json escapes it.
fn string(out: &mut Vec<u8>, text: &str) {
    let _ = serde_json::to_writer(&mut *out, text);
}

fn field(out: &mut Vec<u8>, name: &[u8], text: &str) {
    out.extend_from_slice(name);
    string(out, text);
}

/// Writes the operation as `guichet_stet::model::Transaction` serialises it, a pending one
/// with the status PDNG.
pub fn write_operation(out: &mut Vec<u8>, tx: &TransactionRef<'_>) {
    let booked = tx.status == "BOOK";
    field(out, b"{\"resourceId\":", tx.resource_id);
    if let Some(reference) = tx.entry_reference {
        field(out, b",\"entryReference\":", reference);
    }
    field(out, b",\"transactionAmount\":{\"currency\":", tx.currency);
    out.extend_from_slice(b",\"amount\":");
    let _ = serde_json::to_writer(&mut *out, &Amount::from_minor(tx.amount_minor));
    out.push(b'}');
    field(out, b",\"creditDebitIndicator\":", tx.credit_debit);
    field(
        out,
        b",\"status\":",
        if booked {
            "BOOK"
        } else {
            STORED_PENDING_STATUS
        },
    );
    if booked {
        field(out, b",\"bookingDate\":", tx.imputation_date);
    } else {
        field(out, b",\"expectedBookingDate\":", tx.imputation_date);
    }
    if let Some(day) = tx.value_date {
        field(out, b",\"valueDate\":", day);
    }
    if let Some(day) = tx.transaction_date {
        field(out, b",\"transactionDate\":", day);
    }
    if let Some([Some(domain), Some(family), Some(sub_family), code, issuer]) = tx.btc {
        field(out, b",\"bankTransactionCode\":{\"domain\":", domain);
        field(out, b",\"family\":", family);
        field(out, b",\"subFamily\":", sub_family);
        if let Some(code) = code {
            field(out, b",\"code\":", code);
        }
        if let Some(issuer) = issuer {
            field(out, b",\"issuer\":", issuer);
        }
        out.push(b'}');
    }
    // STET 1.4.2 RemittanceInformation {unstructured, structured}, each given when not empty;
    // none at all for an operation without remittance information.
    let structured = structured_remittance(tx.remittance_structured);
    let unstructured = !tx.remittance.is_empty();
    if unstructured || !structured.is_empty() {
        out.extend_from_slice(b",\"remittanceInformation\":{");
        if unstructured {
            field(out, b"\"unstructured\":[", tx.remittance);
            out.push(b']');
        }
        if !structured.is_empty() {
            if unstructured {
                out.push(b',');
            }
            out.extend_from_slice(b"\"structured\":");
            let _ = serde_json::to_writer(&mut *out, &structured);
        }
        out.push(b'}');
    }
    out.push(b'}');
}

/// The structured remittance the store keeps (a JSON array of StructuredRemittanceInformation),
/// written again through serde so that the page holds well-formed JSON whatever the column
/// holds; an unreadable value gives none.
pub fn structured_remittance(stored: Option<&str>) -> Vec<serde_json::Value> {
    stored
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> crate::TransactionRecord {
        crate::TransactionRecord {
            account_id: "CPT1".into(),
            seq: 1,
            resource_id: "R\",\"status\":\"PDNG\"".into(),
            entry_reference: None,
            amount_minor: -1234,
            currency: "EUR".into(),
            credit_debit: "DBIT".into(),
            status: "PDNG".into(),
            imputation_date: "2026-12-07".into(),
            value_date: None,
            transaction_date: None,
            remittance: ",\"status\":\"PDNG\"".into(),
            remittance_structured: None,
            btc: None,
        }
    }

    #[test]
    fn a_pending_status_is_spliced_at_the_member_not_in_a_string() {
        let row = pending();
        let json = operation_json(&row.as_ref());
        let mut page = Vec::new();
        push_with_status(&mut page, &json, "OTHR");
        let value: serde_json::Value = serde_json::from_slice(&page).unwrap_or_default();
        assert_eq!(value["status"], "OTHR");
        assert_eq!(value["resourceId"], row.resource_id);
        assert_eq!(
            value["remittanceInformation"]["unstructured"][0],
            row.remittance
        );
        let mut same = Vec::new();
        push_with_status(&mut same, &json, "PDNG");
        assert_eq!(same, json.as_bytes());
    }

    /// The JSON the stores keep is this renderer's: a page copies what an import wrote, maybe
    /// under an earlier release. Changing a byte of it (a member added, renamed, moved) needs a
    /// migration that forgets the kept JSON (`UPDATE transactions SET json = NULL`), which the
    /// fill then writes again (fill.rs); otherwise pages would mix both forms. This test fails
    /// first, to say so.
    #[test]
    fn the_kept_json_is_this_renderers_form() {
        let mut row = pending();
        row.resource_id = "OP-1".into();
        row.entry_reference = Some("REF-1".into());
        row.status = "BOOK".into();
        row.value_date = Some("2026-12-08".into());
        row.transaction_date = Some("2026-12-06".into());
        row.remittance = "LOYER DECEMBRE".into();
        row.remittance_structured =
            Some(r#"[{"type":{"code":"SCOR"},"reference":"RF18539007547034"}]"#.into());
        row.btc = Some([
            Some("PMNT".into()),
            Some("ICDT".into()),
            Some("ESCT".into()),
            Some("101".into()),
            Some("FFBF".into()),
        ]);
        let pinned = concat!(
            r#"{"resourceId":"OP-1","entryReference":"REF-1","#,
            r#""transactionAmount":{"currency":"EUR","amount":"-12.34"},"#,
            r#""creditDebitIndicator":"DBIT","status":"BOOK","bookingDate":"2026-12-07","#,
            r#""valueDate":"2026-12-08","transactionDate":"2026-12-06","#,
            r#""bankTransactionCode":{"domain":"PMNT","family":"ICDT","subFamily":"ESCT","#,
            r#""code":"101","issuer":"FFBF"},"#,
            r#""remittanceInformation":{"unstructured":["LOYER DECEMBRE"],"#,
            r#""structured":[{"reference":"RF18539007547034","type":{"code":"SCOR"}}]}}"#,
        );
        assert_eq!(operation_json(&row.as_ref()), pinned);
    }

    #[test]
    fn a_booked_operation_keeps_its_status() {
        let mut row = pending();
        row.status = "BOOK".into();
        let json = operation_json(&row.as_ref());
        let mut page = Vec::new();
        push_with_status(&mut page, &json, "OTHR");
        assert_eq!(page, json.as_bytes());
        assert!(json.contains(",\"status\":\"BOOK\",\"bookingDate\":\"2026-12-07\""));
    }
}
