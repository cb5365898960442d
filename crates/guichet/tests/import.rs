//! `guichet import` as a bank runs it: the customer file, then real camt files (the fixtures
//! of guichet-camt, valid against the ISO schemas), into a fresh store; again without change;
//! a malformed file refused with its line and element, the store unchanged.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use guichet_store::testing::TestDatabase;
use guichet_store::{Backend, Store, TransactionQuery};

mod common;

fn guichet(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap_or_else(|e| panic!("guichet {args:?}: {e}"))
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../guichet-camt/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_bank_imports_its_customers_and_statements() {
    let dir = std::env::temp_dir().join(format!("guichet-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let customers = dir.join("customers.csv");
    std::fs::write(&customers, common::MARTIN_CUSTOMERS_CSV).unwrap_or_else(|e| panic!("{e}"));
    let written = stdout(&guichet(
        &[
            "import",
            "customers",
            "--bank",
            "30258",
            &customers.display().to_string(),
        ],
        &dir,
    ));
    assert!(
        written.contains("1 customers, 3 accounts (1 eligible)"),
        "{written}"
    );

    let statement = fixture("camt053_v02.xml");
    let first = stdout(&guichet(&["import", "--bank", "30258", &statement], &dir));
    assert!(
        first.contains("2 accounts") && first.contains("5 operations added"),
        "{first}"
    );
    let again = stdout(&guichet(&["import", "--bank", "30258", &statement], &dir));
    assert!(
        again.contains("0 operations added, 0 updated, 5 unchanged"),
        "{again}"
    );

    let report = fixture("camt052_v02.xml");
    let intraday = stdout(&guichet(&["import", "--bank", "30258", &report], &dir));
    assert!(intraday.contains("1 accounts"), "{intraday}");

    let broken = guichet(
        &["import", "--bank", "30258", &fixture("bad_amount.xml")],
        &dir,
    );
    assert!(!broken.status.success());
    let said = String::from_utf8_lossy(&broken.stderr);
    assert!(
        said.contains("refused, nothing imported")
            && said.contains("line 29")
            && said.contains("Amt"),
        "{said}"
    );

    // Without --bank, the statement's servicer BIC names the bank: this one serves no bank
    // here.
    let unknown = guichet(&["import", &statement], &dir);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no bank served here has the BIC"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits for a file to appear (the inbox polls every second).
fn wait_for(path: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_imports_what_is_dropped_into_its_inbox() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let dir = std::env::temp_dir().join(format!("guichet-inbox-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap_or_else(|e| panic!("{e}"));
    let inbox_arg = inbox.display().to_string();
    let _server = common::start_with(
        &dir,
        db.url.expose(),
        &dir.join("serve.log"),
        &["--inbox", &inbox_arg, "--inbox-seconds", "1"],
    );
    let customers = dir.join("customers.csv");
    std::fs::write(
        &customers,
        "psuId,kind,displayName,segment,iban,accountName,currency,cashAccountType,status\n\
         C0002,company,MENUISERIE DURAND,small_pro,FR7630066100210001023450107,Compte courant,EUR,CACC,active\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let output = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args([
            "import",
            "customers",
            "--bank",
            "30258",
            "--database-url",
            db.url.expose(),
        ])
        .arg(&customers)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    stdout(&output);
    // The statement of another bank's fixture, serviced by BTP Banque: its BIC names the bank.
    let statement = std::fs::read_to_string(fixture("camt053_v08.xml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace("BECEFRPPXXX", "BTPBFRPPXXX");
    std::fs::write(inbox.join("statement-1.xml"), &statement).unwrap_or_else(|e| panic!("{e}"));
    // The same with an amount that is not one: refused whole.
    let broken = statement.replacen("</Amt>", "x</Amt>", 1);
    std::fs::write(inbox.join("broken.xml"), broken).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        wait_for(&inbox.join("done/statement-1.xml")),
        "the statement was not imported"
    );
    assert!(
        wait_for(&inbox.join("failed/broken.xml.reason")),
        "the broken file was not refused"
    );
    let reason =
        std::fs::read_to_string(inbox.join("failed/broken.xml.reason")).unwrap_or_default();
    assert!(
        reason.starts_with("line 33, ")
            && reason.contains("/Amt")
            && reason.contains("not an amount"),
        "{reason}"
    );
    assert!(!inbox.join("statement-1.xml").exists() && !inbox.join("broken.xml").exists());

    // The same statement again: done, and nothing doubled.
    std::fs::write(inbox.join("statement-2.xml"), &statement).unwrap_or_else(|e| panic!("{e}"));
    assert!(wait_for(&inbox.join("done/statement-2.xml")));
    let store = Store::connect(&db.url, 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let account = store
        .account_by_iban("30258", "FR7630066100210001023450107")
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the customer's account"));
    let query = TransactionQuery {
        bank_code: "30258".into(),
        account_id: account.resource_id.clone(),
        limit: 100,
        ..TransactionQuery::default()
    };
    let operations = store.transactions(&query).await.unwrap_or_default();
    assert_eq!(operations.len(), 4, "{operations:?}");
    assert!(operations.iter().all(|op| op.status == "BOOK"));
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_exports_files_that_import_into_an_empty_store() {
    let dir = std::env::temp_dir().join(format!("guichet-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (sandbox, fresh, out) = (dir.join("sandbox"), dir.join("fresh"), dir.join("out"));
    std::fs::create_dir_all(&sandbox).unwrap_or_else(|e| panic!("{e}"));
    let url = guichet_store::DatabaseUrl::sqlite_file(&sandbox.join("guichet.db"));
    let store = Store::connect(&url, 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let today = "2026-11-24".parse().unwrap_or_else(|e| panic!("{e}"));
    store
        .seed_sandbox(&["30258", "17515"], today, 1_795_000_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store.close().await;
    let out_arg = out.display().to_string();
    let written = stdout(&guichet(
        &["sandbox", "export-camt", "--out", &out_arg],
        &sandbox,
    ));
    assert_eq!(written.lines().count(), 6, "{written}");
    for bank in ["30258", "17515"] {
        let customers = out
            .join(format!("{bank}-customers.json"))
            .display()
            .to_string();
        let imported = stdout(&guichet(
            &["import", "customers", "--bank", bank, &customers],
            &fresh,
        ));
        assert!(imported.contains("customers"), "{imported}");
        // No --bank: each file's servicer BIC names its bank.
        let statement = out
            .join(format!("{bank}-camt053.xml"))
            .display()
            .to_string();
        let report = out
            .join(format!("{bank}-camt052.xml"))
            .display()
            .to_string();
        let fed = stdout(&guichet(&["import", &statement, &report], &fresh));
        assert!(
            fed.contains("operations added")
                && !fed.contains(" 0 operations added, 0 updated, 0 unchanged, 0 skipped\n"),
            "{fed}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
