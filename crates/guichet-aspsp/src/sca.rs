//! Strong customer authentication behind a trait: the sandbox checks its personas' public
//! password and "sends" a one-time code that its pages show; a real deployment plugs its own
//! provider (its identity store and its SMS or app-push service).

use guichet_store::PsuRecord;

/// The password of every sandbox persona (sandbox.json says so).
pub const SANDBOX_PASSWORD: &str = "sandbox";

/// A one-time code sent to the PSU.
pub struct Challenge {
    /// The code the PSU must type.
    pub code: String,
    /// What the bank's page may show: the code itself in the sandbox, nothing in production.
    pub shown: Option<String>,
}

pub trait ScaProvider: Send + Sync {
    /// The first factor: the PSU's password.
    fn check_password(&self, psu: &PsuRecord, password: &str) -> bool;
    /// The second factor: sends a one-time code to the PSU's device.
    fn send_code(&self, psu: &PsuRecord) -> Option<Challenge>;
}

/// The sandbox's SCA: the personas' password, and a random 6-digit code shown on the page in
/// place of the SMS.
#[derive(Debug, Default)]
pub struct SandboxSca;

impl ScaProvider for SandboxSca {
    fn check_password(&self, _psu: &PsuRecord, password: &str) -> bool {
        crate::oauth::same(password, SANDBOX_PASSWORD)
    }

    fn send_code(&self, _psu: &PsuRecord) -> Option<Challenge> {
        use aws_lc_rs::rand::SecureRandom;
        let mut bytes = [0u8; 4];
        aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes).ok()?;
        let code = format!("{:06}", u32::from_be_bytes(bytes) % 1_000_000);
        Some(Challenge {
            shown: Some(code.clone()),
            code,
        })
    }
}

/// Refuses every authentication: the production default until an SCA provider is plugged in.
#[derive(Debug, Default)]
pub struct DisabledSca;

impl ScaProvider for DisabledSca {
    fn check_password(&self, _psu: &PsuRecord, _password: &str) -> bool {
        tracing::error!("no SCA provider is configured: PSU authentication refused");
        false
    }

    fn send_code(&self, _psu: &PsuRecord) -> Option<Challenge> {
        None
    }
}
