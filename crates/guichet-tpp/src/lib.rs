//! The TPP side of the counter: how a TPP talks to a STET bank.
//!
//! Every request goes over mutual TLS with the TPP's QWAC and is signed with its QSealC
//! (draft-cavage `Signature` and `Digest`), with a fresh `X-Request-ID`.

mod identity;
mod transport;

pub use identity::{IdentityError, TppIdentity};
pub use transport::{TransportError, new_request_id, register, sign_request};
