//! `guichet conformance`: the portal's acceptance tests and the STET 1.4.2 rules, run against a
//! live bank (Guichet's sandbox, or any STET bank with `--config`), with progress, a summary,
//! JUnit XML and an HTML report; the exit status is non-zero when a case fails.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use guichet_tpp::conformance::{self, Config};

#[derive(Args, Debug)]
pub struct ConformanceArgs {
    /// The run's configuration: TOML, or JSON when the name ends in .json (the banks'
    /// endpoints, the TPP's QWAC, QSealC and keys, client_id, redirect URI, CA file, personas).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "from_sandbox",
        required_unless_present_any = ["from_sandbox", "list"]
    )]
    pub config: Option<PathBuf>,
    /// Build the configuration for a Guichet sandbox from its sandbox.json (e.g.
    /// guichet-data/sandbox.json) and run it.
    #[arg(long, value_name = "SANDBOX_JSON")]
    pub from_sandbox: Option<PathBuf>,
    /// With --from-sandbox: also write that configuration to FILE (TOML, or JSON for .json),
    /// to edit and reuse with --config.
    #[arg(long, value_name = "FILE", requires = "from_sandbox")]
    pub write_config: Option<PathBuf>,
    /// Write a JUnit XML report to FILE (for CI systems).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Run only the cases whose id starts with PREFIX; repeatable (`--only portal/ --only
    /// stet/1.4.2/part1-3.5`).
    #[arg(long = "only", value_name = "PREFIX")]
    pub only: Vec<String>,
    /// List the cases (those --only selects) and exit.
    #[arg(long)]
    pub list: bool,
    /// Succeed even when cases were skipped (by default a skipped case fails the run).
    #[arg(long)]
    pub allow_skips: bool,
}

/// A line on the standard output; a closed pipe is not an error worth a panic.
fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

pub async fn run(args: ConformanceArgs) -> anyhow::Result<()> {
    if args.list {
        for case in conformance::cases()
            .into_iter()
            .filter(|c| conformance::selected(c.id, &args.only))
        {
            say(&format!("{:<48} {}", case.id, case.title));
        }
        return Ok(());
    }
    let config = match (&args.config, &args.from_sandbox) {
        (Some(file), _) => Config::load(file)?,
        (None, Some(sandbox)) => {
            let config = Config::from_sandbox_file(sandbox)?;
            if let Some(out) = &args.write_config {
                config.save(out)?;
                eprintln!("configuration written to {}", out.display());
            }
            config
        }
        (None, None) => {
            anyhow::bail!("give --config FILE, or --from-sandbox guichet-data/sandbox.json")
        }
    };
    let banks: Vec<String> = config
        .banks
        .iter()
        .map(|b| format!("{} {}", b.code, b.api_base_url))
        .collect();
    say(&format!(
        "STET PSD2 v1.4.2 conformance of {}",
        banks.join(", ")
    ));
    let report = conformance::run(config, &args.only, |result| say(&result.progress_line())).await;
    if let Some(path) = &args.junit {
        std::fs::write(path, report.junit_xml())
            .with_context(|| format!("writing the JUnit report {}", path.display()))?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, report.html()?)
            .with_context(|| format!("writing the HTML report {}", path.display()))?;
    }
    say("");
    say(&report.terminal_summary());
    if report.total() == 0 {
        anyhow::bail!("no case id starts with {:?} (see --list)", args.only);
    }
    if !report.all_passed() {
        anyhow::bail!(
            "{} of {} cases failed",
            report.failed(),
            report.total() - report.skipped()
        );
    }
    // A run that tested nothing, or skipped cases, certifies nothing unless asked to.
    if report.passed() == 0 {
        anyhow::bail!("no case passed: the configuration gives the cases no persona to run with");
    }
    if report.skipped() > 0 && !args.allow_skips {
        anyhow::bail!(
            "{} case(s) skipped (no persona plays their role, or the bank's state forbids them today); --allow-skips accepts that",
            report.skipped()
        );
    }
    Ok(())
}
