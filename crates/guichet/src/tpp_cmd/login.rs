//! `guichet tpp login`: the PSU logs in at a bank. In a browser, the redirect caught on the
//! loopback; or, at a Guichet sandbox, `--sandbox-psu` has the program fill the pages.

use std::time::Duration;

use guichet_tpp::{Callback, ScaExpiry, Tokens, Workspace};

use super::args::LoginArgs;
use super::output::{Output, note};

pub async fn run(args: LoginArgs, out: Output) -> anyhow::Result<()> {
    let workspace = Workspace::open(&args.common.dir)?;
    let psu_ip = Some(args.common.psu_ip.clone());
    let tokens = match &args.sandbox_psu {
        Some(psu) => {
            workspace
                .sandbox_login(&args.bank, psu, &args.scope, psu_ip)
                .await?
        }
        None => in_browser(&workspace, &args, psu_ip).await?,
    };
    show(&workspace, &args.bank, &tokens, out)
}

async fn in_browser(
    workspace: &Workspace,
    args: &LoginArgs,
    psu_ip: Option<String>,
) -> anyhow::Result<Tokens> {
    let client = workspace.client(&args.bank, psu_ip)?;
    let port = workspace.config.redirect_port;
    let callback = Callback::bind(port).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on 127.0.0.1:{port} for the bank's redirect ({e}): free the port, or choose another with `guichet tpp init --redirect-port N --force` and register its redirect URI at the bank"
        )
    })?;
    let request = client.authorization_request(&callback.redirect_uri, &args.scope)?;
    note(&format!(
        "Open this page to log in at {}:\n{}",
        client.endpoints.name, request.url
    ));
    if !args.no_browser {
        let _ = std::process::Command::new("xdg-open")
            .arg(&request.url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    let params = callback.wait(Duration::from_secs(args.timeout)).await?;
    Ok(client.complete_authorization(&request, &params).await?)
}

fn show(workspace: &Workspace, bank: &str, tokens: &Tokens, out: Output) -> anyhow::Result<()> {
    let endpoints = workspace.bank(bank)?;
    let zone = workspace.bank_options(bank).zone()?;
    let sca = ScaExpiry::of(tokens, jiff::Timestamp::now(), &zone);
    let value = serde_json::json!({"bank": bank, "scope": tokens.scope, "sca": sca});
    out.show(&value, || {
        let until = sca
            .as_ref()
            .map(|s| format!("; the PSU's authentication {}", s.describe()))
            .unwrap_or_default();
        format!(
            "logged in at {} ({}){until}\n",
            endpoints.name, tokens.scope
        )
    })
}
