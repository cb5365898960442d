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
    pub host_domain: Option<String>,
    pub pool_size: Option<u32>,
    #[serde(default)]
    pub banks: Vec<BankProfile>,
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
