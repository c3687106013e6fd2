//! flowsight's outputs. Each sink consumes [`Record`]s handed to it by the pipeline; none of
//! them starts capture or owns a capture thread.

mod json;
mod json_dns;
mod json_flow;
mod json_http;
mod json_text;
mod json_tls;
mod metrics;
mod tee;
pub mod top;

pub use json::JsonLines;
pub use metrics::{DEFAULT_MAX_SERIES, Metrics, MetricsSink};
pub use tee::Tee;

use flowsight_record::Record;

/// Why a sink could not write.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing to the destination failed (disk full, closed pipe, ...).
    #[error("writing records: {0}")]
    Io(#[from] std::io::Error),
    /// A record could not be serialized (a bug: every record type serializes).
    #[error("serializing a {kind} record: {message}")]
    Serialize {
        /// The record's `type`.
        kind: &'static str,
        /// The serializer's message.
        message: String,
    },
}

/// Something that consumes records.
pub trait Sink {
    /// Take one record.
    fn write(&mut self, record: &Record) -> Result<(), SinkError>;
    /// Push buffered records to their destination; called at least once a second in live
    /// mode, so readers of a pipe see records promptly.
    fn flush(&mut self) -> Result<(), SinkError>;
}

/// How much a flow total grew since the last record of the flow (flow records carry totals
/// since the flow began). Totals only grow; a smaller number is a flow restarted under the
/// same identity, counted from zero.
pub(crate) fn grew(now: u64, before: u64) -> u64 {
    now.checked_sub(before).unwrap_or(now)
}
