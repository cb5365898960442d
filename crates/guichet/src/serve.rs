//! `guichet serve`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use guichet_aspsp::{Application, BankProfile, Mode, ServerConfig, SystemClock, sandbox};

use crate::config::{FileConfig, database_url, default_data_dir};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Folder for the SQLite database and sandbox.json (created when missing).
    #[arg(long, env = "GUICHET_DATA_DIR", default_value_os_t = default_data_dir())]
    pub data_dir: PathBuf,
    /// PostgreSQL (`postgres://…`) or SQLite (`sqlite://…`) database; default: the data folder's SQLite file.
    #[arg(long, env = "GUICHET_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A TOML file with the mode, the listener and the bank profiles.
    #[arg(long, env = "GUICHET_CONFIG")]
    pub config: Option<PathBuf>,
    /// `sandbox` (default: personas, data refreshed daily) or `production`.
    #[arg(long, env = "GUICHET_MODE")]
    pub mode: Option<Mode>,
    /// Address to listen on.
    #[arg(long, env = "GUICHET_LISTEN")]
    pub listen: Option<IpAddr>,
    /// API port of the first bank; the next banks take the following ports.
    #[arg(long, env = "GUICHET_PORT")]
    pub port: Option<u16>,
    /// Port of the first bank's PSU pages (authorize, SCA); the next banks follow.
    #[arg(long, env = "GUICHET_PSU_PORT")]
    pub psu_port: Option<u16>,
    /// In the sandbox, close each bank during its maintenance windows (Monday 00:00–06:00,
    /// Europe/Paris) as production does: 503 with Retry-After on the API, `/token`, `/revoke`
    /// and the PSU pages.
    #[arg(long, env = "GUICHET_SANDBOX_MAINTENANCE")]
    pub sandbox_maintenance: bool,
    /// The operations listener (plain HTTP: /health/live, /health/ready, /metrics); keep it
    /// on a private address. Port 0 picks a free one.
    #[arg(long, env = "GUICHET_OPS_LISTEN", default_value = "127.0.0.1:9430")]
    pub ops_listen: std::net::SocketAddr,
    /// Serve banks by `Host: www.<bankcode>.<domain>` too.
    #[arg(long, env = "GUICHET_HOST_DOMAIN")]
    pub host_domain: Option<String>,
    /// A folder watched for camt.053/052 files: each is imported (as `guichet import`), then
    /// moved to `done/`, or to `failed/` with a `.reason` file.
    #[arg(long, env = "GUICHET_INBOX")]
    pub inbox: Option<PathBuf>,
    /// How often the inbox is looked at, in seconds.
    #[arg(long, env = "GUICHET_INBOX_SECONDS", default_value_t = 2)]
    pub inbox_seconds: u64,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let file = FileConfig::load(args.config.as_deref())?;
    let mode = args.mode.or(file.mode).unwrap_or(Mode::Sandbox);
    let banks = match (file.banks.is_empty(), mode) {
        (false, _) => file.banks,
        (true, Mode::Sandbox) => BankProfile::sandbox_banks(),
        (true, Mode::Production) => {
            anyhow::bail!("production mode needs bank profiles in --config")
        }
    };
    let url = database_url(
        args.database_url
            .as_deref()
            .or(file.database_url.as_deref()),
        &args.data_dir,
    )?;
    let host_domain = args.host_domain.or(file.host_domain);
    let pki = match mode {
        Mode::Sandbox => {
            let named: Vec<(&str, &str)> = banks
                .iter()
                .map(|b| (b.code.as_str(), b.name.as_str()))
                .collect();
            Some(sandbox::prepare_pki(
                &args.data_dir.join("pki"),
                &named,
                host_domain.as_deref(),
            )?)
        }
        Mode::Production => None,
    };
    let tls = match (file.tls, &pki) {
        (Some(tls), _) => tls.into_config(),
        (None, Some(pki)) => pki.tls.clone(),
        (None, None) => anyhow::bail!("production mode needs a [tls] section in --config"),
    };
    let config = ServerConfig {
        mode,
        banks,
        database_url: url.clone(),
        listen: args
            .listen
            .or(file.listen)
            .unwrap_or(IpAddr::from([127, 0, 0, 1])),
        port: args.port.or(file.port).unwrap_or(8430),
        psu_port: args.psu_port.or(file.psu_port).unwrap_or(8440),
        host_domain,
        pool_size: file.pool_size.unwrap_or(8),
        page_cache_mb: file
            .page_cache_mb
            .unwrap_or(guichet_store::DEFAULT_PAGE_CACHE_MB),
        tls,
        edge: file.edge.unwrap_or_default(),
        sandbox_maintenance: args.sandbox_maintenance,
        ops_listen: Some(args.ops_listen),
    };
    let app = Application::start(config, Arc::new(SystemClock)).await?;
    let urls: Vec<(String, String)> = app
        .state
        .banks
        .iter()
        .filter_map(|bank| {
            app.base_url(bank.code())
                .map(|url| (bank.code().to_owned(), url))
        })
        .collect();
    println!(
        "Guichet {} ({}), database {url}",
        env!("CARGO_PKG_VERSION"),
        mode.as_str()
    );
    for (code, base) in &urls {
        let name = app
            .state
            .bank(code)
            .map(|b| b.profile.name.clone())
            .unwrap_or_default();
        let pages = app.psu_origin(code).unwrap_or_default();
        println!("  {code} {name:<34} API {base}  PSU pages {pages}");
    }
    if let Some(ops) = app.ops_address {
        println!("  operations http://{ops} (/health/live, /health/ready, /metrics)");
    }
    if let Some(pki) = &pki {
        let qseal = std::fs::read_to_string(&pki.demo.qseal)?;
        let now = jiff::Timestamp::now().as_second();
        sandbox::register_tpp(
            &app.state.store,
            "Guichet Demo TPP",
            &[sandbox::DEMO_REDIRECT_URI.to_owned()],
            &qseal,
            now,
        )
        .await?;
        let manifest = sandbox::manifest(&app.state, &urls, pki).await?;
        std::fs::create_dir_all(&args.data_dir)?;
        let path = args.data_dir.join("sandbox.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&manifest)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("Sandbox personas and URLs: {}", path.display());
        println!("A token: guichet sandbox token --bank 17515 --psu LEA --scope aisp");
    }
    let (stop_inbox, inbox_stopped) = tokio::sync::watch::channel(false);
    if let Some(dir) = &args.inbox {
        let banks = app
            .state
            .banks
            .iter()
            .map(|bank| (bank.code().to_owned(), bank.profile.bic.clone()))
            .collect();
        let inbox = guichet_store::import::Inbox::new(dir, banks)
            .with_context(|| format!("the inbox {}", dir.display()))?;
        println!("  inbox {} (done/, failed/)", dir.display());
        start_inbox(inbox, url.clone(), args.inbox_seconds, inbox_stopped)?;
    }
    shutdown_signal().await;
    println!("stopping");
    // An import under way is one transaction: stopped in its middle, it leaves nothing.
    let _ = stop_inbox.send(true);
    app.stop().await;
    Ok(())
}

/// The inbox on a thread and a runtime of its own, with its own connections: reading a large
/// statement takes minutes of a thread, never one of the API's workers.
fn start_inbox(
    inbox: guichet_store::import::Inbox,
    url: guichet_store::DatabaseUrl,
    seconds: u64,
    stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("inbox".into())
        .spawn(move || {
            let period = std::time::Duration::from_secs(seconds.max(1));
            runtime.block_on(inbox.run_on(&url, period, stopped));
        })?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
