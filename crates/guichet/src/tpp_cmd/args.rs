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
    /// ISO 20022 camt.053.001.08: booked operations, opening and closing balances.
    Camt053,
}

#[derive(Subcommand, Debug)]
pub enum TppCommand {
    /// Create the TPP's folder and its config.toml from a sandbox.json; never replaces an
    /// existing config.toml without --force.
    Init(InitArgs),
    /// Register (or update) the TPP at a bank, over mutual TLS with its QWAC, sending its QSealC.
    /// Prints the bank's answer as JSON.
    Register(RegisterArgs),
    /// Log the PSU in at a bank: its pages in a browser, the redirect caught on the loopback;
    /// or, at a Guichet sandbox, `--sandbox-psu GEORGES` fills the pages itself.
    Login(LoginArgs),
    /// Forward the PSU's consent: which accounts for balances, for transactions, identity.
    /// Without a terminal, --all, --none or explicit lists are required.
    Consent(ConsentArgs),
    /// The PSU's accounts at a bank and what the consent covers.
    Accounts(BankArgs),
    /// The balances of an account (IBAN or the bank's resourceId).
    Balances(AccountArgs),
    /// The transactions of an account (IBAN or the bank's resourceId).
    Transactions(TransactionsArgs),
    /// The PSU's identity at a bank.
    Identity(BankArgs),
    /// The PSU's trusted beneficiaries at a bank.
    Beneficiaries(BankArgs),
    /// Ask whether an amount is covered on an account (CBPII; the TPP's client-credentials
    /// token, kept apart from the PSU's tokens).
    FundsCheck(FundsArgs),
    /// Sync every logged-in bank at once into the local store.
    Sync(SyncArgs),
    /// Per bank: the tokens (checked with the bank), the day the PSU's 180-day SCA runs out,
    /// consent coverage, batch calls left today.
    Status(Common),
    /// Balances per account and bank, the total position, income and spending.
    Report(ReportArgs),
    /// Export the synced operations.
    Export(ExportArgs),
}

impl TppCommand {
    /// Whether `--json` was asked: output and errors as JSON on stdout.
    pub fn json(&self) -> bool {
        match self {
            TppCommand::Init(a) => a.json,
            TppCommand::Register(a) => a.json,
            TppCommand::Login(a) => a.common.json,
            TppCommand::Consent(a) => a.common.json,
            TppCommand::Accounts(a) | TppCommand::Identity(a) | TppCommand::Beneficiaries(a) => {
                a.common.json
            }
            TppCommand::Balances(a) => a.common.json,
            TppCommand::Transactions(a) => a.account.common.json,
            TppCommand::FundsCheck(a) => a.common.json,
            TppCommand::Sync(a) => a.common.json,
            TppCommand::Status(common) => common.json,
            TppCommand::Report(a) => a.common.json,
            TppCommand::Export(a) => a.common.json,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The sandbox.json of a `guichet serve` sandbox: its banks, CA and demo TPP.
    #[arg(long, default_value_os_t = default_data_dir().join("sandbox.json"))]
    pub sandbox: PathBuf,
    /// The TPP's folder (config.toml, tokens, tpp.db).
    #[arg(long, default_value_os_t = default_dir())]
    pub dir: PathBuf,
    /// The loopback port of the OAuth2 redirect (default: the sandbox demo TPP's, 8765).
    #[arg(long)]
    pub redirect_port: Option<u16>,
    /// Replace an existing config.toml.
    #[arg(long)]
    pub force: bool,
    /// The TPP's QWAC (PEM) instead of the sandbox demo TPP's.
    #[arg(long)]
    pub qwac: Option<PathBuf>,
    #[arg(long)]
    pub qwac_key: Option<PathBuf>,
    /// The TPP's QSealC (PEM) instead of the sandbox demo TPP's.
    #[arg(long)]
    pub qseal: Option<PathBuf>,
    #[arg(long)]
    pub qseal_key: Option<PathBuf>,
    /// The URL part of the signatures' keyId (`<url>_<SHA-256 of the QSealC>`).
    #[arg(long)]
    pub key_id_base: Option<String>,
    /// The CA that signs the banks' server certificates, instead of the sandbox's.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Machine-readable output (errors included).
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct RegisterArgs {
    /// The bank's origin, e.g. https://127.0.0.1:8431.
    #[arg(long)]
    pub bank_url: String,
    /// The CA that signs the bank's server certificate.
    #[arg(long, default_value_os_t = default_data_dir().join("pki/ca/root.pem"))]
    pub ca: PathBuf,
    #[arg(long, default_value_os_t = demo("qwac.pem"))]
    pub qwac: PathBuf,
    #[arg(long, default_value_os_t = demo("qwac.key"))]
    pub qwac_key: PathBuf,
    #[arg(long, default_value_os_t = demo("qseal.pem"))]
    pub qseal: PathBuf,
    #[arg(long, default_value_os_t = demo("qseal.key"))]
    pub qseal_key: PathBuf,
    #[arg(long)]
    pub name: String,
    #[arg(long = "contact")]
    pub contacts: Vec<String>,
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Errors as JSON too (the answer is always JSON).
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    #[arg(long)]
    pub bank: String,
    #[arg(long, default_value = "aisp")]
    pub scope: String,
    /// Print the URL only; do not try to open a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// At a Guichet sandbox only: log this persona (or PSU id) in without a browser, the
    /// program filling the sandbox's pages. Refused for a bank config.toml does not mark
    /// `sandbox = true`.
    #[arg(long, value_name = "PERSONA")]
    pub sandbox_psu: Option<String>,
    /// How long to wait for the bank's redirect, in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
pub struct ConsentArgs {
    #[arg(long)]
    pub bank: String,
    /// Every account, for balances and transactions, and the identity.
    #[arg(long, conflicts_with_all = ["none", "balances", "transactions"])]
    pub all: bool,
    /// Share nothing: the consent then covers no account (it revokes every one).
    #[arg(long, conflicts_with_all = ["balances", "transactions", "identity", "beneficiaries"])]
    pub none: bool,
    /// An account (IBAN or the bank's resourceId) whose balances are shared; repeatable.
    #[arg(long = "balances", value_name = "ACCOUNT")]
    pub balances: Vec<String>,
    /// An account (IBAN or the bank's resourceId) whose transactions are shared; repeatable.
    #[arg(long = "transactions", value_name = "ACCOUNT")]
    pub transactions: Vec<String>,
    /// Share the PSU's identity.
    #[arg(long)]
    pub identity: bool,
    /// Share the PSU's trusted beneficiaries.
    #[arg(long)]
    pub beneficiaries: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
pub struct BankArgs {
    #[arg(long)]
    pub bank: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
pub struct AccountArgs {
    #[arg(long)]
    pub bank: String,
    /// The account: its IBAN or the bank's resourceId.
    #[arg(long)]
    pub account: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
pub struct TransactionsArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    /// First day (YYYY-MM-DD), included.
    #[arg(long)]
    pub from: Option<jiff::civil::Date>,
    /// Last day (YYYY-MM-DD), excluded.
    #[arg(long)]
    pub to: Option<jiff::civil::Date>,
}

#[derive(clap::Args, Debug)]
pub struct FundsArgs {
    #[arg(long)]
    pub bank: String,
    /// The account: its IBAN, or the bank's resourceId (looked up in the synced accounts, or
    /// at the bank with the PSU's tokens).
    #[arg(long, alias = "iban")]
    pub account: String,
    #[arg(long)]
    pub amount: String,
    #[arg(long, default_value = "EUR")]
    pub currency: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    /// Batch mode: no PSU present (4 calls a day per account and method).
    #[arg(long)]
    pub batch: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    #[arg(long)]
    pub from: Option<jiff::civil::Date>,
    #[arg(long)]
    pub to: Option<jiff::civil::Date>,
    /// Also write a self-contained HTML page with the balance over time.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// The customer's name, for the page's title (the banks do not give it to an AISP here).
    #[arg(long)]
    pub customer: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[arg(long, value_enum)]
    pub format: Format,
    /// Write to this file instead of stdout (with --json, a JSON line says what was written).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
pub struct Common {
    /// The TPP's folder (config.toml, tokens, tpp.db).
    #[arg(long, default_value_os_t = default_dir())]
    pub dir: PathBuf,
    /// Machine-readable output, errors included (as JSON on stdout, with a non-zero exit).
    #[arg(long)]
    pub json: bool,
    /// The PSU's IP address (the PSU is using the TPP now); default 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1")]
    pub psu_ip: String,
}
