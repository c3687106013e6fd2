//! `flowsight read`: its flags and resolved settings.

use super::{AnalysisArgs, Output, output, seconds};
use anyhow::{Result, bail};
use clap::Args;
use flowsight_flow::Timeouts;
use std::time::Duration;

/// `flowsight read` as typed.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The capture file ('-': standard input).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Write records to FILE ('-': standard output).
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: String,
    /// Write an interim record for a flow still open after SECS seconds of capture time.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60.0,
        allow_negative_numbers = true
    )]
    pub active_timeout: f64,
    /// Consider a flow over after SECS seconds of capture time without a packet.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60.0,
        allow_negative_numbers = true
    )]
    pub idle_timeout: f64,
    /// Analyze with N threads (flows are split between them by address pair; 0: one per
    /// CPU core, as `xz -T0`). Each flow's records keep their order; records of different
    /// flows interleave in another order than with one thread, which writes the same
    /// records in the same order on every run.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Never draw the progress bar (it is drawn only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Read the file with read(2) rather than mapping it into memory. A mapped file that
    /// another process cuts shorter while it is read ends flowsight with SIGBUS (as with
    /// ripgrep's maps); mapping saves copying every byte.
    #[arg(long)]
    pub no_mmap: bool,
    /// Protocol analysis.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// `flowsight read`, resolved.
#[derive(Debug, Clone)]
pub struct ReadConfig {
    /// The capture file, or `-`.
    pub file: String,
    /// Where records go.
    pub output: Output,
    /// Engine settings.
    pub engine: flowsight_flow::EngineConfig,
    /// Worker threads.
    pub threads: usize,
    /// Draw a progress bar when stderr is a terminal.
    pub progress: bool,
    /// Map a plain file into memory rather than read it.
    pub mmap: bool,
}

impl ReadConfig {
    /// Open the capture as configured.
    pub fn open(&self) -> Result<flowsight_pcapfile::CaptureReader> {
        use anyhow::Context;
        let r = if self.mmap {
            flowsight_pcapfile::CaptureReader::open(&self.file)
        } else {
            flowsight_pcapfile::CaptureReader::open_read(&self.file)
        };
        r.with_context(|| format!("reading {}", self.file))
    }
}

impl ReadArgs {
    /// Check the flags and build the settings.
    pub fn resolve(&self) -> Result<ReadConfig> {
        if self.threads > 256 {
            bail!(
                "--threads must be between 0 (one per core) and 256, got {}",
                self.threads
            );
        }
        let threads = match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(256)),
            n => n,
        };
        let ns = |d: Duration| d.as_nanos() as u64;
        Ok(ReadConfig {
            file: self.file.clone(),
            output: output(&self.output),
            engine: flowsight_flow::EngineConfig {
                timeouts: Timeouts {
                    idle_ns: ns(seconds("idle-timeout", self.idle_timeout, false)?),
                    active_ns: ns(seconds("active-timeout", self.active_timeout, false)?),
                    linger_ns: Timeouts::default().linger_ns,
                },
                analyze: !self.analysis.no_protocols,
                app: self.analysis.resolve()?,
                flow_records: true,
            },
            threads,
            progress: !self.no_progress,
            mmap: !self.no_mmap,
        })
    }
}
