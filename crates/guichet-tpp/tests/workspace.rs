//! The TPP's folder and the naming of accounts, without a bank: `config.toml` is never replaced
//! silently, a `sandbox.json` gives absolute paths and marks its banks as a sandbox, and an
//! account is found by IBAN or by the bank's resourceId.

use std::path::{Path, PathBuf};

use guichet_stet::model::AccountResource;
use guichet_tpp::{
    BankOptionsMap, ConsentChoice, TppError, Workspace, compact_iban, find_account, looks_like_iban,
};

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guichet-tpp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn manifest(dir: &Path, paths_are: Option<&str>) -> Outcome {
    let mut value = serde_json::json!({
        "mode": "sandbox",
        "caFile": "pki/ca/root.pem",
        "demoTpp": {
            "qwac": "pki/tpps/demo/qwac.pem",
            "qwacKey": "pki/tpps/demo/qwac.key",
            "qseal": "pki/tpps/demo/qseal.pem",
            "qsealKey": "pki/tpps/demo/qseal.key",
            "redirectUri": "http://127.0.0.1:8765/callback",
        },
        "banks": [{
            "code": "17515",
            "name": "Caisse d'Epargne Île-de-France",
            "timeZone": "Europe/Paris",
            "apiBaseUrl": "https://127.0.0.1:8431/stet/psd2/v1.4.2",
            "tokenUrl": "https://127.0.0.1:8431/stet/psd2/oauth/token",
            "revokeUrl": "https://127.0.0.1:8431/stet/psd2/oauth/revoke",
            "authorizeUrl": "https://127.0.0.1:8441/stet/psd2/oauth/authorize",
            "offers": {"batchCallsPerDay": 4},
        }],
    });
    if let Some(kind) = paths_are {
        value["pathsAre"] = serde_json::json!(kind);
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("sandbox.json"), serde_json::to_vec(&value)?)?;
    Ok(())
}

#[test]
fn a_sandbox_json_gives_absolute_paths_and_sandbox_banks() -> Outcome {
    let dir = fresh_dir("manifest");
    manifest(&dir, Some("relativeToFile"))?;
    let (config, options) = Workspace::sandbox_setup(&dir.join("sandbox.json"))?;
    assert!(config.ca_file.is_absolute());
    assert_eq!(
        config.ca_file,
        std::path::absolute(dir.join("pki/ca/root.pem"))?
    );
    assert!(config.tpp.qwac.is_absolute() && config.tpp.qseal_key.is_absolute());
    assert_eq!(config.redirect_port, 8765);
    let bank = options.get("17515").cloned().unwrap_or_default();
    assert!(bank.sandbox, "a sandbox.json's banks are a sandbox");
    assert_eq!(bank.zone_name(), "Europe/Paris");
    assert_eq!(bank.calls_per_day(), 4);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn init_never_replaces_a_config_silently_and_names_missing_files() -> Outcome {
    let dir = fresh_dir("init");
    manifest(&dir, Some("relativeToFile"))?;
    let (config, options) = Workspace::sandbox_setup(&dir.join("sandbox.json"))?;
    // The certificates do not exist: the error names the file.
    match Workspace::init(&dir.join("ws"), config.clone(), &options, false) {
        Err(e) => assert!(e.to_string().contains("root.pem"), "{e}"),
        Ok(_) => panic!("init accepted missing certificates"),
    }
    // A config.toml a person wrote is kept, whatever the certificates.
    let ws = dir.join("ws");
    std::fs::create_dir_all(&ws)?;
    std::fs::write(ws.join("config.toml"), "# mine\n")?;
    match Workspace::init(&ws, config, &BankOptionsMap::new(), false) {
        Err(e) => {
            let said = e.to_string();
            assert!(
                said.contains("config.toml") && said.contains("--force"),
                "{said}"
            );
        }
        Ok(_) => panic!("config.toml replaced without --force"),
    }
    assert_eq!(std::fs::read_to_string(ws.join("config.toml"))?, "# mine\n");
    // Opening a broken config.toml names it.
    std::fs::write(ws.join("config.toml"), "ca_file = 3\n")?;
    match Workspace::open(&ws) {
        Err(e) => assert!(e.to_string().contains("config.toml"), "{e}"),
        Ok(_) => panic!("a broken config.toml opened"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn a_missing_sandbox_json_is_named() {
    let path = fresh_dir("none").join("sandbox.json");
    match Workspace::sandbox_setup(&path) {
        Err(e) => assert!(e.to_string().contains("sandbox.json"), "{e}"),
        Ok(_) => panic!("a missing sandbox.json read"),
    }
}

fn accounts() -> Vec<AccountResource> {
    let value = serde_json::json!([
        {"resourceId": "CPT08765432101", "accountId": {"iban": "FR7617515900000876543210181", "currency": "EUR"},
         "name": "GEORGES Pro", "cashAccountType": "CACC", "_links": {"balances": {"href": "x"}}},
        {"resourceId": "CPT04003580740", "accountId": {"iban": "FR7617515900000400358074026"},
         "name": "Compte joint", "cashAccountType": "CACC"},
    ]);
    serde_json::from_value(value).unwrap_or_default()
}

#[test]
fn an_account_is_found_by_iban_or_resource_id() {
    assert!(looks_like_iban("FR7617515900000876543210181"));
    assert!(looks_like_iban("fr76 1751 5900 0008 7654 3210 181"));
    assert!(!looks_like_iban("CPT08765432101"));
    assert!(!looks_like_iban("FR76"));
    assert_eq!(
        compact_iban("fr76 1751 5900 0008 7654 3210 181"),
        "FR7617515900000876543210181"
    );
    let list = accounts();
    assert_eq!(list.len(), 2);
    let by_iban = find_account(&list, "FR76 1751 5900 0008 7654 3210 181");
    let by_id = find_account(&list, "CPT08765432101");
    assert_eq!(by_iban.map(|a| a.name.as_str()), Some("GEORGES Pro"));
    assert_eq!(by_iban, by_id);
    assert!(find_account(&list, "FR7630258000010845678910194").is_none());
}

#[test]
fn a_consent_names_accounts_either_way_and_refuses_strangers() -> Result<(), TppError> {
    let list = accounts();
    let choice = ConsentChoice {
        balances: vec![
            "CPT08765432101".into(),
            "FR7617515900000876543210181".into(),
        ],
        transactions: vec!["fr76 1751 5900 0004 0035 8074 026".into()],
        identity: true,
        beneficiaries: false,
    };
    let resolved = choice.resolve("17515", &list)?;
    assert_eq!(resolved.balances, ["FR7617515900000876543210181"], "once");
    assert_eq!(resolved.transactions, ["FR7617515900000400358074026"]);
    let access = resolved.access();
    assert_eq!(access.balances.len(), 1);
    assert!(access.psu_identity);
    let stranger = ConsentChoice {
        balances: vec!["FR7630258000010845678910194".into()],
        ..ConsentChoice::default()
    };
    match stranger.resolve("17515", &list) {
        Err(e) => assert!(e.to_string().contains("FR7617515900000876543210181"), "{e}"),
        Ok(_) => panic!("an account that is not the PSU's was accepted"),
    }
    let everything = ConsentChoice::everything(&list);
    assert_eq!(everything.balances.len(), 2);
    assert!(everything.identity && !everything.is_empty());
    assert!(ConsentChoice::default().is_empty());
    Ok(())
}
