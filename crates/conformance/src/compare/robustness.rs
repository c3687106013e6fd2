//! Robustness: every capture of every corpus must be read to the end, with exit status 0
//! (a truncated file may add a one-line warning on stderr), and never panic, crash or hang.
//!
//! Each capture counts once in the `robustness exit` row (agreed: exit 0), once in
//! `robustness json` (agreed: every output line is a JSON record with its flow identity)
//! and, when it exited 0, once in `robustness final_stats` (agreed: the final stats record
//! that every normal exit writes is there, so the output was not cut short).
//! A panic, a crash or a timeout fails the run even when the known file lists the capture;
//! an error exit is a disagreement like any other and can be kept with a reason.

use crate::report::Robustness;
use crate::run::Outcome;

/// Counts outcomes per kind and lists every capture that did not end cleanly.
pub fn tally<'a>(outcomes: impl IntoIterator<Item = (&'a str, &'a Outcome)>) -> Robustness {
    let mut r = Robustness::default();
    for (capture, o) in outcomes {
        r.captures += 1;
        match o {
            Outcome::Clean => r.clean += 1,
            Outcome::Warning { .. } => r.warnings += 1,
            Outcome::Error { .. } | Outcome::NotRun { .. } => r.errors += 1,
            Outcome::Panic { .. } => r.panics += 1,
            Outcome::Crash { .. } => r.crashes += 1,
            Outcome::Timeout { .. } => r.timeouts += 1,
        }
        if *o != Outcome::Clean {
            r.failures.push((capture.to_string(), o.describe()));
        }
    }
    r.failures.sort();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_kind() {
        let o = [
            ("a", Outcome::Clean),
            (
                "b",
                Outcome::Warning {
                    line: "truncated".into(),
                },
            ),
            (
                "c",
                Outcome::Panic {
                    line: "boom".into(),
                },
            ),
            ("d", Outcome::Timeout { seconds: 60 }),
        ];
        let r = tally(o.iter().map(|(c, o)| (*c, o)));
        assert_eq!(
            (r.captures, r.clean, r.warnings, r.panics, r.timeouts),
            (4, 1, 1, 1, 1)
        );
        assert_eq!(r.failures.len(), 3);
        assert_eq!(r.failures[1], ("c".to_string(), "panic: boom".to_string()));
    }
}
