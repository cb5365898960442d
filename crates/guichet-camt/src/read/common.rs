//! Readers of the small structures that statements, balances and entries share. Each is
//! called just after its element opened and returns once it closed.

use std::io::BufRead;

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::error::Result;
use crate::tag::Tag;
use crate::value::{parse_amount, parse_currency, parse_date};
use crate::xml::XmlReader;

/// The text of a leaf, parsed; a wrong value is reported at the leaf.
pub(super) fn read_parsed<R: BufRead, T>(
    xml: &mut XmlReader<R>,
    parse: impl Fn(&str) -> std::result::Result<T, String>,
) -> Result<T> {
    let text = xml.leaf_text()?;
    parse(&text).map_err(|message| xml.error(message))
}

/// The text of a leaf, `None` when empty.
pub(super) fn read_text<R: BufRead>(xml: &mut XmlReader<R>) -> Result<Option<String>> {
    let text = xml.leaf_text()?;
    Ok(Some(text).filter(|text| !text.is_empty()))
}

/// `ActiveOrHistoricCurrencyAndAmount`: `<Amt Ccy="EUR">12.50</Amt>`, the amount and the
/// currency.
pub(super) fn read_amount<R: BufRead>(xml: &mut XmlReader<R>) -> Result<(Decimal, String)> {
    let currency = match xml.attribute("Ccy") {
        Some(code) => parse_currency(code).map_err(|message| xml.error(message))?,
        None => return Err(xml.error("an amount without its currency attribute Ccy")),
    };
    let amount = read_parsed(xml, parse_amount)?;
    Ok((amount, currency))
}

/// `DateAndDateTimeChoice` (`Bal/Dt`, `BookgDt`, `ValDt`): the date of its `Dt` or `DtTm`.
pub(super) fn read_date_choice<R: BufRead>(xml: &mut XmlReader<R>) -> Result<Option<Date>> {
    let mut date = None;
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Dt | Tag::DtTm => date = Some(read_parsed(xml, parse_date)?),
            _ => xml.skip()?,
        }
    }
    Ok(date)
}

/// The text of the first child `wanted` (like `Ownr/Nm`), other children skipped.
pub(super) fn read_child_text<R: BufRead>(
    xml: &mut XmlReader<R>,
    wanted: Tag,
) -> Result<Option<String>> {
    let mut found = None;
    while let Some(tag) = xml.child()? {
        if tag == wanted && found.is_none() {
            found = read_text(xml)?;
        } else {
            xml.skip()?;
        }
    }
    Ok(found)
}

/// A `CdOrPrtry` choice: the code of its `Cd`, or of its `Prtry` (then `true`).
pub(super) fn read_code_or_proprietary<R: BufRead>(
    xml: &mut XmlReader<R>,
) -> Result<Option<(String, bool)>> {
    let mut code = None;
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Cd => code = read_text(xml)?.map(|text| (text, false)),
            Tag::Prtry => code = read_text(xml)?.map(|text| (text, true)),
            _ => xml.skip()?,
        }
    }
    Ok(code)
}

/// Keeps the first non-empty value of a batch's transactions.
pub(super) fn keep_first(slot: &mut Option<String>, value: Option<String>) {
    if slot.is_none() {
        *slot = value;
    }
}
