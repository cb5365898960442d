//! What went wrong in a camt file, and where: the line and the element path, so that a bank's
//! operator can open the file at the right place.

/// A camt file that cannot be read: not XML, not well formed, not a camt.052/053 of version 02
/// or 08, or a value the model cannot hold.
///
/// Shown as `line 42, Document/BkToCstmrStmt/Stmt/Ntry/Amt: 'abc' is not an amount`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, {element}: {message}")]
pub struct CamtError {
    /// The line (from 1) where the element at fault starts; for a file that is not well
    /// formed, the line the XML parser had reached.
    pub line: u64,
    /// The path of the element at fault from the root, like
    /// `Document/BkToCstmrStmt/Stmt/Ntry/Amt`; `(top level)` outside the root element.
    pub element: String,
    /// What is wrong, quoting the value at fault.
    pub message: String,
}

impl CamtError {
    /// An error at `line` in `element`.
    pub fn new(line: u64, element: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            line,
            element: element.into(),
            message: message.into(),
        }
    }
}

/// The result of reading camt.
pub type Result<T> = std::result::Result<T, CamtError>;

/// The first `max` characters of a value quoted in a message, so that a huge text does not
/// make a huge message.
pub(crate) fn shorten(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}
