//! The TPP's working folder: its configuration (`config.toml`: banks, certificates), its
//! tokens per bank (`tokens/<bank>.json`, owner-only) and its local store (`tpp.db`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::bank::{BankClient, BankEndpoints, Tokens};
use crate::error::TppError;
use crate::identity::{IdentityError, TppIdentity};
use crate::store::LocalStore;

mod config;

use self::config::parse_options;
pub use self::config::{
    BankOptions, BankOptionsMap, Certificates, Config, config_text, parse_config,
};

pub struct Workspace {
    pub dir: PathBuf,
    pub config: Config,
}

fn write_private(path: &Path, content: &str) -> Result<(), TppError> {
    let named = |e: std::io::Error| TppError::Local(format!("{}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(named)?;
    }
    // Written whole or not at all (a temporary file renamed over the old one), owner-only from
    // its creation: a kill or two commands at once never leave a truncated token file.
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temporary).and_then(|mut file| {
        use std::io::Write;
        file.write_all(content.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(named(e));
    }
    Ok(())
}

/// Whether a file can be opened; the error names it.
fn readable(path: &Path, what: &str) -> Result<(), TppError> {
    if path.as_os_str().is_empty() {
        return Err(TppError::Local(format!("{what}: no file given")));
    }
    std::fs::File::open(path)
        .map(|_| ())
        .map_err(|e| TppError::Local(format!("{}: {e}", path.display())))
}

/// A path made absolute against the current folder (the file need not exist yet).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

impl Workspace {
    pub fn config_path(dir: &Path) -> PathBuf {
        dir.join("config.toml")
    }

    pub fn open(dir: &Path) -> Result<Workspace, TppError> {
        let path = Self::config_path(dir);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            TppError::Local(format!(
                "{}: {e} (create it with `guichet tpp init`)",
                path.display()
            ))
        })?;
        let (config, _) = parse_config(&text, &path)?;
        Ok(Workspace {
            dir: dir.to_owned(),
            config,
        })
    }

    /// Writes `config.toml` (replacing it) with no bank options. [`Workspace::init`] is the
    /// careful form.
    pub fn create(dir: &Path, config: Config) -> Result<Workspace, TppError> {
        write_private(
            &Self::config_path(dir),
            &config_text(&config, &BankOptionsMap::new())?,
        )?;
        Ok(Workspace {
            dir: dir.to_owned(),
            config,
        })
    }

    /// Creates the TPP's folder and its `config.toml`. An existing `config.toml` is replaced
    /// only with `force`. The certificate and CA paths are written absolute, and the files
    /// are read first: a missing or unreadable one is named in the error.
    pub fn init(
        dir: &Path,
        mut config: Config,
        options: &BankOptionsMap,
        force: bool,
    ) -> Result<Workspace, TppError> {
        let path = Self::config_path(dir);
        if path.exists() && !force {
            return Err(TppError::Local(format!(
                "{} already exists and was left as it is: pass --force to replace it",
                path.display()
            )));
        }
        config.ca_file = absolute(&config.ca_file);
        let tpp = &mut config.tpp;
        for file in [
            &mut tpp.qwac,
            &mut tpp.qwac_key,
            &mut tpp.qseal,
            &mut tpp.qseal_key,
        ] {
            *file = absolute(file);
        }
        readable(&config.ca_file, "the banks' CA file (ca_file)")?;
        let tpp = &config.tpp;
        readable(&tpp.qwac, "the QWAC (qwac)")?;
        readable(&tpp.qwac_key, "the QWAC's key (qwac_key)")?;
        readable(&tpp.qseal, "the QSealC (qseal)")?;
        readable(&tpp.qseal_key, "the QSealC's key (qseal_key)")?;
        identity_of(tpp)?;
        for (code, option) in options {
            option
                .zone()
                .map_err(|e| TppError::Local(format!("bank {code}: {e}")))?;
        }
        write_private(&path, &config_text(&config, options)?)?;
        Ok(Workspace {
            dir: dir.to_owned(),
            config,
        })
    }

    /// A configuration for the sandbox's banks, from the `sandbox.json` a `guichet serve` wrote.
    pub fn config_from_sandbox(manifest_path: &Path) -> Result<Config, TppError> {
        Self::sandbox_setup(manifest_path).map(|(config, _)| config)
    }

    /// The configuration for the sandbox's banks and their options (time zone, batch
    /// allowance, `sandbox = true`), from a `sandbox.json`. Its paths are taken as its
    /// `pathsAre` says: `absolute`, or `relativeToFile`; an older file without it gave them
    /// relative to the folder the server ran in, taken here from the current folder.
    pub fn sandbox_setup(manifest_path: &Path) -> Result<(Config, BankOptionsMap), TppError> {
        let named = |e: &dyn std::fmt::Display| {
            TppError::Local(format!("{}: {e}", manifest_path.display()))
        };
        let text = std::fs::read_to_string(manifest_path).map_err(|e| {
            named(&format!(
                "{e} (start the sandbox with `guichet serve`, or give --sandbox)"
            ))
        })?;
        let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| named(&e))?;
        let base = match manifest["pathsAre"].as_str() {
            Some("relativeToFile") => manifest_path
                .parent()
                .map(Path::to_owned)
                .unwrap_or_default(),
            _ => PathBuf::new(),
        };
        let path = |v: &serde_json::Value| match v.as_str() {
            Some(p) if !p.is_empty() => absolute(&base.join(p)),
            _ => PathBuf::new(),
        };
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
        let sandbox = manifest["mode"].as_str().unwrap_or("sandbox") == "sandbox";
        let mut options = BankOptionsMap::new();
        let mut banks = Vec::new();
        for b in manifest["banks"].as_array().into_iter().flatten() {
            let code = text_of(&b["code"]);
            options.insert(
                code.clone(),
                BankOptions {
                    time_zone: b["timeZone"].as_str().map(str::to_owned),
                    batch_calls_per_day: b["offers"]["batchCallsPerDay"].as_i64(),
                    sandbox,
                },
            );
            banks.push(BankEndpoints {
                code,
                name: text_of(&b["name"]),
                api_base: text_of(&b["apiBaseUrl"]),
                token_url: text_of(&b["tokenUrl"]),
                revoke_url: text_of(&b["revokeUrl"]),
                authorize_url: text_of(&b["authorizeUrl"]),
            });
        }
        if banks.is_empty() {
            return Err(named(&"no bank in this file"));
        }
        let config = Config {
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
        };
        Ok((config, options))
    }

    /// The options of every bank, as `config.toml` gives them now (none when the folder has
    /// no `config.toml`, as for a workspace built in memory).
    pub fn options(&self) -> BankOptionsMap {
        std::fs::read_to_string(Self::config_path(&self.dir))
            .ok()
            .and_then(|text| parse_options(&text).ok())
            .unwrap_or_default()
    }

    /// The options of one bank.
    pub fn bank_options(&self, code: &str) -> BankOptions {
        self.options().remove(code).unwrap_or_default()
    }

    /// The zone of the first bank: the day of reports and exports that span every bank.
    pub fn home_zone(&self) -> jiff::tz::TimeZone {
        let options = self.options();
        self.config
            .banks
            .first()
            .and_then(|b| options.get(&b.code))
            .cloned()
            .unwrap_or_default()
            .zone()
            .unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// Today in [`Workspace::home_zone`].
    pub fn today(&self, now: jiff::Timestamp) -> jiff::civil::Date {
        crate::clock::day_in(now, &self.home_zone())
    }

    pub fn identity(&self) -> Result<TppIdentity, TppError> {
        identity_of(&self.config.tpp)
    }

    pub fn bank(&self, code: &str) -> Result<&BankEndpoints, TppError> {
        self.config
            .banks
            .iter()
            .find(|b| b.code == code)
            .ok_or_else(|| {
                let known: Vec<&str> = self.config.banks.iter().map(|b| b.code.as_str()).collect();
                TppError::Local(format!(
                    "bank {code} is not in {} (banks: {})",
                    Self::config_path(&self.dir).display(),
                    known.join(", ")
                ))
            })
    }

    /// The OAuth2 redirect URI: the loopback callback of `redirect_port`.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.config.redirect_port)
    }

    fn tokens_path(&self, code: &str) -> PathBuf {
        self.dir.join("tokens").join(format!("{code}.json"))
    }

    /// The PSU's tokens at a bank, as saved.
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

    /// A client of one bank, with its saved tokens, saving the new ones it gets, on the bank's
    /// time zone and batch allowance.
    pub fn client(&self, code: &str, psu_ip: Option<String>) -> Result<BankClient, TppError> {
        let endpoints = self.bank(code)?.clone();
        let options = self.bank_options(code);
        let tokens_path = self.tokens_path(code);
        let client = BankClient::new(endpoints, self.identity()?, &self.config.ca_file)?
            .with_tokens(self.tokens(code))
            .with_time_zone(options.zone()?)
            .with_batch_calls_per_day(options.calls_per_day())
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

    /// Logs `psu` (a persona or PSU id) in at a Guichet sandbox bank without a browser: the
    /// program fills the sandbox's pages ([`crate::sandbox::authorize`]), exchanges the code
    /// and saves the tokens. Refused, before any request, for a bank whose `config.toml` table
    /// lacks `sandbox = true`: a real bank's pages are the customer's alone.
    pub async fn sandbox_login(
        &self,
        code: &str,
        psu: &str,
        scope: &str,
        psu_ip: Option<String>,
    ) -> Result<Tokens, TppError> {
        if !self.bank_options(code).sandbox {
            return Err(TppError::Local(format!(
                "bank {code} is not a Guichet sandbox ({} does not say `sandbox = true` for it; `guichet tpp init` from a sandbox.json does): log the PSU in with `guichet tpp login --bank {code}`",
                Self::config_path(&self.dir).display()
            )));
        }
        let client = self.client(code, psu_ip)?;
        let request = client.authorization_request(&self.redirect_uri(), scope)?;
        let location = crate::sandbox::authorize(&request.url, &self.config.ca_file, psu).await?;
        let params = crate::sandbox::redirect_parameters(&location)?;
        client.complete_authorization(&request, &params).await
    }

    /// The IBAN of an account given by its IBAN or the bank's resourceId: from the local store
    /// when synced, else from the bank (GET /accounts, with the PSU's tokens).
    pub async fn account_iban(
        &self,
        client: &BankClient,
        account: &str,
    ) -> Result<String, TppError> {
        if crate::bank::looks_like_iban(account) {
            return Ok(crate::bank::compact_iban(account));
        }
        let bank = client.endpoints.code.as_str();
        if let Ok(store) = self.store().await
            && let Ok(accounts) = store.accounts().await
            && let Some(found) = accounts
                .iter()
                .find(|a| a.bank == bank && a.resource_id.as_deref() == Some(account))
        {
            return Ok(found.iban.clone());
        }
        client.iban(account).await
    }
}

/// Reads the TPP's four files; any error names the file(s).
fn identity_of(c: &Certificates) -> Result<TppIdentity, TppError> {
    TppIdentity::from_files(&c.qwac, &c.qwac_key, &c.qseal, &c.qseal_key, &c.key_id_base).map_err(
        |e| match e {
            IdentityError::File { .. } => TppError::Local(e.to_string()),
            other => TppError::Local(format!(
                "the TPP's certificates ({}, {}, {}, {}): {other}",
                c.qwac.display(),
                c.qwac_key.display(),
                c.qseal.display(),
                c.qseal_key.display()
            )),
        },
    )
}

#[cfg(test)]
mod tests;
