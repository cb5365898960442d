//! `guichet sandbox …`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use guichet_aspsp::sandbox::{DEMO_TPP_CLIENT_ID, DemoTpp, mint_token, unblock};
use guichet_eidas::Psd2Certificate;
use guichet_store::Store;

use crate::config::{database_url, default_data_dir};

#[derive(Subcommand, Debug)]
pub enum SandboxCommand {
    /// Mint an access token for a persona, as if it had just passed SCA (sandbox mode only;
    /// the OAuth2 endpoints replace this for real TPP journeys).
    Token {
        /// Bank code, e.g. 17515.
        #[arg(long)]
        bank: String,
        /// Persona (LEA) or PSU identifier (D0999992I0).
        #[arg(long)]
        psu: String,
        /// Scope; repeat for several (aisp, cbpii, extended_transaction_history, pisp).
        #[arg(long = "scope", default_value = "aisp")]
        scopes: Vec<String>,
        /// The QWAC of the TPP the token is for (and bound to); default: the demo TPP's.
        #[arg(long)]
        qwac: Option<PathBuf>,
        /// Lifetime in minutes.
        #[arg(long, default_value_t = 15)]
        minutes: i64,
        /// Print the token as JSON with its details.
        #[arg(long)]
        json: bool,
        #[arg(long, env = "GUICHET_DATA_DIR", default_value_os_t = default_data_dir())]
        data_dir: PathBuf,
        #[arg(long, env = "GUICHET_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Write the sandbox's data set as a core banking system's files, per bank: the customer
    /// file (`<bank>-customers.json`), a camt.053 of the booked operations and accounting
    /// balances (`<bank>-camt053.xml`) and a camt.052 of the pending ones and instant balances
    /// (`<bank>-camt052.xml`), ready for `guichet import`.
    ExportCamt {
        /// The folder to write into (created when missing).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, env = "GUICHET_DATA_DIR", default_value_os_t = default_data_dir())]
        data_dir: PathBuf,
        #[arg(long, env = "GUICHET_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Lift a persona's SCA block (after 5 failed passwords or codes; the BLOCKED persona is
    /// blocked from the start), sandbox mode only.
    Unblock {
        /// Bank code, e.g. 17515.
        #[arg(long)]
        bank: String,
        /// Persona (BLOCKED) or PSU identifier (D0999995I0).
        #[arg(long)]
        psu: String,
        #[arg(long, env = "GUICHET_DATA_DIR", default_value_os_t = default_data_dir())]
        data_dir: PathBuf,
        #[arg(long, env = "GUICHET_DATABASE_URL")]
        database_url: Option<String>,
    },
}

pub async fn run(command: SandboxCommand) -> anyhow::Result<()> {
    match command {
        SandboxCommand::ExportCamt {
            out,
            data_dir,
            database_url: url,
        } => {
            let url = database_url(url.as_deref(), &data_dir)?;
            let store = Store::connect(&url, 1).await?;
            let written = export_camt(&store, &out).await;
            store.close().await;
            for path in written? {
                println!("{}", path.display());
            }
            Ok(())
        }
        SandboxCommand::Unblock {
            bank,
            psu,
            data_dir,
            database_url: url,
        } => {
            let url = database_url(url.as_deref(), &data_dir)?;
            let store = Store::connect(&url, 1).await?;
            let now = jiff::Timestamp::now().as_second();
            let outcome = unblock(&store, &bank, &psu, now).await;
            store.close().await;
            let (record, lifted) = outcome?;
            if lifted {
                println!(
                    "{} ({}) at {bank}: unblocked",
                    record.psu_id, record.display_name
                );
            } else {
                println!(
                    "{} ({}) at {bank}: was not blocked",
                    record.psu_id, record.display_name
                );
            }
            Ok(())
        }
        SandboxCommand::Token {
            bank,
            psu,
            scopes,
            qwac,
            minutes,
            json,
            data_dir,
            database_url: url,
        } => {
            anyhow::ensure!((1..=1440).contains(&minutes), "--minutes must be 1 to 1440");
            let qwac_path = qwac.unwrap_or_else(|| {
                DemoTpp::in_dir(&data_dir.join("pki/tpps/demo"), DEMO_TPP_CLIENT_ID).qwac
            });
            let qwac = Psd2Certificate::from_pem(
                &std::fs::read(&qwac_path)
                    .with_context(|| format!("reading {}", qwac_path.display()))?,
            )
            .map_err(|e| anyhow::anyhow!("{}: {e}", qwac_path.display()))?;
            let tpp = qwac.org_id.to_string();
            let url = database_url(url.as_deref(), &data_dir)?;
            let store = Store::connect(&url, 1).await?;
            let now = jiff::Timestamp::now().as_second();
            let (secret, record) =
                mint_token(&store, &bank, &psu, &qwac, &scopes, now, minutes * 60).await?;
            store.close().await;
            if json {
                let out = serde_json::json!({
                    "access_token": secret.expose(),
                    "token_type": "Bearer",
                    "expires_in": minutes * 60,
                    "scope": scopes.join(" "),
                    "bank": bank,
                    "psuId": record.psu_id,
                    "clientId": tpp,
                });
                println!("{out}");
            } else {
                println!("{}", secret.expose());
            }
            Ok(())
        }
    }
}

/// The files of every sandbox bank, written into `out`.
async fn export_camt(store: &Store, out: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)?;
    let created = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let mut written = Vec::new();
    for profile in guichet_aspsp::BankProfile::sandbox_banks() {
        let files = store
            .export_camt(&profile.code, &created, &profile.bic)
            .await?;
        for (suffix, text) in [
            ("customers.json", &files.customers),
            ("camt053.xml", &files.statement),
            ("camt052.xml", &files.report),
        ] {
            let path = out.join(format!("{}-{suffix}", profile.code));
            std::fs::write(&path, text)?;
            written.push(path);
        }
    }
    Ok(written)
}
