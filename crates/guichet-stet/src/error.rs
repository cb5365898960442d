//! The STET ErrorModel: `{timestamp, status, error, message, path}` (CR188, CR189).

use serde::Serialize;

/// STET 1.4.2 ErrorModel. `status` and `message` are required; `error`, `message` and `path`
/// are at most 140 characters, which [`ErrorModel::new`] enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ErrorModel {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Guichet's sandbox only, on a refused HTTP signature: the signing string the bank built,
    /// for the TPP developer to compare with theirs. Not a STET field; never sent in production.
    #[serde(
        rename = "signingString",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub signing_string: Option<String>,
}

/// STET Appendix A: `error`, `message` and `path` have maxLength 140.
pub const MAX_TEXT: usize = 140;

impl ErrorModel {
    pub fn new(
        timestamp: String,
        status: u16,
        error: &str,
        message: &str,
        path: &str,
    ) -> ErrorModel {
        ErrorModel {
            timestamp: Some(timestamp),
            status,
            error: Some(truncate(error)),
            message: truncate(message),
            path: Some(truncate(path)),
            signing_string: None,
        }
    }
}

/// Cuts a text to 140 characters on a character boundary, marking the cut with an ellipsis.
pub fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_TEXT {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(MAX_TEXT - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_to_140_characters() {
        let long = "é".repeat(300);
        let cut = truncate(&long);
        assert_eq!(cut.chars().count(), 140);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short"), "short");
    }

    #[test]
    fn absent_fields_are_omitted_not_null() {
        let model = ErrorModel {
            timestamp: None,
            status: 400,
            error: None,
            message: "m".into(),
            path: None,
            signing_string: None,
        };
        let json = serde_json::to_string(&model).unwrap_or_default();
        assert_eq!(json, r#"{"status":400,"message":"m"}"#);
    }
}
