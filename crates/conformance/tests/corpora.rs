//! The readers against the real reference files, when the shared corpora are beside the
//! checkout (`../shared/corpora`, or `FLOWSIGHT_CORPORA`); skipped otherwise. No flowsight
//! run is needed: this checks that every reference file is read completely.

use flowsight_conformance::corpus::{self, RefFile};
use flowsight_conformance::reference::{ja4, ndpi, tshark, zeek};
use std::path::PathBuf;

fn corpora() -> Option<PathBuf> {
    let p = std::env::var_os("FLOWSIGHT_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpora"
            ))
        });
    if p.join("MANIFEST.tsv").is_file() {
        Some(p)
    } else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIP (no corpora at {}): reference readers",
            p.display()
        );
        None
    }
}

#[test]
fn every_ndpi_flow_line_is_read() {
    let Some(root) = corpora() else { return };
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("ndpi/index.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    let mut unreadable = 0;
    for e in index.as_array().unwrap() {
        let pcap = e["pcap"].as_str().unwrap();
        let bytes = std::fs::read(root.join("ndpi/result").join(format!("{pcap}.out"))).unwrap();
        let flows = ndpi::parse(&bytes);
        // index.json's `flows` also counts the per-address JA3 table; count flow lines here.
        let text = String::from_utf8_lossy(&bytes);
        let lines = text
            .lines()
            .filter(|l| {
                let mut c = l.splitn(3, '\t');
                c.next() == Some("")
                    && c.next().is_some_and(|n| n.parse::<u32>().is_ok())
                    && c.next().is_some_and(|r| {
                        let w: Vec<&str> = r.splitn(4, ' ').collect();
                        w.len() == 4 && matches!(w[2], "<->" | "->" | "<-")
                    })
            })
            .count();
        assert_eq!(flows.len(), lines, "{pcap}");
        let count = |f: fn(&ndpi::NdpiFlow) -> bool| flows.iter().filter(|x| f(x)).count() as u64;
        assert_eq!(
            count(|f| f.ja4.is_some()),
            e["ja4"].as_u64().unwrap(),
            "{pcap} ja4"
        );
        assert_eq!(
            count(|f| f.ja3c.is_some()),
            e["ja3c"].as_u64().unwrap(),
            "{pcap} ja3c"
        );
        assert_eq!(
            count(|f| f.url.is_some()),
            e["url"].as_u64().unwrap(),
            "{pcap} url"
        );
        // nDPI prints what it decoded, valid or not (fuzz-2021-10-13: `[302e::3d00::8001]`).
        unreadable += flows
            .iter()
            .filter(|f| f.a.is_none() || f.b.is_none())
            .count();
        checked += 1;
    }
    assert!(checked > 250, "{checked} nDPI outputs");
    assert!(
        unreadable <= 5,
        "{unreadable} flows with an address that does not parse"
    );
}

#[test]
fn zeek_baselines_are_selected_and_read() {
    let Some(root) = corpora() else { return };
    let (selected, skipped) = zeek::select_in(&root.join("zeek")).unwrap();
    assert!(selected.len() >= 90, "{} selected", selected.len());
    assert!(skipped.iter().any(|s| s.why.starts_with("Zeek was given")));
    assert!(
        selected
            .iter()
            .any(|s| s.test.starts_with("scripts/base/protocols/quic/")),
        "QUIC's ssl.log rows are compared"
    );
    for s in &selected {
        let text =
            std::fs::read_to_string(root.join("zeek/Baseline").join(&s.dir).join(&s.log)).unwrap();
        let log = zeek::parse_log(&text);
        assert!(!log.rows.is_empty(), "{} {}", s.test, s.log);
        assert!(
            log.rows.iter().all(|r| r.get("id.orig_h").is_some()),
            "{}",
            s.test
        );
    }
}

#[test]
fn every_capture_is_found_with_its_references() {
    let Some(root) = corpora() else { return };
    let (selected, _) = zeek::select_in(&root.join("zeek")).unwrap();
    let caps = corpus::discover(&root, &selected).unwrap();
    assert!(caps.len() >= 1200, "{} captures", caps.len());
    let mut tsv = 0;
    for c in &caps {
        for r in &c.refs {
            match r {
                RefFile::Tshark(p) => {
                    let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
                    let (_, bad) = tshark::parse(&text);
                    assert_eq!(bad, 0, "{}", p.display());
                    tsv += 1;
                }
                RefFile::Ja4(p) => {
                    ja4::parse(&std::fs::read_to_string(p).unwrap()).unwrap();
                }
                _ => {}
            }
        }
    }
    assert!(tsv >= 1200, "{tsv} tshark files");
    assert!(
        caps.iter()
            .filter(|c| c.refs.iter().any(|r| matches!(r, RefFile::Ndpi(_))))
            .count()
            >= 290
    );
}
