//! The real binary, as a user runs it: `guichet serve` with no configuration, then
//! `guichet sandbox token`, then a STET call.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use guichet_store::Backend;
use guichet_store::testing::TestDatabase;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn guichet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_guichet"))
}

async fn wait_for_manifest(path: &Path) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(value) = serde_json::from_str(&text) {
                return value;
            }
        }
        assert!(Instant::now() < deadline, "sandbox.json did not appear");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn serve_and_call(data_dir: &Path, database_url: Option<&str>) {
    let mut serve = guichet();
    serve
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        serve.args(["--database-url", url]);
    }
    let _server = match serve.spawn() {
        Ok(child) => Server(child),
        Err(e) => panic!("cannot start guichet serve: {e}"),
    };
    let manifest = wait_for_manifest(&data_dir.join("sandbox.json")).await;
    let banks = manifest["banks"].as_array().cloned().unwrap_or_default();
    let codes: Vec<&str> = banks.iter().filter_map(|b| b["code"].as_str()).collect();
    assert_eq!(codes, ["30258", "17515"]);
    let ce = banks
        .iter()
        .find(|b| b["code"] == "17515")
        .cloned()
        .unwrap_or_default();
    let personas: Vec<&str> = ce["personas"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["persona"].as_str())
        .collect();
    for persona in ["CLAIRE", "LEA", "GEORGES", "MARC", "TECHNCO"] {
        assert!(
            personas.contains(&persona),
            "{persona} missing from sandbox.json"
        );
    }
    let base = ce["apiBaseUrl"].as_str().unwrap_or_default().to_owned();
    assert!(base.ends_with("/stet/psd2/v1.4.2"), "{base}");

    let mut token = guichet();
    token
        .args([
            "sandbox",
            "token",
            "--bank",
            "17515",
            "--psu",
            "CLAIRE",
            "--scope",
            "aisp",
            "--data-dir",
        ])
        .arg(data_dir);
    if let Some(url) = database_url {
        token.args(["--database-url", url]);
    }
    let output = match token.output() {
        Ok(output) => output,
        Err(e) => panic!("guichet sandbox token: {e}"),
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let response = reqwest::Client::new()
        .get(format!("{base}/accounts"))
        .bearer_auth(&token)
        .header("X-Request-ID", "cli-test")
        .header("PSU-IP-Address", "192.0.2.1")
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => panic!("GET /accounts: {e}"),
    };
    assert_eq!(response.status().as_u16(), 200);
    let value: serde_json::Value = response.json().await.unwrap_or_default();
    assert_eq!(value["accounts"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn serve_starts_a_sandbox_with_no_configuration_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("guichet-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    serve_and_call(&dir, None).await;
    assert!(
        dir.join("guichet.db").exists(),
        "the SQLite file is in the data folder"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn serve_runs_on_postgresql_with_a_database_url() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let dir = std::env::temp_dir().join(format!("guichet-cli-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    serve_and_call(&dir, Some(db.url.expose())).await;
    assert!(
        !dir.join("guichet.db").exists(),
        "no SQLite file when PostgreSQL is used"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn token_minting_names_an_unknown_persona() {
    let dir = std::env::temp_dir().join(format!("guichet-cli-none-{}", std::process::id()));
    let output = guichet()
        .args([
            "sandbox",
            "token",
            "--bank",
            "17515",
            "--psu",
            "NOBODY",
            "--data-dir",
        ])
        .arg(&dir)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let Ok(output) = output else {
        panic!("cannot run guichet")
    };
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("sandbox mode") || stderr.contains("NOBODY"),
        "{stderr}"
    );
}
