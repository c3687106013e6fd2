//! `flowsight live` and `flowsight check`: their flags, and live's resolved settings.

use super::{AnalysisArgs, Output, TcModeArg, output, seconds};
use anyhow::{Result, bail};
use clap::Args;

/// Where `--web` and `--metrics` listen when given no address: loopback only.
const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:9464";
use flowsight_capture::CaptureConfig;
use flowsight_flow::Timeouts;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Write only the records (capture: the packets) of this container: an id or id prefix
    /// (docker's 12-digit short id), a name (from the Docker or CRI API once it answered),
    /// an LXC or systemd-nspawn name, or a Kubernetes pod uid (repeatable).
    #[arg(long = "container", value_name = "ID|NAME")]
    pub containers: Vec<String>,
    /// Write only the records (capture: the packets) of sockets in the network namespace NS:
    /// an inode number (as lsns shows it), a name under /run/netns, or a path such as
    /// /proc/PID/ns/net (repeatable). --netns chooses where to capture; this chooses whose
    /// records to keep.
    #[arg(long = "owner-netns", value_name = "NS")]
    pub owner_netns: Vec<String>,
    /// Ask the CRI runtime service at PATH (containerd, CRI-O) for Kubernetes containers'
    /// names and their pods' names and namespaces (repeatable: the first that exists).
    /// Default: /run/containerd/containerd.sock, /var/run/crio/crio.sock,
    /// /run/k3s/containerd/containerd.sock.
    #[arg(long = "cri-socket", value_name = "PATH")]
    pub cri_sockets: Vec<PathBuf>,
    /// Ask the Docker Engine API at PATH (docker, or podman's compatible service, e.g. a
    /// rootless user's /run/user/UID/podman/podman.sock) for containers' names, images and
    /// labels (repeatable: the first that exists). Default: /var/run/docker.sock,
    /// /run/podman/podman.sock.
    #[arg(long = "docker-socket", value_name = "PATH")]
    pub docker_sockets: Vec<PathBuf>,
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
    /// Serve Prometheus metrics on http://ADDR/metrics (127.0.0.1:9464 when ADDR is left
    /// out). An address other than loopback needs --token-file.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = DEFAULT_HTTP_ADDR)]
    pub metrics: Option<std::net::SocketAddr>,
    /// Serve the dashboard on http://ADDR/, the REST API under /api/v1/ and /metrics (one
    /// server; --metrics ADDR serves the same; 127.0.0.1:9464 when ADDR is left out). An
    /// address other than loopback needs --token-file.
    #[arg(
        long,
        value_name = "ADDR",
        conflicts_with = "metrics",
        num_args = 0..=1,
        default_missing_value = DEFAULT_HTTP_ADDR
    )]
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
    /// Engine API sockets to ask for container names (--docker-socket; empty: the defaults).
    pub docker_sockets: Vec<PathBuf>,
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
            docker_sockets: self.docker_sockets.clone(),
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
