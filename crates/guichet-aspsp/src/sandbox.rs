//! The sandbox: its data set kept current, its manifest (`sandbox.json`), and tokens minted
//! for testing until the OAuth2 endpoints exist (issue #4).

use std::path::{Path, PathBuf};

use guichet_eidas::pki::{Qtsp, TppRequest};
use guichet_eidas::{Psd2Certificate, Role};

use guichet_store::sandbox::SANDBOX_BANKS;
use guichet_store::{NewToken, PsuRecord, Store, TokenKind, TokenSecret, TppRecord, new_family_id};
use serde_json::{Value, json};

use crate::security::{BankSeal, TlsConfig};
use crate::state::{AppState, Mode};

/// The demo TPP of the sandbox: the organizationIdentifier of the portal's examples.
pub use guichet_store::sandbox::DEMO_TPP_CLIENT_ID;

/// Where the demo TPP's redirect URI points: a loopback callback a script can listen on.
pub const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";

/// The sandbox PKI in `<data dir>/pki`: the QTSP, the API server certificate, each bank's
/// QSealC and the demo TPP's four files. Created on first start, reused after.
#[derive(Debug, Clone)]
pub struct SandboxPki {
    pub dir: PathBuf,
    pub tls: TlsConfig,
    pub ca_file: PathBuf,
    pub demo: DemoTpp,
}

#[derive(Debug, Clone)]
pub struct DemoTpp {
    pub client_id: String,
    pub qwac: PathBuf,
    pub qwac_key: PathBuf,
    pub qseal: PathBuf,
    pub qseal_key: PathBuf,
}

impl DemoTpp {
    pub fn in_dir(dir: &Path, client_id: &str) -> DemoTpp {
        DemoTpp {
            client_id: client_id.to_owned(),
            qwac: dir.join("qwac.pem"),
            qwac_key: dir.join("qwac.key"),
            qseal: dir.join("qseal.pem"),
            qseal_key: dir.join("qseal.key"),
        }
    }
}

/// The host names the API server certificate covers: the loopback, and each bank's
/// `www.<bankcode>.<domain>`.
fn server_names(bank_codes: &[&str], domain: Option<&str>) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    for code in bank_codes {
        names.push(format!(
            "www.{code}.{}",
            domain.unwrap_or("sandbox.guichet.local")
        ));
    }
    names
}

/// Creates (or reopens) the sandbox PKI.
pub fn prepare_pki(
    dir: &Path,
    banks: &[(&str, &str)],
    domain: Option<&str>,
) -> anyhow::Result<SandboxPki> {
    prepare_pki_at(dir, banks, domain, time::OffsetDateTime::now_utc())
}

/// The same, issuing certificates as of `now` (tests that run on a fixed clock).
pub fn prepare_pki_at(
    dir: &Path,
    banks: &[(&str, &str)],
    domain: Option<&str>,
    now: time::OffsetDateTime,
) -> anyhow::Result<SandboxPki> {
    let mut qtsp = Qtsp::open_or_create_at(dir, now)?;
    let server_cert = dir.join("server/api.pem");
    let server_key = dir.join("server/api.key");
    if !server_cert.exists() {
        let codes: Vec<&str> = banks.iter().map(|(code, _)| *code).collect();
        qtsp.issue_server(&server_names(&codes, domain))?
            .write(&server_cert, &server_key)?;
    }
    let mut bank_seals = Vec::new();
    for (code, name) in banks {
        let cert = dir.join(format!("banks/{code}/qseal.pem"));
        let key = dir.join(format!("banks/{code}/qseal.key"));
        if !cert.exists() {
            qtsp.issue_bank_seal(&format!("PSDFR-ACPR-{code}"), name)?
                .write(&cert, &key)?;
        }
        bank_seals.push(BankSeal {
            bank_code: (*code).to_owned(),
            cert,
            key,
        });
    }
    let demo = DemoTpp::in_dir(&dir.join("tpps/demo"), DEMO_TPP_CLIENT_ID);
    if !demo.qwac.exists() {
        let mut request = TppRequest::new(
            DEMO_TPP_CLIENT_ID,
            vec![
                Role::AccountInformation,
                Role::PaymentInitiation,
                Role::CardIssuing,
            ],
        );
        request.org_name = "Guichet Demo TPP".into();
        let issued = qtsp.issue_tpp(&request)?;
        issued.qwac.write(&demo.qwac, &demo.qwac_key)?;
        issued.qseal.write(&demo.qseal, &demo.qseal_key)?;
    }
    Ok(SandboxPki {
        dir: dir.to_owned(),
        ca_file: qtsp.root_file(),
        tls: TlsConfig {
            server_cert,
            server_key,
            trust_files: qtsp.trust_files(),
            crl_files: vec![qtsp.crl_file()],
            bank_seals,
            clock_skew_seconds: 300,
        },
        demo,
    })
}

/// Registers a TPP directly in the store (the sandbox's demo TPP; tests).
pub async fn register_tpp(
    store: &Store,
    name: &str,
    redirect_uris: &[String],
    qseal_pem: &str,
    now: i64,
) -> anyhow::Result<String> {
    let qseal =
        Psd2Certificate::from_pem(qseal_pem.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let client_id = qseal.org_id.to_string();
    let tpp = TppRecord {
        client_id: client_id.clone(),
        name: name.to_owned(),
        contacts: vec![],
        redirect_uris: redirect_uris.to_vec(),
        registered_at: now,
        updated_at: now,
        roles: Some(qseal.roles.iter().map(|r| r.name().to_owned()).collect()),
    };
    store
        .register_tpp(
            &tpp,
            &[crate::register::qseal_record(qseal, qseal_pem.to_owned())],
        )
        .await?;
    Ok(client_id)
}

/// Writes today's data set for the sandbox banks served here, if not done yet today.
pub async fn refresh(state: &AppState) -> anyhow::Result<()> {
    let now = state.now();
    let codes: Vec<&str> = state
        .banks
        .iter()
        .map(|b| b.code())
        .filter(|c| SANDBOX_BANKS.contains(c))
        .collect();
    let Some(first) = state.banks.first() else {
        return Ok(());
    };
    let summary = state
        .store
        .seed_sandbox(&codes, first.today(now), now.as_second())
        .await?;
    if summary.refreshed {
        tracing::info!(?summary, "sandbox data set written");
    }
    Ok(())
}

/// Why a sandbox token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("tokens are minted this way only in sandbox mode; this database is in {0} mode")]
    NotSandbox(String),
    #[error("no PSU '{login}' at bank {bank}")]
    UnknownPsu { bank: String, login: String },
    #[error("unknown scope '{0}'; use aisp, cbpii, pisp or extended_transaction_history")]
    UnknownScope(String),
    #[error(transparent)]
    Store(#[from] guichet_store::StoreError),
}

/// A persona of a store in sandbox mode (the sandbox-only commands refuse a production store).
async fn sandbox_persona(
    store: &Store,
    bank_code: &str,
    login: &str,
) -> Result<PsuRecord, MintError> {
    let mode = store.meta("mode").await?.unwrap_or_default();
    if mode != Mode::Sandbox.as_str() {
        return Err(MintError::NotSandbox(if mode.is_empty() {
            "unknown".into()
        } else {
            mode
        }));
    }
    store
        .find_psu(bank_code, login)
        .await?
        .ok_or_else(|| MintError::UnknownPsu {
            bank: bank_code.into(),
            login: login.into(),
        })
}

/// Lifts the SCA block of a persona (sandbox mode only): `guichet sandbox unblock`. Answers
/// the PSU and whether a block was lifted.
pub async fn unblock(
    store: &Store,
    bank_code: &str,
    login: &str,
    now: i64,
) -> Result<(PsuRecord, bool), MintError> {
    let psu = sandbox_persona(store, bank_code, login).await?;
    let lifted = store.unblock_psu(bank_code, &psu.psu_id, now).await?;
    Ok((psu, lifted))
}

/// Mints an access token for a sandbox persona, as if the PSU had just passed SCA, for the TPP
/// of `qwac` and bound to that certificate.
pub async fn mint_token(
    store: &Store,
    bank_code: &str,
    login: &str,
    qwac: &Psd2Certificate,
    scopes: &[String],
    now: i64,
    lifetime_seconds: i64,
) -> Result<(TokenSecret, PsuRecord), MintError> {
    let client_id = qwac.org_id.as_str();
    for scope in scopes {
        if !["aisp", "cbpii", "pisp", "extended_transaction_history"].contains(&scope.as_str()) {
            return Err(MintError::UnknownScope(scope.clone()));
        }
    }
    let psu = sandbox_persona(store, bank_code, login).await?;
    let secret = store
        .issue_token(&NewToken {
            kind: TokenKind::Access,
            family_id: new_family_id()?,
            bank_code: bank_code.to_owned(),
            client_id: client_id.to_owned(),
            psu_id: Some(psu.psu_id.clone()),
            scopes: scopes.to_vec(),
            issued_at: now,
            expires_at: now + lifetime_seconds,
            sca_at: Some(now),
            cert_thumbprint: Some(qwac.sha256.clone()),
        })
        .await?;
    Ok((secret, psu))
}

/// A path of `sandbox.json`, absolute: a script reading the file from any folder finds the
/// certificates (the data folder canonicalized; a path that cannot be resolved stays as it is).
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_owned())
}

/// The content of `sandbox.json`: where each bank is, what it offers, its personas, and the
/// certificates a TPP needs to call it. Its file paths are absolute (`"pathsAre": "absolute"`).
pub async fn manifest(
    state: &AppState,
    base_urls: &[(String, String)],
    pki: &SandboxPki,
) -> anyhow::Result<Value> {
    let mut banks = Vec::new();
    for bank in &state.banks {
        let profile = &bank.profile;
        let mut personas = Vec::new();
        for psu in state.store.psus(bank.code()).await? {
            let accounts = state.store.psu_accounts(bank.code(), &psu.psu_id).await?;
            personas.push(json!({
                "persona": psu.persona,
                "psuId": psu.psu_id,
                "name": psu.display_name,
                "kind": psu.kind,
                "segment": psu.segment,
                "login": { "identifier": psu.psu_id, "password": crate::oauth::SANDBOX_PASSWORD },
                "accounts": accounts.iter().map(|a| json!({
                    "iban": a.iban,
                    "resourceId": a.resource_id,
                    "name": a.name,
                    "eligible": a.eligible,
                })).collect::<Vec<_>>(),
            }));
        }
        let base_url = base_urls
            .iter()
            .find(|(code, _)| code == bank.code())
            .map(|(_, url)| url.clone());
        let api_origin = base_url
            .as_deref()
            .map(|url| url.trim_end_matches(guichet_stet::BASE_PATH).to_owned());
        let psu_origin = state.psu_origin(bank.code());
        banks.push(json!({
            "code": profile.code,
            "name": profile.name,
            "bic": profile.bic,
            "apiBaseUrl": base_url,
            "tokenUrl": api_origin.as_ref().map(|o| format!("{o}/stet/psd2/oauth/token")),
            "revokeUrl": api_origin.as_ref().map(|o| format!("{o}/stet/psd2/oauth/revoke")),
            "registerUrl": api_origin.as_ref().map(|o| format!("{o}/register")),
            "authorizeUrl": psu_origin.as_ref().map(|o| format!("{o}/stet/psd2/oauth/authorize")),
            "psuAccessUrl": psu_origin.as_ref().map(|o| format!("{o}/psu/access")),
            "timeZone": profile.time_zone,
            "qsealCertificate": pki.tls.bank_seals.iter().find(|s| s.bank_code == profile.code).map(|s| absolute(&s.cert)),
            "offers": {
                "instantBalance": profile.instant_balance,
                "endUserIdentity": profile.end_user_identity,
                "trustedBeneficiaries": profile.trusted_beneficiaries,
                "entryReferenceFilters": profile.entry_reference_filters,
                "pageSize": profile.page_size,
                "maxOperations": profile.max_operations,
                "historyDays": {
                    "retail": profile.history_days.retail,
                    "smallPro": profile.history_days.small_pro,
                    "largePro": profile.history_days.large_pro,
                    "corporate": profile.history_days.corporate,
                },
                "batchCallsPerDay": profile.batch_calls_per_day,
            },
            "personas": personas,
        }));
    }
    Ok(json!({
        "mode": state.mode.as_str(),
        "generatedAt": state.now().to_string(),
        "pathsAre": "absolute",
        "caFile": absolute(&pki.ca_file),
        "demoTpp": {
            "clientId": pki.demo.client_id,
            "qwac": absolute(&pki.demo.qwac),
            "qwacKey": absolute(&pki.demo.qwac_key),
            "qseal": absolute(&pki.demo.qseal),
            "qsealKey": absolute(&pki.demo.qseal_key),
            "redirectUri": DEMO_REDIRECT_URI,
        },
        "sca": {
            "login": "each persona's identifier (its psuId, or its persona name) and the password 'sandbox'",
            "oneTimeCode": "the sandbox sends no SMS: the code page shows the code the SMS would carry, in a box marked 'Bac à sable' (element id sandbox-code)",
            "locking": "three wrong passwords or codes lock the attempt; the TPP then gets error=access_denied",
        },
        "tokens": {
            "howTo": "the authorization code flow (authorizeUrl, then tokenUrl over mutual TLS); for quick tests: guichet sandbox token --bank <code> --psu <persona or psuId> --scope aisp (bound to the demo TPP's QWAC; --qwac for another TPP)",
        },
        "banks": banks,
    }))
}
