//! Bank profiles: what each bank of the group offers, and its limits. Several banks are
//! served by one deployment; a PSU, token or consent of one bank is invisible to another.

use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;

/// History depth per customer segment, in days.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HistoryDepths {
    pub retail: i64,
    pub small_pro: i64,
    pub large_pro: i64,
    pub corporate: i64,
}

impl HistoryDepths {
    /// Portal, Limits: "62-day period max for small professionals/entrepreneurs segments, 90-day
    /// period max for large professionals & corporates".
    pub fn for_segment(&self, segment: &str) -> i64 {
        match segment {
            "small_pro" => self.small_pro,
            "large_pro" => self.large_pro,
            "corporate" => self.corporate,
            _ => self.retail,
        }
    }
}

impl Default for HistoryDepths {
    fn default() -> Self {
        HistoryDepths {
            retail: 62,
            small_pro: 62,
            large_pro: 90,
            corporate: 90,
        }
    }
}

/// A weekly maintenance slot in the bank's time zone, e.g. Monday 00:00 to 06:00.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    pub weekday: String,
    pub start: String,
    pub end: String,
}

impl MaintenanceWindow {
    fn weekday(&self) -> Option<Weekday> {
        Some(match self.weekday.to_ascii_lowercase().as_str() {
            "monday" => Weekday::Monday,
            "tuesday" => Weekday::Tuesday,
            "wednesday" => Weekday::Wednesday,
            "thursday" => Weekday::Thursday,
            "friday" => Weekday::Friday,
            "saturday" => Weekday::Saturday,
            "sunday" => Weekday::Sunday,
            _ => return None,
        })
    }

    fn bounds(&self) -> Option<(Time, Time)> {
        Some((self.start.parse().ok()?, self.end.parse().ok()?))
    }

    /// Seconds until the window closes, when `now` falls inside it.
    pub fn remaining(&self, now: Timestamp, zone: &TimeZone) -> Option<i64> {
        let local = zone.to_datetime(now);
        let (start, end) = self.bounds()?;
        if local.date().weekday() != self.weekday()? || local.time() < start || local.time() >= end
        {
            return None;
        }
        let close = local.date().to_datetime(end);
        let close = zone.to_timestamp(close).ok()?;
        Some(close.as_second() - now.as_second())
    }

    fn check(&self) -> Result<(), String> {
        match (self.weekday(), self.bounds()) {
            (Some(_), Some((start, end))) if start < end => Ok(()),
            _ => Err(format!(
                "maintenance window {} {}-{} is not a weekday with HH:MM start before end",
                self.weekday, self.start, self.end
            )),
        }
    }
}

/// One bank of the group.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BankProfile {
    /// The bank code, e.g. `30258`; also the `<bankcode>` of `www.<bankcode>.<domain>`.
    pub code: String,
    pub name: String,
    pub bic: String,
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    #[serde(default)]
    pub history_days: HistoryDepths,
    /// With the `extended_transaction_history` scope, how far back the history goes; `None`
    /// when the bank does not offer that scope (BTP Banque).
    #[serde(default)]
    pub extended_history_days: Option<i64>,
    /// Portal, Limits: "limited to 500 operations".
    #[serde(default = "default_max_operations")]
    pub max_operations: i64,
    /// Operations per page when the bank paginates transactions; `None`: no pagination.
    #[serde(default)]
    pub page_size: Option<i64>,
    /// Whether `entryReferenceFrom` / `entryReferenceto` are supported.
    #[serde(default)]
    pub entry_reference_filters: bool,
    /// Whether the instant balance (XPCD) is given beside the accounting balance (CLBD).
    #[serde(default)]
    pub instant_balance: bool,
    /// Whether GET /end-user-identity is offered.
    #[serde(default)]
    pub end_user_identity: bool,
    /// Whether GET /trusted-beneficiaries is offered.
    #[serde(default)]
    pub trusted_beneficiaries: bool,
    /// The status of operations not yet booked: `OTHR` (BPCE since Dec. 2020) or `PDNG`.
    #[serde(default = "default_pending_status")]
    pub pending_status: String,
    /// Batch calls per calendar day per TPP × PSU × account × method (PSD2 RTS art. 36(5)).
    #[serde(default = "default_batch_calls")]
    pub batch_calls_per_day: i64,
    #[serde(default)]
    pub maintenance: Vec<MaintenanceWindow>,
    /// Whether the bank answers 503 during its maintenance windows: by default yes in
    /// production, and in the sandbox only with `--sandbox-maintenance`.
    #[serde(default)]
    pub enforce_maintenance: Option<bool>,
    /// Access token lifetime, 10 to 15 minutes (portal, "Refresh your token").
    #[serde(default = "default_access_minutes")]
    pub access_token_minutes: i64,
    /// The colour of the bank's SCA pages (`#rrggbb`).
    #[serde(default = "default_colour")]
    pub colour: String,
    /// The bank's mobile app, for App2App universal links (portal, "Trigger App2App feature").
    #[serde(default)]
    pub app2app: Option<App2App>,
    /// Consecutive failed SCA factors (password or one-time code, across attempts) that block
    /// the PSU's authentication: at most 5 (RTS art. 4(3)(d)).
    #[serde(default = "default_sca_max_failures")]
    pub sca_max_failures: i64,
    /// How long a block lasts, in minutes (RTS art. 4(3)(d): "for a duration the bank sets").
    #[serde(default = "default_sca_block_minutes")]
    pub sca_block_minutes: i64,
    /// The bank's OpenID Connect provider that performs the PSU's SCA (`[banks.oidc]`):
    /// with it, `/authorize` sends the PSU there instead of showing Guichet's own login.
    #[serde(default)]
    pub oidc: Option<crate::oidc::OidcSettings>,
}

/// The association files a mobile OS fetches from the bank's domain to open its app.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct App2App {
    /// iOS: `<team id>.<bundle id>`.
    pub apple_app_ids: Vec<String>,
    /// Android: the package name and the SHA-256 fingerprints of its signing certificate.
    pub android_package: String,
    pub android_cert_fingerprints: Vec<String>,
    /// The paths the app opens (universal links), e.g. `/stet/psd2/oauth/authorize`.
    #[serde(default = "default_app_paths")]
    pub paths: Vec<String>,
}

fn default_sca_max_failures() -> i64 {
    5
}
fn default_sca_block_minutes() -> i64 {
    60
}
fn default_access_minutes() -> i64 {
    15
}
fn default_colour() -> String {
    "#004b87".into()
}
fn default_app_paths() -> Vec<String> {
    vec!["/stet/psd2/oauth/authorize".into()]
}

fn default_time_zone() -> String {
    "Europe/Paris".into()
}
fn default_max_operations() -> i64 {
    500
}
fn default_pending_status() -> String {
    "OTHR".into()
}
fn default_batch_calls() -> i64 {
    4
}

impl BankProfile {
    /// Checks the profile once, at start-up, so that requests never meet a bad setting.
    pub fn validate(&self) -> Result<TimeZone, String> {
        guichet_stet::BankCode::parse(&self.code).map_err(|e| e.0)?;
        if !(1..=500).contains(&self.max_operations) {
            return Err(format!(
                "bank {}: max_operations must be 1 to 500",
                self.code
            ));
        }
        if let Some(size) = self.page_size
            && !(1..=self.max_operations).contains(&size)
        {
            return Err(format!(
                "bank {}: page_size must be 1 to max_operations",
                self.code
            ));
        }
        if !["OTHR", "PDNG"].contains(&self.pending_status.as_str()) {
            return Err(format!(
                "bank {}: pending_status is OTHR or PDNG",
                self.code
            ));
        }
        // RTS art. 4(3)(d): "the number of failed authentication attempts that can take place
        // consecutively ... shall not exceed five within a given period of time".
        if !(1..=5).contains(&self.sca_max_failures) {
            return Err(format!(
                "bank {}: sca_max_failures must be 1 to 5",
                self.code
            ));
        }
        if !(1..=525_600).contains(&self.sca_block_minutes) {
            return Err(format!(
                "bank {}: sca_block_minutes must be 1 to 525600 (a year)",
                self.code
            ));
        }
        if !(10..=15).contains(&self.access_token_minutes) {
            return Err(format!(
                "bank {}: access_token_minutes must be 10 to 15",
                self.code
            ));
        }
        let colour = self.colour.strip_prefix('#').unwrap_or("");
        if colour.len() != 6 || !colour.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("bank {}: colour must be #rrggbb", self.code));
        }
        for window in &self.maintenance {
            window
                .check()
                .map_err(|e| format!("bank {}: {e}", self.code))?;
        }
        TimeZone::get(&self.time_zone)
            .map_err(|e| format!("bank {}: time zone {}: {e}", self.code, self.time_zone))
    }

    /// BTP Banque, as its portal describes it: professionals and corporates, 62/90-day depth,
    /// 500 operations, no pagination, no entryReference search, no end-user identity, no
    /// trusted beneficiaries, no extended history; maintenance on Monday from 00:00 to 06:00.
    pub fn btp_banque() -> BankProfile {
        BankProfile {
            code: "30258".into(),
            name: "BTP Banque".into(),
            bic: "BTPBFRPPXXX".into(),
            time_zone: default_time_zone(),
            history_days: HistoryDepths::default(),
            extended_history_days: None,
            max_operations: 500,
            page_size: None,
            entry_reference_filters: false,
            instant_balance: false,
            end_user_identity: false,
            trusted_beneficiaries: false,
            pending_status: default_pending_status(),
            batch_calls_per_day: 4,
            maintenance: vec![MaintenanceWindow {
                weekday: "monday".into(),
                start: "00:00".into(),
                end: "06:00".into(),
            }],
            enforce_maintenance: None,
            access_token_minutes: 15,
            colour: "#e3001b".into(),
            app2app: None,
            sca_max_failures: default_sca_max_failures(),
            sca_block_minutes: default_sca_block_minutes(),
            oidc: None,
        }
    }

    /// Caisse d'Epargne Île-de-France, home of the portal's personas. Guichet's sandbox gives
    /// it the STET options BTP Banque lacks, so that a TPP can exercise them: instant balance,
    /// end-user identity, trusted beneficiaries, entryReference filters, pagination by 100,
    /// extended history.
    pub fn caisse_epargne_idf() -> BankProfile {
        BankProfile {
            code: "17515".into(),
            name: "Caisse d'Epargne Île-de-France".into(),
            bic: "CEPAFRPP751".into(),
            extended_history_days: Some(400),
            page_size: Some(100),
            entry_reference_filters: true,
            instant_balance: true,
            end_user_identity: true,
            trusted_beneficiaries: true,
            colour: "#c40f2c".into(),
            access_token_minutes: 10,
            app2app: Some(App2App {
                apple_app_ids: vec!["GUICHET01.fr.guichet.sandbox.ce".into()],
                android_package: "fr.guichet.sandbox.ce".into(),
                android_cert_fingerprints: vec![
                    "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5".into(),
                ],
                paths: default_app_paths(),
            }),
            sca_max_failures: default_sca_max_failures(),
            sca_block_minutes: default_sca_block_minutes(),
            ..BankProfile::btp_banque()
        }
    }

    pub fn sandbox_banks() -> Vec<BankProfile> {
        vec![BankProfile::btp_banque(), BankProfile::caisse_epargne_idf()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_profiles_are_valid() {
        for bank in BankProfile::sandbox_banks() {
            assert!(bank.validate().is_ok(), "{}", bank.code);
        }
    }

    #[test]
    fn the_monday_window_is_open_on_monday_morning_in_paris() -> Result<(), jiff::Error> {
        let bank = BankProfile::btp_banque();
        let zone = TimeZone::get("Europe/Paris")?;
        let window = &bank.maintenance[0];
        // Monday 23 Nov 2026, 03:00 in Paris is 02:00 UTC.
        let inside: Timestamp = "2026-11-23T02:00:00Z".parse()?;
        assert_eq!(window.remaining(inside, &zone), Some(3 * 3600));
        let after: Timestamp = "2026-11-23T05:00:00Z".parse()?;
        assert_eq!(window.remaining(after, &zone), None);
        let tuesday: Timestamp = "2026-11-24T02:00:00Z".parse()?;
        assert_eq!(window.remaining(tuesday, &zone), None);
        Ok(())
    }

    #[test]
    fn bad_profiles_are_refused_at_start() {
        let mut bank = BankProfile::btp_banque();
        bank.page_size = Some(501);
        assert!(bank.validate().is_err());
        let mut bank = BankProfile::btp_banque();
        bank.pending_status = "WAIT".into();
        assert!(bank.validate().is_err());
        let mut bank = BankProfile::btp_banque();
        bank.maintenance[0].weekday = "lundi".into();
        assert!(bank.validate().is_err());
    }
}
