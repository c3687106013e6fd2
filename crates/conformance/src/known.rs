//! Disagreements the project keeps on purpose: `conformance/known-disagreements.tsv`.
//!
//! Columns: `corpus capture key field verdict reason`. `corpus`, `capture`, `key` and
//! `field` match a disagreement exactly, or by prefix when they end in `*` (a lone `*`
//! matches anything), so one line can cover every field of a capture. `verdict` is one of:
//! - `reference-wrong`: the reference tool is wrong (a bug, a guess by port);
//! - `by-design`: the tools define the value differently (documented in the reason);
//! - `out-of-scope`: flowsight does not do this (STARTTLS, tunnels it does not open, ...);
//! - `flowsight-bug`: flowsight is wrong and it is tracked (the reason names the issue).
//!
//! Lines starting with `#` and blank lines are ignored.

use crate::score::Disagreement;
use anyhow::{Result, bail};
use serde::Serialize;

/// The verdicts a known disagreement may carry.
pub const VERDICTS: &[&str] = &[
    "reference-wrong",
    "by-design",
    "out-of-scope",
    "flowsight-bug",
];

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Known {
    /// Corpus pattern.
    pub corpus: String,
    /// Capture pattern.
    pub capture: String,
    /// Key pattern.
    pub key: String,
    /// Field pattern.
    pub field: String,
    /// One of [`VERDICTS`].
    pub verdict: String,
    /// Why the disagreement is kept.
    pub reason: String,
    /// Line number in the file, for reports.
    pub line: usize,
}

fn matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

impl Known {
    /// Whether this line covers the disagreement.
    pub fn covers(&self, d: &Disagreement) -> bool {
        matches(&self.corpus, &d.corpus)
            && matches(&self.capture, &d.capture)
            && matches(&self.key, &d.key)
            && matches(&self.field, &d.field)
    }
}

/// Parses the file. A line with the wrong number of columns or an unknown verdict is an
/// error: a typo must not silently stop excusing (or start excusing) disagreements.
pub fn parse(text: &str) -> Result<Vec<Known>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let c: Vec<&str> = line.split('\t').collect();
        if c.len() != 6 {
            bail!(
                "known disagreements line {}: {} columns, want 6",
                i + 1,
                c.len()
            );
        }
        if c[0] == "corpus" && c[1] == "capture" {
            continue;
        }
        if !VERDICTS.contains(&c[4]) {
            bail!(
                "known disagreements line {}: verdict {:?} is not one of {VERDICTS:?}",
                i + 1,
                c[4]
            );
        }
        out.push(Known {
            corpus: c[0].into(),
            capture: c[1].into(),
            key: c[2].into(),
            field: c[3].into(),
            verdict: c[4].into(),
            reason: c[5].into(),
            line: i + 1,
        });
    }
    Ok(out)
}

/// Disagreements sorted by whether the file knows them.
#[derive(Debug, Default)]
pub struct Matched<'a> {
    /// Known disagreements with the line that covers them.
    pub known: Vec<(&'a Disagreement, &'a Known)>,
    /// Disagreements no line covers.
    pub new: Vec<&'a Disagreement>,
    /// Lines that covered nothing this run (fixed, or the capture was not run).
    pub stale: Vec<&'a Known>,
}

/// Matches a run's disagreements against the file (the first covering line wins).
pub fn match_all<'a>(found: &'a [Disagreement], known: &'a [Known]) -> Matched<'a> {
    let mut m = Matched::default();
    let mut used = vec![false; known.len()];
    for d in found {
        match known.iter().position(|k| k.covers(d)) {
            Some(i) => {
                used[i] = true;
                m.known.push((d, &known[i]));
            }
            None => m.new.push(d),
        }
    }
    m.stale = known
        .iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(k, _)| k)
        .collect();
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(capture: &str, key: &str, field: &str) -> Disagreement {
        Disagreement {
            corpus: "zeek".into(),
            capture: capture.into(),
            key: key.into(),
            field: field.into(),
            reference: "a".into(),
            flowsight: "b".into(),
        }
    }

    const FILE: &str = "corpus\tcapture\tkey\tfield\tverdict\treason
# STARTTLS
zeek\tzeek/Traces/tls/imap-starttls.pcap\t*\t*\tout-of-scope\tTLS after STARTTLS
zeek\tzeek/Traces/http/*\t10.0.0.1:1 10.0.0.2:80 #1\thttp.uri\treference-wrong\tZeek cuts the URI

ndpi\tx.pcap\t*\tja4\tflowsight-bug\tissue 12
";

    #[test]
    fn parses_and_matches() {
        let k = parse(FILE).unwrap();
        assert_eq!(k.len(), 3);
        let found = vec![
            d("zeek/Traces/tls/imap-starttls.pcap", "any", "ssl.record"),
            d(
                "zeek/Traces/http/a.pcap",
                "10.0.0.1:1 10.0.0.2:80 #1",
                "http.uri",
            ),
            d(
                "zeek/Traces/http/a.pcap",
                "10.0.0.1:1 10.0.0.2:80 #2",
                "http.uri",
            ),
        ];
        let m = match_all(&found, &k);
        assert_eq!(m.known.len(), 2);
        assert_eq!(m.known[0].1.verdict, "out-of-scope");
        assert_eq!(m.new.len(), 1);
        assert_eq!(m.new[0].key, "10.0.0.1:1 10.0.0.2:80 #2");
        assert_eq!(m.stale.len(), 1);
        assert_eq!(m.stale[0].line, 6);
    }

    #[test]
    fn rejects_typos() {
        assert!(parse("zeek\tc\tk\tf\twrong\treason\n").is_err());
        assert!(parse("zeek\tc\tk\tf\treason\n").is_err());
    }
}
