//! What a conformance run is pointed at: the banks' endpoints, the TPP's certificates, and the
//! personas whose logins the cases use. Read from TOML or JSON, or built from a Guichet
//! sandbox's `sandbox.json`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ConformanceError;

/// A conformance run's configuration.
///
/// ```toml
/// client_id = "PSDFR-ACPR-12345"
/// redirect_uri = "http://127.0.0.1:8765/callback"
/// ca_file = "pki/ca/root.pem"
///
/// [tpp]
/// qwac = "pki/tpps/demo/qwac.pem"
/// qwac_key = "pki/tpps/demo/qwac.key"
/// qseal = "pki/tpps/demo/qseal.pem"
/// qseal_key = "pki/tpps/demo/qseal.key"
/// key_id_url = "https://tpp.example/qseal.pem"
///
/// [[banks]]
/// code = "17515"
/// api_base_url = "https://127.0.0.1:8431/stet/psd2/v1.4.2"
/// token_url = "https://127.0.0.1:8431/stet/psd2/oauth/token"
/// revoke_url = "https://127.0.0.1:8431/stet/psd2/oauth/revoke"
/// authorize_url = "https://127.0.0.1:8441/stet/psd2/oauth/authorize"
///
/// [[personas]]
/// name = "CLAIRE"
/// bank = "17515"
/// identifier = "D0999991I0"
/// login = "sandbox"          # or "manual": the run prints the login URL and waits
/// ibans = ["FR7617515900000400358074026", "FR7617515900000800358074006"]
/// cases = ["accounts", "balances", "zero-balance:FR7617515900000400358074026"]
/// ```
///
/// Relative paths in a file are relative to the file's folder ([`Config::load`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The TPP's OAuth2 client_id: its organizationIdentifier, e.g. `PSDFR-ACPR-12345`.
    pub client_id: String,
    /// The redirect URI registered at the banks. Logins catch the bank's redirect there, so it
    /// must be an `http` loopback URI such as `http://127.0.0.1:8765/callback`.
    pub redirect_uri: String,
    /// The CA that signs the banks' server certificates (PEM).
    pub ca_file: PathBuf,
    pub tpp: TppFiles,
    pub banks: Vec<BankConfig>,
    pub personas: Vec<Persona>,
}

/// The TPP's eIDAS certificates and keys (PEM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TppFiles {
    pub qwac: PathBuf,
    pub qwac_key: PathBuf,
    pub qseal: PathBuf,
    pub qseal_key: PathBuf,
    /// The URL part of the signatures' keyId: `<key_id_url>_<SHA-256 of the QSealC>`.
    pub key_id_url: String,
}

/// One bank under test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankConfig {
    /// The bank code, e.g. `30258`.
    pub code: String,
    #[serde(default)]
    pub name: String,
    /// The STET API base, e.g. `https://www.30258.live.api.89c3.com/stet/psd2/v1.4.2`.
    pub api_base_url: String,
    pub token_url: String,
    pub revoke_url: String,
    pub authorize_url: String,
    /// The bank's time zone: its "today" for date filters (default Europe/Paris).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// The batch allowance the bank announces, per account, AIS method and day (the portal: 4).
    #[serde(default = "default_batch_calls")]
    pub batch_calls_per_day: i64,
    /// The bank's QSealC (PEM), to verify the signature of its funds-confirmation answers
    /// (STET CR199); without it only their `Digest` is checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qseal_certificate: Option<PathBuf>,
}

fn default_time_zone() -> String {
    "Europe/Paris".to_owned()
}

fn default_batch_calls() -> i64 {
    4
}

/// How a persona logs in at its bank's authorization pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Login {
    /// A Guichet sandbox: the run fills the pages itself (password `sandbox`, the code shown).
    #[default]
    Sandbox,
    /// Any bank: the run prints the login URL and waits for the redirect on the loopback.
    Manual,
}

/// A customer of a bank whose login the cases use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    /// A name for the report, e.g. `CLAIRE`.
    pub name: String,
    /// The code of the persona's bank (one of `banks`).
    pub bank: String,
    /// What the persona types as identifier on the bank's login page.
    pub identifier: String,
    #[serde(default)]
    pub login: Login,
    /// The eligible payment accounts the persona is expected to have (GET /accounts).
    pub ibans: Vec<String>,
    /// The roles the persona plays: which cases use it (see [`Role`]).
    #[serde(default)]
    pub cases: Vec<Role>,
}

impl Persona {
    /// `CLAIRE@17515`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.name, self.bank)
    }
}

/// A role a persona plays in the cases, written as a string in the configuration: a name,
/// and for some an IBAN (`zero-balance:FR76…`) or an IBAN and a number of days
/// (`history-depth:FR76…:62`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Role {
    /// `accounts`: the accounts, consent and framework cases, and the OAuth2 cases (needs two
    /// accounts or more).
    Accounts,
    /// `balances`: the balances of each of its accounts are checked.
    Balances,
    /// `zero-balance:IBAN`: the accounting balance of this account is 0.
    ZeroBalance(String),
    /// `positive-balance:IBAN`.
    PositiveBalance(String),
    /// `negative-balance:IBAN`.
    NegativeBalance(String),
    /// `no-transactions:IBAN`: the account has no operation (204).
    NoTransactions(String),
    /// `transactions:IBAN`: an account with operations most days, for the date filters.
    Transactions(String),
    /// `history-depth:IBAN:DAYS`: the transaction history the bank gives for this account
    /// (62 or 90 days).
    HistoryDepth { iban: String, days: i64 },
    /// `operation-cap:IBAN`: an account with more than 500 operations in its history depth.
    OperationCap(String),
    /// `identity`: consents to its identity, which the bank offers.
    Identity,
    /// `identity-not-consented`: its identity is asked without consent (403).
    IdentityNotConsented,
    /// `identity-not-offered`: at a bank that does not offer the identity (403).
    IdentityNotOffered,
    /// `beneficiaries`: has trusted beneficiaries, at a bank that offers them.
    Beneficiaries,
    /// `beneficiaries-not-offered`: at a bank that does not offer them (501).
    BeneficiariesNotOffered,
    /// `funds-confirmation:IBAN`: an account with a positive balance on which the TPP is
    /// registered for funds confirmation.
    FundsConfirmation(String),
    /// `batch-allowance:IBAN`: the case spends today's batch allowance of this account's
    /// balances method.
    BatchAllowance(String),
    /// `insufficient-scope`: logs in with the `cbpii` scope only, for the 403 cases.
    InsufficientScope,
}

impl Role {
    /// The IBAN the role names, if any.
    pub fn iban(&self) -> Option<&str> {
        match self {
            Role::ZeroBalance(iban)
            | Role::PositiveBalance(iban)
            | Role::NegativeBalance(iban)
            | Role::NoTransactions(iban)
            | Role::Transactions(iban)
            | Role::HistoryDepth { iban, .. }
            | Role::OperationCap(iban)
            | Role::FundsConfirmation(iban)
            | Role::BatchAllowance(iban) => Some(iban),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Accounts => write!(f, "accounts"),
            Role::Balances => write!(f, "balances"),
            Role::ZeroBalance(iban) => write!(f, "zero-balance:{iban}"),
            Role::PositiveBalance(iban) => write!(f, "positive-balance:{iban}"),
            Role::NegativeBalance(iban) => write!(f, "negative-balance:{iban}"),
            Role::NoTransactions(iban) => write!(f, "no-transactions:{iban}"),
            Role::Transactions(iban) => write!(f, "transactions:{iban}"),
            Role::HistoryDepth { iban, days } => write!(f, "history-depth:{iban}:{days}"),
            Role::OperationCap(iban) => write!(f, "operation-cap:{iban}"),
            Role::Identity => write!(f, "identity"),
            Role::IdentityNotConsented => write!(f, "identity-not-consented"),
            Role::IdentityNotOffered => write!(f, "identity-not-offered"),
            Role::Beneficiaries => write!(f, "beneficiaries"),
            Role::BeneficiariesNotOffered => write!(f, "beneficiaries-not-offered"),
            Role::FundsConfirmation(iban) => write!(f, "funds-confirmation:{iban}"),
            Role::BatchAllowance(iban) => write!(f, "batch-allowance:{iban}"),
            Role::InsufficientScope => write!(f, "insufficient-scope"),
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        let mut parts = text.trim().split(':');
        let name = parts.next().unwrap_or("");
        let args: Vec<String> = parts.map(|p| p.trim().to_owned()).collect();
        let iban = || match args.as_slice() {
            [iban] if !iban.is_empty() => Ok(iban.clone()),
            _ => Err(format!("role '{text}': write it '{name}:IBAN'")),
        };
        let none = |role: Role| {
            if args.is_empty() {
                Ok(role)
            } else {
                Err(format!("role '{text}': '{name}' takes no argument"))
            }
        };
        match name {
            "accounts" => none(Role::Accounts),
            "balances" => none(Role::Balances),
            "zero-balance" => iban().map(Role::ZeroBalance),
            "positive-balance" => iban().map(Role::PositiveBalance),
            "negative-balance" => iban().map(Role::NegativeBalance),
            "no-transactions" => iban().map(Role::NoTransactions),
            "transactions" => iban().map(Role::Transactions),
            "history-depth" => match args.as_slice() {
                [iban, days] if !iban.is_empty() => days
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (1..=3660).contains(d))
                    .map(|days| Role::HistoryDepth {
                        iban: iban.clone(),
                        days,
                    })
                    .ok_or_else(|| format!("role '{text}': the days must be a number, e.g. 62")),
                _ => Err(format!("role '{text}': write it 'history-depth:IBAN:DAYS'")),
            },
            "operation-cap" => iban().map(Role::OperationCap),
            "identity" => none(Role::Identity),
            "identity-not-consented" => none(Role::IdentityNotConsented),
            "identity-not-offered" => none(Role::IdentityNotOffered),
            "beneficiaries" => none(Role::Beneficiaries),
            "beneficiaries-not-offered" => none(Role::BeneficiariesNotOffered),
            "funds-confirmation" => iban().map(Role::FundsConfirmation),
            "batch-allowance" => iban().map(Role::BatchAllowance),
            "insufficient-scope" => none(Role::InsufficientScope),
            other => Err(format!(
                "unknown role '{other}'; known: accounts, balances, zero-balance:IBAN, positive-balance:IBAN, negative-balance:IBAN, no-transactions:IBAN, transactions:IBAN, history-depth:IBAN:DAYS, operation-cap:IBAN, identity, identity-not-consented, identity-not-offered, beneficiaries, beneficiaries-not-offered, funds-confirmation:IBAN, batch-allowance:IBAN, insufficient-scope"
            )),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(text: String) -> Result<Role, String> {
        text.parse()
    }
}

impl From<Role> for String {
    fn from(role: Role) -> String {
        role.to_string()
    }
}

/// The roles of the sandbox's personas, from README's persona table: who exercises what.
const SANDBOX_PERSONAS: &[(&str, &str, &[&str])] = &[
    (
        "17515",
        "CLAIRE",
        &[
            "accounts",
            "balances",
            "zero-balance:FR7617515900000400358074026",
            "positive-balance:FR7617515900000800358074006",
            "no-transactions:FR7617515900000400358074026",
            "beneficiaries",
            "funds-confirmation:FR7617515900000800358074006",
        ],
    ),
    (
        "17515",
        "LEA",
        &[
            "balances",
            "negative-balance:FR7617515900000412345670131",
            "history-depth:FR7617515900000412345670131:62",
            "batch-allowance:FR7617515900000412345670131",
            "insufficient-scope",
        ],
    ),
    (
        "17515",
        "GEORGES",
        &["balances", "transactions:FR7617515900000876543210181"],
    ),
    ("17515", "MARC", &["balances", "identity"]),
    ("17515", "TECHNCO", &["identity-not-consented"]),
    (
        "30258",
        "GEORGES",
        &[
            "balances",
            "history-depth:FR7630258000010845678910194:62",
            "identity-not-offered",
            "beneficiaries-not-offered",
        ],
    ),
    (
        "30258",
        "ATLAS",
        &[
            "balances",
            "history-depth:FR7630258000010811122230193:90",
            "operation-cap:FR7630258000010811122230193",
            "negative-balance:FR7630258000010811122230290",
        ],
    ),
];

/// The key id URL of the sandbox's demo TPP (the bank never fetches it).
const SANDBOX_KEY_ID_URL: &str = "https://demo.tpp/qseal.pem";

fn text(value: &Value, what: &str) -> Result<String, ConformanceError> {
    value
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ConformanceError::Sandbox(format!("{what} is missing")))
}

impl Config {
    /// The configuration for a Guichet sandbox, from its `sandbox.json`: its banks, the demo
    /// TPP, and the personas CLAIRE, LEA, GEORGES, MARC and TECHNCO at 17515, GEORGES and
    /// ATLAS at 30258, each with the roles README's persona table gives it. Paths are taken
    /// as the file gives them (see [`Config::from_sandbox_file`]).
    pub fn from_sandbox(manifest: &Value) -> Result<Config, ConformanceError> {
        if let Some(mode) = manifest["mode"].as_str()
            && mode != "sandbox"
        {
            return Err(ConformanceError::Sandbox(format!(
                "the server runs in {mode} mode: sandbox logins need a sandbox"
            )));
        }
        let demo = &manifest["demoTpp"];
        let mut banks = Vec::new();
        let mut personas = Vec::new();
        for bank in manifest["banks"].as_array().into_iter().flatten() {
            let code = text(&bank["code"], "a bank's code")?;
            let what = |field: &str| format!("bank {code}: {field}");
            banks.push(BankConfig {
                name: bank["name"].as_str().unwrap_or_default().to_owned(),
                api_base_url: text(&bank["apiBaseUrl"], &what("apiBaseUrl"))?,
                token_url: text(&bank["tokenUrl"], &what("tokenUrl"))?,
                revoke_url: text(&bank["revokeUrl"], &what("revokeUrl"))?,
                authorize_url: text(&bank["authorizeUrl"], &what("authorizeUrl"))?,
                time_zone: bank["timeZone"]
                    .as_str()
                    .map_or_else(default_time_zone, str::to_owned),
                batch_calls_per_day: bank["offers"]["batchCallsPerDay"]
                    .as_i64()
                    .unwrap_or_else(default_batch_calls),
                qseal_certificate: bank["qsealCertificate"].as_str().map(PathBuf::from),
                code: code.clone(),
            });
            for entry in bank["personas"].as_array().into_iter().flatten() {
                let name = entry["persona"].as_str().unwrap_or_default();
                let Some((_, _, roles)) = SANDBOX_PERSONAS
                    .iter()
                    .find(|(c, p, _)| *c == code && *p == name)
                else {
                    continue;
                };
                let ibans: Vec<String> = entry["accounts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|a| a["eligible"].as_bool().unwrap_or(true))
                    .filter_map(|a| a["iban"].as_str().map(str::to_owned))
                    .collect();
                let cases = roles
                    .iter()
                    .filter_map(|r| r.parse::<Role>().ok())
                    .filter(|r| r.iban().is_none_or(|i| ibans.iter().any(|own| own == i)))
                    .collect();
                personas.push(Persona {
                    name: name.to_owned(),
                    bank: code.clone(),
                    identifier: entry["psuId"]
                        .as_str()
                        .or_else(|| entry["login"]["identifier"].as_str())
                        .unwrap_or(name)
                        .to_owned(),
                    login: Login::Sandbox,
                    ibans,
                    cases,
                });
            }
        }
        if banks.is_empty() {
            return Err(ConformanceError::Sandbox("no bank is listed".into()));
        }
        Ok(Config {
            client_id: text(&demo["clientId"], "demoTpp.clientId")?,
            redirect_uri: text(&demo["redirectUri"], "demoTpp.redirectUri")?,
            ca_file: PathBuf::from(text(&manifest["caFile"], "caFile")?),
            tpp: TppFiles {
                qwac: PathBuf::from(text(&demo["qwac"], "demoTpp.qwac")?),
                qwac_key: PathBuf::from(text(&demo["qwacKey"], "demoTpp.qwacKey")?),
                qseal: PathBuf::from(text(&demo["qseal"], "demoTpp.qseal")?),
                qseal_key: PathBuf::from(text(&demo["qsealKey"], "demoTpp.qsealKey")?),
                key_id_url: SANDBOX_KEY_ID_URL.to_owned(),
            },
            banks,
            personas,
        })
    }

    /// [`Config::from_sandbox`] from the file, its relative paths located: `pathsAre:
    /// "relativeToFile"` makes them relative to the file; otherwise a relative path is taken
    /// from the current folder when it exists there (the folder the server ran in), else from
    /// the file's folder or its parent.
    pub fn from_sandbox_file(path: &Path) -> Result<Config, ConformanceError> {
        let named = |message: String| ConformanceError::File {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            named(format!(
                "{e} (start the sandbox with `guichet serve`; it writes guichet-data/sandbox.json)"
            ))
        })?;
        let manifest: Value = serde_json::from_str(&text).map_err(|e| named(e.to_string()))?;
        let mut config = Config::from_sandbox(&manifest)?;
        let folder = path.parent().map(Path::to_owned).unwrap_or_default();
        if manifest["pathsAre"].as_str() == Some("relativeToFile") {
            config.resolve_paths(&folder);
        } else {
            let parent = folder.parent().map(Path::to_owned).unwrap_or_default();
            for file in config.paths_mut() {
                if file.is_relative() && !file.exists() {
                    for base in [&folder, &parent] {
                        let candidate = base.join(&*file);
                        if candidate.exists() {
                            *file = candidate;
                            break;
                        }
                    }
                }
            }
        }
        config.absolutize();
        Ok(config)
    }

    /// Reads a configuration file: JSON when its name ends in `.json`, TOML otherwise. Its
    /// relative paths are relative to its folder.
    pub fn load(path: &Path) -> Result<Config, ConformanceError> {
        let named = |message: String| ConformanceError::File {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| named(e.to_string()))?;
        let mut config: Config = if is_json(path) {
            serde_json::from_str(&text).map_err(|e| named(e.to_string()))?
        } else {
            toml::from_str(&text).map_err(|e| named(e.to_string()))?
        };
        if let Some(folder) = path.parent() {
            config.resolve_paths(folder);
        }
        config.check()?;
        Ok(config)
    }

    /// Writes the configuration: JSON when the name ends in `.json`, TOML otherwise.
    pub fn save(&self, path: &Path) -> Result<(), ConformanceError> {
        let named = |message: String| ConformanceError::File {
            path: path.display().to_string(),
            message,
        };
        let text = if is_json(path) {
            serde_json::to_string_pretty(self).map_err(|e| named(e.to_string()))?
        } else {
            self.to_toml()?
        };
        if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|e| named(e.to_string()))?;
        }
        std::fs::write(path, text).map_err(|e| named(e.to_string()))
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> Result<String, ConformanceError> {
        toml::to_string_pretty(self).map_err(|e| ConformanceError::Config(e.to_string()))
    }

    /// Makes every relative path relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        for file in self.paths_mut() {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
    }

    /// Turns the paths that exist into absolute ones (from the current folder).
    fn absolutize(&mut self) {
        for file in self.paths_mut() {
            if file.is_relative()
                && let Ok(absolute) = std::path::absolute(&*file)
            {
                *file = absolute;
            }
        }
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        let mut paths = vec![
            &mut self.ca_file,
            &mut self.tpp.qwac,
            &mut self.tpp.qwac_key,
            &mut self.tpp.qseal,
            &mut self.tpp.qseal_key,
        ];
        for bank in &mut self.banks {
            if let Some(seal) = &mut bank.qseal_certificate {
                paths.push(seal);
            }
        }
        paths
    }

    /// That every persona's bank is configured.
    pub fn check(&self) -> Result<(), ConformanceError> {
        for persona in &self.personas {
            if !self.banks.iter().any(|b| b.code == persona.bank) {
                return Err(ConformanceError::Config(format!(
                    "persona {}: no bank {} among the banks",
                    persona.name, persona.bank
                )));
            }
        }
        Ok(())
    }

    pub fn bank(&self, code: &str) -> Option<&BankConfig> {
        self.banks.iter().find(|b| b.code == code)
    }
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

#[cfg(test)]
mod tests;
