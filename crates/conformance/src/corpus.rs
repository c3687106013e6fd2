//! The corpora folder (`../shared/corpora`): which captures there are and which reference
//! files speak about each.

use crate::reference::zeek::Selected;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Folders holding captures, with the corpus name used in reports.
pub const CAPTURE_DIRS: &[(&str, &str)] = &[
    ("zeek", "zeek/Traces"),
    ("ndpi", "ndpi/pcap"),
    ("ja4", "ja4/pcap"),
    ("tcpdump", "tcpdump/tests"),
];

/// tshark's baselines, below the corpora folder; the rest of the path is the capture's.
pub const TSHARK_DIR: &str = "peer_baselines/tshark-4.0.17";

/// A reference file about a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefFile {
    /// A selected Zeek baseline log.
    Zeek {
        /// The btest script it came from.
        test: String,
        /// The log file.
        path: PathBuf,
    },
    /// nDPI's `.out`.
    Ndpi(PathBuf),
    /// ja4.py's expected JSON.
    Ja4(PathBuf),
    /// tshark's TSV.
    Tshark(PathBuf),
}

/// One capture file and what to compare it with.
#[derive(Debug, Clone)]
pub struct Capture {
    /// Path below the corpora folder (`zeek/Traces/http/get.pcap`): the capture's name in
    /// every report.
    pub rel: String,
    /// Full path.
    pub path: PathBuf,
    /// Size in bytes (large captures are started first).
    pub size: u64,
    /// Reference files.
    pub refs: Vec<RefFile>,
}

impl Capture {
    /// Whether the file is gzip-compressed (Zeek keeps a few traces so); it is unpacked
    /// before flowsight reads it.
    pub fn gzipped(&self) -> bool {
        self.rel.ends_with(".gz")
    }
}

/// Whether a file name is a capture: `.pcap`, `.pcapng`, `.cap`, or one of those gzipped.
pub fn is_capture(name: &str) -> bool {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    [".pcap", ".pcapng", ".cap"]
        .iter()
        .any(|e| name.ends_with(e))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            walk(&p, out)?;
        } else if is_capture(&e.file_name().to_string_lossy()) {
            out.push(p);
        }
    }
    Ok(())
}

/// Every capture below `root`, with its reference files.
pub fn discover(root: &Path, zeek: &[Selected]) -> Result<Vec<Capture>> {
    let mut out = Vec::new();
    for (corpus, dir) in CAPTURE_DIRS {
        let base = root.join(dir);
        if !base.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        walk(&base, &mut files)?;
        for path in files {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let mut refs = Vec::new();
            match *corpus {
                "zeek" => {
                    let trace = rel.strip_prefix("zeek/Traces/").unwrap_or(&rel);
                    for s in zeek.iter().filter(|s| s.trace == trace) {
                        refs.push(RefFile::Zeek {
                            test: s.test.clone(),
                            path: root.join("zeek/Baseline").join(&s.dir).join(&s.log),
                        });
                    }
                }
                "ndpi" => refs.push(RefFile::Ndpi(
                    root.join("ndpi/result").join(format!("{name}.out")),
                )),
                "ja4" => refs.push(RefFile::Ja4(
                    root.join("ja4/expected/python")
                        .join(format!("{name}.json")),
                )),
                _ => {}
            }
            refs.push(RefFile::Tshark(
                root.join(TSHARK_DIR).join(format!("{rel}.tsv")),
            ));
            refs.retain(|r| match r {
                RefFile::Zeek { path, .. }
                | RefFile::Ndpi(path)
                | RefFile::Ja4(path)
                | RefFile::Tshark(path) => path.is_file(),
            });
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            out.push(Capture {
                rel,
                path,
                size,
                refs,
            });
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_names() {
        assert!(is_capture("a.pcap"));
        assert!(is_capture("a.pcapng.gz"));
        assert!(is_capture("dtls-udp.notest.cap"));
        assert!(!is_capture("a.out"));
        assert!(!is_capture("TESTLIST"));
        assert!(!is_capture("a.pcap.java"));
    }

    #[test]
    fn finds_captures_and_their_references() {
        let root =
            std::env::temp_dir().join(format!("fs-conformance-corpus-{}", std::process::id()));
        let mk = |p: &str| {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        };
        mk("ndpi/pcap/a.pcap");
        mk("ndpi/result/a.pcap.out");
        mk("zeek/Traces/http/get.pcap");
        mk("zeek/Baseline/t.get/http.log");
        mk("tcpdump/tests/b.pcapng");
        mk("tcpdump/tests/b.out");
        mk(&format!("{TSHARK_DIR}/tcpdump/tests/b.pcapng.tsv"));
        let sel = vec![Selected {
            test: "t/get.zeek".into(),
            trace: "http/get.pcap".into(),
            log: "http.log".into(),
            dir: "t.get".into(),
        }];
        let caps = discover(&root, &sel).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        let names: Vec<_> = caps.iter().map(|c| c.rel.as_str()).collect();
        assert_eq!(
            names,
            [
                "ndpi/pcap/a.pcap",
                "tcpdump/tests/b.pcapng",
                "zeek/Traces/http/get.pcap"
            ]
        );
        assert!(matches!(caps[0].refs[..], [RefFile::Ndpi(_)]));
        assert!(matches!(caps[1].refs[..], [RefFile::Tshark(_)]));
        assert!(matches!(caps[2].refs[..], [RefFile::Zeek { .. }]));
    }
}
