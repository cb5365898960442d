//! GET /accounts.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use guichet_stet::model::{
    AccountIdentification, AccountLinks, AccountResource, BalanceResource, GenericIdentification,
    HalAccounts, PsuContextLinks,
};
use guichet_store::{AccountRecord, BalanceRecord, ConsentRecord, Operation};

use super::{ais_psu, amount, consent_of, json, no_content};
use crate::auth::GrantWithAccounts;
use crate::error::ApiResult;
use crate::limits::{self, AisMethod};
use crate::links;
use crate::state::{CurrentBank, SharedState};

/// Portal, "Get accounts list": before any PUT /consents, or once every account has been
/// revoked, the eligible accounts are listed "without balances, URI or resourceID". Once a
/// consent names accounts, each named account gets its resourceId, the accounting balance if it
/// is in `balances`, a `balances` link if it is in `balances`, a `transactions` link if it is in
/// `transactions`; `psuIdentity: true` adds the top-level `endUserIdentity` link.
pub async fn list(
    State(state): State<SharedState>,
    CurrentBank(bank): CurrentBank,
    GrantWithAccounts { grant, accounts }: GrantWithAccounts,
    headers: HeaderMap,
) -> ApiResult<Response> {
    ais_psu(&state, &grant).await?;
    // Each account with its accounting balance, read with the token; the balance is shown only
    // where the consent grants it.
    let accounts: Vec<(AccountRecord, Option<BalanceRecord>)> = accounts
        .into_iter()
        .filter(|(account, _)| account.eligible)
        .collect();
    let consent = consent_of(&grant);
    let allowance = limits::spend(&state, &bank, &grant, &headers, "", AisMethod::Accounts).await?;
    if accounts.is_empty() {
        return Ok(no_content(allowance));
    }
    let active = consent.as_ref().filter(|c| c.grants_any_account());
    let body = HalAccounts {
        accounts: accounts
            .iter()
            .map(|(account, clbd)| resource(account, &bank.profile.bic, active, clbd.as_ref()))
            .collect(),
        links: PsuContextLinks {
            self_: links::accounts(),
            end_user_identity: consent
                .as_ref()
                .filter(|c| c.psu_identity && bank.profile.end_user_identity)
                .map(|_| links::end_user_identity()),
            beneficiaries: consent
                .as_ref()
                .filter(|c| c.trusted_beneficiaries && bank.profile.trusted_beneficiaries)
                .map(|_| links::beneficiaries()),
            first: None,
            last: None,
            next: None,
            prev: None,
        },
    };
    json(StatusCode::OK, &body, allowance)
}

fn resource(
    account: &AccountRecord,
    bic: &str,
    consent: Option<&ConsentRecord>,
    clbd: Option<&BalanceRecord>,
) -> AccountResource {
    let id = account.resource_id.as_str();
    let granted = |op| consent.is_some_and(|c| c.allows(id, op));
    let covered = consent.is_some_and(|c| c.covers(id));
    AccountResource {
        resource_id: covered.then(|| id.to_owned()),
        bic_fi: Some(bic.to_owned()),
        account_id: Some(AccountIdentification {
            iban: Some(account.iban.clone()),
            other: None,
            currency: Some(account.currency.clone()),
        }),
        name: account.name.clone(),
        details: account.details.clone(),
        linked_account: None,
        usage: account.usage.clone(),
        company: account
            .company_id
            .clone()
            .map(|identification| GenericIdentification {
                identification,
                scheme_name: account
                    .company_scheme
                    .clone()
                    .unwrap_or_else(|| "SREN".into()),
                issuer: None,
            }),
        cash_account_type: account.cash_account_type.clone(),
        product: account.product.clone(),
        balances: clbd.filter(|_| granted(Operation::Balances)).map(|b| {
            vec![BalanceResource {
                name: b.name.clone(),
                balance_amount: amount(b.amount_minor, &b.currency),
                balance_type: b.balance_type.clone(),
                last_change_date_time: None,
                reference_date: b.reference_date.clone(),
                last_committed_transaction: None,
            }]
        }),
        psu_status: account.psu_status.clone(),
        links: AccountLinks {
            balances: granted(Operation::Balances).then(|| links::balances(id)),
            transactions: granted(Operation::Transactions).then(|| links::transactions(id)),
        },
    }
}
