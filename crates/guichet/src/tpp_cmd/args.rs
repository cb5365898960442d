//! The arguments of `guichet tpp …`.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use crate::config::default_data_dir;

fn demo(file: &str) -> PathBuf {
    default_data_dir().join("pki/tpps/demo").join(file)
}

fn default_dir() -> PathBuf {
    PathBuf::from("./guichet-tpp")
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Ofx,
}

#[derive(Subcommand, Debug)]
pub enum TppCommand {
    /// Create the TPP's folder and configuration; `--sandbox` fills it from a sandbox.json.
    Init {
        #[arg(long, default_value_os_t = default_data_dir().join("sandbox.json"))]
        sandbox: PathBuf,
        #[arg(long, default_value_os_t = default_dir())]
        dir: PathBuf,
        /// The loopback port of the OAuth2 redirect (default: the sandbox demo TPP's, 8765).
        #[arg(long)]
        redirect_port: Option<u16>,
    },
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
    /// Send the PSU to the bank's pages, catch the redirect on the loopback, get the tokens.
    Login {
        #[arg(long)]
        bank: String,
        #[arg(long, default_value = "aisp")]
        scope: String,
        /// Print the URL only; do not try to open a browser.
        #[arg(long)]
        no_browser: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Forward the PSU's consent: which accounts for balances, for transactions, identity.
    Consent {
        #[arg(long)]
        bank: String,
        /// Every account, for balances and transactions, and the identity.
        #[arg(long)]
        all: bool,
        #[arg(long = "balances")]
        balances: Vec<String>,
        #[arg(long = "transactions")]
        transactions: Vec<String>,
        #[arg(long)]
        identity: bool,
        #[arg(long)]
        beneficiaries: bool,
        #[command(flatten)]
        common: Common,
    },
    Accounts {
        #[arg(long)]
        bank: String,
        #[command(flatten)]
        common: Common,
    },
    Balances {
        #[arg(long)]
        bank: String,
        #[arg(long)]
        account: String,
        #[command(flatten)]
        common: Common,
    },
    Transactions {
        #[arg(long)]
        bank: String,
        #[arg(long)]
        account: String,
        /// First day (YYYY-MM-DD), included.
        #[arg(long)]
        from: Option<jiff::civil::Date>,
        /// Last day (YYYY-MM-DD), excluded.
        #[arg(long)]
        to: Option<jiff::civil::Date>,
        #[command(flatten)]
        common: Common,
    },
    Identity {
        #[arg(long)]
        bank: String,
        #[command(flatten)]
        common: Common,
    },
    Beneficiaries {
        #[arg(long)]
        bank: String,
        #[command(flatten)]
        common: Common,
    },
    /// Ask whether an amount is covered on an account (CBPII; a client-credentials token).
    FundsCheck {
        #[arg(long)]
        bank: String,
        #[arg(long)]
        iban: String,
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        common: Common,
    },
    /// Sync every logged-in bank at once into the local store.
    Sync {
        /// Batch mode: no PSU present (4 calls a day per account and method).
        #[arg(long)]
        batch: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Per bank: tokens, the day the 180-day SCA runs out, consent coverage, calls left today.
    Status {
        #[command(flatten)]
        common: Common,
    },
    /// Balances per account and bank, the total position, income and spending.
    Report {
        #[arg(long)]
        from: Option<jiff::civil::Date>,
        #[arg(long)]
        to: Option<jiff::civil::Date>,
        /// Also write a self-contained HTML page with the balance over time.
        #[arg(long)]
        html: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Export the synced operations.
    Export {
        #[arg(long, value_enum)]
        format: Format,
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Args, Debug)]
pub struct Common {
    /// The TPP's folder (config.toml, tokens, tpp.db).
    #[arg(long, default_value_os_t = default_dir())]
    pub dir: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// The PSU's IP address (the PSU is using the TPP now); default 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1")]
    pub psu_ip: String,
}
