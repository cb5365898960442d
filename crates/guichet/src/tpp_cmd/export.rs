//! `guichet tpp export`: the synced operations as CSV, JSON, OFX or ISO 20022 camt.053, to
//! stdout (a closed pipe, `| head`, ends it cleanly) or to a file.

use guichet_tpp::{Workspace, export};

use super::Format;
use super::args::ExportArgs;
use super::output::{Output, stdout};

pub async fn run(args: ExportArgs, out: Output) -> anyhow::Result<()> {
    let workspace = Workspace::open(&args.common.dir)?;
    let store = workspace.store().await?;
    let transactions = store.transactions(None, None).await?;
    let today = workspace.today(jiff::Timestamp::now());
    let text = match args.format {
        Format::Csv => export::csv(&transactions),
        Format::Json => export::json(&transactions),
        Format::Ofx => export::ofx(
            &store.accounts().await?,
            &transactions,
            &today.to_string().replace('-', ""),
        ),
        Format::Camt053 => export::camt053(
            &store.accounts().await?,
            &transactions,
            jiff::Timestamp::now(),
        )?,
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let value = serde_json::json!({"written": path, "operations": transactions.len()});
            out.show(&value, || {
                format!("{}: {} operation(s)\n", path.display(), transactions.len())
            })
        }
        None => stdout(&text),
    }
}
