//! flowsight-abi.
