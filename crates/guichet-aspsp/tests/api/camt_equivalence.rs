//! Issue #12, "the two paths are one": the sandbox's data set written as a core banking
//! system's files (`guichet sandbox export-camt`: the customer file, a camt.053 and a camt.052
//! per bank) and imported into an empty production store gives every persona of both sandbox
//! banks the same API answers as the sandbox: the accounts, each account's balances, every page
//! of its transactions (resourceId, entryReference, status, dates, amounts, remittance, bank
//! transaction codes, order, links) and the PSU's identity.
//!
//! Nothing is removed before comparing: the `_links` are absolute paths without an origin (the
//! two servers listen on different ports), and both servers run on the same hand-moved clock.
//! Trusted beneficiaries are not compared: a customer file does not carry them.

use guichet_aspsp::{BankProfile, Mode};
use guichet_store::import::{BankChoice, CustomerFile};
use guichet_store::sandbox::personas::PERSONAS;
use guichet_store::{NewToken, TokenKind, new_family_id, on_both_backends};
use serde_json::Value;

use crate::helpers::*;

/// Every token's scopes: with the extended history where the bank offers it (Caisse
/// d'Epargne: 400 days), the whole history the sandbox keeps.
const SCOPES: [&str; 2] = ["aisp", "extended_transaction_history"];

/// One answer: the path asked, the status and the body (`null` when empty).
type Answer = (String, u16, Value);

async fn answer(app: &TestApp, bank: &str, path: &str, token: &str) -> Answer {
    let response = send(app.get(bank, path, token)).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
    };
    (path.to_owned(), status, value)
}

/// What a TPP reads of a persona after a consent to all its accounts.
async fn answers(app: &TestApp, bank: &str, persona: &str, token: &str) -> Vec<Answer> {
    app.consent_all(bank, persona, token).await;
    let mut out = vec![answer(app, bank, "/accounts", token).await];
    for (_, id) in accounts_of(bank, persona) {
        out.push(answer(app, bank, &format!("/accounts/{id}/balances"), token).await);
        let mut next = Some(format!("/accounts/{id}/transactions"));
        while let Some(path) = next.take() {
            let page = answer(app, bank, &path, token).await;
            next = page.2["_links"]["next"]["href"]
                .as_str()
                .map(|href| href.trim_start_matches("/stet/psd2/v1.4.2").to_owned());
            out.push(page);
            assert!(out.len() < 200, "{bank} {persona}: pages without end");
        }
    }
    out.push(answer(app, bank, "/end-user-identity", token).await);
    out
}

/// An access token of a production store's PSU for the demo TPP, as the bank's own SCA leaves
/// it (sandbox tokens are minted only in sandbox mode). The PSU logs in with its customer
/// file's `login`, here the persona's name.
async fn production_token(app: &TestApp, bank: &str, persona: &str) -> String {
    let store = &app.state().store;
    let psu = store
        .find_psu(bank, persona)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("{persona} is not a customer of {bank} after the import"));
    let now = app.clock_now();
    let token = NewToken {
        kind: TokenKind::Access,
        family_id: new_family_id().unwrap_or_else(|e| panic!("{e}")),
        bank_code: bank.to_owned(),
        client_id: app.tpp.qwac.org_id.as_str().to_owned(),
        psu_id: Some(psu.psu_id),
        scopes: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        issued_at: now,
        expires_at: now + 900,
        sca_at: Some(now),
        cert_thumbprint: Some(app.tpp.qwac.sha256.clone()),
    };
    match store.issue_token(&token).await {
        Ok(secret) => secret.expose().to_owned(),
        Err(e) => panic!("a token for {persona}: {e}"),
    }
}

/// The sandbox's files, as `guichet sandbox export-camt` writes them, imported as `guichet
/// import customers` and `guichet import` do. The files are made at the instant the sandbox
/// wrote its data set (the clock has not moved since): the import dates the balances' last
/// change by the file's creation time.
async fn feed(production: &TestApp, sandbox: &TestApp) {
    let store = &production.state().store;
    for profile in BankProfile::sandbox_banks() {
        let bank = profile.code.as_str();
        let files = sandbox
            .state()
            .store
            .export_camt(bank, NOW, &profile.bic)
            .await
            .unwrap_or_else(|e| panic!("exporting {bank}: {e}"));
        let customers = CustomerFile::parse(&files.customers).unwrap_or_else(|e| panic!("{e}"));
        store
            .import_customers(bank, &customers)
            .await
            .unwrap_or_else(|e| panic!("customers of {bank}: {e}"));
        // The end-of-day statement, then the intraday report of the operations not yet booked.
        for xml in [&files.statement, &files.report] {
            store
                .import_statement(xml.as_bytes(), BankChoice::Given(bank))
                .await
                .unwrap_or_else(|e| panic!("statements of {bank}: {e}"));
        }
    }
}

/// Where two JSON values first differ, as a JSON pointer with both sides.
fn first_difference(ours: &Value, theirs: &Value, at: &str) -> Option<String> {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|key| {
                let here = format!("{at}/{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => first_difference(x, y, &here),
                    (x, y) => Some(format!("{here}: imported {x:?}, sandbox {y:?}")),
                }
            })
        }
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{at}/{i}")))
            .or_else(|| {
                (a.len() != b.len()).then(|| {
                    format!(
                        "{at}: {} items imported, {} in the sandbox",
                        a.len(),
                        b.len()
                    )
                })
            }),
        _ => (ours != theirs).then(|| format!("{at}: imported {ours}, sandbox {theirs}")),
    }
}

on_both_backends! {
    async fn the_sandbox_exported_as_camt_answers_the_same_in_production(backend) {
        let sandbox = TestApp::spawn(backend).await;
        let production = TestApp::spawn_with(backend, BankProfile::sandbox_banks(), Mode::Production).await;
        assert!(production.state().store.psus(CE).await.unwrap_or_default().is_empty(), "an empty store");
        feed(&production, &sandbox).await;
        let (mut pages, mut operations, mut without_reference, mut structured) = (0, 0, 0, 0);
        for persona in PERSONAS.iter() {
            let (bank, name) = (persona.bank_code, persona.persona);
            let theirs = answers(&sandbox, bank, name, &sandbox.token(bank, name, &SCOPES).await).await;
            let ours = answers(&production, bank, name, &production_token(&production, bank, name).await).await;
            let asked = |list: &[Answer]| list.iter().map(|(path, _, _)| path.clone()).collect::<Vec<_>>();
            assert_eq!(asked(ours.as_slice()), asked(theirs.as_slice()), "{bank} {name}: not the same pages");
            for ((path, status, body), (_, sandbox_status, sandbox_body)) in ours.iter().zip(&theirs) {
                assert_eq!(status, sandbox_status, "{bank} {name} {path}: {body}");
                if let Some(difference) = first_difference(body, sandbox_body, "") {
                    panic!("{bank} {name} {path}: {difference}");
                }
                for tx in body["transactions"].as_array().into_iter().flatten() {
                    operations += 1;
                    without_reference += usize::from(tx.get("entryReference").is_none());
                    structured += usize::from(tx["remittanceInformation"]["structured"].is_array());
                }
                pages += usize::from(body["transactions"].is_array());
            }
        }
        // Not a comparison of nothing: the data set's variety went through the files.
        assert!(pages > 10 && operations > 1000, "{pages} pages, {operations} operations");
        assert!(without_reference > 0, "operations without entryReference (retail, Paylib not yet booked)");
        assert!(structured > 0, "operations with a structured remittance");
    }
}
