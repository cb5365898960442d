//! `guichet tpp accounts | balances | transactions | identity | beneficiaries`: one call each
//! at a bank, with the PSU present. Accounts are named by IBAN or by the bank's resourceId.

use guichet_tpp::{Workspace, iban_of, sync};

use super::args::{AccountArgs, BankArgs, TransactionsArgs};
use super::output::Output;

fn client(common: &super::args::Common, bank: &str) -> anyhow::Result<guichet_tpp::BankClient> {
    let workspace = Workspace::open(&common.dir)?;
    Ok(workspace.client(bank, Some(common.psu_ip.clone()))?)
}

pub async fn accounts(args: BankArgs, out: Output) -> anyhow::Result<()> {
    let accounts = client(&args.common, &args.bank)?.accounts().await?;
    out.show(&accounts, || {
        accounts
            .iter()
            .map(|a| {
                let ops: Vec<&str> = [
                    a.links.balances.as_ref().map(|_| "balances"),
                    a.links.transactions.as_ref().map(|_| "transactions"),
                ]
                .into_iter()
                .flatten()
                .collect();
                format!(
                    "{:<16} {:<28} {:<40} {}\n",
                    a.resource_id.as_deref().unwrap_or("-"),
                    iban_of(a).unwrap_or_default(),
                    a.name,
                    if ops.is_empty() {
                        "no consent".into()
                    } else {
                        ops.join(",")
                    }
                )
            })
            .collect()
    })
}

pub async fn balances(args: AccountArgs, out: Output) -> anyhow::Result<()> {
    let client = client(&args.common, &args.bank)?;
    let id = client.resource_id(&args.account).await?;
    let balances = client.balances(&id).await?;
    out.show(&balances, || {
        balances
            .iter()
            .map(|b| {
                format!(
                    "{} {:>14} {}  {}\n",
                    b.balance_type,
                    b.balance_amount.amount.to_string(),
                    b.balance_amount.currency,
                    b.name
                )
            })
            .collect()
    })
}

pub async fn transactions(args: TransactionsArgs, out: Output) -> anyhow::Result<()> {
    let account = &args.account;
    let client = client(&account.common, &account.bank)?;
    let id = client.resource_id(&account.account).await?;
    let list = client.transactions(&id, args.from, args.to).await?;
    out.show(&list, || {
        list.iter()
            .map(|t| {
                let local = sync::local(&account.bank, &account.account, t);
                format!(
                    "{} {:>12} {} {}  {}\n",
                    local.day, local.amount, local.currency, local.status, local.label
                )
            })
            .collect()
    })
}

pub async fn identity(args: BankArgs, out: Output) -> anyhow::Result<()> {
    let identity = client(&args.common, &args.bank)?
        .end_user_identity()
        .await?;
    out.show(&identity, || format!("{}\n", identity.connected_psu))
}

pub async fn beneficiaries(args: BankArgs, out: Output) -> anyhow::Result<()> {
    let list = client(&args.common, &args.bank)?
        .trusted_beneficiaries()
        .await?;
    out.show(&list, || {
        list.iter()
            .map(|b| {
                format!(
                    "{}  {}\n",
                    b.creditor.name,
                    b.creditor_account
                        .as_ref()
                        .and_then(|a| a.iban.clone())
                        .unwrap_or_default()
                )
            })
            .collect()
    })
}
