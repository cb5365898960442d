//! What `guichet tpp` writes: a table or JSON on stdout, notes on stderr. A reader that goes
//! away (`guichet tpp export … | head`) ends the output cleanly instead of a panic, and with
//! `--json` errors are JSON on stdout too.

use std::io::Write;

use guichet_tpp::TppError;

/// Writes `text` to `out` and flushes; a reader that went away (`BrokenPipe`) is a clean end
/// of the output, not an error.
pub fn write_clean(out: &mut impl Write, text: &[u8]) -> std::io::Result<()> {
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes `text` to stdout (see [`write_clean`]).
pub fn stdout(text: &str) -> anyhow::Result<()> {
    write_clean(&mut std::io::stdout().lock(), text.as_bytes())
        .map_err(|e| anyhow::anyhow!("writing to stdout: {e}"))
}

/// A line for the person at the terminal, on stderr; never fails.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// How a command answers: JSON or a table for people.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// `value` as JSON with `--json`, else the text `table` makes.
    pub fn show<T: serde::Serialize>(
        &self,
        value: &T,
        table: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            stdout(&format!("{}\n", serde_json::to_string_pretty(value)?))
        } else {
            stdout(&table())
        }
    }
}

/// An error as JSON: `{"error": {"kind", "message", …}}`, with the bank's fields when it is a
/// [`TppError`].
pub fn error_json(error: &anyhow::Error) -> serde_json::Value {
    let mut detail = match error.downcast_ref::<TppError>() {
        Some(e) => e.to_json(),
        None => serde_json::json!({"kind": "error"}),
    };
    detail["message"] = serde_json::json!(format!("{error:#}"));
    serde_json::json!({ "error": detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct GoneReader;

    impl Write for GoneReader {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_a_clean_end_and_other_errors_are_not() {
        assert!(write_clean(&mut GoneReader, b"bank,iban\n").is_ok());
        assert!(write_clean(&mut Full, b"bank,iban\n").is_err());
        let mut buffer = Vec::new();
        assert!(write_clean(&mut buffer, b"ok\n").is_ok());
        assert_eq!(buffer, b"ok\n");
    }

    #[test]
    fn errors_as_json_keep_the_kind() {
        let error = anyhow::Error::from(TppError::NotLoggedIn("30258".into()));
        let value = error_json(&error);
        assert_eq!(value["error"]["kind"], "notLoggedIn");
        assert_eq!(value["error"]["bank"], "30258");
        let other = error_json(&anyhow::anyhow!("config.toml: no such file"));
        assert_eq!(other["error"]["kind"], "error");
        assert_eq!(other["error"]["message"], "config.toml: no such file");
    }
}
