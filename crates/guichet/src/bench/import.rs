//! `guichet bench --import N`: a camt.053.001.08 of N booked operations for one account (one
//! statement a day, `--per-day` operations each, with bank transaction codes, counterparties
//! and remittance), written by the streaming writer, then imported by `guichet import` in a
//! child process: its time, its rate, its peak resident memory, and the same file imported
//! again (nothing changes).

use std::io::BufWriter;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context;
use guichet_camt::StreamWriter;
use guichet_camt::model::{
    AccountHeader, AccountId, Balance, BankTransactionCode, CreditDebit, CreditorReference,
    DomainCode, Entry, EntryStatus, Header, Kind, Version,
};
use rust_decimal::Decimal;

use super::server::{DataDir, RssSampler};

const IBAN: &str = "FR7630004000310001234567865";
const BANK: &str = "30258";

/// The day's `count` operations of the generated account, numbered from `first`, with their
/// running balance.
fn day(first: u64, count: u64, date: jiff::civil::Date, balance: &mut Decimal) -> Vec<Entry> {
    (first..first + count)
        .map(|n| {
            let credit = n.is_multiple_of(3);
            let cents = 1_000 + i64::try_from(n % 97_331).unwrap_or(0) * 7;
            let amount = Decimal::new(cents, 2);
            let direction = if credit {
                CreditDebit::Credit
            } else {
                CreditDebit::Debit
            };
            let mut entry = Entry::new(amount, "EUR", direction, EntryStatus::Booked);
            *balance += entry.signed_amount();
            entry.booking_date = Some(date);
            entry.value_date = Some(date);
            entry.account_servicer_reference = Some(format!("GB{n:014}"));
            entry.bank_transaction_code = Some(BankTransactionCode {
                domain: Some(DomainCode {
                    domain: "PMNT".into(),
                    family: if credit { "RCDT" } else { "ICDT" }.into(),
                    sub_family: "ESCT".into(),
                }),
                proprietary: None,
            });
            if credit {
                entry.debtor_name = Some(format!("CLIENT {:05}", n % 40_000));
            } else {
                entry.creditor_name = Some(format!("FOURNISSEUR {:04}", n % 5_000));
            }
            entry.unstructured = vec![format!("FACTURE {n} DU {date}")];
            if n.is_multiple_of(10) {
                entry.structured = vec![CreditorReference::iso11649(format!("RF18{n:010}"))];
            }
            entry
        })
        .collect()
}

/// Writes the statement; answers its size in bytes and its statements.
fn generate(path: &Path, operations: u64, per_day: u64) -> anyhow::Result<(u64, u64)> {
    let per_day = per_day.max(1);
    let days = operations.div_ceil(per_day);
    let today = jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    let first = today
        .checked_sub(jiff::Span::new().days(i64::try_from(days).unwrap_or(0)))
        .context("too many days")?;
    let file = std::fs::File::create(path).with_context(|| path.display().to_string())?;
    let header = Header {
        kind: Kind::Statement053,
        version: Version::V08,
        message_id: format!("BENCH-{operations}"),
        created: format!("{today}T06:00:00"),
    };
    let mut writer = StreamWriter::new(
        BufWriter::new(file),
        Kind::Statement053,
        Version::V08,
        header,
    )?;
    let mut balance = Decimal::new(1_000_000, 2);
    let mut written = 0;
    for index in 0..days {
        let date = first
            .checked_add(jiff::Span::new().days(i64::try_from(index).unwrap_or(0)))
            .context("date")?;
        let count = per_day.min(operations - written);
        let opening = balance;
        let entries = day(written, count, date, &mut balance);
        written += count;
        let mut account =
            AccountHeader::new(format!("BENCH-{index}"), AccountId::Iban(IBAN.into()));
        account.currency = Some("EUR".into());
        account.servicer_bic = Some("BTPBFRPPXXX".into());
        account.electronic_sequence = Some(index + 1);
        let balances = [("OPBD", opening), ("CLBD", balance)].map(|(code, amount)| Balance {
            code: code.into(),
            proprietary: false,
            amount,
            currency: "EUR".into(),
            date,
            line: 0,
        });
        writer.statement(&account, &balances, &entries)?;
    }
    writer.finish()?;
    let size = std::fs::metadata(path)?.len();
    Ok((size, days))
}

/// `guichet import …` in a child process: its wall time, its peak memory, its summary.
fn import(args: &[&str]) -> anyhow::Result<(f64, f64, String)> {
    let started = Instant::now();
    let child = Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting guichet import")?;
    let sampler = RssSampler::start(child.id());
    let output = child.wait_with_output()?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = sampler.peak_mb();
    anyhow::ensure!(
        output.status.success(),
        "guichet {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok((seconds, peak, said))
}

pub fn run(
    data_dir: Option<std::path::PathBuf>,
    database_url: Option<&str>,
    operations: u64,
    per_day: u64,
) -> anyhow::Result<()> {
    let dir = DataDir::new(data_dir)?;
    let backend = if database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "guichet bench --import — {backend}, {}",
        jiff::tz::TimeZone::UTC
            .to_datetime(jiff::Timestamp::now())
            .date()
    );
    let statement = dir.path.join("statement.xml");
    let started = Instant::now();
    let (size, statements) = generate(&statement, operations, per_day)?;
    println!(
        "statement: camt.053.001.08, {operations} operations in {statements} statements, {:.1} MB (written in {:.1} s)",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let customers = dir.path.join("customers.csv");
    std::fs::write(
        &customers,
        format!(
            "psuId,kind,displayName,segment,iban,accountName,currency,cashAccountType,status,resourceId\n\
             BENCH1,company,BENCH SARL,small_pro,{IBAN},Compte courant,EUR,CACC,active,\n"
        ),
    )?;
    let dir_arg = dir.path.display().to_string();
    let mut store = vec!["--data-dir", dir_arg.as_str()];
    if let Some(url) = database_url {
        store.extend(["--database-url", url]);
    }
    let customers_arg = customers.display().to_string();
    let mut args = vec!["import", "customers", "--bank", BANK];
    args.extend(&store);
    args.push(&customers_arg);
    import(&args)?;
    let statement_arg = statement.display().to_string();
    let mut args = vec!["import", "--bank", BANK];
    args.extend(&store);
    args.push(&statement_arg);
    for run in ["first import", "again (nothing changes)"] {
        let (seconds, peak, said) = import(&args)?;
        println!(
            "{run}: {seconds:.1} s, {:.0} operations/s, peak resident memory {peak:.1} MB — {said}",
            operations as f64 / seconds
        );
    }
    Ok(())
}
