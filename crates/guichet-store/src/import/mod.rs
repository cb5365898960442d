//! A bank's own data into the store, by configuration rather than code: its customer file
//! (who owns which account) and its core banking statements (ISO 20022 camt.053 and
//! camt.052).

mod customers;
mod export;
mod inbox;
mod statements;

pub use customers::{Customer, CustomerAccount, CustomerFile, CustomerSummary};
pub use export::BankFiles;
pub use inbox::{Inbox, InboxPass};
pub use statements::{BankChoice, ImportError, ImportSummary};
