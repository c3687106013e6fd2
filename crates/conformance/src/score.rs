//! Counting agreement: per corpus and field, how many values were compared and how many
//! agreed, and every disagreement with both values.
//!
//! Counting rules, the same for every corpus:
//! - A field is compared when at least one side has a value. Both unset is not counted (it
//!   would inflate agreement with fields neither tool could fill). One side unset and the
//!   other set is a disagreement, written with `-` for the unset side.
//! - A reference record that flowsight has no record for is counted in the `<log>.record`
//!   row (compared, not agreed), and its fields are not compared (they would all disagree
//!   and hide which fields are really wrong). flowsight records that no reference record
//!   matched are counted as `extra` in the same row: informational, since every reference
//!   tool logs less than it sees (bare-mode Zeek, tshark's port-based dissection).
//! - Values the rules exclude (documented where the rule is) are counted as `excluded`
//!   with the rule's name, not compared.
//! - Fields whose difference is by definition (Zeek's sniffed MIME types against
//!   Content-Type) are reported but do not take part in the pass/fail gate.

use crate::text;
use serde::Serialize;
use std::collections::BTreeMap;

/// Agreement counts of one field of one corpus.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FieldStats {
    /// Values compared.
    pub compared: u64,
    /// Values that agreed.
    pub agreed: u64,
    /// Values excluded by a documented rule.
    pub excluded: u64,
    /// Records flowsight wrote that no reference record matched (`*.record` rows only).
    pub extra: u64,
    /// Whether the field takes part in the pass/fail gate.
    pub gate: bool,
}

/// One value two tools disagree on.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Disagreement {
    /// `zeek`, `ndpi`, `ja4`, `tshark` or `robustness`.
    pub corpus: String,
    /// Capture path below the corpora folder.
    pub capture: String,
    /// Which record: connection, and the transaction's position or id.
    pub key: String,
    /// Field, in the reference tool's naming.
    pub field: String,
    /// What the reference tool says (`-`: unset).
    pub reference: String,
    /// What flowsight says (`-`: unset, `missing`: no record).
    pub flowsight: String,
}

/// Counts and disagreements of a whole run.
#[derive(Debug, Default)]
pub struct Scoreboard {
    /// Per (corpus, field).
    pub fields: BTreeMap<(String, String), FieldStats>,
    /// Every disagreement, in the order found.
    pub disagreements: Vec<Disagreement>,
    /// Exclusions per (corpus, rule).
    pub exclusions: BTreeMap<(String, String), u64>,
}

/// Fields reported but outside the gate, with why.
pub const INFORMATIONAL: &[(&str, &str, &str)] = &[
    (
        "zeek",
        "http.version(reply)",
        "Zeek logs the reply's HTTP version once there is a reply; flowsight the request's",
    ),
    (
        "zeek",
        "http.resp_mime_types",
        "Zeek sniffs the body (libmagic signatures); flowsight logs the Content-Type header",
    ),
];

impl Scoreboard {
    /// A scope that records under `corpus` for `capture`.
    pub fn scope<'a>(&'a mut self, corpus: &'static str, capture: &str) -> Scope<'a> {
        Scope {
            board: self,
            corpus,
            capture: capture.to_string(),
        }
    }

    fn stats(&mut self, corpus: &str, field: &str) -> &mut FieldStats {
        self.fields
            .entry((corpus.to_string(), field.to_string()))
            .or_insert_with(|| FieldStats {
                gate: !INFORMATIONAL
                    .iter()
                    .any(|(c, f, _)| *c == corpus && *f == field),
                ..FieldStats::default()
            })
    }

    /// Adds another board's counts (from a parallel worker).
    pub fn merge(&mut self, other: Scoreboard) {
        for ((c, f), s) in other.fields {
            let t = self.stats(&c, &f);
            t.compared += s.compared;
            t.agreed += s.agreed;
            t.excluded += s.excluded;
            t.extra += s.extra;
        }
        self.disagreements.extend(other.disagreements);
        for (k, n) in other.exclusions {
            *self.exclusions.entry(k).or_default() += n;
        }
    }
}

/// Where comparisons of one capture against one reference are recorded.
pub struct Scope<'a> {
    board: &'a mut Scoreboard,
    corpus: &'static str,
    capture: String,
}

/// Maximum characters of a value in the disagreement files.
pub const MAX_VALUE: usize = 200;

impl Scope<'_> {
    /// Compares one field: counted when either side has a value; agreed when equal.
    pub fn check(
        &mut self,
        key: &str,
        field: &str,
        reference: Option<&str>,
        flowsight: Option<&str>,
    ) {
        if reference.is_none() && flowsight.is_none() {
            return;
        }
        let agreed = reference == flowsight;
        self.count(
            key,
            field,
            agreed,
            reference.unwrap_or("-"),
            flowsight.unwrap_or("-"),
        );
    }

    /// Compares one field only when the reference has a value (for fields the reference
    /// leaves unset by design where flowsight still writes something, documented at the call).
    pub fn check_if_reference(
        &mut self,
        key: &str,
        field: &str,
        reference: Option<&str>,
        flowsight: Option<&str>,
    ) {
        if reference.is_some() {
            self.check(key, field, reference, flowsight);
        }
    }

    /// Records an already decided comparison.
    pub fn count(
        &mut self,
        key: &str,
        field: &str,
        agreed: bool,
        reference: &str,
        flowsight: &str,
    ) {
        let s = self.board.stats(self.corpus, field);
        s.compared += 1;
        if agreed {
            s.agreed += 1;
        } else {
            self.board.disagreements.push(Disagreement {
                corpus: self.corpus.to_string(),
                capture: self.capture.clone(),
                key: key.to_string(),
                field: field.to_string(),
                reference: text::cell(reference, MAX_VALUE),
                flowsight: text::cell(flowsight, MAX_VALUE),
            });
        }
    }

    /// Records whether flowsight has a record for a reference record (`field` is
    /// `<log>.record`).
    pub fn present(&mut self, key: &str, field: &str, found: bool) {
        self.count(
            key,
            field,
            found,
            "present",
            if found { "present" } else { "missing" },
        );
    }

    /// Counts flowsight records no reference record matched.
    pub fn extra(&mut self, field: &str, n: u64) {
        if n > 0 {
            self.board.stats(self.corpus, field).extra += n;
        }
    }

    /// Counts values a documented rule excluded.
    pub fn exclude(&mut self, field: &str, rule: &str, n: u64) {
        if n == 0 {
            return;
        }
        self.board.stats(self.corpus, field).excluded += n;
        *self
            .board
            .exclusions
            .entry((self.corpus.to_string(), rule.to_string()))
            .or_default() += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_lists_disagreements() {
        let mut b = Scoreboard::default();
        let mut s = b.scope("zeek", "zeek/Traces/a.pcap");
        s.check("k", "http.method", Some("GET"), Some("GET"));
        s.check("k", "http.uri", Some("/a"), Some("/b"));
        s.check("k", "http.referrer", None, None);
        s.check("k", "http.user_agent", None, Some("curl"));
        s.check_if_reference("k", "ssl.version", None, Some("TLSv12"));
        s.present("k2", "http.record", false);
        s.extra("http.record", 3);
        s.exclude("http.record", "quic", 2);
        let get = |f: &str| b.fields[&("zeek".to_string(), f.to_string())].clone();
        assert_eq!(
            (get("http.method").compared, get("http.method").agreed),
            (1, 1)
        );
        assert_eq!((get("http.uri").compared, get("http.uri").agreed), (1, 0));
        assert!(
            !b.fields
                .contains_key(&("zeek".into(), "http.referrer".into()))
        );
        assert!(
            !b.fields
                .contains_key(&("zeek".into(), "ssl.version".into()))
        );
        let rec = get("http.record");
        assert_eq!(
            (rec.compared, rec.agreed, rec.extra, rec.excluded),
            (1, 0, 3, 2)
        );
        assert_eq!(b.disagreements.len(), 3);
        assert_eq!(b.disagreements[1].reference, "-");
        assert_eq!(b.disagreements[2].flowsight, "missing");
    }

    #[test]
    fn mime_types_are_outside_the_gate() {
        let mut b = Scoreboard::default();
        b.scope("zeek", "c")
            .check("k", "http.resp_mime_types", Some("a"), Some("b"));
        b.scope("zeek", "c")
            .check("k", "http.method", Some("a"), Some("a"));
        assert!(!b.fields[&("zeek".into(), "http.resp_mime_types".into())].gate);
        assert!(b.fields[&("zeek".into(), "http.method".into())].gate);
    }

    #[test]
    fn merging_adds_up() {
        let mut a = Scoreboard::default();
        a.scope("ja4", "c").check("k", "ja4", Some("x"), Some("x"));
        let mut b = Scoreboard::default();
        b.scope("ja4", "d").check("k", "ja4", Some("x"), Some("y"));
        a.merge(b);
        let s = &a.fields[&("ja4".into(), "ja4".into())];
        assert_eq!((s.compared, s.agreed), (2, 1));
        assert_eq!(a.disagreements.len(), 1);
    }
}
