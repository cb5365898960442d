//! Logs a customer in at the two banks of a Guichet sandbox, forwards the consent for every
//! account, and prints the balances of every account.
//!
//! Start the sandbox (`cargo run -p guichet -- serve`), then:
//!
//! ```sh
//! cargo run -p guichet-tpp --example two_banks -- guichet-data/sandbox.json GEORGES
//! ```
//!
//! For each bank the example prints the bank's login URL and waits for the redirect on its
//! loopback callback: open the URL, log in as the persona (password `sandbox`, then the code
//! the sandbox shows). With `--auto` it fills the sandbox's pages itself, as a test would.

use std::path::PathBuf;
use std::time::Duration;

use guichet_stet::model::{Access, AccountIdentification};
use guichet_tpp::{BankClient, Callback, Workspace};

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let manifest = PathBuf::from(
        args.first()
            .map(String::as_str)
            .unwrap_or("guichet-data/sandbox.json"),
    );
    let persona = args.get(1).cloned().unwrap_or_else(|| "GEORGES".into());
    let auto = args.iter().any(|a| a == "--auto");
    let config = Workspace::config_from_sandbox(&manifest)?;
    let workspace = Workspace {
        dir: std::env::temp_dir().join("guichet-two-banks"),
        config,
    };
    let identity = workspace.identity()?;
    for endpoints in &workspace.config.banks {
        // The PSU is present: it is logging in now.
        let bank = BankClient::new(
            endpoints.clone(),
            identity.clone(),
            &workspace.config.ca_file,
        )?
        .psu_present(Some("127.0.0.1".into()));
        let callback = Callback::bind(workspace.config.redirect_port).await?;
        let request = bank.authorization_request(&callback.redirect_uri, "aisp")?;
        let waiting = tokio::spawn(callback.wait(Duration::from_secs(300)));
        if auto {
            guichet_tpp::sandbox::log_in(&request.url, &workspace.config.ca_file, &persona).await?;
        } else {
            println!(
                "Log in at {} as {persona}:\n  {}",
                endpoints.name, request.url
            );
        }
        let params = waiting.await??;
        let code = params.get("code").ok_or("the bank did not grant access")?;
        bank.exchange_code(
            &request,
            code,
            params.get("state").map(String::as_str).unwrap_or(""),
        )
        .await?;

        // The consent: every account, for balances and transactions.
        let accounts = bank.accounts().await?;
        let ids: Vec<AccountIdentification> = accounts
            .iter()
            .filter_map(|a| a.account_id.as_ref().and_then(|i| i.iban.clone()))
            .map(|iban| AccountIdentification {
                iban: Some(iban),
                other: None,
                currency: None,
            })
            .collect();
        bank.put_consents(&Access {
            balances: ids.clone(),
            transactions: ids,
            trusted_beneficiaries: false,
            psu_identity: false,
        })
        .await?;

        println!("{}:", endpoints.name);
        for account in bank.accounts().await? {
            let Some(id) = account.resource_id else {
                continue;
            };
            for balance in bank.balances(&id).await? {
                println!(
                    "  {:<44} {} {:>14} {}",
                    account.name,
                    balance.balance_type,
                    balance.balance_amount.amount.to_string(),
                    balance.balance_amount.currency
                );
            }
        }
        bank.revoke().await?;
    }
    Ok(())
}
