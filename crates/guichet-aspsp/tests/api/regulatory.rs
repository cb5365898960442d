//! The regulatory statistics (portal, "Regulatory publications"; RTS art. 32(4); EBA/GL/2018/07
//! guidelines 2.2–2.4): two server instances record two days of BTP Banque's traffic with a
//! controlled clock, write their minutes to the shared database, and the daily figures read
//! back from it are checked against the hand-computed expectation below.
//!
//! Monday 23 November 2026 (maintenance window Monday 00:00–06:00, Europe/Paris, UTC+1), as
//! instance A and instance B of one deployment see it:
//!
//! | when (Paris)          | instance | calls                                                    |
//! |-----------------------|----------|----------------------------------------------------------|
//! | 05:50:00–05:59:50     | A        | AIS 503, 1 ms, every 10 s: 60 failures (in the window)   |
//! | 06:03:00              | A        | AIS 200, 100 ms                                          |
//! | 09:00–09:59, each min | A        | AIS 200 120 ms at :00, PIS 201 300 ms at :20             |
//! | 09:00–09:59, each min | B        | CBPII 200 50 ms at :40, OAUTH 200 20 ms at :50           |
//! | 10:00:00–10:19:50     | A        | AIS 503, 5 ms, every 10 s: 120 failures (the outage)     |
//! | 10:20:00, 10:25:00    | A        | AIS 200, 80 ms                                           |
//! | 10:15:00–10:29:50     | B        | AIS 500, 5 ms, every 10 s: 90 failures (B's outage)      |
//! | 10:30:00              | B        | AIS 200, 80 ms                                           |
//! | 11:00:00–11:00:30     | A        | PIS 502, 10 ms: 4 failures, then PIS 201 300 ms at :40   |
//! | 12:00:40, :45, :50    | A        | CBPII 503, 10 ms (3 failures) …                          |
//! | 12:01:05, :10         | A        | … CBPII 503, 10 ms (2 more), then CBPII 200 50 ms at :30 |
//! | 14:00:00–14:00:40     | A        | AIS 200 answered after 31 s: 5 slow calls, failures      |
//! | 14:01:00              | A        | AIS 200, 100 ms                                          |
//!
//! Downtime, by the rule of `regulatory::compute` (down from the minute of the first of five
//! consecutive failures until the minute of the next success):
//! - 05:50 to 06:03 (excluded): 05:50–05:59 inside the window (planned), 06:00, 06:01, 06:02
//!   unplanned: **3 min**;
//! - A's outage 10:00 to 10:20 (excluded) = 20 minutes (10:00 … 10:19; the success at 10:20:00
//!   ends it, so 20 and not 21); B's 10:15 to 10:30 (excluded) = 15 minutes, although A answers
//!   again from 10:20: united, 10:00 to 10:30 = **30 min** (not 35);
//! - 4 failures then a success at 11:00: not down;
//! - 5 failures from 12:00:40 to 12:01:10, the success at 12:01:30 in the run's last minute:
//!   12:00 only, **1 min**;
//! - 5 slow calls in 14:00, the success at 14:01: **1 min**.
//!
//! Monday: unplanned 35 min, uptime 100 × (1 − 35/1440) = 97.5694…% → 97.57; planned 360 min.
//! Figures leave out the 60 calls of the window: 471 calls —
//! - AIS 280 calls (1 + 60 + 120 + 2 + 90 + 1 + 6): 100 + 7200 + 600 + 160 + 450 + 80 +
//!   155000 + 100 = 163690 ms → 584.607…, 584.61 ms;
//! - PIS 65 calls (60 + 4 + 1): 18000 + 40 + 300 = 18340 ms → 282.1538…, 282.15 ms;
//! - CBPII 66 calls (60 + 5 + 1): 3000 + 50 + 50 = 3100 ms → 46.9696…, 46.97 ms;
//! - OAUTH 60 calls;
//! - server errors 120 + 90 + 4 + 5 = 219, slow calls 5: error rate 224/471 = 47.558…% → 47.56.
//!
//! Tuesday 24 November 2026 (no window): the same 09:00 hour (240 calls), six AIS 404 of 15 ms
//! from 15:00:00 to 15:00:50, an AIS 500 of 5 ms at 16:00:00 and an AIS 200 of 100 ms at
//! 16:00:10: no downtime, uptime 100; 248 calls; AIS 68 calls, 7200 + 90 + 5 + 100 = 7395 ms →
//! 108.75 ms; PIS 300 ms; CBPII 50 ms; error rate 1/248 = 0.403…% → 0.40; client errors
//! 6/248 = 2.419…% → 2.42.
//!
//! Both days: uptime 100 × (1 − 35/2880) = 98.78%; AIS (163690 + 7395) / 348 = 491.62 ms; PIS
//! (18340 + 18000) / 125 = 290.72 ms; CBPII (3100 + 3000) / 126 = 48.41 ms; error rate
//! 225/719 = 31.29%.

use guichet_aspsp::profile::MaintenanceWindow;
use guichet_aspsp::regulatory::{self, ALL_CATEGORIES, Call, Category, Recorder, Report};
use guichet_store::testing::TestDatabase;
use guichet_store::{MinuteRow, Store, on_both_backends};
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;

const BTP: &str = "30258";
const CE: &str = "17515";
const A: usize = 0;
const B: usize = 1;

fn monday() -> Date {
    date(2026, 11, 23)
}

fn tuesday() -> Date {
    date(2026, 11, 24)
}

fn paris() -> TimeZone {
    match TimeZone::get("Europe/Paris") {
        Ok(zone) => zone,
        Err(e) => panic!("{e}"),
    }
}

/// Unix seconds of a wall-clock time in Paris.
fn at(day: Date, hour: i8, minute: i8, second: i8) -> i64 {
    match paris().to_timestamp(day.at(hour, minute, second, 0)) {
        Ok(t) => t.as_second(),
        Err(e) => panic!("{e}"),
    }
}

#[derive(Debug, Clone, Copy)]
struct Event {
    at: i64,
    instance: usize,
    bank: &'static str,
    category: Category,
    status: u16,
    micros: u64,
}

struct Traffic(Vec<Event>);

impl Traffic {
    fn one(&mut self, instance: usize, category: Category, status: u16, ms: u64, at: i64) {
        self.0.push(Event {
            at,
            instance,
            bank: BTP,
            category,
            status,
            micros: ms * 1000,
        });
    }

    /// A call every 10 s from `from` (included) to `until` (excluded).
    #[allow(clippy::too_many_arguments)]
    fn every_10s(
        &mut self,
        instance: usize,
        category: Category,
        status: u16,
        ms: u64,
        from: i64,
        until: i64,
    ) {
        let mut t = from;
        while t < until {
            self.one(instance, category, status, ms, t);
            t += 10;
        }
    }

    /// 09:00 to 09:59, every minute: AIS and PIS on A, CBPII and OAuth on B, all answered.
    fn normal_hour(&mut self, day: Date) {
        for minute in 0..60 {
            self.one(A, Category::Ais, 200, 120, at(day, 9, minute, 0));
            self.one(A, Category::Pis, 201, 300, at(day, 9, minute, 20));
            self.one(B, Category::Cbpii, 200, 50, at(day, 9, minute, 40));
            self.one(B, Category::Oauth, 200, 20, at(day, 9, minute, 50));
        }
    }
}

fn traffic() -> Vec<Event> {
    let mut t = Traffic(Vec::new());
    let (mon, tue) = (monday(), tuesday());
    // Failures inside the maintenance window, the first success after it at 06:03.
    t.every_10s(
        A,
        Category::Ais,
        503,
        1,
        at(mon, 5, 50, 0),
        at(mon, 6, 0, 0),
    );
    t.one(A, Category::Ais, 200, 100, at(mon, 6, 3, 0));
    t.normal_hour(mon);
    // Another bank's call, on B: none of BTP Banque's figures.
    t.0.push(Event {
        at: at(mon, 9, 30, 5),
        instance: B,
        bank: CE,
        category: Category::Ais,
        status: 503,
        micros: 9_000_000,
    });
    // The outage on A, 10:00 to 10:20; A answers again at 10:20 and 10:25.
    t.every_10s(
        A,
        Category::Ais,
        503,
        5,
        at(mon, 10, 0, 0),
        at(mon, 10, 20, 0),
    );
    t.one(A, Category::Ais, 200, 80, at(mon, 10, 20, 0));
    t.one(A, Category::Ais, 200, 80, at(mon, 10, 25, 0));
    // B's outage overlaps: 10:15 to 10:30.
    t.every_10s(
        B,
        Category::Ais,
        500,
        5,
        at(mon, 10, 15, 0),
        at(mon, 10, 30, 0),
    );
    t.one(B, Category::Ais, 200, 80, at(mon, 10, 30, 0));
    // Four failures, then a success: not down.
    for second in [0, 10, 20, 30] {
        t.one(A, Category::Pis, 502, 10, at(mon, 11, 0, second));
    }
    t.one(A, Category::Pis, 201, 300, at(mon, 11, 0, 40));
    // Five failures across a minute boundary, then a success.
    for (minute, second) in [(0, 40), (0, 45), (0, 50), (1, 5), (1, 10)] {
        t.one(A, Category::Cbpii, 503, 10, at(mon, 12, minute, second));
    }
    t.one(A, Category::Cbpii, 200, 50, at(mon, 12, 1, 30));
    // Five answers after 31 s: failures too.
    for second in [0, 10, 20, 30, 40] {
        t.one(A, Category::Ais, 200, 31_000, at(mon, 14, 0, second));
    }
    t.one(A, Category::Ais, 200, 100, at(mon, 14, 1, 0));
    // Tuesday: the normal hour, client errors, one isolated server error.
    t.normal_hour(tue);
    t.every_10s(
        A,
        Category::Ais,
        404,
        15,
        at(tue, 15, 0, 0),
        at(tue, 15, 1, 0),
    );
    t.one(A, Category::Ais, 500, 5, at(tue, 16, 0, 0));
    t.one(A, Category::Ais, 200, 100, at(tue, 16, 0, 10));
    let mut events = t.0;
    events.sort_by_key(|e| e.at);
    events
}

async fn flush(recorder: &Recorder, store: &Store, now: i64, all: bool) -> usize {
    match recorder.flush(store, now, all).await {
        Ok(written) => written,
        Err(e) => panic!("flush at {now}: {e}"),
    }
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "{what}: {actual} instead of {expected}"
    );
}

fn close_some(actual: Option<f64>, expected: f64, what: &str) {
    match actual {
        Some(actual) => close(actual, expected, what),
        None => panic!("{what}: no value, {expected} expected"),
    }
}

fn find<'a>(rows: &'a [MinuteRow], instance: &str, category: &str, minute: i64) -> &'a MinuteRow {
    match rows
        .iter()
        .find(|r| r.instance == instance && r.category == category && r.minute == minute)
    {
        Some(row) => row,
        None => panic!("no {category} row of {instance} at {minute}"),
    }
}

fn monday_window() -> MaintenanceWindow {
    MaintenanceWindow {
        weekday: "monday".into(),
        start: "00:00".into(),
        end: "06:00".into(),
    }
}

on_both_backends! {
    async fn two_instances_two_days_every_figure(backend) {
        let db = TestDatabase::new(backend).await;
        let store = match Store::connect(&db.url, 2).await {
            Ok(store) => store,
            Err(e) => panic!("cannot open {}: {e}", db.url),
        };
        let recorders = [Recorder::new(), Recorder::new()];
        let (a, b) = (recorders[A].instance().to_owned(), recorders[B].instance().to_owned());
        assert_ne!(a, b);
        let mon = monday();
        let events = traffic();
        // The server's housekeeping: a flush of the complete minutes about once a minute. Once,
        // A is stopped in the middle of 12:00 (a flush of everything, as at shutdown) and its
        // minute goes on: the row written is continued, not duplicated.
        let stop = at(mon, 12, 0, 47);
        let mut stopped = false;
        let mut last_flush = i64::MIN;
        let mut written = 0;
        for event in &events {
            if !stopped && event.at >= stop {
                // Minute 12:00 so far: two CBPII failures, its CBPII and ALL rows.
                assert_eq!(flush(&recorders[A], &store, stop, true).await, 2);
                stopped = true;
            }
            if event.at >= last_flush.saturating_add(60) {
                for recorder in &recorders {
                    written += flush(recorder, &store, event.at, false).await;
                }
                last_flush = event.at;
            }
            // The minute of the call is still open in memory: a flush never writes it early.
            recorders[event.instance].record(Call {
                bank_code: event.bank,
                api_version: regulatory::API_VERSION,
                category: event.category,
                status: event.status,
                micros: event.micros,
                at: event.at,
            });
        }
        assert!(written > 0);
        let end = at(tuesday(), 23, 59, 59);
        for recorder in &recorders {
            flush(recorder, &store, end, true).await;
            assert_eq!(recorder.pending(), 0);
        }

        let from = at(mon, 0, 0, 0) - 86_400;
        let to = at(tuesday(), 0, 0, 0) + 2 * 86_400;
        let rows = match store.minutes(BTP, from, to).await {
            Ok(rows) => rows,
            Err(e) => panic!("reading the minutes: {e}"),
        };
        // One row per minute, category (and ALL) and instance, never one per call.
        let category_calls: i64 = rows.iter().filter(|r| r.category != ALL_CATEGORIES).map(|r| r.calls).sum();
        let all_calls: i64 = rows.iter().filter(|r| r.category == ALL_CATEGORIES).map(|r| r.calls).sum();
        let btp_calls = i64::try_from(events.iter().filter(|e| e.bank == BTP).count()).unwrap_or(0);
        assert_eq!(btp_calls, 60 + 471 + 248);
        assert_eq!(category_calls, btp_calls);
        assert_eq!(all_calls, btp_calls);
        // 256 rows of A and 212 of B on Monday, 184 and 180 on Tuesday: e.g. A's 120 calls of
        // the outage are 20 AIS rows and 20 ALL rows.
        assert_eq!(rows.len(), 832);
        let outage_rows = rows
            .iter()
            .filter(|r| r.instance == a && r.category == "AIS")
            .filter(|r| (at(mon, 10, 0, 0)..at(mon, 10, 20, 0)).contains(&r.minute))
            .count();
        assert_eq!(outage_rows, 20);
        assert!(rows.iter().all(|r| r.bank_code == BTP && r.api_version == "1.4.2"));
        assert!(rows.iter().all(|r| r.instance == a || r.instance == b));
        // The minute continued after A's stop: merged as one.
        let noon = at(mon, 12, 0, 0);
        let merged = find(&rows, &a, "CBPII", noon);
        assert_eq!(
            (merged.calls, merged.server_errors, merged.leading_failures, merged.trailing_failures, merged.max_failure_run, merged.all_failed),
            (3, 3, 3, 3, 3, true)
        );
        let merged_all = find(&rows, &a, ALL_CATEGORIES, noon);
        assert_eq!((merged_all.calls, merged_all.max_failure_run, merged_all.all_failed), (3, 3, true));
        let next = find(&rows, &a, "CBPII", noon + 60);
        assert_eq!(
            (next.calls, next.server_errors, next.leading_failures, next.trailing_failures, next.max_failure_run, next.all_failed),
            (3, 2, 2, 0, 2, false)
        );
        assert_eq!(next.total_micros, 2 * 10_000 + 50_000);
        let slow = find(&rows, &a, "AIS", at(mon, 14, 0, 0));
        assert_eq!((slow.calls, slow.slow_calls, slow.server_errors, slow.all_failed), (5, 5, 0, true));
        let oauth = find(&rows, &b, "OAUTH", at(mon, 9, 0, 0));
        assert_eq!((oauth.calls, oauth.total_micros, oauth.all_failed), (1, 20_000, false));
        // The other bank's call is its own.
        match store.minutes(CE, from, to).await {
            Ok(ce) => assert_eq!(ce.iter().filter(|r| r.category == "AIS").map(|r| r.calls).sum::<i64>(), 1),
            Err(e) => panic!("{e}"),
        }

        let stats = regulatory::daily(&rows, &[mon, tuesday()], &paris(), &[monday_window()]);
        let [monday_stats, tuesday_stats] = stats.as_slice() else {
            panic!("two days of one version expected: {stats:?}")
        };
        let m = monday_stats;
        assert_eq!((m.date, m.api_version.as_str(), m.day_minutes), (mon, "1.4.2", 1440));
        assert_eq!(m.downtime_minutes, 35, "{m:?}");
        assert_eq!(m.planned_downtime_minutes, 360);
        close(m.uptime_percent, 100.0 * (1.0 - 35.0 / 1440.0), "Monday uptime");
        assert_eq!(m.calls, 471);
        assert_eq!((m.ais_calls, m.pis_calls, m.cbpii_calls, m.oauth_calls), (280, 65, 66, 60));
        close_some(m.ais_avg_ms, 163_690.0 / 280.0, "Monday AIS");
        close_some(m.pis_avg_ms, 18_340.0 / 65.0, "Monday PIS");
        close_some(m.cbpii_avg_ms, 3_100.0 / 66.0, "Monday CBPII");
        assert_eq!((m.server_errors, m.slow_calls, m.client_errors), (219, 5, 0));
        close(m.error_rate_percent, 100.0 * 224.0 / 471.0, "Monday error rate");
        close(m.client_error_rate_percent, 0.0, "Monday client errors");
        assert_eq!(m.maintenance_calls, 60);

        let t = tuesday_stats;
        assert_eq!(t.date, tuesday());
        assert_eq!((t.downtime_minutes, t.planned_downtime_minutes), (0, 0));
        close(t.uptime_percent, 100.0, "Tuesday uptime");
        assert_eq!(t.calls, 248);
        assert_eq!((t.ais_calls, t.pis_calls, t.cbpii_calls, t.oauth_calls), (68, 60, 60, 60));
        close_some(t.ais_avg_ms, 108.75, "Tuesday AIS");
        close_some(t.pis_avg_ms, 300.0, "Tuesday PIS");
        close_some(t.cbpii_avg_ms, 50.0, "Tuesday CBPII");
        assert_eq!((t.server_errors, t.slow_calls, t.client_errors), (1, 0, 6));
        close(t.error_rate_percent, 100.0 / 248.0, "Tuesday error rate");
        close(t.client_error_rate_percent, 600.0 / 248.0, "Tuesday client errors");
        assert_eq!(t.maintenance_calls, 0);

        // Without instance B, its outage goes: 3 + 20 + 1 + 1 minutes.
        let only_a: Vec<MinuteRow> = rows.iter().filter(|r| r.instance == a).cloned().collect();
        let alone = regulatory::daily(&only_a, &[mon], &paris(), &[monday_window()]);
        assert_eq!(alone.first().map(|d| d.downtime_minutes), Some(25));
        // Without the window, 05:50 to 06:03 is all unplanned: 13 + 30 + 1 + 1.
        let unplanned = regulatory::daily(&rows, &[mon], &paris(), &[]);
        assert_eq!(unplanned.first().map(|d| (d.downtime_minutes, d.planned_downtime_minutes, d.calls)), Some((45, 0, 531)));

        // The published forms.
        let report = Report::new(BTP, "BTP Banque", "2026Q4", "Europe/Paris", "2026-11-25 08:00", stats.clone());
        let csv = report.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.first().copied(), Some(regulatory::CSV_HEADER));
        assert_eq!(lines.get(1).copied(), Some("2026-11-23,1.4.2,97.57,35,360,471,584.61,282.15,46.97,47.56,0.00,1440,280,65,66,60,219,5,0,60"));
        assert_eq!(lines.get(2).copied(), Some("2026-11-24,1.4.2,100.00,0,0,248,108.75,300.00,50.00,0.40,2.42,1440,68,60,60,60,1,0,6,0"));
        assert_eq!(lines.len(), 3);
        let [summary] = report.summaries.as_slice() else {
            panic!("{:?}", report.summaries)
        };
        assert_eq!((summary.days, summary.minutes, summary.downtime_minutes, summary.planned_downtime_minutes, summary.calls), (2, 2880, 35, 360, 719));
        close(summary.uptime_percent, 100.0 * (1.0 - 35.0 / 2880.0), "uptime of both days");
        close_some(summary.ais_avg_ms, 171_085.0 / 348.0, "AIS of both days");
        close_some(summary.pis_avg_ms, 36_340.0 / 125.0, "PIS of both days");
        close_some(summary.cbpii_avg_ms, 6_100.0 / 126.0, "CBPII of both days");
        close(summary.error_rate_percent, 100.0 * 225.0 / 719.0, "error rate of both days");
        let json = match report.json().map(|text| serde_json::from_str::<serde_json::Value>(&text)) {
            Ok(Ok(value)) => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(json["days"][0]["downtime_minutes"], 35);
        assert_eq!(json["summaries"][0]["calls"], 719);
        let html = match report.html() {
            Ok(html) => html,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(html.matches("<svg").count(), 3);
        for text in ["BTP Banque", "30258", "2026Q4", "1.4.2", "98.78 %", "35 min", "360 min (6 h 00 min)", "97.57", "584.61", "23 Nov", "Uptime (%)"] {
            assert!(html.contains(text), "{text} missing");
        }
        assert!(!html.contains("{{"));
        store.close().await;
    }
}
