//! Guichet's persistence: one store, SQLite by default and PostgreSQL for several server
//! processes, chosen by the database URL's scheme.
//!
//! The SQL is portable (TEXT and 64-bit integers, instants as Unix seconds, days as
//! `YYYY-MM-DD`, amounts in minor units) and runs through sqlx's `Any` driver; the schema is
//! kept once per dialect under `migrations/`. Nothing here knows about HTTP: functions take the
//! current time as a parameter so that callers (and tests) control the clock.

mod access;
mod access_batch;
mod access_cache;
mod accounts;
mod batches;
mod consents;
mod db;
mod fill;
mod funds;
pub mod import;
mod limits;
mod lockout;
mod oauth;
pub mod operation_json;
mod page_cache;
mod pages;
mod pg_reader;
mod read;
pub mod sandbox;
mod stats;
#[cfg(feature = "test-support")]
pub mod testing;
mod tokens;
mod tpps;

pub use access::Access;
pub use accounts::{
    AccountRecord, BalanceRecord, BeneficiaryRecord, PsuRecord, TransactionQuery,
    TransactionRecord, TransactionRef,
};
pub use consents::{ConsentRecord, Operation};
pub use db::{Backend, DEFAULT_PAGE_CACHE_MB, DatabaseUrl, Store};
pub use funds::FundsCheckRecord;
pub use limits::CallKey;
pub use lockout::{LockoutRule, ScaBlockRecord, ScaFailure, ScaTry};
pub use oauth::{AuthCode, DelegatedLogin, PsuGrant, Redeemed, ScaAttempt};
pub use page_cache::PageCacheStats;
pub use pages::PageOperations;
pub use stats::MinuteRow;
pub use tokens::{NewToken, TokenKind, TokenRecord, TokenSecret, new_family_id, split_scopes};
pub use tpps::{QsealRecord, TppRecord};

/// What can go wrong in the store. Database errors keep their cause for the operator's log;
/// the HTTP layer answers them with a generic 500 message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL: {0}")]
    BadUrl(String),
    #[error("inconsistent data: {0}")]
    Corrupt(String),
    /// An error of the direct SQLite reader, and whether it is SQLite's busy or locked.
    #[error("database error: {0}")]
    Sqlite(String, bool),
    /// An error of a read made for several requests at once, told to each of them (see
    /// `access_batch`), and whether the database is unavailable.
    #[error("{0}")]
    Read(String, bool),
}

impl StoreError {
    /// Whether PostgreSQL stopped the transaction to break a deadlock or a serialization
    /// failure with another writer (SQLSTATE 40P01, 40001): the same work may succeed if
    /// tried again.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(db))
            if db.code().is_some_and(|code| matches!(code.as_ref(), "40P01" | "40001")))
    }

    /// Whether the same request may succeed if made again shortly: the database cannot be
    /// reached right now, or PostgreSQL stopped the transaction in a conflict with another
    /// writer. The bank answers 503 with `Retry-After` (RFC 9110 §15.6.4: "a temporary
    /// overload or scheduled maintenance, which will likely be alleviated after some delay"),
    /// never 500: nothing of the stopped transaction is kept. A request of two transactions
    /// gives back what the first took (`/token`: a code redeemed without its tokens).
    pub fn is_transient(&self) -> bool {
        self.is_unavailable() || self.is_conflict()
    }

    /// Whether the database cannot be reached right now (down, restarting, pool exhausted):
    /// the request may succeed later, and the bank answers 503 rather than 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(error) => match error {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => true,
                // SQLSTATE class 08 (connection exception), 57P01–57P03 (shutdown, crash,
                // cannot connect now).
                // SQLSTATE class 53 (insufficient resources: too many connections…) too, and
                // 57014 (a read stopped by its statement timeout, or cancelled by an operator:
                // the database did not answer in time); SQLite 5 and 6 (busy, locked).
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    code.starts_with("08")
                        || code.starts_with("53")
                        || matches!(
                            code.as_ref(),
                            "57014" | "57P01" | "57P02" | "57P03" | "5" | "6"
                        )
                }),
                _ => false,
            },
            StoreError::Sqlite(_, busy) | StoreError::Read(_, busy) => *busy,
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
