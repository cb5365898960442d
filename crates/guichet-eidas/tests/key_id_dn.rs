//! A keyId `SN=<serial>,CA=<issuer DN>` designates a QSealC whatever tool printed the issuer
//! DN and the serial: openssl (`-nameopt RFC2253`, its default, `-nameopt compat`), Python's
//! `cryptography` (`Name.rfc4514_string()`, `serial_number`) and Guichet's own writer, with the
//! serial in hex (any case, leading zeros, `0x`, colons) or decimal, plain or percent-encoded.
//!
//! These tests need `openssl` and `python3` with the `cryptography` package: without them they
//! fail, they never pass silently.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use guichet_eidas::dn::{Ava, Dn, Rdn, Value};
use guichet_eidas::pki::{Qtsp, TppRequest};
use guichet_eidas::qc::{Psd2Statement, QcStatements, QcType};
use guichet_eidas::{KeyIdRef, Psd2Certificate, Role};
use proptest::prelude::*;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, DnValue, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SerialNumber,
};

const PYTHON: &str = "from cryptography import x509; import sys; \
    c = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read()); \
    print(c.issuer.rfc4514_string()); print(c.serial_number)";

fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "guichet-keyid-{name}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs a tool on a file; panics (never skips) when it cannot run or fails.
fn run(program: &str, args: &[&str], file: &Path) -> String {
    let output = match Command::new(program)
        .args(args)
        .arg(file)
        .env("PYTHONIOENCODING", "utf-8")
        .output()
    {
        Ok(output) => output,
        Err(error) => panic!(
            "`{program}` cannot be run ({error}): this test needs openssl, and python3 with the \
             `cryptography` package, on the PATH"
        ),
    };
    assert!(
        output.status.success(),
        "`{program} {}` failed (this test needs openssl, and python3 with the `cryptography` \
         package): {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    match String::from_utf8(output.stdout) {
        Ok(text) => text,
        Err(error) => panic!("`{program}` printed no UTF-8: {error}"),
    }
}

/// The DN after `issuer=`, without the line end (a value may end in a space).
fn openssl_issuer(args: &[&str], file: &Path) -> String {
    let mut all = vec!["x509", "-noout", "-issuer"];
    all.extend_from_slice(args);
    all.push("-in");
    let text = run("openssl", &all, file);
    let text = text.trim_end_matches(['\n', '\r']);
    match text.strip_prefix("issuer=") {
        Some(dn) => dn
            .strip_prefix(' ')
            .filter(|dn| dn.starts_with('/'))
            .unwrap_or(dn)
            .to_owned(),
        None => panic!("openssl printed no issuer=: {text:?}"),
    }
}

/// What the tools print for a certificate: the issuer DNs by name, and Python's decimal serial.
struct Printed {
    issuers: Vec<(&'static str, String)>,
    decimal_serial: String,
}

fn print_with_the_tools(pem_path: &Path, cert: &Psd2Certificate) -> Printed {
    let python = run("python3", &["-c", PYTHON], pem_path);
    let mut lines = python.lines();
    let (Some(python_dn), Some(decimal_serial)) = (lines.next(), lines.next()) else {
        panic!("python3 printed {python:?}")
    };
    let openssl_serial = run("openssl", &["x509", "-noout", "-serial", "-in"], pem_path);
    assert_eq!(
        openssl_serial
            .trim()
            .trim_start_matches("serial=")
            .trim_start_matches('0')
            .to_ascii_lowercase(),
        cert.serial_hex,
        "openssl and Guichet read the serial alike"
    );
    Printed {
        issuers: vec![
            (
                "openssl RFC2253",
                openssl_issuer(&["-nameopt", "RFC2253"], pem_path),
            ),
            ("openssl default", openssl_issuer(&[], pem_path)),
            (
                "openssl compat",
                openssl_issuer(&["-nameopt", "compat"], pem_path),
            ),
            ("python", python_dn.to_owned()),
            ("guichet", cert.issuer_dn.to_rfc4514()),
        ],
        decimal_serial: decimal_serial.trim().to_owned(),
    }
}

/// The serial as tools and people write it.
fn serial_forms(cert: &Psd2Certificate, decimal: &str) -> Vec<String> {
    let colons: Vec<String> = cert
        .serial_bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    vec![
        cert.serial_hex.to_uppercase(),
        format!("000{}", cert.serial_hex),
        format!("0x{}", cert.serial_hex),
        format!("00:{}", colons.join(":")),
        decimal.to_owned(),
    ]
}

fn percent_encode_all(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The keyId spellings of one serial and one DN.
fn key_ids(serial: &str, dn: &str) -> Vec<String> {
    let plain = format!("SN={serial},CA={dn}");
    vec![
        format!("SN={serial}, CA={dn}"),
        format!("sn={serial},ca={dn}"),
        plain.replace(' ', "%20"),
        percent_encode_all(&plain),
        plain,
    ]
}

/// The next number, in decimal. Neither of its readings is the serial: its hex reading is at
/// least its decimal one.
fn decimal_plus_one(decimal: &str) -> String {
    let mut digits: Vec<u8> = decimal.bytes().collect();
    for digit in digits.iter_mut().rev() {
        if *digit == b'9' {
            *digit = b'0';
        } else {
            *digit += 1;
            return String::from_utf8_lossy(&digits).into_owned();
        }
    }
    format!("1{}", String::from_utf8_lossy(&digits))
}

/// Another name: one value changed.
fn renamed(dn: &Dn) -> Dn {
    let mut rdns = dn.rdns().to_vec();
    if let Some(ava) = rdns.last_mut().and_then(|rdn| rdn.avas.first_mut())
        && let Value::Text(text) = &mut ava.value
    {
        text.push_str(" bis");
    }
    Dn::new(rdns)
}

/// Every tool's DN and every serial spelling designate the certificate; another serial or
/// another CA name does not.
fn check_every_spelling(cert: &Psd2Certificate, printed: &Printed, check_compat: bool) {
    let serials = serial_forms(cert, &printed.decimal_serial);
    for (tool, dn) in &printed.issuers {
        if *tool == "openssl compat" && !check_compat {
            continue;
        }
        match Dn::parse(dn) {
            Ok(parsed) => assert_eq!(parsed, cert.issuer_dn, "{tool}: {dn}"),
            Err(error) => panic!("{tool}: {dn:?}: {error}"),
        }
        for serial in &serials {
            for key_id in key_ids(serial, dn) {
                assert!(cert.matches_key_id(&key_id), "{tool}: {key_id}");
                assert!(
                    matches!(
                        KeyIdRef::parse(&key_id),
                        Some(KeyIdRef::SerialIssuer { .. })
                    ),
                    "{tool}: {key_id}"
                );
            }
        }
    }
    let mut other_serial = cert.serial_bytes.clone();
    if let Some(last) = other_serial.last_mut() {
        *last ^= 1;
    }
    let other_serial: String = other_serial.iter().map(|b| format!("{b:02x}")).collect();
    let other_ca = renamed(&cert.issuer_dn).to_rfc4514();
    let mut fewer = cert.issuer_dn.rdns().to_vec();
    fewer.pop();
    let mut more = cert.issuer_dn.rdns().to_vec();
    more.push(Rdn {
        avas: vec![Ava {
            attr: guichet_eidas::dn::AttrType::from_oid("2.5.4.7"),
            value: Value::Text("Paris".into()),
        }],
    });
    let ours = cert.issuer_dn.to_rfc4514();
    for key_id in [
        format!("SN={other_serial},CA={ours}"),
        format!("SN={},CA={ours}", decimal_plus_one(&printed.decimal_serial)),
        format!("SN={},CA={other_ca}", cert.serial_hex),
        format!("SN={},CA={}", cert.serial_hex, Dn::new(fewer).to_rfc4514()),
        format!("SN={},CA={}", cert.serial_hex, Dn::new(more).to_rfc4514()),
    ] {
        assert!(!cert.matches_key_id(&key_id), "{key_id}");
    }
}

#[test]
fn every_tool_s_issuer_dn_designates_the_sandbox_qseal() -> Result<(), Box<dyn Error>> {
    let dir = temp_dir("sandbox");
    let mut qtsp = Qtsp::open_or_create(&dir)?;
    let issued = qtsp.issue_tpp(&TppRequest::new(
        "PSDFR-ACPR-12345",
        vec![Role::AccountInformation, Role::PaymentInitiation],
    ))?;
    let cert = Psd2Certificate::from_pem(issued.qseal.cert_pem.as_bytes())?;
    assert!(cert.is_qseal());
    assert_eq!(
        cert.issuer,
        "CN=Guichet Sandbox Qualified CA,O=Guichet Sandbox QTSP,C=FR"
    );
    let pem_path = dir.join("qseal.pem");
    // The leaf only: the issued PEM is followed by its issuing CA.
    std::fs::write(&pem_path, leaf_pem(&issued.qseal.cert_pem))?;
    let printed = print_with_the_tools(&pem_path, &cert);
    for (tool, dn) in &printed.issuers {
        assert!(dn.contains("Guichet Sandbox Qualified CA"), "{tool}: {dn}");
    }
    check_every_spelling(&cert, &printed, true);
    // The names the portal's own example and the task's report use.
    for key_id in [
        format!(
            "SN={},CA=CN=Guichet Sandbox Qualified CA,O=Guichet Sandbox QTSP,C=FR",
            cert.serial_hex
        ),
        format!(
            "SN={},CA=C=FR,O=Guichet Sandbox QTSP,CN=Guichet Sandbox Qualified CA",
            cert.serial_hex
        ),
        format!(
            "SN={},CA=CN%3DGuichet%20Sandbox%20Qualified%20CA%2CO%3DGuichet%20Sandbox%20QTSP%2CC%3DFR",
            cert.serial_hex.to_uppercase()
        ),
    ] {
        assert!(cert.matches_key_id(&key_id), "{key_id}");
    }
    for key_id in [
        format!(
            "SN={},CA=CN=Guichet Sandbox Root CA,O=Guichet Sandbox QTSP,C=FR",
            cert.serial_hex
        ),
        format!(
            "SN={},CA=CN=Guichet Sandbox Qualified CA,O=Guichet Sandbox QTSP,C=BE",
            cert.serial_hex
        ),
    ] {
        assert!(!cert.matches_key_id(&key_id), "{key_id}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn leaf_pem(chain: &str) -> String {
    const END: &str = "-----END CERTIFICATE-----";
    match chain.find(END) {
        Some(at) => format!("{}{END}\n", chain.get(..at).unwrap_or_default()),
        None => panic!("no certificate in {chain:?}"),
    }
}

/// The awkward issuer names of the property test.
#[derive(Debug, Clone)]
struct AwkwardName {
    cn: String,
    o: String,
    ou: String,
    /// Encode O as a BMPString rather than a UTF8String.
    o_as_bmp: bool,
}

/// A QSealC (with the PSD2 statement) issued by a CA of that name, made with rcgen directly:
/// the sandbox QTSP's CA names are fixed.
fn issue_under(name: &AwkwardName, serial: &[u8]) -> Result<String, Box<dyn Error>> {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut ca = CertificateParams::default();
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CountryName, "FR");
    if name.o_as_bmp {
        let bmp = rcgen::string::BmpString::try_from(name.o.as_str())?;
        ca_name.push(DnType::OrganizationName, DnValue::BmpString(bmp));
    } else {
        ca_name.push(DnType::OrganizationName, name.o.as_str());
    }
    ca_name.push(DnType::OrganizationalUnitName, name.ou.as_str());
    ca_name.push(DnType::CommonName, name.cn.as_str());
    ca.distinguished_name = ca_name;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let issuer = Issuer::new(ca, &ca_key);
    let mut leaf = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CountryName, "FR");
    subject.push(DnType::OrganizationName, "Awkward TPP");
    subject.push(
        DnType::CustomDnType(vec![2, 5, 4, 97]),
        DnValue::Utf8String("PSDFR-ACPR-12345".into()),
    );
    subject.push(DnType::CommonName, "Awkward TPP QSealC");
    leaf.distinguished_name = subject;
    leaf.serial_number = Some(SerialNumber::from_slice(serial));
    let statements = QcStatements {
        compliance: true,
        types: vec![QcType::Eseal],
        psd2: Some(Psd2Statement {
            roles: vec![Role::AccountInformation],
            nca_name: "Autorite de Controle Prudentiel et de Resolution".into(),
            nca_id: "FR-ACPR".into(),
        }),
    };
    leaf.custom_extensions
        .push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 5, 5, 7, 1, 3],
            statements.to_der()?,
        ));
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    Ok(leaf.signed_by(&leaf_key, &issuer)?.pem())
}

/// OpenSSL's compat form cannot tell a value ending in `\`, or with `\x` and two hex digits,
/// from others: it does not escape `\`. And it dumps a BMPString's UTF-16 bytes: without a
/// NUL among them (no character below U+0100) they are not told from a Latin-1 string.
fn compat_is_faithful(name: &AwkwardName) -> bool {
    if name.o_as_bmp && name.o.chars().all(|c| u32::from(c) >= 0x100) {
        return false;
    }
    [&name.cn, &name.o, &name.ou].iter().all(|value| {
        let chars: Vec<char> = value.chars().collect();
        !value.ends_with('\\')
            && !chars.windows(4).any(|w| {
                w[0] == '\\'
                    && (w[1] == 'x' || w[1] == 'X')
                    && w[2].is_ascii_hexdigit()
                    && w[3].is_ascii_hexdigit()
            })
    })
}

fn check_awkward(name: &AwkwardName, serial: &[u8]) -> Result<(), Box<dyn Error>> {
    let dir = temp_dir("awkward");
    std::fs::create_dir_all(&dir)?;
    let pem = issue_under(name, serial)?;
    let cert = Psd2Certificate::from_pem(pem.as_bytes())?;
    let pem_path = dir.join("qseal.pem");
    std::fs::write(&pem_path, &pem)?;
    let printed = print_with_the_tools(&pem_path, &cert);
    check_every_spelling(&cert, &printed, compat_is_faithful(name));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Values with every character that needs escaping somewhere, spaces in front and at the end,
/// and non-ASCII (no `%`: the plain keyIds are not percent-encoded).
fn awkward_value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,+\"\\\\<>;#=/é日-]{1,12}"
}

fn awkward_name() -> impl Strategy<Value = AwkwardName> {
    (
        awkward_value(),
        awkward_value(),
        awkward_value(),
        any::<bool>(),
    )
        .prop_map(|(cn, o, ou, o_as_bmp)| AwkwardName {
            cn,
            o,
            ou,
            o_as_bmp,
        })
}

fn awkward_serial() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..20).prop_map(|mut bytes| {
        if let Some(first) = bytes.first_mut() {
            // A positive serial, sometimes with a leading zero nibble.
            *first = (*first & 0x7f).max(1);
        }
        bytes
    })
}

proptest! {
    // Each case runs openssl four times and python3 once.
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 24, ..ProptestConfig::default() })]

    #[test]
    fn awkward_issuer_names_are_matched_whoever_prints_them(
        name in awkward_name(),
        serial in awkward_serial(),
    ) {
        if let Err(error) = check_awkward(&name, &serial) {
            panic!("{name:?}: {error}");
        }
    }
}
