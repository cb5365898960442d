//! `guichet stats`: a bank's regulatory statistics for a quarter (portal, "Regulatory
//! publications"; RTS art. 32(4); EBA/GL/2018/07 guidelines 2.2–2.4), from the minutes every
//! server instance recorded in the shared database.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use guichet_aspsp::BankProfile;
use guichet_aspsp::regulatory::{Report, daily, quarter_days};
use guichet_store::Store;
use jiff::civil::Time;

use crate::config::{FileConfig, database_url, default_data_dir};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per day and API version.
    Csv,
    /// The days and the quarter's summary.
    Json,
    /// A self-contained page with charts, to publish as is.
    Html,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Bank code, e.g. 30258.
    #[arg(long)]
    pub bank: String,
    /// The quarter, e.g. 2026Q4.
    #[arg(long)]
    pub quarter: String,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Write to this file instead of the standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder of the SQLite database (when no database URL is given).
    #[arg(long, env = "GUICHET_DATA_DIR", default_value_os_t = default_data_dir())]
    pub data_dir: PathBuf,
    /// PostgreSQL (`postgres://…`) or SQLite (`sqlite://…`) database; default: the data folder's SQLite file.
    #[arg(long, env = "GUICHET_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The TOML file with the bank profiles (their time zone and maintenance windows); default:
    /// the sandbox's banks.
    #[arg(long, env = "GUICHET_CONFIG")]
    pub config: Option<PathBuf>,
}

pub async fn run(args: StatsArgs) -> anyhow::Result<()> {
    let file = FileConfig::load(args.config.as_deref())?;
    let banks = if file.banks.is_empty() {
        BankProfile::sandbox_banks()
    } else {
        file.banks
    };
    let known: Vec<String> = banks.iter().map(|b| b.code.clone()).collect();
    let Some(profile) = banks.into_iter().find(|b| b.code == args.bank) else {
        anyhow::bail!(
            "bank {} is not configured (banks: {})",
            args.bank,
            known.join(", ")
        );
    };
    let zone = profile.validate().map_err(anyhow::Error::msg)?;
    let mut days = quarter_days(&args.quarter).map_err(anyhow::Error::msg)?;
    let now = jiff::Timestamp::now();
    let today = zone.to_datetime(now).date();
    let in_progress = days.last().is_some_and(|last| *last >= today);
    days.retain(|day| *day <= today);
    let (Some(first), Some(last)) = (days.first().copied(), days.last().copied()) else {
        anyhow::bail!("{} has not begun", args.quarter);
    };

    let explicit = args
        .database_url
        .as_deref()
        .or(file.database_url.as_deref());
    if explicit.is_none() {
        let path = args.data_dir.join("guichet.db");
        anyhow::ensure!(
            path.exists(),
            "no database at {} (give --data-dir or --database-url)",
            path.display()
        );
    }
    let url = database_url(explicit, &args.data_dir)?;
    // A day more on each side: runs of failures crossing the quarter's edges are seen whole.
    let from = zone
        .to_timestamp(first.to_datetime(Time::midnight()))?
        .as_second()
        - 86_400;
    let to = zone
        .to_timestamp(last.tomorrow()?.to_datetime(Time::midnight()))?
        .as_second()
        + 86_400;
    let store = Store::connect(&url, 1)
        .await
        .with_context(|| format!("opening the database {url}"))?;
    let rows = store.minutes(&profile.code, from, to).await;
    store.close().await;
    let rows = rows?;

    // Planned downtime is the windows the bank closed for: enforced by default in
    // production, in the sandbox only when the profile says so.
    let production = file.mode == Some(guichet_aspsp::Mode::Production);
    let enforced = profile.enforce_maintenance.unwrap_or(production);
    let windows = if enforced {
        profile.maintenance.clone()
    } else {
        Vec::new()
    };
    let stats = daily(&rows, &days, &zone, &windows);
    let generated = format!(
        "{} {}",
        zone.to_datetime(now).strftime("%Y-%m-%d %H:%M"),
        profile.time_zone
    );
    let mut report = Report::new(
        &profile.code,
        &profile.name,
        &args.quarter.to_ascii_uppercase(),
        &profile.time_zone,
        &generated,
        stats,
    );
    if in_progress {
        report.note = Some(format!(
            "The quarter is in progress: figures up to {today}, a day not over yet."
        ));
    }
    let text = match args.format {
        Format::Csv => report.csv(),
        Format::Json => report.json()?,
        Format::Html => report.html()?,
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "{} ({}) {}: {} day(s) written to {}",
                profile.name,
                profile.code,
                report.quarter,
                days.len(),
                path.display()
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}
