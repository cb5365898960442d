//! ISO 20022 bank-to-customer statements, read and written: camt.053 (`BkToCstmrStmt`, the
//! end-of-day statement) and camt.052 (`BkToCstmrAcctRpt`, the intraday account report), in
//! versions `.001.02` and `.001.08`.
//!
//! [`CamtReader`] streams a file: the group header, then one [`Item`] per `Stmt`/`Rpt` start,
//! `Bal`, `Ntry` and `Stmt`/`Rpt` end, in bounded memory whatever the file's size. Elements the
//! model does not use are skipped as they are read. Errors say the line and the element path.
//! [`write_document`] writes the model back as camt of either kind and version.
//!
//! The crate converts between XML and a neutral [`model`]; it knows nothing of the store.

pub mod error;
pub mod model;
mod read;
mod tag;
mod value;
pub mod write;
mod xml;

pub use error::{CamtError, Result};
pub use model::{
    AccountHeader, AccountId, Balance, BankTransactionCode, CreditDebit, CreditorReference,
    CreditorReferenceType, DOCUMENT_TYPE_CODES, Document, DomainCode, Entry, EntryStatus, Header,
    Item, Kind, ProprietaryCode, ProprietaryReference, Statement, Version, kind_and_version,
    namespace,
};
pub use read::{CamtReader, read_document};
pub use write::{StreamWriter, write_document};
