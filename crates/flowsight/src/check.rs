//! `flowsight check`: what loads and attaches on this kernel, hook by hook.

use crate::cli::CheckArgs;
use anyhow::{Context, Result};
use flowsight_capture::{Capture, CaptureConfig, netns, tcx_supported};
use std::io::Write;

/// Run the check, print the report, and return the process exit code: 0 when everything
/// attached, 1 when only attribution probes failed (capture works, degraded), 2 when the TC
/// programs cannot attach (no capture possible).
pub fn run(args: &CheckArgs) -> Result<i32> {
    if let Some(ns) = &args.netns {
        netns::enter(ns)?;
    }
    let cfg = CaptureConfig {
        interfaces: args.interfaces.clone(),
        tc_mode: args.tc_mode.into(),
        // Try the opt-in probes too: the check is about what this kernel can do.
        stamp_receives: true,
        ..CaptureConfig::default()
    };
    let status = Capture::probe(&cfg)?;
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .context("reading the kernel release")?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "kernel {}, BTF present, TC attaches through {}",
        kernel.trim(),
        if tcx_supported() {
            "TCX links"
        } else {
            "netlink (clsact)"
        }
    )?;
    let mut degraded = 0;
    let mut tc_failed = 0;
    for s in &status {
        match &s.outcome {
            Ok(()) => writeln!(out, "  ok        {:<40} {}", s.target, s.program)?,
            Err(f) => {
                if s.program.starts_with("fsight_tc_") {
                    tc_failed += 1;
                } else {
                    degraded += 1;
                }
                writeln!(
                    out,
                    "  FAILED    {:<40} {}: {}",
                    s.target, s.program, f.error
                )?;
                writeln!(out, "            without it: {}", f.degraded)?;
            }
        }
    }
    let (verdict, code) = if tc_failed > 0 {
        ("flows cannot be counted: the TC programs did not attach", 2)
    } else if degraded > 0 {
        (
            "flows are counted; attribution is degraded as listed above",
            1,
        )
    } else {
        ("everything loads: full attribution", 0)
    };
    writeln!(out, "{verdict}")?;
    Ok(code)
}
