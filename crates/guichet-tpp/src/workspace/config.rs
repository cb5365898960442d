//! `config.toml`: the TPP's certificates, its banks, and each bank's options; read and
//! written.

use super::*;

/// The TPP's two eIDAS certificates and their keys (PEM files), in `[tpp]` of `config.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificates {
    /// The QWAC (PEM; the chain may follow it), presented in mutual TLS.
    pub qwac: PathBuf,
    /// The QWAC's private key (PEM, PKCS#8 or the key's own format).
    pub qwac_key: PathBuf,
    /// The QSealC (PEM), whose key signs every request.
    pub qseal: PathBuf,
    pub qseal_key: PathBuf,
    /// The keyId of the signatures is this URL, `_`, and the QSealC's SHA-256.
    pub key_id_base: String,
}

/// The TPP's configuration: `config.toml` in its folder. `guichet tpp init` writes it from a
/// sandbox's `sandbox.json`; for other banks, write it by hand. Relative paths are relative to
/// the folder the command runs in (`init` writes absolute ones).
///
/// ```toml
/// # The CA that signs the banks' server certificates (PEM).
/// ca_file = "/home/me/guichet-data/pki/ca/root.pem"
/// # The loopback port of the OAuth2 redirect, http://127.0.0.1:<port>/callback: the redirect
/// # URI registered at each bank.
/// redirect_port = 8765
///
/// [tpp]
/// qwac = "/home/me/tpp/qwac.pem"
/// qwac_key = "/home/me/tpp/qwac.key"
/// qseal = "/home/me/tpp/qseal.pem"
/// qseal_key = "/home/me/tpp/qseal.key"
/// key_id_base = "https://tpp.example/qseal.pem"
///
/// # One [[banks]] table per bank.
/// [[banks]]
/// code = "17515"
/// name = "Caisse d'Epargne Île-de-France"
/// api_base = "https://127.0.0.1:8431/stet/psd2/v1.4.2"
/// token_url = "https://127.0.0.1:8431/stet/psd2/oauth/token"
/// revoke_url = "https://127.0.0.1:8431/stet/psd2/oauth/revoke"
/// authorize_url = "https://127.0.0.1:8441/stet/psd2/oauth/authorize"
/// # Optional (see [`BankOptions`]):
/// time_zone = "Europe/Paris"   # the bank's day; default Europe/Paris
/// batch_calls_per_day = 4      # the batch allowance per account and method; default 4
/// sandbox = true               # a Guichet sandbox: `tpp login --sandbox-psu` allowed
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The CA that signs the banks' server certificates.
    pub ca_file: PathBuf,
    /// The loopback port of the OAuth2 redirect (`http://127.0.0.1:<port>/callback`).
    pub redirect_port: u16,
    pub tpp: Certificates,
    pub banks: Vec<BankEndpoints>,
}

/// What a bank's `[[banks]]` table of `config.toml` may say beyond its endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankOptions {
    /// The bank's IANA time zone (`Europe/Paris`): its day, and the midnight when its batch
    /// allowance starts again. Default [`crate::clock::DEFAULT_TIME_ZONE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The bank's batch calls per account, method and day (default 4, PSD2 RTS art. 36(5)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_calls_per_day: Option<i64>,
    /// The bank is a Guichet sandbox (`tpp init` from a `sandbox.json` says so): only then may
    /// the program fill its login pages (`tpp login --sandbox-psu`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub sandbox: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl BankOptions {
    /// The bank's time zone.
    pub fn zone(&self) -> Result<jiff::tz::TimeZone, TppError> {
        crate::clock::zone(self.zone_name())
    }

    pub fn zone_name(&self) -> &str {
        self.time_zone
            .as_deref()
            .unwrap_or(crate::clock::DEFAULT_TIME_ZONE)
    }

    pub fn calls_per_day(&self) -> i64 {
        self.batch_calls_per_day
            .unwrap_or(crate::sync::BATCH_CALLS_PER_DAY)
    }
}

/// The options of each bank, by bank code.
pub type BankOptionsMap = BTreeMap<String, BankOptions>;

/// `config.toml` as written: [`Config`] with each bank's [`BankOptions`] in its table.
#[derive(Serialize)]
struct ConfigFile<'a> {
    ca_file: &'a Path,
    redirect_port: u16,
    tpp: &'a Certificates,
    banks: Vec<BankTable<'a>>,
}

#[derive(Serialize)]
struct BankTable<'a> {
    code: &'a str,
    name: &'a str,
    api_base: &'a str,
    token_url: &'a str,
    revoke_url: &'a str,
    authorize_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_zone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_calls_per_day: Option<i64>,
    #[serde(skip_serializing_if = "is_false")]
    sandbox: bool,
}

/// The options of `config.toml`, read apart from [`Config`] (which ignores them).
#[derive(Deserialize)]
struct OptionsFile {
    #[serde(default)]
    banks: Vec<BankOptionsTable>,
}

#[derive(Deserialize)]
struct BankOptionsTable {
    code: String,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    batch_calls_per_day: Option<i64>,
    #[serde(default)]
    sandbox: bool,
}

pub(super) fn parse_options(text: &str) -> Result<BankOptionsMap, toml::de::Error> {
    let file: OptionsFile = toml::from_str(text)?;
    Ok(file
        .banks
        .into_iter()
        .map(|b| {
            (
                b.code,
                BankOptions {
                    time_zone: b.time_zone,
                    batch_calls_per_day: b.batch_calls_per_day,
                    sandbox: b.sandbox,
                },
            )
        })
        .collect())
}

const HEADER: &str = "# The TPP's configuration for `guichet tpp` (format: README, \"The TPP side\", or the\n# rustdoc of guichet_tpp::Config). Tokens are in tokens/<bank>.json, synced data in tpp.db.\n\n";

/// The text of `config.toml`.
pub fn config_text(config: &Config, options: &BankOptionsMap) -> Result<String, TppError> {
    let file = ConfigFile {
        ca_file: &config.ca_file,
        redirect_port: config.redirect_port,
        tpp: &config.tpp,
        banks: config
            .banks
            .iter()
            .map(|b| {
                let extra = options.get(&b.code);
                BankTable {
                    code: &b.code,
                    name: &b.name,
                    api_base: &b.api_base,
                    token_url: &b.token_url,
                    revoke_url: &b.revoke_url,
                    authorize_url: &b.authorize_url,
                    time_zone: extra.and_then(|o| o.time_zone.as_deref()),
                    batch_calls_per_day: extra.and_then(|o| o.batch_calls_per_day),
                    sandbox: extra.is_some_and(|o| o.sandbox),
                }
            })
            .collect(),
    };
    let text = toml::to_string_pretty(&file).map_err(|e| TppError::Local(e.to_string()))?;
    Ok(format!("{HEADER}{text}"))
}

/// Reads a configuration and its options from `config.toml`'s text; errors name `path`.
pub fn parse_config(text: &str, path: &Path) -> Result<(Config, BankOptionsMap), TppError> {
    let named = |e: &dyn std::fmt::Display| TppError::Local(format!("{}: {e}", path.display()));
    let config: Config = toml::from_str(text).map_err(|e| named(&e))?;
    let options = parse_options(text).map_err(|e| named(&e))?;
    for (code, option) in &options {
        option
            .zone()
            .map_err(|e| named(&format!("bank {code}: {e}")))?;
    }
    Ok((config, options))
}
