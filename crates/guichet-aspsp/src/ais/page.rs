//! The JSON of a page of operations: `{"transactions":[…],"_links":{…}}`, the operations being
//! the JSON the store keeps with each (`guichet_store::operation_json`) copied one after the
//! other. A page holds up to 500 operations (about 480 bytes of JSON each); rendering each from
//! its columns, even straight from the borrowed rows, cost the most of the request
//! (BENCHMARKS.md). The bytes are exactly those `guichet_stet::model::HalTransactions` would
//! serialise to: the tests compare both on generated pages.

use guichet_stet::model::TransactionsLinks;

/// A page being written.
pub(crate) struct PageWriter {
    out: Vec<u8>,
}

impl PageWriter {
    pub(crate) fn with_capacity(bytes: usize) -> PageWriter {
        let mut out = Vec::with_capacity(bytes);
        out.extend_from_slice(b"{\"transactions\":[");
        PageWriter { out }
    }

    /// Where the operations go, separated by commas (`Store::write_operations`).
    pub(crate) fn operations(&mut self) -> &mut Vec<u8> {
        &mut self.out
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

#[cfg(test)]
mod tests;
