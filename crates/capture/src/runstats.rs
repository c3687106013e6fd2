//! How long the BPF programs run: the kernel's per-program run time and run count.
//!
//! The kernel keeps these counters only while someone holds a `BPF_ENABLE_STATS` file
//! descriptor (or `kernel.bpf_stats_enabled` is 1): each run then costs two clock reads,
//! which is why it is a choice ([`crate::CaptureConfig::program_stats`]) and not always on.

use aya::Ebpf;
use std::os::fd::OwnedFd;

/// One loaded program's totals since it was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramStats {
    /// The program's name in the object (its C function name).
    pub name: String,
    /// Times it ran (every attachment together).
    pub runs: u64,
    /// Nanoseconds it ran in total.
    pub run_time_ns: u64,
}

/// Ask the kernel to count run time; the counting lasts as long as the returned descriptor.
pub(crate) fn enable() -> Result<OwnedFd, String> {
    aya::sys::enable_stats(aya::sys::Stats::RunTime).map_err(|e| e.to_string())
}

/// The totals of every loaded program, by name. Programs that failed to load have no
/// descriptor and are left out.
pub(crate) fn read(ebpf: &Ebpf) -> Vec<ProgramStats> {
    let mut out: Vec<ProgramStats> = ebpf
        .programs()
        .filter_map(|(name, prog)| {
            let info = prog.info().ok()?;
            Some(ProgramStats {
                name: name.to_string(),
                runs: info.run_count(),
                run_time_ns: u64::try_from(info.run_time().as_nanos()).unwrap_or(u64::MAX),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
