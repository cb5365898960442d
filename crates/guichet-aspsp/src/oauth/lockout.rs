//! The PSU's factors checked under the lockout rules (RTS art. 4(3)(d)): before a password or
//! one-time code is checked, a try is taken from the client address's allowance
//! ([`crate::throttle`]) and from the PSU's, in the database, shared by every instance
//! ([`guichet_store::Store::take_sca_try`]); concurrent guesses therefore cannot get more
//! checks than the limit. A wrong factor keeps the try as a failure, and the limit-th
//! consecutive one blocks the PSU; a right one gives the try back.

use std::net::IpAddr;

use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use guichet_store::{LockoutRule, ScaAttempt, ScaTry};

use super::pages::store_failure;
use super::steps::message_page;
use crate::conn::ClientAddr;
use crate::ops::ScaOutcome;
use crate::state::{Bank, SharedState};

/// A try being checked.
pub(super) struct Try {
    /// The PSU, or the stand-in of an unknown identifier.
    psu_key: String,
    count: i64,
    client: IpAddr,
}

/// The address the form came from.
pub(super) fn client_of(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ClientAddr>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0)
}

/// RTS art. 4(3)(d): the PSU is told that its authentication is blocked, and until when.
pub(super) fn blocked_page(bank: &Bank, attempt: &ScaAttempt, until: i64) -> Response {
    let when = jiff::Timestamp::from_second(until)
        .map(|t| {
            bank.zone
                .to_datetime(t)
                .strftime("%d/%m/%Y à %H:%M")
                .to_string()
        })
        .unwrap_or_default();
    let message = format!(
        "Après {} essais infructueux, votre authentification est bloquée jusqu'au {when}. Vous pourrez réessayer ensuite, ou contacter votre conseiller.",
        bank.profile.sca_max_failures
    );
    message_page(
        StatusCode::FORBIDDEN,
        bank,
        attempt,
        "Authentification bloquée",
        &message,
    )
}

/// Too many tries from this address (or at once): nothing is checked until the wait ends.
fn throttled_page(bank: &Bank, attempt: &ScaAttempt, wait: i64) -> Response {
    let message = format!(
        "Trop d'essais infructueux depuis votre connexion. Réessayez dans {} minute(s).",
        (wait + 59) / 60
    );
    let mut response = message_page(
        StatusCode::TOO_MANY_REQUESTS,
        bank,
        attempt,
        "Trop d'essais",
        &message,
    );
    response
        .headers_mut()
        .insert(axum::http::header::RETRY_AFTER, wait.into());
    response
}

/// Takes a try for `psu_key` from `client`, or answers the page that refuses it unchecked.
pub(super) async fn take(
    state: &SharedState,
    bank: &Bank,
    attempt: &ScaAttempt,
    client: IpAddr,
    psu_key: &str,
) -> Result<Try, Response> {
    let now = state.now().as_second();
    if let Err(wait) = state.throttle.take(client, now) {
        state.metrics.sca(bank.code(), ScaOutcome::Blocked);
        return Err(throttled_page(bank, attempt, wait));
    }
    let taken = state
        .store
        .take_sca_try(bank.code(), psu_key, now, bank.profile.sca_max_failures)
        .await;
    let refused = match taken {
        Ok(ScaTry::Granted { count }) => {
            return Ok(Try {
                psu_key: psu_key.to_owned(),
                count,
                client,
            });
        }
        Ok(ScaTry::Blocked { until }) => blocked_page(bank, attempt, until),
        Ok(ScaTry::TooMany) => throttled_page(bank, attempt, 60),
        Err(e) => {
            state.throttle.refund(client);
            return Err(store_failure(&bank.profile.name, "taking an SCA try", &e));
        }
    };
    state.throttle.refund(client);
    state.metrics.sca(bank.code(), ScaOutcome::Blocked);
    Err(refused)
}

/// The factor was wrong. Answers the tries left before the block, or the block page when this
/// failure reached the bank's limit.
pub(super) async fn failed(
    state: &SharedState,
    bank: &Bank,
    attempt: &ScaAttempt,
    taken: Try,
    factor: &str,
) -> Result<i64, Response> {
    let profile = &bank.profile;
    state.metrics.sca(bank.code(), ScaOutcome::Failure);
    let blocked = state
        .store
        .fail_sca_try(
            bank.code(),
            &taken.psu_key,
            factor,
            state.now().as_second(),
            taken.count,
            LockoutRule {
                max_failures: profile.sca_max_failures,
                block_seconds: profile.sca_block_minutes * 60,
            },
        )
        .await;
    match blocked {
        Ok(None) => Ok((profile.sca_max_failures - taken.count).max(0)),
        Ok(Some(until)) => {
            // An unknown identifier's stand-in is keyed on what was typed: never logged.
            let psu_id = if taken.psu_key.starts_with('?') {
                "(unknown identifier)"
            } else {
                taken.psu_key.as_str()
            };
            tracing::warn!(
                bank = bank.code(),
                psu_id,
                failures = taken.count,
                until,
                "PSU authentication blocked after consecutive SCA failures"
            );
            state.metrics.sca(bank.code(), ScaOutcome::Blocked);
            Err(blocked_page(bank, attempt, until))
        }
        Err(e) => Err(store_failure(
            &bank.profile.name,
            "recording an SCA failure",
            &e,
        )),
    }
}

/// The factor was right: the try is given back to the PSU and the address.
pub(super) async fn passed(state: &SharedState, bank: &Bank, taken: Try) {
    state.throttle.refund(taken.client);
    if let Err(e) = state
        .store
        .release_sca_try(bank.code(), &taken.psu_key)
        .await
    {
        tracing::error!(error = %e, "giving an SCA try back");
    }
}
