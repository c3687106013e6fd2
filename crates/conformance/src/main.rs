//! fs-conformance: runs `flowsight read` on every capture of the shared corpora and compares
//! its logs with Zeek's, nDPI's, the JA4 project's and tshark's outputs, field by field.
//! See README.md beside this crate.

use anyhow::{Context, Result};
use clap::Parser;
use flowsight_conformance::corpus::{self, Capture};
use flowsight_conformance::reference::zeek;
use flowsight_conformance::run::{self, Outcome, RunResult};
use flowsight_conformance::score::Scoreboard;
use flowsight_conformance::{compare, conform, known, report};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The workspace root, for default paths (the binary is run from anywhere).
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[derive(Parser)]
#[command(about = "Compare flowsight's logs of the shared corpora with Zeek, nDPI, JA4 and tshark")]
struct Cli {
    /// The corpora folder (shared/corpora).
    #[arg(long, default_value = "../shared/corpora")]
    corpora: PathBuf,
    /// The flowsight binary [default: target/release/flowsight, else target/debug/flowsight].
    #[arg(long)]
    flowsight: Option<PathBuf>,
    /// Captures run at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Time limit per capture, seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Where flowsight's outputs go [default: target/conformance].
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The disagreements the project keeps [default: crates/conformance/known-disagreements.tsv].
    #[arg(long)]
    known: Option<PathBuf>,
    /// Where to write this run's disagreements [default: <work-dir>/disagreements.tsv].
    #[arg(long)]
    disagreements: Option<PathBuf>,
    /// Also write the summary as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Minimum agreement per gated field, percent, after known disagreements.
    #[arg(long, default_value_t = 98.0)]
    threshold: f64,
    /// Only captures whose path (below the corpora folder) contains this (repeatable).
    #[arg(long)]
    only: Vec<String>,
    /// Reuse outputs of an earlier run instead of running flowsight again (for working on
    /// the comparisons).
    #[arg(long)]
    reuse: bool,
}

fn default_flowsight() -> PathBuf {
    let release = Path::new(WORKSPACE).join("target/release/flowsight");
    if release.is_file() {
        release
    } else {
        Path::new(WORKSPACE).join("target/debug/flowsight")
    }
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fs-conformance: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let bin = cli.flowsight.clone().unwrap_or_else(default_flowsight);
    if let Err(why) = run::check_available(&bin) {
        eprintln!("flowsight read unavailable: {why}");
        return Ok(ExitCode::from(2));
    }
    let work = cli
        .work_dir
        .clone()
        .unwrap_or_else(|| Path::new(WORKSPACE).join("target/conformance"));
    let known_path = cli
        .known
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("known-disagreements.tsv"));
    let known_text = std::fs::read_to_string(&known_path)
        .with_context(|| format!("reading {}", known_path.display()))?;
    let known = known::parse(&known_text)?;

    let zeek_dir = cli.corpora.join("zeek");
    let (selected, skipped) = if zeek_dir.is_dir() {
        zeek::select_in(&zeek_dir)?
    } else {
        Default::default()
    };
    let mut captures = corpus::discover(&cli.corpora, &selected)?;
    anyhow::ensure!(
        !captures.is_empty(),
        "no captures under {}",
        cli.corpora.display()
    );
    if !cli.only.is_empty() {
        captures.retain(|c| cli.only.iter().any(|o| c.rel.contains(o.as_str())));
    }
    eprintln!(
        "fs-conformance: {} captures, {} Zeek baselines selected ({} left out by the rules), flowsight {}",
        captures.len(),
        selected.len(),
        skipped.len(),
        bin.display()
    );

    let start = Instant::now();
    let (board, results, warnings) = run_all(&cli, &bin, &work, &captures)?;
    let outcomes: Vec<(&str, &Outcome)> = results
        .iter()
        .map(|(c, r)| (c.as_str(), &r.outcome))
        .collect();
    let robustness = compare::robustness::tally(outcomes);

    let matched = known::match_all(&board.disagreements, &known);
    let summary = report::summarize(&board, &matched, robustness, cli.threshold);
    print!("{}", report::table(&summary));

    let dis_path = cli
        .disagreements
        .clone()
        .unwrap_or_else(|| work.join("disagreements.tsv"));
    std::fs::write(&dis_path, report::disagreements_tsv(&matched))
        .with_context(|| format!("writing {}", dis_path.display()))?;
    if let Some(j) = &cli.json {
        std::fs::write(j, serde_json::to_string_pretty(&summary)?)
            .with_context(|| format!("writing {}", j.display()))?;
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let mut slow: Vec<_> = results.iter().map(|(c, r)| (r.elapsed, c)).collect();
    slow.sort_by(|a, b| b.cmp(a));
    let slow: Vec<String> = slow
        .iter()
        .take(3)
        .map(|(d, c)| format!("{c} {:.1} s", d.as_secs_f64()))
        .collect();
    println!(
        "{} disagreements: {} known, {} new ({}); {} known lines matched nothing this run; slowest: {}; {:.0} s",
        board.disagreements.len(),
        matched.known.len(),
        matched.new.len(),
        dis_path.display(),
        matched.stale.len(),
        slow.join(", "),
        start.elapsed().as_secs_f64()
    );
    if summary.failures.is_empty() {
        println!("PASS");
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &summary.failures {
            println!("FAIL {f}");
        }
        Ok(ExitCode::from(1))
    }
}

type Results = (Scoreboard, Vec<(String, RunResult)>, Vec<String>);

/// Runs and compares every capture with `cli.jobs` workers, largest captures first.
fn run_all(cli: &Cli, bin: &Path, work: &Path, captures: &[Capture]) -> Result<Results> {
    let mut order: Vec<&Capture> = captures.iter().collect();
    order.sort_by_key(|c| std::cmp::Reverse(c.size));
    let out_dir = work.join("out");
    for c in &order {
        let p = out_dir.join(&c.rel);
        std::fs::create_dir_all(p.parent().unwrap_or(&out_dir))
            .with_context(|| format!("creating {}", p.display()))?;
    }
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let all = Mutex::new((Scoreboard::default(), Vec::new(), Vec::new()));
    let timeout = Duration::from_secs(cli.timeout);
    std::thread::scope(|s| {
        for _ in 0..cli.jobs.max(1) {
            s.spawn(|| {
                let mut board = Scoreboard::default();
                let mut results = Vec::new();
                let mut warnings = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = order.get(i) else { break };
                    let r = run_capture(bin, &out_dir, c, timeout, cli.reuse);
                    warnings.extend(conform::capture(c, &r, &mut board));
                    results.push((c.rel.clone(), r));
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_multiple_of(100) || n == order.len() {
                        eprintln!("fs-conformance: {n}/{} captures", order.len());
                    }
                }
                let mut all = all.lock().unwrap_or_else(|e| e.into_inner());
                all.0.merge(board);
                all.1.extend(results);
                all.2.extend(warnings);
            });
        }
    });
    let (mut board, mut results, warnings) = all.into_inner().unwrap_or_else(|e| e.into_inner());
    board.disagreements.sort();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((board, results, warnings))
}

/// Runs flowsight on one capture (unpacking a gzipped one first), or with `reuse` takes the
/// outcome an earlier run saved.
fn run_capture(
    bin: &Path,
    out_dir: &Path,
    c: &Capture,
    timeout: Duration,
    reuse: bool,
) -> RunResult {
    let output = out_dir.join(format!("{}.jsonl", c.rel));
    let saved = out_dir.join(format!("{}.outcome.json", c.rel));
    if reuse
        && let Ok(text) = std::fs::read_to_string(&saved)
        && let Ok(outcome) = serde_json::from_str::<Outcome>(&text)
    {
        return RunResult {
            outcome,
            output,
            elapsed: Duration::ZERO,
        };
    }
    let input = if c.gzipped() {
        let unpacked = out_dir.join(c.rel.trim_end_matches(".gz"));
        if let Err(e) = run::gunzip(&c.path, &unpacked) {
            return RunResult {
                outcome: Outcome::NotRun {
                    why: format!("gunzip: {e}"),
                },
                output,
                elapsed: Duration::ZERO,
            };
        }
        unpacked
    } else {
        c.path.clone()
    };
    let r = run::run_one(bin, &input, &output, timeout);
    if let Ok(j) = serde_json::to_string(&r.outcome) {
        let _ = std::fs::write(&saved, j);
    }
    if c.gzipped() {
        let _ = std::fs::remove_file(&input);
    }
    r
}
