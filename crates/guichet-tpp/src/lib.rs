//! The TPP side of the counter: a client of STET PSD2 v1.4.2 banks for an account information
//! service (AISP), and the aggregation of one customer's accounts across banks.
//!
//! A Rust TPP developer who has never read STET needs to know four things:
//! - The TPP proves who it is with two eIDAS certificates: its **QWAC** opens a mutual-TLS
//!   connection, its **QSealC** signs every request ([`TppIdentity`]).
//! - The customer (the PSU) authorizes the TPP on the bank's own pages: send the PSU's browser
//!   to [`BankClient::authorization_request`]'s URL, catch the redirect ([`Callback`]), then
//!   [`BankClient::exchange_code`] gives the tokens.
//! - The customer then chooses which accounts the TPP may read, and for what
//!   ([`BankClient::put_consents`]): balances, transactions, identity.
//! - Without the customer present (batch mode), a bank allows 4 calls a day per account and
//!   operation; [`TppError::RateLimited`] says when that allowance is spent.
//!
//! `examples/two_banks.rs` logs in, consents and prints the balances of every account at two
//! banks of a `guichet serve` sandbox.

mod bank;
mod callback;
mod error;
pub mod export;
mod identity;
pub mod report;
pub mod sandbox;
mod store;
pub mod sync;
mod transport;
mod workspace;

pub use bank::{Allowance, AuthorizationRequest, BankClient, BankEndpoints, RetryPolicy, Tokens};
pub use callback::Callback;
pub use error::TppError;
pub use identity::{IdentityError, TppIdentity};
pub use store::{LocalAccount, LocalStore, LocalTransaction, Upsert};
pub use transport::{TransportError, new_request_id, register, sign_request};
pub use workspace::{Certificates, Config, Workspace};
