//! Guichet's bank side: the STET PSD2 v1.4.2 Account Information API of a group of banks.
//!
//! Request pipeline (ARCHITECTURE.md): the accept loop attaches the connection's facts to each
//! request → [`edge`] resolves the bank, checks `X-Request-ID`, negotiates the media type →
//! [`auth::Grant`] checks the bearer token → handlers check scope, account, consent, then spend
//! the batch allowance ([`limits`]) and read the store. Mutual TLS and HTTP signatures slot in
//! at the accept loop and before the token check.

pub mod ais;
pub mod app;
pub mod auth;
pub mod bench;
pub mod cbpii;
pub mod clock;
pub mod conn;
pub mod context;
pub mod edge;
pub mod error;
pub mod limits;
pub mod links;
pub mod oauth;
pub mod oidc;
pub mod ops;
pub mod profile;
pub mod register;
pub mod regulatory;
pub mod sandbox;
pub mod sca;
pub mod security;
pub mod signature;
pub mod state;
pub mod throttle;
pub mod tls;

use std::net::IpAddr;
use std::sync::Arc;

use anyhow::Context;
use guichet_store::{DatabaseUrl, Store};

pub use app::Running;
pub use clock::{Clock, ManualClock, SystemClock};
pub use profile::BankProfile;
pub use state::{AppState, Bank, Mode, SharedState};

/// Everything `guichet serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub mode: Mode,
    pub banks: Vec<BankProfile>,
    pub database_url: DatabaseUrl,
    pub listen: IpAddr,
    /// The first bank's API port; the others follow. 0 picks free ports.
    pub port: u16,
    /// The first bank's port for the PSU's pages (authorize, SCA); the others follow.
    pub psu_port: u16,
    pub host_domain: Option<String>,
    pub pool_size: u32,
    /// The room for transactions pages kept in memory, in MiB; 0 keeps none.
    pub page_cache_mb: u32,
    pub tls: security::TlsConfig,
    /// Connection and request limits of the edge.
    pub edge: conn::EdgeLimits,
    /// In the sandbox, close the banks during their maintenance windows as production does.
    pub sandbox_maintenance: bool,
    /// The operations listener (health, metrics): plain HTTP, 127.0.0.1 by default; `None`
    /// serves none.
    pub ops_listen: Option<std::net::SocketAddr>,
}

/// A started bank server.
pub struct Application {
    pub state: SharedState,
    pub running: Running,
    /// Where the operations listener is bound, if it is.
    pub ops_address: Option<std::net::SocketAddr>,
    ops: Option<(
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    )>,
    housekeeping: (
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    ),
}

impl Application {
    /// Starts the bank with the mode's SCA: the sandbox's, or none in production (plug one in
    /// with [`Application::start_with_sca`]).
    pub async fn start(config: ServerConfig, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        let sca: Arc<dyn sca::ScaProvider> = match config.mode {
            Mode::Sandbox => Arc::new(sca::SandboxSca),
            Mode::Production => Arc::new(sca::DisabledSca),
        };
        Application::start_with_sca(config, clock, sca).await
    }

    pub async fn start_with_sca(
        config: ServerConfig,
        clock: Arc<dyn Clock>,
        sca: Arc<dyn sca::ScaProvider>,
    ) -> anyhow::Result<Application> {
        // Portal, "Regulatory publications": maintenance is planned; production closes for it,
        // the sandbox only when asked to, so that TPPs can test their handling.
        let enforce_maintenance = config.mode == Mode::Production || config.sandbox_maintenance;
        let banks = config
            .banks
            .into_iter()
            .map(|profile| {
                Bank::new(profile, enforce_maintenance)
                    .map(Arc::new)
                    .map_err(anyhow::Error::msg)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!banks.is_empty(), "no bank is configured");
        config.edge.validate().map_err(anyhow::Error::msg)?;
        let mut store = Store::connect(&config.database_url, config.pool_size)
            .await
            .with_context(|| format!("opening the database {}", config.database_url))?;
        store.keep_pages(u64::from(config.page_cache_mb) << 20);
        store.set_meta("mode", config.mode.as_str()).await?;
        store.fill_operation_json_later();
        let security = security::Security::load(&config.tls)?;
        let fresh = guichet_store::TokenSecret::generate()?;
        let identifier_key = store
            .meta_or_insert("identifier_key", fresh.expose())
            .await?;
        let state = Arc::new(AppState {
            store,
            clock,
            banks,
            mode: config.mode,
            host_domain: config.host_domain,
            security,
            sca,
            psu_origins: std::sync::OnceLock::new(),
            throttle: throttle::Throttle::new(
                config.edge.psu_failures_per_client,
                config.edge.psu_failure_window_seconds,
            ),
            edge: config.edge,
            identifier_key: aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                identifier_key.as_bytes(),
            ),
            metrics: ops::Metrics::new(),
            readiness: ops::Readiness::new(),
            recorder: regulatory::Recorder::new(),
        });
        if config.mode == Mode::Sandbox {
            sandbox::refresh(&state).await?;
        }
        // The operations listener is bound first: if its port is taken, nothing was started.
        let ops_listener = match config.ops_listen {
            Some(address) => Some(
                tokio::net::TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding the operations listener {address}"))?,
            ),
            None => None,
        };
        let running = app::serve(state.clone(), config.listen, config.port, config.psu_port)
            .await
            .with_context(|| format!("binding {}:{}", config.listen, config.port))?;
        let origins = state
            .banks
            .iter()
            .filter_map(|bank| {
                let code = bank.code().to_owned();
                let origin = match &state.host_domain {
                    Some(domain) if config.mode == Mode::Production => {
                        format!("https://www.{code}.{domain}")
                    }
                    _ => format!("https://{}", running.psu_address_of(&code)?),
                };
                Some((code, origin))
            })
            .collect();
        let _ = state.psu_origins.set(origins);
        let (ops_address, ops) = match ops_listener {
            Some(listener) => {
                let bound = listener.local_addr()?;
                let (stop, stopped) = tokio::sync::watch::channel(false);
                let task = tokio::spawn({
                    let state = state.clone();
                    async move {
                        if let Err(e) = ops::serve(listener, state, stopped).await {
                            tracing::error!(error = %e, "the operations listener stopped");
                        }
                    }
                });
                (Some(bound), Some((stop, task)))
            }
            None => (None, None),
        };
        let (stop_housekeeping, stopping) = tokio::sync::watch::channel(false);
        let housekeeping = tokio::spawn(housekeeping(state.clone(), stopping));
        Ok(Application {
            state,
            running,
            ops_address,
            ops,
            housekeeping: (stop_housekeeping, housekeeping),
        })
    }

    /// The API base URL of a bank, e.g. `https://127.0.0.1:8431/stet/psd2/v1.4.2`.
    pub fn base_url(&self, bank_code: &str) -> Option<String> {
        self.origin(bank_code)
            .map(|origin| format!("{origin}{}", guichet_stet::BASE_PATH))
    }

    /// The scheme, host and port of a bank, e.g. `https://127.0.0.1:8431`.
    pub fn origin(&self, bank_code: &str) -> Option<String> {
        self.running
            .address_of(bank_code)
            .map(|address| format!("https://{address}"))
    }

    /// The origin of a bank's PSU pages, e.g. `https://127.0.0.1:8441`.
    pub fn psu_origin(&self, bank_code: &str) -> Option<String> {
        self.state.psu_origin(bank_code)
    }

    /// Stops: not ready at once (the load balancer's probe sees it), no new connection, the
    /// requests in flight finished (10 s at most), then the operations listener and the
    /// database.
    pub async fn stop(self) {
        self.state.readiness.begin_shutdown();
        // Housekeeping finishes what it is doing (a flush of statistics is never cut).
        let (stop_housekeeping, housekeeping) = self.housekeeping;
        let _ = stop_housekeeping.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), housekeeping).await;
        self.running.stop().await;
        if let Some((stop, task)) = self.ops {
            let _ = stop.send(true);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
        let now = self.state.now().as_second();
        if let Err(e) = self
            .state
            .recorder
            .flush(&self.state.store, now, true)
            .await
        {
            tracing::warn!(error = %e, "the last minutes of statistics could not be written");
        }
        self.state.store.close().await;
    }
}

/// Every `trust_refresh_seconds` (30 by default): re-read the trust list if a CRL changed (a
/// revoked QWAC is then refused at its connection's next request); in the sandbox, refresh
/// the data set when the day changed.
async fn housekeeping(state: SharedState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let period = std::time::Duration::from_secs(state.edge.trust_refresh_seconds.max(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => return,
        }
        match state.security.refresh_trust() {
            Ok(true) => tracing::info!("trust list reloaded (a CRL changed)"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "trust list reload failed; keeping the previous one")
            }
        }
        if let Err(e) = state
            .recorder
            .flush(&state.store, state.now().as_second(), false)
            .await
        {
            tracing::warn!(error = %e, "writing the statistics failed; kept for the next try");
        }
        let (size, idle) = state.store.pool_state();
        state.metrics.db_pool(size, idle);
        let now = state.now().as_second();
        if let Err(e) = state.store.prune_sca_failures(now - 86_400, now).await {
            tracing::warn!(error = %e, "pruning SCA failure counts failed");
        }
        // An attempt lives ten minutes; an hour after, nobody can use it.
        if let Err(e) = state.store.prune_attempts(now - 3_600).await {
            tracing::warn!(error = %e, "pruning SCA attempts failed");
        }
        if state.mode == Mode::Sandbox
            && let Err(e) = sandbox::refresh(&state).await
        {
            tracing::warn!(error = %e, "sandbox refresh failed");
        }
    }
}
