//! A run's results: a terminal summary, JUnit XML for CI systems, a self-contained HTML page.

use std::fmt::Write as _;
use std::time::Duration;

use super::{CaseResult, ConformanceError};

/// The results of a run, in the order the cases ran.
#[derive(Debug, Clone)]
pub struct Report {
    pub results: Vec<CaseResult>,
    pub started_at: jiff::Timestamp,
    pub duration: Duration,
    /// The banks under test: (code, API base URL).
    pub banks: Vec<(String, String)>,
}

impl CaseResult {
    /// `✓ id — title`, `✗ id — got (expected: …) [X-Request-ID …]`, `- id — skipped: why`.
    pub fn progress_line(&self) -> String {
        let outcome = &self.outcome;
        if outcome.skipped {
            format!("- {} — skipped: {}", self.id, outcome.got)
        } else if outcome.passed {
            format!("✓ {} — {}", self.id, self.title)
        } else {
            let mut line = format!(
                "✗ {} — {} (expected: {})",
                self.id, outcome.got, outcome.expected
            );
            if let Some(id) = &outcome.request_id {
                let _ = write!(line, " [X-Request-ID {id}]");
            }
            line
        }
    }

    fn failed(&self) -> bool {
        !self.outcome.passed && !self.outcome.skipped
    }
}

impl Report {
    pub fn total(&self) -> usize {
        self.results.len()
    }

    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome.passed && !r.outcome.skipped)
            .count()
    }

    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| r.failed()).count()
    }

    pub fn skipped(&self) -> usize {
        self.results.iter().filter(|r| r.outcome.skipped).count()
    }

    /// No case failed (skipped ones aside).
    pub fn all_passed(&self) -> bool {
        self.failed() == 0
    }

    /// The failed cases.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.results.iter().filter(|r| r.failed())
    }

    /// `51 cases: 49 passed, 2 failed, 0 skipped in 12.3 s`, then each failure with why.
    pub fn terminal_summary(&self) -> String {
        let mut text = format!(
            "{} cases: {} passed, {} failed, {} skipped in {:.1} s",
            self.total(),
            self.passed(),
            self.failed(),
            self.skipped(),
            self.duration.as_secs_f64()
        );
        for failure in self.failures() {
            let outcome = &failure.outcome;
            let _ = write!(
                text,
                "\n  ✗ {}\n      expected: {}\n      got:      {}",
                failure.id, outcome.expected, outcome.got
            );
            if let Some(id) = &outcome.request_id {
                let _ = write!(text, "\n      X-Request-ID: {id}");
            }
        }
        text
    }

    /// JUnit XML: one `testsuite`, a `testcase` per case (its class the id's prefix), with a
    /// `failure` saying expected, got and the X-Request-ID, or `skipped`.
    pub fn junit_xml(&self) -> String {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            xml,
            "<testsuites name=\"guichet conformance\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
            self.total(),
            self.failed(),
            self.skipped(),
            self.duration.as_secs_f64()
        );
        let _ = writeln!(
            xml,
            "  <testsuite name=\"STET PSD2 v1.4.2 conformance\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\" timestamp=\"{}\">",
            self.total(),
            self.failed(),
            self.skipped(),
            self.duration.as_secs_f64(),
            xml_escape(&self.started_at.to_string())
        );
        if !self.banks.is_empty() {
            xml.push_str("    <properties>\n");
            for (code, base) in &self.banks {
                let _ = writeln!(
                    xml,
                    "      <property name=\"bank.{}\" value=\"{}\"/>",
                    xml_escape(code),
                    xml_escape(base)
                );
            }
            xml.push_str("    </properties>\n");
        }
        for result in &self.results {
            let class = result
                .id
                .rsplit_once('/')
                .map_or(result.id, |(prefix, _)| prefix);
            let _ = write!(
                xml,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(class),
                xml_escape(result.id),
                result.duration.as_secs_f64()
            );
            let outcome = &result.outcome;
            if outcome.skipped {
                let _ = writeln!(
                    xml,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml_escape(&outcome.got)
                );
            } else if outcome.passed {
                let _ = writeln!(
                    xml,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    xml_escape(&details(result))
                );
            } else {
                let message = format!("expected: {} — got: {}", outcome.expected, outcome.got);
                let _ = writeln!(
                    xml,
                    ">\n      <failure message=\"{}\" type=\"nonconformance\">{}</failure>\n    </testcase>",
                    xml_escape(&message),
                    xml_escape(&details(result))
                );
            }
        }
        xml.push_str("  </testsuite>\n</testsuites>\n");
        xml
    }

    /// A self-contained HTML page (no script, no external resource): the summary, then a row
    /// per case.
    pub fn html(&self) -> Result<String, ConformanceError> {
        let mut page = String::from(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Guichet conformance report</title>\n<style>\n",
        );
        page.push_str(STYLE);
        page.push_str("</style>\n</head>\n<body>\n<h1>STET PSD2 v1.4.2 conformance</h1>\n");
        let verdict = if self.all_passed() { "pass" } else { "fail" };
        let _ = writeln!(
            page,
            "<p class=\"summary {verdict}\">{} cases: <strong>{}</strong> passed, <strong>{}</strong> failed, {} skipped — started {}, {:.1} s</p>",
            self.total(),
            self.passed(),
            self.failed(),
            self.skipped(),
            html_escape(&self.started_at.to_string()),
            self.duration.as_secs_f64()
        );
        if !self.banks.is_empty() {
            page.push_str("<ul class=\"banks\">\n");
            for (code, base) in &self.banks {
                let _ = writeln!(
                    page,
                    "<li>{} <code>{}</code></li>",
                    html_escape(code),
                    html_escape(base)
                );
            }
            page.push_str("</ul>\n");
        }
        page.push_str("<table>\n<thead><tr><th></th><th>Case</th><th>Expected</th><th>Got</th><th>X-Request-ID</th><th>Time</th></tr></thead>\n<tbody>\n");
        for result in &self.results {
            let outcome = &result.outcome;
            let (class, mark) = if outcome.skipped {
                ("skipped", "–")
            } else if outcome.passed {
                ("passed", "✓")
            } else {
                ("failed", "✗")
            };
            let _ = writeln!(
                page,
                "<tr class=\"{class}\"><td class=\"mark\">{mark}</td><td><code>{}</code><br><span class=\"title\">{}</span></td><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"time\">{:.2} s</td></tr>",
                html_escape(result.id),
                html_escape(result.title),
                html_escape(&outcome.expected),
                html_escape(&outcome.got),
                html_escape(outcome.request_id.as_deref().unwrap_or("")),
                result.duration.as_secs_f64()
            );
        }
        page.push_str("</tbody>\n</table>\n</body>\n</html>\n");
        Ok(page)
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1d1d1f}\
h1{font-size:1.4rem}\
.summary{font-size:1.1rem;padding:.6rem 1rem;border-radius:6px}\
.summary.pass{background:#e6f4ea}.summary.fail{background:#fce8e6}\
table{border-collapse:collapse;width:100%;font-size:.9rem}\
th,td{border-bottom:1px solid #ddd;padding:.4rem .5rem;text-align:left;vertical-align:top}\
th{background:#f5f5f7}\
tr.failed td{background:#fff4f2}tr.skipped td{color:#888}\
td.mark{font-weight:bold;font-size:1.1rem}tr.passed td.mark{color:#1e8e3e}tr.failed td.mark{color:#d93025}\
.title{color:#555}td.time{white-space:nowrap}code{font-size:.85rem;word-break:break-all}\n";

/// The text a JUnit reader shows under a case.
fn details(result: &CaseResult) -> String {
    let outcome = &result.outcome;
    let mut text = format!(
        "{}\nexpected: {}\ngot: {}",
        result.title, outcome.expected, outcome.got
    );
    if let Some(id) = &outcome.request_id {
        let _ = write!(text, "\nX-Request-ID: {id}");
    }
    text
}

/// Escapes text for XML content and attributes, dropping the characters XML 1.0 forbids.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML content and attributes.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::Outcome;

    fn report() -> Report {
        let result = |id: &'static str, passed: bool, skipped: bool| CaseResult {
            id,
            title: "a <title> & more",
            outcome: Outcome {
                passed,
                skipped,
                expected: "200 \"OK\"".into(),
                got: "406 <html>\u{1}".into(),
                request_id: Some("rid-1".into()),
            },
            duration: Duration::from_millis(12),
        };
        Report {
            results: vec![
                result("portal/a", true, false),
                result("stet/1.4.2/b", false, false),
                result("portal/c", true, true),
            ],
            started_at: jiff::Timestamp::UNIX_EPOCH,
            duration: Duration::from_secs(1),
            banks: vec![(
                "17515".into(),
                "https://127.0.0.1:1/stet/psd2/v1.4.2".into(),
            )],
        }
    }

    #[test]
    fn junit_counts_and_escapes() {
        let xml = report().junit_xml();
        assert!(xml.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""));
        assert_eq!(xml.matches("<testcase ").count(), 3);
        assert_eq!(xml.matches("<failure ").count(), 1);
        assert!(xml.contains("classname=\"stet/1.4.2\" name=\"stet/1.4.2/b\""));
        assert!(xml.contains("406 &lt;html&gt;"));
        assert!(!xml.contains('\u{1}'));
        assert!(xml.contains("X-Request-ID: rid-1"));
    }

    #[test]
    fn html_is_escaped_and_summarised() -> Result<(), ConformanceError> {
        let page = report().html()?;
        assert!(page.contains("a &lt;title&gt; &amp; more"));
        assert!(!page.contains("<html>\u{1}"));
        assert!(page.contains("class=\"summary fail\""));
        Ok(())
    }

    #[test]
    fn the_summary_names_each_failure() {
        let report = report();
        let text = report.terminal_summary();
        assert!(text.starts_with("3 cases: 1 passed, 1 failed, 1 skipped"));
        assert!(text.contains("✗ stet/1.4.2/b"));
        assert!(text.contains("X-Request-ID: rid-1"));
        assert!(!report.all_passed());
    }
}
