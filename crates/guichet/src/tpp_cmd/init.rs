//! `guichet tpp init`: the TPP's folder and its `config.toml`, from a sandbox's `sandbox.json`,
//! with the TPP's own certificates when given. An existing `config.toml` is kept unless
//! `--force`.

use guichet_tpp::Workspace;

use super::args::InitArgs;
use super::output::{Output, note};

pub fn run(args: InitArgs, out: Output) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.qwac.is_some() == args.qwac_key.is_some(),
        "--qwac and --qwac-key go together (the certificate and its key)"
    );
    anyhow::ensure!(
        args.qseal.is_some() == args.qseal_key.is_some(),
        "--qseal and --qseal-key go together (the certificate and its key)"
    );
    let (mut config, options) = Workspace::sandbox_setup(&args.sandbox)?;
    if let Some(port) = args.redirect_port {
        config.redirect_port = port;
    }
    if let Some(ca) = args.ca {
        config.ca_file = ca;
    }
    let tpp = &mut config.tpp;
    if let (Some(qwac), Some(key)) = (args.qwac, args.qwac_key) {
        tpp.qwac = qwac;
        tpp.qwac_key = key;
    }
    if let (Some(qseal), Some(key)) = (args.qseal, args.qseal_key) {
        tpp.qseal = qseal;
        tpp.qseal_key = key;
    }
    if let Some(base) = args.key_id_base {
        tpp.key_id_base = base;
    }
    let replaced = Workspace::config_path(&args.dir).exists();
    let workspace = Workspace::init(&args.dir, config, &options, args.force)?;
    let path = Workspace::config_path(&args.dir);
    let identity = workspace.identity()?;
    let banks: Vec<serde_json::Value> = workspace
        .config
        .banks
        .iter()
        .map(|b| {
            let sandbox = options.get(&b.code).is_some_and(|o| o.sandbox);
            serde_json::json!({"code": b.code, "name": b.name, "sandbox": sandbox})
        })
        .collect();
    let value = serde_json::json!({
        "config": path,
        "replaced": replaced,
        "clientId": identity.client_id,
        "redirectUri": workspace.redirect_uri(),
        "banks": banks,
    });
    out.show(&value, || {
        let names: Vec<String> = workspace
            .config
            .banks
            .iter()
            .map(|b| format!("{} {}", b.code, b.name))
            .collect();
        format!(
            "{}: {} for {} as {} (redirect URI {})\n",
            path.display(),
            if replaced { "replaced" } else { "configured" },
            names.join(", "),
            identity.client_id,
            workspace.redirect_uri()
        )
    })?;
    if !out.json
        && let Some(first) = workspace.config.banks.first()
    {
        note(&format!(
            "next: guichet tpp login --bank {} (a browser), or at the sandbox --sandbox-psu GEORGES",
            first.code
        ));
    }
    Ok(())
}
