//! The registration API's wire types (the portal's "API Register"; RFC 7591 names). Not STET,
//! but shared by both sides of the counter like the STET types.

use serde::{Deserialize, Serialize};

/// `POST /register` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub client_name: String,
    #[serde(default)]
    pub contacts: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// QSealCs (PEM) of the same organisation as the QWAC.
    #[serde(default)]
    pub qseal_certificates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredQseal {
    pub sha256: String,
    pub serial: String,
    pub issuer: String,
    pub not_after: i64,
    /// A keyId that designates this certificate in `Signature` headers.
    pub key_id: String,
}

/// The registration as the bank holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationAnswer {
    /// The organizationIdentifier of the TPP's certificates: its OAuth2 client_id.
    pub client_id: String,
    pub client_name: String,
    pub contacts: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub qseal_certificates: Vec<RegisteredQseal>,
}
