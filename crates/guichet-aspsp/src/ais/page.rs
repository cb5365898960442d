//! The JSON of a page of operations, written as the rows come from the store: a page holds up
//! to 500 operations (about 480 bytes of JSON each), and copying each one into a record, then
//! into a model, then serialising the models cost more than the query (BENCHMARKS.md). The
//! bytes are exactly those `guichet_stet::model::HalTransactions` would serialise to: the
//! tests compare both on generated pages.

use guichet_stet::Amount;
use guichet_stet::model::TransactionsLinks;
use guichet_store::TransactionRef;

/// A page being written: `{"transactions":[…],"_links":{…}}`.
pub(crate) struct PageWriter {
    out: Vec<u8>,
    count: usize,
}

impl PageWriter {
    pub(crate) fn with_capacity(bytes: usize) -> PageWriter {
        let mut out = Vec::with_capacity(bytes);
        out.extend_from_slice(b"{\"transactions\":[");
        PageWriter { out, count: 0 }
    }

    /// Appends one operation; a pending one carries the bank's pending status.
    pub(crate) fn push(&mut self, tx: &TransactionRef<'_>, pending_status: &str) {
        if self.count > 0 {
            self.out.push(b',');
        }
        write_operation(&mut self.out, tx, pending_status);
        self.count += 1;
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The page's bytes, with its links.
    pub(crate) fn finish(mut self, links: &TransactionsLinks) -> Vec<u8> {
        self.out.extend_from_slice(b"],\"_links\":");
        // Serialising to a Vec cannot fail (links hold strings only).
        let _ = serde_json::to_writer(&mut self.out, links);
        self.out.push(b'}');
        self.out
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

fn write_operation(out: &mut Vec<u8>, tx: &TransactionRef<'_>, pending_status: &str) {
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
        if booked { "BOOK" } else { pending_status },
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
fn structured_remittance(stored: Option<&str>) -> Vec<serde_json::Value> {
    stored
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
