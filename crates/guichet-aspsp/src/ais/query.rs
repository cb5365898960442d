//! The query string of GET /transactions, read strictly.
//!
//! Parameters are percent-decoded but a `+` stays a `+`: TPPs often send
//! `dateFrom=2026-11-01T00:00:00.000+01:00` without escaping the offset's sign.

use guichet_stet::{DateBound, Invalid};
use percent_encoding::percent_decode_str;

/// The filters of a transactions request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionFilters {
    pub date_from: Option<DateBound>,
    pub date_to: Option<DateBound>,
    /// STET 1.4.2 `entryReferenceFrom` (and the 1.4.0 `afterEntryReference`): strictly after.
    pub entry_reference_from: Option<String>,
    /// STET 1.4.2 `entryReferenceto` (and BPCE's spelling `entryReferenceTo`): up to and with.
    pub entry_reference_to: Option<String>,
    /// Guichet's page number, 1-based, where the bank paginates.
    pub page: Option<i64>,
}

const MAX_QUERY: usize = 1024;

pub fn parse(query: Option<&str>) -> Result<TransactionFilters, Invalid> {
    let mut filters = TransactionFilters::default();
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(filters);
    };
    if query.len() > MAX_QUERY {
        return Err(Invalid::new("the query string is too long"));
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(raw_name)?;
        let value = decode(raw_value)?;
        let twice = || Invalid::new(format!("the query parameter '{name}' is given twice"));
        match name.as_str() {
            "dateFrom" => set(
                &mut filters.date_from,
                DateBound::parse(&value).map_err(|e| named("dateFrom", e))?,
            )
            .map_err(|_| twice())?,
            "dateTo" => set(
                &mut filters.date_to,
                DateBound::parse(&value).map_err(|e| named("dateTo", e))?,
            )
            .map_err(|_| twice())?,
            "entryReferenceFrom" | "afterEntryReference" => set(
                &mut filters.entry_reference_from,
                entry_reference(&name, value)?,
            )
            .map_err(|_| twice())?,
            "entryReferenceto" | "entryReferenceTo" => set(
                &mut filters.entry_reference_to,
                entry_reference(&name, value)?,
            )
            .map_err(|_| twice())?,
            "page" => {
                let page = value
                    .parse::<i64>()
                    .ok()
                    .filter(|p| (1..=100_000).contains(p))
                    .ok_or_else(|| Invalid::new("'page' must be a page number from 1"))?;
                set(&mut filters.page, page).map_err(|_| twice())?
            }
            other => {
                return Err(Invalid::new(format!(
                    "unknown query parameter '{}'; accepted: dateFrom, dateTo, entryReferenceFrom, entryReferenceto",
                    guichet_stet::error::truncate(other)
                )));
            }
        }
    }
    Ok(filters)
}

fn set<T>(slot: &mut Option<T>, value: T) -> Result<(), ()> {
    if slot.is_some() {
        return Err(());
    }
    *slot = Some(value);
    Ok(())
}

fn named(name: &str, error: Invalid) -> Invalid {
    Invalid::new(format!("{name}: {}", error.0))
}

fn decode(raw: &str) -> Result<String, Invalid> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| Invalid::new("the query string is not valid UTF-8"))
}

/// STET: entryReference is at most 40 characters.
fn entry_reference(name: &str, value: String) -> Result<String, Invalid> {
    if value.is_empty() || value.chars().count() > 40 || value.chars().any(char::is_control) {
        return Err(Invalid::new(format!(
            "'{name}' must be an entryReference of 1 to 40 characters"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_stet_and_bpce_spellings_are_read() -> Result<(), Invalid> {
        let filters = parse(Some(
            "dateFrom=2026-10-01T00:00:00.000+01:00&dateTo=2026-11-01T00:00:00.000%2B01:00&entryReferenceFrom=A&entryReferenceto=B",
        ))?;
        assert!(filters.date_from.is_some() && filters.date_to.is_some());
        assert_eq!(filters.entry_reference_from.as_deref(), Some("A"));
        assert_eq!(filters.entry_reference_to.as_deref(), Some("B"));
        let aliases = parse(Some("afterEntryReference=A&entryReferenceTo=B&page=2"))?;
        assert_eq!(aliases.entry_reference_from.as_deref(), Some("A"));
        assert_eq!(aliases.entry_reference_to.as_deref(), Some("B"));
        assert_eq!(aliases.page, Some(2));
        Ok(())
    }

    #[test]
    fn mistakes_are_named() {
        for (query, expected) in [
            (
                "datefrom=2026-10-01T00:00:00.000Z",
                "unknown query parameter 'datefrom'",
            ),
            ("dateFrom=2026-10-01", "dateFrom:"),
            ("dateTo=x&dateTo=y", "dateTo:"),
            (
                "dateFrom=2026-10-01T00:00:00.000Z&dateFrom=2026-10-01T00:00:00.000Z",
                "given twice",
            ),
            ("entryReferenceFrom=A&afterEntryReference=B", "given twice"),
            ("page=0", "page"),
            ("entryReferenceFrom=", "1 to 40"),
            ("dateFrom=%FF", "UTF-8"),
        ] {
            match parse(Some(query)) {
                Ok(f) => panic!("{query} accepted as {f:?}"),
                Err(e) => assert!(e.0.contains(expected), "{query}: {}", e.0),
            }
        }
    }

    proptest! {
        #[test]
        fn any_query_string_is_answered_without_panic(query in "\\PC{0,200}") {
            let _ = parse(Some(&query));
        }

        #[test]
        fn query_shaped_strings_never_panic(
            pairs in proptest::collection::vec(("(dateFrom|dateTo|entryReferenceFrom|entryReferenceto|page|x)", "[0-9A-Za-z:.%+-]{0,30}"), 0..5)
        ) {
            let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = parse(Some(&query.join("&")));
        }
    }
}
