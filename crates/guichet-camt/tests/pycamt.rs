//! The camt.053 fixtures read by an independent reader from PyPI, `pycamt`: every entry our
//! reader gives, pycamt gives too, with the same reference, amount (pycamt lists a batch
//! entry's transactions, whose amounts add up to the entry's), direction and booking date.
//! Needed, never skipped: `python3 -m pip install pycamt==1.1.1`.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;
use std::process::Command;

use guichet_camt::read_document;
use rust_decimal::Decimal;

type TestResult = Result<(), Box<dyn Error>>;

/// One line per transaction: reference|amount|direction|booking date.
const PYCAMT: &str = r#"
import sys
try:
    from pycamt.parser import Camt053Parser
except ImportError as e:
    sys.exit(f"missing Python package ({e}): python3 -m pip install pycamt==1.1.1")
parser = Camt053Parser(open(sys.argv[1], "rb").read())
for t in parser.get_transactions():
    print("|".join(str(t.get(k) or "") for k in ("TransactionID", "Amount", "CreditDebitIndicator", "BookingDate")))
"#;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Reference → (amount, direction, booking day), the amounts of one reference added up.
type Read = BTreeMap<String, (Decimal, String, String)>;

fn pycamt(path: &PathBuf) -> Result<Read, Box<dyn Error>> {
    let output = Command::new("python3")
        .arg("-c")
        .arg(PYCAMT)
        .arg(path)
        .output()?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned().into());
    }
    let mut read = Read::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let fields: Vec<&str> = line.split('|').collect();
        let [reference, amount, direction, day] = fields.as_slice() else {
            return Err(format!("pycamt printed {line}").into());
        };
        let amount: Decimal = amount.parse()?;
        let day = day.get(..10).unwrap_or(day).to_owned();
        let entry = read.entry((*reference).to_owned()).or_insert((
            Decimal::ZERO,
            (*direction).to_owned(),
            day,
        ));
        entry.0 += amount;
    }
    Ok(read)
}

#[test]
fn pycamt_reads_the_statement_fixtures_as_we_do() -> TestResult {
    for name in ["camt053_v02.xml", "camt053_v08.xml"] {
        let path = fixture(name);
        let theirs = pycamt(&path)?;
        let document = read_document(std::io::BufReader::new(std::fs::File::open(&path)?))?;
        let mut ours = 0;
        for entry in document.statements.iter().flat_map(|s| &s.entries) {
            let reference = entry.account_servicer_reference.clone().unwrap_or_default();
            let ours_read = (
                entry.amount,
                entry.credit_debit.code().to_owned(),
                entry
                    .booking_date
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            );
            assert_eq!(
                theirs.get(&reference),
                Some(&ours_read),
                "{name}: entry {reference}; pycamt read {theirs:?}"
            );
            ours += 1;
        }
        assert!(ours >= 4, "{name}: {ours} entries");
    }
    Ok(())
}
