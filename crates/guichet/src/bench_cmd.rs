//! `guichet bench`: load on a running bank, measured from outside. Every connection presents the
//! demo TPP's QWAC; the request is signed once and replayed (the bank does not refuse a repeated
//! X-Request-ID), so the client's own RSA signing does not cap the figures; `PSU-IP-Address` is
//! sent so that no daily limit applies. Loopback only.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use guichet_aspsp::sandbox::mint_token;
use guichet_eidas::Psd2Certificate;
use guichet_stet::model::{Access, AccountIdentification};
use guichet_store::Store;
use guichet_tpp::{TppIdentity, sign_request};

use crate::config::{database_url, default_data_dir};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The sandbox's data folder (sandbox.json, the database, the PKI).
    #[arg(long, default_value_os_t = default_data_dir())]
    data_dir: PathBuf,
    #[arg(long, default_value = "17515")]
    bank: String,
    /// The persona whose token is used.
    #[arg(long, default_value = "GEORGES")]
    psu: String,
    /// The API path after the base, e.g. /accounts or /accounts/CPT08765432101/transactions.
    #[arg(long, default_value = "/accounts")]
    path: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The server's process id, to report its resident memory.
    #[arg(long)]
    pid: Option<u32>,
    /// First forward a consent to every account of the persona (for balances and transactions).
    #[arg(long)]
    consent: bool,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(args.data_dir.join("sandbox.json"))
            .context("reading sandbox.json (run guichet serve first)")?,
    )?;
    let bank = manifest["banks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["code"] == args.bank.as_str())
        .cloned()
        .context("no such bank in sandbox.json")?;
    let base = bank["apiBaseUrl"].as_str().unwrap_or_default().to_owned();
    anyhow::ensure!(
        base.starts_with("https://127.") || base.starts_with("https://localhost"),
        "benchmarks run on the loopback only"
    );
    let demo = |key: &str| PathBuf::from(manifest["demoTpp"][key].as_str().unwrap_or_default());
    let identity = TppIdentity::from_files(
        &demo("qwac"),
        &demo("qwacKey"),
        &demo("qseal"),
        &demo("qsealKey"),
        "https://bench.tpp/qseal.pem",
    )?;
    let qwac = Psd2Certificate::from_pem(&std::fs::read(demo("qwac"))?)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = Store::connect(&database_url(None, &args.data_dir)?, 1).await?;
    let now = jiff::Timestamp::now().as_second();
    let (token, _) = mint_token(
        &store,
        &args.bank,
        &args.psu,
        &qwac,
        &["aisp".into()],
        now,
        3600,
    )
    .await?;
    store.close().await;
    let ca = PathBuf::from(manifest["caFile"].as_str().unwrap_or_default());
    if args.consent {
        let endpoints = guichet_tpp::BankEndpoints {
            code: args.bank.clone(),
            name: String::new(),
            api_base: base.clone(),
            token_url: String::new(),
            revoke_url: String::new(),
            authorize_url: String::new(),
        };
        let tokens = guichet_tpp::Tokens {
            access_token: token.expose().to_owned(),
            refresh_token: None,
            expires_at: now + 3600,
            refresh_expires_at: None,
            scope: "aisp".into(),
        };
        let client = guichet_tpp::BankClient::new(endpoints, identity.clone(), &ca)?
            .with_tokens(Some(tokens))
            .psu_present(Some("127.0.0.1".into()));
        let ids: Vec<AccountIdentification> = client
            .accounts()
            .await?
            .into_iter()
            .filter_map(|a| a.account_id)
            .map(|mut id| {
                id.currency = None;
                id
            })
            .collect();
        client
            .put_consents(&Access {
                balances: ids.clone(),
                transactions: ids,
                trusted_beneficiaries: false,
                psu_identity: false,
            })
            .await?;
    }
    let template_client = identity.http_client(&ca)?;
    let mut request = template_client
        .get(format!("{base}{}", args.path))
        .bearer_auth(token.expose())
        .header("x-request-id", "bench-0001")
        .header("psu-ip-address", "127.0.0.1")
        .build()?;
    sign_request(&mut request, &identity.signer)?;
    let probe = template_client
        .execute(request.try_clone().context("request")?)
        .await?;
    anyhow::ensure!(
        probe.status().is_success(),
        "the bank answered {} to the probe request",
        probe.status()
    );
    let rss_before = args.pid.and_then(rss_kib);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        let client = identity.http_client(&ca)?;
        let request = request.try_clone().context("request")?;
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let Some(next) = request.try_clone() else {
                    break;
                };
                let start = Instant::now();
                match client.execute(next).await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        latencies.push(start.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        });
    }
    let mut peak_rss = rss_before;
    let mut all = Vec::new();
    let mut errors = 0;
    while !tasks.is_empty() {
        tokio::select! {
            done = tasks.join_next() => {
                if let Some(Ok((latencies, failed))) = done {
                    all.extend(latencies);
                    errors += failed;
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if let Some(rss) = args.pid.and_then(rss_kib) {
                    peak_rss = Some(peak_rss.map_or(rss, |p: u64| p.max(rss)));
                }
            }
        }
    }
    all.sort();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let rate = all.len() as f64 / args.seconds as f64;
    println!(
        "GET {}{} — {} connections, {} s",
        base, args.path, args.connections, args.seconds
    );
    println!(
        "  {} answers ({:.0} per second), {} errors",
        all.len(),
        rate,
        errors
    );
    println!(
        "  latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pick(0.50).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        all.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    if let Some(peak) = peak_rss {
        println!(
            "  server resident memory: {:.1} MB before, {:.1} MB peak",
            rss_before.unwrap_or(0) as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    }
    Ok(())
}
