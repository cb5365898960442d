//! Unit tests of the parent module.

use super::*;
use jiff::civil::date;

fn paris() -> TimeZone {
    match TimeZone::get("Europe/Paris") {
        Ok(zone) => zone,
        Err(e) => panic!("{e}"),
    }
}

/// Unix seconds of a Paris wall-clock time.
fn at(day: Date, hour: i8, minute: i8) -> i64 {
    match paris().to_timestamp(day.at(hour, minute, 0, 0)) {
        Ok(t) => t.as_second(),
        Err(e) => panic!("{e}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn row(
    instance: &str,
    category: &str,
    minute: i64,
    calls: i64,
    leading: i64,
    trailing: i64,
    max_run: i64,
    micros: i64,
) -> MinuteRow {
    let all_failed = leading == calls;
    MinuteRow {
        bank_code: "30258".into(),
        api_version: "1.4.2".into(),
        category: category.into(),
        minute,
        instance: instance.into(),
        calls,
        server_errors: if all_failed {
            calls
        } else {
            max_run.max(leading + trailing)
        },
        client_errors: 0,
        slow_calls: 0,
        total_micros: micros,
        leading_failures: leading,
        trailing_failures: trailing,
        max_failure_run: max_run,
        all_failed,
    }
}

fn monday() -> Date {
    date(2026, 11, 23)
}

fn one(stats: &[DayStats]) -> &DayStats {
    match stats {
        [day] => day,
        _ => panic!("{stats:?}"),
    }
}

#[test]
fn quarters_have_their_days() -> Result<(), String> {
    let q4 = quarter_days("2026Q4")?;
    assert_eq!(q4.len(), 92);
    assert_eq!(q4.first(), Some(&date(2026, 10, 1)));
    assert_eq!(q4.last(), Some(&date(2026, 12, 31)));
    assert_eq!(quarter_days("2028q1")?.len(), 91); // a leap year
    assert_eq!(quarter_days("2027Q1")?.len(), 90);
    assert_eq!(quarter_days("2026Q2")?.len(), 91);
    assert_eq!(quarter_days("2026Q3")?.len(), 92);
    for bad in [
        "2026Q5", "2026Q0", "26Q4", "2026-Q4", "Q4", "2026", "", "2026Q4x",
    ] {
        assert!(quarter_days(bad).is_err(), "{bad}");
    }
    Ok(())
}

#[test]
fn spans_unite_and_intersect() {
    assert_eq!(
        unite(vec![(5, 10), (0, 3), (3, 4), (9, 12), (20, 20)]),
        vec![(0, 4), (5, 12)]
    );
    assert_eq!(
        intersect(&[(0, 4), (5, 12)], &[(2, 6), (11, 30)]),
        vec![(2, 4), (5, 6), (11, 12)]
    );
    assert_eq!(length(&[(0, 4), (5, 12)]), 11);
}

#[test]
fn four_failures_are_not_downtime_and_five_are() {
    let m = at(monday(), 11, 0);
    // 4 failures then a success, within a minute.
    let rows = vec![row("a", "AIS", m, 5, 4, 0, 4, 5_000)];
    let day = one(&daily(&rows, &[monday()], &paris(), &[])).clone();
    assert_eq!(day.downtime_minutes, 0);
    assert_eq!(day.uptime_percent, 100.0);
    // 3 failures at the end of a minute, 2 at the start of the next, then a success: the
    // first minute is down.
    let rows = vec![
        row("a", "AIS", m, 4, 0, 3, 3, 4_000),
        row("a", "AIS", m + 60, 3, 2, 0, 2, 3_000),
    ];
    let day = one(&daily(&rows, &[monday()], &paris(), &[])).clone();
    assert_eq!(day.downtime_minutes, 1);
    assert_eq!(day.uptime_percent, 100.0 * (1.0 - 1.0 / 1440.0));
    // 5 failures between two successes of one minute.
    let rows = vec![row("a", "AIS", m, 7, 0, 0, 5, 7_000)];
    assert_eq!(
        one(&daily(&rows, &[monday()], &paris(), &[])).downtime_minutes,
        1
    );
}

#[test]
fn an_outage_lasts_until_the_next_success_anywhere() {
    let m = at(monday(), 10, 0);
    let mut rows = Vec::new();
    // 10:00 to 10:19 every call fails on instance a; 10:20 answers.
    for i in 0..20 {
        rows.push(row("a", "AIS", m + 60 * i, 6, 6, 6, 6, 6_000));
    }
    rows.push(row("a", "AIS", m + 20 * 60, 1, 0, 0, 0, 1_000));
    assert_eq!(
        one(&daily(&rows, &[monday()], &paris(), &[])).downtime_minutes,
        20
    );
    // On instance b, 5 CBPII failures at 10:05 then nothing: the run ends when the
    // interface answers again, at 10:20, inside a's outage.
    rows.push(row("b", "CBPII", m + 5 * 60, 5, 5, 5, 5, 5_000));
    assert_eq!(
        one(&daily(&rows, &[monday()], &paris(), &[])).downtime_minutes,
        20
    );
    // Without any later success, a run ends with its last failure's minute.
    rows.push(row("b", "PIS", m + 40 * 60, 5, 5, 5, 5, 5_000));
    assert_eq!(
        one(&daily(&rows, &[monday()], &paris(), &[])).downtime_minutes,
        21
    );
}

#[test]
fn maintenance_is_planned_downtime() {
    let window = MaintenanceWindow {
        weekday: "monday".into(),
        start: "00:00".into(),
        end: "06:00".into(),
    };
    let m = at(monday(), 5, 58);
    // Failures from 05:58 to 05:59, the next success at 06:02: 05:58-05:59 planned,
    // 06:00-06:01 unplanned.
    let rows = vec![
        row("a", "AIS", m, 3, 3, 3, 3, 3_000),
        row("a", "AIS", m + 60, 3, 3, 3, 3, 3_000),
        row("a", "AIS", m + 240, 1, 0, 0, 0, 100_000),
    ];
    let stats = daily(
        &rows,
        &[monday(), date(2026, 11, 24)],
        &paris(),
        std::slice::from_ref(&window),
    );
    let [mon, tue] = stats.as_slice() else {
        panic!("{stats:?}")
    };
    assert_eq!(mon.planned_downtime_minutes, 360);
    assert_eq!(mon.downtime_minutes, 2);
    assert_eq!(mon.maintenance_calls, 6);
    assert_eq!(mon.calls, 1);
    assert_eq!(mon.ais_avg_ms, Some(100.0));
    assert_eq!(mon.error_rate_percent, 0.0);
    assert_eq!(tue.planned_downtime_minutes, 0);
    assert_eq!(tue.calls, 0);
    assert_eq!(tue.ais_avg_ms, None);
}

#[test]
fn daylight_saving_days_are_not_1440_minutes() {
    let stats = daily(&[], &[date(2026, 10, 25), date(2026, 3, 29)], &paris(), &[]);
    let minutes: Vec<i64> = stats.iter().map(|d| d.day_minutes).collect();
    assert_eq!(minutes, [1380, 1500]);
    assert!(stats.iter().all(|d| d.api_version == API_VERSION));
}

#[test]
fn summaries_weigh_by_calls() {
    let m = at(monday(), 9, 0);
    let tuesday = date(2026, 11, 24);
    let rows = vec![
        row("a", "AIS", m, 1, 0, 0, 0, 100_000),
        row("a", "AIS", at(tuesday, 9, 0), 3, 0, 0, 0, 600_000),
    ];
    let stats = daily(&rows, &[monday(), tuesday], &paris(), &[]);
    let summaries = summarize(&stats);
    let [summary] = summaries.as_slice() else {
        panic!("{summaries:?}")
    };
    assert_eq!(summary.calls, 4);
    assert_eq!(summary.days, 2);
    assert_eq!(summary.minutes, 2880);
    assert_eq!(
        summary.ais_avg_ms.map(|ms| (ms * 1000.0).round()),
        Some(175_000.0)
    );
    assert_eq!(summary.pis_avg_ms, None);
}
