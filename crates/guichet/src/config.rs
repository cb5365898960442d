//! Configuration: defaults, then an optional TOML file, then `GUICHET_*` environment variables
//! and flags (clap reads both).

use std::path::{Path, PathBuf};

use anyhow::Context;
use guichet_aspsp::{BankProfile, Mode};
use guichet_store::DatabaseUrl;
use serde::Deserialize;

/// The optional configuration file (`--config guichet.toml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub mode: Option<Mode>,
    pub database_url: Option<String>,
    pub listen: Option<std::net::IpAddr>,
    pub port: Option<u16>,
    pub psu_port: Option<u16>,
    pub host_domain: Option<String>,
    pub pool_size: Option<u32>,
    /// MiB of transactions pages kept in memory (32; 0 keeps none).
    pub page_cache_mb: Option<u32>,
    #[serde(default)]
    pub banks: Vec<BankProfile>,
    /// Production TLS and eIDAS material (the sandbox makes its own).
    pub tls: Option<FileTls>,
    /// Connection and request limits of the edge (README, "Security").
    pub edge: Option<guichet_aspsp::conn::EdgeLimits>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTls {
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub trust_files: Vec<PathBuf>,
    #[serde(default)]
    pub crl_files: Vec<PathBuf>,
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: i64,
    #[serde(default)]
    pub bank_seals: Vec<FileBankSeal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBankSeal {
    pub bank_code: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn default_skew() -> i64 {
    300
}

impl FileTls {
    pub fn into_config(self) -> guichet_aspsp::security::TlsConfig {
        guichet_aspsp::security::TlsConfig {
            server_cert: self.server_cert,
            server_key: self.server_key,
            trust_files: self.trust_files,
            crl_files: self.crl_files,
            bank_seals: self
                .bank_seals
                .into_iter()
                .map(|s| guichet_aspsp::security::BankSeal {
                    bank_code: s.bank_code,
                    cert: s.cert,
                    key: s.key,
                })
                .collect(),
            clock_skew_seconds: self.clock_skew_seconds,
        }
    }
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// The database: `--database-url` if given, else an SQLite file in the data folder.
pub fn database_url(explicit: Option<&str>, data_dir: &Path) -> anyhow::Result<DatabaseUrl> {
    match explicit {
        Some(url) => Ok(DatabaseUrl::parse(url)?),
        None => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            Ok(DatabaseUrl::sqlite_file(&data_dir.join("guichet.db")))
        }
    }
}

pub fn default_data_dir() -> PathBuf {
    PathBuf::from("./guichet-data")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration example of README.md parses, with every bank profile valid.
    #[test]
    fn the_readme_configuration_example_is_valid() -> anyhow::Result<()> {
        let readme = include_str!("../../../README.md");
        let block = readme
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .ok_or_else(|| anyhow::anyhow!("no toml block in README.md"))?;
        let config: FileConfig = toml::from_str(block)?;
        assert_eq!(config.mode, Some(Mode::Production));
        assert_eq!(config.banks.len(), 1);
        for bank in &config.banks {
            bank.validate().map_err(anyhow::Error::msg)?;
        }
        let oidc = config.banks[0]
            .oidc
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no [banks.oidc] in the example"))?;
        oidc.validate().map_err(anyhow::Error::msg)?;
        assert_eq!(
            oidc.client_auth,
            guichet_aspsp::oidc::ClientAuthMethod::PrivateKeyJwt
        );
        assert_eq!(oidc.signing_algs().map_err(anyhow::Error::msg)?.len(), 2);
        let tls = config
            .tls
            .ok_or_else(|| anyhow::anyhow!("no [tls]"))?
            .into_config();
        assert_eq!(tls.trust_files.len(), 2);
        assert_eq!(tls.bank_seals[0].bank_code, "30258");
        Ok(())
    }

    /// README's `[edge]` table parses and states the defaults the code has.
    #[test]
    fn the_readme_edge_table_states_the_defaults() -> anyhow::Result<()> {
        let readme = include_str!("../../../README.md");
        let block = readme
            .split("```toml\n[edge]")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .ok_or_else(|| anyhow::anyhow!("no [edge] block in README.md"))?;
        let config: FileConfig = toml::from_str(&format!("[edge]{block}"))?;
        assert_eq!(
            config.edge,
            Some(guichet_aspsp::conn::EdgeLimits::default())
        );
        Ok(())
    }

    #[test]
    fn unknown_settings_are_refused() {
        assert!(toml::from_str::<FileConfig>("mode = \"sandbox\"\nport_number = 1").is_err());
    }
}
