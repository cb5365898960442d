//! Unit tests of the parent module.

use super::*;

fn sample() -> Config {
    Config {
        ca_file: PathBuf::from("/pki/ca/root.pem"),
        redirect_port: 8765,
        tpp: Certificates {
            qwac: PathBuf::from("/tpp/qwac.pem"),
            qwac_key: PathBuf::from("/tpp/qwac.key"),
            qseal: PathBuf::from("/tpp/qseal.pem"),
            qseal_key: PathBuf::from("/tpp/qseal.key"),
            key_id_base: "https://tpp.example/qseal.pem".into(),
        },
        banks: vec![BankEndpoints {
            code: "17515".into(),
            name: "Caisse d'Epargne Île-de-France".into(),
            api_base: "https://127.0.0.1:8431/stet/psd2/v1.4.2".into(),
            token_url: "https://127.0.0.1:8431/stet/psd2/oauth/token".into(),
            revoke_url: "https://127.0.0.1:8431/stet/psd2/oauth/revoke".into(),
            authorize_url: "https://127.0.0.1:8441/stet/psd2/oauth/authorize".into(),
        }],
    }
}

#[test]
fn the_options_live_in_each_bank_table_and_read_back() -> Result<(), TppError> {
    let mut options = BankOptionsMap::new();
    options.insert(
        "17515".into(),
        BankOptions {
            time_zone: Some("Europe/Paris".into()),
            batch_calls_per_day: Some(4),
            sandbox: true,
        },
    );
    let text = config_text(&sample(), &options)?;
    assert!(text.starts_with("# "), "{text}");
    assert!(text.contains("sandbox = true"), "{text}");
    let (config, read) = parse_config(&text, Path::new("config.toml"))?;
    assert_eq!(config, sample());
    assert_eq!(read, options);
    // Without options, nothing extra is written and the defaults apply.
    let plain = config_text(&sample(), &BankOptionsMap::new())?;
    assert!(!plain.contains("sandbox") && !plain.contains("time_zone"));
    let (_, none) = parse_config(&plain, Path::new("config.toml"))?;
    let defaults = none.get("17515").cloned().unwrap_or_default();
    assert!(!defaults.sandbox);
    assert_eq!(defaults.zone_name(), "Europe/Paris");
    assert_eq!(defaults.calls_per_day(), 4);
    Ok(())
}

#[test]
fn a_wrong_time_zone_is_refused_naming_the_file() {
    let mut options = BankOptionsMap::new();
    options.insert(
        "17515".into(),
        BankOptions {
            time_zone: Some("Europe/Atlantis".into()),
            ..BankOptions::default()
        },
    );
    let text = config_text(&sample(), &options).unwrap_or_default();
    match parse_config(&text, Path::new("/somewhere/config.toml")) {
        Err(e) => {
            let said = e.to_string();
            assert!(
                said.contains("/somewhere/config.toml") && said.contains("Atlantis"),
                "{said}"
            );
        }
        Ok(_) => panic!("Europe/Atlantis accepted"),
    }
}
