//! The sandbox: its data set kept current, its manifest (`sandbox.json`), and tokens minted
//! for testing until the OAuth2 endpoints exist (issue #4).

use std::time::Duration;

use guichet_store::sandbox::SANDBOX_BANKS;
use guichet_store::{NewToken, PsuRecord, Store, TokenKind, TokenSecret, new_family_id};
use serde_json::{Value, json};

use crate::state::{AppState, Mode, SharedState};

/// The demo TPP of the sandbox: the organizationIdentifier of the portal's examples.
pub const DEMO_TPP_CLIENT_ID: &str = "PSDFR-ACPR-12345";

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

/// Refreshes the data set when the day changes, so that dates stay relative to today and
/// yesterday's pending operations become booked.
pub fn spawn_daily_refresh(state: SharedState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            if let Err(e) = refresh(&state).await {
                tracing::warn!(error = %e, "sandbox refresh failed");
            }
        }
    })
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

/// Mints an access token for a sandbox persona, as if the PSU had just passed SCA.
pub async fn mint_token(
    store: &Store,
    bank_code: &str,
    login: &str,
    client_id: &str,
    scopes: &[String],
    now: i64,
    lifetime_seconds: i64,
) -> Result<(TokenSecret, PsuRecord), MintError> {
    let mode = store.meta("mode").await?.unwrap_or_default();
    if mode != Mode::Sandbox.as_str() {
        return Err(MintError::NotSandbox(if mode.is_empty() {
            "unknown".into()
        } else {
            mode
        }));
    }
    for scope in scopes {
        if !["aisp", "cbpii", "pisp", "extended_transaction_history"].contains(&scope.as_str()) {
            return Err(MintError::UnknownScope(scope.clone()));
        }
    }
    let psu = store
        .find_psu(bank_code, login)
        .await?
        .ok_or_else(|| MintError::UnknownPsu {
            bank: bank_code.into(),
            login: login.into(),
        })?;
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
            cert_thumbprint: None,
        })
        .await?;
    Ok((secret, psu))
}

/// The content of `sandbox.json`: where each bank is, what it offers, and its personas.
pub async fn manifest(state: &AppState, base_urls: &[(String, String)]) -> anyhow::Result<Value> {
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
        banks.push(json!({
            "code": profile.code,
            "name": profile.name,
            "bic": profile.bic,
            "apiBaseUrl": base_url,
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
        "demoTpp": { "clientId": DEMO_TPP_CLIENT_ID },
        "tokens": {
            "howTo": "guichet sandbox token --bank <code> --psu <persona or psuId> --scope aisp",
        },
        "banks": banks,
    }))
}
