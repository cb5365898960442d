//! The aggregated picture: balances per account and bank, the total position, income and
//! spending over a period, where the money went by kind of operation, and the balance over
//! time — as a table and as a self-contained HTML page with SVG charts.

mod category;
mod chart;
mod render;

use std::collections::BTreeMap;

use askama::Template;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::error::TppError;
use crate::export::{Operation, operations, parse_day};
use crate::store::{LocalAccount, LocalStore};

pub use self::category::{Category, CategoryTotal, breakdown, categorize};
pub use self::chart::{
    Chart, Dot, Line, Series, Tick, amount_axis, amount_label, balance_chart, dated_ticks,
    nice_step,
};
pub use self::render::{charts, html, money, table, try_html};

/// The longest period a report covers: ten years of days.
pub const MAX_DAYS: usize = 3660;

/// The currency of the charts, the income, the spending and the categories.
pub const CHART_CURRENCY: &str = "EUR";

/// One account's balance at the end of each day of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountHistory {
    pub iban: String,
    pub name: String,
    /// One per day of [`Report::history`].
    pub balances: Vec<Decimal>,
}

/// One bank: its accounts' position and when it was last synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankPosition {
    pub code: String,
    /// From the configuration, when the caller gave it.
    pub name: Option<String>,
    /// When the bank was last synced: a time (`2026-11-24 09:13 Europe/Paris`) when the caller
    /// gave it, else the day the store keeps.
    pub last_sync: Option<String>,
    /// The accounting balances of its accounts, per currency.
    pub totals: BTreeMap<String, Decimal>,
    /// Its EUR accounts with a synced balance, day by day.
    pub accounts: Vec<AccountHistory>,
    /// The total of those accounts at the end of each day of [`Report::history`].
    pub history: Vec<Decimal>,
    /// Its operations not booked yet (STET OTHR, PDNG), in no balance.
    pub pending: usize,
}

impl BankPosition {
    /// The bank's name and code, e.g. `Caisse d'Epargne (17515)`, or its code alone.
    pub fn title(&self) -> String {
        match &self.name {
            Some(name) if !name.trim().is_empty() => format!("{name} ({})", self.code),
            _ => self.code.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub from: Date,
    /// Excluded.
    pub to: Date,
    pub accounts: Vec<LocalAccount>,
    /// Total of the accounting balances, per currency.
    pub totals: BTreeMap<String, Decimal>,
    /// Booked credits and debits within the period (EUR operations).
    pub income: Decimal,
    pub spending: Decimal,
    /// The total balance at the end of each day of the period, rebuilt from the synced
    /// balances and the booked operations (EUR accounts with a synced balance).
    pub history: Vec<(Date, Decimal)>,
    /// The customer the report is for, when the caller gave the name.
    pub customer: Option<String>,
    /// When the report was made, as shown.
    pub generated: Option<String>,
    /// One per bank with a synced account, by code.
    pub banks: Vec<BankPosition>,
    /// Booked EUR operations of the period by category, every category in
    /// [`Category::ALL`]'s order.
    pub categories: Vec<CategoryTotal>,
}

/// What a report is about, beyond what the store keeps.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub from: Date,
    /// Excluded.
    pub to: Date,
    /// The customer's name: the store keeps none.
    pub customer: Option<String>,
    /// Bank code → name, from the configuration.
    pub bank_names: BTreeMap<String, String>,
    /// Bank code → time of its last successful sync ([`build_with`] reads it from the store
    /// for the banks missing here).
    pub last_sync: BTreeMap<String, Timestamp>,
    /// Bank code → day of its last successful sync, for the banks missing from `last_sync`.
    pub last_sync_days: BTreeMap<String, Date>,
    /// Where times are shown: the banks' own time zone, e.g. `Europe/Paris`.
    pub time_zone: TimeZone,
    /// When the report is made.
    pub generated: Option<Timestamp>,
}

impl ReportOptions {
    /// A report of `[from, to)` with nothing else known, times in UTC.
    pub fn new(from: Date, to: Date) -> ReportOptions {
        ReportOptions {
            from,
            to,
            customer: None,
            bank_names: BTreeMap::new(),
            last_sync: BTreeMap::new(),
            last_sync_days: BTreeMap::new(),
            time_zone: TimeZone::UTC,
            generated: None,
        }
    }
}

/// The report of `[from, to)` from the store alone: no customer name, no bank names, times in
/// UTC.
pub async fn build(store: &LocalStore, from: Date, to: Date) -> Result<Report, TppError> {
    build_with(store, ReportOptions::new(from, to)).await
}

/// The report from the store and what the caller knows besides.
pub async fn build_with(
    store: &LocalStore,
    mut options: ReportOptions,
) -> Result<Report, TppError> {
    let accounts = store.accounts().await?;
    let transactions = store.transactions(None, None).await?;
    let mut codes: Vec<String> = accounts.iter().map(|a| a.bank.clone()).collect();
    codes.sort();
    codes.dedup();
    for code in codes {
        if options.last_sync.contains_key(&code) {
            continue;
        }
        let at = store
            .last_sync_at(&code)
            .await?
            .and_then(|seconds| Timestamp::from_second(seconds).ok());
        if let Some(at) = at {
            options.last_sync.insert(code, at);
        } else if let Some(day) = store
            .last_sync_day(&code)
            .await?
            .as_deref()
            .and_then(parse_day)
        {
            options.last_sync_days.entry(code).or_insert(day);
        }
    }
    Ok(compute(accounts, &operations(&transactions), &options))
}

/// `2026-11-24 09:13 Europe/Paris`.
pub fn format_time(at: Timestamp, time_zone: &TimeZone) -> String {
    let local = time_zone.to_datetime(at);
    let zone = time_zone
        .iana_name()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("UTC{}", time_zone.to_offset(at)));
    format!(
        "{} {:02}:{:02} {zone}",
        local.date(),
        local.hour(),
        local.minute()
    )
}

/// The days of `[from, to)`, at most [`MAX_DAYS`].
pub fn period_days(from: Date, to: Date) -> Vec<Date> {
    let mut days = Vec::new();
    let mut day = from;
    while day < to && days.len() < MAX_DAYS {
        days.push(day);
        day = match day.checked_add(1.day()) {
            Ok(next) => next,
            Err(_) => break,
        };
    }
    days
}

fn sum(values: impl Iterator<Item = Decimal>) -> Decimal {
    values.fold(Decimal::ZERO, Decimal::saturating_add)
}

/// An account's balance at the end of each of `days`: the synced accounting balance less the
/// booked operations of later days.
pub fn account_history(
    balance: Decimal,
    booked: &[(Date, Decimal)],
    days: &[Date],
) -> Vec<Decimal> {
    days.iter()
        .map(|day| {
            let later = sum(booked.iter().filter(|(d, _)| d > day).map(|(_, a)| *a));
            balance.saturating_sub(later)
        })
        .collect()
}

/// The report, from the accounts and operations of the store: no input or output.
pub fn compute(
    accounts: Vec<LocalAccount>,
    operations: &[Operation],
    options: &ReportOptions,
) -> Report {
    let (from, to) = (options.from, options.to);
    let days = period_days(from, to);
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for account in &accounts {
        if let Some(balance) = account.balance {
            let total = totals.entry(account.currency.clone()).or_default();
            *total = total.saturating_add(balance);
        }
    }
    let in_period = |op: &&Operation| {
        op.is_booked()
            && op.currency == CHART_CURRENCY
            && op.date().is_some_and(|day| day >= from && day < to)
    };
    let income = sum(operations
        .iter()
        .filter(in_period)
        .filter(|op| op.amount > Decimal::ZERO)
        .map(|op| op.amount));
    let spending = sum(operations
        .iter()
        .filter(in_period)
        .filter(|op| op.amount < Decimal::ZERO)
        .map(|op| -op.amount));

    let mut banks: Vec<BankPosition> = Vec::new();
    for account in &accounts {
        let position = match banks.iter_mut().position(|b| b.code == account.bank) {
            Some(index) => &mut banks[index],
            None => {
                banks.push(new_position(&account.bank, operations, options, days.len()));
                let last = banks.len() - 1;
                &mut banks[last]
            }
        };
        if let Some(balance) = account.balance {
            let total = position.totals.entry(account.currency.clone()).or_default();
            *total = total.saturating_add(balance);
            if account.currency == CHART_CURRENCY {
                let booked: Vec<(Date, Decimal)> = operations
                    .iter()
                    .filter(|op| {
                        op.is_booked() && op.bank == account.bank && op.iban == account.iban
                    })
                    .filter_map(|op| op.date().map(|day| (day, op.amount)))
                    .collect();
                let balances = account_history(balance, &booked, &days);
                for (total, value) in position.history.iter_mut().zip(&balances) {
                    *total = total.saturating_add(*value);
                }
                position.accounts.push(AccountHistory {
                    iban: account.iban.clone(),
                    name: account.name.clone(),
                    balances,
                });
            }
        }
    }
    banks.sort_by(|a, b| a.code.cmp(&b.code));
    let history = days
        .iter()
        .enumerate()
        .map(|(index, day)| {
            let total = sum(banks.iter().filter_map(|b| b.history.get(index).copied()));
            (*day, total)
        })
        .collect();
    Report {
        from,
        to,
        accounts,
        totals,
        income,
        spending,
        history,
        customer: options
            .customer
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned),
        generated: options
            .generated
            .map(|at| format_time(at, &options.time_zone)),
        banks,
        categories: breakdown(operations, CHART_CURRENCY, from, to),
    }
}

fn new_position(
    code: &str,
    operations: &[Operation],
    options: &ReportOptions,
    days: usize,
) -> BankPosition {
    let last_sync = match options.last_sync.get(code) {
        Some(at) => Some(format_time(*at, &options.time_zone)),
        None => options.last_sync_days.get(code).map(Date::to_string),
    };
    BankPosition {
        code: code.to_owned(),
        name: options.bank_names.get(code).cloned(),
        last_sync,
        totals: BTreeMap::new(),
        accounts: Vec::new(),
        history: vec![Decimal::ZERO; days],
        pending: operations
            .iter()
            .filter(|op| op.bank == code && !op.is_booked())
            .count(),
    }
}

#[cfg(test)]
mod tests;
