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

/// Rows written by one import from which PostgreSQL's statistics of the tables written are
/// refreshed at once (`Store::analyze`, a sample of 30,000 rows a table): autovacuum does it
/// only once a tenth of a table has changed, which a large bank's daily files never reach, and
/// the plans of the API's queries are made from those statistics.
pub(crate) const ANALYZE_AFTER: usize = 10_000;

/// The type (`Tp`) of the `NtryDtls/TxDtls/Refs/Prtry` reference that names an operation's
/// resourceId, when the bank gives one (the sandbox's export does): it then identifies the
/// operation in place of the entry's account servicer reference, which stays its
/// entryReference.
pub const RESOURCE_ID_REFERENCE: &str = "STET resourceId";
