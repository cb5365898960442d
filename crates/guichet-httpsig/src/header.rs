//! Parsing the `Signature` header: `keyId="…",algorithm="…",headers="…",signature="…"`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use crate::SigError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub key_id: String,
    pub algorithm: Option<String>,
    /// The signed headers, lower-cased, in signing order.
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
}

/// Headers longer than this are refused before parsing.
const MAX_LEN: usize = 8 * 1024;

impl SignatureHeader {
    pub fn parse(value: &str) -> Result<SignatureHeader, SigError> {
        if value.len() > MAX_LEN {
            return Err(SigError::Malformed("longer than 8 KiB".into()));
        }
        let mut key_id = None;
        let mut algorithm = None;
        let mut headers = None;
        let mut signature = None;
        let mut rest = value.trim();
        while !rest.is_empty() {
            let (name, after) = rest.split_once('=').ok_or_else(|| {
                SigError::Malformed(format!("expected name=\"value\" at '{}'", cut(rest)))
            })?;
            let name = name.trim();
            let after = after.trim_start();
            let quoted = after.strip_prefix('"').ok_or_else(|| {
                SigError::Malformed(format!("the value of '{}' must be quoted", cut(name)))
            })?;
            let (content, tail) = quoted.split_once('"').ok_or_else(|| {
                SigError::Malformed(format!("the value of '{}' is not closed", cut(name)))
            })?;
            let slot = match name {
                "keyId" => &mut key_id,
                "algorithm" => &mut algorithm,
                "headers" => &mut headers,
                "signature" => &mut signature,
                // (created), (expires) and future parameters are not used by STET.
                _ => &mut None,
            };
            if slot.is_some() {
                return Err(SigError::Malformed(format!("'{name}' is given twice")));
            }
            *slot = Some(content.to_owned());
            rest = tail.trim_start();
            if let Some(next) = rest.strip_prefix(',') {
                rest = next.trim_start();
            } else if !rest.is_empty() {
                return Err(SigError::Malformed(format!(
                    "expected ',' at '{}'",
                    cut(rest)
                )));
            }
        }
        let key_id = key_id
            .filter(|k| !k.is_empty())
            .ok_or_else(|| SigError::Malformed("keyId is missing".into()))?;
        let encoded =
            signature.ok_or_else(|| SigError::Malformed("signature is missing".into()))?;
        let signature = STANDARD
            .decode(&encoded)
            .or_else(|_| STANDARD_NO_PAD.decode(&encoded))
            .map_err(|_| SigError::Malformed("signature is not base64".into()))?;
        let headers = headers
            .ok_or_else(|| {
                SigError::Malformed(
                    "headers is missing; STET signs (request-target), digest, x-request-id".into(),
                )
            })?
            .split_ascii_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        Ok(SignatureHeader {
            key_id,
            algorithm,
            headers,
            signature,
        })
    }

    /// The header value for these parts.
    pub fn render(key_id: &str, algorithm: &str, headers: &[String], signature: &[u8]) -> String {
        format!(
            "keyId=\"{key_id}\",algorithm=\"{algorithm}\",headers=\"{}\",signature=\"{}\"",
            headers.join(" "),
            STANDARD.encode(signature)
        )
    }
}

fn cut(text: &str) -> String {
    text.chars().take(24).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_portal_example_parses() -> Result<(), SigError> {
        let header = SignatureHeader::parse(
            r#"keyId="https://path.to/myQsealCertificate_612b4c7d103074b29e4c1ece1ef40bc575c0a87e", algorithm="rsa-sha256", headers="(request-target) Digest x-request-id", signature="AAEC""#,
        )?;
        assert_eq!(
            header.key_id,
            "https://path.to/myQsealCertificate_612b4c7d103074b29e4c1ece1ef40bc575c0a87e"
        );
        assert_eq!(header.algorithm.as_deref(), Some("rsa-sha256"));
        assert_eq!(
            header.headers,
            ["(request-target)", "digest", "x-request-id"]
        );
        assert_eq!(header.signature, [0, 1, 2]);
        Ok(())
    }

    #[test]
    fn malformed_headers_say_why() {
        for (value, needle) in [
            ("keyId=abc", "quoted"),
            (r#"keyId="a",signature="AAEC""#, "headers is missing"),
            (r#"keyId="a",headers="x""#, "signature is missing"),
            (r#"headers="x",signature="AAEC""#, "keyId"),
            (
                r#"keyId="a",keyId="b",headers="x",signature="AAEC""#,
                "twice",
            ),
            (r#"keyId="a" headers="x""#, "expected ','"),
            (r#"keyId="a",headers="x",signature="!!""#, "base64"),
            (r#"keyId="a"#, "not closed"),
        ] {
            match SignatureHeader::parse(value) {
                Ok(h) => panic!("{value} parsed as {h:?}"),
                Err(e) => assert!(e.to_string().contains(needle), "{value}: {e}"),
            }
        }
    }

    #[test]
    fn rendering_and_parsing_agree() -> Result<(), SigError> {
        let headers = vec!["(request-target)".to_owned(), "digest".to_owned()];
        let value = SignatureHeader::render("k_1", "rsa-sha256", &headers, &[9, 8, 7]);
        let parsed = SignatureHeader::parse(&value)?;
        assert_eq!(parsed.headers, headers);
        assert_eq!(parsed.signature, [9, 8, 7]);
        Ok(())
    }

    proptest! {
        #[test]
        fn any_value_is_answered_without_panic(value in "\\PC{0,300}") {
            let _ = SignatureHeader::parse(&value);
        }

        #[test]
        fn header_shaped_values_never_panic(parts in proptest::collection::vec(("(keyId|algorithm|headers|signature|created)", "[ -~]{0,20}"), 0..6)) {
            let value: Vec<String> = parts.iter().map(|(k, v)| format!("{k}=\"{}\"", v.replace('"', ""))).collect();
            let _ = SignatureHeader::parse(&value.join(","));
        }
    }
}
