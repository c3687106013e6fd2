//! flowsight-host.
