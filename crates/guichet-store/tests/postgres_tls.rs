//! PostgreSQL over TLS, as a bank whose database is on another host reaches it: libpq's
//! `sslmode` and `sslrootcert` in the database URL are honoured by every connection the store
//! opens, its pool's and its readers'. A cluster of the test's own, with a certificate issued
//! by a CA the test makes; a store that trusts another CA, or asks for a name the certificate
//! does not carry, is refused; `verify-ca` is not taken.

use std::path::{Path, PathBuf};

use guichet_store::testing::TestDatabase;
use guichet_store::testing::cluster::OwnCluster;
use guichet_store::{DatabaseUrl, Store};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use sqlx::Connection;

const BANK: &str = "17515";
/// GEORGES.
const PSU: &str = "D0999994I0";

/// A CA, its PEM written to `dir/name.pem`; with the CA's issuer.
fn ca(dir: &Path, name: &str) -> (PathBuf, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, cert.pem()).unwrap_or_else(|e| panic!("{e}"));
    (path, Issuer::new(params, key))
}

/// The database server's certificate and key (PEM), for the name `db.guichet.test` and the
/// address 127.0.0.1.
fn server_certificate(issuer: &Issuer<'static, KeyPair>) -> (String, String) {
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut params = CertificateParams::new(vec!["db.guichet.test".into(), "127.0.0.1".into()])
        .unwrap_or_else(|e| panic!("{e}"));
    params
        .distinguished_name
        .push(DnType::CommonName, "db.guichet.test");
    let cert = params
        .signed_by(&key, issuer)
        .unwrap_or_else(|e| panic!("{e}"));
    (cert.pem(), key.serialize_pem())
}

/// `admin` (postgres://…/postgres) with `options` for TLS.
fn with_tls(admin: &str, options: &str) -> String {
    format!("{admin}?{options}")
}

/// Whether every connection to the database named in `url` is encrypted, and how many there
/// are (this one included).
async fn encrypted_connections(url: &str) -> (bool, i64) {
    let mut watch = sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query_as(
        "SELECT COALESCE(bool_and(s.ssl), false), COUNT(*) FROM pg_stat_ssl s \
         JOIN pg_stat_activity a ON a.pid = s.pid WHERE a.datname = current_database()",
    )
    .fetch_one(&mut watch)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The URL of the test's database reached at `host`, with `sslmode` and `sslrootcert`.
fn the_database_as(db: &TestDatabase, host: &str, sslmode: &str, root: &Path) -> String {
    let mut url = url::Url::parse(db.url.expose()).unwrap_or_else(|e| panic!("{e}"));
    url.set_host(Some(host)).unwrap_or_else(|e| panic!("{e}"));
    url.query_pairs_mut()
        .clear()
        .append_pair("sslmode", sslmode)
        .append_pair("sslrootcert", &root.display().to_string());
    url.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_reaches_postgresql_over_verified_tls_and_refuses_an_unknown_server() {
    let dir = std::env::temp_dir().join(format!("guichet-pg-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let (root, issuer) = ca(&dir, "database-ca");
    let (other_root, _) = ca(&dir, "other-ca");
    let (cert, key) = server_certificate(&issuer);
    let own = match OwnCluster::start_with_tls(&cert, &key) {
        Ok(own) => own,
        Err(e) => panic!("this test needs PostgreSQL's binaries to run a cluster of its own: {e}"),
    };
    let admin = own.0.admin_url();

    // Verified: the CA that issued the server's certificate, and its address.
    let verified = format!("sslmode=verify-full&sslrootcert={}", root.display());
    let db = TestDatabase::on_postgres(with_tls(&admin, &verified)).await;
    let store = Store::connect(&db.url, 4)
        .await
        .unwrap_or_else(|e| panic!("over verified TLS: {e}"));
    store
        .seed_sandbox(&[BANK], jiff::civil::date(2026, 12, 8), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let accounts = store
        .psu_accounts(BANK, PSU)
        .await
        .unwrap_or_else(|e| panic!("a read on the API's path: {e}"));
    assert!(!accounts.is_empty(), "GEORGES's accounts were read");
    let (all_encrypted, connections) = encrypted_connections(db.url.expose()).await;
    assert!(
        connections >= 3,
        "the pool's, a reader's and this one: {connections}"
    );
    assert!(all_encrypted, "every connection over TLS");

    // Refused: a store that trusts another CA, or asks for a name the certificate lacks.
    let refused = [
        (
            the_database_as(&db, "127.0.0.1", "verify-full", &other_root),
            "a server whose certificate another CA issued",
        ),
        (
            the_database_as(&db, "localhost", "verify-full", &root),
            "a name the certificate does not carry",
        ),
    ];
    for (url, what) in refused {
        let url = DatabaseUrl::parse(&url).unwrap_or_else(|e| panic!("{e}"));
        match Store::connect(&url, 2).await {
            Ok(_) => panic!("connected to {what}"),
            Err(e) => assert!(
                e.to_string().to_lowercase().contains("certificate"),
                "{what}: {e}"
            ),
        }
    }
    // verify-ca is refused before any connection (the driver would trust public CAs too,
    // with any name).
    let verify_ca = the_database_as(&db, "localhost", "verify-ca", &root);
    assert!(DatabaseUrl::parse(&verify_ca).is_err(), "verify-ca taken");
    drop(store);
    drop(db);
    drop(own);
    let _ = std::fs::remove_dir_all(&dir);
}
