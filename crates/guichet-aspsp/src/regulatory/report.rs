//! The statistics as CSV, JSON, or a self-contained HTML page with inline SVG charts that a
//! bank can publish as is (portal, "Regulatory publications").

use askama::Template;
use serde::Serialize;

use super::chart::{Chart, Kind, Series, nice_ceiling, uptime_floor};
use super::compute::{DayStats, Summary, summarize};

/// The CSV's header row: the published figures first, then the counts they come from.
pub const CSV_HEADER: &str = "date,api_version,uptime_percent,downtime_minutes,\
planned_downtime_minutes,calls,ais_avg_ms,pis_avg_ms,cbpii_avg_ms,error_rate_percent,\
client_error_rate_percent,day_minutes,ais_calls,pis_calls,cbpii_calls,oauth_calls,\
server_errors,slow_calls,client_errors,maintenance_calls";

/// The statistics of one bank for a period.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub bank_code: String,
    pub bank_name: String,
    /// E.g. `2026Q4`.
    pub quarter: String,
    /// The bank's time zone, whose calendar days the days are, e.g. `Europe/Paris`.
    pub time_zone: String,
    /// When the report was made, as the caller wrote it (e.g. `2027-01-02 09:00 Europe/Paris`).
    pub generated: String,
    /// A remark printed under the title (e.g. a quarter still in progress).
    pub note: Option<String>,
    /// One per API version.
    pub summaries: Vec<Summary>,
    /// One per day and API version, by day then version.
    pub days: Vec<DayStats>,
}

fn fixed(value: f64) -> String {
    format!("{value:.2}")
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// One row per day and API version under [`CSV_HEADER`]; `.` decimals, two of them for
/// percentages and milliseconds; an empty average for a category without calls.
pub fn csv(days: &[DayStats]) -> String {
    let mut out = String::with_capacity(160 * (days.len() + 1));
    out.push_str(CSV_HEADER);
    out.push('\n');
    let average = |value: Option<f64>| value.map(fixed).unwrap_or_default();
    for day in days {
        let fields = [
            day.date.to_string(),
            csv_field(&day.api_version),
            fixed(day.uptime_percent),
            day.downtime_minutes.to_string(),
            day.planned_downtime_minutes.to_string(),
            day.calls.to_string(),
            average(day.ais_avg_ms),
            average(day.pis_avg_ms),
            average(day.cbpii_avg_ms),
            fixed(day.error_rate_percent),
            fixed(day.client_error_rate_percent),
            day.day_minutes.to_string(),
            day.ais_calls.to_string(),
            day.pis_calls.to_string(),
            day.cbpii_calls.to_string(),
            day.oauth_calls.to_string(),
            day.server_errors.to_string(),
            day.slow_calls.to_string(),
            day.client_errors.to_string(),
            day.maintenance_calls.to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// A headline figure of the summary.
struct Figure {
    label: &'static str,
    value: String,
}

/// A line of the day-by-day table.
struct DayRow {
    date: String,
    weekday: &'static str,
    uptime: String,
    downtime: i64,
    planned: i64,
    calls: i64,
    ais: String,
    pis: String,
    cbpii: String,
    errors: String,
    client_errors: String,
    /// Unplanned downtime that day.
    down: bool,
}

/// One API version: an interface of its own.
struct Section {
    api_version: String,
    figures: Vec<Figure>,
    /// SVG built from numbers and fixed strings only (see `chart`).
    uptime_chart: String,
    latency_chart: String,
    errors_chart: String,
    rows: Vec<DayRow>,
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage<'a> {
    bank_name: &'a str,
    bank_code: &'a str,
    quarter: &'a str,
    versions: String,
    time_zone: &'a str,
    generated: &'a str,
    note: Option<&'a str>,
    period: String,
    sections: Vec<Section>,
}

fn milliseconds(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |ms| format!("{ms:.2} ms"))
}

fn minutes(value: i64) -> String {
    if value >= 60 {
        format!("{value} min ({} h {:02} min)", value / 60, value % 60)
    } else {
        format!("{value} min")
    }
}

fn weekday(day: &DayStats) -> &'static str {
    match day.date.weekday() {
        jiff::civil::Weekday::Monday => "Mon",
        jiff::civil::Weekday::Tuesday => "Tue",
        jiff::civil::Weekday::Wednesday => "Wed",
        jiff::civil::Weekday::Thursday => "Thu",
        jiff::civil::Weekday::Friday => "Fri",
        jiff::civil::Weekday::Saturday => "Sat",
        jiff::civil::Weekday::Sunday => "Sun",
    }
}

fn section(summary: &Summary, days: &[&DayStats]) -> Section {
    let dates: Vec<jiff::civil::Date> = days.iter().map(|d| d.date).collect();
    let uptime = Chart {
        title: "Daily uptime of the dedicated interface (%)",
        y_label: "Uptime (%)",
        x_label: "Calendar day",
        days: &dates,
        series: vec![Series {
            label: "Uptime",
            colour: "#1b7f3b",
            values: days.iter().map(|d| Some(d.uptime_percent)).collect(),
        }],
        y_min: uptime_floor(days.iter().map(|d| d.uptime_percent)),
        y_max: 100.0,
        kind: Kind::Lines,
    };
    let slowest = days
        .iter()
        .flat_map(|d| [d.ais_avg_ms, d.pis_avg_ms, d.cbpii_avg_ms])
        .flatten()
        .fold(0.0_f64, f64::max);
    let latency = Chart {
        title: "Daily average response time per category (ms)",
        y_label: "Response time (ms)",
        x_label: "Calendar day",
        days: &dates,
        series: vec![
            Series {
                label: "AIS",
                colour: "#004b87",
                values: days.iter().map(|d| d.ais_avg_ms).collect(),
            },
            Series {
                label: "PIS",
                colour: "#d9822b",
                values: days.iter().map(|d| d.pis_avg_ms).collect(),
            },
            Series {
                label: "CBPII",
                colour: "#7b3fa0",
                values: days.iter().map(|d| d.cbpii_avg_ms).collect(),
            },
        ],
        y_min: 0.0,
        y_max: nice_ceiling(slowest),
        kind: Kind::Lines,
    };
    let worst = days
        .iter()
        .map(|d| d.error_rate_percent)
        .fold(1.0_f64, f64::max);
    let errors = Chart {
        title: "Daily error-response rate (%)",
        y_label: "Error responses (%)",
        x_label: "Calendar day",
        days: &dates,
        series: vec![Series {
            label: "Server errors and answers after 30 s",
            colour: "#c0392b",
            values: days
                .iter()
                .map(|d| (d.calls > 0).then_some(d.error_rate_percent))
                .collect(),
        }],
        y_min: 0.0,
        y_max: nice_ceiling(worst),
        kind: Kind::Bars,
    };
    let figures = vec![
        Figure {
            label: "Uptime",
            value: format!("{} %", fixed(summary.uptime_percent)),
        },
        Figure {
            label: "Unplanned downtime",
            value: minutes(summary.downtime_minutes),
        },
        Figure {
            label: "Planned downtime (maintenance windows)",
            value: minutes(summary.planned_downtime_minutes),
        },
        Figure {
            label: "Calls",
            value: summary.calls.to_string(),
        },
        Figure {
            label: "Average response time, account information (AIS)",
            value: milliseconds(summary.ais_avg_ms),
        },
        Figure {
            label: "Average response time, payment initiation (PIS)",
            value: milliseconds(summary.pis_avg_ms),
        },
        Figure {
            label: "Average response time, confirmation of funds (CBPII)",
            value: milliseconds(summary.cbpii_avg_ms),
        },
        Figure {
            label: "Error-response rate",
            value: format!("{} %", fixed(summary.error_rate_percent)),
        },
        Figure {
            label: "Client-error rate (4xx)",
            value: format!("{} %", fixed(summary.client_error_rate_percent)),
        },
    ];
    let rows = days
        .iter()
        .map(|d| DayRow {
            date: d.date.to_string(),
            weekday: weekday(d),
            uptime: fixed(d.uptime_percent),
            downtime: d.downtime_minutes,
            planned: d.planned_downtime_minutes,
            calls: d.calls,
            ais: d.ais_avg_ms.map(fixed).unwrap_or_else(|| "–".to_owned()),
            pis: d.pis_avg_ms.map(fixed).unwrap_or_else(|| "–".to_owned()),
            cbpii: d.cbpii_avg_ms.map(fixed).unwrap_or_else(|| "–".to_owned()),
            errors: fixed(d.error_rate_percent),
            client_errors: fixed(d.client_error_rate_percent),
            down: d.downtime_minutes > 0,
        })
        .collect();
    Section {
        api_version: summary.api_version.clone(),
        figures,
        uptime_chart: uptime.render(),
        latency_chart: latency.render(),
        errors_chart: errors.render(),
        rows,
    }
}

impl Report {
    /// A report of `days` (from [`super::daily`]), with its per-version summaries.
    pub fn new(
        bank_code: &str,
        bank_name: &str,
        quarter: &str,
        time_zone: &str,
        generated: &str,
        days: Vec<DayStats>,
    ) -> Report {
        Report {
            bank_code: bank_code.to_owned(),
            bank_name: bank_name.to_owned(),
            quarter: quarter.to_owned(),
            time_zone: time_zone.to_owned(),
            generated: generated.to_owned(),
            note: None,
            summaries: summarize(&days),
            days,
        }
    }

    pub fn csv(&self) -> String {
        csv(&self.days)
    }

    pub fn json(&self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }

    /// The self-contained page: inline CSS and SVG, no script, no external resource.
    pub fn html(&self) -> Result<String, askama::Error> {
        let sections = self
            .summaries
            .iter()
            .map(|summary| {
                let days: Vec<&DayStats> = self
                    .days
                    .iter()
                    .filter(|d| d.api_version == summary.api_version)
                    .collect();
                section(summary, &days)
            })
            .collect();
        let versions: Vec<&str> = self
            .summaries
            .iter()
            .map(|s| s.api_version.as_str())
            .collect();
        let period = match (
            self.summaries.iter().map(|s| s.first_day).min(),
            self.summaries.iter().map(|s| s.last_day).max(),
        ) {
            (Some(first), Some(last)) => format!("{first} to {last}"),
            _ => String::new(),
        };
        StatsPage {
            bank_name: &self.bank_name,
            bank_code: &self.bank_code,
            quarter: &self.quarter,
            versions: versions.join(", "),
            time_zone: &self.time_zone,
            generated: &self.generated,
            note: self.note.as_deref(),
            period,
            sections,
        }
        .render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn day(d: i8, uptime: f64, calls: i64) -> DayStats {
        DayStats {
            date: date(2026, 11, d),
            api_version: "1.4.2".into(),
            uptime_percent: uptime,
            downtime_minutes: 0,
            planned_downtime_minutes: if d == 23 { 360 } else { 0 },
            day_minutes: 1440,
            calls,
            ais_calls: calls,
            pis_calls: 0,
            cbpii_calls: 0,
            oauth_calls: 0,
            ais_avg_ms: (calls > 0).then_some(120.5),
            pis_avg_ms: None,
            cbpii_avg_ms: None,
            server_errors: 1,
            slow_calls: 0,
            client_errors: 0,
            error_rate_percent: if calls > 0 { 100.0 / calls as f64 } else { 0.0 },
            client_error_rate_percent: 0.0,
            maintenance_calls: 0,
        }
    }

    fn report(name: &str) -> Report {
        Report::new(
            "30258",
            name,
            "2026Q4",
            "Europe/Paris",
            "2027-01-02 09:00 Europe/Paris",
            vec![day(23, 97.569_444, 3), day(24, 100.0, 0)],
        )
    }

    #[test]
    fn csv_has_a_header_and_a_line_per_day() {
        let text = report("BTP Banque").csv();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines.first().copied(), Some(CSV_HEADER));
        let columns = CSV_HEADER.split(',').count();
        assert!(
            lines.iter().all(|l| l.split(',').count() == columns),
            "{text}"
        );
        assert_eq!(
            lines.get(1).copied(),
            Some("2026-11-23,1.4.2,97.57,0,360,3,120.50,,,33.33,0.00,1440,3,0,0,0,1,0,0,0")
        );
        assert_eq!(
            lines.get(2).copied(),
            Some("2026-11-24,1.4.2,100.00,0,0,0,,,,0.00,0.00,1440,0,0,0,0,1,0,0,0")
        );
        assert_eq!(csv_field("a,b\"c"), "\"a,b\"\"c\"");
    }

    #[test]
    fn json_carries_the_days_and_summaries() -> Result<(), serde_json::Error> {
        let value: serde_json::Value = serde_json::from_str(&report("BTP Banque").json()?)?;
        assert_eq!(value["bank_code"], "30258");
        assert_eq!(value["days"][0]["date"], "2026-11-23");
        assert_eq!(value["days"][1]["ais_avg_ms"], serde_json::Value::Null);
        assert_eq!(value["summaries"][0]["api_version"], "1.4.2");
        assert_eq!(value["summaries"][0]["planned_downtime_minutes"], 360);
        Ok(())
    }

    #[test]
    fn the_page_has_its_charts_and_escapes_its_input() -> Result<(), askama::Error> {
        let html = report("BTP <script>alert(1)</script> Banque").html()?;
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("{{") && !html.contains("{%"), "{html}");
        assert_eq!(html.matches("<svg").count(), 3);
        for label in [
            "Uptime (%)",
            "Response time (ms)",
            "Error responses (%)",
            "Calendar day",
            "23 Nov",
            "24 Nov",
            "<polyline",
            "<rect",
        ] {
            assert!(html.contains(label), "{label}");
        }
        assert!(!html.contains("<script>"));
        // askama writes `<` and `>` as numeric references.
        assert!(
            html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"),
            "{html}"
        );
        assert!(html.contains("30258") && html.contains("2026Q4") && html.contains("1.4.2"));
        assert!(html.contains("97.57"));
        // Self-contained: no external resource.
        assert!(!html.contains("src=") && !html.contains("href=\"http"));
        assert!(!html.contains("<link"));
        Ok(())
    }
}
