//! flowsight-flow.
