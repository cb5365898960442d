//! GET /accounts/{accountResourceId}/transactions.
//!
//! The default set, without filters (STET: "has to be specified and documented by the
//! implementation"): every operation of the account's history depth (62 days for retail and
//! small professionals, 90 for large professionals and corporates, per bank profile), most
//! recent first (booking day, then technical id), at most `max_operations` (500) per answer;
//! where the bank paginates, pages of `page_size` linked by `first`, `prev`, `next`, `last`.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use guichet_stet::model::{GenericLink, TransactionsLinks};
use guichet_store::{Operation, TransactionQuery};
use jiff::ToSpan;
use jiff::civil::Date;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::page::PageBody;
use super::query::{self, TransactionFilters};
use super::{ais_psu, consent_of, json_bytes, no_content, psu_account};
use crate::auth::{EXTENDED_HISTORY, Grant, GrantWithAccount};
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, AisMethod};
use crate::links;
use crate::state::{Bank, CurrentBank, SharedState};

pub async fn get(
    State(state): State<SharedState>,
    CurrentBank(bank): CurrentBank,
    read: GrantWithAccount,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    let grant = &read.grant;
    let psu = ais_psu(&state, grant).await?;
    let filters = query::parse(raw_query.as_deref())?;
    let account = psu_account(&read, psu)?;
    let id = account.resource_id.clone();
    let consent = consent_of(grant).unwrap_or_default();
    if !consent.allows(&id, Operation::Transactions) {
        return Err(ApiError::Forbidden(format!(
            "the PSU's consent does not cover the transactions of account '{id}'"
        )));
    }
    let window = Window::of(&bank, grant, &account.segment, &filters, state.now())?;
    let mut store_query = TransactionQuery {
        bank_code: bank.code().to_owned(),
        account_id: id.clone(),
        from_day: Some(window.from.to_string()),
        to_day: window.to.map(|d| d.to_string()),
        stamp: account.operations_stamp,
        ..TransactionQuery::default()
    };
    let entry_filters = [&filters.entry_reference_from, &filters.entry_reference_to];
    if !bank.profile.entry_reference_filters && entry_filters.iter().any(|f| f.is_some()) {
        // Portal, Limits: "as this data is issued on the spot via API, the search using
        // entryReferenceFrom and/or entryReferenceto parameters is NOT supported".
        return Err(ApiError::BadRequest(format!(
            "{} does not support entryReferenceFrom / entryReferenceto; filter with dateFrom and dateTo",
            bank.profile.name
        )));
    }
    if let Some(reference) = &filters.entry_reference_from {
        store_query.after_seq =
            Some(seq_of(&state, &bank, &id, "entryReferenceFrom", reference).await?);
    }
    if let Some(reference) = &filters.entry_reference_to {
        store_query.upto_seq =
            Some(seq_of(&state, &bank, &id, "entryReferenceto", reference).await?);
    }
    let page_size = bank
        .profile
        .page_size
        .unwrap_or(bank.profile.max_operations);
    let page = filters.page.unwrap_or(1);
    if page > 1 && bank.profile.page_size.is_none() {
        return Err(ApiError::BadRequest(format!(
            "{} does not paginate transactions",
            bank.profile.name
        )));
    }
    let allowance =
        limits::spend(&state, &bank, grant, &headers, &id, AisMethod::Transactions).await?;
    store_query.limit = page_size;
    store_query.offset = (page - 1) * page_size;
    let pending_status = bank.profile.pending_status.as_str();
    let operations = state
        .store
        .page_operations(&store_query, pending_status)
        .await?;
    if operations.count == 0 {
        return Ok(no_content(allowance));
    }
    let href = |page: i64| {
        GenericLink::to(format!(
            "{}{}",
            links::transactions(&id).href,
            canonical_query(&filters, &window, page)
        ))
    };
    let mut links = TransactionsLinks {
        self_: href(page),
        parent_list: Some(links::accounts()),
        balances: consent
            .allows(&id, Operation::Balances)
            .then(|| links::balances(&id)),
        first: None,
        last: None,
        next: None,
        prev: None,
    };
    if bank.profile.page_size.is_some() {
        let total = state.store.count_transactions(&store_query).await?;
        let last = ((total + page_size - 1) / page_size).max(1);
        links.first = Some(href(1));
        links.last = Some(href(last));
        links.prev = (page > 1).then(|| href(page - 1));
        links.next = (page < last).then(|| href(page + 1));
    }
    let body = PageBody::new(operations.json, &links);
    Ok(json_bytes(StatusCode::OK, Body::new(body), allowance))
}

/// The booking days a request covers: `from` inclusive, `to` exclusive.
struct Window {
    from: Date,
    to: Option<Date>,
    from_given: bool,
}

impl Window {
    fn of(
        bank: &Bank,
        grant: &Grant,
        segment: &str,
        filters: &TransactionFilters,
        now: jiff::Timestamp,
    ) -> ApiResult<Window> {
        let extended = bank
            .profile
            .extended_history_days
            .filter(|_| grant.token.has_scope(EXTENDED_HISTORY));
        let depth = extended.unwrap_or_else(|| bank.profile.history_days.for_segment(segment));
        let today = bank.today(now);
        let earliest = today
            .checked_sub(depth.days())
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let from = filters
            .date_from
            .map(|d| d.day_in(&bank.zone))
            .transpose()?;
        let to = filters.date_to.map(|d| d.day_in(&bank.zone)).transpose()?;
        if let Some(from) = from
            && from < earliest
        {
            // Portal acceptance test: "Request with dateFrom parameter older than 62 days
            // => Check that HTTP code 400 is returned – Period out of bound expected".
            return Err(ApiError::BadRequest(format!(
                "period out of bound: dateFrom {from} is older than the {depth} days of history ({earliest} onwards) {} gives for this account",
                bank.profile.name
            )));
        }
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            return Err(ApiError::BadRequest(format!(
                "dateTo ({to}) is before dateFrom ({from})"
            )));
        }
        Ok(Window {
            from: from.unwrap_or(earliest),
            to,
            from_given: from.is_some(),
        })
    }
}

async fn seq_of(
    state: &SharedState,
    bank: &Bank,
    account: &str,
    name: &str,
    reference: &str,
) -> ApiResult<i64> {
    state
        .store
        .seq_of_entry_reference(bank.code(), account, reference)
        .await?
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{name}: '{reference}' is not the entryReference of an operation of this account"
            ))
        })
}

/// The query of a link: the request's filters in one canonical spelling (days at local
/// midnight), so that links stay short and comparable.
fn canonical_query(filters: &TransactionFilters, window: &Window, page: i64) -> String {
    let mut params = Vec::new();
    if window.from_given {
        params.push(format!("dateFrom={}T00:00:00.000", window.from));
    }
    if let Some(to) = window.to {
        params.push(format!("dateTo={to}T00:00:00.000"));
    }
    if let Some(reference) = &filters.entry_reference_from {
        params.push(format!(
            "entryReferenceFrom={}",
            utf8_percent_encode(reference, NON_ALPHANUMERIC)
        ));
    }
    if let Some(reference) = &filters.entry_reference_to {
        params.push(format!(
            "entryReferenceto={}",
            utf8_percent_encode(reference, NON_ALPHANUMERIC)
        ));
    }
    if page > 1 {
        params.push(format!("page={page}"));
    }
    if params.is_empty() {
        String::new()
    } else {
        format!("?{}", params.join("&"))
    }
}
