//! A bank's customer file and its camt statements into an empty store, on both backends:
//! idempotent, pending then booked as one operation, balances never replaced by older ones, a
//! malformed file refused whole with its line and element.

#[allow(dead_code, reason = "each test file uses a part of the shared files")]
mod camt_files;

use camt_files::*;
use guichet_camt::{CreditorReference, EntryStatus, Kind, ProprietaryReference};
use guichet_store::import::{BankChoice, CustomerFile, ImportError, RESOURCE_ID_REFERENCE};
use guichet_store::testing::{TestDatabase, stale_operation_json};
use guichet_store::{Store, TransactionQuery, on_both_backends};
use rust_decimal::Decimal;

async fn operations(store: &Store) -> Vec<guichet_store::TransactionRecord> {
    let query = TransactionQuery {
        bank_code: BANK.into(),
        account_id: "CPT08111222301".into(),
        limit: 100,
        ..TransactionQuery::default()
    };
    store
        .transactions(&query)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

on_both_backends! {
    async fn statements_feed_the_accounts_of_the_customer_file(backend) {
        let db = TestDatabase::new(backend).await;
        let store = Store::connect(&db.url, 4).await.unwrap_or_else(|e| panic!("{e}"));
        let written = store.import_customers(BANK, &customers()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((written.psus, written.accounts, written.eligible), (1, 2, 1), "a savings account is not eligible");
        let accounts = store.psu_accounts(BANK, "P0001").await.unwrap_or_default();
        assert_eq!(accounts.iter().map(|a| (a.resource_id.as_str(), a.eligible)).collect::<Vec<_>>(),
            [("CPT08111222301", true), ("CPT08111222302", false)]);
        assert!(store.find_psu(BANK, "jdupont").await.ok().flatten().is_some(), "the login finds the PSU");

        // The intraday report: one pending operation and the instant balance.
        let report = document(Kind::Report052, "2026-11-24T11:00:00Z",
            vec![balance("ITAV", 150_000, "2026-11-24")],
            vec![entry("R1", 1234, EntryStatus::Pending, "2026-11-24")]);
        let summary = import(&store, &report).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((summary.added, summary.balances), (1, 1));
        let pending = operations(&store).await;
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].status.as_str(), pending[0].amount_minor, pending[0].entry_reference.as_deref()), ("PDNG", 1234, Some("R1")));

        // The end-of-day statement: the same operation booked, and another.
        let statement = document(Kind::Statement053, "2026-11-24T22:00:00Z",
            vec![balance("OPBD", 200_000, "2026-11-24"), balance("CLBD", 196_000, "2026-11-24")],
            vec![entry("R1", 1234, EntryStatus::Booked, "2026-11-24"), entry("R2", 2566, EntryStatus::Booked, "2026-11-24")]);
        let summary = import(&store, &statement).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((summary.added, summary.updated, summary.balances), (1, 1, 1), "OPBD is not a STET balance");
        let booked = operations(&store).await;
        assert_eq!(booked.len(), 2, "no duplicate: {booked:?}");
        let r1 = booked.iter().find(|t| t.entry_reference.as_deref() == Some("R1"));
        let Some(r1) = r1 else { panic!("R1 is gone") };
        assert_eq!((r1.status.as_str(), r1.seq, r1.resource_id.as_str()), ("BOOK", pending[0].seq, pending[0].resource_id.as_str()), "the same operation, booked");

        // Twice the same file, and the older report again: nothing changes.
        let again = import(&store, &statement).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 2));
        let older = import(&store, &report).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((older.added, older.updated), (0, 0), "booked stays booked");
        assert_eq!(operations(&store).await, booked);
        let stale = stale_operation_json(&store).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(stale.is_empty(), "added and updated, the JSON follows the columns: {stale:#?}");

        // Balances: an older statement imported last does not replace the newer one.
        let yesterday = document(Kind::Statement053, "2026-11-23T22:00:00Z",
            vec![balance("CLBD", 50_000, "2026-11-23")], vec![]);
        import(&store, &yesterday).await.unwrap_or_else(|e| panic!("{e}"));
        let balances = store.balances(BANK, "CPT08111222301").await.unwrap_or_default();
        let amounts: Vec<(&str, i64)> = balances.iter().map(|b| (b.balance_type.as_str(), b.amount_minor)).collect();
        assert_eq!(amounts, [("CLBD", 196_000), ("XPCD", 150_000)]);

        // A malformed file is refused whole, naming its line and element.
        let next = document(Kind::Statement053, "2026-11-25T22:00:00Z",
            vec![balance("CLBD", 100, "2026-11-25")],
            vec![entry("R3", 100, EntryStatus::Booked, "2026-11-25"), entry("R4", 4242, EntryStatus::Booked, "2026-11-25")]);
        let broken = next.replacen(">42.42<", ">42,42<", 1);
        assert_ne!(broken, next);
        let refused = import(&store, &broken).await;
        let Err(ImportError::Camt(error)) = refused else { panic!("{refused:?}") };
        assert!(error.line > 1 && error.element.ends_with("Amt"), "{error}");
        assert_eq!(operations(&store).await, booked, "nothing of the refused file");
        let balances_after = store.balances(BANK, "CPT08111222301").await.unwrap_or_default();
        assert_eq!(balances_after, balances);

        // Amounts beyond what an account holds, or with fractions of a cent: refused.
        for amount in [Decimal::MAX, Decimal::new(12345, 3)] {
            let mut odd = entry("R9", 1, EntryStatus::Booked, "2026-11-25");
            odd.amount = amount;
            let file = document(Kind::Statement053, "2026-11-25T23:00:00Z", vec![], vec![odd]);
            let refused = import(&store, &file).await;
            assert!(matches!(&refused, Err(ImportError::Refused { element, .. }) if element == "Ntry/Amt"), "{refused:?}");
        }
        assert_eq!(operations(&store).await, booked);

        // An account the customer file does not name.
        let stranger = document(Kind::Statement053, "2026-11-25T22:00:00Z", vec![], vec![])
            .replace(CURRENT, "FR7630004000310001234567865");
        let refused = import(&store, &stranger).await;
        assert!(matches!(&refused, Err(ImportError::Refused { element, message, .. })
            if element == "Acct/Id/IBAN" && message.contains("customer file")), "{refused:?}");
        store.close().await;
    }
}

on_both_backends! {
    // An entry may name its resourceId (`Refs/Prtry` typed "STET resourceId"): a Paylib
    // payment pending without account servicer reference has no entryReference, and gets the
    // one of its booked entry, as the same operation (portal: "other types of operations (e. g.
    // Paylib) have this data only for BOOK status"). Creditor references are kept as STET's
    // structured remittance.
    async fn a_named_operation_gets_its_entry_reference_once_booked(backend) {
        let db = TestDatabase::new(backend).await;
        let store = Store::connect(&db.url, 4).await.unwrap_or_else(|e| panic!("{e}"));
        store.import_customers(BANK, &customers()).await.unwrap_or_else(|e| panic!("{e}"));
        let named = |status: EntryStatus, servicer: Option<&str>| {
            let mut paylib = entry("unused", 1500, status, "2026-11-24");
            paylib.account_servicer_reference = servicer.map(str::to_owned);
            paylib.proprietary_references = vec![ProprietaryReference {
                kind: RESOURCE_ID_REFERENCE.into(),
                reference: "T3580740977401".into(),
            }];
            paylib.structured = vec![CreditorReference::iso11649("RF33F2026123")];
            paylib
        };
        let report = document(Kind::Report052, "2026-11-24T11:00:00Z", vec![], vec![named(EntryStatus::Pending, None)]);
        import(&store, &report).await.unwrap_or_else(|e| panic!("{e}"));
        let pending = operations(&store).await;
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].resource_id.as_str(), pending[0].entry_reference.as_deref()), ("T3580740977401", None));
        let structured: serde_json::Value = serde_json::from_str(pending[0].remittance_structured.as_deref().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(structured, serde_json::json!([{"creditorReferenceInformation":
            {"type": {"code": "SCOR", "issuer": "ISO"}, "reference": "RF33F2026123"}}]));
        let reference = "175150008765432102026-11-25-09.12.13.000042";
        let statement = document(Kind::Statement053, "2026-11-25T22:00:00Z", vec![], vec![named(EntryStatus::Booked, Some(reference))]);
        let summary = import(&store, &statement).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((summary.added, summary.updated), (0, 1));
        let booked = operations(&store).await;
        assert_eq!(booked.len(), 1, "{booked:?}");
        assert_eq!(
            (booked[0].status.as_str(), booked[0].seq, booked[0].resource_id.as_str(), booked[0].entry_reference.as_deref()),
            ("BOOK", pending[0].seq, "T3580740977401", Some(reference))
        );
        assert_eq!(booked[0].remittance_structured, pending[0].remittance_structured);
        store.close().await;
    }
}

#[test]
fn the_csv_customer_file_reads_as_the_json_one() {
    let csv = format!(
        "psuId,login,kind,displayName,segment,iban,accountName,currency,cashAccountType,usage,status\n\
         P0001,jdupont,person,M JEAN DUPONT,retail,{CURRENT},Compte chèques,EUR,CACC,PRIV,active\n\
         P0001,jdupont,person,M JEAN DUPONT,retail,{SAVINGS},Livret A,EUR,SVGS,,active\n"
    );
    let parsed = CustomerFile::parse(&csv).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed, customers());
    let bad = csv.replace(",EUR,CACC", ",EUR");
    assert!(CustomerFile::parse(&bad).is_err());
}

proptest::proptest! {
    /// A customer file is outside input: whatever it holds, it parses or is refused with a
    /// reason, and the parsed files pass or fail their checks without panicking.
    #[test]
    fn customer_files_never_panic(text in "[{}\\[\\]\":,a-zA-Z0-9 \n\r.é-]{0,400}") {
        match CustomerFile::parse(&text) {
            Ok(file) => {
                for customer in &file.customers {
                    for account in &customer.accounts {
                        let _ = account.resource_id();
                        let _ = account.eligible();
                    }
                }
            }
            Err(error) => proptest::prop_assert!(!error.to_string().is_empty()),
        }
    }
}

/// What the API shows of an operation, but its technical id: the import numbers operations as
/// they arrive, and the API shows only their order (compared by the API's own test,
/// guichet-aspsp tests/api/camt_equivalence.rs).
fn shown(
    mut operations: Vec<guichet_store::TransactionRecord>,
) -> Vec<guichet_store::TransactionRecord> {
    for op in &mut operations {
        op.seq = 0;
        // Not booked is pending, whatever code the store keeps: the API answers the bank's
        // pending status for both.
        if op.status != "BOOK" {
            op.status = "pending".into();
        }
    }
    operations.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    operations
}

on_both_backends! {
    // The sandbox's data set, exported as a core banking system's files and imported into an
    // empty store, gives back its customers, accounts, balances and operations.
    async fn the_sandbox_exported_as_camt_imports_back_the_same(backend) {
        let sandbox_db = TestDatabase::new(backend).await;
        let sandbox = Store::connect(&sandbox_db.url, 4).await.unwrap_or_else(|e| panic!("{e}"));
        let today = day("2026-11-24");
        sandbox.seed_sandbox(&["30258", "17515"], today, 1_795_000_000).await.unwrap_or_else(|e| panic!("{e}"));
        let fresh_db = TestDatabase::new(backend).await;
        let fresh = Store::connect(&fresh_db.url, 4).await.unwrap_or_else(|e| panic!("{e}"));
        // Made when the sandbox wrote its data set (1_795_000_000): the balances' time of change.
        let created = "2026-11-18T11:06:40Z";
        let (mut without_reference, mut structured) = (0, 0);
        for (bank, bic) in [("30258", "BTPBFRPPXXX"), ("17515", "CEPAFRPP751")] {
            let files = sandbox.export_camt(bank, created, bic).await.unwrap_or_else(|e| panic!("{e}"));
            let customers = CustomerFile::parse(&files.customers).unwrap_or_else(|e| panic!("{e}"));
            fresh.import_customers(bank, &customers).await.unwrap_or_else(|e| panic!("{e}"));
            for xml in [&files.statement, &files.report] {
                fresh.import_statement(xml.as_bytes(), BankChoice::Given(bank)).await.unwrap_or_else(|e| panic!("{bank}: {e}"));
            }
            let psus = sandbox.psus(bank).await.unwrap_or_default();
            assert!(!psus.is_empty());
            assert_eq!(fresh.psus(bank).await.unwrap_or_default(), psus);
            for psu in &psus {
                // The same accounts; their operations' stamps are each store's own.
                let unstamped = |accounts: Vec<guichet_store::AccountRecord>| -> Vec<guichet_store::AccountRecord> {
                    accounts.into_iter().map(|a| guichet_store::AccountRecord { operations_stamp: None, ..a }).collect()
                };
                let accounts = sandbox.psu_accounts(bank, &psu.psu_id).await.unwrap_or_default();
                let imported = fresh.psu_accounts(bank, &psu.psu_id).await.unwrap_or_default();
                assert_eq!(unstamped(imported), unstamped(accounts.clone()), "{}", psu.persona);
                for account in &accounts {
                    // Names, amounts, days, time of change and last committed operation.
                    assert_eq!(
                        fresh.balances(bank, &account.resource_id).await.unwrap_or_default(),
                        sandbox.balances(bank, &account.resource_id).await.unwrap_or_default(),
                        "{} {}", psu.persona, account.resource_id
                    );
                    let query = TransactionQuery {
                        bank_code: bank.into(),
                        account_id: account.resource_id.clone(),
                        limit: 100_000,
                        ..TransactionQuery::default()
                    };
                    let theirs = shown(sandbox.transactions(&query).await.unwrap_or_default());
                    let ours = shown(fresh.transactions(&query).await.unwrap_or_default());
                    assert_eq!(ours.len(), theirs.len(), "{} {}", psu.persona, account.resource_id);
                    for (ours, theirs) in ours.iter().zip(&theirs) {
                        assert_eq!(ours, theirs, "{} {}", psu.persona, account.resource_id);
                    }
                    without_reference += ours.iter().filter(|op| op.entry_reference.is_none()).count();
                    structured += ours.iter().filter(|op| op.remittance_structured.is_some()).count();
                }
            }
        }
        assert!(without_reference > 0, "operations without entryReference (retail, Paylib not yet booked)");
        assert!(structured > 0, "operations with a structured remittance (professionals' invoices)");
        sandbox.close().await;
        fresh.close().await;
    }
}
