//! The JSON of a page of operations: `{"transactions":[…],"_links":{…}}`, the operations being
//! the JSON the store keeps with each (`guichet_store::operation_json`) copied one after the
//! other. A page holds up to 500 operations (about 480 bytes of JSON each); rendering each from
//! its columns, even straight from the borrowed rows, cost the most of the request
//! (BENCHMARKS.md). The bytes are exactly those `guichet_stet::model::HalTransactions` would
//! serialise to: the tests compare both on generated pages.
//!
//! The body is sent in three parts: the opening, the operations as the store gives them, the
//! links. The operations are not copied into one buffer: a page kept in memory is sent from
//! the bytes the store keeps (a copy of its 250 kB at each answer took a fifth of the bank's
//! time).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use guichet_stet::model::TransactionsLinks;
use http_body::{Frame, SizeHint};

const OPENING: &[u8] = b"{\"transactions\":[";

/// A page's body: its parts still to send, in order.
#[derive(Debug)]
pub(crate) struct PageBody {
    parts: [Bytes; 3],
    next: usize,
}

impl PageBody {
    /// The page of these operations (their JSON separated by commas) and links.
    pub(crate) fn new(operations: Bytes, links: &TransactionsLinks) -> PageBody {
        let mut closing = b"],\"_links\":".to_vec();
        // Serialising to a Vec cannot fail (links hold strings only).
        let _ = serde_json::to_writer(&mut closing, links);
        closing.push(b'}');
        PageBody {
            parts: [
                Bytes::from_static(OPENING),
                operations,
                Bytes::from(closing),
            ],
            next: 0,
        }
    }

    fn remaining(&self) -> &[Bytes] {
        self.parts.get(self.next..).unwrap_or_default()
    }

    /// The whole page in one buffer (for the tests).
    #[cfg(test)]
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        self.remaining().concat()
    }
}

impl http_body::Body for PageBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        while let Some(part) = this.parts.get_mut(this.next) {
            this.next += 1;
            if !part.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(std::mem::take(part)))));
            }
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.remaining().iter().all(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        let length: usize = self.remaining().iter().map(Bytes::len).sum();
        SizeHint::with_exact(u64::try_from(length).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests;
