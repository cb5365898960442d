//! `guichet import`: a bank's customer file and its core banking statements into the store.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use guichet_aspsp::BankProfile;
use guichet_store::Store;
use guichet_store::import::{BankChoice, CustomerFile};

use crate::config::{FileConfig, database_url, default_data_dir};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ImportArgs {
    #[command(subcommand)]
    command: Option<ImportCommand>,
    /// camt.053 or camt.052 files (versions .001.02 and .001.08), each imported whole or not
    /// at all.
    files: Vec<PathBuf>,
    /// The bank the files are for; by default the one whose BIC is the statement's account
    /// servicer (`Acct/Svcr`), among the configured banks.
    #[arg(long)]
    bank: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args, Debug)]
struct StoreArgs {
    /// The data folder (its SQLite database), as for `guichet serve`.
    #[arg(long, env = "GUICHET_DATA_DIR", default_value_os_t = default_data_dir())]
    data_dir: PathBuf,
    /// PostgreSQL (`postgres://…`) or SQLite (`sqlite://…`) database, as for `guichet serve`.
    #[arg(long, env = "GUICHET_DATABASE_URL")]
    database_url: Option<String>,
    /// The TOML configuration of `guichet serve` (its banks and database).
    #[arg(long, env = "GUICHET_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum ImportCommand {
    /// Who owns which account, and which accounts a TPP may see (JSON or CSV; README).
    Customers {
        /// The customer file.
        file: PathBuf,
        /// The bank the customers are of.
        #[arg(long)]
        bank: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

async fn open(args: &StoreArgs) -> anyhow::Result<(Store, Vec<BankProfile>)> {
    let file = FileConfig::load(args.config.as_deref())?;
    let url = database_url(
        args.database_url
            .as_deref()
            .or(file.database_url.as_deref()),
        &args.data_dir,
    )?;
    let banks = if file.banks.is_empty() {
        BankProfile::sandbox_banks()
    } else {
        file.banks
    };
    Ok((Store::connect(&url, 2).await?, banks))
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    if let Some(ImportCommand::Customers { file, bank, store }) = args.command {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let customers =
            CustomerFile::parse(&text).with_context(|| format!("{}", file.display()))?;
        let (store, _) = open(&store).await?;
        let written = store.import_customers(&bank, &customers).await;
        store.close().await;
        let written = written.with_context(|| format!("{}", file.display()))?;
        println!(
            "{}: {} customers, {} accounts ({} eligible)",
            file.display(),
            written.psus,
            written.accounts,
            written.eligible
        );
        return Ok(());
    }
    anyhow::ensure!(!args.files.is_empty(), "give the camt files to import");
    let (store, banks) = open(&args.store).await?;
    let bics: Vec<(String, String)> = banks
        .iter()
        .map(|b| (b.code.clone(), b.bic.clone()))
        .collect();
    let choice = match &args.bank {
        Some(code) => BankChoice::Given(code),
        None => BankChoice::ByBic(&bics),
    };
    let mut failed = 0;
    for path in &args.files {
        match import_one(&store, path, choice).await {
            Ok(line) => println!("{line}"),
            Err(error) => {
                failed += 1;
                eprintln!("{}: {}: {error:#}", path.display(), why_not(&error));
            }
        }
    }
    store.close().await;
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} files not imported",
        args.files.len()
    );
    Ok(())
}

/// Why a file was not imported: refused, or the database could not take it now (down,
/// busy, a deadlock with another import), when the same file may be given again.
fn why_not(error: &anyhow::Error) -> &'static str {
    match error.downcast_ref::<guichet_store::import::ImportError>() {
        Some(error) if error.is_transient() => {
            "not imported, the database could not take it now (nothing written; give it again)"
        }
        _ => "refused, nothing imported",
    }
}

async fn import_one(
    store: &Store,
    path: &std::path::Path,
    choice: BankChoice<'_>,
) -> anyhow::Result<String> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let summary = store
        .import_statement(std::io::BufReader::with_capacity(64 * 1024, file), choice)
        .await?;
    Ok(format!(
        "{}: {} statements of {} accounts, {} balances, {} operations added, {} updated, {} unchanged, {} skipped",
        path.display(),
        summary.statements,
        summary.accounts,
        summary.balances,
        summary.added,
        summary.updated,
        summary.unchanged,
        summary.skipped
    ))
}

#[cfg(test)]
mod tests {
    use guichet_store::StoreError;
    use guichet_store::import::ImportError;

    use super::why_not;

    #[test]
    fn a_file_the_database_could_not_take_is_not_called_refused() {
        let unavailable = ImportError::Store(StoreError::Read("connection refused".into(), true));
        assert!(why_not(&anyhow::Error::from(unavailable)).starts_with("not imported"));
        let broken = ImportError::Refused {
            line: 3,
            element: "Ntry/Amt".into(),
            message: "no amount".into(),
        };
        assert_eq!(
            why_not(&anyhow::Error::from(broken)),
            "refused, nothing imported"
        );
        let other = ImportError::Store(StoreError::Corrupt("a column unreadable".into()));
        assert_eq!(
            why_not(&anyhow::Error::from(other)),
            "refused, nothing imported"
        );
    }
}
