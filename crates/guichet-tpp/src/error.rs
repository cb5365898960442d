//! Errors a program can act on: each says what happened at the bank and what to do.

/// What went wrong with a bank.
#[derive(Debug, thiserror::Error)]
pub enum TppError {
    /// 429: the batch allowance (4 calls a day without the PSU) is spent. Never a sign that
    /// there is nothing new: try again after `retry_after` seconds, or with the PSU present.
    #[error("rate limited by the bank: daily batch calls spent, resets in {retry_after} s")]
    RateLimited { retry_after: i64 },
    /// 403 on an account: the PSU's consent does not cover this account and operation.
    #[error("no consent for {operation} of account {account}: {message}")]
    ConsentMissing {
        account: String,
        operation: String,
        message: String,
    },
    /// The PSU must pass SCA again (refresh refused, 180-day SCA expired, access revoked).
    #[error("reconnect needed: {0}")]
    ReauthenticationNeeded(String),
    /// 503, 408 or a network failure, after retries. The fallback interface exists for this.
    #[error(
        "bank unavailable ({status}): {message}; the bank's fallback interface may be used with the PSU present"
    )]
    BankUnavailable { status: u16, message: String },
    /// 400 and the like: the bank's message says what to fix.
    #[error("the bank refused the request ({status}): {message}")]
    BadRequest { status: u16, message: String },
    /// 401 other than an expired token, or 403 on scope: the TPP's certificates or role.
    #[error("refused ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("not logged in at bank {0}: run `guichet tpp login --bank {0}`")]
    NotLoggedIn(String),
    #[error("{0}")]
    Local(String),
}

impl From<crate::transport::TransportError> for TppError {
    fn from(e: crate::transport::TransportError) -> Self {
        TppError::Local(e.to_string())
    }
}

impl From<sqlx::Error> for TppError {
    fn from(e: sqlx::Error) -> Self {
        TppError::Local(format!("local store: {e}"))
    }
}

impl From<std::io::Error> for TppError {
    fn from(e: std::io::Error) -> Self {
        TppError::Local(e.to_string())
    }
}

impl TppError {
    /// A stable, machine-readable name of what happened (the `kind` of [`TppError::to_json`]).
    pub fn kind(&self) -> &'static str {
        match self {
            TppError::RateLimited { .. } => "rateLimited",
            TppError::ConsentMissing { .. } => "consentMissing",
            TppError::ReauthenticationNeeded(_) => "reconnectNeeded",
            TppError::BankUnavailable { .. } => "bankUnavailable",
            TppError::BadRequest { .. } => "badRequest",
            TppError::Refused { .. } => "refused",
            TppError::NotLoggedIn(_) => "notLoggedIn",
            TppError::Local(_) => "local",
        }
    }

    /// The error as a JSON object: `kind`, `message` (the sentence a person reads) and the
    /// variant's fields (`retryAfter`, `account` and `operation`, `status`, `bank`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::json!({"kind": self.kind(), "message": self.to_string()});
        match self {
            TppError::RateLimited { retry_after } => {
                value["retryAfter"] = serde_json::json!(retry_after);
            }
            TppError::ConsentMissing {
                account, operation, ..
            } => {
                value["account"] = serde_json::json!(account);
                value["operation"] = serde_json::json!(operation);
            }
            TppError::BankUnavailable { status, .. }
            | TppError::BadRequest { status, .. }
            | TppError::Refused { status, .. } => {
                value["status"] = serde_json::json!(status);
            }
            TppError::NotLoggedIn(bank) => {
                value["bank"] = serde_json::json!(bank);
            }
            TppError::ReauthenticationNeeded(_) | TppError::Local(_) => {}
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_as_json_keep_their_fields() {
        let limited = TppError::RateLimited { retry_after: 60 }.to_json();
        assert_eq!(limited["kind"], "rateLimited");
        assert_eq!(limited["retryAfter"], 60);
        let out = TppError::NotLoggedIn("17515".into()).to_json();
        assert_eq!(out["kind"], "notLoggedIn");
        assert_eq!(out["bank"], "17515");
        assert!(
            out["message"]
                .as_str()
                .is_some_and(|m| m.contains("guichet tpp login --bank 17515"))
        );
    }
}
