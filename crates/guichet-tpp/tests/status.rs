//! The status rules, on a fixed clock: the token's state, the 180-day countdown with its
//! 14-day warning, and the batch calls left today in the bank's time zone.

use guichet_tpp::clock::{day_in, seconds_to_midnight, zone};
use guichet_tpp::status::{SCA_VALIDITY_DAYS, SCA_WARNING_DAYS, allowance_day};
use guichet_tpp::sync::calls_left;
use guichet_tpp::{BankEndpoints, BankStatus, ScaExpiry, TokenState, Tokens};
use jiff::Timestamp;
use jiff::civil::date;

type Outcome = Result<(), Box<dyn std::error::Error>>;

const DAY: i64 = 86_400;

fn now() -> Timestamp {
    // Tuesday 24 November 2026, 10:00 in Paris.
    match "2026-11-24T09:00:00Z".parse() {
        Ok(at) => at,
        Err(e) => panic!("{e}"),
    }
}

fn tokens(access_left: i64, refresh: bool, sca_left: Option<i64>) -> Tokens {
    let at = now().as_second();
    Tokens {
        access_token: "access".into(),
        refresh_token: refresh.then(|| "refresh".to_owned()),
        expires_at: at + access_left,
        refresh_expires_at: sca_left.map(|left| at + left),
        scope: "aisp".into(),
    }
}

fn bank() -> BankEndpoints {
    BankEndpoints {
        code: "17515".into(),
        name: "Caisse d'Epargne Île-de-France".into(),
        api_base: "https://127.0.0.1:8431/stet/psd2/v1.4.2".into(),
        token_url: "https://127.0.0.1:8431/stet/psd2/oauth/token".into(),
        revoke_url: "https://127.0.0.1:8431/stet/psd2/oauth/revoke".into(),
        authorize_url: "https://127.0.0.1:8441/stet/psd2/oauth/authorize".into(),
    }
}

#[test]
fn the_token_state_follows_the_clock() {
    let sca = Some(SCA_VALIDITY_DAYS * DAY);
    assert_eq!(TokenState::of(None, now()).0, TokenState::NotLoggedIn);
    assert_eq!(
        TokenState::of(Some(&tokens(600, true, sca)), now()),
        (TokenState::Valid, None)
    );
    // The access token expired, the refresh token holds: renewed at the next call.
    assert_eq!(
        TokenState::of(Some(&tokens(-60, true, sca)), now()).0,
        TokenState::Refreshable
    );
    // Expired with nothing to refresh with.
    let (state, reason) = TokenState::of(Some(&tokens(-60, false, None)), now());
    assert_eq!(state, TokenState::ReconnectNeeded);
    assert!(reason.is_some_and(|r| r.contains("no refresh token")));
    // The 180 days are over: even a fresh-looking access token does not help.
    let (state, reason) = TokenState::of(Some(&tokens(600, true, Some(-1))), now());
    assert_eq!(state, TokenState::ReconnectNeeded);
    assert!(reason.is_some_and(|r| r.contains("180-day")));
}

#[test]
fn the_sca_countdown_warns_in_the_last_14_days() -> Outcome {
    let paris = zone("Europe/Paris")?;
    let fresh =
        ScaExpiry::of(&tokens(600, true, Some(180 * DAY)), now(), &paris).ok_or("no expiry")?;
    assert_eq!(fresh.date, date(2027, 5, 23));
    assert_eq!(fresh.days_left, 180);
    assert!(!fresh.warning && !fresh.expired);
    assert_eq!(fresh.describe(), "runs out on 2027-05-23, in 180 days");

    let fifteen =
        ScaExpiry::of(&tokens(600, true, Some(15 * DAY)), now(), &paris).ok_or("no expiry")?;
    assert_eq!(fifteen.days_left, 15);
    assert!(!fifteen.warning);
    let fourteen = ScaExpiry::of(
        &tokens(600, true, Some(SCA_WARNING_DAYS * DAY)),
        now(),
        &paris,
    )
    .ok_or("no expiry")?;
    assert_eq!(fourteen.days_left, 14);
    assert!(fourteen.warning);
    let today = ScaExpiry::of(&tokens(600, true, Some(3600)), now(), &paris).ok_or("no expiry")?;
    assert_eq!(today.days_left, 0);
    assert!(today.warning);
    assert_eq!(today.describe(), "runs out on 2026-11-24, today");
    let past = ScaExpiry::of(&tokens(-60, true, Some(-DAY)), now(), &paris).ok_or("no expiry")?;
    assert!(past.expired && !past.warning);
    assert_eq!(past.days_left, -1);
    assert_eq!(past.describe(), "ran out on 2026-11-23");
    // Without a refresh-token lifetime there is nothing to count down.
    assert!(ScaExpiry::of(&tokens(600, true, None), now(), &paris).is_none());
    Ok(())
}

#[test]
fn the_sca_day_is_the_banks_day() -> Outcome {
    // 23:30 UTC is already the next day in Paris, not yet in New York.
    let runs_out: Timestamp = "2027-05-22T23:30:00Z".parse()?;
    let t = Tokens {
        refresh_expires_at: Some(runs_out.as_second()),
        ..tokens(600, true, None)
    };
    let paris = ScaExpiry::of(&t, now(), &zone("Europe/Paris")?).ok_or("no expiry")?;
    let new_york = ScaExpiry::of(&t, now(), &zone("America/New_York")?).ok_or("no expiry")?;
    assert_eq!(paris.date, date(2027, 5, 23));
    assert_eq!(new_york.date, date(2027, 5, 22));
    Ok(())
}

#[test]
fn the_bank_status_says_what_to_do() -> Outcome {
    let paris = zone("Europe/Paris")?;
    let none = BankStatus::from_tokens(&bank(), None, now(), &paris);
    assert_eq!(none.state, "not logged in");
    assert_eq!(
        none.login_command.as_deref(),
        Some("guichet tpp login --bank 17515")
    );
    let valid = BankStatus::from_tokens(
        &bank(),
        Some(&tokens(600, true, Some(180 * DAY))),
        now(),
        &paris,
    );
    assert_eq!(valid.state, "access token valid");
    assert_eq!(valid.time_zone, "Europe/Paris");
    assert!(valid.login_command.is_none());
    assert!(!valid.describe().contains("WARNING"));
    // The bank refused the tokens (revoked at the bank): the file alone is not trusted.
    let mut refused = valid.clone();
    refused.refused("the access token was revoked");
    assert_eq!(refused.token, TokenState::ReconnectNeeded);
    assert_eq!(
        refused.state,
        "reconnect needed: run `guichet tpp login --bank 17515`"
    );
    assert!(refused.checked_with_bank);
    let soon = BankStatus::from_tokens(
        &bank(),
        Some(&tokens(600, true, Some(10 * DAY))),
        now(),
        &paris,
    );
    let text = soon.describe();
    assert!(
        text.contains("WARNING") && text.contains("2026-12-04"),
        "{text}"
    );
    let json = serde_json::to_value(&soon)?;
    assert_eq!(json["sca"]["daysLeft"], 10);
    assert_eq!(json["sca"]["warning"], true);
    assert_eq!(json["token"], "valid");
    Ok(())
}

#[test]
fn the_allowance_is_counted_per_day_in_the_banks_zone() -> Outcome {
    assert_eq!(calls_left(0, 4), 4);
    assert_eq!(calls_left(3, 4), 1);
    assert_eq!(calls_left(4, 4), 0);
    assert_eq!(calls_left(9, 4), 0, "never negative");
    assert_eq!(calls_left(-1, 4), 4, "never more than the allowance");
    let paris = zone("Europe/Paris")?;
    // 23:30 UTC on the 24th: the 25th in Paris, a fresh allowance there; still the 24th in UTC.
    let late: Timestamp = "2026-11-24T23:30:00Z".parse()?;
    assert_eq!(allowance_day(late, &paris), date(2026, 11, 25));
    assert_eq!(
        allowance_day(late, &jiff::tz::TimeZone::UTC),
        date(2026, 11, 24)
    );
    assert_eq!(day_in(now(), &paris), date(2026, 11, 24));
    // It starts again at the bank's midnight.
    assert_eq!(seconds_to_midnight(late, &paris), 23 * 3600 + 1800);
    Ok(())
}
