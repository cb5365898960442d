//! GET /end-user-identity (STET 1.4.2, CR197).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use guichet_stet::model::{EndUserIdentityLinks, HalEndUserIdentity};

use super::{ais_psu, consent_of, json};
use crate::auth::Grant;
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, AisMethod};
use crate::links;
use crate::state::{CurrentBank, SharedState};

/// Portal, "Get PSU's identity": served when "the psuIdentity attribute of the PUT /consents
/// method" is true and not since revoked; acceptance test: a PSU "who has not given their
/// consent for this" gets 403.
pub async fn get(
    State(state): State<SharedState>,
    CurrentBank(bank): CurrentBank,
    grant: Grant,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let psu = ais_psu(&state, &grant).await?;
    if !bank.profile.end_user_identity {
        // Portal, Limits: "Access to customer account holder identity (first name and last
        // name) is NOT available". 403 is among the codes listed for this entry point.
        return Err(ApiError::Forbidden(format!(
            "{} does not offer the end-user identity",
            bank.profile.name
        )));
    }
    let consent = consent_of(&grant);
    if !consent.is_some_and(|c| c.psu_identity) {
        return Err(ApiError::Forbidden(
            "the PSU has not consented to share its identity (psuIdentity)".into(),
        ));
    }
    let allowance = limits::spend(
        &state,
        &bank,
        &grant,
        &headers,
        "",
        AisMethod::EndUserIdentity,
    )
    .await?;
    let record = state
        .store
        .psu(bank.code(), psu)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("PSU {psu} of a live token is unknown")))?;
    let body = HalEndUserIdentity {
        connected_psu: record.display_name,
        connected_psu_name_prefix: record.name_prefix,
        connected_psu_first_name: record.first_name,
        connected_psu_last_name: record.last_name,
        links: EndUserIdentityLinks {
            self_: links::end_user_identity(),
            parent_list: Some(links::accounts()),
        },
    };
    json(StatusCode::OK, &body, allowance)
}
