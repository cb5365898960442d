//! Unit tests of the parent module.

use super::*;

fn manifest() -> Value {
    serde_json::json!({
        "mode": "sandbox",
        "caFile": "/pki/ca/root.pem",
        "demoTpp": {
            "clientId": "PSDFR-ACPR-12345",
            "qwac": "/pki/tpps/demo/qwac.pem",
            "qwacKey": "/pki/tpps/demo/qwac.key",
            "qseal": "/pki/tpps/demo/qseal.pem",
            "qsealKey": "/pki/tpps/demo/qseal.key",
            "redirectUri": "http://127.0.0.1:8765/callback",
        },
        "banks": [{
            "code": "17515",
            "name": "Caisse d'Epargne",
            "apiBaseUrl": "https://127.0.0.1:8431/stet/psd2/v1.4.2",
            "tokenUrl": "https://127.0.0.1:8431/stet/psd2/oauth/token",
            "revokeUrl": "https://127.0.0.1:8431/stet/psd2/oauth/revoke",
            "authorizeUrl": "https://127.0.0.1:8441/stet/psd2/oauth/authorize",
            "qsealCertificate": "/pki/banks/17515/qseal.pem",
            "offers": {"batchCallsPerDay": 4},
            "personas": [
                {"persona": "LEA", "psuId": "D0999992I0", "accounts": [
                    {"iban": "FR7617515900000412345670131", "eligible": true},
                    {"iban": "FR7617515900000412345679999", "eligible": false},
                ]},
                {"persona": "BLOCKED", "psuId": "D0999995I0", "accounts": []},
            ],
        }],
    })
}

#[test]
fn the_sandbox_gives_its_personas_their_roles() -> Result<(), ConformanceError> {
    let config = Config::from_sandbox(&manifest())?;
    assert_eq!(config.client_id, "PSDFR-ACPR-12345");
    assert_eq!(config.banks.len(), 1);
    assert_eq!(config.personas.len(), 1, "BLOCKED plays no role");
    let lea = &config.personas[0];
    assert_eq!(lea.identifier, "D0999992I0");
    assert_eq!(lea.ibans, ["FR7617515900000412345670131"]);
    assert!(lea.cases.contains(&Role::HistoryDepth {
        iban: "FR7617515900000412345670131".into(),
        days: 62
    }));
    Ok(())
}

#[test]
fn roles_read_what_they_write() {
    for text in [
        "accounts",
        "zero-balance:FR7617515900000400358074026",
        "history-depth:FR7617515900000412345670131:90",
        "insufficient-scope",
    ] {
        let role: Result<Role, String> = text.parse();
        assert_eq!(role.map(|r| r.to_string()).as_deref(), Ok(text));
    }
    assert!("zero-balance".parse::<Role>().is_err());
    assert!("history-depth:FR76:x".parse::<Role>().is_err());
    assert!("nonsense".parse::<Role>().is_err());
}

#[test]
fn toml_and_json_round_trip() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_sandbox(&manifest())?;
    let toml_text = config.to_toml()?;
    let back: Config = toml::from_str(&toml_text)?;
    assert_eq!(back, config);
    let json = serde_json::to_string(&config)?;
    let back: Config = serde_json::from_str(&json)?;
    assert_eq!(back, config);
    Ok(())
}
