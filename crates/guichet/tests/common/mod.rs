//! What the process tests share: `guichet serve` started on free ports, the demo TPP, tokens
//! minted by the CLI, signed calls.
#![allow(dead_code, reason = "each test binary uses part of it")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use guichet_tpp::TppIdentity;

pub struct Server {
    pub child: Child,
    /// Bank code → (API base URL, PSU pages origin).
    pub banks: Vec<(String, String, String)>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn api(&self, bank: &str) -> String {
        self.banks
            .iter()
            .find(|(code, _, _)| code == bank)
            .map(|(_, api, _)| api.clone())
            .unwrap_or_else(|| panic!("bank {bank} not served"))
    }

    pub fn pages(&self, bank: &str) -> String {
        self.banks
            .iter()
            .find(|(code, _, _)| code == bank)
            .map(|(_, _, pages)| pages.clone())
            .unwrap_or_else(|| panic!("bank {bank} not served"))
    }
}

pub fn guichet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_guichet"))
}

/// Starts `guichet serve` on free ports and reads where each bank listens from its output.
pub fn start(data_dir: &Path, database_url: &str, log: &Path) -> Server {
    start_with(data_dir, database_url, log, &[])
}

/// The same, with more arguments of `serve`.
pub fn start_with(data_dir: &Path, database_url: &str, log: &Path, extra: &[&str]) -> Server {
    let mut command = guichet();
    command
        .args([
            "serve",
            "--port",
            "0",
            "--psu-port",
            "0",
            "--ops-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .args(["--database-url", database_url])
        .args(extra);
    let server = spawn(command, log, Announced::SandboxWritten);
    assert_eq!(
        server.banks.len(),
        2,
        "both banks announced; see {}",
        log.display()
    );
    server
}

/// When a started `serve` is ready for a test.
pub enum Announced {
    /// Its banks printed, then `sandbox.json` written ("Sandbox personas …").
    SandboxWritten,
    /// This many banks printed (production writes no sandbox.json).
    Banks(usize),
}

/// Spawns `command` (a `guichet serve …`), its log to `log`, and reads where each bank listens
/// from its output: `  17515 Caisse d'Epargne …  API https://…  PSU pages https://…`.
pub fn spawn(mut command: Command, log: &Path, ready: Announced) -> Server {
    use std::io::BufRead;
    let log_file = std::fs::File::create(log).unwrap_or_else(|e| panic!("{e}"));
    let mut child = command
        .env("GUICHET_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start guichet serve: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut banks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let (Some(api), Some(pages)) =
            (line.split(" API ").nth(1), line.split("PSU pages ").nth(1))
        {
            let code = line
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            let api = api.split_whitespace().next().unwrap_or_default().to_owned();
            banks.push((code, api, pages.trim().to_owned()));
        }
        let done = match ready {
            Announced::SandboxWritten => line.starts_with("Sandbox personas"),
            Announced::Banks(count) => banks.len() == count,
        };
        if done {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, banks }
}

pub fn identity(data_dir: &Path) -> (TppIdentity, PathBuf) {
    let demo = data_dir.join("pki/tpps/demo");
    let identity = TppIdentity::from_files(
        &demo.join("qwac.pem"),
        &demo.join("qwac.key"),
        &demo.join("qseal.pem"),
        &demo.join("qseal.key"),
        "https://demo.tpp/qseal.pem",
    )
    .unwrap_or_else(|e| panic!("demo TPP files: {e}"));
    (identity, data_dir.join("pki/ca/root.pem"))
}

pub fn mint(data_dir: &Path, database_url: &str, psu: &str) -> String {
    let output = guichet()
        .args([
            "sandbox",
            "token",
            "--bank",
            "17515",
            "--psu",
            psu,
            "--data-dir",
        ])
        .arg(data_dir)
        .args(["--database-url", database_url])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A signed GET in batch mode (no PSU-IP-Address), answering its status.
pub async fn batch_get(
    client: &reqwest::Client,
    tpp: &TppIdentity,
    url: &str,
    token: &str,
    id: &str,
) -> u16 {
    let mut request = client
        .get(url)
        .bearer_auth(token)
        .header("X-Request-ID", id)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    guichet_tpp::sign_request(&mut request, &tpp.signer).unwrap_or_else(|e| panic!("{e}"));
    match client.execute(request).await {
        Ok(response) => response.status().as_u16(),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

pub fn between(html: &str, before: &str) -> String {
    html.split(before)
        .nth(1)
        .and_then(|rest| rest.split(['"', '<']).next())
        .unwrap_or("")
        .to_owned()
}

/// A bank's customer file (CSV): one company, its current account (eligible), a closed
/// account and a savings account with its own resourceId.
pub const MARTIN_CUSTOMERS_CSV: &str = "psuId,kind,displayName,segment,iban,accountName,currency,cashAccountType,status,resourceId\n\
     C0001,company,ATELIERS MARTIN SARL,small_pro,FR7630004000310001234567865,Compte courant,EUR,CACC,active,\n\
     C0001,company,ATELIERS MARTIN SARL,small_pro,FR7617515000920400000000107,Compte titres,EUR,CACC,closed,\n\
     C0001,company,ATELIERS MARTIN SARL,small_pro,FR7630258000010811122230290,Livret A,EUR,SVGS,active,LIVRETA-00042\n";
