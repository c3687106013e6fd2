//! flowsight-sink.
