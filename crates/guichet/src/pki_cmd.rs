//! `guichet pki …`: the sandbox QTSP on the command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use guichet_eidas::Role;
use guichet_eidas::pki::{KeyAlgorithm, Qtsp, TppRequest, Validity};

use crate::config::default_data_dir;

fn default_pki_dir() -> PathBuf {
    default_data_dir().join("pki")
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyArg {
    Rsa,
    Ecdsa,
}

#[derive(Subcommand, Debug)]
pub enum PkiCommand {
    /// Create the QTSP (root and issuing CA) if it does not exist, and print its files.
    Init {
        #[arg(long, default_value_os_t = default_pki_dir())]
        dir: PathBuf,
    },
    /// Issue a TPP's QWAC and QSealC: qwac.pem, qwac.key, qseal.pem, qseal.key in --out.
    Tpp {
        /// The organizationIdentifier, e.g. PSDFR-ACPR-12345 (it becomes the client_id).
        #[arg(long)]
        org_id: String,
        /// PSD2 roles, comma-separated: AI, PI, IC, AS.
        #[arg(long, value_delimiter = ',', default_value = "AI")]
        roles: Vec<String>,
        #[arg(long)]
        out: PathBuf,
        /// The organisation name (O=).
        #[arg(long)]
        name: Option<String>,
        /// Validity in days from yesterday.
        #[arg(long, default_value_t = 365)]
        days: i64,
        #[arg(long, value_enum, default_value_t = KeyArg::Rsa)]
        key: KeyArg,
        /// Test variant: validity ended a month ago.
        #[arg(long)]
        expired: bool,
        /// Test variant: validity starts in a month.
        #[arg(long)]
        not_yet_valid: bool,
        /// Test variant: revoke the QWAC at once (it is on the CRL).
        #[arg(long)]
        revoked: bool,
        /// Test variant: QWAC with qcType eseal, QSealC with qcType web.
        #[arg(long)]
        swap_qc_types: bool,
        /// Test variant: no PSD2 QC statement.
        #[arg(long)]
        no_psd2: bool,
        /// Test variant: the QSealC carries this other organizationIdentifier.
        #[arg(long)]
        qseal_org_id: Option<String>,
        #[arg(long, default_value_os_t = default_pki_dir())]
        dir: PathBuf,
    },
    /// Issue a TLS server certificate (api.pem, api.key in --out) for host names and IPs.
    Server {
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_os_t = default_pki_dir())]
        dir: PathBuf,
    },
    /// Revoke a certificate by its serial number (hex) and rewrite the CRL.
    Revoke {
        #[arg(long)]
        serial: String,
        #[arg(long, default_value_os_t = default_pki_dir())]
        dir: PathBuf,
    },
}

pub fn run(command: PkiCommand) -> anyhow::Result<()> {
    match command {
        PkiCommand::Init { dir } => {
            let qtsp = Qtsp::open_or_create(&dir)?;
            println!(
                "root CA (trust it for the banks' servers): {}",
                qtsp.root_file().display()
            );
            println!("CRL: {}", qtsp.crl_file().display());
        }
        PkiCommand::Tpp {
            org_id,
            roles,
            out,
            name,
            days,
            key,
            expired,
            not_yet_valid,
            revoked,
            swap_qc_types,
            no_psd2,
            qseal_org_id,
            dir,
        } => {
            let roles = roles
                .iter()
                .map(|r| {
                    Role::parse(r)
                        .with_context(|| format!("unknown role '{r}': use AI, PI, IC or AS"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut request = TppRequest::new(&org_id, roles);
            if let Some(name) = name {
                request.org_name = name;
            }
            request.key = match key {
                KeyArg::Rsa => KeyAlgorithm::Rsa2048,
                KeyArg::Ecdsa => KeyAlgorithm::EcdsaP256,
            };
            request.validity = match (expired, not_yet_valid) {
                (true, _) => Validity::Expired,
                (_, true) => Validity::NotYetValid,
                _ => Validity::Days(days),
            };
            request.swap_qc_types = swap_qc_types;
            request.without_psd2 = no_psd2;
            request.qseal_org_id = qseal_org_id;
            let mut qtsp = Qtsp::open_or_create(&dir)?;
            let issued = qtsp.issue_tpp(&request)?;
            issued
                .qwac
                .write(&out.join("qwac.pem"), &out.join("qwac.key"))?;
            issued
                .qseal
                .write(&out.join("qseal.pem"), &out.join("qseal.key"))?;
            if revoked {
                qtsp.revoke(&issued.qwac.serial_hex)?;
            }
            println!(
                "QWAC  {} (serial {})",
                out.join("qwac.pem").display(),
                issued.qwac.serial_hex
            );
            println!(
                "QSealC {} (serial {})",
                out.join("qseal.pem").display(),
                issued.qseal.serial_hex
            );
        }
        PkiCommand::Server { names, out, dir } => {
            let mut qtsp = Qtsp::open_or_create(&dir)?;
            qtsp.issue_server(&names)?
                .write(&out.join("api.pem"), &out.join("api.key"))?;
            println!("{}", out.join("api.pem").display());
        }
        PkiCommand::Revoke { serial, dir } => {
            let mut qtsp = Qtsp::open_or_create(&dir)?;
            qtsp.revoke(&serial)?;
            println!("revoked {serial}; CRL {}", qtsp.crl_file().display());
        }
    }
    Ok(())
}
