//! The JSON kept with each operation (migration 0009) on both backends: written in step with
//! the columns by the sandbox and by growth (the import is checked in import.rs), copied into
//! pages with the bank's pending status, and, for rows an earlier version wrote without it,
//! the same page from the columns, the JSON then written (per account, and at start).

use guichet_store::operation_json::push_rendered;
use guichet_store::testing::{
    TestDatabase, execute, forget_operation_json, page_and_count_plans, stale_operation_json,
};
use guichet_store::{Backend, Store, TransactionQuery, on_both_backends};

const BANK: &str = "30258";
/// ATLAS's current account: booked and pending (OTHR) operations in the sandbox.
const ACCOUNT: &str = "CPT08111222301";

fn today() -> jiff::civil::Date {
    jiff::civil::date(2026, 12, 7)
}

fn query(limit: i64, offset: i64) -> TransactionQuery {
    TransactionQuery {
        bank_code: BANK.into(),
        account_id: ACCOUNT.into(),
        limit,
        offset,
        ..TransactionQuery::default()
    }
}

/// The page the store answers, as bytes, and how many operations it holds.
async fn page(store: &Store, query: &TransactionQuery, pending: &str) -> (Vec<u8>, usize) {
    let page = store
        .page_operations(query, pending)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (page.json.to_vec(), page.count)
}

/// Waits (at most 10 s) until every operation's JSON is what its columns render: the pages
/// write it behind their answer.
async fn until_in_step(store: &Store) {
    for _ in 0..200 {
        // The check waits for a connection the fill may hold: an error is "not yet".
        if stale_operation_json(store)
            .await
            .is_ok_and(|stale| stale.is_empty())
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let stale = stale_operation_json(store).await.unwrap_or_default();
    panic!("still out of step after 10 s: {stale:#?}");
}

/// The same page rendered from the columns of the records.
async fn rendered(store: &Store, query: &TransactionQuery, pending: &str) -> (Vec<u8>, usize) {
    let records = store
        .transactions(query)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_rendered(&mut out, &record.as_ref(), pending);
    }
    (out, records.len())
}

async fn seeded(db: &TestDatabase) -> Store {
    let store = Store::connect(&db.url, 4)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .seed_sandbox(&[BANK], today(), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .grow_account(BANK, ACCOUNT, 1_200, 150, today())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
}

on_both_backends! {
    async fn pages_copy_the_json_kept_with_each_operation(backend) {
        let db = TestDatabase::new(backend).await;
        let store = seeded(&db).await;
        let stale = stale_operation_json(&store).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(stale.is_empty(), "the sandbox and growth keep the JSON in step: {stale:#?}");
        for pending in ["OTHR", "PDNG"] {
            for (limit, offset) in [(500, 0), (100, 450), (50, 1_180)] {
                let (kept, count) = page(&store, &query(limit, offset), pending).await;
                let (columns, records) = rendered(&store, &query(limit, offset), pending).await;
                assert_eq!(count, records);
                assert!(count > 0, "page {limit}/{offset} is not empty");
                assert_eq!(String::from_utf8_lossy(&kept), String::from_utf8_lossy(&columns));
            }
        }
        // The first page of the sandbox's account holds pending operations, in the bank's words.
        let (kept, _) = page(&store, &query(500, 0), "OTHR").await;
        let operations: serde_json::Value =
            serde_json::from_slice(&[b"[", kept.as_slice(), b"]"].concat()).unwrap_or_default();
        let statuses: Vec<&str> = operations
            .as_array()
            .map(|all| all.iter().filter_map(|o| o["status"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(statuses.len(), 500);
        assert!(statuses.contains(&"OTHR") && statuses.contains(&"BOOK"), "{statuses:?}");
        assert!(!statuses.contains(&"PDNG"));
    }
}

on_both_backends! {
    async fn operations_written_without_json_are_answered_alike_then_given_it(backend) {
        let db = TestDatabase::new(backend).await;
        let store = seeded(&db).await;
        let pages = [query(500, 0), query(100, 450)];
        let mut before = Vec::new();
        for q in &pages {
            before.push(page(&store, q, "OTHR").await);
        }
        // One operation in the middle of the first page, then one account's, as an earlier
        // version would have written them during an upgrade.
        let middle = store.transactions(&query(1, 250)).await.unwrap_or_default();
        let Some(middle) = middle.first() else { panic!("no 251st operation") };
        for seq in [Some(middle.seq), None] {
            let forgotten = forget_operation_json(&store, Some((BANK, ACCOUNT)), seq)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if seq.is_some() {
                assert_eq!(forgotten, 1);
            } else {
                assert!(forgotten >= 1_200, "{forgotten}");
            }
            for (q, expected) in pages.iter().zip(&before) {
                let answered = page(&store, q, "OTHR").await;
                assert_eq!(
                    (String::from_utf8_lossy(&answered.0), answered.1),
                    (String::from_utf8_lossy(&expected.0), expected.1),
                    "the page from the columns, after {seq:?}"
                );
            }
            until_in_step(&store).await;
        }

        // All of them, as before migration 0009: the next start writes them, once.
        let forgotten = forget_operation_json(&store, None, None).await.unwrap_or_else(|e| panic!("{e}"));
        let filled = store.fill_operation_json().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(filled, forgotten);
        assert_eq!(store.fill_operation_json().await.ok(), Some(0), "once done, nothing is read again");
        let stale = stale_operation_json(&store).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(stale.is_empty(), "{stale:#?}");
        forget_operation_json(&store, None, None).await.unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        let store = Store::connect(&db.url, 4).await.unwrap_or_else(|e| panic!("{e}"));
        store.fill_operation_json_later();
        // Meanwhile, the pages answer alike, from the columns or the JSON already written.
        let (meanwhile, _) = page(&store, &pages[0], "OTHR").await;
        assert_eq!(String::from_utf8_lossy(&meanwhile), String::from_utf8_lossy(&before[0].0));
        until_in_step(&store).await;
        let (restarted, _) = page(&store, &pages[0], "OTHR").await;
        assert_eq!(String::from_utf8_lossy(&restarted), String::from_utf8_lossy(&before[0].0));
    }
}

on_both_backends! {
    async fn an_operation_changed_by_hand_is_answered_as_it_now_is(backend) {
        let db = TestDatabase::new(backend).await;
        let store = seeded(&db).await;
        let first = store.transactions(&query(1, 0)).await.unwrap_or_default();
        let Some(first) = first.first() else { panic!("no operation") };
        let changed = execute(
            &store,
            &format!(
                "UPDATE transactions SET amount_minor = 424242, remittance = 'CORRIGE' \
                 WHERE bank_code = '{BANK}' AND account_id = '{ACCOUNT}' AND seq = {}",
                first.seq
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(changed, 1);
        let (answered, _) = page(&store, &query(500, 0), "OTHR").await;
        let (columns, _) = rendered(&store, &query(500, 0), "OTHR").await;
        assert_eq!(String::from_utf8_lossy(&answered), String::from_utf8_lossy(&columns));
        let text = String::from_utf8_lossy(&answered);
        assert!(text.starts_with(&format!("{{\"resourceId\":\"{}\"", first.resource_id)), "{text}");
        assert!(text.contains("\"amount\":\"4242.42\"") && text.contains("CORRIGE"), "{text}");
        until_in_step(&store).await;
    }
}

/// SQLite reads a page from the index of pages alone (migration 0011), whatever its filters, and
/// counts over the narrow index by day.
#[tokio::test]
async fn on_sqlite_a_page_is_read_from_one_index_and_counted_on_the_narrow_one() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let store = seeded(&db).await;
    let day = |d: i16| {
        today()
            .checked_sub(jiff::Span::new().days(d))
            .map(|d| d.to_string())
            .ok()
    };
    let filtered = [
        query(500, 0),
        query(100, 450),
        TransactionQuery {
            from_day: day(90),
            ..query(500, 0)
        },
        TransactionQuery {
            from_day: day(90),
            to_day: day(10),
            ..query(100, 0)
        },
        TransactionQuery {
            after_seq: Some(10),
            ..query(500, 0)
        },
        TransactionQuery {
            after_seq: Some(10),
            upto_seq: Some(900),
            ..query(500, 0)
        },
        TransactionQuery {
            to_day: day(30),
            upto_seq: Some(900),
            ..query(500, 0)
        },
    ];
    for query in &filtered {
        let (page, count) = page_and_count_plans(&store, query)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            page,
            [format!(
                "SEARCH transactions USING COVERING INDEX transactions_page ({})",
                if query.from_day.is_some() && query.to_day.is_some() {
                    "bank_code=? AND account_id=? AND imputation_date>? AND imputation_date<?"
                } else if query.from_day.is_some() {
                    "bank_code=? AND account_id=? AND imputation_date>?"
                } else if query.to_day.is_some() {
                    "bank_code=? AND account_id=? AND imputation_date<?"
                } else {
                    "bank_code=? AND account_id=?"
                }
            )],
            "{query:?}"
        );
        assert_eq!(count.len(), 1, "{count:?}");
        assert!(
            count[0].contains("COVERING INDEX transactions_by_day"),
            "{query:?}: {count:?}"
        );
    }
    // The count is still right through the narrow index.
    let all = store
        .count_transactions(&query(500, 0))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let listed = store
        .transactions(&query(100_000, 0))
        .await
        .unwrap_or_default()
        .len();
    assert_eq!(usize::try_from(all).ok(), Some(listed));
    assert!(listed > 1_200, "{listed}");
}
