//! STET PSD2 v1.4.2 wire types and the validated values a bank reads from a TPP.
//!
//! Everything a TPP sends is parsed here into a type that cannot hold an invalid value
//! (`Iban`, `ResourceId`, `XRequestId`, `DateBound`, `Amount`, `ConsentRequest`), and everything
//! the bank answers is a serde type that omits absent optional fields instead of writing `null`.
//! The crate knows nothing about HTTP frameworks or storage.

pub mod amount;
pub mod consent;
pub mod dates;
pub mod error;
pub mod ids;
pub mod model;
pub mod register;

pub use amount::{Amount, AmountType};
pub use consent::{ConsentRequest, parse_access};
pub use dates::DateBound;
pub use error::ErrorModel;
pub use ids::{BankCode, Iban, PsuId, ResourceId, XRequestId};

/// The API base path, as BPCE serves it: `/stet/psd2/v1.4.2/accounts`.
pub const BASE_PATH: &str = "/stet/psd2/v1.4.2";
/// The STET version this API implements; each version is a separate interface in the
/// regulatory statistics.
pub const API_VERSION: &str = "1.4.2";

/// A value that failed validation, with a message a TPP developer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
