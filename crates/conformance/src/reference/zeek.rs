//! Zeek's side: ASCII logs (`#fields`/`#types` headers, tab-separated) from the btest
//! baselines, and the choice of which baselines to trust.
//!
//! # Which baselines are used
//! A baseline is the output of one btest script, which may load extra scripts, change
//! options or read several traces. Only a log that is Zeek's plain default log for one trace
//! is a fair reference. The rules, applied in [`select`]:
//! 1. The test reads exactly one trace (`traces` has one entry), and that trace exists.
//! 2. The log file is the test's own: `Baseline/<test path with / as . and no extension>/`
//!    (tests_map.json also lists baselines of sibling tests that share a name prefix; those
//!    come from other scripts and are ignored), and it is named exactly `http.log`,
//!    `dns.log` or `ssl.log` (not `ssl-all.log`, `http-2.log`, ...: those are written by
//!    extra log filters).
//! 3. The log has every default column the comparison reads; extra columns (added by policy
//!    scripts such as `header-names` or `validate-certs`) are allowed, since they only add.
//! 4. The test's script is not one whose name says it changes what is logged:
//!    [`EXCLUDED_TESTS`] lists them with the reason.
//! 5. Where several selected tests read the same trace, one baseline per trace and log is
//!    used: the first non-bare-mode test (all default scripts loaded), else the first by name.
//!    Bare mode (`-b`) loads fewer scripts, so some things go unlogged (HTTP on ports DPD
//!    would find); what is logged is the same, and those flowsight records count as extra.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One row of a Zeek log: column name to raw value. Unset (`-`) columns are absent; empty
/// (`(empty)`) ones are the empty string. Values are still Zeek-escaped (`\xNN`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZeekRow {
    /// Column values.
    pub values: BTreeMap<String, String>,
}

impl ZeekRow {
    /// The raw value of a column, `None` when unset.
    pub fn get(&self, col: &str) -> Option<&str> {
        self.values.get(col).map(String::as_str)
    }

    /// A set or vector column split on Zeek's set separator (before unescaping, so an
    /// escaped `\x2c` inside an element stays inside it).
    pub fn list(&self, col: &str) -> Vec<&str> {
        match self.get(col) {
            None | Some("") => Vec::new(),
            Some(v) => v.split(',').collect(),
        }
    }
}

/// A parsed Zeek ASCII log.
#[derive(Debug, Clone, Default)]
pub struct ZeekLog {
    /// `#path`: `http`, `dns`, `ssl`, ...
    pub path: String,
    /// `#fields`.
    pub fields: Vec<String>,
    /// Data rows.
    pub rows: Vec<ZeekRow>,
}

/// Parses a Zeek ASCII log (tab separator, `,` set separator, `-` unset, `(empty)` empty).
pub fn parse_log(text: &str) -> ZeekLog {
    let mut log = ZeekLog::default();
    let mut unset = "-".to_string();
    let mut empty = "(empty)".to_string();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix('#') {
            let mut parts = h.split('\t');
            match parts.next() {
                Some("path") => log.path = parts.next().unwrap_or_default().to_string(),
                Some("fields") => log.fields = parts.map(str::to_string).collect(),
                Some("unset_field") => unset = parts.next().unwrap_or("-").to_string(),
                Some("empty_field") => empty = parts.next().unwrap_or("(empty)").to_string(),
                _ => {}
            }
            continue;
        }
        if line.is_empty() || log.fields.is_empty() {
            continue;
        }
        let mut row = ZeekRow::default();
        for (name, v) in log.fields.iter().zip(line.split('\t')) {
            if v == unset {
                continue;
            }
            let v = if v == empty { "" } else { v };
            row.values.insert(name.clone(), v.to_string());
        }
        log.rows.push(row);
    }
    log
}

/// The logs compared, with the columns each must have (rule 3).
pub const LOGS: &[(&str, &[&str])] = &[
    (
        "http.log",
        &[
            "id.orig_h",
            "id.orig_p",
            "id.resp_h",
            "id.resp_p",
            "trans_depth",
            "method",
            "host",
            "uri",
            "referrer",
            "version",
            "user_agent",
            "request_body_len",
            "response_body_len",
            "status_code",
            "status_msg",
            "resp_mime_types",
        ],
    ),
    (
        "dns.log",
        &[
            "id.orig_h",
            "id.orig_p",
            "id.resp_h",
            "id.resp_p",
            "proto",
            "trans_id",
            "query",
            "qclass_name",
            "qtype_name",
            "rcode_name",
            "AA",
            "TC",
            "RD",
            "RA",
            "answers",
            "TTLs",
        ],
    ),
    (
        "ssl.log",
        &[
            "id.orig_h",
            "id.orig_p",
            "id.resp_h",
            "id.resp_p",
            "version",
            "cipher",
            "server_name",
            "next_protocol",
        ],
    ),
];

/// Tests whose script changes what the log holds (rule 4): name prefix and why.
pub const EXCLUDED_TESTS: &[(&str, &str)] = &[
    (
        "scripts/policy/protocols/ssl/decryption",
        "Zeek was given the TLS session keys and logs the decrypted HTTP",
    ),
    (
        "scripts/base/frameworks/logging/writer-path-conflict",
        "the script splits http.log over several files",
    ),
    (
        "core/tcp/reassembly-known-ports",
        "the script limits TCP reassembly to known ports",
    ),
    (
        "javascript/",
        "ZeekJS scripts that change the logged values",
    ),
    ("spicy/", "Spicy analyzers that replace the built-in ones"),
];

/// One entry of `tests_map.json`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TestEntry {
    /// Test script path below Zeek's testing/btest.
    pub test: String,
    /// Traces it reads, below `Traces/`.
    pub traces: Vec<String>,
    /// Whether Zeek ran with `-b`.
    #[serde(default)]
    pub bare_mode: bool,
}

/// A baseline chosen for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Test script.
    pub test: String,
    /// Trace below `Traces/`.
    pub trace: String,
    /// `http.log`, `dns.log` or `ssl.log`.
    pub log: String,
    /// Baseline folder name.
    pub dir: String,
}

/// A baseline left out, with the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Test script.
    pub test: String,
    /// Which log.
    pub log: String,
    /// The rule that left it out.
    pub why: String,
}

/// The baseline folder of a test: `a/b/c.zeek` -> `a.b.c`.
pub fn baseline_dir(test: &str) -> String {
    let (dir, file) = test.rsplit_once('/').unwrap_or(("", test));
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let joined = if dir.is_empty() {
        stem.to_string()
    } else {
        format!("{dir}/{stem}")
    };
    joined.replace('/', ".")
}

/// Applies the selection rules. `read` returns a baseline file's text (None: absent);
/// `trace_exists` tells whether a trace is in the corpus.
pub fn select(
    tests: &[TestEntry],
    read: impl Fn(&str, &str) -> Option<String>,
    trace_exists: impl Fn(&str) -> bool,
) -> (Vec<Selected>, Vec<Skipped>) {
    let mut ordered: Vec<&TestEntry> = tests.iter().collect();
    ordered.sort_by(|a, b| (a.bare_mode, &a.test).cmp(&(b.bare_mode, &b.test)));
    let mut chosen: HashMap<(String, String), String> = HashMap::new();
    let mut selected = Vec::new();
    let mut skipped = Vec::new();
    for t in ordered {
        let dir = baseline_dir(&t.test);
        for (log, cols) in LOGS {
            let Some(text) = read(&dir, log) else {
                continue;
            };
            let skip = |why: String| Skipped {
                test: t.test.clone(),
                log: log.to_string(),
                why,
            };
            if let Some((_, why)) = EXCLUDED_TESTS.iter().find(|(p, _)| t.test.starts_with(p)) {
                skipped.push(skip(why.to_string()));
                continue;
            }
            if t.traces.len() != 1 {
                skipped.push(skip(format!("reads {} traces", t.traces.len())));
                continue;
            }
            let trace = &t.traces[0];
            if !trace_exists(trace) {
                skipped.push(skip(format!("trace {trace} not in the corpus")));
                continue;
            }
            let parsed = parse_log(&text);
            if let Some(missing) = cols.iter().find(|c| !parsed.fields.iter().any(|f| f == *c)) {
                skipped.push(skip(format!("no default column {missing}")));
                continue;
            }
            let k = (trace.clone(), log.to_string());
            if let Some(first) = chosen.get(&k) {
                skipped.push(skip(format!("same trace as {first}")));
                continue;
            }
            chosen.insert(k, t.test.clone());
            selected.push(Selected {
                test: t.test.clone(),
                trace: trace.clone(),
                log: log.to_string(),
                dir: dir.clone(),
            });
        }
    }
    selected.sort_by(|a, b| (&a.trace, &a.log).cmp(&(&b.trace, &b.log)));
    (selected, skipped)
}

/// Reads `tests_map.json` and applies [`select`] against a Zeek corpus folder.
pub fn select_in(zeek_dir: &Path) -> anyhow::Result<(Vec<Selected>, Vec<Skipped>)> {
    use anyhow::Context;
    let map = zeek_dir.join("tests_map.json");
    let tests: Vec<TestEntry> = serde_json::from_str(
        &std::fs::read_to_string(&map).with_context(|| format!("reading {}", map.display()))?,
    )
    .with_context(|| format!("parsing {}", map.display()))?;
    Ok(select(
        &tests,
        |dir, log| std::fs::read_to_string(zeek_dir.join("Baseline").join(dir).join(log)).ok(),
        |trace| zeek_dir.join("Traces").join(trace).is_file(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const HTTP: &str = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\thttp
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod\thost\turi\treferrer\tversion\tuser_agent\torigin\trequest_body_len\tresponse_body_len\tstatus_code\tstatus_msg\tinfo_code\tinfo_msg\ttags\tusername\tpassword\tproxied\torig_fuids\torig_filenames\torig_mime_types\tresp_fuids\tresp_filenames\tresp_mime_types
#types\ttime\tstring\taddr\tport\taddr\tport\tcount\tstring\tstring\tstring\tstring\tstring\tstring\tstring\tcount\tcount\tcount\tstring\tcount\tstring\tset[enum]\tstring\tstring\tset[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]
XXXXXXXXXX.XXXXXX\tC1\t10.0.1.104\t64216\t193.40.5.162\t80\t1\tGET\tlepo.it.da.ut.ee\t/a\\xfcb\t-\t1.1\tWget/1.12\t-\t0\t100\t200\tOK\t-\t-\t(empty)\t-\t-\t-\t-\t-\t-\tF1\t-\ttext/plain,text/html
#close XXXX-XX-XX-XX-XX-XX
";

    #[test]
    fn parses_headers_unset_and_empty() {
        let log = parse_log(HTTP);
        assert_eq!(log.path, "http");
        assert_eq!(log.rows.len(), 1);
        let r = &log.rows[0];
        assert_eq!(r.get("method"), Some("GET"));
        assert_eq!(r.get("uri"), Some("/a\\xfcb"));
        assert_eq!(r.get("referrer"), None);
        assert_eq!(r.get("tags"), Some(""));
        assert_eq!(r.list("resp_mime_types"), vec!["text/plain", "text/html"]);
        assert!(r.list("tags").is_empty());
    }

    #[test]
    fn baseline_dirs_follow_btest() {
        assert_eq!(
            baseline_dir("scripts/base/protocols/http/http-09.zeek"),
            "scripts.base.protocols.http.http-09"
        );
        assert_eq!(baseline_dir("core/ipv6-frag.test"), "core.ipv6-frag");
    }

    fn entry(test: &str, traces: &[&str], bare: bool) -> TestEntry {
        TestEntry {
            test: test.into(),
            traces: traces.iter().map(|s| s.to_string()).collect(),
            bare_mode: bare,
        }
    }

    #[test]
    fn selection_rules() {
        let tests = vec![
            entry("a/one.zeek", &["x.pcap"], true),
            entry("a/two.zeek", &["x.pcap"], false),
            entry("a/multi.zeek", &["x.pcap", "y.pcap"], false),
            entry(
                "scripts/policy/protocols/ssl/decryption/d.zeek",
                &["d.pcap"],
                false,
            ),
            entry("a/gone.zeek", &["missing.pcap"], false),
            entry("a/narrow.zeek", &["z.pcap"], false),
        ];
        let read = |dir: &str, log: &str| -> Option<String> {
            match (dir, log) {
                ("a.narrow", "http.log") => Some("#fields\tts\tmethod\n".into()),
                (_, "http.log") => Some(HTTP.into()),
                _ => None,
            }
        };
        let (sel, skipped) = select(&tests, read, |t| t != "missing.pcap");
        assert_eq!(sel.len(), 1);
        assert_eq!(
            sel[0].test, "a/two.zeek",
            "non-bare wins for the same trace"
        );
        let why = |t: &str| skipped.iter().find(|s| s.test == t).unwrap().why.clone();
        assert_eq!(why("a/one.zeek"), "same trace as a/two.zeek");
        assert_eq!(why("a/multi.zeek"), "reads 2 traces");
        assert!(
            why("scripts/policy/protocols/ssl/decryption/d.zeek").starts_with("Zeek was given")
        );
        assert!(why("a/gone.zeek").contains("not in the corpus"));
        assert_eq!(why("a/narrow.zeek"), "no default column id.orig_h");
    }
}
