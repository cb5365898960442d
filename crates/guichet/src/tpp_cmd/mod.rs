//! `guichet tpp …`: the TPP side on the command line. Thin: one file per subcommand, each
//! reading its arguments, calling `guichet-tpp` and printing; the rules live in the crate.

mod accounts;
mod args;
mod consent;
mod export;
mod funds;
mod init;
mod login;
mod output;
mod register;
mod report;
mod status;
mod sync;

pub use args::{Format, TppCommand};

use output::Output;

/// Runs a `guichet tpp` command. With `--json`, an error is also written to stdout as JSON
/// (`{"error": {"kind", "message", …}}`); the exit status is non-zero either way.
pub async fn run(command: TppCommand) -> anyhow::Result<()> {
    let out = Output {
        json: command.json(),
    };
    let outcome = dispatch(command, out).await;
    if let Err(error) = &outcome
        && out.json
    {
        let text = serde_json::to_string_pretty(&output::error_json(error)).unwrap_or_default();
        let _ = output::stdout(&format!("{text}\n"));
    }
    outcome
}

async fn dispatch(command: TppCommand, out: Output) -> anyhow::Result<()> {
    match command {
        TppCommand::Init(args) => init::run(args, out),
        TppCommand::Register(args) => register::run(args).await,
        TppCommand::Login(args) => login::run(args, out).await,
        TppCommand::Consent(args) => consent::run(args, out).await,
        TppCommand::Accounts(args) => accounts::accounts(args, out).await,
        TppCommand::Balances(args) => accounts::balances(args, out).await,
        TppCommand::Transactions(args) => accounts::transactions(args, out).await,
        TppCommand::Identity(args) => accounts::identity(args, out).await,
        TppCommand::Beneficiaries(args) => accounts::beneficiaries(args, out).await,
        TppCommand::FundsCheck(args) => funds::run(args, out).await,
        TppCommand::Sync(args) => sync::run(args, out).await,
        TppCommand::Status(common) => status::run(common, out).await,
        TppCommand::Report(args) => report::run(args, out).await,
        TppCommand::Export(args) => export::run(args, out).await,
    }
}
