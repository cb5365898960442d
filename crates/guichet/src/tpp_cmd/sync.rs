//! `guichet tpp sync`: every logged-in bank at once into the local store, with progress; each
//! bank on its own day (its time zone). Exit status 2 when a bank failed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use guichet_tpp::{Workspace, sync};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::args::SyncArgs;
use super::output::Output;

pub async fn run(args: SyncArgs, out: Output) -> anyhow::Result<()> {
    let workspace = Workspace::open(&args.common.dir)?;
    let clients = workspace.clients(if args.batch {
        None
    } else {
        Some(args.common.psu_ip.clone())
    })?;
    anyhow::ensure!(
        !clients.is_empty(),
        "no bank is logged in: run `guichet tpp login --bank <code>` first"
    );
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{spinner} {prefix:>6} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let by_bank: HashMap<String, ProgressBar> = clients
        .iter()
        .map(|c| {
            let bar = bars.add(
                ProgressBar::new_spinner()
                    .with_style(style.clone())
                    .with_prefix(c.endpoints.code.clone()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            (c.endpoints.code.clone(), bar)
        })
        .collect();
    let by_bank = Arc::new(by_bank);
    let progress = {
        let by_bank = by_bank.clone();
        Arc::new(move |bank: &str, step: &str| {
            if let Some(bar) = by_bank.get(bank) {
                bar.set_message(step.to_owned());
            }
        })
    };
    let results =
        sync::sync_all_today(clients, workspace.store().await?, args.batch, progress).await;
    for bar in by_bank.values() {
        bar.finish_and_clear();
    }
    let summary: Vec<serde_json::Value> = results.iter().map(summarise).collect();
    out.show(&summary, || {
        summary
            .iter()
            .map(|s| format!("{}\n", s["summary"].as_str().unwrap_or_default()))
            .collect()
    })?;
    if results.iter().any(|r| r.outcome.is_err()) {
        return Err(crate::ExitStatus(2).into());
    }
    Ok(())
}

/// One line per bank: what came in, and why anything did not.
pub fn summarise(result: &sync::BankSync) -> serde_json::Value {
    match &result.outcome {
        Ok(counts) => {
            let mut text = format!(
                "{}: {} account(s), {} balance(s), {} new and {} updated operation(s)",
                result.bank,
                counts.accounts,
                counts.balances,
                counts.new_transactions,
                counts.updated_transactions
            );
            if !counts.rate_limited.is_empty() {
                text.push_str(&format!("; RATE LIMITED (daily batch calls spent, not fetched, NOT 'no new transactions'): {}", counts.rate_limited.join(", ")));
            }
            if !counts.not_consented.is_empty() {
                text.push_str(&format!(
                    "; no consent: {}",
                    counts.not_consented.join(", ")
                ));
            }
            serde_json::json!({"bank": result.bank, "ok": true, "summary": text, "rateLimited": counts.rate_limited, "new": counts.new_transactions, "updated": counts.updated_transactions})
        }
        Err(e) => {
            serde_json::json!({"bank": result.bank, "ok": false, "summary": format!("{}: FAILED — {e}", result.bank), "error": e.to_json()})
        }
    }
}
