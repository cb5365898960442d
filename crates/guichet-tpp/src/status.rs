//! Where the TPP stands with each bank: the PSU's tokens (checked with the bank, not only read
//! from the file), the day the PSU's authentication runs out (180 days after the last SCA),
//! what the consent covers and the batch calls left today in the bank's time zone.
//!
//! The rules are functions of `now` ([`TokenState::of`], [`ScaExpiry::of`],
//! [`BankStatus::from_tokens`]); [`crate::Workspace::status`] asks the banks.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::bank::{BankEndpoints, Tokens, iban_of};
use crate::clock::{day_in, days_between};
use crate::error::TppError;
use crate::sync::calls_left;
use crate::workspace::Workspace;

/// How long a PSU's SCA holds for account information (RTS art. 10, as amended: 180 days).
pub const SCA_VALIDITY_DAYS: i64 = 180;

/// In its last 14 days, the status warns that the PSU's authentication runs out.
pub const SCA_WARNING_DAYS: i64 = 14;

/// The PSU's tokens at a bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TokenState {
    /// No tokens: the PSU never logged in through this TPP (or they were removed).
    NotLoggedIn,
    /// The access token is good (and, once checked, the bank accepted it).
    Valid,
    /// The access token has expired; the refresh token renews it at the next call.
    Refreshable,
    /// The PSU must log in again: the 180 days ran out, there is nothing to refresh with, or
    /// the bank refused the tokens (revoked).
    ReconnectNeeded,
}

impl TokenState {
    /// The state of `tokens` at `now`, from the tokens alone, and why a reconnection is needed.
    pub fn of(tokens: Option<&Tokens>, now: Timestamp) -> (TokenState, Option<String>) {
        let now = now.as_second();
        match tokens {
            None => (TokenState::NotLoggedIn, None),
            Some(t) if t.refresh_expires_at.is_some_and(|until| until <= now) => (
                TokenState::ReconnectNeeded,
                Some("the PSU's 180-day authentication has run out".into()),
            ),
            Some(t) if t.expires_at > now => (TokenState::Valid, None),
            Some(t) if t.refresh_token.is_some() => (TokenState::Refreshable, None),
            Some(_) => (
                TokenState::ReconnectNeeded,
                Some("the access token has expired and there is no refresh token".into()),
            ),
        }
    }
}

/// When the PSU's authentication runs out: its refresh token's end, 180 days after the last
/// SCA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaExpiry {
    pub runs_out_at: Timestamp,
    /// That day, in the bank's time zone.
    pub date: Date,
    /// Calendar days from today to that day, in the bank's time zone: 0 on the day itself,
    /// negative once past.
    pub days_left: i64,
    /// Whether it is within the last [`SCA_WARNING_DAYS`] days, not yet past: time to ask the
    /// PSU to log in again.
    pub warning: bool,
    pub expired: bool,
}

impl ScaExpiry {
    /// The expiry of `tokens` at `now` in `zone`; `None` when the bank gave no refresh-token
    /// lifetime.
    pub fn of(tokens: &Tokens, now: Timestamp, zone: &TimeZone) -> Option<ScaExpiry> {
        let runs_out_at = Timestamp::from_second(tokens.refresh_expires_at?).ok()?;
        let date = day_in(runs_out_at, zone);
        let days_left = days_between(day_in(now, zone), date);
        let expired = runs_out_at <= now;
        Some(ScaExpiry {
            runs_out_at,
            date,
            days_left,
            warning: !expired && days_left <= SCA_WARNING_DAYS,
            expired,
        })
    }

    /// "runs out on 2027-05-23, in 180 days".
    pub fn describe(&self) -> String {
        let when = match self.days_left {
            _ if self.expired => return format!("ran out on {}", self.date),
            0 => "today".to_owned(),
            1 => "tomorrow".to_owned(),
            n => format!("in {n} days"),
        };
        format!("runs out on {}, {when}", self.date)
    }
}

/// The batch calls left today for one account (the TPP's own count, aligned with the bank's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallsLeft {
    /// The bank's day the count is for.
    pub day: Date,
    pub per_day: i64,
    pub balances: i64,
    pub transactions: i64,
}

/// One account as the bank lists it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountStatus {
    pub iban: String,
    pub resource_id: Option<String>,
    pub name: String,
    /// Whether the consent covers its balances, its transactions.
    pub balances: bool,
    pub transactions: bool,
    pub batch_calls_left_today: CallsLeft,
}

/// Where the TPP stands with one bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BankStatus {
    pub bank: String,
    pub name: String,
    pub time_zone: String,
    pub token: TokenState,
    /// What the token state means, in a sentence ("access token valid", "reconnect needed: run
    /// `guichet tpp login --bank 17515`").
    pub state: String,
    /// Why the PSU must log in again.
    pub reason: Option<String>,
    /// The command that logs the PSU in, when needed.
    pub login_command: Option<String>,
    /// Whether the bank answered a call with these tokens (GET /accounts) just now.
    pub checked_with_bank: bool,
    /// What went wrong asking the bank, other than a refusal of the tokens (unavailable, …).
    pub bank_error: Option<String>,
    pub sca: Option<ScaExpiry>,
    pub last_sync: Option<Timestamp>,
    pub accounts: Vec<AccountStatus>,
}

fn login_command(code: &str) -> String {
    format!("guichet tpp login --bank {code}")
}

impl BankStatus {
    /// What the saved tokens say at `now`, before asking the bank.
    pub fn from_tokens(
        bank: &BankEndpoints,
        tokens: Option<&Tokens>,
        now: Timestamp,
        zone: &TimeZone,
    ) -> BankStatus {
        let mut status = BankStatus {
            bank: bank.code.clone(),
            name: bank.name.clone(),
            time_zone: zone.iana_name().unwrap_or("UTC").to_owned(),
            token: TokenState::NotLoggedIn,
            state: String::new(),
            reason: None,
            login_command: None,
            checked_with_bank: false,
            bank_error: None,
            sca: None,
            last_sync: None,
            accounts: Vec::new(),
        };
        status.set_tokens(tokens, now, zone);
        status
    }

    /// The state from `tokens` (the saved ones, or those the client holds after a call that
    /// may have refreshed them).
    pub fn set_tokens(&mut self, tokens: Option<&Tokens>, now: Timestamp, zone: &TimeZone) {
        let (token, reason) = TokenState::of(tokens, now);
        self.sca = tokens.and_then(|t| ScaExpiry::of(t, now, zone));
        self.set_state(token, reason);
    }

    /// The bank refused the tokens: the PSU must log in again.
    pub fn refused(&mut self, reason: &str) {
        self.checked_with_bank = true;
        self.set_state(TokenState::ReconnectNeeded, Some(reason.to_owned()));
    }

    fn set_state(&mut self, token: TokenState, reason: Option<String>) {
        let command = login_command(&self.bank);
        self.token = token;
        self.state = match token {
            TokenState::NotLoggedIn => "not logged in".to_owned(),
            TokenState::Valid => "access token valid".to_owned(),
            TokenState::Refreshable => "access token expired (renewed at the next call)".to_owned(),
            TokenState::ReconnectNeeded => format!("reconnect needed: run `{command}`"),
        };
        self.login_command = matches!(token, TokenState::NotLoggedIn | TokenState::ReconnectNeeded)
            .then_some(command);
        self.reason = reason;
    }

    /// The lines a person reads.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {} — {}", self.bank, self.name, self.state);
        if self.checked_with_bank && self.token == TokenState::Valid {
            text.push_str(" (checked with the bank)");
        }
        text.push('\n');
        if let Some(reason) = &self.reason {
            text.push_str(&format!("    why: {reason}\n"));
        }
        if let Some(error) = &self.bank_error {
            text.push_str(&format!("    the bank could not be asked: {error}\n"));
        }
        if let Some(sca) = &self.sca {
            text.push_str(&format!(
                "    the PSU's authentication (SCA, {SCA_VALIDITY_DAYS} days) {}\n",
                sca.describe()
            ));
            if sca.warning {
                text.push_str(&format!(
                    "    WARNING: ask the PSU to log in again before {} (`{}`)\n",
                    sca.date,
                    login_command(&self.bank)
                ));
            }
        }
        if let Some(at) = self.last_sync {
            text.push_str(&format!("    last sync: {at}\n"));
        }
        for a in &self.accounts {
            let covered: Vec<&str> = [
                a.balances.then_some("balances"),
                a.transactions.then_some("transactions"),
            ]
            .into_iter()
            .flatten()
            .collect();
            let left = &a.batch_calls_left_today;
            text.push_str(&format!(
                "    {:<28} {:<32} {:<22} batch calls left {}: balances {}/{}, transactions {}/{}\n",
                a.iban,
                a.name,
                if covered.is_empty() {
                    "no consent".to_owned()
                } else {
                    covered.join(", ")
                },
                left.day,
                left.balances,
                left.per_day,
                left.transactions,
                left.per_day
            ));
        }
        text
    }
}

/// Where the TPP stands with every bank of its configuration, at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub now: Timestamp,
    pub banks: Vec<BankStatus>,
}

impl Status {
    pub fn describe(&self) -> String {
        self.banks.iter().map(BankStatus::describe).collect()
    }
}

/// The day a batch allowance is counted on: `now` in the bank's zone.
pub fn allowance_day(now: Timestamp, zone: &TimeZone) -> Date {
    day_in(now, zone)
}

impl Workspace {
    /// Where the TPP stands with each bank at `now`. Tokens that look good are checked with the
    /// bank (GET /accounts; with `psu_ip`, the PSU is present and no batch call is spent): a
    /// bank that refuses them makes the state "reconnect needed", with the login command.
    pub async fn status(&self, now: Timestamp, psu_ip: Option<String>) -> Result<Status, TppError> {
        let store = self.store().await?;
        let options = self.options();
        let mut banks = Vec::new();
        for endpoints in &self.config.banks {
            let code = endpoints.code.as_str();
            let option = options.get(code).cloned().unwrap_or_default();
            let zone = option.zone()?;
            let tokens = self.tokens(code);
            let mut status = BankStatus::from_tokens(endpoints, tokens.as_ref(), now, &zone);
            status.last_sync = store
                .last_sync_at(code)
                .await?
                .and_then(|at| Timestamp::from_second(at).ok());
            if matches!(status.token, TokenState::Valid | TokenState::Refreshable) {
                let client = self.client(code, psu_ip.clone())?.with_clock(move || now);
                match client.accounts().await {
                    Ok(accounts) => {
                        status.set_tokens(client.tokens().as_ref(), now, &zone);
                        status.checked_with_bank = true;
                        let day = allowance_day(now, &zone);
                        let per_day = option.calls_per_day();
                        for account in accounts {
                            let iban = iban_of(&account).unwrap_or_default();
                            let balances = store
                                .calls_today(code, &iban, "balances", &day.to_string())
                                .await?;
                            let transactions = store
                                .calls_today(code, &iban, "transactions", &day.to_string())
                                .await?;
                            status.accounts.push(AccountStatus {
                                resource_id: account.resource_id.clone(),
                                name: account.name.clone(),
                                balances: account.links.balances.is_some(),
                                transactions: account.links.transactions.is_some(),
                                batch_calls_left_today: CallsLeft {
                                    day,
                                    per_day,
                                    balances: calls_left(balances, per_day),
                                    transactions: calls_left(transactions, per_day),
                                },
                                iban,
                            });
                        }
                    }
                    Err(TppError::ReauthenticationNeeded(reason)) => status.refused(&reason),
                    Err(e) => status.bank_error = Some(e.to_string()),
                }
            }
            banks.push(status);
        }
        Ok(Status { now, banks })
    }
}
