//! A bank's own data into the store, by configuration rather than code: its customer file
//! (who owns which account) and its core banking statements (ISO 20022 camt.053 and
//! camt.052).

mod customers;
mod export;
mod inbox;
mod operations;
mod remittance;
mod statements;

pub use customers::{Customer, CustomerAccount, CustomerFile, CustomerSummary};
pub use export::BankFiles;
pub use inbox::{Inbox, InboxPass};
pub use remittance::{creditor_references, structured_remittance};
pub use statements::{BankChoice, ImportError, ImportSummary};

/// The type (`Tp`) of the `NtryDtls/TxDtls/Refs/Prtry` reference that names an operation's
/// resourceId, when the bank gives one (the sandbox's export does): it then identifies the
/// operation in place of the entry's account servicer reference, which stays its
/// entryReference.
pub const RESOURCE_ID_REFERENCE: &str = "STET resourceId";
