//! Daily figures from the recorded minutes: pure, no I/O.
//!
//! **Downtime** (EBA/GL/2018/07 guideline 2.4: the interface is down "when five consecutive
//! requests ... are not replied to within a total timeout of 30 seconds", a server error
//! counting as no reply). Runs of failures are followed per server instance, in its arrival
//! order, across minutes (the trailing failures of a minute, the minutes where every call
//! failed, the leading failures of the next minute), both among all the instance's calls (the
//! `ALL` rows) and among the calls of each category (so that a PIS outage is not hidden by AIS
//! calls that still succeed). A run of at least [`FAILURES_FOR_DOWNTIME`] failures makes the
//! interface down from the minute of its first failure until the minute of the next success:
//!
//! - when that success comes in the run's last minute, down until that minute, excluded;
//! - otherwise, down until the first later minute in which the interface answered any call
//!   successfully (any instance, any category), excluded — the run's own next success when
//!   nothing else answered before it; a run with no success after it ends with its last
//!   failure's minute, included;
//! - always at least the run's first minute.
//!
//! So a run of five failures within one minute costs that minute, and an outage from 10:00 to
//! 10:20 (every call failing, the first success at 10:20:00) costs 20 minutes, 10:00 to 10:19.
//! The down minutes of all instances and sequences are united. Down minutes inside a
//! maintenance window are planned downtime, not unplanned.
//!
//! **Other figures** count every category's calls except the minutes of maintenance windows
//! (counted apart as `maintenance_calls`): the average response time of AIS, PIS and CBPII
//! calls, and the error-response rate, calls that failed (server errors and calls answered
//! after 30 s) over all calls, OAuth token and revocation calls included.
//!
//! Days are the bank's calendar days in its time zone; a day is 1440 minutes, or 1380 and 1500
//! on the days daylight saving time starts and ends.

use std::collections::{BTreeMap, BTreeSet};

use guichet_store::MinuteRow;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use serde::Serialize;

use super::recorder::{ALL_CATEGORIES, API_VERSION, Category};
use crate::profile::MaintenanceWindow;

/// Consecutive failures that make the interface down (GL 2.4).
pub const FAILURES_FOR_DOWNTIME: i64 = 5;

/// One day of one API version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayStats {
    pub date: Date,
    pub api_version: String,
    /// 100 × (1 − unplanned downtime / the day's minutes).
    pub uptime_percent: f64,
    /// Unplanned downtime, in minutes.
    pub downtime_minutes: i64,
    /// The day's maintenance windows, in minutes.
    pub planned_downtime_minutes: i64,
    /// 1440, or 1380 / 1500 on daylight saving days.
    pub day_minutes: i64,
    /// Calls outside maintenance windows, every category.
    pub calls: i64,
    pub ais_calls: i64,
    pub pis_calls: i64,
    pub cbpii_calls: i64,
    pub oauth_calls: i64,
    /// Average response time in milliseconds; `None` without calls.
    pub ais_avg_ms: Option<f64>,
    pub pis_avg_ms: Option<f64>,
    pub cbpii_avg_ms: Option<f64>,
    /// Answered with a 5xx.
    pub server_errors: i64,
    /// Answered after 30 s without a server error.
    pub slow_calls: i64,
    /// Answered with a 4xx.
    pub client_errors: i64,
    /// 100 × (server errors + slow calls) / calls; 0 without calls.
    pub error_rate_percent: f64,
    /// 100 × client errors / calls; 0 without calls.
    pub client_error_rate_percent: f64,
    /// Calls in the maintenance windows, left out of the figures above.
    pub maintenance_calls: i64,
}

/// A period (a quarter) of one API version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub api_version: String,
    pub first_day: Date,
    pub last_day: Date,
    pub days: i64,
    pub minutes: i64,
    /// 100 × (1 − unplanned downtime / the period's minutes).
    pub uptime_percent: f64,
    pub downtime_minutes: i64,
    pub planned_downtime_minutes: i64,
    pub calls: i64,
    pub ais_calls: i64,
    pub pis_calls: i64,
    pub cbpii_calls: i64,
    pub oauth_calls: i64,
    pub ais_avg_ms: Option<f64>,
    pub pis_avg_ms: Option<f64>,
    pub cbpii_avg_ms: Option<f64>,
    pub server_errors: i64,
    pub slow_calls: i64,
    pub client_errors: i64,
    pub error_rate_percent: f64,
    pub client_error_rate_percent: f64,
    pub maintenance_calls: i64,
}

/// A span of time, `[start, end)` in Unix seconds.
type Span = (i64, i64);

/// Sorts and unites spans.
fn unite(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|(start, end)| start < end);
    spans.sort_unstable();
    let mut united: Vec<Span> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match united.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => united.push((start, end)),
        }
    }
    united
}

/// The common part of two united span lists.
fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let (mut i, mut j) = (0, 0);
    let mut common = Vec::new();
    while let (Some(&(a_start, a_end)), Some(&(b_start, b_end))) = (a.get(i), b.get(j)) {
        let (start, end) = (a_start.max(b_start), a_end.min(b_end));
        if start < end {
            common.push((start, end));
        }
        if a_end < b_end {
            i += 1;
        } else {
            j += 1;
        }
    }
    common
}

fn length(spans: &[Span]) -> i64 {
    spans.iter().map(|(start, end)| end - start).sum()
}

fn weekday(name: &str) -> Option<Weekday> {
    Some(match name.to_ascii_lowercase().as_str() {
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

/// The bank's calendar day `date`, in Unix seconds.
fn day_span(date: Date, zone: &TimeZone) -> Option<Span> {
    let start = zone.to_timestamp(date.to_datetime(Time::midnight())).ok()?;
    let next = date.tomorrow().ok()?;
    let end = zone.to_timestamp(next.to_datetime(Time::midnight())).ok()?;
    Some((start.as_second(), end.as_second()))
}

/// The window on `date`, if it falls on that weekday.
fn window_span(window: &MaintenanceWindow, date: Date, zone: &TimeZone) -> Option<Span> {
    if weekday(&window.weekday)? != date.weekday() {
        return None;
    }
    let start: Time = window.start.parse().ok()?;
    let end: Time = window.end.parse().ok()?;
    let start = zone.to_timestamp(date.to_datetime(start)).ok()?;
    let end = zone.to_timestamp(date.to_datetime(end)).ok()?;
    let span = (start.as_second(), end.as_second());
    (span.0 < span.1).then_some(span)
}

/// A run of consecutive failures of one sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// The minute of its first failure.
    first: i64,
    /// The minute of its last failure.
    last: i64,
    /// The minute of the success that ended it, if any.
    ended_by: Option<i64>,
}

/// The runs of at least [`FAILURES_FOR_DOWNTIME`] failures of one sequence (one instance, one
/// category or `ALL`), its minutes in time order.
/// The longest silence a run of failures bridges.
const RUN_GAP_SECONDS: i64 = 15 * 60;

fn long_runs(sequence: &[&MinuteRow]) -> Vec<Run> {
    let mut runs = Vec::new();
    let (mut count, mut first, mut last) = (0_i64, 0_i64, 0_i64);
    for row in sequence {
        if row.calls <= 0 {
            continue;
        }
        let minute = row.minute;
        // Calls hours apart are not "consecutive" in GL 2.4's sense: a run does not bridge a
        // quarter of an hour without a call.
        if count > 0 && count < FAILURES_FOR_DOWNTIME && minute - last > RUN_GAP_SECONDS {
            count = 0;
        }
        if row.all_failed {
            if count == 0 {
                first = minute;
            }
            count += row.calls;
            last = minute;
            continue;
        }
        if row.leading_failures > 0 {
            if count == 0 {
                first = minute;
            }
            count += row.leading_failures;
            last = minute;
        }
        if count >= FAILURES_FOR_DOWNTIME {
            runs.push(Run {
                first,
                last,
                ended_by: Some(minute),
            });
        }
        // A run inside the minute (it may be the leading or trailing one again: no harm).
        if row.max_failure_run >= FAILURES_FOR_DOWNTIME {
            runs.push(Run {
                first: minute,
                last: minute,
                ended_by: Some(minute),
            });
        }
        count = row.trailing_failures;
        first = minute;
        last = minute;
    }
    if count >= FAILURES_FOR_DOWNTIME {
        runs.push(Run {
            first,
            last,
            ended_by: None,
        });
    }
    runs
}

/// The down spans of one API version of one bank, united.
fn downtime(rows: &[&MinuteRow]) -> Vec<Span> {
    // Minutes in which the interface answered at least one call successfully.
    let answered: BTreeSet<i64> = rows
        .iter()
        .filter(|r| r.calls > 0 && !r.all_failed)
        .map(|r| r.minute)
        .collect();
    let mut sequences: BTreeMap<(&str, &str, &str), Vec<&MinuteRow>> = BTreeMap::new();
    for &row in rows {
        sequences
            .entry((
                row.bank_code.as_str(),
                row.instance.as_str(),
                row.category.as_str(),
            ))
            .or_default()
            .push(row);
    }
    let mut spans = Vec::new();
    for sequence in sequences.values_mut() {
        sequence.sort_by_key(|r| r.minute);
        for run in long_runs(sequence) {
            let end = match run.ended_by {
                Some(success) if success == run.last => success,
                _ => answered
                    .range(run.last + 60..)
                    .next()
                    .copied()
                    .unwrap_or(run.last + 60),
            };
            spans.push((run.first, end.max(run.first + 60)));
        }
    }
    unite(spans)
}

/// Counts of one day of one version.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    calls: i64,
    server_errors: i64,
    slow_calls: i64,
    client_errors: i64,
    maintenance_calls: i64,
    /// Calls and microseconds per category, in [`Category::EVERY`] order.
    by_category: [(i64, i64); 4],
}

impl Counts {
    fn of(&self, category: Category) -> (i64, i64) {
        Category::EVERY
            .iter()
            .position(|c| *c == category)
            .and_then(|i| self.by_category.get(i).copied())
            .unwrap_or_default()
    }
}

fn average_ms((calls, micros): (i64, i64)) -> Option<f64> {
    if calls > 0 {
        Some(micros as f64 / calls as f64 / 1000.0)
    } else {
        None
    }
}

fn percent(part: i64, whole: i64) -> f64 {
    if whole > 0 {
        100.0 * part as f64 / whole as f64
    } else {
        0.0
    }
}

/// One bank day.
struct Day {
    date: Date,
    span: Span,
    /// Its maintenance windows, united.
    maintenance: Vec<Span>,
}

/// The daily figures of each API version found in `rows` (or of [`API_VERSION`] when there
/// are none), for each of `days`, ordered by day then version. `rows` are one bank's minutes;
/// give them from a day before the first day to a day after the last, so that runs of
/// failures crossing the period's edges are seen whole.
pub fn daily(
    rows: &[MinuteRow],
    days: &[Date],
    zone: &TimeZone,
    maintenance: &[MaintenanceWindow],
) -> Vec<DayStats> {
    let mut dates = days.to_vec();
    dates.sort_unstable();
    dates.dedup();
    let days: Vec<Day> = dates
        .into_iter()
        .filter_map(|date| {
            let span = day_span(date, zone)?;
            let windows = maintenance
                .iter()
                .filter_map(|w| window_span(w, date, zone))
                .map(|(start, end)| (start.max(span.0), end.min(span.1)))
                .collect();
            Some(Day {
                date,
                span,
                maintenance: unite(windows),
            })
        })
        .collect();
    let mut versions: BTreeSet<&str> = rows.iter().map(|r| r.api_version.as_str()).collect();
    if versions.is_empty() {
        versions.insert(API_VERSION);
    }
    let mut stats = Vec::new();
    for version in versions {
        let of_version: Vec<&MinuteRow> =
            rows.iter().filter(|r| r.api_version == version).collect();
        let down = downtime(&of_version);
        let mut counts = vec![Counts::default(); days.len()];
        for row in of_version.iter().filter(|r| r.category != ALL_CATEGORIES) {
            // Days are sorted and do not overlap: the last one starting at or before the minute.
            let index = days.partition_point(|d| d.span.0 <= row.minute);
            let Some(i) = index.checked_sub(1) else {
                continue;
            };
            let (Some(day), Some(count)) = (days.get(i), counts.get_mut(i)) else {
                continue;
            };
            if row.minute >= day.span.1 {
                continue;
            }
            if day
                .maintenance
                .iter()
                .any(|(start, end)| (*start..*end).contains(&row.minute))
            {
                count.maintenance_calls += row.calls;
                continue;
            }
            count.calls += row.calls;
            count.server_errors += row.server_errors;
            count.slow_calls += row.slow_calls;
            count.client_errors += row.client_errors;
            if let Some(i) = Category::parse(&row.category)
                .and_then(|c| Category::EVERY.iter().position(|e| *e == c))
                && let Some(slot) = count.by_category.get_mut(i)
            {
                slot.0 += row.calls;
                slot.1 += row.total_micros;
            }
        }
        for (day, count) in days.iter().zip(&counts) {
            let day_minutes = (day.span.1 - day.span.0) / 60;
            let down_today = intersect(&down, &[day.span]);
            let planned_down = intersect(&down_today, &day.maintenance);
            let downtime_minutes = (length(&down_today) - length(&planned_down)) / 60;
            let uptime_percent = if day_minutes > 0 {
                100.0 * (1.0 - downtime_minutes as f64 / day_minutes as f64)
            } else {
                100.0
            };
            let ais = count.of(Category::Ais);
            let pis = count.of(Category::Pis);
            let cbpii = count.of(Category::Cbpii);
            let oauth = count.of(Category::Oauth);
            stats.push(DayStats {
                date: day.date,
                api_version: version.to_owned(),
                uptime_percent,
                downtime_minutes,
                planned_downtime_minutes: length(&day.maintenance) / 60,
                day_minutes,
                calls: count.calls,
                ais_calls: ais.0,
                pis_calls: pis.0,
                cbpii_calls: cbpii.0,
                oauth_calls: oauth.0,
                ais_avg_ms: average_ms(ais),
                pis_avg_ms: average_ms(pis),
                cbpii_avg_ms: average_ms(cbpii),
                server_errors: count.server_errors,
                slow_calls: count.slow_calls,
                client_errors: count.client_errors,
                error_rate_percent: percent(count.server_errors + count.slow_calls, count.calls),
                client_error_rate_percent: percent(count.client_errors, count.calls),
                maintenance_calls: count.maintenance_calls,
            });
        }
    }
    stats.sort_by(|a, b| (a.date, &a.api_version).cmp(&(b.date, &b.api_version)));
    stats
}

/// The period's figures of each API version: downtime and calls add up, uptime is over the
/// period's minutes, averages are weighted by calls.
pub fn summarize(days: &[DayStats]) -> Vec<Summary> {
    let mut by_version: BTreeMap<&str, Vec<&DayStats>> = BTreeMap::new();
    for day in days {
        by_version
            .entry(day.api_version.as_str())
            .or_default()
            .push(day);
    }
    let mut summaries = Vec::new();
    for (version, days) in by_version {
        let (Some(first), Some(last)) = (
            days.iter().map(|d| d.date).min(),
            days.iter().map(|d| d.date).max(),
        ) else {
            continue;
        };
        let sum = |f: fn(&DayStats) -> i64| days.iter().copied().map(f).sum::<i64>();
        let weighted = |calls: fn(&DayStats) -> i64, avg: fn(&DayStats) -> Option<f64>| {
            let total_calls = sum(calls);
            let total_ms: f64 = days
                .iter()
                .copied()
                .filter_map(|d| avg(d).map(|ms| ms * calls(d) as f64))
                .sum();
            if total_calls > 0 {
                Some(total_ms / total_calls as f64)
            } else {
                None
            }
        };
        let minutes = sum(|d| d.day_minutes);
        let downtime_minutes = sum(|d| d.downtime_minutes);
        let calls = sum(|d| d.calls);
        let server_errors = sum(|d| d.server_errors);
        let slow_calls = sum(|d| d.slow_calls);
        let client_errors = sum(|d| d.client_errors);
        summaries.push(Summary {
            api_version: version.to_owned(),
            first_day: first,
            last_day: last,
            days: i64::try_from(days.len()).unwrap_or(i64::MAX),
            minutes,
            uptime_percent: if minutes > 0 {
                100.0 * (1.0 - downtime_minutes as f64 / minutes as f64)
            } else {
                100.0
            },
            downtime_minutes,
            planned_downtime_minutes: sum(|d| d.planned_downtime_minutes),
            calls,
            ais_calls: sum(|d| d.ais_calls),
            pis_calls: sum(|d| d.pis_calls),
            cbpii_calls: sum(|d| d.cbpii_calls),
            oauth_calls: sum(|d| d.oauth_calls),
            ais_avg_ms: weighted(|d| d.ais_calls, |d| d.ais_avg_ms),
            pis_avg_ms: weighted(|d| d.pis_calls, |d| d.pis_avg_ms),
            cbpii_avg_ms: weighted(|d| d.cbpii_calls, |d| d.cbpii_avg_ms),
            server_errors,
            slow_calls,
            client_errors,
            error_rate_percent: percent(server_errors + slow_calls, calls),
            client_error_rate_percent: percent(client_errors, calls),
            maintenance_calls: sum(|d| d.maintenance_calls),
        });
    }
    summaries
}

/// The days of a quarter, `2026Q4` (or `2026q4`): 1 October to 31 December 2026.
pub fn quarter_days(quarter: &str) -> Result<Vec<Date>, String> {
    let bad = || format!("'{quarter}' is not a quarter like 2026Q4");
    let (year, number) = quarter.trim().split_once(['Q', 'q']).ok_or_else(bad)?;
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let year: i16 = year.parse().map_err(|_| bad())?;
    let number: i8 = match number {
        "1" => 1,
        "2" => 2,
        "3" => 3,
        "4" => 4,
        _ => return Err(bad()),
    };
    let first = Date::new(year, (number - 1) * 3 + 1, 1).map_err(|e| e.to_string())?;
    let last = Date::new(year, number * 3, 1)
        .map_err(|e| e.to_string())?
        .last_of_month();
    let mut days = Vec::with_capacity(92);
    let mut day = first;
    while day <= last {
        days.push(day);
        day = day.tomorrow().map_err(|e| e.to_string())?;
    }
    Ok(days)
}

#[cfg(test)]
mod tests;
