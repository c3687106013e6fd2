//! One capture from end to end: flowsight's run, its log, and every reference file about the
//! capture, compared into a scoreboard.

use crate::compare;
use crate::corpus::{Capture, RefFile};
use crate::fslog::FsLog;
use crate::reference;
use crate::run::RunResult;
use crate::score::Scoreboard;

/// Compares one capture. Reference files that cannot be read are returned as warnings (the
/// corpus is broken, not flowsight).
///
/// flowsight's output is compared whatever its exit status: a run that stopped early wrote
/// less, and the missing records are counted where they are missing.
pub fn capture(cap: &Capture, run: &RunResult, board: &mut Scoreboard) -> Vec<String> {
    let mut warnings = Vec::new();
    {
        let mut s = board.scope("robustness", &cap.rel);
        s.count(
            &cap.rel,
            "exit",
            run.outcome.processed(),
            "exit 0",
            &run.outcome.describe(),
        );
    }
    let text = match std::fs::read(&run.output) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => String::new(),
    };
    let log = FsLog::parse(&text);
    {
        let mut s = board.scope("robustness", &cap.rel);
        let why = log.first_bad.clone().unwrap_or_default();
        s.count(
            &cap.rel,
            "json",
            log.bad_lines == 0,
            "valid records",
            &format!("{} bad lines; {why}", log.bad_lines),
        );
        if run.outcome.processed() {
            let got = if log.final_stats {
                "present"
            } else {
                "missing"
            };
            s.count(&cap.rel, "final_stats", log.final_stats, "present", got);
        }
    }
    for r in &cap.refs {
        if let Err(e) = one(cap, r, &log, board) {
            warnings.push(format!("{}: {e:#}", cap.rel));
        }
    }
    warnings
}

fn one(cap: &Capture, r: &RefFile, log: &FsLog, board: &mut Scoreboard) -> anyhow::Result<()> {
    use anyhow::Context;
    match r {
        RefFile::Zeek { path, .. } => {
            let text = std::fs::read(path).with_context(|| path.display().to_string())?;
            let z = reference::zeek::parse_log(&String::from_utf8_lossy(&text));
            compare::zeek::compare(&z, log, &mut board.scope("zeek", &cap.rel));
        }
        RefFile::Ndpi(path) => {
            let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
            let flows = reference::ndpi::parse(&bytes);
            compare::ndpi::compare(&flows, log, &mut board.scope("ndpi", &cap.rel));
        }
        RefFile::Ja4(path) => {
            let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            let streams =
                reference::ja4::parse(&text).with_context(|| path.display().to_string())?;
            compare::ja4::compare(&streams, log, &mut board.scope("ja4", &cap.rel));
        }
        RefFile::Tshark(path) => {
            let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
            let (rows, bad) = reference::tshark::parse(&String::from_utf8_lossy(&bytes));
            let mut s = board.scope("tshark", &cap.rel);
            s.exclude(
                "rows",
                "row with a tab or line break inside a value",
                bad as u64,
            );
            compare::tshark::compare(&rows, log, &mut s);
        }
    }
    Ok(())
}
