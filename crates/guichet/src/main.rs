//! `guichet`: the command line. Thin: it reads configuration, wires the crates, prints.

mod bench;
mod config;
mod conformance_cmd;
mod import_cmd;
mod pki_cmd;
mod sandbox_cmd;
mod serve;
mod stats_cmd;
mod tpp_cmd;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's allocator: a request allocates and frees small buffers on
/// whichever worker runs it, and glibc's arenas spent an eighth of GET /accounts on it. Measured
/// on 7 December (BENCHMARKS.md): GET /accounts from 0.41× to 0.49–0.54× of the static + RSA
/// baseline, the peak resident memory from 39 MB to 52 MB (the goal is at most 150 MB).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "guichet",
    version,
    about = "A STET PSD2 v1.4.2 bank (ASPSP) and its sandbox"
)]
struct Cli {
    /// Log lines as `text` (coloured only on a terminal) or `json` (one object per line).
    #[arg(
        long,
        global = true,
        env = "GUICHET_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). Each line of a request carries its
/// span: X-Request-ID, bank, TPP.
///
/// The lines are written by a thread of their own (`tracing-appender`), several at a time when
/// they come faster than one by one: a request hands its access line over instead of making a
/// system call on the runtime's worker, and a stderr that is slow to drain (a busy journald, a
/// full pipe) no longer stalls requests until 128,000 lines wait. None is dropped while the
/// process runs. The guard writes out what is left when dropped, giving it a second at most
/// (`tracing-appender`'s bound), so that a stderr nobody reads cannot keep the process from
/// ending: keep the guard until the end.
fn init_logs(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("guichet-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let lines = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(writer)
            .boxed(),
    };
    let logs = tracing_subscriber::registry().with(lines);
    match static_filter(&std::env::var("RUST_LOG").unwrap_or_default()) {
        Some(targets) => logs.with(targets).init(),
        None => logs
            .with(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOGS)),
            )
            .init(),
    }
    guard
}

/// The logs without `RUST_LOG`: `info`, but PostgreSQL's notices only from its warnings up.
/// Its NOTICEs are sqlx's `info`: at every start, that the table of migrations already exists
/// ("relation \"_sqlx_migrations\" already exists, skipping"), which is no news to an operator.
const DEFAULT_LOGS: &str = "info,sqlx::postgres::notice=warn";

/// `RUST_LOG` as a static filter when it holds only levels and targets (`info`,
/// `warn,guichet::access=off`), its pieces trimmed and empty ones dropped as `EnvFilter` does;
/// none when it names spans or fields (`[`, `{`), which only `EnvFilter` reads. The static
/// filter does not follow every span entered and left, as `EnvFilter` must: that cost a tenth
/// of the bank's time on PostgreSQL, where a request's future is polled at each packet
/// (BENCHMARKS.md, 7 December). Unset or empty, [`DEFAULT_LOGS`].
fn static_filter(spec: &str) -> Option<tracing_subscriber::filter::Targets> {
    if spec.contains(['[', '{']) {
        return None;
    }
    let pieces: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
        .collect();
    if pieces
        .iter()
        .any(|piece| piece.contains(char::is_whitespace))
    {
        return None;
    }
    let spec = if pieces.is_empty() {
        DEFAULT_LOGS.to_owned()
    } else {
        pieces.join(",")
    };
    spec.parse().ok()
}

#[derive(Subcommand)]
enum Command {
    /// Run the bank: the STET API of every configured bank. With no configuration, a sandbox
    /// with the portal's personas.
    Serve(serve::ServeArgs),
    /// Sandbox helpers.
    Sandbox {
        #[command(subcommand)]
        command: sandbox_cmd::SandboxCommand,
    },
    /// A sandbox qualified trust service provider: QWACs and QSealCs with the PSD2 statement.
    Pki {
        #[command(subcommand)]
        command: pki_cmd::PkiCommand,
    },
    /// Load on a running sandbox bank, measured from outside (loopback only).
    Bench(bench::BenchArgs),
    /// The regulatory statistics of a bank for a quarter (RTS art. 32(4), EBA/GL/2018/07):
    /// daily uptime, downtime, response times and error rate, as CSV, JSON or an HTML report.
    Stats(stats_cmd::StatsArgs),
    /// Run the portal's acceptance tests and the STET 1.4.2 rules against a live bank (the
    /// sandbox with --from-sandbox, any STET bank with --config): progress, a summary, JUnit
    /// XML, an HTML report; the exit status is non-zero when a case fails.
    Conformance(conformance_cmd::ConformanceArgs),
    /// A bank's own data into the store: its customer file (`import customers`), then its
    /// core banking statements (ISO 20022 camt.053 and camt.052), each file whole or not at
    /// all.
    Import(import_cmd::ImportArgs),
    /// The TPP side: a client of STET banks.
    Tpp {
        #[command(subcommand)]
        command: tpp_cmd::TppCommand,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let logs = init_logs(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Sandbox { command } => sandbox_cmd::run(command).await,
            Command::Pki { command } => pki_cmd::run(command),
            Command::Bench(args) => bench::run(args).await,
            Command::Stats(args) => stats_cmd::run(args).await,
            Command::Conformance(args) => conformance_cmd::run(args).await,
            Command::Import(args) => import_cmd::run(args).await,
            Command::Tpp { command } => tpp_cmd::run(command).await,
        }
    });
    drop(runtime);
    // Every line logged is written before the outcome is printed.
    drop(logs);
    if let Err(e) = &outcome
        && e.downcast_ref::<ExitStatus>().is_none()
    {
        eprintln!("error: {e:#}");
    }
    std::process::ExitCode::from(status_of(&outcome))
}

/// A command that said what it had to (a `tpp sync` where a bank failed) and ends with this
/// exit status, through `main`, so that the log lines are written out first: not
/// `std::process::exit`, which would leave them in the log thread's hands.
#[derive(Debug)]
pub struct ExitStatus(pub u8);

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for ExitStatus {}

/// 0, the status a command asked for, or 1 for any other error.
fn status_of(outcome: &anyhow::Result<()>) -> u8 {
    match outcome {
        Ok(()) => 0,
        Err(e) => e.downcast_ref::<ExitStatus>().map_or(1, |status| status.0),
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::{ExitStatus, static_filter, status_of};

    #[test]
    fn a_command_may_ask_for_its_exit_status() {
        assert_eq!(status_of(&Ok(())), 0);
        assert_eq!(status_of(&Err(anyhow::anyhow!("no such bank"))), 1);
        assert_eq!(status_of(&Err(ExitStatus(2).into())), 2);
    }

    #[test]
    fn rust_log_of_levels_and_targets_is_a_static_filter() {
        let quiet = static_filter(" warn, guichet::access=off ,").unwrap_or_default();
        assert!(quiet.would_enable("guichet_aspsp::edge", &Level::WARN));
        assert!(!quiet.would_enable("guichet_aspsp::edge", &Level::INFO));
        assert!(!quiet.would_enable("guichet::access", &Level::ERROR));
        let default = static_filter("").unwrap_or_default();
        assert!(default.would_enable("guichet", &Level::INFO));
        assert!(!default.would_enable("guichet", &Level::DEBUG));
        assert!(default.would_enable("sqlx::query", &Level::INFO));
        assert!(!default.would_enable("sqlx::postgres::notice", &Level::INFO));
        assert!(default.would_enable("sqlx::postgres::notice", &Level::WARN));
        let one = static_filter("info,guichet_store=debug").unwrap_or_default();
        assert!(one.would_enable("guichet_store::pages", &Level::DEBUG));
        assert!(!one.would_enable("sqlx", &Level::DEBUG));
    }

    #[test]
    fn rust_log_naming_spans_or_fields_is_left_to_env_filter() {
        for spec in [
            "guichet_aspsp[request]=debug",
            "[request{tpp}]=debug",
            "[{request_id}]=debug",
            "guichet = debug",
        ] {
            assert!(static_filter(spec).is_none(), "{spec}");
        }
    }
}
