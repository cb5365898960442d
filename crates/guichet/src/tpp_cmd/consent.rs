//! `guichet tpp consent`: the PSU's choice of what the TPP may read, forwarded to the bank.
//! On a terminal with no choice given, it asks account by account; without a terminal it
//! refuses rather than send an empty consent (which would revoke every account).

use std::io::{BufRead, IsTerminal, Write};

use guichet_tpp::{ConsentChoice, Workspace, iban_of};

use super::args::ConsentArgs;
use super::output::Output;

pub async fn run(args: ConsentArgs, out: Output) -> anyhow::Result<()> {
    // `--identity` or `--beneficiaries` alone name no account: they would revoke every one,
    // so they are not a choice of accounts on their own.
    let explicit =
        args.all || args.none || !args.balances.is_empty() || !args.transactions.is_empty();
    let terminal = std::io::stdin().is_terminal();
    anyhow::ensure!(
        explicit || terminal,
        "no consent choice given and no terminal to ask on: pass --all (every account and the identity), \
         or --balances ACCOUNT / --transactions ACCOUNT (IBAN or resourceId, repeatable) with --identity / --beneficiaries, \
         or --none to share nothing (which revokes every account)"
    );
    let workspace = Workspace::open(&args.common.dir)?;
    let client = workspace.client(&args.bank, Some(args.common.psu_ip.clone()))?;
    let choice = if args.all {
        let mut choice = ConsentChoice::everything(&client.accounts().await?);
        choice.beneficiaries = args.beneficiaries;
        choice
    } else if explicit {
        ConsentChoice {
            balances: args.balances,
            transactions: args.transactions,
            identity: args.identity,
            beneficiaries: args.beneficiaries,
        }
    } else {
        let mut choice = ConsentChoice::default();
        for account in client.accounts().await? {
            let Some(iban) = iban_of(&account) else {
                continue;
            };
            if ask(&format!(
                "Share {} ({iban}) balances and transactions?",
                account.name
            ))? {
                choice.balances.push(iban.clone());
                choice.transactions.push(iban);
            }
        }
        choice.identity = ask("Share your identity (name)?")?;
        choice
    };
    let sent = client.consent(&choice).await?;
    let value = serde_json::json!({
        "bank": args.bank,
        "balances": sent.balances,
        "transactions": sent.transactions,
        "psuIdentity": sent.identity,
        "trustedBeneficiaries": sent.beneficiaries,
    });
    out.show(&value, || {
        format!(
            "consent forwarded: {} account(s) for balances, {} for transactions, identity {}, beneficiaries {}\n",
            sent.balances.len(),
            sent.transactions.len(),
            if sent.identity { "yes" } else { "no" },
            if sent.beneficiaries { "yes" } else { "no" }
        )
    })
}

fn ask(question: &str) -> anyhow::Result<bool> {
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "o" | "oui"))
}
