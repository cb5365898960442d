//! `guichet tpp …`: the TPP side on the command line.

use std::path::PathBuf;

use clap::Subcommand;
use guichet_tpp::TppIdentity;

use crate::config::default_data_dir;

fn demo(file: &str) -> PathBuf {
    default_data_dir().join("pki/tpps/demo").join(file)
}

#[derive(Subcommand, Debug)]
pub enum TppCommand {
    /// Register (or update) the TPP at a bank, over mutual TLS with its QWAC, sending its QSealC.
    Register {
        /// The bank's origin, e.g. https://127.0.0.1:8431.
        #[arg(long)]
        bank_url: String,
        /// The CA that signs the bank's server certificate.
        #[arg(long, default_value_os_t = default_data_dir().join("pki/ca/root.pem"))]
        ca: PathBuf,
        #[arg(long, default_value_os_t = demo("qwac.pem"))]
        qwac: PathBuf,
        #[arg(long, default_value_os_t = demo("qwac.key"))]
        qwac_key: PathBuf,
        #[arg(long, default_value_os_t = demo("qseal.pem"))]
        qseal: PathBuf,
        #[arg(long, default_value_os_t = demo("qseal.key"))]
        qseal_key: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long = "contact")]
        contacts: Vec<String>,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
    },
}

pub async fn run(command: TppCommand) -> anyhow::Result<()> {
    match command {
        TppCommand::Register {
            bank_url,
            ca,
            qwac,
            qwac_key,
            qseal,
            qseal_key,
            name,
            contacts,
            redirect_uris,
        } => {
            let identity = TppIdentity::from_files(
                &qwac,
                &qwac_key,
                &qseal,
                &qseal_key,
                "https://tpp.invalid/qseal.pem",
            )?;
            let client = identity.http_client(&ca)?;
            let answer = guichet_tpp::register(
                &client,
                bank_url.trim_end_matches('/'),
                &identity,
                &name,
                &contacts,
                &redirect_uris,
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
    }
}
