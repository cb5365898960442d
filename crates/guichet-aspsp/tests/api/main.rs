//! Integration tests of the bank side: the real server on free ports, against a fresh SQLite
//! file and a fresh PostgreSQL database for every test (see `guichet_store::on_both_backends`).
//! The portal's acceptance tests are quoted above the tests that implement them.

mod flow;
mod helpers;
#[path = "../../../../tests/oidc/provider.rs"]
mod oidc_provider;
mod outage;
mod pki;

mod accounts;
mod balances;
mod browser;
mod camt_equivalence;
mod consents;
mod edge;
mod flood;
mod funds;
mod funds_registration;
mod hardening;
mod identity;
mod limits;
mod lockout;
mod logs;
mod oauth;
mod oidc;
mod ops;
mod regulatory;
mod security;
mod tpp;
mod transactions;
