//! `guichet tpp report`: the aggregated picture, as a table, JSON, and an HTML page.

use guichet_tpp::{Workspace, report};
use jiff::ToSpan;

use super::args::ReportArgs;
use super::output::{Output, note};

pub async fn run(args: ReportArgs, out: Output) -> anyhow::Result<()> {
    let workspace = Workspace::open(&args.common.dir)?;
    let today = workspace.today(jiff::Timestamp::now());
    let to = args
        .to
        .unwrap_or_else(|| today.checked_add(1.day()).unwrap_or(today));
    let from = args
        .from
        .unwrap_or_else(|| to.checked_sub(30.days()).unwrap_or(to));
    let mut options = report::ReportOptions::new(from, to);
    options.customer = args.customer.clone();
    options.bank_names = workspace
        .config
        .banks
        .iter()
        .map(|bank| (bank.code.clone(), bank.name.clone()))
        .collect();
    options.time_zone = workspace.home_zone();
    options.generated = Some(jiff::Timestamp::now());
    let built = report::build_with(&workspace.store().await?, options).await?;
    if let Some(path) = &args.html {
        std::fs::write(path, report::html(&built))
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        note(&format!("HTML report: {}", path.display()));
    }
    let value = serde_json::json!({
        "from": built.from.to_string(), "to": built.to.to_string(),
        "totals": built.totals.iter().map(|(c, t)| (c.clone(), t.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
        "income": built.income.to_string(), "spending": built.spending.to_string(),
        "accounts": built.accounts.iter().map(|a| serde_json::json!({"bank": a.bank, "iban": a.iban, "name": a.name, "balance": a.balance.map(|b| b.to_string())})).collect::<Vec<_>>(),
    });
    out.show(&value, || report::table(&built))
}
