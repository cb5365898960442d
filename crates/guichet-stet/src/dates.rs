//! The `dateFrom` / `dateTo` query parameters of GET /transactions.
//!
//! Portal, "Get transactions history": "The date format for dateFrom et dateTo is based on
//! ISO 8601 standards with the three following allowed formats:
//! YYYY-MM-DDTHH:MM:SS.SSS or YYYY-MM-DDTHH:MM:SS.SSSZ, YYYY-MM-DDTHH:MM:SS.SSS+HHMM,
//! YYYY-MM-DDTHH:MM:SS.SSS+HH:MM". Nothing else is accepted.

use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};

use crate::Invalid;
use crate::error::truncate;

/// A parsed date bound. Without an offset the time is the bank's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateBound {
    local: DateTime,
    offset: Option<Offset>,
}

impl DateBound {
    pub fn parse(text: &str) -> Result<DateBound, Invalid> {
        let refuse = || {
            Invalid::new(format!(
                "'{}' is not one of the accepted formats YYYY-MM-DDTHH:MM:SS.SSS[Z|+HHMM|+HH:MM]",
                truncate(text)
            ))
        };
        if !text.is_ascii() || text.len() < 23 {
            return Err(refuse());
        }
        let (head, suffix) = text.split_at(23);
        let b = head.as_bytes();
        let digits_at = |positions: &[usize]| positions.iter().all(|&i| b[i].is_ascii_digit());
        let shape = digits_at(&[0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22])
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b'.';
        if !shape {
            return Err(refuse());
        }
        let number = |range: std::ops::Range<usize>| -> i32 {
            head[range]
                .bytes()
                .fold(0, |acc, d| acc * 10 + i32::from(d - b'0'))
        };
        let offset = match suffix.as_bytes() {
            [] => None,
            [b'Z'] => Some(Offset::UTC),
            [sign @ (b'+' | b'-'), h1, h2, m1, m2]
            | [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
                if [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) =>
            {
                let hours = i32::from((h1 - b'0') * 10 + (h2 - b'0'));
                let minutes = i32::from((m1 - b'0') * 10 + (m2 - b'0'));
                if hours > 23 || minutes > 59 {
                    return Err(refuse());
                }
                let seconds = (hours * 3600 + minutes * 60) * if *sign == b'-' { -1 } else { 1 };
                Some(Offset::from_seconds(seconds).map_err(|_| refuse())?)
            }
            _ => return Err(refuse()),
        };
        let local = DateTime::new(
            i16::try_from(number(0..4)).map_err(|_| refuse())?,
            i8::try_from(number(5..7)).map_err(|_| refuse())?,
            i8::try_from(number(8..10)).map_err(|_| refuse())?,
            i8::try_from(number(11..13)).map_err(|_| refuse())?,
            i8::try_from(number(14..16)).map_err(|_| refuse())?,
            i8::try_from(number(17..19)).map_err(|_| refuse())?,
            number(20..23) * 1_000_000,
        )
        .map_err(|_| {
            Invalid::new(format!(
                "'{}' is not a valid calendar date and time",
                truncate(text)
            ))
        })?;
        Ok(DateBound { local, offset })
    }

    /// The calendar day of this bound in the bank's time zone. Booking dates are days, so the
    /// filters compare days: `dateFrom` keeps that day, `dateTo` excludes it.
    pub fn day_in(&self, bank_zone: &TimeZone) -> Result<Date, Invalid> {
        match self.offset {
            None => Ok(self.local.date()),
            Some(offset) => {
                let instant = offset
                    .to_timestamp(self.local)
                    .map_err(|_| Invalid::new("date out of range"))?;
                Ok(bank_zone.to_datetime(instant).date())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC)
    }

    #[test]
    fn the_three_portal_formats_are_accepted() {
        for text in [
            "2026-11-01T00:00:00.000",
            "2026-11-01T00:00:00.000Z",
            "2026-11-01T00:00:00.000+0100",
            "2026-11-01T00:00:00.000+01:00",
            "2026-11-01T00:00:00.000-05:30",
        ] {
            assert!(DateBound::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn other_iso_forms_are_refused() {
        for text in [
            "2026-11-01",
            "2026-11-01T00:00:00",
            "2026-11-01T00:00:00Z",
            "2026-11-01T00:00:00.00Z",
            "2026-11-01 00:00:00.000",
            "2026-11-01T00:00:00.000 01:00",
            "2026-11-01T00:00:00.000+1:00",
            "2026-11-01T00:00:00.000+01",
            "2026-02-30T00:00:00.000",
            "2026-11-01T24:00:00.000",
            "2026-11-01T00:00:00.000+25:00",
            "2026-11-01T00:00:00.0000",
        ] {
            assert!(DateBound::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn the_day_is_taken_in_the_bank_time_zone() -> Result<(), Invalid> {
        let utc_evening = DateBound::parse("2026-10-31T23:30:00.000Z")?;
        assert_eq!(
            utc_evening.day_in(&paris())?,
            jiff::civil::date(2026, 11, 1)
        );
        let local = DateBound::parse("2026-10-31T23:30:00.000")?;
        assert_eq!(local.day_in(&paris())?, jiff::civil::date(2026, 10, 31));
        let offset = DateBound::parse("2026-11-01T00:30:00.000+02:00")?;
        assert_eq!(offset.day_in(&paris())?, jiff::civil::date(2026, 10, 31));
        Ok(())
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,40}") {
            let _ = DateBound::parse(&text);
        }

        #[test]
        fn near_misses_never_panic(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}(Z|[+-][0-9]{2}:?[0-9]{2})?") {
            if let Ok(bound) = DateBound::parse(&text) {
                let _ = bound.day_in(&TimeZone::UTC);
            }
        }

        #[test]
        fn every_valid_bound_is_accepted(y in 1970i16..2100, mo in 1i8..=12, d in 1i8..=28, h in 0i8..24, mi in 0i8..60, s in 0i8..60, ms in 0i32..1000, off in -14i32..=14) {
            let sign = if off < 0 { '-' } else { '+' };
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}{sign}{:02}:00", off.abs());
            prop_assert!(DateBound::parse(&text).is_ok());
        }
    }
}
