//! `guichet import` as a bank runs it: the customer file, then real camt files (the fixtures
//! of guichet-camt, valid against the ISO schemas), into a fresh store; again without change;
//! a malformed file refused with its line and element, the store unchanged.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
    std::fs::write(
        &customers,
        "psuId,kind,displayName,segment,iban,accountName,currency,cashAccountType,status,resourceId\n\
         C0001,company,ATELIERS MARTIN SARL,small_pro,FR7630004000310001234567865,Compte courant,EUR,CACC,active,\n\
         C0001,company,ATELIERS MARTIN SARL,small_pro,FR7617515000920400000000107,Compte titres,EUR,CACC,closed,\n\
         C0001,company,ATELIERS MARTIN SARL,small_pro,FR7630258000010811122230290,Livret A,EUR,SVGS,active,LIVRETA-00042\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
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
