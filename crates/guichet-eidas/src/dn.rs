//! Distinguished names (X.501 `Name`) compared as names, not as strings.
//!
//! A keyId `SN=<serial>,CA=<issuer DN>` names a QSealC by its issuer, and every tool writes that
//! DN its own way: RFC 4514 order, most specific first (`CN=…,O=…,C=FR`: Python's
//! `cryptography`, Java, Go, `openssl -nameopt RFC2253`), certificate order with spaces
//! (`C = FR, O = …, CN = …`: OpenSSL's default), OpenSSL's legacy `/C=FR/O=…/CN=…`, RFC 1779's
//! `;` separators and quoted values. [`Dn::parse`] reads all of them (the `parse` module says
//! how), and two [`Dn`]s are equal when they hold the same RDNs in any order:
//!
//! - attribute types by OID (`CN`, `commonName`, `2.5.4.3` and `OID.2.5.4.3` are one type);
//!   `SN` inside a DN is the surname (2.5.4.4), never a serial;
//! - values after unescaping, with leading and trailing spaces dropped, internal runs of spaces
//!   collapsed to one and case folded: roughly X.520 caseIgnoreMatch (RFC 4518 without its
//!   Unicode normalisation), good enough to match an issuer;
//! - a value only known by its BER encoding (`#04…`, or a certificate value that is not a string)
//!   only matches the same bytes;
//! - RFC 4514 writes the RDNs in the reverse of X.500 order, and tools disagree on which order
//!   they print, so the order of the RDNs is ignored: the DNs compare as multisets of RDNs,
//!   each a set of attribute-value pairs.

use std::fmt;
use std::str::FromStr;

use x509_parser::x509::X509Name;

pub use attr::AttrType;

mod attr;
mod parse;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// Why a string is not a distinguished name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed distinguished name at character {position}: {reason}")]
pub struct DnError {
    /// Where (in characters) the reader stopped.
    pub position: usize,
    pub reason: &'static str,
}

/// A distinguished name: its RDNs in X.500 order (most general first, as in the certificate).
#[derive(Debug, Clone, Default)]
pub struct Dn {
    rdns: Vec<Rdn>,
}

/// A relative distinguished name: a set of attribute-value pairs (usually one; `+` in a string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rdn {
    pub avas: Vec<Ava>,
}

/// One attribute of an RDN. `==` on it is exact; compare [`Dn`]s to match names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ava {
    pub attr: AttrType,
    pub value: Value,
}

/// An attribute value: text (however it was encoded), or the BER encoding of a value that is
/// not a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Ber(Vec<u8>),
}

/// A value as compared.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Folded {
    Text(String),
    Ber(Vec<u8>),
}

impl Value {
    /// A value from its BER encoding (`#…` in RFC 4514): text when it is one of the string
    /// types, so that it matches the same name written as text; else the bytes themselves.
    pub fn from_ber(ber: Vec<u8>) -> Value {
        match decode_string(&ber) {
            Some(text) => Value::Text(text),
            None => Value::Ber(ber),
        }
    }

    fn folded(&self) -> Folded {
        match self {
            Value::Text(text) => Folded::Text(
                text.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase(),
            ),
            Value::Ber(ber) => Folded::Ber(ber.clone()),
        }
    }
}

/// The text of a universal string TLV; None for anything else.
fn decode_string(ber: &[u8]) -> Option<String> {
    let (&tag, rest) = ber.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, content) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (length, content) = rest.split_at_checked(count)?;
        let length = length
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (length, content)
    };
    if content.len() != length {
        return None;
    }
    match tag {
        // UTF8String
        0x0c => String::from_utf8(content.to_vec()).ok(),
        // NumericString, PrintableString, IA5String, VisibleString
        0x12 | 0x13 | 0x16 | 0x1a if content.is_ascii() => String::from_utf8(content.to_vec()).ok(),
        // TeletexString: read as Latin-1, as OpenSSL does.
        0x14 => Some(content.iter().map(|&b| char::from(b)).collect()),
        // UniversalString, BMPString
        0x1c => utf32be(content),
        0x1e => utf16be(content),
        _ => None,
    }
}

fn utf16be(bytes: &[u8]) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

fn utf32be(bytes: &[u8]) -> Option<String> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    bytes
        .chunks_exact(4)
        .map(|quad| char::from_u32(u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]])))
        .collect()
}

/// The DER encoding of a certificate attribute value, rebuilt from its header and content.
fn der_tlv(class: u8, constructed: bool, tag: u32, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 8);
    let constructed_bit = if constructed { 0x20 } else { 0 };
    let identifier = (class << 6) | constructed_bit;
    if tag < 31 {
        out.push(identifier | u8::try_from(tag).unwrap_or(0x1f));
    } else {
        // High tag number form: base 128, most significant group first.
        out.push(identifier | 0x1f);
        let mut groups = Vec::new();
        let mut rest = tag;
        loop {
            let group = u8::try_from(rest & 0x7f).unwrap_or(0);
            groups.push(if groups.is_empty() {
                group
            } else {
                group | 0x80
            });
            rest >>= 7;
            if rest == 0 {
                break;
            }
        }
        out.extend(groups.iter().rev());
    }
    match u8::try_from(content.len()) {
        Ok(length) if length < 0x80 => out.push(length),
        _ => {
            let bytes = content.len().to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            let significant = bytes.get(skip..).unwrap_or(&[]);
            out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0));
            out.extend_from_slice(significant);
        }
    }
    out.extend_from_slice(content);
    out
}

impl Dn {
    /// A DN of these RDNs, in X.500 order (most general first).
    pub fn new(rdns: Vec<Rdn>) -> Dn {
        Dn { rdns }
    }

    /// The RDNs in X.500 order: the certificate's order, the reverse of RFC 4514's.
    pub fn rdns(&self) -> &[Rdn] {
        &self.rdns
    }

    pub fn is_empty(&self) -> bool {
        self.rdns.is_empty()
    }

    /// Reads a DN written by a person or a tool: RFC 4514 / 2253 / 1779 strings, OpenSSL's
    /// default output and its legacy `/C=FR/O=…` form. Never panics.
    pub fn parse(text: &str) -> Result<Dn, DnError> {
        parse::parse(text)
    }

    /// A certificate's name: strings as text (UTF8String, PrintableString, IA5String,
    /// NumericString, BMPString, UniversalString, TeletexString), anything else as its DER
    /// encoding, which only matches itself.
    pub fn from_x509(name: &X509Name<'_>) -> Dn {
        let rdns = name
            .iter()
            .map(|rdn| Rdn {
                avas: rdn
                    .iter()
                    .map(|attr| Ava {
                        attr: AttrType::from_oid(&attr.attr_type().to_id_string()),
                        value: match attr.as_str() {
                            Ok(text) => Value::Text(text.to_owned()),
                            Err(_) => {
                                let any = attr.attr_value();
                                Value::from_ber(der_tlv(
                                    any.header.class() as u8,
                                    any.header.is_constructed(),
                                    any.header.tag().0,
                                    any.data,
                                ))
                            }
                        },
                    })
                    .collect(),
            })
            .collect();
        Dn { rdns }
    }

    /// The RFC 4514 string: most specific RDN first, `+` within an RDN, values escaped as
    /// RFC 4514 §2.4 requires (`"` `+` `,` `;` `<` `>` `\` anywhere, `#` and space in front,
    /// space at the end), control characters and other leading or trailing white space as
    /// `\XX` hex pairs, non-string values as `#` and hex.
    pub fn to_rfc4514(&self) -> String {
        let mut out = String::new();
        for (i, rdn) in self.rdns.iter().rev().enumerate() {
            if i > 0 {
                out.push(',');
            }
            for (j, ava) in rdn.avas.iter().enumerate() {
                if j > 0 {
                    out.push('+');
                }
                out.push_str(ava.attr.label());
                out.push('=');
                match &ava.value {
                    Value::Text(text) => escape_rfc4514(&mut out, text),
                    Value::Ber(ber) => {
                        out.push('#');
                        out.push_str(&crate::hex(ber).to_uppercase());
                    }
                }
            }
        }
        out
    }

    /// Sorted RDNs of sorted, folded pairs: equal for equal names.
    fn folded(&self) -> Vec<Vec<(&str, Folded)>> {
        let mut rdns: Vec<Vec<(&str, Folded)>> = self
            .rdns
            .iter()
            .map(|rdn| {
                let mut avas: Vec<(&str, Folded)> = rdn
                    .avas
                    .iter()
                    .map(|ava| (ava.attr.key(), ava.value.folded()))
                    .collect();
                avas.sort();
                avas
            })
            .collect();
        rdns.sort();
        rdns
    }
}

fn escape_rfc4514(out: &mut String, text: &str) {
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            // Other leading or trailing spaces (a tab, U+00A0…) and control characters as hex
            // pairs, so that no reader drops or chokes on them.
            c if c.is_control() || (c.is_whitespace() && (i == 0 || i == last)) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
}

/// Name matching: same RDNs in any order, values compared as the module says.
impl PartialEq for Dn {
    fn eq(&self, other: &Dn) -> bool {
        self.folded() == other.folded()
    }
}

impl Eq for Dn {}

impl fmt::Display for Dn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc4514())
    }
}

impl FromStr for Dn {
    type Err = DnError;

    fn from_str(text: &str) -> Result<Dn, DnError> {
        Dn::parse(text)
    }
}
