//! The results: the agreement table, the JSON summary, and the disagreement file.

use crate::known::{Known, Matched};
use crate::score::{Disagreement, INFORMATIONAL, Scoreboard};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One row of the table: a field of a corpus.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Corpus.
    pub corpus: String,
    /// Field, in the reference tool's naming.
    pub field: String,
    /// Values compared.
    pub compared: u64,
    /// Values that agreed.
    pub agreed: u64,
    /// `agreed / compared`, percent.
    pub percent: f64,
    /// Disagreements the known file covers.
    pub known: u64,
    /// Of those, the ones whose verdict is `reference-wrong`.
    pub reference_wrong: u64,
    /// Disagreements the known file does not cover.
    pub new: u64,
    /// Values excluded by documented rules.
    pub excluded: u64,
    /// flowsight records with no reference record (`*.record` rows).
    pub extra: u64,
    /// `agreed / (compared - known)`, percent: what the gate checks.
    pub percent_without_known: f64,
    /// Whether the field takes part in the gate.
    pub gate: bool,
    /// Whether it passes (always true outside the gate).
    pub pass: bool,
}

/// Robustness counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Robustness {
    /// Captures run.
    pub captures: u64,
    /// Exit 0 without stderr.
    pub clean: u64,
    /// Exit 0 with a warning.
    pub warnings: u64,
    /// Non-zero exits.
    pub errors: u64,
    /// Panics.
    pub panics: u64,
    /// Killed by a signal.
    pub crashes: u64,
    /// Killed after the time limit.
    pub timeouts: u64,
    /// Captures whose outcome was not clean, with the outcome.
    pub failures: Vec<(String, String)>,
}

/// Everything the run found.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Table rows, by corpus then field.
    pub rows: Vec<Row>,
    /// Sums over the gated rows.
    pub overall: Overall,
    /// Robustness.
    pub robustness: Robustness,
    /// Values excluded, by (corpus, rule).
    pub exclusions: Vec<(String, String, u64)>,
    /// Known-file lines that covered nothing.
    pub stale_known: Vec<Known>,
    /// Fields below the threshold, and broken runs: why the run fails.
    pub failures: Vec<String>,
    /// The gate's threshold, percent.
    pub threshold: f64,
}

/// Sums over gated rows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overall {
    /// Values compared.
    pub compared: u64,
    /// Values that agreed.
    pub agreed: u64,
    /// Known disagreements.
    pub known: u64,
    /// New disagreements.
    pub new: u64,
    /// `agreed / compared`, percent.
    pub percent: f64,
    /// `agreed / (compared - known)`, percent.
    pub percent_without_known: f64,
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        100.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

/// Builds the summary from the counts and the matched disagreements.
pub fn summarize(
    board: &Scoreboard,
    matched: &Matched,
    robustness: Robustness,
    threshold: f64,
) -> Summary {
    let mut known: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
    for (d, k) in &matched.known {
        let e = known.entry((&d.corpus, &d.field)).or_default();
        e.0 += 1;
        if k.verdict == "reference-wrong" {
            e.1 += 1;
        }
    }
    let mut new: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for d in &matched.new {
        *new.entry((&d.corpus, &d.field)).or_default() += 1;
    }
    let mut rows = Vec::new();
    let mut overall = Overall::default();
    let mut failures = Vec::new();
    for ((corpus, field), s) in &board.fields {
        let (kn, rw) = known
            .get(&(corpus.as_str(), field.as_str()))
            .copied()
            .unwrap_or_default();
        let nw = new
            .get(&(corpus.as_str(), field.as_str()))
            .copied()
            .unwrap_or_default();
        let without = pct(s.agreed, s.compared.saturating_sub(kn));
        let pass = !s.gate || without >= threshold;
        if !pass {
            failures.push(format!(
                "{corpus} {field}: {without:.2}% agree without known disagreements ({nw} new), below {threshold}%"
            ));
        }
        if s.gate {
            overall.compared += s.compared;
            overall.agreed += s.agreed;
            overall.known += kn;
            overall.new += nw;
        }
        rows.push(Row {
            corpus: corpus.clone(),
            field: field.clone(),
            compared: s.compared,
            agreed: s.agreed,
            percent: pct(s.agreed, s.compared),
            known: kn,
            reference_wrong: rw,
            new: nw,
            excluded: s.excluded,
            extra: s.extra,
            percent_without_known: without,
            gate: s.gate,
            pass,
        });
    }
    overall.percent = pct(overall.agreed, overall.compared);
    overall.percent_without_known = pct(
        overall.agreed,
        overall.compared.saturating_sub(overall.known),
    );
    for (c, o) in &robustness.failures {
        if o.starts_with("panic") || o.starts_with("killed") || o.starts_with("timeout") {
            failures.push(format!("robustness {c}: {o}"));
        }
    }
    Summary {
        rows,
        overall,
        robustness,
        exclusions: board
            .exclusions
            .iter()
            .map(|((c, r), n)| (c.clone(), r.clone(), *n))
            .collect(),
        stale_known: matched.stale.iter().map(|k| (*k).clone()).collect(),
        failures,
        threshold,
    }
}

/// The table printed to stdout.
pub fn table(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<11} {:<24} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>8} {:>7} {:>8}  gate",
        "corpus",
        "field",
        "compared",
        "agreed",
        "%",
        "known",
        "refwr",
        "new",
        "excluded",
        "extra",
        "% -known"
    );
    let mut last = "";
    for r in &s.rows {
        if r.corpus != last && !last.is_empty() {
            out.push('\n');
        }
        last = &r.corpus;
        let gate = match (r.gate, r.pass) {
            (false, _) => "info",
            (true, true) => "ok",
            (true, false) => "FAIL",
        };
        let _ = writeln!(
            out,
            "{:<11} {:<24} {:>8} {:>8} {:>8.2} {:>6} {:>6} {:>6} {:>8} {:>7} {:>8.2}  {gate}",
            r.corpus,
            r.field,
            r.compared,
            r.agreed,
            r.percent,
            r.known,
            r.reference_wrong,
            r.new,
            r.excluded,
            r.extra,
            r.percent_without_known
        );
    }
    let o = &s.overall;
    let _ = writeln!(
        out,
        "\noverall (gated fields): {} compared, {} agreed ({:.2}%), {} known, {} new; {:.2}% without known",
        o.compared, o.agreed, o.percent, o.known, o.new, o.percent_without_known
    );
    let r = &s.robustness;
    let _ = writeln!(
        out,
        "robustness: {} captures: {} clean, {} with a warning, {} error exits, {} panics, {} crashes, {} timeouts",
        r.captures, r.clean, r.warnings, r.errors, r.panics, r.crashes, r.timeouts
    );
    for (c, f, why) in INFORMATIONAL {
        let _ = writeln!(out, "info: {c} {f} is outside the gate: {why}");
    }
    out
}

/// The disagreement file: one line per disagreement, with the known file's verdict (or
/// `new`) in the last column.
pub fn disagreements_tsv(matched: &Matched) -> String {
    let mut rows: Vec<(&Disagreement, &str)> = matched
        .known
        .iter()
        .map(|(d, k)| (*d, k.verdict.as_str()))
        .chain(matched.new.iter().map(|d| (*d, "new")))
        .collect();
    rows.sort();
    let mut out = String::from("corpus\tcapture\tkey\tfield\treference\tflowsight\tstatus\n");
    for (d, status) in rows {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{status}",
            d.corpus, d.capture, d.key, d.field, d.reference, d.flowsight
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::known::{match_all, parse};

    #[test]
    fn known_disagreements_lift_the_gate() {
        let mut b = Scoreboard::default();
        {
            let mut s = b.scope("zeek", "c.pcap");
            for i in 0..90 {
                s.check(&format!("k{i}"), "http.uri", Some("a"), Some("a"));
            }
            for i in 0..10 {
                s.check(&format!("bad{i}"), "http.uri", Some("a"), Some("b"));
            }
            s.check("k", "http.resp_mime_types", Some("a"), Some("b"));
        }
        let known = parse("zeek\tc.pcap\tbad*\thttp.uri\treference-wrong\tZeek cuts it\n").unwrap();
        let m = match_all(&b.disagreements, &known);
        let s = summarize(&b, &m, Robustness::default(), 98.0);
        let uri = s.rows.iter().find(|r| r.field == "http.uri").unwrap();
        assert_eq!(
            (
                uri.compared,
                uri.agreed,
                uri.known,
                uri.reference_wrong,
                uri.new
            ),
            (100, 90, 10, 10, 0)
        );
        assert!(uri.pass);
        assert_eq!(uri.percent_without_known, 100.0);
        let mime = s
            .rows
            .iter()
            .find(|r| r.field == "http.resp_mime_types")
            .unwrap();
        assert!(!mime.gate && mime.pass);
        assert!(s.failures.is_empty());
        let t = table(&s);
        assert!(t.contains("http.uri"));
        assert!(t.contains("overall (gated fields): 100 compared, 90 agreed"));
        let tsv = disagreements_tsv(&m);
        assert_eq!(tsv.lines().count(), 12);
        assert!(tsv.lines().nth(1).unwrap().ends_with("\treference-wrong"));
    }

    #[test]
    fn new_disagreements_and_broken_runs_fail() {
        let mut b = Scoreboard::default();
        b.scope("ja4", "c").check("k", "ja4", Some("a"), Some("b"));
        let m = match_all(&b.disagreements, &[]);
        let r = Robustness {
            failures: vec![
                ("x.pcap".into(), "panic: boom".into()),
                ("y.pcap".into(), "exit 1: bad".into()),
            ],
            ..Robustness::default()
        };
        let s = summarize(&b, &m, r, 98.0);
        assert_eq!(s.failures.len(), 2, "{:?}", s.failures);
    }
}
