//! `guichet tpp register`: the TPP registers (or updates) itself at a bank.

use guichet_tpp::TppIdentity;

use super::args::RegisterArgs;
use super::output::stdout;

pub async fn run(args: RegisterArgs) -> anyhow::Result<()> {
    let identity = TppIdentity::from_files(
        &args.qwac,
        &args.qwac_key,
        &args.qseal,
        &args.qseal_key,
        "https://tpp.invalid/qseal.pem",
    )?;
    let client = identity.http_client(&args.ca)?;
    let answer = guichet_tpp::register(
        &client,
        args.bank_url.trim_end_matches('/'),
        &identity,
        &args.name,
        &args.contacts,
        &args.redirect_uris,
    )
    .await?;
    stdout(&format!("{}\n", serde_json::to_string_pretty(&answer)?))
}
