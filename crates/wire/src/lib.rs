//! flowsight-wire.
