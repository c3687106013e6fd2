//! Every capture in the shared corpora (`FLOWSIGHT_CORPORA`, or `shared/corpora` beside the
//! repository): ~1,200 real pcap/pcapng/gzip files from Zeek, nDPI, tcpdump and FoxIO, some
//! malformed on purpose. No panic anywhere; a summary is printed; and packet counts agree
//! with tshark on a sample plus every file that ended in an error (every file when
//! `FLOWSIGHT_CORPUS_TSHARK=all`). Skipped, loudly, when the corpora are absent.
//!
//! Known disagreement, kept on purpose: tshark refuses a whole file whose link type it does
//! not support (`network type N unknown or unsupported`: 4 tcpdump captures, link types 164,
//! 182 and 132 with reserved high bits set, which libpcap masks off as this reader does).
//! The reader hands their packets out with the link type as stored; deciding what a link
//! type means is the parser's job (`flowsight_wire::decode` rejects unknown ones).

mod common;

use common::{corpora_dir, have, notice};
use flowsight_pcapfile::{CaptureReader, ReadError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Capture files under `dir`, by extension, sorted.
fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng" | "cap" | "gz" | "trace" | "dump")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// How reading one file ended.
enum Outcome {
    Ok(u64),
    Truncated(u64, ReadError),
    /// Packets read before a non-truncation error (0 when the header was rejected).
    Rejected(u64, ReadError),
}

fn read(path: &Path) -> Outcome {
    let mut r = match CaptureReader::open(path) {
        Ok(r) => r,
        Err(e) if e.is_truncation() => return Outcome::Truncated(0, e),
        Err(e) => return Outcome::Rejected(0, e),
    };
    let mut err = None;
    while let Some(p) = r.next_packet() {
        match p {
            Ok(p) => {
                std::hint::black_box((p.data, p.comment));
            }
            Err(e) => err = Some(e),
        }
    }
    let n = r.packets_read();
    match err {
        None => Outcome::Ok(n),
        Some(e) if e.is_truncation() => Outcome::Truncated(n, e),
        Some(e) => Outcome::Rejected(n, e),
    }
}

/// The variant name of an error.
fn kind(e: &ReadError) -> String {
    let d = format!("{e:?}");
    d.split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// tshark's packet count (it prints the frames before a cut, then complains), and whether
/// it refused the file's link type.
fn tshark_count(path: &Path) -> (usize, bool) {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark runs");
    let count = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let unsupported = String::from_utf8_lossy(&out.stderr).contains("unknown or unsupported");
    (count, unsupported)
}

#[test]
fn every_corpus_capture_reads_without_panic() {
    let Some(dir) = corpora_dir() else {
        notice(
            "SKIP (no corpora; set FLOWSIGHT_CORPORA): every_corpus_capture_reads_without_panic",
        );
        return;
    };
    let files = captures(&dir);
    assert!(!files.is_empty(), "no captures under {}", dir.display());
    let (mut ok, mut truncated, mut rejected, mut packets) = (0, 0, 0, 0u64);
    let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut counts = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&dir).unwrap_or(f).display().to_string();
        let (n, errored) = match read(f) {
            Outcome::Ok(n) => {
                ok += 1;
                (n, false)
            }
            Outcome::Truncated(n, e) => {
                truncated += 1;
                reasons
                    .entry(format!("truncated: {}", kind(&e)))
                    .or_default()
                    .push(format!("{rel}: {e}"));
                (n, true)
            }
            Outcome::Rejected(n, e) => {
                rejected += 1;
                reasons
                    .entry(format!("rejected: {}", kind(&e)))
                    .or_default()
                    .push(format!("{rel}: {e}"));
                (n, true)
            }
        };
        packets += n;
        counts.push((f.clone(), n, errored));
    }
    let mut summary = format!(
        "corpus: {} files, {ok} read whole, {truncated} truncated, {rejected} rejected; {packets} packets\n",
        files.len()
    );
    for (reason, list) in &reasons {
        summary += &format!("  {reason}: {}\n", list.len());
        for l in list.iter().take(5) {
            summary += &format!("    {l}\n");
        }
    }
    notice(&summary);

    if !have("tshark") {
        notice("SKIP (no tshark): corpus packet counts against tshark");
        return;
    }
    let all = std::env::var("FLOWSIGHT_CORPUS_TSHARK").is_ok_and(|v| v == "all");
    let step = if all { 1 } else { 25 };
    let (mut differ, mut refused) = (Vec::new(), Vec::new());
    let mut compared = 0;
    for (i, (path, ours, errored)) in counts.iter().enumerate() {
        if i % step != 0 && !errored {
            continue;
        }
        compared += 1;
        let (theirs, unsupported) = tshark_count(path);
        let rel = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string();
        if theirs as u64 == *ours {
            continue;
        }
        if unsupported && theirs == 0 {
            refused.push(format!("{rel}: ours {ours}"));
        } else {
            differ.push(format!("{rel}: ours {ours}, tshark {theirs}"));
        }
    }
    notice(&format!(
        "tshark packet counts: {compared} files compared, {} differ, {} refused by tshark for their link type {refused:?}",
        differ.len(),
        refused.len()
    ));
    assert!(
        differ.is_empty(),
        "packet counts differ from tshark: {differ:#?}"
    );
}
