//! The TPP's working folder: its configuration (`config.toml`: banks, certificates), its
//! tokens per bank (`tokens/<bank>.json`, owner-only) and its local store (`tpp.db`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::bank::{BankClient, BankEndpoints, Tokens};
use crate::error::TppError;
use crate::identity::TppIdentity;
use crate::store::LocalStore;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificates {
    pub qwac: PathBuf,
    pub qwac_key: PathBuf,
    pub qseal: PathBuf,
    pub qseal_key: PathBuf,
    /// The keyId of the signatures is this URL, `_`, and the QSealC's SHA-256.
    pub key_id_base: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The CA that signs the banks' server certificates.
    pub ca_file: PathBuf,
    /// The loopback port of the OAuth2 redirect (`http://127.0.0.1:<port>/callback`).
    pub redirect_port: u16,
    pub tpp: Certificates,
    pub banks: Vec<BankEndpoints>,
}

pub struct Workspace {
    pub dir: PathBuf,
    pub config: Config,
}

fn write_private(path: &Path, content: &str) -> Result<(), TppError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

impl Workspace {
    pub fn open(dir: &Path) -> Result<Workspace, TppError> {
        let path = dir.join("config.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            TppError::Local(format!(
                "{}: {e} (create it with `guichet tpp init`)",
                path.display()
            ))
        })?;
        let config = toml::from_str(&text)
            .map_err(|e| TppError::Local(format!("{}: {e}", path.display())))?;
        Ok(Workspace {
            dir: dir.to_owned(),
            config,
        })
    }

    pub fn create(dir: &Path, config: Config) -> Result<Workspace, TppError> {
        let text = toml::to_string_pretty(&config).map_err(|e| TppError::Local(e.to_string()))?;
        write_private(&dir.join("config.toml"), &text)?;
        Ok(Workspace {
            dir: dir.to_owned(),
            config,
        })
    }

    /// A configuration for the sandbox's banks, from the `sandbox.json` a `guichet serve` wrote.
    pub fn config_from_sandbox(manifest_path: &Path) -> Result<Config, TppError> {
        let text = std::fs::read_to_string(manifest_path)?;
        let manifest: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| TppError::Local(format!("{}: {e}", manifest_path.display())))?;
        let path = |v: &serde_json::Value| PathBuf::from(v.as_str().unwrap_or_default());
        let text_of = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let demo = &manifest["demoTpp"];
        let redirect_port = url::Url::parse(
            demo["redirectUri"]
                .as_str()
                .unwrap_or("http://127.0.0.1:8765/callback"),
        )
        .ok()
        .and_then(|u| u.port())
        .unwrap_or(8765);
        let banks = manifest["banks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| BankEndpoints {
                code: text_of(&b["code"]),
                name: text_of(&b["name"]),
                api_base: text_of(&b["apiBaseUrl"]),
                token_url: text_of(&b["tokenUrl"]),
                revoke_url: text_of(&b["revokeUrl"]),
                authorize_url: text_of(&b["authorizeUrl"]),
            })
            .collect();
        Ok(Config {
            ca_file: path(&manifest["caFile"]),
            redirect_port,
            tpp: Certificates {
                qwac: path(&demo["qwac"]),
                qwac_key: path(&demo["qwacKey"]),
                qseal: path(&demo["qseal"]),
                qseal_key: path(&demo["qsealKey"]),
                key_id_base: "https://tpp.example/qseal.pem".into(),
            },
            banks,
        })
    }

    pub fn identity(&self) -> Result<TppIdentity, TppError> {
        let c = &self.config.tpp;
        TppIdentity::from_files(&c.qwac, &c.qwac_key, &c.qseal, &c.qseal_key, &c.key_id_base)
            .map_err(|e| TppError::Local(e.to_string()))
    }

    pub fn bank(&self, code: &str) -> Result<&BankEndpoints, TppError> {
        self.config
            .banks
            .iter()
            .find(|b| b.code == code)
            .ok_or_else(|| TppError::Local(format!("bank {code} is not in the configuration")))
    }

    fn tokens_path(&self, code: &str) -> PathBuf {
        self.dir.join("tokens").join(format!("{code}.json"))
    }

    pub fn tokens(&self, code: &str) -> Option<Tokens> {
        std::fs::read_to_string(self.tokens_path(code))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
    }

    pub fn save_tokens(&self, code: &str, tokens: Option<&Tokens>) -> Result<(), TppError> {
        match tokens {
            Some(tokens) => write_private(
                &self.tokens_path(code),
                &serde_json::to_string_pretty(tokens)
                    .map_err(|e| TppError::Local(e.to_string()))?,
            ),
            None => {
                let _ = std::fs::remove_file(self.tokens_path(code));
                Ok(())
            }
        }
    }

    /// A client of one bank, with its saved tokens, saving the new ones it gets.
    pub fn client(&self, code: &str, psu_ip: Option<String>) -> Result<BankClient, TppError> {
        let endpoints = self.bank(code)?.clone();
        let tokens_path = self.tokens_path(code);
        let client = BankClient::new(endpoints, self.identity()?, &self.config.ca_file)?
            .with_tokens(self.tokens(code))
            .psu_present(psu_ip)
            .on_new_tokens(move |tokens| {
                if let Ok(text) = serde_json::to_string_pretty(tokens) {
                    let _ = write_private(&tokens_path, &text);
                }
            });
        Ok(client)
    }

    /// The banks with saved tokens.
    pub fn logged_in(&self) -> Vec<String> {
        self.config
            .banks
            .iter()
            .filter(|b| self.tokens(&b.code).is_some())
            .map(|b| b.code.clone())
            .collect()
    }

    pub fn clients(&self, psu_ip: Option<String>) -> Result<Vec<Arc<BankClient>>, TppError> {
        self.logged_in()
            .iter()
            .map(|code| self.client(code, psu_ip.clone()).map(Arc::new))
            .collect()
    }

    pub async fn store(&self) -> Result<LocalStore, TppError> {
        LocalStore::open(&self.dir.join("tpp.db")).await
    }
}
