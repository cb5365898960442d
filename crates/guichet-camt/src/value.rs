//! The ISO 20022 simple types the model holds, parsed from an element's text. Each parser
//! says what is wrong in a message that quotes the value; the reader adds where.

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::error::shorten;
use crate::model::CreditDebit;

#[cfg(test)]
mod tests;

/// How much of a wrong value a message quotes.
const QUOTED: usize = 40;

/// `ActiveOrHistoricCurrencyAndAmount`: an unsigned `xs:decimal` (`12.50`, `+3`, `.5`); the
/// direction is the `CdtDbtInd` beside it.
pub(crate) fn parse_amount(text: &str) -> Result<Decimal, String> {
    let not_an_amount = || format!("'{}' is not an amount", shorten(text, QUOTED));
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !digits(whole) || !digits(fraction) {
        return Err(not_an_amount());
    }
    let whole = if whole.is_empty() { "0" } else { whole };
    let normal = if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    };
    let value = Decimal::from_str_exact(&normal).map_err(|_| {
        format!(
            "'{}' is not an amount (too many digits)",
            shorten(text, QUOTED)
        )
    })?;
    if negative && !value.is_zero() {
        return Err(format!(
            "'{}' is a negative amount: camt amounts are unsigned, CdtDbtInd gives the direction",
            shorten(text, QUOTED)
        ));
    }
    Ok(value)
}

/// `ActiveOrHistoricCurrencyCode`: `[A-Z]{3}`.
pub(crate) fn parse_currency(text: &str) -> Result<String, String> {
    if text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "'{}' is not a currency code (3 capital letters, like EUR)",
            shorten(text, QUOTED)
        ))
    }
}

/// `ISODate` (`2024-03-05`, with an optional offset) or the date of an `ISODateTime`
/// (`2024-03-05T17:30:00+01:00`): the first ten characters are the date.
pub(crate) fn parse_date(text: &str) -> Result<Date, String> {
    let not_a_date = || {
        format!(
            "'{}' is not an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDThh:mm:ss)",
            shorten(text, QUOTED)
        )
    };
    let bytes = text.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(not_a_date());
    }
    let number = |range: std::ops::Range<usize>| -> Option<i16> {
        let part = &bytes[range];
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            part.iter()
                .fold(0i16, |n, digit| n * 10 + i16::from(digit - b'0')),
        )
    };
    let rest_is_time_or_offset = matches!(bytes.get(10), None | Some(b'T' | b'Z' | b'+' | b'-'));
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return Err(not_a_date());
    };
    if !rest_is_time_or_offset {
        return Err(not_a_date());
    }
    let (Ok(month), Ok(day)) = (i8::try_from(month), i8::try_from(day)) else {
        return Err(not_a_date());
    };
    Date::new(year, month, day)
        .map_err(|_| format!("'{}' is not a date of the calendar", shorten(text, QUOTED)))
}

/// `ISODateTime`, checked to start with a date; kept as written, since it may or may not
/// carry an offset.
pub(crate) fn check_date_time(text: &str) -> Result<String, String> {
    parse_date(text).map(|_| text.to_owned())
}

/// `CreditDebitCode`: `CRDT` or `DBIT`.
pub(crate) fn parse_credit_debit(text: &str) -> Result<CreditDebit, String> {
    match text {
        "CRDT" => Ok(CreditDebit::Credit),
        "DBIT" => Ok(CreditDebit::Debit),
        _ => Err(format!(
            "'{}' is not a credit/debit indicator (CRDT or DBIT)",
            shorten(text, QUOTED)
        )),
    }
}

/// `TrueFalseIndicator`: an `xs:boolean`.
pub(crate) fn parse_indicator(text: &str) -> Result<bool, String> {
    match text {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!(
            "'{}' is not an indicator (true or false)",
            shorten(text, QUOTED)
        )),
    }
}

/// `Number` as a sequence number: a whole number of at most 18 digits.
pub(crate) fn parse_sequence(text: &str) -> Result<u64, String> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits
            .parse()
            .map_err(|_| format!("'{}' is not a sequence number", shorten(text, QUOTED)))
    } else {
        Err(format!(
            "'{}' is not a sequence number",
            shorten(text, QUOTED)
        ))
    }
}
