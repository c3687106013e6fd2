//! flowsight's conformance check: flowsight's logs of public captures compared field by
//! field with what Zeek, nDPI, the JA4 project and tshark say about the same captures.
//!
//! The library holds everything but the process handling: readers for each reference
//! format (`reference`), a reader for flowsight's JSON lines (`fslog`), one explicit mapping
//! per reference tool (`compare`), the counts (`score`), the list of disagreements the project
//! keeps (`known`) and the report (`report`). The `fs-conformance` binary finds the captures
//! (`corpus`), runs `flowsight read` on each (`run`) and ties it together (`conform`).
//!
//! README.md beside this crate explains how to run it and lists the exclusion rules; each
//! rule is also written where it is applied.

pub mod compare;
pub mod conform;
pub mod corpus;
pub mod dns_names;
pub mod fslog;
pub mod key;
pub mod known;
pub mod reference;
pub mod report;
pub mod run;
pub mod score;
pub mod text;
