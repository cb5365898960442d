//! STET 1.4.2 resources as they travel on the wire (notes, Appendix B).
//!
//! 1.4.2 shapes, not 1.4.0: `currency` lives inside `accountId`, `remittanceInformation` is
//! `{unstructured, structured}`, the PSU identity is its own resource. Optional fields are
//! `Option`s skipped when absent: the bank never writes `null`.

use serde::{Deserialize, Serialize};

use crate::amount::AmountType;

/// HAL link. STET: `href` at most 140 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenericLink {
    pub href: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub templated: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl GenericLink {
    pub fn to(href: impl Into<String>) -> GenericLink {
        GenericLink {
            href: href.into(),
            templated: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenericIdentification {
    pub identification: String,
    #[serde(rename = "schemeName")]
    pub scheme_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// STET 1.4.2 AccountIdentification: `iban` or `other`, and the account `currency`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountIdentification {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<GenericIdentification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLinks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balances: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<GenericLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountResource {
    #[serde(
        rename = "resourceId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_id: Option<String>,
    #[serde(rename = "bicFi", default, skip_serializing_if = "Option::is_none")]
    pub bic_fi: Option<String>,
    #[serde(rename = "accountId", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountIdentification>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(
        rename = "linkedAccount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub linked_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<GenericIdentification>,
    #[serde(rename = "cashAccountType")]
    pub cash_account_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balances: Option<Vec<BalanceResource>>,
    #[serde(rename = "psuStatus", default, skip_serializing_if = "Option::is_none")]
    pub psu_status: Option<String>,
    #[serde(rename = "_links", default)]
    pub links: AccountLinks,
}

/// Top-level links of GET /accounts (PsuContextLinks, with 1.4.2's `endUserIdentity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsuContextLinks {
    #[serde(rename = "self")]
    pub self_: GenericLink,
    #[serde(
        rename = "endUserIdentity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub end_user_identity: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiaries: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<GenericLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HalAccounts {
    pub accounts: Vec<AccountResource>,
    #[serde(rename = "_links")]
    pub links: PsuContextLinks,
}

/// STET BalanceStatus: CLBD (accounting), XPCD (instant), VALU, OTHR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceResource {
    pub name: String,
    #[serde(rename = "balanceAmount")]
    pub balance_amount: AmountType,
    #[serde(rename = "balanceType")]
    pub balance_type: String,
    #[serde(
        rename = "lastChangeDateTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_change_date_time: Option<String>,
    #[serde(
        rename = "referenceDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reference_date: Option<String>,
    #[serde(
        rename = "lastCommittedTransaction",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_committed_transaction: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancesLinks {
    #[serde(rename = "self")]
    pub self_: GenericLink,
    #[serde(
        rename = "parent-list",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_list: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<GenericLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HalBalances {
    pub balances: Vec<BalanceResource>,
    #[serde(rename = "_links")]
    pub links: BalancesLinks,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankTransactionCode {
    pub domain: String,
    pub family: String,
    #[serde(rename = "subFamily")]
    pub sub_family: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// 1.4.2 RemittanceInformation. Structured remittance (StructuredRemittanceInformation:
/// `referredDocumentInformation`, `referredDocumentAmount`, `creditorReferenceInformation`
/// {`type` {`code`, `issuer`}, `reference`}, `invoicer`, `invoicee`, `taxRemittance`) is carried
/// as JSON: the bank side writes the creditor references of imported statements
/// (`creditorReferenceInformation`), and a client passes on whatever a bank gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceInformation {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unstructured: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub structured: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    #[serde(
        rename = "resourceId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_id: Option<String>,
    #[serde(
        rename = "entryReference",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entry_reference: Option<String>,
    #[serde(rename = "transactionAmount")]
    pub transaction_amount: AmountType,
    #[serde(rename = "creditDebitIndicator")]
    pub credit_debit_indicator: String,
    pub status: String,
    #[serde(
        rename = "expectedBookingDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expected_booking_date: Option<String>,
    #[serde(
        rename = "bookingDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub booking_date: Option<String>,
    #[serde(rename = "valueDate", default, skip_serializing_if = "Option::is_none")]
    pub value_date: Option<String>,
    #[serde(
        rename = "transactionDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_date: Option<String>,
    #[serde(
        rename = "bankTransactionCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bank_transaction_code: Option<BankTransactionCode>,
    #[serde(
        rename = "remittanceInformation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub remittance_information: Option<RemittanceInformation>,
    #[serde(
        rename = "additionalTransactionInformation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub additional_transaction_information: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionsLinks {
    #[serde(rename = "self")]
    pub self_: GenericLink,
    #[serde(
        rename = "parent-list",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_list: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balances: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<GenericLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<GenericLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HalTransactions {
    pub transactions: Vec<Transaction>,
    #[serde(rename = "_links")]
    pub links: TransactionsLinks,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndUserIdentityLinks {
    #[serde(rename = "self")]
    pub self_: GenericLink,
    #[serde(
        rename = "parent-list",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_list: Option<GenericLink>,
}

/// 1.4.2 HalEndUserIdentity (GET /end-user-identity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HalEndUserIdentity {
    #[serde(rename = "connectedPsu")]
    pub connected_psu: String,
    #[serde(
        rename = "connectedPsuNamePrefix",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connected_psu_name_prefix: Option<String>,
    #[serde(
        rename = "connectedPsuFirstName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connected_psu_first_name: Option<String>,
    #[serde(
        rename = "connectedPsuLastName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connected_psu_last_name: Option<String>,
    #[serde(rename = "_links")]
    pub links: EndUserIdentityLinks,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub country: String,
    #[serde(rename = "addressLine")]
    pub address_line: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyIdentification {
    pub name: String,
    #[serde(
        rename = "postalAddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub postal_address: Option<PostalAddress>,
    #[serde(
        rename = "organisationId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub organisation_id: Option<GenericIdentification>,
    #[serde(rename = "privateId", default, skip_serializing_if = "Option::is_none")]
    pub private_id: Option<GenericIdentification>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinancialInstitutionIdentification {
    #[serde(rename = "bicFi")]
    pub bic_fi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beneficiary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "isTrusted", default, skip_serializing_if = "Option::is_none")]
    pub is_trusted: Option<bool>,
    #[serde(
        rename = "creditorAgent",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub creditor_agent: Option<FinancialInstitutionIdentification>,
    pub creditor: PartyIdentification,
    #[serde(
        rename = "creditorAccount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub creditor_account: Option<AccountIdentification>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeneficiariesLinks {
    #[serde(rename = "self")]
    pub self_: GenericLink,
    #[serde(
        rename = "parent-list",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_list: Option<GenericLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HalBeneficiaries {
    pub beneficiaries: Vec<Beneficiary>,
    #[serde(rename = "_links")]
    pub links: BeneficiariesLinks,
}

/// STET PaymentCoverageRequestResource (POST /funds-confirmations body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentCoverageRequestResource {
    #[serde(rename = "paymentCoverageRequestId")]
    pub payment_coverage_request_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee: Option<String>,
    #[serde(rename = "instructedAmount")]
    pub instructed_amount: AmountType,
    #[serde(rename = "accountId")]
    pub account_id: AccountIdentification,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentCoverageReportLinks {
    #[serde(rename = "self")]
    pub self_: GenericLink,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HalPaymentCoverageReport {
    pub request: PaymentCoverageRequestResource,
    pub result: bool,
    #[serde(rename = "_links")]
    pub links: PaymentCoverageReportLinks,
}

/// STET Access (PUT /consents body), as sent on the wire. [`crate::parse_access`] validates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub balances: Vec<AccountIdentification>,
    pub transactions: Vec<AccountIdentification>,
    #[serde(rename = "trustedBeneficiaries")]
    pub trusted_beneficiaries: bool,
    #[serde(rename = "psuIdentity")]
    pub psu_identity: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Amount;

    #[test]
    fn an_account_without_optional_fields_writes_no_null() {
        let account = AccountResource {
            resource_id: None,
            bic_fi: None,
            account_id: Some(AccountIdentification {
                iban: Some("FR7617515900000400358074026".into()),
                other: None,
                currency: Some("EUR".into()),
            }),
            name: "Compte de Claire".into(),
            details: None,
            linked_account: None,
            usage: Some("PRIV".into()),
            company: None,
            cash_account_type: "CACC".into(),
            product: None,
            balances: None,
            psu_status: None,
            links: AccountLinks::default(),
        };
        let json = serde_json::to_string(&account).unwrap_or_default();
        assert!(!json.contains("null"), "{json}");
        assert!(
            json.contains(r#""accountId":{"iban":"FR7617515900000400358074026","currency":"EUR"}"#)
        );
        assert!(json.contains(r#""_links":{}"#));
    }

    #[test]
    fn transactions_use_the_1_4_2_remittance_object() {
        let tx = Transaction {
            resource_id: None,
            entry_reference: Some("AF5T2".into()),
            transaction_amount: AmountType {
                currency: "EUR".into(),
                amount: Amount::from_minor(1225),
            },
            credit_debit_indicator: "CRDT".into(),
            status: "BOOK".into(),
            expected_booking_date: None,
            booking_date: Some("2018-02-12".into()),
            value_date: None,
            transaction_date: None,
            bank_transaction_code: None,
            remittance_information: Some(RemittanceInformation {
                unstructured: vec!["SEPA CREDIT TRANSFER from PSD2Company".into()],
                structured: vec![],
            }),
            additional_transaction_information: None,
        };
        let json = serde_json::to_value(&tx).unwrap_or_default();
        assert_eq!(json["transactionAmount"]["amount"], "12.25");
        assert_eq!(
            json["remittanceInformation"],
            serde_json::json!({"unstructured": ["SEPA CREDIT TRANSFER from PSD2Company"]})
        );
    }
}
