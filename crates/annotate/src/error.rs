//! Errors of the annotation subsystem.

/// Why a filter or a record log could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    /// libpcap, which compiles filter expressions, is not installed.
    #[error(
        "filter expressions need libpcap (libpcap.so.0.8 or libpcap.so.1; Debian: apt-get install libpcap0.8): {0}"
    )]
    NoLibpcap(String),
    /// libpcap rejected the filter expression.
    #[error("bad filter expression {expression:?}: {message}")]
    BadExpression {
        /// The expression as given.
        expression: String,
        /// libpcap's message.
        message: String,
    },
    /// The record log could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line of the record log is not JSON.
    #[error("{path}:{line}: not a JSON record: {message}")]
    BadRecord {
        /// The file.
        path: String,
        /// The line number (1-based).
        line: usize,
        /// What the JSON parser said.
        message: String,
    },
}
