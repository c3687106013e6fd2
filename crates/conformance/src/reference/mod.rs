//! Readers for the reference tools' outputs. Each reader turns one file format into plain
//! values and knows nothing about flowsight; the comparisons are in `compare`.

pub mod ja4;
pub mod ndpi;
pub mod tshark;
pub mod zeek;
