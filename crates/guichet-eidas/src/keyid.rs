//! The `keyId` of an HTTP signature, which names the TPP's QSealC.
//!
//! draft-cavage-http-signatures §2.1.1: "keyId: REQUIRED. The `keyId` field is an opaque string
//! that the server can use to look up the component they need to validate the signature."
//! STET (and the bank portal) fix two forms: "keyId = <url>_<SHA-256 fingerprint>" (SHA-1 is
//! seen too), and "keyId = SN=<serial number in hexadecimal>,CA=<issuer DN>". In the second,
//! serials are written every way tools print them (`1A2B`, `0x1a2b`, `00:1A:2B`, and decimal
//! from Python and Java), and the issuer DN in any order and syntax, so the DN is compared as
//! a name ([`Dn`]) and the serial as a number. Clients percent-encode the whole value at times
//! (`CA=CN%3DGuichet%20Sandbox…`): a keyId with `%XX` in it is decoded first.

use crate::dn::Dn;

/// What a keyId points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyIdRef {
    /// Lower-case hex SHA-256 or SHA-1 of the certificate.
    Fingerprint(String),
    /// `SN=<serial>,CA=<issuer DN>`.
    SerialIssuer {
        /// The serial's possible values, as big-endian magnitudes without leading zero bytes:
        /// one for hex, two for digits only (hex and decimal readings).
        serial_candidates: Vec<Vec<u8>>,
        issuer: Dn,
    },
}

/// Keys longer than this are no serial (20 bytes is 40 hex digits, 59 with colons, 49 decimal).
const MAX_SERIAL_TEXT: usize = 128;

impl KeyIdRef {
    /// Reads a keyId, percent-decoded first when it contains `%XX`.
    pub fn parse(key_id: &str) -> Option<KeyIdRef> {
        match percent_decode(key_id) {
            Some(decoded) => KeyIdRef::parse_literal(&decoded),
            None => KeyIdRef::parse_literal(key_id),
        }
    }

    /// The readings of a keyId: decoded, then (when it had `%XX` in it) as written, for a DN
    /// that has a `%` of its own.
    pub fn readings(key_id: &str) -> Vec<KeyIdRef> {
        let mut readings: Vec<KeyIdRef> = KeyIdRef::parse(key_id).into_iter().collect();
        if percent_decode(key_id).is_some()
            && let Some(literal) = KeyIdRef::parse_literal(key_id)
            && !readings.contains(&literal)
        {
            readings.push(literal);
        }
        readings
    }

    /// Whether this designates the certificate of these fingerprints (lower-case hex), serial
    /// (big-endian, any leading zeros) and issuer.
    pub fn designates(&self, sha256: &str, sha1: &str, serial: &[u8], issuer: &Dn) -> bool {
        match self {
            KeyIdRef::Fingerprint(fp) => fp == sha256 || fp == sha1,
            KeyIdRef::SerialIssuer {
                serial_candidates,
                issuer: wanted,
            } => {
                let serial = magnitude(serial);
                serial_candidates.contains(&serial) && wanted == issuer
            }
        }
    }

    fn parse_literal(key_id: &str) -> Option<KeyIdRef> {
        if let Some(rest) = strip_label(key_id, "SN") {
            // The serial has no comma: the first one ends it.
            let (serial, issuer) = rest.split_once(',')?;
            let issuer = strip_label(issuer, "CA")?;
            let serial_candidates = serial_candidates(serial)?;
            let issuer = Dn::parse(issuer).ok().filter(|dn| !dn.is_empty())?;
            return Some(KeyIdRef::SerialIssuer {
                serial_candidates,
                issuer,
            });
        }
        let (_, suffix) = key_id.rsplit_once('_')?;
        let suffix = suffix.to_ascii_lowercase();
        ((suffix.len() == 64 || suffix.len() == 40)
            && suffix.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(KeyIdRef::Fingerprint(suffix))
    }
}

/// `label` (any case), optional spaces and `=` at the start of `text`: what follows.
fn strip_label<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let text = text.trim_start();
    let head = text.get(..label.len())?;
    if !head.eq_ignore_ascii_case(label) {
        return None;
    }
    text.get(label.len()..)?.trim_start().strip_prefix('=')
}

/// Decodes every `%XX`; None when there is none, or the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()?;
    (decoded != text).then(|| decoded.into_owned())
}

/// Big-endian bytes without their leading zeros (zero is no byte at all).
pub fn magnitude(bytes: &[u8]) -> Vec<u8> {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or(&[]).to_vec()
}

/// The readings of a serial: `0x…` and `..:..:..` are hex, digits only are hex or decimal,
/// other hex digits are hex.
pub fn serial_candidates(text: &str) -> Option<Vec<Vec<u8>>> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_SERIAL_TEXT {
        return None;
    }
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return Some(vec![hex_magnitude(hex)?]);
    }
    if text.contains(':') {
        let mut bytes = Vec::new();
        for group in text.split(':') {
            if group.is_empty() || group.len() > 2 {
                return None;
            }
            bytes.push(hex_magnitude(group)?.first().copied().unwrap_or(0));
        }
        return Some(vec![magnitude(&bytes)]);
    }
    let hex = hex_magnitude(text)?;
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let decimal = decimal_magnitude(text);
        return Some(if decimal == hex {
            vec![hex]
        } else {
            vec![hex, decimal]
        });
    }
    Some(vec![hex])
}

fn hex_magnitude(hex: &str) -> Option<Vec<u8>> {
    let digits = hex
        .chars()
        .map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect::<Option<Vec<u8>>>()?;
    if digits.is_empty() {
        return None;
    }
    let mut bytes = Vec::with_capacity(digits.len() / 2 + 1);
    let mut digits = digits.into_iter();
    if !digits.len().is_multiple_of(2) {
        bytes.extend(digits.next());
    }
    while let (Some(high), Some(low)) = (digits.next(), digits.next()) {
        bytes.push(high * 16 + low);
    }
    Some(magnitude(&bytes))
}

/// Decimal digits to big-endian bytes, by multiply-and-add on a little-endian byte vector.
fn decimal_magnitude(digits: &str) -> Vec<u8> {
    let mut little = Vec::<u8>::new();
    for digit in digits.bytes() {
        let mut carry = u32::from(digit.wrapping_sub(b'0') % 10);
        for byte in little.iter_mut() {
            let value = u32::from(*byte) * 10 + carry;
            *byte = value.to_le_bytes()[0];
            carry = value >> 8;
        }
        while carry > 0 {
            little.push(carry.to_le_bytes()[0]);
            carry >>= 8;
        }
    }
    little.reverse();
    magnitude(&little)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_read_as_numbers() {
        let hex = serial_candidates;
        assert_eq!(hex("1A2B"), Some(vec![vec![0x1a, 0x2b]]));
        assert_eq!(hex("0x1a2b"), Some(vec![vec![0x1a, 0x2b]]));
        assert_eq!(hex("00:1A:2B"), Some(vec![vec![0x1a, 0x2b]]));
        assert_eq!(hex("0001a2b"), Some(vec![vec![0x1a, 0x2b]]));
        assert_eq!(hex("abc"), Some(vec![vec![0x0a, 0xbc]]));
        // 6699 = 0x1A2B; read as hex, 0x6699.
        assert_eq!(hex("6699"), Some(vec![vec![0x66, 0x99], vec![0x1a, 0x2b]]));
        assert_eq!(hex("0"), Some(vec![vec![]]));
        assert_eq!(
            decimal_magnitude("1461501637330902918203684832716283019655932542975"),
            vec![0xff; 20]
        );
        assert_eq!(decimal_magnitude("256"), vec![1, 0]);
        for bad in ["", "0x", "zz", "1:", "1::2", "123:4", "12 34", "-1"] {
            assert_eq!(hex(bad), None, "{bad}");
        }
        assert_eq!(hex(&"1".repeat(200)), None);
    }

    #[test]
    fn percent_encoding_is_decoded() {
        assert_eq!(percent_decode("a%20b%2Cc").as_deref(), Some("a b,c"));
        assert_eq!(percent_decode("100%"), None);
        assert_eq!(percent_decode("%zz%4"), None);
        assert_eq!(percent_decode("caf%C3%A9").as_deref(), Some("café"));
        assert_eq!(percent_decode("%FF"), None);
    }

    proptest::proptest! {
        #[test]
        fn decimal_serials_agree_with_u128(n in proptest::prelude::any::<u128>()) {
            let bytes = decimal_magnitude(&n.to_string());
            proptest::prop_assert_eq!(bytes, magnitude(&n.to_be_bytes()));
            let hex = serial_candidates(&format!("{n:x}"));
            proptest::prop_assert!(hex.is_some_and(|c| c.contains(&magnitude(&n.to_be_bytes()))));
        }
    }
}
