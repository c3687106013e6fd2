//! The command line, as typed ([`Cli`]), and resolved into validated settings.
//!
//! Flags are parsed in two steps, as ripgrep does: clap turns argv into these structs, then
//! `resolve` checks what clap cannot (ranges, combinations) and builds the settings the
//! commands run with, so a bad flag fails before anything is loaded into the kernel.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use flowsight_capture::TcMode;
use std::path::PathBuf;
use std::time::Duration;

mod live;
mod read;
mod top;

pub use live::{CheckArgs, LiveArgs, LiveConfig};
pub use read::{ReadArgs, ReadConfig};
pub use top::{ReplayConfig, TopArgs, TopConfig};

/// Network flows bound to the processes, users and containers that made them.
#[derive(Debug, Parser)]
#[command(name = "flowsight", version, about, max_term_width = 100)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// Log more on stderr (-v: info, -vv: debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// flowsight's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Capture live: count every TCP/UDP/ICMP flow in the kernel, bind each to the process,
    /// user and container at its local ends, and write one JSON record per line.
    Live(LiveArgs),
    /// Tell, hook by hook, what loads and attaches on this kernel and what is degraded.
    Check(CheckArgs),
    /// Read a capture file (pcap or pcapng, optionally gzip-compressed; '-' for standard
    /// input) and write its flow, HTTP, DNS, TLS and weird records.
    Read(ReadArgs),
    /// Show traffic in the terminal by process, user, container, remote host or flow, live
    /// or (-r) from a capture file. Keys: p/u/c/h/f group, Enter open, Esc back, / filter,
    /// q quit.
    Top(TopArgs),
    /// Write packets to a pcapng file, each with a comment and custom options naming the
    /// process, user and container of its local end (Wireshark shows the comments); or, with
    /// -r, annotate an existing capture from a `flowsight live` record log.
    Capture(crate::capture::CaptureArgs),
}

/// Protocol-analysis flags shared by `live` and `read`.
#[derive(Debug, Args)]
pub struct AnalysisArgs {
    /// Log this HTTP header's value in http.request.headers / http.response.headers
    /// (repeatable, case-insensitive).
    #[arg(long = "http-header", value_name = "NAME")]
    pub http_headers: Vec<String>,
    /// Log the values of Authorization, Proxy-Authorization, Cookie and Set-Cookie instead of
    /// [REDACTED].
    #[arg(long)]
    pub log_credentials: bool,
    /// Write a DNS query without an answer after SECS seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10.0,
        allow_negative_numbers = true
    )]
    pub dns_timeout: f64,
    /// Flow records only: no HTTP, DNS or TLS analysis.
    #[arg(long)]
    pub no_protocols: bool,
}

impl AnalysisArgs {
    /// The engine settings these flags describe.
    pub fn resolve(&self) -> Result<flowsight_flow::app::AppConfig> {
        let dns = seconds("dns-timeout", self.dns_timeout, false)?;
        Ok(flowsight_flow::app::AppConfig {
            http_headers: self
                .http_headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            log_credentials: self.log_credentials,
            dns_timeout_ns: dns.as_nanos() as u64,
        })
    }
}

/// How TC programs attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TcModeArg {
    /// TCX links on 6.6+, netlink before.
    Auto,
    /// TCX links only.
    Tcx,
    /// Netlink cls_bpf filters on a clsact qdisc.
    Netlink,
}

impl From<TcModeArg> for TcMode {
    fn from(m: TcModeArg) -> TcMode {
        match m {
            TcModeArg::Auto => TcMode::Auto,
            TcModeArg::Tcx => TcMode::Tcx,
            TcModeArg::Netlink => TcMode::Netlink,
        }
    }
}

/// Where records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard output.
    Stdout,
    /// A file, created or truncated.
    File(PathBuf),
}

pub(crate) fn seconds(flag: &str, v: f64, allow_zero: bool) -> Result<Duration> {
    if !v.is_finite() || v < 0.0 || (!allow_zero && v == 0.0) {
        bail!("--{flag} must be a positive number of seconds, got {v}");
    }
    Duration::try_from_secs_f64(v).with_context(|| format!("--{flag} {v} is out of range"))
}

pub(crate) fn output(o: &str) -> Output {
    match o {
        "-" => Output::Stdout,
        path => Output::File(path.into()),
    }
}

#[cfg(test)]
mod tests;
