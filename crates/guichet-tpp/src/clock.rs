//! The TPP's clock: a bank's day and midnight in the bank's own time zone. The instant is always
//! a parameter (`now`), so that the rules can be tested on any day.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::error::TppError;

/// The time zone of a bank whose configuration names none: STET is the French banks' standard.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Paris";

/// A time zone by its IANA name (`Europe/Paris`).
pub fn zone(name: &str) -> Result<TimeZone, TppError> {
    TimeZone::get(name).map_err(|e| TppError::Local(format!("time zone {name}: {e}")))
}

/// The calendar day at `now` in `zone`.
pub fn day_in(now: Timestamp, zone: &TimeZone) -> Date {
    zone.to_datetime(now).date()
}

/// The instant a day starts in `zone` (its midnight, or the first instant after a gap).
pub fn start_of(day: Date, zone: &TimeZone) -> Option<Timestamp> {
    zone.to_timestamp(day.to_datetime(Time::midnight())).ok()
}

/// Seconds from `now` to the next midnight in `zone`: when a bank's daily batch allowance
/// starts again. Days of 23 or 25 hours (daylight saving time) are counted as they are.
pub fn seconds_to_midnight(now: Timestamp, zone: &TimeZone) -> i64 {
    day_in(now, zone)
        .tomorrow()
        .ok()
        .and_then(|tomorrow| start_of(tomorrow, zone))
        .map_or(86_400, |midnight| midnight.as_second() - now.as_second())
}

/// Whole calendar days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i64 {
    to.duration_since(from).as_secs() / 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_and_its_midnight_follow_the_zone() -> Result<(), Box<dyn std::error::Error>> {
        let paris = zone("Europe/Paris")?;
        // 23:30 UTC on 24 November is already the 25th in Paris (UTC+1).
        let now: Timestamp = "2026-11-24T23:30:00Z".parse()?;
        assert_eq!(day_in(now, &paris), jiff::civil::date(2026, 11, 25));
        assert_eq!(day_in(now, &TimeZone::UTC), jiff::civil::date(2026, 11, 24));
        // Midnight of the 26th in Paris is 23:00 UTC on the 25th.
        assert_eq!(seconds_to_midnight(now, &paris), 23 * 3600 + 1800);
        assert_eq!(seconds_to_midnight(now, &TimeZone::UTC), 1800);
        Ok(())
    }

    #[test]
    fn the_day_clocks_go_forward_has_23_hours() -> Result<(), Box<dyn std::error::Error>> {
        let paris = zone("Europe/Paris")?;
        // 29 March 2026: 02:00 becomes 03:00 in Paris. From midnight (23:00 UTC the 28th)
        // to the next midnight (22:00 UTC the 29th): 23 hours.
        let midnight: Timestamp = "2026-03-28T23:00:00Z".parse()?;
        assert_eq!(seconds_to_midnight(midnight, &paris), 23 * 3600);
        Ok(())
    }

    #[test]
    fn days_between_counts_calendar_days() {
        let a = jiff::civil::date(2026, 11, 24);
        let b = jiff::civil::date(2027, 5, 23);
        assert_eq!(days_between(a, b), 180);
        assert_eq!(days_between(b, a), -180);
        assert_eq!(days_between(a, a), 0);
    }
}
