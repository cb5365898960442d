//! `guichet tpp …`: the TPP side on the command line, on the `guichet-tpp` crate.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use guichet_stet::AmountType;
use guichet_stet::model::{Access, AccountIdentification, PaymentCoverageRequestResource};
use guichet_tpp::{Callback, TppError, TppIdentity, Workspace, export, report, sync};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

mod args;

pub use args::{Format, TppCommand};

fn print<T: serde::Serialize>(
    json: bool,
    value: &T,
    table: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{}", table());
    }
    Ok(())
}

fn today() -> jiff::civil::Date {
    let zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    zone.to_datetime(jiff::Timestamp::now()).date()
}

pub async fn run(command: TppCommand) -> anyhow::Result<()> {
    match command {
        TppCommand::Init {
            sandbox,
            dir,
            redirect_port,
        } => {
            let mut config = Workspace::config_from_sandbox(&sandbox)?;
            if let Some(port) = redirect_port {
                config.redirect_port = port;
            }
            let banks: Vec<String> = config
                .banks
                .iter()
                .map(|b| format!("{} {}", b.code, b.name))
                .collect();
            Workspace::create(&dir, config)?;
            println!(
                "{}: configured for {}",
                dir.join("config.toml").display(),
                banks.join(", ")
            );
        }
        TppCommand::Register {
            bank_url,
            ca,
            qwac,
            qwac_key,
            qseal,
            qseal_key,
            name,
            contacts,
            redirect_uris,
        } => {
            let identity = TppIdentity::from_files(
                &qwac,
                &qwac_key,
                &qseal,
                &qseal_key,
                "https://tpp.invalid/qseal.pem",
            )?;
            let client = identity.http_client(&ca)?;
            let answer = guichet_tpp::register(
                &client,
                bank_url.trim_end_matches('/'),
                &identity,
                &name,
                &contacts,
                &redirect_uris,
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
        }
        TppCommand::Login {
            bank,
            scope,
            no_browser,
            common,
        } => {
            let workspace = Workspace::open(&common.dir)?;
            let client = workspace.client(&bank, Some(common.psu_ip))?;
            let callback = Callback::bind(workspace.config.redirect_port).await?;
            let request = client.authorization_request(&callback.redirect_uri, &scope)?;
            eprintln!(
                "Open this page to log in at {}:\n{}",
                client.endpoints.name, request.url
            );
            if !no_browser {
                let _ = std::process::Command::new("xdg-open")
                    .arg(&request.url)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn();
            }
            let params = callback.wait(Duration::from_secs(300)).await?;
            if let Some(error) = params.get("error") {
                anyhow::bail!(
                    "the bank did not grant access: {error} {}",
                    params
                        .get("error_description")
                        .map(String::as_str)
                        .unwrap_or("")
                );
            }
            let code = params.get("code").cloned().unwrap_or_default();
            let state = params.get("state").cloned().unwrap_or_default();
            let tokens = client.exchange_code(&request, &code, &state).await?;
            let until = days_from_now(tokens.refresh_expires_at);
            let value =
                serde_json::json!({"bank": bank, "scope": tokens.scope, "scaRunsOut": until});
            print(common.json, &value, || {
                format!(
                    "logged in at {} ({}); the PSU's authentication holds until {until}\n",
                    client.endpoints.name, tokens.scope
                )
            })?;
        }
        TppCommand::Consent {
            bank,
            all,
            balances,
            transactions,
            identity,
            beneficiaries,
            common,
        } => {
            let workspace = Workspace::open(&common.dir)?;
            let client = workspace.client(&bank, Some(common.psu_ip))?;
            let accounts = client.accounts().await?;
            let ibans: Vec<String> = accounts
                .iter()
                .filter_map(|a| a.account_id.as_ref().and_then(|i| i.iban.clone()))
                .collect();
            let (mut b, mut t, mut id) = (balances, transactions, identity || all);
            if all {
                b = ibans.clone();
                t = ibans.clone();
            } else if b.is_empty() && t.is_empty() && std::io::stdin().is_terminal() {
                for (account, iban) in accounts.iter().zip(&ibans) {
                    if ask(&format!(
                        "Share {} ({iban}) balances and transactions?",
                        account.name
                    ))? {
                        b.push(iban.clone());
                        t.push(iban.clone());
                    }
                }
                id = ask("Share your identity (name)?")?;
            }
            let list = |ibans: &[String]| {
                ibans
                    .iter()
                    .map(|i| AccountIdentification {
                        iban: Some(i.clone()),
                        other: None,
                        currency: None,
                    })
                    .collect()
            };
            client
                .put_consents(&Access {
                    balances: list(&b),
                    transactions: list(&t),
                    trusted_beneficiaries: beneficiaries,
                    psu_identity: id,
                })
                .await?;
            let value = serde_json::json!({"bank": bank, "balances": b, "transactions": t, "psuIdentity": id, "trustedBeneficiaries": beneficiaries});
            print(common.json, &value, || {
                format!(
                    "consent forwarded: {} account(s) for balances, {} for transactions, identity {}\n",
                    b.len(),
                    t.len(),
                    if id { "yes" } else { "no" }
                )
            })?;
        }
        TppCommand::Accounts { bank, common } => {
            let workspace = Workspace::open(&common.dir)?;
            let accounts = workspace
                .client(&bank, Some(common.psu_ip))?
                .accounts()
                .await?;
            print(common.json, &accounts, || {
                accounts
                    .iter()
                    .map(|a| {
                        let iban = a
                            .account_id
                            .as_ref()
                            .and_then(|i| i.iban.clone())
                            .unwrap_or_default();
                        let ops = [
                            a.links.balances.as_ref().map(|_| "balances"),
                            a.links.transactions.as_ref().map(|_| "transactions"),
                        ];
                        let ops: Vec<&str> = ops.into_iter().flatten().collect();
                        format!(
                            "{:<16} {iban:<28} {:<40} {}\n",
                            a.resource_id.clone().unwrap_or_else(|| "-".into()),
                            a.name,
                            if ops.is_empty() {
                                "no consent".into()
                            } else {
                                ops.join(",")
                            }
                        )
                    })
                    .collect()
            })?;
        }
        TppCommand::Balances {
            bank,
            account,
            common,
        } => {
            let workspace = Workspace::open(&common.dir)?;
            let balances = workspace
                .client(&bank, Some(common.psu_ip))?
                .balances(&account)
                .await?;
            print(common.json, &balances, || {
                balances
                    .iter()
                    .map(|b| {
                        format!(
                            "{} {:>14} {}  {}\n",
                            b.balance_type,
                            b.balance_amount.amount.to_string(),
                            b.balance_amount.currency,
                            b.name
                        )
                    })
                    .collect()
            })?;
        }
        TppCommand::Transactions {
            bank,
            account,
            from,
            to,
            common,
        } => {
            let workspace = Workspace::open(&common.dir)?;
            let list = workspace
                .client(&bank, Some(common.psu_ip))?
                .transactions(&account, from, to)
                .await?;
            print(common.json, &list, || {
                list.iter()
                    .map(|t| {
                        let local = sync::local(&bank, &account, t);
                        format!(
                            "{} {:>12} {} {}  {}\n",
                            local.day, local.amount, local.currency, local.status, local.label
                        )
                    })
                    .collect()
            })?;
        }
        TppCommand::Identity { bank, common } => {
            let workspace = Workspace::open(&common.dir)?;
            let identity = workspace
                .client(&bank, Some(common.psu_ip))?
                .end_user_identity()
                .await?;
            print(common.json, &identity, || {
                format!("{}\n", identity.connected_psu)
            })?;
        }
        TppCommand::Beneficiaries { bank, common } => {
            let workspace = Workspace::open(&common.dir)?;
            let list = workspace
                .client(&bank, Some(common.psu_ip))?
                .trusted_beneficiaries()
                .await?;
            print(common.json, &list, || {
                list.iter()
                    .map(|b| {
                        format!(
                            "{}  {}\n",
                            b.creditor.name,
                            b.creditor_account
                                .as_ref()
                                .and_then(|a| a.iban.clone())
                                .unwrap_or_default()
                        )
                    })
                    .collect()
            })?;
        }
        TppCommand::FundsCheck {
            bank,
            iban,
            amount,
            common,
        } => {
            let workspace = Workspace::open(&common.dir)?;
            let client = workspace.client(&bank, Some(common.psu_ip))?;
            client.client_credentials("cbpii").await?;
            let request = PaymentCoverageRequestResource {
                payment_coverage_request_id: guichet_tpp::new_request_id()
                    .chars()
                    .take(35)
                    .collect(),
                payee: None,
                instructed_amount: AmountType {
                    currency: "EUR".into(),
                    amount: guichet_stet::Amount::parse(&amount)?,
                },
                account_id: AccountIdentification {
                    iban: Some(iban.clone()),
                    other: None,
                    currency: None,
                },
            };
            let report = client.funds_confirmation(&request).await?;
            workspace.save_tokens(&bank, None)?;
            print(common.json, &report, || {
                format!(
                    "{amount} EUR on {iban}: {}\n",
                    if report.result {
                        "covered"
                    } else {
                        "NOT covered"
                    }
                )
            })?;
        }
        TppCommand::Sync { batch, common } => {
            let workspace = Workspace::open(&common.dir)?;
            let clients = workspace.clients(if batch {
                None
            } else {
                Some(common.psu_ip.clone())
            })?;
            anyhow::ensure!(
                !clients.is_empty(),
                "no bank is logged in: run `guichet tpp login --bank <code>` first"
            );
            let bars = MultiProgress::new();
            let style = ProgressStyle::with_template("{spinner} {prefix:>6} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let by_bank: std::collections::HashMap<String, ProgressBar> = clients
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
                sync::sync_all(clients, workspace.store().await?, batch, today(), progress).await;
            for bar in by_bank.values() {
                bar.finish_and_clear();
            }
            let summary: Vec<serde_json::Value> = results.iter().map(summarise).collect();
            print(common.json, &summary, || {
                summary
                    .iter()
                    .map(|s| format!("{}\n", s["summary"].as_str().unwrap_or_default()))
                    .collect()
            })?;
            if results.iter().any(|r| r.outcome.is_err()) {
                std::process::exit(2);
            }
        }
        TppCommand::Status { common } => {
            let workspace = Workspace::open(&common.dir)?;
            let store = workspace.store().await?;
            let mut out = Vec::new();
            for bank in &workspace.config.banks {
                let tokens = workspace.tokens(&bank.code);
                let now = jiff::Timestamp::now().as_second();
                let sca_until = tokens.as_ref().and_then(|t| t.refresh_expires_at);
                let state = match &tokens {
                    None => "not logged in".to_owned(),
                    Some(_) if sca_until.is_some_and(|u| u <= now) => {
                        "reconnect needed: the PSU's 180-day authentication has run out".to_owned()
                    }
                    Some(t) if t.expires_at > now => "access token valid".to_owned(),
                    Some(_) => "access token expired (renewed at the next call)".to_owned(),
                };
                let mut coverage = Vec::new();
                if tokens.is_some() && sca_until.is_none_or(|u| u > now) {
                    match workspace
                        .client(&bank.code, Some(common.psu_ip.clone()))?
                        .accounts()
                        .await
                    {
                        Ok(accounts) => {
                            for a in accounts {
                                let iban = a
                                    .account_id
                                    .as_ref()
                                    .and_then(|i| i.iban.clone())
                                    .unwrap_or_default();
                                let mut left = Vec::new();
                                for method in ["balances", "transactions"] {
                                    let used = store
                                        .calls_today(
                                            &bank.code,
                                            &iban,
                                            method,
                                            &today().to_string(),
                                        )
                                        .await?;
                                    left.push(serde_json::json!({"method": method, "remaining": (sync::BATCH_CALLS_PER_DAY - used).max(0)}));
                                }
                                coverage.push(serde_json::json!({
                                    "iban": iban, "name": a.name,
                                    "balances": a.links.balances.is_some(), "transactions": a.links.transactions.is_some(),
                                    "batchCallsLeftToday": left,
                                }));
                            }
                        }
                        Err(TppError::ReauthenticationNeeded(reason)) => coverage.push(
                            serde_json::json!({"error": format!("reconnect needed: {reason}")}),
                        ),
                        Err(e) => coverage.push(serde_json::json!({"error": e.to_string()})),
                    }
                }
                out.push(serde_json::json!({
                    "bank": bank.code, "name": bank.name, "state": state,
                    "scaRunsOut": sca_until.map(|u| days_from_now(Some(u))),
                    "accounts": coverage,
                }));
            }
            print(common.json, &out, || {
                out.iter()
                    .map(|b| {
                        let mut text = format!(
                            "{} {} — {}",
                            b["bank"].as_str().unwrap_or(""),
                            b["name"].as_str().unwrap_or(""),
                            b["state"].as_str().unwrap_or("")
                        );
                        if let Some(until) = b["scaRunsOut"].as_str() {
                            text.push_str(&format!("; SCA runs out on {until}"));
                        }
                        text.push('\n');
                        for a in b["accounts"].as_array().into_iter().flatten() {
                            text.push_str(&format!("    {}\n", a));
                        }
                        text
                    })
                    .collect()
            })?;
        }
        TppCommand::Report {
            from,
            to,
            html,
            common,
        } => {
            let workspace = Workspace::open(&common.dir)?;
            let to =
                to.unwrap_or_else(|| today().checked_add(jiff::ToSpan::day(1)).unwrap_or(today()));
            let from = from.unwrap_or_else(|| to.checked_sub(jiff::ToSpan::days(30)).unwrap_or(to));
            let built = report::build(&workspace.store().await?, from, to).await?;
            if let Some(path) = html {
                std::fs::write(&path, report::html(&built))?;
                eprintln!("HTML report: {}", path.display());
            }
            let value = serde_json::json!({
                "from": built.from.to_string(), "to": built.to.to_string(),
                "totals": built.totals.iter().map(|(c, t)| (c.clone(), t.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
                "income": built.income.to_string(), "spending": built.spending.to_string(),
                "accounts": built.accounts.iter().map(|a| serde_json::json!({"bank": a.bank, "iban": a.iban, "name": a.name, "balance": a.balance.map(|b| b.to_string())})).collect::<Vec<_>>(),
            });
            print(common.json, &value, || report::table(&built))?;
        }
        TppCommand::Export {
            format,
            out,
            common,
        } => {
            let workspace = Workspace::open(&common.dir)?;
            let store = workspace.store().await?;
            let transactions = store.transactions(None, None).await?;
            let text = match format {
                Format::Csv => export::csv(&transactions),
                Format::Json => export::json(&transactions),
                Format::Ofx => export::ofx(
                    &store.accounts().await?,
                    &transactions,
                    &today().to_string().replace('-', ""),
                ),
            };
            match out {
                Some(path) => std::fs::write(path, text)?,
                None => print!("{text}"),
            }
        }
    }
    Ok(())
}

fn days_from_now(at: Option<i64>) -> String {
    at.and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(|t| t.to_string()[..10].to_owned())
        .unwrap_or_else(|| "-".into())
}

fn ask(question: &str) -> anyhow::Result<bool> {
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "o" | "oui"))
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
            serde_json::json!({"bank": result.bank, "ok": false, "summary": format!("{}: FAILED — {e}", result.bank), "error": e.to_string()})
        }
    }
}
