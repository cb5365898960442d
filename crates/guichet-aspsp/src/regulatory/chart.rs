//! Small inline SVG charts, one value per day: lines or bars, labelled axes, dated ticks.
//!
//! Everything written here comes from numbers, dates and the fixed strings of this crate: the
//! output is inserted unescaped in the report, so nothing read from configuration or the
//! database may ever be passed in as text.

use std::fmt::Write;

use jiff::civil::Date;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 58.0;
const PLOT_WIDTH: f64 = WIDTH - LEFT - RIGHT;
const PLOT_HEIGHT: f64 = HEIGHT - TOP - BOTTOM;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// One series: a value (or none) per day.
pub(crate) struct Series {
    pub label: &'static str,
    pub colour: &'static str,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Lines,
    Bars,
}

pub(crate) struct Chart<'a> {
    /// The chart's accessible title.
    pub title: &'static str,
    pub y_label: &'static str,
    pub x_label: &'static str,
    pub days: &'a [Date],
    pub series: Vec<Series>,
    pub y_min: f64,
    pub y_max: f64,
    pub kind: Kind,
}

/// A number without useless decimals: `99.5`, `100`, `0.25`.
pub(crate) fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at least `value` (1 for nothing to show).
pub(crate) fn nice_ceiling(value: f64) -> f64 {
    if value.is_nan() || value.is_infinite() || value <= 0.0 {
        return 1.0;
    }
    // powi multiplies: exact powers of ten, where powf may miss by an ulp.
    let base = 10_f64.powi(value.log10().floor() as i32);
    for factor in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if factor * base >= value * (1.0 - 1e-9) {
            return factor * base;
        }
    }
    10.0 * base
}

/// The bottom of the uptime axis: the highest of 99, 98, 95, 90, 80, 50, 0 below every value.
pub(crate) fn uptime_floor(values: impl Iterator<Item = f64>) -> f64 {
    let lowest = values.fold(100.0_f64, f64::min);
    [99.0, 98.0, 95.0, 90.0, 80.0, 50.0]
        .into_iter()
        .find(|floor| *floor <= lowest)
        .unwrap_or(0.0)
}

fn day_label(day: Date) -> String {
    let month = usize::try_from(day.month() - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .copied()
        .unwrap_or("");
    format!("{} {month}", day.day())
}

/// The days that get a dated tick: every day of a short period, else the 1st and 15th of each
/// month, and the first day.
fn labelled(days: &[Date]) -> Vec<usize> {
    if days.len() <= 16 {
        return (0..days.len()).collect();
    }
    days.iter()
        .enumerate()
        .filter(|(i, d)| (*i == 0 && d.day() <= 10) || d.day() == 1 || d.day() == 15)
        .map(|(i, _)| i)
        .collect()
}

impl Chart<'_> {
    fn x(&self, index: usize) -> f64 {
        let n = self.days.len().max(1) as f64;
        LEFT + (index as f64 + 0.5) * PLOT_WIDTH / n
    }

    fn y(&self, value: f64) -> f64 {
        let span = (self.y_max - self.y_min).max(f64::EPSILON);
        let value = value.clamp(self.y_min, self.y_max);
        TOP + PLOT_HEIGHT * (1.0 - (value - self.y_min) / span)
    }

    pub(crate) fn render(&self) -> String {
        let mut svg = String::with_capacity(8192);
        let _ = write!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
             class=\"chart\" role=\"img\" font-family=\"sans-serif\" font-size=\"12\">\
             <title>{}</title>",
            self.title
        );
        // Horizontal grid and the y axis's ticks.
        for step in 0..=4 {
            let value = self.y_min + (self.y_max - self.y_min) * f64::from(step) / 4.0;
            let y = self.y(value);
            let _ = write!(
                svg,
                "<line x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#d9d9d9\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#333\">{}</text>",
                LEFT + PLOT_WIDTH,
                LEFT - 6.0,
                y + 4.0,
                number(value)
            );
        }
        // The axes.
        let _ = write!(
            svg,
            "<line x1=\"{LEFT:.1}\" y1=\"{TOP:.1}\" x2=\"{LEFT:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\
             <line x1=\"{LEFT:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>",
            TOP + PLOT_HEIGHT,
            TOP + PLOT_HEIGHT,
            LEFT + PLOT_WIDTH,
            TOP + PLOT_HEIGHT
        );
        // Dated ticks.
        for index in labelled(self.days) {
            let Some(day) = self.days.get(index) else {
                continue;
            };
            let x = self.x(index);
            let _ = write!(
                svg,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
                TOP + PLOT_HEIGHT,
                TOP + PLOT_HEIGHT + 5.0,
                TOP + PLOT_HEIGHT + 18.0,
                day_label(*day)
            );
        }
        // Axis labels.
        let _ = write!(
            svg,
            "<text class=\"axis-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#111\">{}</text>\
             <text class=\"axis-label\" transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\" fill=\"#111\">{}</text>",
            LEFT + PLOT_WIDTH / 2.0,
            HEIGHT - 12.0,
            self.x_label,
            TOP + PLOT_HEIGHT / 2.0,
            self.y_label
        );
        // The data.
        let slot = PLOT_WIDTH / self.days.len().max(1) as f64;
        let bars = self.series.len().max(1) as f64;
        for (number_of_series, series) in self.series.iter().enumerate() {
            match self.kind {
                Kind::Lines => self.lines(&mut svg, series),
                Kind::Bars => {
                    let width = slot * 0.7 / bars;
                    for (index, value) in series.values.iter().enumerate() {
                        let Some(value) = value else { continue };
                        if *value <= self.y_min {
                            continue;
                        }
                        let x = self.x(index) - slot * 0.35 + width * number_of_series as f64;
                        let y = self.y(*value);
                        let _ = write!(
                            svg,
                            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.2}\" height=\"{:.1}\" fill=\"{}\"/>",
                            (TOP + PLOT_HEIGHT - y).max(0.0),
                            series.colour
                        );
                    }
                }
            }
        }
        // The legend.
        let mut x = LEFT;
        for series in &self.series {
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{}\"/>\
                 <text x=\"{:.1}\" y=\"18\" fill=\"#111\">{}</text>",
                series.colour,
                x + 16.0,
                series.label
            );
            x += 24.0 + 8.0 * series.label.len() as f64;
        }
        svg.push_str("</svg>");
        svg
    }

    /// Polylines through the days with a value, broken where a day has none; a dot on each
    /// day of a short period and on each isolated day.
    fn lines(&self, svg: &mut String, series: &Series) {
        let mut segment: Vec<(f64, f64)> = Vec::new();
        let dots = self.days.len() <= 31;
        let flush = |segment: &mut Vec<(f64, f64)>, svg: &mut String| {
            if segment.len() > 1 {
                let points: Vec<String> = segment
                    .iter()
                    .map(|(x, y)| format!("{x:.1},{y:.1}"))
                    .collect();
                let _ = write!(
                    svg,
                    "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
                    series.colour,
                    points.join(" ")
                );
            }
            if dots || segment.len() == 1 {
                for (x, y) in segment.iter() {
                    let _ = write!(
                        svg,
                        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{}\"/>",
                        series.colour
                    );
                }
            }
            segment.clear();
        };
        for (index, value) in series.values.iter().enumerate() {
            match value {
                Some(value) => segment.push((self.x(index), self.y(*value))),
                None => flush(&mut segment, &mut *svg),
            }
        }
        flush(&mut segment, &mut *svg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_axes() {
        assert_eq!(number(100.0), "100");
        assert_eq!(number(99.25), "99.25");
        assert_eq!(number(99.5), "99.5");
        assert_eq!(number(0.0), "0");
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(0.7), 1.0);
        assert_eq!(nice_ceiling(1.2), 2.0);
        assert_eq!(nice_ceiling(230.0), 250.0);
        assert_eq!(nice_ceiling(584.6), 1000.0);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
        assert_eq!(uptime_floor([100.0, 100.0].into_iter()), 99.0);
        assert_eq!(uptime_floor([100.0, 97.57].into_iter()), 95.0);
        assert_eq!(uptime_floor([12.0].into_iter()), 0.0);
    }

    #[test]
    fn long_periods_are_dated_on_the_1st_and_15th() {
        let days: Vec<Date> = (1..=31)
            .filter_map(|d| Date::new(2026, 10, d).ok())
            .collect();
        assert_eq!(labelled(&days), [0, 14]);
        assert_eq!(day_label(Date::constant(2026, 11, 23)), "23 Nov");
    }
}
