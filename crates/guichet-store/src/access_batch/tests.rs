//! Token reads in batches against a real PostgreSQL: each request gets what a query of its own
//! finds, however many share the query.

use futures_util::FutureExt;
use futures_util::future::join_all;

use super::*;
use crate::testing::{TestDatabase, execute};
use crate::tokens::{NewToken, TokenKind, TokenSecret, new_family_id};
use crate::{Backend, ConsentRecord};

const CLIENT: &str = "PSDFR-ACPR-12345";
const SEAL: &str = "registered-seal";
/// Another TPP, with a QSealC of its own registered: a read is checked against the QSealCs of
/// the client that presents the token, not of the client the token was issued to.
const OTHER_CLIENT: &str = "PSDFR-ACPR-99999";
const OTHER_SEAL: &str = "other-registered-seal";

async fn seeded() -> (Store, TestDatabase) {
    let db = TestDatabase::new(Backend::Postgres).await;
    let store = Store::connect(&db.url, 8)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .seed_sandbox(&["17515", "30258"], jiff::civil::date(2026, 12, 7), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let registered = format!(
        "INSERT INTO tpp_qseals (client_id, sha256, sha1, serial, issuer, not_after, pem) \
         VALUES ('{CLIENT}', '{SEAL}', 's', '1', 'CN=x', 0, ''), \
                ('{OTHER_CLIENT}', '{OTHER_SEAL}', 's', '2', 'CN=y', 0, '')"
    );
    execute(&store, &registered)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (store, db)
}

/// An access token for every PSU of both banks, a consent for every other one, and a revoked
/// token for the first: (bank, PSU, token, one of its accounts).
async fn tokens(store: &Store) -> Vec<(String, String, TokenSecret, String)> {
    let mut made = Vec::new();
    for bank in ["17515", "30258"] {
        let psus = store.psus(bank).await.unwrap_or_else(|e| panic!("{e}"));
        for (i, psu) in psus.iter().enumerate() {
            let accounts = store
                .psu_accounts(bank, &psu.psu_id)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let Some(first) = accounts.first() else {
                continue;
            };
            let token = NewToken {
                kind: TokenKind::Access,
                family_id: new_family_id().unwrap_or_default(),
                bank_code: bank.into(),
                client_id: CLIENT.into(),
                psu_id: Some(psu.psu_id.clone()),
                scopes: vec!["aisp".into()],
                issued_at: 0,
                expires_at: 10_000,
                sca_at: Some(0),
                cert_thumbprint: Some(format!("thumb-{bank}-{i}")),
            };
            let secret = store
                .issue_token(&token)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if i % 2 == 0 {
                let mut consent = ConsentRecord {
                    psu_identity: true,
                    updated_at: 5,
                    ..ConsentRecord::default()
                };
                for account in &accounts {
                    consent.balances.insert(account.resource_id.clone());
                }
                consent.transactions.insert(first.resource_id.clone());
                store
                    .replace_consent(bank, &psu.psu_id, CLIENT, &consent)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            made.push((
                bank.to_owned(),
                psu.psu_id.clone(),
                secret,
                first.resource_id.clone(),
            ));
        }
    }
    assert!(made.len() >= 6, "the sandbox's PSUs: {}", made.len());
    if let Some((_, _, secret, _)) = made.first() {
        let revoked = format!(
            "UPDATE tokens SET revoked_at = 3 WHERE token_hash = '{}'",
            secret.hash()
        );
        execute(store, &revoked)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    made
}

/// Every kind of read: all the accounts with the registered QSealC, one account with another
/// QSealC, the token asked at the other bank, and unknown tokens.
fn asks(
    made: &[(String, String, TokenSecret, String)],
    unknown: &[TokenSecret],
) -> Vec<AccessAsked> {
    let by = |client: &str, secret: &TokenSecret, bank: &str, seal: &str, accounts| AccessAsked {
        token_hash: secret.hash(),
        kind: TokenKind::Access.as_str(),
        bank_code: bank.to_owned(),
        client_id: client.to_owned(),
        qseal_sha256: seal.to_owned(),
        balance_type: "CLBD".to_owned(),
        accounts,
    };
    let ask = |secret: &TokenSecret, bank: &str, seal: &str, accounts| {
        by(CLIENT, secret, bank, seal, accounts)
    };
    let mut asks = Vec::new();
    for (bank, _, secret, account) in made {
        let other_bank = if bank == "17515" { "30258" } else { "17515" };
        asks.push(ask(secret, bank, SEAL, Accounts::All));
        asks.push(ask(
            secret,
            bank,
            "another-seal",
            Accounts::One(account.clone()),
        ));
        asks.push(ask(secret, bank, SEAL, Accounts::One(String::new())));
        asks.push(ask(secret, other_bank, SEAL, Accounts::All));
        asks.push(ask(secret, bank, SEAL, Accounts::None));
        asks.push(ask(secret, bank, "another-seal", Accounts::None));
        // Presented by another client: its own QSealC is registered to it, the token's
        // client's is not.
        asks.push(by(OTHER_CLIENT, secret, bank, OTHER_SEAL, Accounts::All));
        asks.push(by(OTHER_CLIENT, secret, bank, SEAL, Accounts::None));
    }
    for secret in unknown {
        asks.push(ask(secret, "17515", SEAL, Accounts::All));
        asks.push(ask(secret, "17515", SEAL, Accounts::None));
    }
    asks
}

/// What a read found, as the API folds it: the token, the QSealC's registration, the consent,
/// and the accounts in the bank's order.
fn folded(store: &Store, found: AccessFound) -> String {
    let AccessFound {
        tokens,
        mut accounts,
        stamp,
    } = found;
    accounts.sort_by_key(|(account, _)| account.position);
    format!(
        "{:?} {accounts:?} {stamp:?}",
        store.fold_access(tokens, CLIENT)
    )
}

fn unknown() -> Vec<TokenSecret> {
    (0..3)
        .map(|_| TokenSecret::generate().unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

// Two workers: the runners run beside the reads that queue, as in the bank.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_read_of_a_batch_gets_what_a_query_of_its_own_finds() {
    let (store, _db) = seeded().await;
    let made = tokens(&store).await;
    let unknown = unknown();
    let asks = asks(&made, &unknown);
    let mut alone = Vec::new();
    for ask in &asks {
        let found = store
            .access_alone(ask)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        alone.push(folded(&store, found));
    }
    // The reads that must differ do: a revoked token, a consent or none, a QSealC no longer
    // registered, one account or all, the other bank, an unknown token.
    // (Those of the other client find what the token's client's find, but for the QSealC.)
    let distinct: std::collections::HashSet<&String> = alone.iter().collect();
    let own = asks.iter().filter(|ask| ask.client_id == CLIENT).count();
    assert!(distinct.len() > own / 2, "{alone:#?}");
    assert!(alone.iter().any(|a| a.contains("revoked_at: Some(3)")));
    assert!(alone.iter().any(|a| a.contains("seal_registered: false")));
    assert!(alone.iter().any(|a| a == "None [] None"));
    let mut by_other_client = 0;
    for (ask, alone) in asks.iter().zip(&alone) {
        if ask.client_id == OTHER_CLIENT && !alone.starts_with("None") {
            by_other_client += 1;
            let registered = ask.qseal_sha256 == OTHER_SEAL;
            assert!(
                alone.contains(&format!("seal_registered: {registered}")),
                "the QSealC {} presented by {OTHER_CLIENT}: {alone}",
                ask.qseal_sha256
            );
        }
    }
    assert!(by_other_client > 0, "no token was found by {OTHER_CLIENT}");

    let (reads_before, queries_before) = store.batched_token_reads();
    let batched = join_all(asks.iter().map(|ask| store.access_in_batch(ask.clone()))).await;
    let (reads, queries) = store.batched_token_reads();
    assert_eq!(reads - reads_before, asks.len() as u64);
    assert!(
        queries - queries_before < asks.len() as u64 / 4,
        "{} reads asked at once took {} queries",
        asks.len(),
        queries - queries_before
    );
    for ((ask, alone), batched) in asks.iter().zip(&alone).zip(batched) {
        let batched = batched.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            &folded(&store, batched),
            alone,
            "{} at {} ({:?})",
            ask.token_hash,
            ask.bank_code,
            ask.accounts
        );
    }
}

#[tokio::test]
async fn a_failed_query_fails_each_of_its_reads_as_unavailable_and_the_next_reads_go_on() {
    let (store, _db) = seeded().await;
    let made = tokens(&store).await;
    let asks = asks(&made, &unknown());

    // Reads dropped while they wait are not read, and hold nothing up. (The test's runtime has
    // one thread: no runner runs before the next read is awaited.)
    let (reads_before, queries_before) = store.batched_token_reads();
    for ask in &asks {
        let answered = store.access_in_batch(ask.clone()).now_or_never();
        assert!(answered.is_none(), "a read answered without waiting");
    }
    let one = store.access_in_batch(asks[0].clone()).await;
    assert!(one.is_ok(), "{one:?}");
    let (reads, queries) = store.batched_token_reads();
    assert_eq!(
        (reads - reads_before, queries - queries_before),
        (1, 1),
        "only the read still waited for was read"
    );

    // PostgreSQL's read connections closed: every read of the batch fails, as a 503 would.
    if let Some(reader) = &store.pg_reader {
        reader.close().await;
    }
    let failed = join_all(
        asks.iter()
            .take(20)
            .map(|ask| store.access_in_batch(ask.clone())),
    )
    .await;
    for read in failed {
        match read {
            Err(error) => assert!(error.is_unavailable(), "{error}"),
            Ok(found) => panic!("read after the close: {found:?}"),
        }
    }
}
