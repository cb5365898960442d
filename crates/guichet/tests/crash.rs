//! Issue #9: `kill -9` in the middle of consent, token and registration writes, many times.
//! After each crash, nothing is half-written (a consent is one of those sent, whole; a
//! registration has its QSealC) and nothing acknowledged is lost (every token the bank
//! answered exists; the last acknowledged consent and registration are there, unless a later
//! one, in flight at the crash, replaced them).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{identity, mint, start};
use guichet_store::testing::TestDatabase;
use guichet_store::{Backend, DatabaseUrl, Store, TokenKind, TokenSecret};
use guichet_tpp::TppIdentity;
use serde_json::json;

const CLIENT: &str = "PSDFR-ACPR-12345";
const CLAIRE: &str = "D0999991I0";
const CLAIRE_IBANS: [&str; 2] = ["FR7617515900000400358074026", "FR7617515900000800358074006"];
const ROUNDS: usize = 8;

/// What the writers sent, and what the bank acknowledged, in order.
#[derive(Default)]
struct Journal {
    /// Consents: the variant sent (0 or 1) and whether it was acknowledged.
    consents: Vec<(usize, bool)>,
    /// Registrations: the name sent and whether it was acknowledged.
    registrations: Vec<(String, bool)>,
    /// Access tokens the bank answered.
    tokens: Vec<String>,
}

/// Two consents that differ in every part: a mixture of them is a half-written record.
fn consent_body(variant: usize) -> serde_json::Value {
    let all: Vec<_> = CLAIRE_IBANS
        .iter()
        .map(|iban| json!({ "iban": iban }))
        .collect();
    if variant == 0 {
        json!({"balances": all, "transactions": [], "psuIdentity": true, "trustedBeneficiaries": false})
    } else {
        json!({"balances": [], "transactions": [all[1]], "psuIdentity": false, "trustedBeneficiaries": true})
    }
}

/// The shape of a stored consent: (balances, transactions, psuIdentity, trustedBeneficiaries).
fn shape(variant: usize) -> (usize, usize, bool, bool) {
    if variant == 0 {
        (2, 0, true, false)
    } else {
        (0, 1, false, true)
    }
}

async fn signed(
    client: &reqwest::Client,
    tpp: &TppIdentity,
    request: reqwest::RequestBuilder,
) -> Option<reqwest::Response> {
    let mut request = request.build().ok()?;
    guichet_tpp::sign_request(&mut request, &tpp.signer).ok()?;
    client.execute(request).await.ok()
}

/// Writes until the server is gone; every write is recorded before it is sent.
async fn write_consents(
    client: reqwest::Client,
    tpp: TppIdentity,
    base: String,
    token: String,
    journal: Arc<Mutex<Journal>>,
) {
    for i in 0.. {
        let variant = i % 2;
        let index = {
            let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
            journal.consents.push((variant, false));
            journal.consents.len() - 1
        };
        let request = client
            .put(format!("{base}/consents"))
            .bearer_auth(&token)
            .header("X-Request-ID", format!("consent-{i}"))
            .header("PSU-IP-Address", "192.0.2.1")
            .json(&consent_body(variant));
        match signed(&client, &tpp, request).await {
            Some(response) if response.status().is_success() => {
                journal.lock().unwrap_or_else(|p| p.into_inner()).consents[index].1 = true;
            }
            Some(response) => panic!("consent refused: {}", response.status()),
            None => return,
        }
    }
}

async fn write_tokens(client: reqwest::Client, origin: String, journal: Arc<Mutex<Journal>>) {
    for i in 0.. {
        let answer = client
            .post(format!("{origin}/stet/psd2/oauth/token"))
            .header("X-Request-ID", format!("token-{i}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&scope=cbpii&client_id={CLIENT}"
            ))
            .send()
            .await;
        let Ok(answer) = answer else { return };
        let Ok(body) = answer.json::<serde_json::Value>().await else {
            return;
        };
        let Some(token) = body["access_token"].as_str() else {
            panic!("token refused: {body}")
        };
        journal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tokens
            .push(token.to_owned());
    }
}

async fn write_registrations(
    client: reqwest::Client,
    origin: String,
    qseal: String,
    round: usize,
    journal: Arc<Mutex<Journal>>,
) {
    for i in 0.. {
        let name = format!("Demo TPP round {round} write {i}");
        let index = {
            let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
            journal.registrations.push((name.clone(), false));
            journal.registrations.len() - 1
        };
        let body = json!({
            "client_name": name,
            "contacts": ["ops@tpp.example"],
            "redirect_uris": ["http://127.0.0.1:8765/callback"],
            "qseal_certificates": [qseal],
        });
        let answer = client
            .post(format!("{origin}/register"))
            .header("X-Request-ID", format!("register-{i}"))
            .json(&body)
            .send()
            .await;
        match answer {
            Ok(response) if response.status().is_success() => {
                journal
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .registrations[index]
                    .1 = true;
            }
            Ok(response) => panic!("registration refused: {}", response.status()),
            Err(_) => return,
        }
    }
}

/// The last acknowledged write, and the one after it (in flight at the crash), if any.
fn acceptable<T: Clone>(writes: &[(T, bool)]) -> Vec<T> {
    let last_acked = writes.iter().rposition(|(_, acked)| *acked);
    let from = last_acked.unwrap_or(0);
    writes
        .iter()
        .skip(from)
        .take(2)
        .map(|(value, _)| value.clone())
        .collect()
}

async fn check(url: &DatabaseUrl, journal: &Journal, round: usize) {
    let store = Store::connect(url, 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for token in &journal.tokens {
        let found = store
            .find_token(
                &TokenSecret::from_presented(token),
                TokenKind::Access,
                "17515",
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            found.is_some(),
            "round {round}: an acknowledged token was lost"
        );
    }
    let consent = store
        .consent("17515", CLAIRE, CLIENT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let consents: Vec<usize> = acceptable(&journal.consents);
    if let Some(consent) = consent {
        let stored = (
            consent.balances.len(),
            consent.transactions.len(),
            consent.psu_identity,
            consent.trusted_beneficiaries,
        );
        assert!(
            consents.iter().any(|variant| shape(*variant) == stored),
            "round {round}: the stored consent {stored:?} is none of {:?}",
            consents.iter().map(|v| shape(*v)).collect::<Vec<_>>()
        );
    } else {
        assert!(
            journal.consents.iter().all(|(_, acked)| !acked),
            "round {round}: an acknowledged consent was lost"
        );
    }
    let tpp = store.tpp(CLIENT).await.unwrap_or_else(|e| panic!("{e}"));
    let Some(tpp) = tpp else {
        panic!("round {round}: the demo TPP's registration is gone")
    };
    if !journal.registrations.is_empty() && journal.registrations.iter().any(|(_, acked)| *acked) {
        let names = acceptable(&journal.registrations);
        assert!(
            names.contains(&tpp.name),
            "round {round}: registration {:?} is none of {names:?}",
            tpp.name
        );
    }
    assert!(
        !store.qseals(CLIENT).await.unwrap_or_default().is_empty(),
        "round {round}: the registration lost its QSealC"
    );
    store.close().await;
}

async fn crash_repeatedly(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let url = db.url.expose().to_owned();
    let dir =
        std::env::temp_dir().join(format!("guichet-crash-{}-{backend:?}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut acknowledged = (0, 0, 0);
    for round in 0..ROUNDS {
        let mut server = start(&dir, &url, &dir.join(format!("serve-{round}.log")));
        let (tpp, ca) = identity(&dir);
        let client = tpp.http_client(&ca).unwrap_or_else(|e| panic!("{e}"));
        let token = mint(&dir, &url, "CLAIRE");
        let base = server.api("17515");
        let origin = base.trim_end_matches(guichet_stet_base()).to_owned();
        let qseal =
            std::fs::read_to_string(dir.join("pki/tpps/demo/qseal.pem")).unwrap_or_default();
        let journal = Arc::new(Mutex::new(Journal::default()));
        let writers = [
            tokio::spawn(write_consents(
                client.clone(),
                tpp.clone(),
                base.clone(),
                token,
                journal.clone(),
            )),
            tokio::spawn(write_tokens(
                client.clone(),
                origin.clone(),
                journal.clone(),
            )),
            tokio::spawn(write_registrations(
                client.clone(),
                origin,
                qseal,
                round,
                journal.clone(),
            )),
        ];
        // A different moment in every round.
        tokio::time::sleep(Duration::from_millis(150 + 97 * round as u64)).await;
        let _ = server.child.kill();
        let _ = server.child.wait();
        for writer in writers {
            if let Err(e) = writer.await {
                panic!("writer: {e}");
            }
        }
        drop(server);
        let journal = std::mem::take(&mut *journal.lock().unwrap_or_else(|p| p.into_inner()));
        check(&db.url, &journal, round).await;
        acknowledged.0 += journal.consents.iter().filter(|(_, acked)| *acked).count();
        acknowledged.1 += journal.tokens.len();
        acknowledged.2 += journal
            .registrations
            .iter()
            .filter(|(_, acked)| *acked)
            .count();
    }
    // The crashes hit writers that were writing.
    assert!(
        acknowledged.0 > 0 && acknowledged.1 > 0 && acknowledged.2 > 0,
        "acknowledged (consents, tokens, registrations): {acknowledged:?}"
    );
    println!(
        "kill -9 × {ROUNDS}: acknowledged (consents, tokens, registrations) {acknowledged:?}, none lost"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn guichet_stet_base() -> &'static str {
    "/stet/psd2/v1.4.2"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_writes_leaves_nothing_half_written_on_sqlite() {
    crash_repeatedly(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_writes_leaves_nothing_half_written_on_postgres() {
    crash_repeatedly(Backend::Postgres).await;
}
