//! `guichet bench`: the bank's speed as a ratio to its own TLS stack, measured in one run.
//!
//! The benchmark starts `guichet serve` (a fresh sandbox, its cold start timed; SQLite, or
//! PostgreSQL with `--database-url`), then, for each measured request, loads with the same
//! client and the same settings: a static handler serving the bank's own answer over the same
//! TLS stack, the same with one RSA-2048 signature verification per request, and the bank.
//! It prints answers/s, p50, p99, errors, the ratio to the baselines and the server's
//! resident memory. `--grow N` also grows one account to N operations and another to 10,000
//! and compares their pages. Loopback only. `--import N` times the import of a statement of N
//! operations instead.

mod import;
mod server;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use guichet_aspsp::bench::{Baseline, BaselineConfig};
use guichet_aspsp::sandbox::mint_token;
use guichet_aspsp::security::TlsConfig;
use guichet_eidas::Psd2Certificate;
use guichet_stet::model::{Access, AccountIdentification};
use guichet_store::Store;
use guichet_tpp::load::{self, LoadResult};
use guichet_tpp::{TppIdentity, sign_request};

use crate::config::database_url;
use server::{BankServer, DataDir, RssSampler};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The server's database (postgres://…); SQLite in its data folder by default.
    #[arg(long)]
    database_url: Option<String>,
    /// The server's data folder; a fresh temporary one by default, so that the cold start is
    /// a cold start.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Concurrent connections, each with one request in flight.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Also grow an account to this many operations (and another to 10,000) and compare the
    /// latency of their default page and of a dated page.
    #[arg(long)]
    grow: Option<u64>,
    /// Operations per day in grown accounts.
    #[arg(long, default_value_t = 150)]
    per_day: u64,
    /// Run only these measurements (all by default; `grow` needs `--grow`).
    #[arg(long, value_delimiter = ',', value_parser = ["accounts", "transactions", "grow"])]
    only: Vec<String>,
    /// MiB of transactions pages the bank keeps in memory (its `page_cache_mb`, 32 by
    /// default); 0 reads every page from the database, as a first read does.
    #[arg(long)]
    page_cache_mb: Option<u32>,
    /// Load the bank only, without the baselines (to profile it).
    #[arg(long)]
    no_baseline: bool,
    /// Measure each request (accounts, transactions; not grow or import) this many times, the
    /// baselines and the bank in turn, and give the medians of the rounds' ratios: on a shared
    /// machine the systems of one round are measured seconds apart, two rounds minutes apart.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,
    /// Instead of loading the bank: write a camt.053 of this many operations (`--per-day` a
    /// statement) and time `guichet import` of it, and of it again, with its peak memory.
    #[arg(long)]
    import: Option<u64>,
}

/// One measured request: which persona, which path.
struct Scenario {
    name: &'static str,
    label: &'static str,
    bank: &'static str,
    psu: &'static str,
    path: String,
}

/// The bank, its demo TPP, and the load settings.
struct Bench {
    server: BankServer,
    store: Store,
    identity: TppIdentity,
    qwac: Psd2Certificate,
    qseal: Arc<Psd2Certificate>,
    ca: PathBuf,
    tls: TlsConfig,
    connections: usize,
    duration: Duration,
    /// Whether the bank keeps the pages it answers (`--page-cache-mb`, not 0).
    pages_kept: bool,
    rounds: u32,
}

/// One round of a request's measurements: the baselines (static, then with the verification)
/// and the bank with its peak memory.
struct Round {
    baselines: Option<(LoadResult, LoadResult)>,
    bank: LoadResult,
    rss: f64,
}

impl Round {
    fn print(&self) {
        if let Some((plain, verified)) = &self.baselines {
            print_row("static handler, same TLS stack", plain, None);
            print_row("static + one RSA-2048 verification", verified, None);
        }
        print_row("Guichet", &self.bank, Some(self.rss));
    }

    /// The bank ÷ static + verify, and ÷ static.
    fn ratios(&self) -> Option<(f64, f64)> {
        self.baselines
            .as_ref()
            .map(|(plain, verified)| (ratio(&self.bank, verified), ratio(&self.bank, plain)))
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(operations) = args.import {
        let (dir, url, per_day) = (
            args.data_dir.clone(),
            args.database_url.clone(),
            args.per_day,
        );
        return tokio::task::spawn_blocking(move || {
            import::run(dir, url.as_deref(), operations, per_day)
        })
        .await?;
    }
    let dir = DataDir::new(args.data_dir.clone())?;
    let server = BankServer::start(&dir.path, args.database_url.as_deref(), args.page_cache_mb)?;
    let backend = if args.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "guichet bench — {backend}, {} connections, {} s per run, {} — sandbox cold start {:.0} ms\n\
         pages kept in memory: {}",
        args.connections,
        args.seconds,
        jiff::tz::TimeZone::UTC
            .to_datetime(jiff::Timestamp::now())
            .date(),
        server.cold_start.as_secs_f64() * 1e3,
        match args
            .page_cache_mb
            .unwrap_or(guichet_store::DEFAULT_PAGE_CACHE_MB)
        {
            0 => "none (every page read from the database)".to_owned(),
            mb => format!("{mb} MiB (a page asked again with no write in between is not read)"),
        }
    );
    let bench = Bench::open(server, &dir.path, &args).await?;
    let whole = RssSampler::start(bench.server.pid());
    let scenarios = [
        Scenario {
            name: "accounts",
            label: "GET /accounts (GEORGES, 17515)",
            bank: "17515",
            psu: "GEORGES",
            path: "/accounts".into(),
        },
        Scenario {
            name: "transactions",
            label: "GET transactions, 500 operations (ATLAS, 30258)",
            bank: "30258",
            psu: "ATLAS",
            path: "/accounts/CPT08111222301/transactions".into(),
        },
    ];
    for scenario in &scenarios {
        if args.only.is_empty() || args.only.iter().any(|o| o == scenario.name) {
            bench.compare(scenario, !args.no_baseline).await?;
        }
    }
    if let Some(target) = args.grow
        && (args.only.is_empty() || args.only.iter().any(|o| o == "grow"))
    {
        bench.grow(target, args.per_day).await?;
    }
    println!(
        "server resident memory: peak {:.1} MB over the whole run",
        whole.peak_mb()
    );
    bench.store.close().await;
    Ok(())
}

impl Bench {
    async fn open(server: BankServer, dir: &Path, args: &BenchArgs) -> anyhow::Result<Bench> {
        let pki = dir.join("pki");
        let demo = pki.join("tpps/demo");
        let identity = TppIdentity::from_files(
            &demo.join("qwac.pem"),
            &demo.join("qwac.key"),
            &demo.join("qseal.pem"),
            &demo.join("qseal.key"),
            "https://bench.tpp/qseal.pem",
        )?;
        let read = |path: PathBuf| -> anyhow::Result<Psd2Certificate> {
            Psd2Certificate::from_pem(&std::fs::read(&path)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        };
        let url = database_url(args.database_url.as_deref(), dir)?;
        Ok(Bench {
            server,
            store: Store::connect(&url, 2).await?,
            qwac: read(demo.join("qwac.pem"))?,
            qseal: Arc::new(read(demo.join("qseal.pem"))?),
            identity,
            ca: pki.join("ca/root.pem"),
            tls: TlsConfig {
                server_cert: pki.join("server/api.pem"),
                server_key: pki.join("server/api.key"),
                trust_files: vec![pki.join("ca/root.pem"), pki.join("ca/issuing.pem")],
                crl_files: vec![pki.join("ca/crl.pem")],
                bank_seals: Vec::new(),
                clock_skew_seconds: 300,
            },
            connections: args.connections,
            duration: Duration::from_secs(args.seconds.max(1)),
            pages_kept: args.page_cache_mb != Some(0),
            rounds: args.rounds.max(1),
        })
    }

    /// A signed GET of `path` with a token of `psu` (who first consents to every account).
    async fn signed_get(&self, bank: &str, psu: &str, path: &str) -> anyhow::Result<Prepared> {
        let base = self.server.api(bank)?;
        let now = jiff::Timestamp::now().as_second();
        let scopes = ["aisp".to_owned()];
        // Valid for the whole of the request's rounds (three loads each), and an hour more.
        let loads = u64::from(self.rounds) * 3 * self.duration.as_secs();
        let lifetime = 3600 + i64::try_from(loads).unwrap_or(i64::MAX / 2);
        let (token, _) =
            mint_token(&self.store, bank, psu, &self.qwac, &scopes, now, lifetime).await?;
        self.consent_all(bank, &base, token.expose(), now).await?;
        let client = self.identity.http_client(&self.ca)?;
        let mut request = client
            .get(format!("{base}{path}"))
            .bearer_auth(token.expose())
            .header("x-request-id", "bench-0001")
            .header("psu-ip-address", "127.0.0.1")
            .build()?;
        sign_request(&mut request, &self.identity.signer)?;
        let probe = client
            .execute(request.try_clone().context("request")?)
            .await?;
        let status = probe.status();
        if !status.is_success() {
            let text = probe.text().await.unwrap_or_default();
            anyhow::bail!("the bank answered {status} to GET {path}: {text}");
        }
        let body = probe.bytes().await?;
        Ok(Prepared { request, body })
    }

    /// PUT /consents with balances and transactions on every account the PSU has.
    async fn consent_all(
        &self,
        bank: &str,
        base: &str,
        token: &str,
        now: i64,
    ) -> anyhow::Result<()> {
        let endpoints = guichet_tpp::BankEndpoints {
            code: bank.to_owned(),
            name: String::new(),
            api_base: base.to_owned(),
            token_url: String::new(),
            revoke_url: String::new(),
            authorize_url: String::new(),
        };
        let tokens = guichet_tpp::Tokens {
            access_token: token.to_owned(),
            refresh_token: None,
            expires_at: now + 3600,
            refresh_expires_at: None,
            scope: "aisp".into(),
        };
        let client = guichet_tpp::BankClient::new(endpoints, self.identity.clone(), &self.ca)?
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
        Ok(())
    }

    /// Loads the bank with a prepared request; samples its memory meanwhile.
    async fn load_bank(&self, prepared: &Prepared) -> anyhow::Result<(LoadResult, f64)> {
        let sampler = RssSampler::start(self.server.pid());
        let url = prepared.request.url().clone();
        let result = load::run(
            &self.identity,
            &self.ca,
            &prepared.request,
            &url,
            self.connections,
            self.duration,
        )
        .await?;
        Ok((result, sampler.peak_mb()))
    }

    /// Loads a baseline serving the bank's answer, with or without the signature check.
    async fn load_baseline(&self, prepared: &Prepared, verify: bool) -> anyhow::Result<LoadResult> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let baseline = Baseline::start(BaselineConfig {
            tls: self.tls.clone(),
            body: prepared.body.clone(),
            verify_with: verify.then(|| self.qseal.clone()),
            threads,
        })?;
        let mut url = prepared.request.url().clone();
        url.set_port(Some(baseline.address.port()))
            .map_err(|()| anyhow::anyhow!("no port in {url}"))?;
        let result = load::run(
            &self.identity,
            &self.ca,
            &prepared.request,
            &url,
            self.connections,
            self.duration,
        )
        .await?;
        anyhow::ensure!(
            baseline.refused() == 0,
            "the baseline refused {} signatures",
            baseline.refused()
        );
        Ok(result)
    }

    /// The three measurements of one request, in each round, printed as a table.
    async fn compare(&self, scenario: &Scenario, baselines: bool) -> anyhow::Result<()> {
        let prepared = self
            .signed_get(scenario.bank, scenario.psu, &scenario.path)
            .await?;
        let mut rounds = Vec::new();
        for _ in 0..self.rounds {
            rounds.push(self.round(&prepared, baselines).await?);
        }
        println!(
            "\n{} — answer {} bytes",
            scenario.label,
            prepared.body.len()
        );
        print_header();
        for (n, round) in rounds.iter().enumerate() {
            if rounds.len() > 1 {
                println!("  round {}", n + 1);
            }
            round.print();
        }
        // Without the baselines there is nothing to divide by: no ratio.
        let ratios: Vec<(f64, f64)> = rounds.iter().filter_map(Round::ratios).collect();
        if ratios.is_empty() {
            return Ok(());
        }
        let verified: Vec<f64> = ratios.iter().map(|r| r.0).collect();
        let plain: Vec<f64> = ratios.iter().map(|r| r.1).collect();
        if ratios.len() == 1 {
            println!(
                "ratio: {:.2}× of static + verify, {:.2}× of static",
                verified[0], plain[0]
            );
        } else {
            let each: Vec<String> = verified.iter().map(|r| format!("{r:.2}")).collect();
            println!(
                "ratio: {:.2}× of static + verify, {:.2}× of static (medians of {} rounds; of static + verify: {})",
                median(&verified),
                median(&plain),
                ratios.len(),
                each.join(", ")
            );
        }
        Ok(())
    }

    /// The baselines, if asked for, then the bank.
    async fn round(&self, prepared: &Prepared, baselines: bool) -> anyhow::Result<Round> {
        let baselines = if baselines {
            Some((
                self.load_baseline(prepared, false).await?,
                self.load_baseline(prepared, true).await?,
            ))
        } else {
            None
        };
        let (bank, rss) = self.load_bank(prepared).await?;
        Ok(Round {
            baselines,
            bank,
            rss,
        })
    }

    /// Grows ATLAS's two accounts to 10,000 and `target` operations and compares their pages.
    async fn grow(&self, target: u64, per_day: u64) -> anyhow::Result<()> {
        let today = jiff::tz::TimeZone::UTC
            .to_datetime(jiff::Timestamp::now())
            .date();
        let small = ("CPT08111222302", 10_000u64);
        let large = ("CPT08111222301", target);
        for (account, n) in [small, large] {
            let started = std::time::Instant::now();
            let added = self
                .store
                .grow_account("30258", account, n, per_day, today)
                .await?;
            println!(
                "\n{account}: {added} operations added in {:.1} s ({n} in all, {per_day} a day)",
                started.elapsed().as_secs_f64()
            );
        }
        let from = today.checked_sub(jiff::Span::new().days(30))?;
        let to = today.checked_sub(jiff::Span::new().days(28))?;
        let pages = [
            ("default page", String::new()),
            (
                "dated page",
                format!("?dateFrom={from}T00:00:00.000Z&dateTo={to}T00:00:00.000Z"),
            ),
        ];
        println!("\nAccounts of 10,000 and {target} operations ({per_day} a day)");
        if self.pages_kept {
            println!(
                "(pages kept in memory: these are answered from memory after their first read; \
                 --page-cache-mb 0 compares the database's reads)"
            );
        }
        print_header();
        for (page, query) in &pages {
            let mut results = Vec::new();
            for (account, n) in [small, large] {
                let path = format!("/accounts/{account}/transactions{query}");
                let prepared = self.signed_get("30258", "ATLAS", &path).await?;
                let (result, rss) = self.load_bank(&prepared).await?;
                let label = format!("{page}, {n} operations ({} bytes)", prepared.body.len());
                print_row(&label, &result, Some(rss));
                results.push(result);
            }
            if let [small, large] = results.as_slice() {
                println!(
                    "{page}: latency of the large account ÷ the small one: p50 {:.2}×, p99 {:.2}×",
                    large.quantile(0.5).as_secs_f64() / small.quantile(0.5).as_secs_f64().max(1e-9),
                    large.quantile(0.99).as_secs_f64()
                        / small.quantile(0.99).as_secs_f64().max(1e-9)
                );
            }
        }
        Ok(())
    }
}

/// A signed request and the bank's answer to it.
struct Prepared {
    request: reqwest::Request,
    body: guichet_aspsp::bench::Bytes,
}

fn ratio(a: &LoadResult, b: &LoadResult) -> f64 {
    a.per_second() / b.per_second().max(1e-9)
}

/// The middle value (the mean of the two middle ones for an even count); 0 for none.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn print_header() {
    println!(
        "  {:<44} {:>10} {:>9} {:>9} {:>7} {:>10}",
        "system", "answers/s", "p50 ms", "p99 ms", "errors", "RSS MB"
    );
}

fn print_row(label: &str, result: &LoadResult, rss: Option<f64>) {
    println!(
        "  {:<44} {:>10.0} {:>9.2} {:>9.2} {:>7} {:>10}",
        label,
        result.per_second(),
        result.quantile(0.5).as_secs_f64() * 1e3,
        result.quantile(0.99).as_secs_f64() * 1e3,
        result.errors,
        rss.map_or_else(|| "—".to_owned(), |mb| format!("{mb:.1}"))
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_median_of_rounds() {
        assert_eq!(super::median(&[]), 0.0);
        assert_eq!(super::median(&[0.4]), 0.4);
        assert_eq!(super::median(&[0.5, 0.3, 0.4]), 0.4);
        assert_eq!(super::median(&[0.5, 0.3, 0.4, 0.6]), 0.45);
    }
}
