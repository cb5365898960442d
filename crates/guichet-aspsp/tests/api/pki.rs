//! One sandbox PKI for every test of this binary, made once on disk (under the target
//! folder, behind a file lock, since nextest runs each test in its own process): the bank's
//! server certificate and QSealCs, the demo TPP, and the TPPs of the refusal matrix.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use guichet_aspsp::BankProfile;
use guichet_aspsp::sandbox::{DemoTpp, SandboxPki, prepare_pki_at};
use guichet_eidas::Role;
use guichet_eidas::pki::{KeyAlgorithm, Qtsp, TppRequest, Validity};

pub struct TestPki {
    pub sandbox: SandboxPki,
    pub dir: PathBuf,
}

/// The TPPs tests act as.
pub const OTHER: &str = "other";
pub const AI_ONLY: &str = "ai-only";
pub const EXPIRED: &str = "expired";
pub const REVOKED: &str = "revoked";
pub const NO_PSD2: &str = "no-psd2";
pub const SWAPPED: &str = "swapped";
pub const FOREIGN: &str = "foreign";
pub const MISMATCH: &str = "mismatch";

const VERSION: &str = "v4";

/// The tests' fixed clock (helpers::NOW): the certificates are issued as of then, so that
/// they are valid at the bank's clock whatever day the tests run.
fn issued_at() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(1_795_514_400)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
}

impl TestPki {
    pub fn tpp(&self, name: &str) -> DemoTpp {
        let client_id = match name {
            OTHER => "PSDBE-NBB-0123456789",
            AI_ONLY => "PSDFR-ACPR-AIONLY",
            MISMATCH => "PSDFR-ACPR-MISMATCH",
            _ => "PSDFR-ACPR-VARIANT",
        };
        DemoTpp::in_dir(&self.dir.join("variants").join(name), client_id)
    }
}

static PKI: OnceLock<TestPki> = OnceLock::new();

pub fn pki() -> &'static TestPki {
    PKI.get_or_init(|| match build() {
        Ok(pki) => pki,
        Err(e) => panic!("the test PKI could not be made: {e:#}"),
    })
}

fn build() -> anyhow::Result<TestPki> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("guichet-test-pki-{VERSION}"));
    std::fs::create_dir_all(&dir)?;
    let lock = File::create(dir.join(".lock"))?;
    lock.lock()?;
    let banks: Vec<(String, String)> = BankProfile::sandbox_banks()
        .into_iter()
        .map(|b| (b.code, b.name))
        .collect();
    let banks: Vec<(&str, &str)> = banks
        .iter()
        .map(|(c, n)| (c.as_str(), n.as_str()))
        .collect();
    let sandbox = prepare_pki_at(&dir, &banks, Some("sandbox.guichet.test"), issued_at())?;
    let pki = TestPki {
        sandbox,
        dir: dir.clone(),
    };
    if !dir.join(".variants-ready").exists() {
        make_variants(&pki)?;
        File::create(dir.join(".variants-ready"))?;
    }
    lock.unlock()?;
    Ok(pki)
}

fn make_variants(pki: &TestPki) -> anyhow::Result<()> {
    let mut qtsp = Qtsp::open_or_create_at(&pki.dir, issued_at())?;
    let all = vec![
        Role::AccountInformation,
        Role::PaymentInitiation,
        Role::CardIssuing,
    ];
    let ec = |mut request: TppRequest| {
        request.key = KeyAlgorithm::EcdsaP256;
        request
    };
    let mut requests = vec![
        (
            OTHER,
            ec(TppRequest::new("PSDBE-NBB-0123456789", all.clone())),
        ),
        (
            AI_ONLY,
            ec(TppRequest::new(
                "PSDFR-ACPR-AIONLY",
                vec![Role::AccountInformation],
            )),
        ),
    ];
    let mut expired = ec(TppRequest::new("PSDFR-ACPR-VARIANT", all.clone()));
    expired.validity = Validity::Expired;
    requests.push((EXPIRED, expired));
    requests.push((
        REVOKED,
        ec(TppRequest::new("PSDFR-ACPR-VARIANT", all.clone())),
    ));
    let mut bare = ec(TppRequest::new("PSDFR-ACPR-VARIANT", all.clone()));
    bare.without_psd2 = true;
    requests.push((NO_PSD2, bare));
    let mut swapped = ec(TppRequest::new("PSDFR-ACPR-VARIANT", all.clone()));
    swapped.swap_qc_types = true;
    requests.push((SWAPPED, swapped));
    let mut mismatch = ec(TppRequest::new("PSDFR-ACPR-MISMATCH", all.clone()));
    mismatch.qseal_org_id = Some("PSDFR-ACPR-ELSEWHERE".into());
    requests.push((MISMATCH, mismatch));
    for (name, request) in requests {
        let issued = qtsp.issue_tpp(&request)?;
        let files = pki.tpp(name);
        issued.qwac.write(&files.qwac, &files.qwac_key)?;
        issued.qseal.write(&files.qseal, &files.qseal_key)?;
        if name == REVOKED {
            qtsp.revoke(&issued.qwac.serial_hex)?;
        }
    }
    let mut stranger = Qtsp::open_or_create_at(&pki.dir.join("foreign-qtsp"), issued_at())?;
    let foreign = stranger.issue_tpp(&ec(TppRequest::new("PSDFR-ACPR-VARIANT", all)))?;
    let files = pki.tpp(FOREIGN);
    foreign.qwac.write(&files.qwac, &files.qwac_key)?;
    foreign.qseal.write(&files.qseal, &files.qseal_key)?;
    Ok(())
}
