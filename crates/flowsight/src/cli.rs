//! The command line, as typed ([`Cli`]), and resolved into validated settings.
//!
//! Flags are parsed in two steps, as ripgrep does: clap turns argv into these structs, then
//! `resolve` checks what clap cannot (ranges, combinations) and builds the settings the
//! commands run with, so a bad flag fails before anything is loaded into the kernel.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use flowsight_capture::{CaptureConfig, TcMode};
use flowsight_flow::Timeouts;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Analyze with N threads (flows are split between them by address pair).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Never draw the progress bar (it is drawn only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Protocol analysis.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// `flowsight top` as typed: a capture file to replay, or the flags of `flowsight live`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Replay this capture file ('-': standard input) instead of capturing live. A capture
    /// has no process owners: group by host (h) or flow (f).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<String>,
    /// With -r: replay at the capture's own pace times X (2: twice as fast) instead of all
    /// at once.
    #[arg(long, value_name = "X", requires = "read")]
    pub speed: Option<f64>,
    /// Live capture, as `flowsight live` (whatever --active-timeout says, top has every open
    /// flow reported at each flow-map scan, once a second, so rates move every second).
    #[command(flatten)]
    pub live: LiveArgs,
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

/// `flowsight live` as typed.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture on (repeatable). Default: every interface that is up, loopback
    /// included.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interfaces: Vec<String>,
    /// Write records to FILE ('-': standard output).
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: String,
    /// Stop after SECS seconds (records of open flows are written on the way out).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// Write an interim record for a flow still open after SECS seconds, and every SECS
    /// seconds after that.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60.0,
        allow_negative_numbers = true
    )]
    pub active_timeout: f64,
    /// Consider a flow over after SECS seconds without a packet.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60.0,
        allow_negative_numbers = true
    )]
    pub idle_timeout: f64,
    /// Write a stats record every SECS seconds (and one at exit); 0 for only the last.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60.0,
        allow_negative_numbers = true
    )]
    pub stats_interval: f64,
    /// Capture in the network namespace NS: a name under /run/netns, or a path such as
    /// /proc/PID/ns/net. Process attribution stays host-wide.
    #[arg(long, value_name = "NS")]
    pub netns: Option<String>,
    /// Write only the records of this container: an id or id prefix (docker's 12-digit short
    /// id), an LXC or systemd-nspawn name, or a Kubernetes pod uid (repeatable).
    #[arg(long = "container", value_name = "ID|NAME")]
    pub containers: Vec<String>,
    /// Write only the records of sockets in the network namespace NS: an inode number (as
    /// lsns shows it), a name under /run/netns, or a path such as /proc/PID/ns/net
    /// (repeatable). --netns chooses where to capture; this chooses whose records to keep.
    #[arg(long = "owner-netns", value_name = "NS")]
    pub owner_netns: Vec<String>,
    /// Ask the CRI runtime service at PATH (containerd, CRI-O) for Kubernetes containers'
    /// names and their pods' names and namespaces (repeatable: the first that exists).
    /// Default: /run/containerd/containerd.sock, /var/run/crio/crio.sock,
    /// /run/k3s/containerd/containerd.sock.
    #[arg(long = "cri-socket", value_name = "PATH")]
    pub cri_sockets: Vec<PathBuf>,
    /// How TC programs attach.
    #[arg(long, value_enum, default_value = "auto")]
    pub tc_mode: TcModeArg,
    /// Size of the kernel event ring buffer, in bytes (a power of two).
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
    pub ring_size: u32,
    /// Capacity of the kernel flow map (concurrent flows).
    #[arg(long, value_name = "FLOWS", default_value_t = 1 << 18)]
    pub flow_map_size: u32,
    /// Payload samples the kernel sends per flow and direction for HTTP/DNS/TLS analysis
    /// (the first bytes of each flow's first packets; sampling of a flow stops earlier once
    /// its analyzers have what they need). 0 turns protocol analysis off.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub sample_packets: u32,
    /// Size of the kernel's payload-sample ring buffer, in bytes (a power of two).
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
    pub sample_ring_size: u32,
    /// Protocol analysis.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// Also stamp socket owners at a socket's first receive. Costs a tracepoint call on every
    /// receive; only needed for receive-only sockets accepted without accept(2) (io_uring).
    #[arg(long)]
    pub stamp_receives: bool,
    /// How often the kernel flow map is read, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000, hide = true)]
    pub scan_interval_ms: u64,
    /// Serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9464). An address
    /// other than loopback needs --token-file.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Serve the dashboard on http://ADDR/, the REST API under /api/v1/ and /metrics (one
    /// server; --metrics ADDR serves the same). An address other than loopback needs
    /// --token-file.
    #[arg(long, value_name = "ADDR", conflicts_with = "metrics")]
    pub web: Option<std::net::SocketAddr>,
    /// A file holding the bearer token every HTTP request must send
    /// (`Authorization: Bearer TOKEN`).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Allow changing the capture through the API (attach/detach interfaces, protocol
    /// analysis settings). Needs --token-file: without a token anyone who can reach the
    /// server, every local user on loopback, could blind the capture or turn credential
    /// logging on.
    #[arg(long)]
    pub allow_control: bool,
    /// Traffic metrics keep their own series for at most N (process, user, container)
    /// triples; later ones are counted under process="other".
    #[arg(long, value_name = "N", default_value_t = flowsight_sink::DEFAULT_MAX_SERIES)]
    pub metrics_max_series: usize,
    /// Have the kernel count each BPF program's run time (stats records'
    /// flowsight.bpf_programs, metrics flowsight_bpf_program_*). Costs about 70 ns per
    /// program run (two clock reads), most of what the TC program itself costs: off unless
    /// asked.
    #[arg(long)]
    pub bpf_stats: bool,
}

/// `flowsight check` as typed.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Interface to try the TC programs on (repeatable). Default: lo.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interfaces: Vec<String>,
    /// Check in the network namespace NS (as `live --netns`).
    #[arg(long, value_name = "NS")]
    pub netns: Option<String>,
    /// How TC programs attach.
    #[arg(long, value_enum, default_value = "auto")]
    pub tc_mode: TcModeArg,
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

/// `flowsight live`, resolved.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// What the kernel side captures.
    pub capture: CaptureConfig,
    /// Where records go.
    pub output: Output,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Flow ageing.
    pub timeouts: Timeouts,
    /// Protocol analysis of payload samples (None: off).
    pub engine: Option<flowsight_flow::EngineConfig>,
    /// Stats record period (None: only at exit).
    pub stats_interval: Option<Duration>,
    /// Network namespace to enter first.
    pub netns: Option<String>,
    /// Flow map read period.
    pub scan_interval: Duration,
    /// The HTTP endpoint (dashboard, API, metrics), from --web or --metrics.
    pub metrics: Option<crate::serve::ServeConfig>,
    /// Whose records to keep (--container, --owner-netns).
    pub filter: crate::live::filter::OwnerFilter,
    /// CRI runtime sockets to ask for Kubernetes names (--cri-socket; empty: the defaults).
    pub cri_sockets: Vec<PathBuf>,
}

fn seconds(flag: &str, v: f64, allow_zero: bool) -> Result<Duration> {
    if !v.is_finite() || v < 0.0 || (!allow_zero && v == 0.0) {
        bail!("--{flag} must be a positive number of seconds, got {v}");
    }
    Duration::try_from_secs_f64(v).with_context(|| format!("--{flag} {v} is out of range"))
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
}

impl ReadArgs {
    /// Check the flags and build the settings.
    pub fn resolve(&self) -> Result<ReadConfig> {
        if self.threads == 0 || self.threads > 256 {
            bail!("--threads must be between 1 and 256, got {}", self.threads);
        }
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
            threads: self.threads,
            progress: !self.no_progress,
        })
    }
}

/// `flowsight top`, resolved.
#[derive(Debug, Clone)]
pub enum TopConfig {
    /// Live capture (boxed: a live configuration is large and there is one per run).
    Live(Box<LiveConfig>),
    /// A capture file replayed.
    Replay(ReplayConfig),
}

/// `flowsight top -r FILE`, resolved.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// The capture file, or `-`.
    pub file: String,
    /// Engine settings.
    pub engine: flowsight_flow::EngineConfig,
    /// Pace: capture time divided by this (None: all at once).
    pub speed: Option<f64>,
}

impl TopArgs {
    /// Check the flags and build the settings.
    ///
    /// Top needs an interim record of every open flow at every flow-map scan (once a second),
    /// so each refresh has fresh rates. An active timeout equal to the scan period beats
    /// against it (a flow reported a hair less than a period ago waits a whole period, and a
    /// steady 100 KiB/s showed as 0, 200, 100 KiB/s); half the period gives exactly one record
    /// per open flow per scan.
    pub fn resolve(&self) -> Result<TopConfig> {
        if self.live.output != "-" {
            bail!("top draws on the terminal; -o/--output is for `flowsight live` and `read`");
        }
        let Some(file) = &self.read else {
            let mut cfg = self.live.resolve()?;
            let active = cfg.scan_interval.as_nanos() as u64 / 2;
            cfg.timeouts.active_ns = active;
            if let Some(engine) = &mut cfg.engine {
                engine.timeouts.active_ns = active;
            }
            return Ok(TopConfig::Live(Box::new(cfg)));
        };
        if !self.live.interfaces.is_empty() || self.live.netns.is_some() {
            bail!("-i and --netns are for live capture, not with -r");
        }
        let speed = match self.speed {
            Some(x) if !x.is_finite() || x <= 0.0 => {
                bail!("--speed must be a positive number, got {x}")
            }
            s => s,
        };
        let idle = seconds("idle-timeout", self.live.idle_timeout, false)?;
        // Paced, a window is `speed` seconds of capture (one of the wall clock): half that, as
        // live. At once there is one window, and interim records would only cost time.
        let active = match speed {
            Some(x) => Duration::from_secs_f64(x / 2.0).max(Duration::from_millis(1)),
            None => seconds("active-timeout", self.live.active_timeout, false)?,
        }
        .as_nanos() as u64;
        Ok(TopConfig::Replay(ReplayConfig {
            file: file.clone(),
            engine: flowsight_flow::EngineConfig {
                timeouts: Timeouts {
                    idle_ns: idle.as_nanos() as u64,
                    active_ns: active,
                    linger_ns: Timeouts::default().linger_ns,
                },
                analyze: !self.live.analysis.no_protocols,
                app: self.live.analysis.resolve()?,
                flow_records: true,
            },
            speed,
        }))
    }
}

fn output(o: &str) -> Output {
    match o {
        "-" => Output::Stdout,
        path => Output::File(path.into()),
    }
}

impl LiveArgs {
    /// Check the flags and build the settings.
    pub fn resolve(&self) -> Result<LiveConfig> {
        if !self.ring_size.is_power_of_two() || self.ring_size < 4096 {
            bail!(
                "--ring-size must be a power of two of at least 4096 bytes, got {}",
                self.ring_size
            );
        }
        if self.flow_map_size == 0 {
            bail!("--flow-map-size must be at least 1");
        }
        if !self.sample_ring_size.is_power_of_two() || self.sample_ring_size < 4096 {
            bail!(
                "--sample-ring-size must be a power of two of at least 4096 bytes, got {}",
                self.sample_ring_size
            );
        }
        if self.sample_packets > 255 {
            bail!(
                "--sample-packets must be at most 255, got {}",
                self.sample_packets
            );
        }
        let analyze = self.sample_packets > 0 && !self.analysis.no_protocols;
        if self.allow_control && self.web.is_none() && self.metrics.is_none() {
            bail!("--allow-control needs --web ADDR: it allows changes through the web API");
        }
        if self.allow_control && self.token_file.is_none() {
            bail!(
                "--allow-control needs --token-file FILE: without a token every local user could detach interfaces or turn credential logging on"
            );
        }
        if !(10..=60_000).contains(&self.scan_interval_ms) {
            bail!("--scan-interval-ms must be between 10 and 60000");
        }
        let ns = |d: Duration| d.as_nanos() as u64;
        let idle = seconds("idle-timeout", self.idle_timeout, false)?;
        let active = seconds("active-timeout", self.active_timeout, false)?;
        let stats = seconds("stats-interval", self.stats_interval, true)?;
        Ok(LiveConfig {
            capture: CaptureConfig {
                interfaces: self.interfaces.clone(),
                tc_mode: self.tc_mode.into(),
                ring_bytes: self.ring_size,
                flow_map_entries: self.flow_map_size,
                stamp_receives: self.stamp_receives,
                sample_packets: if analyze { self.sample_packets } else { 0 },
                sample_ring_bytes: self.sample_ring_size,
                packet_ring_bytes: CaptureConfig::default().packet_ring_bytes,
                program_stats: self.bpf_stats,
            },
            output: output(&self.output),
            duration: self
                .duration
                .map(|d| seconds("duration", d, false))
                .transpose()?,
            timeouts: Timeouts {
                idle_ns: ns(idle),
                active_ns: ns(active),
                linger_ns: Timeouts::default().linger_ns,
            },
            engine: if analyze {
                Some(flowsight_flow::EngineConfig {
                    timeouts: Timeouts {
                        idle_ns: ns(idle),
                        active_ns: ns(active),
                        linger_ns: Timeouts::default().linger_ns,
                    },
                    analyze: true,
                    app: self.analysis.resolve()?,
                    flow_records: false,
                })
            } else {
                None
            },
            stats_interval: (!stats.is_zero()).then_some(stats),
            netns: self.netns.clone(),
            cri_sockets: self.cri_sockets.clone(),
            filter: crate::live::filter::OwnerFilter {
                containers: self.containers.clone(),
                netns: self
                    .owner_netns
                    .iter()
                    .map(|ns| crate::live::filter::netns_id(ns))
                    .collect::<Result<_>>()?,
            },
            scan_interval: Duration::from_millis(self.scan_interval_ms),
            metrics: self
                .web
                .or(self.metrics)
                .map(|addr| {
                    crate::serve::ServeConfig::new(
                        addr,
                        self.token_file.as_deref(),
                        self.metrics_max_series,
                    )
                    .map(|c| c.with_control(self.allow_control))
                })
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(args: &[&str]) -> Result<LiveConfig> {
        let mut argv = vec!["flowsight", "live"];
        argv.extend(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Live(a) => a.resolve(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn web_and_metrics_start_the_same_server() {
        for flag in ["--web", "--metrics"] {
            let c = live(&[flag, "127.0.0.1:9464"]).unwrap();
            assert_eq!(c.metrics.unwrap().addr.port(), 9464, "{flag}");
        }
        assert!(live(&["--web", "127.0.0.1:1", "--metrics", "127.0.0.1:2"]).is_err());
        let err = live(&["--web", "0.0.0.0:9464"]).unwrap_err().to_string();
        assert!(err.contains("--token-file"), "{err}");
        let c = live(&["--web", "127.0.0.1:1"]).unwrap();
        assert!(!c.metrics.unwrap().allow_control);
        let err = live(&["--web", "127.0.0.1:1", "--allow-control"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--token-file"), "{err}");
        let token =
            std::env::temp_dir().join(format!("flowsight-cli-token-{}", std::process::id()));
        std::fs::write(&token, "0123456789abcdef0123\n").unwrap();
        let with_token = live(&[
            "--web",
            "127.0.0.1:1",
            "--allow-control",
            "--token-file",
            token.to_str().unwrap(),
        ]);
        let _ = std::fs::remove_file(&token);
        assert!(with_token.unwrap().metrics.unwrap().allow_control);
        let err = live(&["--allow-control"]).unwrap_err().to_string();
        assert!(err.contains("--web"), "{err}");
    }

    #[test]
    fn defaults() {
        let c = live(&[]).unwrap();
        assert_eq!(c.output, Output::Stdout);
        assert!(c.capture.interfaces.is_empty());
        assert_eq!(c.timeouts.idle_ns, 60_000_000_000);
        assert_eq!(c.duration, None);
    }

    #[test]
    fn repeatable_interfaces_and_output_file() {
        let c = live(&[
            "-i",
            "lo",
            "-i",
            "eth0",
            "-o",
            "/tmp/x.json",
            "--duration",
            "2.5",
        ])
        .unwrap();
        assert_eq!(c.capture.interfaces, vec!["lo", "eth0"]);
        assert_eq!(c.output, Output::File("/tmp/x.json".into()));
        assert_eq!(c.duration, Some(Duration::from_millis(2500)));
    }

    #[test]
    fn read_flags() {
        let cli = Cli::try_parse_from([
            "flowsight",
            "read",
            "x.pcap",
            "--http-header",
            "Accept",
            "--threads",
            "2",
        ])
        .unwrap();
        let Command::Read(a) = cli.command else {
            unreachable!()
        };
        let c = a.resolve().unwrap();
        assert_eq!(c.engine.app.http_headers, vec!["accept"]);
        assert_eq!(c.threads, 2);
        assert!(c.engine.analyze);
        let cli = Cli::try_parse_from(["flowsight", "read", "x.pcap", "--threads", "0"]).unwrap();
        let Command::Read(a) = cli.command else {
            unreachable!()
        };
        assert!(a.resolve().unwrap_err().to_string().contains("--threads"));
    }

    #[test]
    fn top_flags() {
        let top = |args: &[&str]| {
            let mut argv = vec!["flowsight", "top"];
            argv.extend(args);
            match Cli::try_parse_from(argv)?.command {
                Command::Top(a) => a.resolve(),
                _ => unreachable!(),
            }
        };
        let TopConfig::Live(c) = top(&["-i", "lo", "--active-timeout", "30"]).unwrap() else {
            panic!("no -r: live")
        };
        assert_eq!(c.capture.interfaces, vec!["lo"]);
        assert_eq!(c.timeouts.active_ns, 500_000_000, "half the scan period");
        assert_eq!(c.engine.unwrap().timeouts.active_ns, 500_000_000);
        let TopConfig::Replay(r) = top(&["-r", "x.pcap", "--speed", "2"]).unwrap() else {
            panic!("-r: replay")
        };
        assert_eq!((r.file.as_str(), r.speed), ("x.pcap", Some(2.0)));
        assert!(r.engine.flow_records && r.engine.analyze);
        assert_eq!(r.engine.timeouts.active_ns, 1_000_000_000);
        let TopConfig::Replay(r) = top(&["-r", "x.pcap"]).unwrap() else {
            panic!("-r: replay")
        };
        assert_eq!(r.speed, None);
        assert_eq!(r.engine.timeouts.active_ns, 60_000_000_000);
        for (args, msg) in [
            (
                &["-r", "x", "--speed", "0"][..],
                "--speed must be a positive",
            ),
            (&["-r", "x", "-i", "lo"][..], "-i and --netns are for live"),
            (&["-o", "x.json"][..], "top draws on the terminal"),
        ] {
            let e = top(args).unwrap_err().to_string();
            assert!(e.contains(msg), "{args:?}: {e}");
        }
        assert!(top(&["--speed", "2"]).is_err(), "--speed needs -r");
    }

    #[test]
    fn bad_values_are_one_clear_line() {
        for (args, msg) in [
            (
                &["--idle-timeout", "-1"][..],
                "--idle-timeout must be a positive number of seconds",
            ),
            (
                &["--ring-size", "5000"][..],
                "--ring-size must be a power of two",
            ),
            (
                &["--duration", "0"][..],
                "--duration must be a positive number",
            ),
        ] {
            let e = live(args).unwrap_err().to_string();
            assert!(e.contains(msg), "{args:?}: {e}");
            assert!(!e.contains('\n'));
        }
        assert!(live(&["--bogus"]).is_err());
    }
}
