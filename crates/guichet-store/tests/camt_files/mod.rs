//! The customer file and camt statements the import tests give the store: bank 30258's
//! customer with a current and a savings account, entries, balances, and the documents that
//! carry them.

use guichet_camt::{
    AccountHeader, AccountId, Balance, CreditDebit, Entry, EntryStatus, Header, Kind, Version,
    write_document,
};
use guichet_store::import::{BankChoice, CustomerFile, ImportError, ImportSummary};
use guichet_store::testing::TestDatabase;
use guichet_store::{Backend, Store};
use rust_decimal::Decimal;

pub const BANK: &str = "30258";
pub const BIC: &str = "BTPBFRPPXXX";
pub const CURRENT: &str = "FR7630258000010811122230193";
pub const SAVINGS: &str = "FR7630258000010811122230290";

pub fn customers() -> CustomerFile {
    let json = format!(
        r#"{{"customers": [{{"psuId": "P0001", "login": "jdupont", "kind": "person",
            "displayName": "M JEAN DUPONT", "segment": "retail", "accounts": [
              {{"iban": "{CURRENT}", "name": "Compte chèques", "currency": "EUR",
                "cashAccountType": "CACC", "usage": "PRIV", "status": "active"}},
              {{"iban": "{SAVINGS}", "name": "Livret A", "currency": "EUR",
                "cashAccountType": "SVGS", "status": "active"}}]}}]}}"#
    );
    match CustomerFile::parse(&json) {
        Ok(file) => file,
        Err(e) => panic!("{e}"),
    }
}

/// An empty store of `pool` connections.
pub async fn empty(backend: Backend, pool: u32) -> (Store, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    let store = Store::connect(&db.url, pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (store, db)
}

/// A store of `pool` connections with the customer file imported.
pub async fn with_customers(backend: Backend, pool: u32) -> (Store, TestDatabase) {
    let (store, db) = empty(backend, pool).await;
    store
        .import_customers(BANK, &customers())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (store, db)
}

pub fn day(text: &str) -> jiff::civil::Date {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

pub fn entry(reference: &str, cents: i64, status: EntryStatus, booked: &str) -> Entry {
    let mut entry = Entry::new(Decimal::new(cents, 2), "EUR", CreditDebit::Debit, status);
    entry.account_servicer_reference = Some(reference.into());
    entry.booking_date = Some(day(booked));
    entry.value_date = Some(day(booked));
    entry.unstructured = vec![format!("CARTE {reference}")];
    entry
}

/// `count` operations booked on `booked`, referenced `<prefix><n>` from `from`.
pub fn booked(prefix: &str, from: i64, count: i64, booked: &str) -> Vec<Entry> {
    (from..from + count)
        .map(|n| {
            entry(
                &format!("{prefix}{n:06}"),
                100 + n,
                EntryStatus::Booked,
                booked,
            )
        })
        .collect()
}

pub fn balance(code: &str, cents: i64, on: &str) -> Balance {
    Balance {
        code: code.into(),
        proprietary: false,
        amount: Decimal::new(cents, 2),
        currency: "EUR".into(),
        date: day(on),
        line: 0,
    }
}

/// A document of the accounts named by their IBAN, each with its balances and entries.
pub fn statement(
    kind: Kind,
    created: &str,
    accounts: Vec<(&str, Vec<Balance>, Vec<Entry>)>,
) -> String {
    let header = Header {
        kind,
        version: Version::V08,
        message_id: format!("MSG-{created}"),
        created: created.into(),
    };
    let accounts: Vec<_> = accounts
        .into_iter()
        .map(|(iban, balances, entries)| {
            let account = AccountHeader {
                statement_id: format!("ST-{iban}-{created}"),
                electronic_sequence: None,
                created: Some(created.into()),
                account: AccountId::Iban(iban.into()),
                currency: Some("EUR".into()),
                name: None,
                owner_name: None,
                servicer_bic: Some(BIC.into()),
                line: 0,
            };
            (account, balances, entries)
        })
        .collect();
    write_document(kind, Version::V08, &header, &accounts)
}

/// A document of the current account.
pub fn document(kind: Kind, created: &str, balances: Vec<Balance>, entries: Vec<Entry>) -> String {
    statement(kind, created, vec![(CURRENT, balances, entries)])
}

pub async fn import(store: &Store, xml: &str) -> Result<ImportSummary, ImportError> {
    let banks = [(BANK.to_owned(), BIC.to_owned())];
    store
        .import_statement(xml.as_bytes(), BankChoice::ByBic(&banks))
        .await
}
