//! GET /trusted-beneficiaries (CR158).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use guichet_stet::model::{
    AccountIdentification, BeneficiariesLinks, Beneficiary, FinancialInstitutionIdentification,
    HalBeneficiaries, PartyIdentification, PostalAddress,
};

use super::{ais_psu, consent_of, json, no_content};
use crate::auth::Grant;
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, AisMethod};
use crate::links;
use crate::state::{CurrentBank, SharedState};

pub async fn get(
    State(state): State<SharedState>,
    CurrentBank(bank): CurrentBank,
    grant: Grant,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let psu = ais_psu(&state, &grant).await?;
    if !bank.profile.trusted_beneficiaries {
        // Portal, Limits: "Access to the list of trusted beneficiaries ... is NOT available";
        // STET 1.4.2 lists 501 for this entry point.
        return Err(ApiError::NotImplemented(format!(
            "{} does not offer the trusted beneficiaries list",
            bank.profile.name
        )));
    }
    let consent = consent_of(&grant);
    if !consent.is_some_and(|c| c.trusted_beneficiaries) {
        return Err(ApiError::Forbidden(
            "the PSU has not consented to share its trusted beneficiaries".into(),
        ));
    }
    let allowance = limits::spend(
        &state,
        &bank,
        &grant,
        &headers,
        "",
        AisMethod::TrustedBeneficiaries,
    )
    .await?;
    let records = state.store.beneficiaries(bank.code(), psu).await?;
    if records.is_empty() {
        return Ok(no_content(allowance));
    }
    let body = HalBeneficiaries {
        beneficiaries: records
            .into_iter()
            .map(|b| Beneficiary {
                id: Some(b.beneficiary_id),
                is_trusted: Some(true),
                creditor_agent: b
                    .bic
                    .map(|bic_fi| FinancialInstitutionIdentification { bic_fi, name: None }),
                creditor: PartyIdentification {
                    name: b.name,
                    postal_address: Some(PostalAddress {
                        country: b.country,
                        address_line: vec![b.address_line],
                    }),
                    organisation_id: None,
                    private_id: None,
                },
                creditor_account: Some(AccountIdentification {
                    iban: Some(b.iban),
                    other: None,
                    currency: None,
                }),
            })
            .collect(),
        links: BeneficiariesLinks {
            self_: links::beneficiaries(),
            parent_list: Some(links::accounts()),
        },
    };
    json(StatusCode::OK, &body, allowance)
}
