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
//! The PSU's tokens and the TPP's own client-credentials token (funds confirmation) are kept
//! apart: the second never replaces the first. Time is a parameter: a [`BankClient`] reads its
//! clock ([`BankClient::with_clock`]) and counts days in the bank's time zone
//! ([`BankClient::with_time_zone`]); [`Workspace::status`] takes `now`.
//!
//! `examples/two_banks.rs` logs in, consents and prints the balances of every account at two
//! banks of a `guichet serve` sandbox.

mod bank;
mod callback;
pub mod clock;
pub mod conformance;
mod consent;
mod error;
pub mod export;
mod identity;
pub mod load;
pub mod report;
pub mod sandbox;
pub mod status;
mod store;
pub mod sync;
mod transport;
mod workspace;

pub use bank::{
    Allowance, AuthorizationRequest, BankClient, BankEndpoints, RetryPolicy, Tokens, compact_iban,
    find_account, iban_of, looks_like_iban,
};
pub use callback::Callback;
pub use consent::ConsentChoice;
pub use error::TppError;
pub use identity::{IdentityError, TppIdentity};
pub use status::{BankStatus, ScaExpiry, Status, TokenState};
pub use store::{LocalAccount, LocalStore, LocalTransaction, Upsert};
pub use transport::{TransportError, new_request_id, register, sign_request};
pub use workspace::{
    BankOptions, BankOptionsMap, Certificates, Config, Workspace, config_text, parse_config,
};
