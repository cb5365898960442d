//! Token reads kept per process (`access_cache.rs`): a kept read answers only while its PSU's
//! access stamp is unchanged, and every write of what the read returns, by another instance
//! on the same database, is seen at the next read. Real SQLite files and a real PostgreSQL.

use std::time::Duration;

use guichet_store::testing::{TestDatabase, execute};
use guichet_store::{
    AccountRecord, Backend, BalanceRecord, ConsentRecord, NewToken, Store, TokenKind, TokenSecret,
    new_family_id, on_both_backends,
};
use sqlx::Connection;

const BANK: &str = "17515";
/// GEORGES, one account.
const PSU: &str = "D0999994I0";
const CLIENT: &str = "PSDFR-ACPR-12345";
const SEAL: &str = "registered-seal";

type Read = Option<(
    guichet_store::Access,
    Vec<(AccountRecord, Option<BalanceRecord>)>,
)>;

/// Two instances on one database (the first seeds it), with GEORGES's token and consent to
/// the balances and transactions of his account, and the TPP's QSealC registered.
async fn two_instances(backend: Backend) -> (Store, Store, TestDatabase, TokenSecret, String) {
    let db = TestDatabase::new(backend).await;
    let connect = || async {
        Store::connect(&db.url, 4)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let reader = connect().await;
    let writer = connect().await;
    reader
        .seed_sandbox(&[BANK], jiff::civil::date(2026, 12, 8), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let seal = format!(
        "INSERT INTO tpp_qseals (client_id, sha256, sha1, serial, issuer, not_after, pem) \
         VALUES ('{CLIENT}', '{SEAL}', 's', '1', 'CN=x', 0, '')"
    );
    execute(&writer, &seal)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let family = new_family_id().unwrap_or_else(|e| panic!("{e}"));
    let token = NewToken {
        kind: TokenKind::Access,
        family_id: family.clone(),
        bank_code: BANK.into(),
        client_id: CLIENT.into(),
        psu_id: Some(PSU.into()),
        scopes: vec!["aisp".into()],
        issued_at: 0,
        expires_at: 10_000,
        sca_at: Some(0),
        cert_thumbprint: None,
    };
    let secret = writer
        .issue_token(&token)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let account = writer
        .psu_accounts(BANK, PSU)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .first()
        .map(|a| a.resource_id.clone())
        .unwrap_or_else(|| panic!("GEORGES has no account"));
    writer
        .replace_consent(BANK, PSU, CLIENT, &consent(&account, true))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (reader, writer, db, secret, family)
}

fn consent(account: &str, transactions: bool) -> ConsentRecord {
    let mut consent = ConsentRecord {
        psu_identity: true,
        updated_at: 5,
        ..ConsentRecord::default()
    };
    consent.balances.insert(account.into());
    if transactions {
        consent.transactions.insert(account.into());
    }
    consent
}

async fn read(store: &Store, secret: &TokenSecret) -> Read {
    store
        .access_with_accounts(secret, BANK, CLIENT, SEAL, "CLBD", None)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What a read says, as comparable text.
fn said(read: &Read) -> String {
    format!("{read:?}")
}

/// Reads twice on `store`: the first made afresh (it must differ from `before` and satisfy
/// `changed`), the second answered by the kept read, the same.
async fn seen_then_kept(
    store: &Store,
    secret: &TokenSecret,
    before: &Read,
    changed: impl Fn(&Read) -> bool,
    what: &str,
) -> Read {
    let kept = store.kept_token_reads();
    let stale = store.stale_token_reads();
    let after = read(store, secret).await;
    assert_ne!(said(&after), said(before), "{what}: the change is seen");
    assert!(changed(&after), "{what}: {after:?}");
    assert_eq!(store.kept_token_reads(), kept, "{what}: read afresh");
    assert_eq!(
        store.stale_token_reads(),
        stale + 1,
        "{what}: the kept read was stale"
    );
    let again = read(store, secret).await;
    assert_eq!(said(&again), said(&after), "{what}");
    assert_eq!(store.kept_token_reads(), kept + 1, "{what}: kept");
    after
}

fn account_of(read: &Read) -> &AccountRecord {
    match read {
        Some((_, accounts)) if accounts.len() == 1 => &accounts[0].0,
        other => panic!("one account expected: {other:?}"),
    }
}

on_both_backends! {
    async fn a_kept_read_answers_until_another_instance_writes_what_it_returned(backend) {
        let (reader, writer, _db, secret, family) = two_instances(backend).await;
        let first = read(&reader, &secret).await;
        assert!(first.is_some());
        assert_eq!(reader.kept_token_reads(), 0);
        let second = read(&reader, &secret).await;
        assert_eq!(said(&second), said(&first));
        assert_eq!(reader.kept_token_reads(), 1, "the second read is the kept one");
        let account = account_of(&first).resource_id.clone();

        let sql = format!("UPDATE accounts SET name = 'Renamed' WHERE bank_code = '{BANK}' AND resource_id = '{account}'");
        execute(&writer, &sql).await.unwrap_or_else(|e| panic!("{e}"));
        let renamed = seen_then_kept(&reader, &secret, &first, |r| account_of(r).name == "Renamed", "an account renamed").await;

        let sql = format!("UPDATE balances SET amount_minor = amount_minor + 1 WHERE bank_code = '{BANK}' AND account_id = '{account}'");
        execute(&writer, &sql).await.unwrap_or_else(|e| panic!("{e}"));
        let balance = |r: &Read| r.as_ref().and_then(|(_, a)| a[0].1.as_ref().map(|b| b.amount_minor));
        let before = balance(&renamed);
        let credited = seen_then_kept(&reader, &secret, &renamed, |r| balance(r) == before.map(|b| b + 1), "a balance changed").await;

        // An operation written moves the account's operations stamp, which the read returns.
        let sql = format!("UPDATE transactions SET json = NULL WHERE bank_code = '{BANK}' AND account_id = '{account}' \
             AND seq = (SELECT MAX(seq) FROM transactions WHERE bank_code = '{BANK}' AND account_id = '{account}')");
        assert_eq!(execute(&writer, &sql).await.unwrap_or_else(|e| panic!("{e}")), 1);
        let stamp = account_of(&credited).operations_stamp;
        let written = seen_then_kept(&reader, &secret, &credited, |r| account_of(r).operations_stamp != stamp, "an operation written").await;

        writer.replace_consent(BANK, PSU, CLIENT, &consent(&account, false)).await.unwrap_or_else(|e| panic!("{e}"));
        let no_transactions = |r: &Read| r.as_ref().and_then(|(a, _)| a.consent.as_ref()).is_some_and(|c| c.transactions.is_empty());
        let narrowed = seen_then_kept(&reader, &secret, &written, no_transactions, "a consent narrowed").await;

        writer.delete_consent(BANK, PSU, CLIENT).await.unwrap_or_else(|e| panic!("{e}"));
        let withdrawn = seen_then_kept(&reader, &secret, &narrowed, |r| r.as_ref().is_some_and(|(a, _)| a.consent.is_none()), "a consent withdrawn").await;

        writer.revoke_family(&family, 42).await.unwrap_or_else(|e| panic!("{e}"));
        seen_then_kept(&reader, &secret, &withdrawn, |r| r.as_ref().is_some_and(|(a, _)| a.token.revoked_at == Some(42)), "the token revoked").await;
    }
}

on_both_backends! {
    async fn a_qseal_removed_is_seen_by_the_kept_read(backend) {
        let (reader, writer, _db, secret, _) = two_instances(backend).await;
        let sealed = |r: &Read| r.as_ref().map(|(a, _)| a.seal_registered);
        assert_eq!(sealed(&read(&reader, &secret).await), Some(true));
        assert_eq!(sealed(&read(&reader, &secret).await), Some(true));
        assert_eq!(reader.kept_token_reads(), 1);
        execute(&writer, "DELETE FROM tpp_qseals").await.unwrap_or_else(|e| panic!("{e}"));
        // The registration is read with the stamp: the kept read answers, unregistered.
        assert_eq!(sealed(&read(&reader, &secret).await), Some(false));
        assert_eq!(reader.kept_token_reads(), 2);
    }
}

on_both_backends! {
    async fn unknown_tokens_are_not_kept(backend) {
        let (reader, _writer, _db, secret, _) = two_instances(backend).await;
        let unknown = TokenSecret::generate().unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..3 {
            assert!(read(&reader, &unknown).await.is_none());
        }
        assert_eq!(reader.token_reads_kept_now(), 0, "guessing fills nothing");
        assert_eq!(reader.kept_token_reads(), 0);
        // A known token's read is kept (the count above could have moved).
        assert!(read(&reader, &secret).await.is_some());
        assert_eq!(reader.token_reads_kept_now(), 1);
    }
}

/// PostgreSQL writes a PSU's stamp as the writing transaction commits (deferred triggers): a
/// long import that changed a balance of GEORGES's account does not hold up the revocation of
/// his token until it ends, and the revocation is seen at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_write_of_a_psu_does_not_hold_up_the_revocation_of_its_tokens() {
    let (reader, writer, db, secret, family) = two_instances(Backend::Postgres).await;
    assert!(read(&reader, &secret).await.is_some());
    let mut import = sqlx::PgConnection::connect(db.url.expose())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut long = import.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let sql = format!(
        "UPDATE balances SET amount_minor = amount_minor + 1 WHERE bank_code = '{BANK}' \
         AND account_id IN (SELECT resource_id FROM accounts WHERE psu_id = '{PSU}')"
    );
    let updated = sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut *long)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(updated.rows_affected() > 0);
    let revoked = tokio::time::timeout(Duration::from_secs(5), writer.revoke_family(&family, 42))
        .await
        .unwrap_or_else(|_| panic!("the revocation waited for the import"));
    assert!(revoked.is_ok(), "{revoked:?}");
    let seen = read(&reader, &secret).await;
    assert!(
        seen.as_ref()
            .is_some_and(|(a, _)| a.token.revoked_at == Some(42)),
        "{seen:?}"
    );
    long.commit().await.unwrap_or_else(|e| panic!("{e}"));
    // The import's commit moved the stamp again: its balance is seen.
    let kept = reader.kept_token_reads();
    let after = read(&reader, &secret).await;
    assert_eq!(
        reader.kept_token_reads(),
        kept,
        "read afresh after the import"
    );
    assert_ne!(said(&after), said(&seen));
}

/// The access stamps of `psus` of the bank, in their order.
async fn stamps(conn: &mut sqlx::PgConnection, psus: &[&str]) -> Vec<i64> {
    let mut found = Vec::new();
    for psu in psus {
        let sql = format!(
            "SELECT stamp FROM access_stamps WHERE bank_code = '{BANK}' AND psu_id = '{psu}'"
        );
        let stamp: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        found.push(stamp);
    }
    found
}

/// PostgreSQL writes a transaction's stamps at its commit in the order of their keys, not in
/// the order of its writes (migration 0013): a transaction that wrote a row of GEORGES and then
/// one of a PSU whose key comes first, and commits while that PSU's stamp is held elsewhere,
/// waits for it without having locked GEORGES's, so that a writer of the same two PSUs in the
/// other order cannot be waiting for it: no deadlock at commit. Its commit then writes both
/// stamps and leaves no note behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stamps_are_written_at_commit_in_the_order_of_their_keys() {
    let (_reader, _writer, db, _secret, _family) = two_instances(Backend::Postgres).await;
    let connect = || async {
        sqlx::PgConnection::connect(db.url.expose())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let run = |sql: String| sqlx::raw_sql(sqlx::AssertSqlSafe(sql));
    let mut watch = connect().await;
    // The first PSU of the bank in the order of keys, other than GEORGES.
    let first: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT psu_id FROM accounts WHERE bank_code = '{BANK}' AND psu_id <> '{PSU}' \
         ORDER BY psu_id COLLATE \"C\" LIMIT 1"
    )))
    .fetch_one(&mut watch)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(first.as_str() < PSU, "{first} comes before {PSU}");
    let before = stamps(&mut watch, &[PSU, &first]).await;

    // Another transaction holds the first PSU's stamp.
    let mut holder = connect().await;
    let holder_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let hold = format!(
        "BEGIN; SELECT 1 FROM access_stamps WHERE bank_code = '{BANK}' AND psu_id = '{first}' \
         FOR UPDATE"
    );
    run(hold)
        .execute(&mut holder)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The writer: GEORGES's account renamed, then the first PSU's; its commit waits.
    let rename = |psu: &str| {
        format!(
            "UPDATE accounts SET name = name || ' ' WHERE bank_code = '{BANK}' \
             AND psu_id = '{psu}';"
        )
    };
    let mut writer = connect().await;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut writer)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let writes = format!("BEGIN; {} {} COMMIT;", rename(PSU), rename(&first));
    let committing = tokio::spawn(async move {
        let done = run(writes).execute(&mut writer).await;
        done.map(|_| ())
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        // Held up by the holder of the first PSU's stamp, and by nothing else.
        let waiting: bool = sqlx::query_scalar("SELECT pg_blocking_pids($1) = ARRAY[$2]")
            .bind(pid)
            .bind(holder_pid)
            .fetch_one(&mut watch)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if waiting {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the commit never waited for the held stamp"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Waiting for the first PSU's stamp, the commit has not locked GEORGES's.
    let free = run(format!(
        "BEGIN; SELECT 1 FROM access_stamps WHERE bank_code = '{BANK}' AND psu_id = '{PSU}' \
         FOR UPDATE NOWAIT; ROLLBACK;"
    ))
    .execute(&mut watch)
    .await;
    assert!(
        free.is_ok(),
        "GEORGES's stamp was locked before the first PSU's: {free:?}"
    );

    run("ROLLBACK".to_owned())
        .execute(&mut holder)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let committed = tokio::time::timeout(Duration::from_secs(20), committing)
        .await
        .unwrap_or_else(|_| panic!("the commit did not end"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(committed.is_ok(), "{committed:?}");
    let after = stamps(&mut watch, &[PSU, &first]).await;
    assert_ne!(after[0], before[0], "GEORGES's stamp moved");
    assert_ne!(after[1], before[1], "the first PSU's stamp moved");
    assert_eq!(after[0], after[1], "both by the one transaction");
    let notes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_stamps_due")
        .fetch_one(&mut watch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(notes, 0, "no note left behind");
}

on_both_backends! {
    /// A read of one account is kept like a read of all; an account moved to another PSU is
    /// gone from the kept reads of the PSU it left.
    async fn a_read_of_one_account_is_kept_until_the_account_moves(backend) {
        let (reader, writer, _db, secret, _) = two_instances(backend).await;
        let account = account_of(&read(&reader, &secret).await).resource_id.clone();
        let one = || async {
            reader
                .access_with_accounts(&secret, BANK, CLIENT, SEAL, "CLBD", Some(&account))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let first = one().await;
        assert_eq!(account_of(&first).resource_id, account);
        assert_eq!(reader.kept_token_reads(), 0, "a read of one account is a read of its own");
        assert_eq!(said(&one().await), said(&first));
        assert_eq!(reader.kept_token_reads(), 1);
        // MARC, at the same bank.
        let sql = format!("UPDATE accounts SET psu_id = 'D0999990I0' WHERE bank_code = '{BANK}' AND resource_id = '{account}'");
        execute(&writer, &sql).await.unwrap_or_else(|e| panic!("{e}"));
        let moved = one().await;
        assert!(moved.as_ref().is_some_and(|(_, accounts)| accounts.is_empty()), "{moved:?}");
        let all = read(&reader, &secret).await;
        assert!(all.as_ref().is_some_and(|(_, accounts)| accounts.is_empty()), "{all:?}");
        assert_eq!(reader.kept_token_reads(), 1, "both read afresh");
    }
}
