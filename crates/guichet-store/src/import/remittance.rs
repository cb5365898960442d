//! Structured remittance information between camt and STET 1.4.2. An entry's
//! `RmtInf/Strd/CdtrRefInf` become the operation's `remittanceInformation.structured`: one
//! StructuredRemittanceInformation per creditor reference, holding its
//! `creditorReferenceInformation` {`type` (CodeAndIssuer {`code`, `issuer`}), `reference`}
//! (STET 1.4.2, as generated in jgh-/psd2-clj `creditor_reference_information.clj` and
//! `code_and_issuer.clj`). The store keeps that array as compact JSON, which the API writes as
//! it is and the camt export reads back.

use guichet_camt::{CreditorReference, CreditorReferenceType, DOCUMENT_TYPE_CODES};
use serde_json::{Map, Value};

/// The creditor references as STET's `structured` array, compact JSON; none when there are
/// none.
pub fn structured_remittance(references: &[CreditorReference]) -> Option<String> {
    if references.is_empty() {
        return None;
    }
    let items: Vec<Value> = references
        .iter()
        .map(|reference| {
            let mut information = Map::new();
            if let Some(kind) = &reference.kind {
                let mut code = Map::new();
                code.insert("code".to_owned(), Value::String(kind.code.clone()));
                if let Some(issuer) = &kind.issuer {
                    code.insert("issuer".to_owned(), Value::String(issuer.clone()));
                }
                information.insert("type".to_owned(), Value::Object(code));
            }
            information.insert(
                "reference".to_owned(),
                Value::String(reference.reference.clone()),
            );
            let mut item = Map::new();
            item.insert(
                "creditorReferenceInformation".to_owned(),
                Value::Object(information),
            );
            Value::Object(item)
        })
        .collect();
    serde_json::to_string(&items).ok()
}

/// The creditor references of a stored `structured` array. A type's code is ISO's
/// (`CdOrPrtry/Cd`) when it is one of DocumentType3Code, the bank's own (`Prtry`) otherwise;
/// items without a creditor reference have no camt counterpart here and are left out.
pub fn creditor_references(structured: Option<&str>) -> Vec<CreditorReference> {
    let Some(text) = structured else {
        return Vec::new();
    };
    let items: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
    items
        .iter()
        .filter_map(|item| {
            let information = item.get("creditorReferenceInformation")?;
            let reference = information.get("reference")?.as_str()?.to_owned();
            let kind = information.get("type").and_then(|kind| {
                let code = kind.get("code")?.as_str()?.to_owned();
                Some(CreditorReferenceType {
                    proprietary: !DOCUMENT_TYPE_CODES.contains(&code.as_str()),
                    issuer: kind
                        .get("issuer")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    code,
                })
            });
            Some(CreditorReference { kind, reference })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creditor_references_are_stet_structured_remittance_and_back() {
        let references = vec![
            CreditorReference::iso11649("RF18539007547034"),
            CreditorReference::proprietary("FACTURE", "F-42"),
            CreditorReference::untyped("CMD 118"),
        ];
        let json = structured_remittance(&references).unwrap_or_default();
        let value: Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!([
                {"creditorReferenceInformation": {"type": {"code": "SCOR", "issuer": "ISO"}, "reference": "RF18539007547034"}},
                {"creditorReferenceInformation": {"type": {"code": "FACTURE"}, "reference": "F-42"}},
                {"creditorReferenceInformation": {"reference": "CMD 118"}}
            ])
        );
        assert_eq!(creditor_references(Some(&json)), references);
        assert_eq!(structured_remittance(&[]), None);
        assert!(creditor_references(Some("not JSON")).is_empty());
        let other = r#"[{"referredDocumentInformation": [{"number": "F-1"}]}]"#;
        assert!(creditor_references(Some(other)).is_empty());
    }
}
