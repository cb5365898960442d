//! GET /accounts/{id}/transactions. Portal acceptance tests, "Get transactions history".

use guichet_aspsp::{BankProfile, Mode};
use guichet_store::on_both_backends;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

fn list(value: &Value) -> Vec<Value> {
    value["transactions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn day(tx: &Value) -> String {
    tx["bookingDate"]
        .as_str()
        .or_else(|| tx["expectedBookingDate"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn georges(app: &TestApp, bank: &str) -> (String, String) {
    let token = app.token(bank, "GEORGES", &["aisp"]).await;
    app.consent_all(bank, "GEORGES", &token).await;
    (
        token,
        format!("/accounts/{}/transactions", account_id(bank, "GEORGES")),
    )
}

on_both_backends! {
    // "Retrieve all the transactions linked to a PSU's account => Check the presence of
    // transactions | GEORGES" and "Get transactions list with optional field entryReference
    // empty | GEORGES".
    async fn georges_has_a_professional_history(backend) {
        let app = TestApp::spawn(backend).await;
        let (token, path) = georges(&app, BTP).await;
        let value = ok_json(app.get(BTP, &path, &token)).await;
        let txs = list(&value);
        assert!(txs.len() > 50, "{} operations", txs.len());
        assert!(txs.iter().all(|t| t["transactionAmount"]["amount"].is_string()));
        assert!(txs.iter().any(|t| t["status"] == "OTHR"), "pending operations are OTHR");
        assert!(txs.iter().any(|t| t["status"] == "BOOK"));
        assert!(txs.iter().any(|t| t.get("entryReference").is_none()), "Paylib operations not yet booked have no entryReference");
        let lengths: std::collections::BTreeSet<usize> = txs.iter().filter_map(|t| t["entryReference"].as_str().map(str::len)).collect();
        assert_eq!(lengths, [25, 30, 40].into_iter().collect());
        assert!(txs.iter().all(|t| t["bankTransactionCode"]["domain"].is_string()), "BTC for professionals");
        assert!(txs.iter().all(|t| t["remittanceInformation"]["unstructured"][0].is_string()));
        let days: Vec<String> = txs.iter().map(day).collect();
        assert!(days.windows(2).all(|w| w[0] >= w[1]), "most recent first");
        assert!(days.iter().all(|d| d.as_str() >= "2026-09-23"), "62 days for a small professional");
        assert_eq!(value["_links"]["parent-list"]["href"], "/stet/psd2/v1.4.2/accounts");
        assert!(value["_links"].get("next").is_none(), "BTP Banque does not paginate");
    }
}

on_both_backends! {
    // Retail accounts carry neither entryReference nor bank transaction codes.
    async fn retail_operations_have_no_entry_reference(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        app.consent_all(CE, "LEA", &token).await;
        let value = ok_json(app.get(CE, &format!("/accounts/{}/transactions", account_id(CE, "LEA")), &token)).await;
        let txs = list(&value);
        assert!(!txs.is_empty());
        assert!(txs.iter().all(|t| t.get("entryReference").is_none() && t.get("bankTransactionCode").is_none()));
    }
}

on_both_backends! {
    // "Retrieve transactions linked to an unknown account => HTTP code 404", "incorrect scope =
    // pisp => 403", "HTTP request using POST method => 405" (LEA).
    async fn unknown_account_wrong_scope_and_post_are_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "LEA", &["aisp"]).await;
        app.consent_all(CE, "LEA", &token).await;
        expect_error(app.get(CE, "/accounts/CPT30014684067/transactions", &token), 404, "not found").await;
        let path = format!("/accounts/{}/transactions", account_id(CE, "LEA"));
        let pisp = app.token(CE, "LEA", &["pisp"]).await;
        expect_error(app.get(CE, &path, &pisp), 403, "aisp").await;
        expect_error(app.request(Method::POST, CE, &path, &token), 405, "GET").await;
    }
}

on_both_backends! {
    // "Get transactions list with dateFrom / dateTo / dateFrom and dateTo => the filter is well
    // applied | GEORGES": dateFrom inclusive, dateTo exclusive, on the booking day; each of the
    // portal's three formats.
    async fn date_filters_are_applied_on_the_booking_day(backend) {
        let app = TestApp::spawn(backend).await;
        let (token, path) = georges(&app, CE).await;
        let from = ok_json(app.get(CE, &format!("{path}?dateFrom=2026-11-01T00:00:00.000"), &token)).await;
        let from_days: Vec<String> = list(&from).iter().map(day).collect();
        assert!(!from_days.is_empty() && from_days.iter().all(|d| d.as_str() >= "2026-11-01"));
        assert!(from_days.iter().any(|d| d == "2026-11-02"));
        let to = ok_json(app.get(CE, &format!("{path}?dateTo=2026-11-01T00:00:00.000Z"), &token)).await;
        let to_days: Vec<String> = list(&to).iter().map(day).collect();
        assert!(!to_days.is_empty() && to_days.iter().all(|d| d.as_str() < "2026-11-01"), "dateTo is exclusive");
        for (from, to) in [
            ("2026-10-10T00:00:00.000+0100", "2026-10-20T00:00:00.000+0100"),
            ("2026-10-10T00:00:00.000+02:00", "2026-10-20T00:00:00.000%2B02:00"),
        ] {
            let both = ok_json(app.get(CE, &format!("{path}?dateFrom={from}&dateTo={to}"), &token)).await;
            let days: Vec<String> = list(&both).iter().map(day).collect();
            assert!(!days.is_empty());
            assert!(days.iter().all(|d| d.as_str() >= "2026-10-10" && d.as_str() < "2026-10-20"), "{days:?}");
            assert!(days.contains(&"2026-10-19".to_owned()) || days.contains(&"2026-10-16".to_owned()));
        }
    }
}

on_both_backends! {
    // "Request with dateFrom parameter older than 62 days => HTTP code 400 – Period out of
    // bound expected | LEA" and "Request with an invalid dateFrom or dateTo => 400 | GEORGES".
    async fn out_of_bound_and_malformed_dates_are_400(backend) {
        let app = TestApp::spawn(backend).await;
        let lea = app.token(CE, "LEA", &["aisp"]).await;
        app.consent_all(CE, "LEA", &lea).await;
        let lea_path = format!("/accounts/{}/transactions", account_id(CE, "LEA"));
        expect_error(app.get(CE, &format!("{lea_path}?dateFrom=2026-09-01T00:00:00.000Z"), &lea), 400, "period out of bound").await;
        ok_json(app.get(CE, &format!("{lea_path}?dateFrom=2026-09-23T00:00:00.000"), &lea)).await;
        let (token, path) = georges(&app, CE).await;
        for bad in ["2026-11-01", "2026-11-01T00:00:00Z", "01/11/2026", "2026-13-01T00:00:00.000", "yesterday"] {
            expect_error(app.get(CE, &format!("{path}?dateFrom={bad}"), &token), 400, "dateFrom").await;
            expect_error(app.get(CE, &format!("{path}?dateTo={bad}"), &token), 400, "dateTo").await;
        }
        expect_error(app.get(CE, &format!("{path}?dateFrom=2026-11-10T00:00:00.000&dateTo=2026-11-01T00:00:00.000"), &token), 400, "before").await;
        expect_error(app.get(CE, &format!("{path}?from=2026-11-10T00:00:00.000"), &token), 400, "unknown query parameter").await;
    }
}

on_both_backends! {
    // "Get no transactions present in the list => HTTP code 204 | CLAIRE
    // FR7617515900000400358074026"
    async fn an_account_without_operations_answers_204(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(CE, "CLAIRE", &["aisp"]).await;
        app.consent_all(CE, "CLAIRE", &token).await;
        let response = send(app.get(CE, "/accounts/CPT04003580740/transactions", &token)).await;
        assert_eq!(response.status().as_u16(), 204);
        assert!(response.headers().get("x-request-id").is_some());
        assert_eq!(response.text().await.unwrap_or_default(), "");
    }
}

on_both_backends! {
    // Portal, Limits: "90-day period max for large professionals & corporates, limited to 500
    // operations, no paginations"; small professionals get 62 days.
    async fn btp_corporates_get_90_days_capped_at_500_operations(backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.token(BTP, "ATLAS", &["aisp"]).await;
        app.consent_all(BTP, "ATLAS", &token).await;
        let path = format!("/accounts/{}/transactions", account_id(BTP, "ATLAS"));
        // The page is sent in parts (opening, operations, links): read from the database,
        // then from memory, each time with its length announced, not chunked, the same bytes.
        let hits = || app.state().store.page_cache_stats().hits;
        let mut pages = Vec::new();
        for read in 0..3 {
            let before = hits();
            let response = send(app.get(BTP, &path, &token)).await;
            assert_eq!(response.status(), 200);
            assert!(response.headers().get("transfer-encoding").is_none());
            let announced = response.content_length();
            let bytes = response.bytes().await.unwrap_or_default();
            assert_eq!(announced, u64::try_from(bytes.len()).ok());
            assert_eq!(hits() - before, u64::from(read > 0), "read {read} from memory");
            pages.push(bytes);
        }
        assert!(pages[1..].iter().all(|page| *page == pages[0]));
        let value: serde_json::Value = serde_json::from_slice(&pages[0]).unwrap_or_default();
        assert_eq!(list(&value).len(), 500);
        assert!(value["_links"].get("next").is_none());
        ok_json(app.get(BTP, &format!("{path}?dateFrom=2026-08-27T00:00:00.000"), &token)).await;
        expect_error(app.get(BTP, &format!("{path}?dateFrom=2026-08-25T00:00:00.000"), &token), 400, "90 days").await;
        expect_error(app.get(BTP, &format!("{path}?page=2"), &token), 400, "paginate").await;
        let (georges, georges_path) = georges(&app, BTP).await;
        expect_error(app.get(BTP, &format!("{georges_path}?dateFrom=2026-09-01T00:00:00.000"), &georges), 400, "62 days").await;
    }
}

on_both_backends! {
    // BTP Banque refuses the entryReference filters; Caisse d'Epargne's sandbox profile applies
    // them as STET defines them: greater than entryReferenceFrom, up to entryReferenceto.
    async fn entry_reference_filters_follow_the_profile(backend) {
        let app = TestApp::spawn(backend).await;
        let (btp, btp_path) = georges(&app, BTP).await;
        for name in ["entryReferenceFrom", "entryReferenceto", "entryReferenceTo", "afterEntryReference"] {
            expect_error(app.get(BTP, &format!("{btp_path}?{name}=X"), &btp), 400, "does not support entryReference").await;
        }
        let (token, path) = georges(&app, CE).await;
        let all = list(&ok_json(app.get(CE, &format!("{path}?dateFrom=2026-11-01T00:00:00.000"), &token)).await);
        let references: Vec<String> = all.iter().filter_map(|t| t["entryReference"].as_str().map(str::to_owned)).collect();
        let pivot = &references[references.len() / 2];
        let after = list(&ok_json(app.get(CE, &format!("{path}?dateFrom=2026-11-01T00:00:00.000&entryReferenceFrom={pivot}"), &token)).await);
        let upto = list(&ok_json(app.get(CE, &format!("{path}?dateFrom=2026-11-01T00:00:00.000&entryReferenceto={pivot}"), &token)).await);
        assert_eq!(after.len() + upto.len(), all.len(), "the two filters split the history at the pivot");
        assert!(upto.iter().any(|t| t["entryReference"] == pivot.as_str()), "entryReferenceto is inclusive");
        assert!(after.iter().all(|t| t["entryReference"] != pivot.as_str()), "entryReferenceFrom is exclusive");
        expect_error(app.get(CE, &format!("{path}?entryReferenceFrom=NOPE"), &token), 400, "not the entryReference").await;
    }
}

on_both_backends! {
    // Where the profile paginates, first/prev/next/last links walk the whole history once.
    async fn pages_are_linked_and_cover_the_history_once(backend) {
        let app = TestApp::spawn(backend).await;
        let (token, path) = georges(&app, CE).await;
        let first = ok_json(app.get(CE, &path, &token)).await;
        assert_eq!(list(&first).len(), 100);
        let mut seen: Vec<String> = list(&first).iter().filter_map(|t| t["resourceId"].as_str().map(str::to_owned)).collect();
        let last = first["_links"]["last"]["href"].as_str().unwrap_or_default().to_owned();
        assert!(last.contains("page="), "{last}");
        let mut next = first["_links"]["next"]["href"].as_str().map(str::to_owned);
        let mut pages = 1;
        while let Some(href) = next {
            assert!(href.len() <= 140);
            let relative = href.trim_start_matches("/stet/psd2/v1.4.2");
            let page = ok_json(app.get(CE, relative, &token)).await;
            assert!(page["_links"]["prev"].is_object());
            seen.extend(list(&page).iter().filter_map(|t| t["resourceId"].as_str().map(str::to_owned)));
            next = page["_links"]["next"]["href"].as_str().map(str::to_owned);
            pages += 1;
            assert!(pages < 20);
        }
        assert!(pages > 1);
        let unique: std::collections::HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no operation on two pages");
        let beyond = send(app.get(CE, &format!("{path}?page=99"), &token)).await;
        assert_eq!(beyond.status().as_u16(), 204);
    }
}

on_both_backends! {
    // A bank whose profile reports pending operations as PDNG.
    async fn a_profile_may_report_pending_operations_as_pdng(backend) {
        let mut btp = BankProfile::btp_banque();
        btp.pending_status = "PDNG".into();
        let app = TestApp::spawn_with(backend, vec![btp], Mode::Sandbox).await;
        let (token, path) = georges(&app, BTP).await;
        let statuses: std::collections::BTreeSet<String> =
            list(&ok_json(app.get(BTP, &path, &token)).await).iter().filter_map(|t| t["status"].as_str().map(str::to_owned)).collect();
        assert_eq!(statuses, ["BOOK", "PDNG"].into_iter().map(str::to_owned).collect());
    }
}

on_both_backends! {
    // An operation keeps its entryReference when it goes from OTHR to BOOK (portal).
    async fn pending_operations_are_booked_the_next_days_with_the_same_reference(backend) {
        let mut app = TestApp::spawn(backend).await;
        let (token, path) = georges(&app, CE).await;
        let before = list(&ok_json(app.get(CE, &format!("{path}?dateFrom=2026-11-20T00:00:00.000"), &token)).await);
        let pending: Vec<Value> = before.iter().filter(|t| t["status"] == "OTHR" && t["entryReference"].is_string()).cloned().collect();
        assert!(!pending.is_empty());
        app.clock.advance(jiff::SignedDuration::from_hours(72));
        app.restart().await;
        let token = app.token(CE, "GEORGES", &["aisp"]).await;
        let after = list(&ok_json(app.get(CE, &format!("{path}?dateFrom=2026-11-20T00:00:00.000"), &token)).await);
        for op in pending {
            let booked = after.iter().find(|t| t["resourceId"] == op["resourceId"]).cloned().unwrap_or_default();
            assert_eq!(booked["status"], "BOOK");
            assert_eq!(booked["entryReference"], op["entryReference"]);
        }
    }
}

on_both_backends! {
    /// A store of an earlier version, whose operations have no JSON kept: the server writes it
    /// behind its start, without holding the start up.
    async fn the_server_gives_a_store_of_an_earlier_version_its_operations_json(backend) {
        let mut app = TestApp::spawn(backend).await;
        let store = app.state().store.clone();
        let forgotten = guichet_store::testing::forget_operation_json(&store, None, None).await;
        assert!(forgotten.is_ok_and(|n| n > 1_000), "the sandbox's operations");
        app.restart().await;
        let store = app.state().store.clone();
        // A minute: the check reads every operation, and on a loaded machine (the whole
        // suite on two cores) each check and the fill's batches take long.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if guichet_store::testing::stale_operation_json(&store)
                .await
                .is_ok_and(|stale| stale.is_empty())
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let stale = guichet_store::testing::stale_operation_json(&store).await.map(|s| s.len());
        panic!("not given their JSON a minute after the start: {stale:?} operations left");
    }
}

on_both_backends! {
    /// A page kept in memory answers again until the account's operations change, whichever
    /// process changes them: an operator's UPDATE, DELETE and INSERT through another
    /// connection each show at the next request. (That a kept page answers only its own query
    /// is shown by the tests above, which read one account's pages by date, by
    /// entryReference and by page number with the pages kept, the servers' default.)
    async fn a_kept_page_follows_every_write_to_its_account_from_any_instance(backend) {
        let app = TestApp::spawn(backend).await;
        let (token, path) = georges(&app, CE).await;
        let account = account_id(CE, "GEORGES");
        let page = || async { ok_json(app.get(CE, &path, &token)).await };
        let stats = || app.state().store.page_cache_stats();
        let first = page().await;
        let read = stats();
        assert_eq!(page().await, first);
        assert_eq!(stats().hits, read.hits + 1, "the second page is the kept one");
        assert_eq!(stats().misses, read.misses);

        let other_instance = match guichet_store::Store::connect(&app.db.url, 1).await {
            Ok(store) => store,
            Err(e) => panic!("{e}"),
        };
        let latest = format!(
            "(SELECT seq FROM transactions WHERE bank_code = '{CE}' AND account_id = '{account}' \
             ORDER BY imputation_date DESC, seq DESC LIMIT 1)"
        );
        let write = |sql: String| {
            let other_instance = &other_instance;
            async move {
                let changed = guichet_store::testing::execute(other_instance, &sql).await;
                assert!(matches!(changed, Ok(1)), "{sql}: {changed:?}");
            }
        };
        let remittances = |value: &Value| -> Vec<String> {
            list(value).iter().map(|t| t["remittanceInformation"]["unstructured"][0].as_str().unwrap_or_default().to_owned()).collect()
        };

        write(format!("UPDATE transactions SET remittance = 'CHANGED ELSEWHERE' WHERE bank_code = '{CE}' AND account_id = '{account}' AND seq = {latest}")).await;
        let updated = page().await;
        assert_eq!(remittances(&updated)[0], "CHANGED ELSEWHERE");
        assert_eq!(list(&updated).len(), list(&first).len());

        write(format!("DELETE FROM transactions WHERE bank_code = '{CE}' AND account_id = '{account}' AND seq = {latest}")).await;
        let deleted = page().await;
        let gone = &list(&updated)[0]["resourceId"];
        assert!(list(&deleted).iter().all(|t| &t["resourceId"] != gone), "{gone} deleted");
        assert!(!remittances(&deleted).contains(&"CHANGED ELSEWHERE".to_owned()));

        write(format!(
            "INSERT INTO transactions (bank_code, account_id, seq, resource_id, amount_minor, currency, \
             credit_debit, status, imputation_date, remittance) VALUES ('{CE}', '{account}', \
             (SELECT max(seq) + 1 FROM transactions), 'INSERTED-ELSEWHERE', 1234, 'EUR', 'CRDT', 'BOOK', \
             (SELECT max(imputation_date) FROM transactions WHERE bank_code = '{CE}' AND account_id = '{account}'), \
             'INSERTED ELSEWHERE')"
        )).await;
        let inserted = page().await;
        assert_eq!(list(&inserted)[0]["resourceId"], "INSERTED-ELSEWHERE");
        assert_eq!(list(&inserted)[0]["transactionAmount"]["amount"], "12.34");
        assert_eq!(stats().misses, read.misses + 3, "each write made the next page a read");
        // Rows written without their JSON were answered from their columns, not kept, and
        // given their JSON behind the answer: a write too, after which the page is kept again.
        let store = app.state().store.clone();
        let mut filled = false;
        for _ in 0..200 {
            if guichet_store::testing::stale_operation_json(&store).await.is_ok_and(|stale| stale.is_empty()) {
                filled = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(filled, "the rows' JSON not written 10 s after their pages");
        assert_eq!(page().await, inserted);
        let hits = stats().hits;
        assert_eq!(page().await, inserted);
        assert_eq!(stats().hits, hits + 1, "that page is kept in its turn");

        // An operation moved to another account leaves the one's kept page and enters the
        // other's (both accounts' stamps move).
        let claire_token = app.token(CE, "CLAIRE", &["aisp"]).await;
        app.consent_all(CE, "CLAIRE", &claire_token).await;
        let claire = account_id(CE, "CLAIRE");
        let claire_path = format!("/accounts/{claire}/transactions");
        let claire_page = || async {
            let response = send(app.get(CE, &claire_path, &claire_token)).await;
            if response.status().as_u16() == 204 {
                return Vec::new();
            }
            list(&response.json::<Value>().await.unwrap_or_default())
        };
        let before = claire_page().await;
        assert_eq!(claire_page().await, before, "CLAIRE's page kept");
        write(format!("UPDATE transactions SET account_id = '{claire}' WHERE resource_id = 'INSERTED-ELSEWHERE'")).await;
        assert!(list(&page().await).iter().all(|t| t["resourceId"] != "INSERTED-ELSEWHERE"));
        let after = claire_page().await;
        assert!(after.iter().any(|t| t["resourceId"] == "INSERTED-ELSEWHERE"), "{after:?}");
        assert_eq!(after.len(), before.len() + 1);
        other_instance.close().await;
    }
}
