//! The balance-history chart, as numbers ready for the template's inline SVG: both axes, a
//! tick on dated days, amount ticks at round values, one line per series and a legend.
//!
//! Only coordinates and labels are computed here; the template writes the SVG and escapes
//! every label, since series are named after banks and accounts.

use jiff::civil::Date;

pub const WIDTH: f64 = 900.0;
const BASE_HEIGHT: f64 = 300.0;
const LEFT: f64 = 88.0;
const RIGHT: f64 = 20.0;
const BOTTOM: f64 = 56.0;
/// Height of a row of the legend, above the plot.
const LEGEND_ROW: f64 = 18.0;
/// A rough width of one character of the legend, to wrap it.
const CHAR_WIDTH: f64 = 7.0;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Line colours, in turn (the total is drawn in black).
const PALETTE: [&str; 8] = [
    "#004b87", "#d9822b", "#1b7f3b", "#7b3fa0", "#c0392b", "#0f8b8d", "#8c6d1f", "#5d6d7e",
];

/// One line of the chart: a value for each day.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub values: Vec<f64>,
    /// Drawn thicker and in black: the total.
    pub total: bool,
}

/// A tick on an axis: where (along the axis) and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    pub at: String,
    pub label: String,
}

/// A point drawn as a dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dot {
    pub cx: String,
    pub cy: String,
}

/// A series as drawn, with its legend entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub label: String,
    pub colour: &'static str,
    pub stroke_width: &'static str,
    /// The polyline's points, `x,y x,y …`.
    pub points: String,
    /// A series of a single day is a dot.
    pub dot: Option<Dot>,
    pub legend_x: String,
    pub legend_y: String,
    pub legend_text_x: String,
    pub legend_text_y: String,
}

/// Everything the template needs to draw one chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub width: String,
    pub height: String,
    /// The plot's left, right, top and bottom edges.
    pub left: String,
    pub right: String,
    pub top: String,
    pub bottom: String,
    /// Where the amount ticks' labels end, left of the axis.
    pub y_tick_x: String,
    /// The dated ticks' labels, under the axis.
    pub x_tick_y: String,
    /// The bottom of the dated ticks' marks.
    pub x_mark_y: String,
    pub x_label_x: String,
    pub x_label_y: String,
    pub y_label_y: String,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    pub lines: Vec<Line>,
}

fn px(value: f64) -> String {
    format!("{value:.1}")
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at least `raw` (1 for nothing to show).
pub fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    // powi multiplies: exact powers of ten, where powf may miss by an ulp.
    let base = 10_f64.powi(raw.log10().floor() as i32);
    for factor in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if factor * base >= raw * (1.0 - 1e-9) {
            return factor * base;
        }
    }
    10.0 * base
}

/// The amount axis: its bottom, top and step, round values around every value, with about
/// five steps; a flat history gets room above and below.
pub fn amount_axis(values: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let (min, max) = values
        .filter(|v| v.is_finite())
        .fold(None, |range: Option<(f64, f64)>, v| match range {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
        .unwrap_or((0.0, 0.0));
    let (min, max) = if max - min < 1e-9 {
        let pad = (min.abs() * 0.1).max(1.0);
        (min - pad, max + pad)
    } else {
        (min, max)
    };
    let step = nice_step((max - min) / 5.0);
    let bottom = (min / step).floor() * step;
    let top = (max / step).ceil() * step;
    (bottom, top, step)
}

/// An amount as the axis writes it: thousands separated by commas, two decimals only when the
/// step is below one.
pub fn amount_label(value: f64, step: f64) -> String {
    let decimals = if step < 1.0 { 2 } else { 0 };
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole.to_owned(), Some(fraction.to_owned())),
        None => (text.clone(), None),
    };
    let digits: Vec<char> = whole.chars().collect();
    let mut grouped = String::new();
    for (index, digit) in digits.iter().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(*digit);
    }
    if let Some(fraction) = fraction {
        grouped.push('.');
        grouped.push_str(&fraction);
    }
    let zero = grouped.chars().all(|c| matches!(c, '0' | ',' | '.'));
    if value < 0.0 && !zero {
        format!("-{grouped}")
    } else {
        grouped
    }
}

fn month_name(day: Date) -> &'static str {
    usize::try_from(day.month() - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .copied()
        .unwrap_or("")
}

/// The days that get a dated tick, and what each says: every day of a short period, then
/// weekly (the 1st, 8th, 15th and 22nd), twice a month, monthly, and quarterly for long ones.
pub fn dated_ticks(days: &[Date]) -> Vec<(usize, String)> {
    let short = |d: &Date| format!("{} {}", d.day(), month_name(*d));
    let long = |d: &Date| format!("{} {}", month_name(*d), d.year());
    let n = days.len();
    if n <= 16 {
        pick(days, |_| true, short)
    } else if n <= 45 {
        pick(days, |d| matches!(d.day(), 1 | 8 | 15 | 22), short)
    } else if n <= 120 {
        pick(days, |d| matches!(d.day(), 1 | 15), short)
    } else if n <= 400 {
        pick(days, |d| d.day() == 1, long)
    } else {
        pick(
            days,
            |d| d.day() == 1 && matches!(d.month(), 1 | 4 | 7 | 10),
            long,
        )
    }
}

fn pick(
    days: &[Date],
    keep: impl Fn(&Date) -> bool,
    label: impl Fn(&Date) -> String,
) -> Vec<(usize, String)> {
    days.iter()
        .enumerate()
        .filter(|&(_, d)| keep(d))
        .map(|(i, d)| (i, label(d)))
        .collect()
}

/// The legend's entries laid out in rows across the chart: `(x, row)` for each label.
fn legend_layout(labels: &[&str]) -> Vec<(f64, usize)> {
    let mut layout = Vec::with_capacity(labels.len());
    let (mut x, mut row) = (LEFT, 0);
    for label in labels {
        let width = 24.0 + CHAR_WIDTH * label.chars().count() as f64;
        if x > LEFT && x + width > WIDTH - RIGHT {
            x = LEFT;
            row += 1;
        }
        layout.push((x, row));
        x += width + 12.0;
    }
    layout
}

/// A chart of `series` over `days`, its amounts in `currency`.
pub fn balance_chart(title: &str, currency: &str, days: &[Date], series: &[Series]) -> Chart {
    let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
    let legend = legend_layout(&labels);
    let rows = legend.iter().map(|(_, row)| row + 1).max().unwrap_or(0) as f64;
    let top = 14.0 + rows * LEGEND_ROW + 12.0;
    let height = BASE_HEIGHT + rows * LEGEND_ROW;
    let bottom = height - BOTTOM;
    let right = WIDTH - RIGHT;
    let (low, high, step) = amount_axis(series.iter().flat_map(|s| s.values.iter().copied()));
    let span = (high - low).max(f64::EPSILON);
    let y = |value: f64| bottom - (value - low) / span * (bottom - top);
    let n = days.len();
    let x = |index: usize| {
        if n <= 1 {
            (LEFT + right) / 2.0
        } else {
            LEFT + index as f64 * (right - LEFT) / (n - 1) as f64
        }
    };
    let mut y_ticks = Vec::new();
    let count = ((high - low) / step).round() as usize;
    for k in 0..=count.min(20) {
        let value = low + step * k as f64;
        y_ticks.push(Tick {
            at: px(y(value)),
            label: amount_label(value, step),
        });
    }
    let x_ticks = dated_ticks(days)
        .into_iter()
        .map(|(index, label)| Tick {
            at: px(x(index)),
            label,
        })
        .collect();
    let mut colours = PALETTE.iter().cycle();
    let lines = series
        .iter()
        .zip(legend)
        .map(|(s, (legend_x, row))| {
            let colour = if s.total {
                "#111111"
            } else {
                colours.next().copied().unwrap_or("#004b87")
            };
            let coordinates: Vec<(f64, f64)> = s
                .values
                .iter()
                .take(n)
                .enumerate()
                .map(|(i, v)| (x(i), y(*v)))
                .collect();
            let points: Vec<String> = coordinates
                .iter()
                .map(|(cx, cy)| format!("{cx:.1},{cy:.1}"))
                .collect();
            let dot = match coordinates.as_slice() {
                [(cx, cy)] => Some(Dot {
                    cx: px(*cx),
                    cy: px(*cy),
                }),
                _ => None,
            };
            let legend_y = 14.0 + row as f64 * LEGEND_ROW;
            Line {
                label: s.label.clone(),
                colour,
                stroke_width: if s.total { "3" } else { "2" },
                points: points.join(" "),
                dot,
                legend_x: px(legend_x),
                legend_y: px(legend_y - 10.0),
                legend_text_x: px(legend_x + 16.0),
                legend_text_y: px(legend_y),
            }
        })
        .collect();
    let period = match (days.first(), days.last()) {
        (Some(first), Some(last)) if first != last => format!("{first} to {last}"),
        (Some(first), _) => first.to_string(),
        _ => String::new(),
    };
    Chart {
        title: title.to_owned(),
        x_label: format!("Day (end of day balance, {period})"),
        y_label: format!("Balance ({currency})"),
        width: px(WIDTH),
        height: px(height),
        left: px(LEFT),
        right: px(right),
        top: px(top),
        bottom: px(bottom),
        y_tick_x: px(LEFT - 8.0),
        x_tick_y: px(bottom + 20.0),
        x_mark_y: px(bottom + 6.0),
        x_label_x: px((LEFT + right) / 2.0),
        x_label_y: px(height - 10.0),
        y_label_y: px((top + bottom) / 2.0),
        x_ticks,
        y_ticks,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.2), 2.0);
        assert_eq!(nice_step(230.0), 250.0);
        assert_eq!(nice_step(584.6), 1000.0);
        assert_eq!(nice_step(1000.0), 1000.0);
    }

    #[test]
    fn the_amount_axis_holds_every_value_at_round_values() {
        assert_eq!(
            amount_axis([1234.5, 18_342.56, 9000.0].into_iter()),
            (0.0, 20_000.0, 5000.0)
        );
        assert_eq!(
            amount_axis([-120.0, 480.0].into_iter()),
            (-200.0, 600.0, 200.0)
        );
        // Flat: room above and below.
        let (low, high, _) = amount_axis([500.0, 500.0].into_iter());
        assert!(low < 500.0 && high > 500.0);
        assert_eq!(amount_axis(std::iter::empty()), (-1.0, 1.0, 0.5));
    }

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(amount_label(18_000.0, 1000.0), "18,000");
        assert_eq!(amount_label(-1_500.0, 500.0), "-1,500");
        assert_eq!(amount_label(1_234_567.0, 1.0), "1,234,567");
        assert_eq!(amount_label(0.0, 100.0), "0");
        assert_eq!(amount_label(-0.0001, 100.0), "0");
        assert_eq!(amount_label(2.5, 0.5), "2.50");
        assert_eq!(amount_label(999.0, 1.0), "999");
    }

    #[test]
    fn dated_ticks_thin_out_with_the_period() {
        use jiff::ToSpan;
        let from = jiff::civil::date(2026, 10, 25);
        let days = |n: i64| -> Vec<Date> {
            (0..n)
                .filter_map(|i| from.checked_add(i.days()).ok())
                .collect()
        };
        let week = dated_ticks(&days(7));
        assert_eq!(week.len(), 7);
        assert_eq!(week[0], (0, "25 Oct".to_owned()));
        let month = dated_ticks(&days(31));
        assert_eq!(
            month.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(),
            ["1 Nov", "8 Nov", "15 Nov", "22 Nov"]
        );
        assert_eq!(month[0].0, 7);
        let quarter = dated_ticks(&days(90));
        assert_eq!(quarter[0].1, "1 Nov");
        let year = dated_ticks(&days(365));
        assert_eq!(year[0].1, "Nov 2026");
        assert_eq!(year.len(), 12);
    }

    #[test]
    fn a_chart_has_axes_ticks_and_a_legend_entry_per_series() {
        let days: Vec<Date> = (1..=5).map(|d| jiff::civil::date(2026, 11, d)).collect();
        let chart = balance_chart(
            "All banks",
            "EUR",
            &days,
            &[
                Series {
                    label: "Caisse d'Epargne".into(),
                    values: vec![100.0, 120.0, 90.0, 95.0, 300.0],
                    total: false,
                },
                Series {
                    label: "Total".into(),
                    values: vec![100.0, 120.0, 90.0, 95.0, 300.0],
                    total: true,
                },
            ],
        );
        assert_eq!(chart.x_ticks.len(), 5);
        assert_eq!(chart.x_ticks[0].label, "1 Nov");
        assert_eq!(chart.x_ticks[0].at, chart.left);
        assert_eq!(chart.x_ticks[4].at, chart.right);
        assert_eq!(chart.y_ticks.first().map(|t| t.label.as_str()), Some("50"));
        assert_eq!(chart.y_ticks.last().map(|t| t.label.as_str()), Some("300"));
        assert_eq!(
            chart.y_ticks.first().map(|t| t.at.clone()),
            Some(chart.bottom.clone())
        );
        assert_eq!(
            chart.y_ticks.last().map(|t| t.at.clone()),
            Some(chart.top.clone())
        );
        assert_eq!(chart.lines.len(), 2);
        assert_eq!(chart.lines[1].colour, "#111111");
        assert_eq!(chart.lines[0].points.split(' ').count(), 5);
        assert_eq!(chart.y_label, "Balance (EUR)");
        assert!(chart.x_label.contains("2026-11-01 to 2026-11-05"));
    }

    #[test]
    fn a_long_legend_wraps() {
        let labels = ["A very long bank name that takes room"; 6];
        let layout = legend_layout(&labels);
        assert!(layout.iter().any(|(_, row)| *row > 0));
        assert!(layout.iter().all(|(x, _)| *x >= LEFT && *x < WIDTH - RIGHT));
    }
}
