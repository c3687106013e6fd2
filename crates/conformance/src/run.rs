//! Running `flowsight read` on one capture: output to a file, a time limit, and what became of
//! the process.

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Outcome {
    /// Exit status 0 and nothing on stderr.
    Clean,
    /// Exit status 0 with something on stderr (the one-line warning for a truncated file).
    Warning {
        /// First stderr line.
        line: String,
    },
    /// A non-zero exit status without a panic.
    Error {
        /// Exit status.
        code: i32,
        /// First stderr line.
        line: String,
    },
    /// A Rust panic (`panicked at` on stderr, or exit status 101).
    Panic {
        /// The panic line.
        line: String,
    },
    /// Killed by a signal (a crash, an abort, the OOM killer).
    Crash {
        /// Signal number.
        signal: i32,
    },
    /// Still running after the time limit; killed.
    Timeout {
        /// The limit, seconds.
        seconds: u64,
    },
    /// flowsight could not be started, or the capture could not be prepared.
    NotRun {
        /// Why.
        why: String,
    },
}

impl Outcome {
    /// Whether the capture was processed: exit 0, with or without a warning.
    pub fn processed(&self) -> bool {
        matches!(self, Outcome::Clean | Outcome::Warning { .. })
    }

    /// Whether flowsight broke (panic, crash, hang): these fail the run whatever the
    /// known-disagreements file says.
    pub fn broke(&self) -> bool {
        matches!(
            self,
            Outcome::Panic { .. } | Outcome::Crash { .. } | Outcome::Timeout { .. }
        )
    }

    /// One-line description for the disagreement list.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Clean => "exit 0".into(),
            Outcome::Warning { line } => format!("exit 0, warning: {line}"),
            Outcome::Error { code, line } => format!("exit {code}: {line}"),
            Outcome::Panic { line } => format!("panic: {line}"),
            Outcome::Crash { signal } => format!("killed by signal {signal}"),
            Outcome::Timeout { seconds } => format!("timeout after {seconds} s"),
            Outcome::NotRun { why } => format!("not run: {why}"),
        }
    }
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// How it ended.
    pub outcome: Outcome,
    /// flowsight's JSON lines.
    pub output: PathBuf,
    /// Wall time.
    pub elapsed: Duration,
}

/// Checks that `bin read --help` works; the error says why not.
pub fn check_available(bin: &Path) -> Result<(), String> {
    let out = Command::new(bin)
        .args(["read", "--help"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "`{} read --help` exited with {}: {}",
            bin.display(),
            out.status,
            err.lines().next().unwrap_or("")
        ))
    }
}

/// Unpacks a gzipped capture to `dest`.
pub fn gunzip(src: &Path, dest: &Path) -> std::io::Result<()> {
    let mut d = flate2::read::MultiGzDecoder::new(File::open(src)?);
    let mut out = File::create(dest)?;
    std::io::copy(&mut d, &mut out)?;
    Ok(())
}

fn first_line(s: &str) -> String {
    crate::text::cell(
        s.lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim(),
        300,
    )
}

/// Classifies an ended process from its status and stderr.
pub fn classify(status: std::process::ExitStatus, stderr: &str) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    if let Some(line) = stderr.lines().find(|l| l.contains("panicked at")) {
        return Outcome::Panic {
            line: crate::text::cell(line.trim(), 300),
        };
    }
    if let Some(signal) = status.signal() {
        return Outcome::Crash { signal };
    }
    match status.code() {
        Some(0) if stderr.trim().is_empty() => Outcome::Clean,
        Some(0) => Outcome::Warning {
            line: first_line(stderr),
        },
        Some(101) => Outcome::Panic {
            line: first_line(stderr),
        },
        Some(code) => Outcome::Error {
            code,
            line: first_line(stderr),
        },
        None => Outcome::Crash { signal: 0 },
    }
}

/// Runs `bin read input`, stdout to `output`, stderr to `output` + `.stderr`.
pub fn run_one(bin: &Path, input: &Path, output: &Path, timeout: Duration) -> RunResult {
    let start = Instant::now();
    let err_path = output.with_extension("stderr");
    let done = |outcome| RunResult {
        outcome,
        output: output.to_path_buf(),
        elapsed: start.elapsed(),
    };
    let files = (|| Ok::<_, std::io::Error>((File::create(output)?, File::create(&err_path)?)))();
    let (out, err) = match files {
        Ok(f) => f,
        Err(e) => return done(Outcome::NotRun { why: e.to_string() }),
    };
    let child = Command::new(bin)
        .arg("read")
        .arg(input)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return done(Outcome::NotRun { why: e.to_string() }),
    };
    let status = match child.wait_timeout(timeout) {
        Ok(Some(s)) => s,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return done(Outcome::Timeout {
                seconds: timeout.as_secs(),
            });
        }
        Err(e) => return done(Outcome::NotRun { why: e.to_string() }),
    };
    let mut stderr = String::new();
    if let Ok(mut f) = File::open(&err_path) {
        let mut buf = Vec::new();
        let _ = f.by_ref().take(64 * 1024).read_to_end(&mut buf);
        stderr = String::from_utf8_lossy(&buf).into_owned();
    }
    done(classify(status, &stderr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn st(raw: i32) -> std::process::ExitStatus {
        std::process::ExitStatus::from_raw(raw)
    }

    #[test]
    fn classifies_endings() {
        assert_eq!(classify(st(0), ""), Outcome::Clean);
        assert!(
            matches!(classify(st(0), "warning: truncated\n"), Outcome::Warning { line } if line == "warning: truncated")
        );
        assert!(matches!(
            classify(st(1 << 8), "error: not a capture\n"),
            Outcome::Error { code: 1, .. }
        ));
        assert!(matches!(
            classify(st(101 << 8), "thread 'main' panicked at src/x.rs:1:1:\nboom"),
            Outcome::Panic { line } if line.contains("panicked at")
        ));
        assert_eq!(classify(st(11), ""), Outcome::Crash { signal: 11 });
        assert!(Outcome::Timeout { seconds: 60 }.broke());
        assert!(
            !Outcome::Error {
                code: 1,
                line: String::new()
            }
            .broke()
        );
        assert!(
            Outcome::Warning {
                line: String::new()
            }
            .processed()
        );
    }

    #[test]
    fn runs_with_a_time_limit() {
        let dir = std::env::temp_dir().join(format!("fs-conformance-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("fake");
        std::fs::write(&script, "#!/bin/sh\nif [ \"$2\" = slow ]; then sleep 5; fi\necho '{\"type\":\"stats\"}'\necho warn >&2\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = dir.join("a.jsonl");
        let r = run_one(&script, Path::new("fast"), &out, Duration::from_secs(5));
        assert!(
            matches!(r.outcome, Outcome::Warning { .. }),
            "{:?}",
            r.outcome
        );
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"type\":\"stats\"}\n"
        );
        let r = run_one(&script, Path::new("slow"), &out, Duration::from_millis(200));
        assert_eq!(r.outcome, Outcome::Timeout { seconds: 0 });
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
