//! Attribute types: names and OIDs.

/// An attribute type, kept as its dotted OID (or, for a name Guichet does not know, that name
/// in lower case, which can only equal itself).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttrType(String);

pub(super) struct Known {
    pub(super) oid: &'static str,
    /// The first is the one Guichet writes; all are read without regard to case.
    pub(super) names: &'static [&'static str],
}

/// RFC 4514 §3's short names (CN, L, ST, O, OU, C, STREET, DC, UID), the X.520 and PKCS #9
/// names OpenSSL, Java and Microsoft print, and the EV jurisdiction attributes.
pub(super) const KNOWN: &[Known] = &[
    Known {
        oid: "2.5.4.3",
        names: &["CN", "commonName"],
    },
    Known {
        oid: "2.5.4.4",
        names: &["SN", "surname"],
    },
    Known {
        oid: "2.5.4.5",
        names: &["serialNumber"],
    },
    Known {
        oid: "2.5.4.6",
        names: &["C", "countryName"],
    },
    Known {
        oid: "2.5.4.7",
        names: &["L", "localityName"],
    },
    Known {
        oid: "2.5.4.8",
        names: &["ST", "stateOrProvinceName", "S"],
    },
    Known {
        oid: "2.5.4.9",
        names: &["STREET", "streetAddress"],
    },
    Known {
        oid: "2.5.4.10",
        names: &["O", "organizationName"],
    },
    Known {
        oid: "2.5.4.11",
        names: &["OU", "organizationalUnitName"],
    },
    Known {
        oid: "2.5.4.12",
        names: &["title"],
    },
    Known {
        oid: "2.5.4.13",
        names: &["description"],
    },
    Known {
        oid: "2.5.4.15",
        names: &["businessCategory"],
    },
    Known {
        oid: "2.5.4.17",
        names: &["postalCode"],
    },
    Known {
        oid: "2.5.4.41",
        names: &["name"],
    },
    Known {
        oid: "2.5.4.42",
        names: &["GN", "givenName", "G"],
    },
    Known {
        oid: "2.5.4.43",
        names: &["initials"],
    },
    Known {
        oid: "2.5.4.44",
        names: &["generationQualifier"],
    },
    Known {
        oid: "2.5.4.45",
        names: &["x500UniqueIdentifier"],
    },
    Known {
        oid: "2.5.4.46",
        names: &["dnQualifier"],
    },
    Known {
        oid: "2.5.4.65",
        names: &["pseudonym"],
    },
    Known {
        oid: "2.5.4.97",
        names: &["organizationIdentifier"],
    },
    Known {
        oid: "0.9.2342.19200300.100.1.1",
        names: &["UID", "userId"],
    },
    Known {
        oid: "0.9.2342.19200300.100.1.25",
        names: &["DC", "domainComponent"],
    },
    Known {
        oid: "1.2.840.113549.1.9.1",
        names: &["emailAddress", "E", "email"],
    },
    Known {
        oid: "1.2.840.113549.1.9.2",
        names: &["unstructuredName"],
    },
    Known {
        oid: "1.3.6.1.4.1.311.60.2.1.1",
        names: &["jurisdictionL", "jurisdictionLocalityName"],
    },
    Known {
        oid: "1.3.6.1.4.1.311.60.2.1.2",
        names: &["jurisdictionST", "jurisdictionStateOrProvinceName"],
    },
    Known {
        oid: "1.3.6.1.4.1.311.60.2.1.3",
        names: &["jurisdictionC", "jurisdictionCountryName"],
    },
];

impl AttrType {
    /// Reads a type as written in a DN string: a name (any case), a dotted OID, or `OID.`
    /// and a dotted OID (Java, RFC 1779).
    pub fn parse(text: &str) -> Result<AttrType, &'static str> {
        let text = text.trim();
        let text = match text.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("oid.") => text.get(4..).unwrap_or(""),
            _ => text,
        };
        if text.starts_with(|c: char| c.is_ascii_digit()) {
            let mut arcs = Vec::new();
            for arc in text.split('.') {
                if arc.is_empty() || !arc.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("an OID has an empty or non-numeric arc");
                }
                let arc = arc.trim_start_matches('0');
                arcs.push(if arc.is_empty() { "0" } else { arc });
            }
            if arcs.len() < 2 {
                return Err("an OID has fewer than two arcs");
            }
            return Ok(AttrType(arcs.join(".")));
        }
        // RFC 4512 descr: ALPHA *(ALPHA / DIGIT / "-").
        if !text.starts_with(|c: char| c.is_ascii_alphabetic())
            || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("an attribute type is neither a name nor a dotted OID");
        }
        Ok(KNOWN
            .iter()
            .find(|known| known.names.iter().any(|n| n.eq_ignore_ascii_case(text)))
            .map(|known| AttrType(known.oid.to_owned()))
            .unwrap_or_else(|| AttrType(text.to_ascii_lowercase())))
    }

    /// The type of a certificate attribute, by its OID (`Oid::to_id_string`).
    pub fn from_oid(dotted: &str) -> AttrType {
        AttrType::parse(dotted).unwrap_or_else(|_| AttrType(dotted.to_owned()))
    }

    /// What types are compared by: the dotted OID.
    pub fn key(&self) -> &str {
        &self.0
    }

    /// What Guichet writes: the usual short name, else the dotted OID.
    pub fn label(&self) -> &str {
        KNOWN
            .iter()
            .find(|known| known.oid == self.0)
            .and_then(|known| known.names.first().copied())
            .unwrap_or(self.0.as_str())
    }
}
