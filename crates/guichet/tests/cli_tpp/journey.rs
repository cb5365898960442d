//! `guichet tpp` as a person uses it, after `guichet serve` (called from `cli.rs`): init, login,
//! consent, accounts, funds check, sync, report, export, status.

use std::path::Path;
use std::process::Stdio;

use super::{Server, guichet};

pub fn run_ok(args: &[&str], dir: &Path) -> String {
    let output = guichet().args(args).arg("--dir").arg(dir).output();
    let Ok(output) = output else {
        panic!("guichet {args:?}")
    };
    assert!(
        output.status.success(),
        "guichet {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `guichet <args> --dir <dir>` that must fail: its stdout and stderr.
pub fn run_failing(args: &[&str], dir: &Path) -> (String, String) {
    let output = guichet().args(args).arg("--dir").arg(dir).output();
    let Ok(output) = output else {
        panic!("guichet {args:?}")
    };
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(
        !output.status.success(),
        "guichet {args:?} should fail: {stdout}"
    );
    (stdout, stderr)
}

/// `first`, then `more`: a command line built from parts.
pub fn then<'a>(first: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    first.iter().chain(more).copied().collect()
}

pub fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `guichet tpp` as a person uses it, the README's quick start: init, register the callback,
/// `login --sandbox-psu`, consent, accounts by IBAN or resourceId, a funds check that leaves
/// the PSU's tokens alone, sync, report, export (into a closed pipe too), status checked with
/// the bank; errors as JSON; then a login in the "browser" (the bank's pages filled in over
/// HTTP while the CLI waits on its loopback).
pub async fn tpp_cli_journey(data_dir: &Path, manifest: &serde_json::Value) {
    use std::io::BufRead;
    // sandbox.json gives absolute paths, and says so.
    assert_eq!(manifest["pathsAre"], "absolute");
    for path in [&manifest["caFile"], &manifest["demoTpp"]["qwac"]] {
        assert!(
            Path::new(path.as_str().unwrap_or_default()).is_absolute(),
            "{path}"
        );
    }
    let ws = data_dir.join("tpp-workspace");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18765);
    let sandbox = data_dir.join("sandbox.json");
    let sandbox_arg = sandbox.to_str().unwrap_or_default().to_owned();
    let init: [&str; 4] = ["tpp", "init", "--sandbox", &sandbox_arg];
    let port_arg = port.to_string();
    run_ok(&then(&init, &["--redirect-port", &port_arg]), &ws);
    let config = std::fs::read_to_string(ws.join("config.toml")).unwrap_or_default();
    assert!(config.contains("sandbox = true"), "{config}");
    // A second init never replaces config.toml silently.
    let (stdout, stderr) = run_failing(&then(&init, &["--json"]), &ws);
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(json_of(&stdout)["error"]["kind"], "local", "{stdout}");
    assert_eq!(
        std::fs::read_to_string(ws.join("config.toml")).unwrap_or_default(),
        config
    );
    run_ok(
        &then(&init, &["--redirect-port", &port_arg, "--force"]),
        &ws,
    );
    // A TPP with its own certificates: --qwac/--qseal; a missing file is named.
    let own = data_dir.join("own-tpp-workspace");
    let other = data_dir.join("other-tpp");
    let file = |name: &str| other.join(name).to_str().unwrap_or_default().to_owned();
    let own_certs = [
        "--qwac",
        &file("qwac.pem"),
        "--qwac-key",
        &file("qwac.key"),
        "--qseal",
        &file("qseal.pem"),
        "--qseal-key",
        &file("qseal.key"),
    ]
    .map(str::to_owned);
    let own_certs: Vec<&str> = own_certs.iter().map(String::as_str).collect();
    let created = json_of(&run_ok(&then(&then(&init, &own_certs), &["--json"]), &own));
    assert_eq!(created["clientId"], "PSDBE-NBB-0987654321", "{created}");
    let missing = file("nowhere.pem");
    let (_, stderr) = run_failing(
        &then(
            &init,
            &[
                "--force",
                "--qwac",
                &missing,
                "--qwac-key",
                &file("qwac.key"),
            ],
        ),
        &own,
    );
    assert!(stderr.contains("nowhere.pem"), "{stderr}");
    // A bank that config.toml does not mark as a sandbox: no scripted login there.
    let own_config = std::fs::read_to_string(own.join("config.toml")).unwrap_or_default();
    let _ = std::fs::write(
        own.join("config.toml"),
        own_config.replace("sandbox = true", "sandbox = false"),
    );
    let (_, stderr) = run_failing(
        &[
            "tpp",
            "login",
            "--bank",
            "17515",
            "--sandbox-psu",
            "GEORGES",
        ],
        &own,
    );
    assert!(stderr.contains("not a Guichet sandbox"), "{stderr}");

    let ce = manifest["banks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["code"] == "17515")
        .cloned()
        .unwrap_or_default();
    let origin = ce["tokenUrl"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches("/stet/psd2/oauth/token")
        .to_owned();
    let ca = manifest["caFile"].as_str().unwrap_or_default().to_owned();
    let demo = |key: &str| {
        manifest["demoTpp"][key]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let registered = guichet()
        .args([
            "tpp",
            "register",
            "--bank-url",
            &origin,
            "--ca",
            &ca,
            "--name",
            "Guichet Demo TPP",
            "--redirect-uri",
            &redirect,
        ])
        .args([
            "--qwac",
            &demo("qwac"),
            "--qwac-key",
            &demo("qwacKey"),
            "--qseal",
            &demo("qseal"),
            "--qseal-key",
            &demo("qsealKey"),
        ])
        .output();
    assert!(registered.map(|o| o.status.success()).unwrap_or(false));

    let login = json_of(&run_ok(
        &[
            "tpp",
            "login",
            "--bank",
            "17515",
            "--sandbox-psu",
            "GEORGES",
            "--json",
        ],
        &ws,
    ));
    assert_eq!(login["bank"], "17515", "{login}");

    // No terminal and no choice: refused, naming the options, rather than an empty consent.
    let (_, stderr) = run_failing(&["tpp", "consent", "--bank", "17515"], &ws);
    assert!(
        stderr.contains("--all") && stderr.contains("--balances"),
        "{stderr}"
    );
    run_ok(&["tpp", "consent", "--bank", "17515", "--all"], &ws);

    // An account by its IBAN or by the bank's resourceId.
    let accounts = json_of(&run_ok(
        &["tpp", "accounts", "--bank", "17515", "--json"],
        &ws,
    ));
    let iban = accounts[0]["accountId"]["iban"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let id = accounts[0]["resourceId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(iban, "FR7617515900000876543210181", "{accounts}");
    let by_iban = json_of(&run_ok(
        &[
            "tpp",
            "balances",
            "--bank",
            "17515",
            "--account",
            &iban,
            "--json",
        ],
        &ws,
    ));
    let by_id = json_of(&run_ok(
        &[
            "tpp",
            "balances",
            "--bank",
            "17515",
            "--account",
            &id,
            "--json",
        ],
        &ws,
    ));
    assert!(
        by_iban.as_array().is_some_and(|b| !b.is_empty()),
        "{by_iban}"
    );
    assert_eq!(by_iban, by_id);
    let listed = json_of(&run_ok(
        &[
            "tpp",
            "transactions",
            "--bank",
            "17515",
            "--account",
            &iban,
            "--json",
        ],
        &ws,
    ));
    assert!(listed.as_array().is_some_and(|t| !t.is_empty()));

    // A funds check uses the TPP's own token and leaves the PSU's as they were.
    let tokens_before = std::fs::read_to_string(ws.join("tokens/17515.json")).unwrap_or_default();
    let covered = json_of(&run_ok(
        &[
            "tpp",
            "funds-check",
            "--bank",
            "17515",
            "--account",
            &iban,
            "--amount",
            "10.00",
            "--json",
        ],
        &ws,
    ));
    assert_eq!(covered["result"], true, "{covered}");
    assert_eq!(
        std::fs::read_to_string(ws.join("tokens/17515.json")).unwrap_or_default(),
        tokens_before
    );
    run_ok(&["tpp", "accounts", "--bank", "17515"], &ws);

    let synced = json_of(&run_ok(&["tpp", "sync", "--json"], &ws));
    assert_eq!(synced[0]["bank"], "17515");
    assert_eq!(synced[0]["ok"], true, "{synced}");
    let html = ws.join("report.html");
    let report = json_of(&run_ok(
        &[
            "tpp",
            "report",
            "--json",
            "--customer",
            "Georges <Sandbox>",
            "--html",
            html.to_str().unwrap_or_default(),
        ],
        &ws,
    ));
    assert_eq!(report["totals"]["EUR"], "18342.56", "{report}");
    let page = std::fs::read_to_string(&html).unwrap_or_default();
    assert!(
        page.contains("<svg") && page.contains("Georges &#60;Sandbox&#62;"),
        "{page}"
    );
    assert!(run_ok(&["tpp", "export", "--format", "ofx"], &ws).contains("<OFX>"));
    let camt = run_ok(&["tpp", "export", "--format", "camt053"], &ws);
    assert!(
        camt.contains("urn:iso:std:iso:20022:tech:xsd:camt.053.001.08")
            && camt.contains("<Ntry>")
            && camt.contains("<Cd>CLBD</Cd>"),
        "{camt}"
    );
    assert!(
        run_ok(&["tpp", "export", "--format", "csv"], &ws).starts_with("bank,iban,date,amount")
    );
    // `tpp export … | head`: the reader goes away; the export ends cleanly, no panic.
    let child = guichet()
        .args(["tpp", "export", "--format", "csv", "--dir"])
        .arg(&ws)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        panic!("guichet tpp export")
    };
    drop(child.stdout.take());
    let Ok(ended) = child.wait_with_output() else {
        panic!("guichet tpp export")
    };
    let stderr = String::from_utf8_lossy(&ended.stderr);
    assert!(
        ended.status.success() && !stderr.contains("panicked"),
        "{stderr}"
    );

    // Errors as JSON on stdout, with a non-zero exit.
    let (stdout, _) = run_failing(&["tpp", "accounts", "--bank", "30258", "--json"], &ws);
    let error = json_of(&stdout);
    assert_eq!(error["error"]["kind"], "notLoggedIn", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("guichet tpp login --bank 30258"))
    );

    let status = json_of(&run_ok(&["tpp", "status", "--json"], &ws));
    let of = |code: &str| {
        status
            .as_array()
            .into_iter()
            .flatten()
            .find(|b| b["bank"] == code)
            .cloned()
            .unwrap_or_default()
    };
    let ce = of("17515");
    assert_eq!(ce["state"], "access token valid", "{status}");
    assert_eq!(ce["checkedWithBank"], true, "{status}");
    assert_eq!(ce["timeZone"], "Europe/Paris", "{status}");
    let days_left = ce["sca"]["daysLeft"].as_i64().unwrap_or_default();
    assert!((179..=181).contains(&days_left), "{status}");
    assert_eq!(ce["sca"]["warning"], false);
    assert_eq!(ce["accounts"][0]["transactions"], true);
    assert_eq!(ce["accounts"][0]["batchCallsLeftToday"]["balances"], 4);
    let btp = of("30258");
    assert_eq!(btp["state"], "not logged in");
    assert_eq!(btp["loginCommand"], "guichet tpp login --bank 30258");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ws.join("tokens/17515.json"))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600, "tokens readable by the owner only");
    }

    // The login in a browser: the CLI prints the page and waits on its loopback callback.
    let mut login = match guichet()
        .args(["tpp", "login", "--bank", "17515", "--no-browser", "--dir"])
        .arg(&ws)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => Server(child),
        Err(e) => panic!("guichet tpp login: {e}"),
    };
    let stderr = login.0.stderr.take().map(std::io::BufReader::new);
    let url = stderr
        .and_then(|reader| {
            reader
                .lines()
                .map_while(Result::ok)
                .find(|l| l.trim_start().starts_with("https://"))
        })
        .unwrap_or_default();
    let url = url.trim().to_owned();
    assert!(url.contains("/stet/psd2/oauth/authorize?"), "{url}");
    let location = guichet_tpp::sandbox::log_in(&url, std::path::Path::new(&ca), "GEORGES").await;
    let Ok(location) = location else {
        panic!("{location:?}")
    };
    assert!(location.starts_with(&redirect), "{location}");
    let status = login.0.wait();
    assert!(
        status.map(|s| s.success()).unwrap_or(false),
        "guichet tpp login failed"
    );
    run_ok(&["tpp", "accounts", "--bank", "17515"], &ws);
}
