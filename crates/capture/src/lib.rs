//! flowsight-capture.
