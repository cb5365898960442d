//! The real binary, as a user runs it: `guichet serve` with no configuration, then
//! `guichet sandbox token`, then a STET call.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use guichet_store::Backend;
use guichet_store::testing::TestDatabase;

#[path = "cli_tpp/journey.rs"]
mod journey;

use journey::tpp_cli_journey;

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
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(value) = serde_json::from_str(&text)
        {
            return value;
        }
        assert!(Instant::now() < deadline, "sandbox.json did not appear");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn serve_and_call(data_dir: &Path, database_url: Option<&str>) {
    let mut serve = guichet();
    serve
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
    assert!(
        base.starts_with("https://") && base.ends_with("/stet/psd2/v1.4.2"),
        "{base}"
    );

    // A second TPP gets its certificates from `guichet pki tpp` and registers with
    // `guichet tpp register`.
    let other = data_dir.join("other-tpp");
    let pki = data_dir.join("pki");
    let issued = guichet()
        .args([
            "pki",
            "tpp",
            "--org-id",
            "PSDBE-NBB-0987654321",
            "--roles",
            "AI,IC",
            "--key",
            "ecdsa",
            "--out",
        ])
        .arg(&other)
        .arg("--dir")
        .arg(&pki)
        .output();
    let Ok(issued) = issued else {
        panic!("guichet pki tpp")
    };
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let origin = base.trim_end_matches("/stet/psd2/v1.4.2");
    let registered = guichet()
        .args([
            "tpp",
            "register",
            "--bank-url",
            origin,
            "--name",
            "Other TPP",
            "--redirect-uri",
            "https://other.example/cb",
            "--ca",
        ])
        .arg(pki.join("ca/root.pem"))
        .arg("--qwac")
        .arg(other.join("qwac.pem"))
        .arg("--qwac-key")
        .arg(other.join("qwac.key"))
        .arg("--qseal")
        .arg(other.join("qseal.pem"))
        .arg("--qseal-key")
        .arg(other.join("qseal.key"))
        .output();
    let Ok(registered) = registered else {
        panic!("guichet tpp register")
    };
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&registered.stdout).unwrap_or_default();
    assert_eq!(answer["client_id"], "PSDBE-NBB-0987654321");

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
    let mut nobody = guichet();
    nobody
        .args([
            "sandbox",
            "token",
            "--bank",
            "17515",
            "--psu",
            "NOBODY",
            "--data-dir",
        ])
        .arg(data_dir);
    if let Some(url) = database_url {
        nobody.args(["--database-url", url]);
    }
    let refused = nobody.output();
    let Ok(refused) = refused else {
        panic!("guichet sandbox token")
    };
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no PSU 'NOBODY' at bank 17515"));
    // README, Security: `guichet sandbox unblock --bank 17515 --psu BLOCKED` lifts the block
    // the BLOCKED persona starts with; a second run finds nothing to lift.
    for expected in ["unblocked", "was not blocked"] {
        let mut unblock = guichet();
        unblock
            .args([
                "sandbox",
                "unblock",
                "--bank",
                "17515",
                "--psu",
                "BLOCKED",
                "--data-dir",
            ])
            .arg(data_dir);
        if let Some(url) = database_url {
            unblock.args(["--database-url", url]);
        }
        let Ok(done) = unblock.output() else {
            panic!("guichet sandbox unblock")
        };
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        let said = String::from_utf8_lossy(&done.stdout);
        assert!(
            said.contains("D0999995I0") && said.ends_with(&format!("{expected}\n")),
            "{said}"
        );
    }
    let path =
        |key: &str| std::path::PathBuf::from(manifest["demoTpp"][key].as_str().unwrap_or_default());
    let identity = guichet_tpp::TppIdentity::from_files(
        &path("qwac"),
        &path("qwacKey"),
        &path("qseal"),
        &path("qsealKey"),
        "https://demo.tpp/qseal.pem",
    );
    let Ok(identity) = identity else {
        panic!("demo TPP files: {identity:?}")
    };
    let ca = std::path::PathBuf::from(manifest["caFile"].as_str().unwrap_or_default());
    let client = match identity.http_client(&ca) {
        Ok(client) => client,
        Err(e) => panic!("{e}"),
    };
    let request = client
        .get(format!("{base}/accounts"))
        .bearer_auth(&token)
        .header("X-Request-ID", "cli-test")
        .header("PSU-IP-Address", "192.0.2.1")
        .build();
    let Ok(mut request) = request else {
        panic!("request")
    };
    if let Err(e) = guichet_tpp::sign_request(&mut request, &identity.signer) {
        panic!("{e}");
    }
    let response = client.execute(request).await;
    let response = match response {
        Ok(r) => r,
        Err(e) => panic!("GET /accounts: {e}"),
    };
    assert_eq!(response.status().as_u16(), 200);
    let value: serde_json::Value = response.json().await.unwrap_or_default();
    assert_eq!(value["accounts"].as_array().map(Vec::len), Some(2));
    if database_url.is_none() {
        tpp_cli_journey(data_dir, &manifest).await;
    }
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
fn token_minting_without_a_sandbox_says_what_is_missing() {
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
    assert!(stderr.contains("qwac.pem"), "{stderr}");
}
