//! The qcStatements extension (RFC 3739, OID 1.3.6.1.5.5.7.1.3) with the ETSI statements:
//! QcCompliance and QcType (EN 319 412-5) and the PSD2 statement (TS 119 495).
//!
//! ```asn1
//! QCStatements ::= SEQUENCE OF QCStatement
//! QCStatement  ::= SEQUENCE { statementId OBJECT IDENTIFIER, statementInfo ANY OPTIONAL }
//! QcType       ::= SEQUENCE OF OBJECT IDENTIFIER
//! PSD2QcType   ::= SEQUENCE { rolesOfPSP RolesOfPSP, nCAName UTF8String, nCAId UTF8String }
//! RolesOfPSP   ::= SEQUENCE OF SEQUENCE { roleOfPspOid OBJECT IDENTIFIER, roleOfPspName UTF8String }
//! ```
//! Roles are compared by OID, never by name; unknown statements and newer roles are kept, not
//! refused (TS 119 495 V1.8 adds roles that STET 1.4.2 does not know).

use der::asn1::{Any, ObjectIdentifier, Utf8StringRef};
use der::{Decode, Encode, Sequence, Tag, Tagged};

pub const QC_STATEMENTS: &str = "1.3.6.1.5.5.7.1.3";
const QC_COMPLIANCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.1862.1.1");
const QC_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.1862.1.6");
const QCT_ESIGN: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.1862.1.6.1");
const QCT_ESEAL: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.1862.1.6.2");
const QCT_WEB: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.1862.1.6.3");
const PSD2: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.19495.2");
const ROLE_AS: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.19495.1.1");
const ROLE_PI: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.19495.1.2");
const ROLE_AI: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.19495.1.3");
const ROLE_IC: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.19495.1.4");

#[derive(Sequence)]
struct Statement {
    id: ObjectIdentifier,
    #[asn1(optional = "true")]
    info: Option<Any>,
}

#[derive(Sequence)]
struct RoleDer {
    oid: ObjectIdentifier,
    name: Any,
}

#[derive(Sequence)]
struct Psd2Der {
    roles: Vec<RoleDer>,
    nca_name: Any,
    nca_id: Any,
}

/// The kind of qualified certificate (EN 319 412-5 QcType).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QcType {
    Esign,
    /// A qualified electronic seal certificate: a QSealC.
    Eseal,
    /// A qualified website authentication certificate: a QWAC.
    Web,
    Other(String),
}

/// A PSD2 role (TS 119 495 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// PSP_AS, account servicing (a bank).
    AccountServicing,
    /// PSP_PI, payment initiation.
    PaymentInitiation,
    /// PSP_AI, account information.
    AccountInformation,
    /// PSP_IC, issuing of card-based payment instruments (CBPII).
    CardIssuing,
    /// A role this version does not know, by OID.
    Other(String),
}

impl Role {
    fn oid(&self) -> Result<ObjectIdentifier, der::Error> {
        Ok(match self {
            Role::AccountServicing => ROLE_AS,
            Role::PaymentInitiation => ROLE_PI,
            Role::AccountInformation => ROLE_AI,
            Role::CardIssuing => ROLE_IC,
            Role::Other(oid) => ObjectIdentifier::new(oid)
                .map_err(|_| der::Error::from(der::ErrorKind::OidMalformed))?,
        })
    }

    fn from_oid(oid: ObjectIdentifier) -> Role {
        match oid {
            ROLE_AS => Role::AccountServicing,
            ROLE_PI => Role::PaymentInitiation,
            ROLE_AI => Role::AccountInformation,
            ROLE_IC => Role::CardIssuing,
            other => Role::Other(other.to_string()),
        }
    }

    /// The name TS 119 495 gives the role.
    pub fn name(&self) -> &str {
        match self {
            Role::AccountServicing => "PSP_AS",
            Role::PaymentInitiation => "PSP_PI",
            Role::AccountInformation => "PSP_AI",
            Role::CardIssuing => "PSP_IC",
            Role::Other(oid) => oid,
        }
    }

    /// Reads the short forms used on the command line: AS, PI, AI, IC (or PSP_AI, …).
    pub fn parse(text: &str) -> Option<Role> {
        Some(
            match text.trim().to_ascii_uppercase().trim_start_matches("PSP_") {
                "AS" => Role::AccountServicing,
                "PI" => Role::PaymentInitiation,
                "AI" => Role::AccountInformation,
                "IC" => Role::CardIssuing,
                _ => return None,
            },
        )
    }
}

/// The PSD2 QC statement: the TPP's roles and its national competent authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Psd2Statement {
    pub roles: Vec<Role>,
    pub nca_name: String,
    /// e.g. `FR-ACPR`.
    pub nca_id: String,
}

/// The statements of a certificate's qcStatements extension that Guichet reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QcStatements {
    pub compliance: bool,
    pub types: Vec<QcType>,
    pub psd2: Option<Psd2Statement>,
}

/// A string of any of the ASN.1 string types QTSPs use (UTF8String per TS 119 495, sometimes
/// PrintableString or IA5String).
fn text(value: &Any) -> Result<String, der::Error> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            String::from_utf8(value.value().to_vec())
                .map_err(|_| der::Error::from(der::ErrorKind::Value { tag: value.tag() }))
        }
        other => Err(der::Error::from(der::ErrorKind::TagUnexpected {
            expected: Some(Tag::Utf8String),
            actual: other,
        })),
    }
}

impl QcStatements {
    /// Decodes the value (extnValue content) of a qcStatements extension.
    pub fn from_der(bytes: &[u8]) -> Result<QcStatements, der::Error> {
        let statements: Vec<Statement> = Vec::from_der(bytes)?;
        let mut out = QcStatements::default();
        for statement in statements {
            match statement.id {
                QC_COMPLIANCE => out.compliance = true,
                QC_TYPE => {
                    if let Some(info) = statement.info {
                        let types: Vec<ObjectIdentifier> = info.decode_as()?;
                        out.types = types
                            .into_iter()
                            .map(|t| match t {
                                QCT_ESIGN => QcType::Esign,
                                QCT_ESEAL => QcType::Eseal,
                                QCT_WEB => QcType::Web,
                                other => QcType::Other(other.to_string()),
                            })
                            .collect();
                    }
                }
                PSD2 => {
                    let info = statement.info.ok_or_else(|| {
                        der::Error::from(der::ErrorKind::Length { tag: Tag::Sequence })
                    })?;
                    let psd2: Psd2Der = info.decode_as()?;
                    out.psd2 = Some(Psd2Statement {
                        roles: psd2
                            .roles
                            .into_iter()
                            .map(|r| Role::from_oid(r.oid))
                            .collect(),
                        nca_name: text(&psd2.nca_name)?,
                        nca_id: text(&psd2.nca_id)?,
                    });
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Encodes the statements as a qcStatements extension value.
    pub fn to_der(&self) -> Result<Vec<u8>, der::Error> {
        let mut statements = Vec::new();
        if self.compliance {
            statements.push(Statement {
                id: QC_COMPLIANCE,
                info: None,
            });
        }
        if !self.types.is_empty() {
            let oids = self
                .types
                .iter()
                .map(|t| match t {
                    QcType::Esign => Ok(QCT_ESIGN),
                    QcType::Eseal => Ok(QCT_ESEAL),
                    QcType::Web => Ok(QCT_WEB),
                    QcType::Other(oid) => ObjectIdentifier::new(oid)
                        .map_err(|_| der::Error::from(der::ErrorKind::OidMalformed)),
                })
                .collect::<Result<Vec<_>, _>>()?;
            statements.push(Statement {
                id: QC_TYPE,
                info: Some(Any::encode_from(&oids)?),
            });
        }
        if let Some(psd2) = &self.psd2 {
            let roles = psd2
                .roles
                .iter()
                .map(|r| {
                    Ok(RoleDer {
                        oid: r.oid()?,
                        name: Any::encode_from(&Utf8StringRef::new(r.name())?)?,
                    })
                })
                .collect::<Result<Vec<_>, der::Error>>()?;
            let value = Psd2Der {
                roles,
                nca_name: Any::encode_from(&Utf8StringRef::new(&psd2.nca_name)?)?,
                nca_id: Any::encode_from(&Utf8StringRef::new(&psd2.nca_id)?)?,
            };
            statements.push(Statement {
                id: PSD2,
                info: Some(Any::encode_from(&value)?),
            });
        }
        statements.to_der()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VECTOR: &[u8] =
        include_bytes!("../../guichet-httpsig/tests/vectors/qcstatements_qwac_ai_pi.der");

    fn vector_statements() -> QcStatements {
        QcStatements {
            compliance: true,
            types: vec![QcType::Web],
            psd2: Some(Psd2Statement {
                roles: vec![Role::AccountInformation, Role::PaymentInitiation],
                nca_name: "Autorite de Controle Prudentiel et de Resolution".into(),
                nca_id: "FR-ACPR".into(),
            }),
        }
    }

    #[test]
    fn the_shared_vector_decodes() -> Result<(), der::Error> {
        assert_eq!(QcStatements::from_der(VECTOR)?, vector_statements());
        Ok(())
    }

    #[test]
    fn encoding_rebuilds_the_vector_byte_for_byte() -> Result<(), der::Error> {
        assert_eq!(vector_statements().to_der()?, VECTOR);
        Ok(())
    }

    #[test]
    fn unknown_roles_and_statements_are_tolerated() -> Result<(), der::Error> {
        let mut statements = vector_statements();
        if let Some(psd2) = statements.psd2.as_mut() {
            psd2.roles.push(Role::Other("0.4.0.19495.1.7".into()));
        }
        statements
            .types
            .push(QcType::Other("0.4.0.1862.1.6.9".into()));
        let decoded = QcStatements::from_der(&statements.to_der()?)?;
        assert_eq!(decoded, statements);
        Ok(())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = QcStatements::from_der(&bytes);
        }

        #[test]
        fn mutated_vectors_never_panic(index in 0usize..145, byte in any::<u8>()) {
            let mut bytes = VECTOR.to_vec();
            if index < bytes.len() {
                bytes[index] = byte;
            }
            let _ = QcStatements::from_der(&bytes);
        }
    }
}
