//! `flowsight capture` as typed, and resolved.

use crate::cli::{LiveArgs, LiveConfig, Output};
use anyhow::{Result, bail};
use clap::Args;
use flowsight_annotate::OwnerFilter;
use std::path::PathBuf;

/// `flowsight capture` as typed: where packets go, which are kept, and (flattened) the flags
/// of `flowsight live`, whose pipeline names the processes.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Write the packets to FILE (pcapng; '-': standard output).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: PathBuf,
    /// Annotate this capture file (pcap or pcapng, optionally gzip-compressed; '-' for
    /// standard input) instead of capturing live. Packets are copied byte for byte.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<String>,
    /// With -r: take processes from this `flowsight live -o` record log (JSON lines), joined
    /// by Community ID and time. Without it, packets are annotated with their flow only.
    #[arg(long, value_name = "FILE", requires = "read")]
    pub records: Option<PathBuf>,
    /// Keep at most BYTES of each packet. Live the kernel keeps at most 32672 (the default);
    /// with -r packets are kept whole unless this is given.
    #[arg(short = 's', long, value_name = "BYTES")]
    pub snaplen: Option<u32>,
    /// Stop after writing N packets.
    #[arg(short = 'c', long, value_name = "N")]
    pub count: Option<u64>,
    /// Keep only packets of this process id (repeatable).
    #[arg(long = "pid", value_name = "PID")]
    pub pids: Vec<u32>,
    /// Keep only packets of processes of this name, or of this 15-character comm (repeatable).
    #[arg(long = "comm", value_name = "NAME")]
    pub comms: Vec<String>,
    /// Keep only packets of processes running as this user name or uid (repeatable).
    #[arg(long = "user", value_name = "USER")]
    pub users: Vec<String>,
    /// Size of the kernel's packet ring buffer, in bytes (a power of two, at least 65536).
    /// Packets that do not fit are lost, counted and reported.
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    pub packet_ring_size: u32,
    /// A tcpdump filter expression (pcap-filter(7)), compiled by libpcap: `tcp port 80`,
    /// `host 10.0.0.2 and not arp`.
    #[arg(value_name = "EXPRESSION")]
    pub expression: Vec<String>,
    /// Live capture, as `flowsight live`. `-o FILE` also writes the live record log there
    /// (for a later `capture -r --records`); without it, no records are written.
    #[command(flatten)]
    pub live: LiveArgs,
}

/// Where packets come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The kernel, through the live pipeline (boxed: large, one per run).
    Live(Box<LiveConfig>),
    /// A capture file, and the record log to take owners from.
    File {
        /// The capture file, or `-`.
        path: String,
        /// The `flowsight live` record log.
        records: Option<PathBuf>,
    },
}

/// `flowsight capture`, resolved.
#[derive(Debug, Clone)]
pub struct CaptureConfig {
    /// The pcapng file to write.
    pub write: PathBuf,
    /// Live or a file.
    pub source: Source,
    /// Bytes kept of each packet (None: all).
    pub snaplen: Option<u32>,
    /// Stop after this many packets written.
    pub count: Option<u64>,
    /// --pid, --comm, --user, --container, --owner-netns.
    pub owners: OwnerFilter,
    /// The tcpdump expression, when given.
    pub expression: Option<String>,
}

impl CaptureArgs {
    /// Check the flags and build the settings.
    pub fn resolve(&self) -> Result<CaptureConfig> {
        if self.snaplen == Some(0) {
            bail!("--snaplen must be at least 1");
        }
        if self.count == Some(0) {
            bail!("--count must be at least 1");
        }
        // The server flags, flattened from the live flags: capture does not start a server.
        if self.live.web.is_some() || self.live.metrics.is_some() || self.live.allow_control {
            bail!("--web, --metrics and --allow-control are for flowsight live, not capture");
        }
        let expression = self.expression.join(" ");
        let source = match &self.read {
            Some(path) => {
                if !self.live.interfaces.is_empty() || self.live.netns.is_some() {
                    bail!("-i and --netns are for live capture, not with -r");
                }
                if self.live.output != "-" || self.live.duration.is_some() {
                    bail!("-o and --duration are for live capture, not with -r");
                }
                Source::File {
                    path: path.clone(),
                    records: self.records.clone(),
                }
            }
            None => {
                if !self.packet_ring_size.is_power_of_two() || self.packet_ring_size < 65536 {
                    bail!(
                        "--packet-ring-size must be a power of two of at least 65536 bytes, got {}",
                        self.packet_ring_size
                    );
                }
                let mut cfg = self.live.resolve()?;
                cfg.capture.packet_ring_bytes = self.packet_ring_size;
                if cfg.output == Output::Stdout {
                    // No record log asked for: the pipeline runs for its owners only, and the
                    // protocol analyzers would work for nothing.
                    cfg.engine = None;
                    cfg.capture.sample_packets = 0;
                }
                Source::Live(Box::new(cfg))
            }
        };
        Ok(CaptureConfig {
            write: self.write.clone(),
            source,
            snaplen: self.snaplen,
            count: self.count,
            owners: OwnerFilter {
                pids: self.pids.clone(),
                comms: self.comms.clone(),
                users: self.users.clone(),
                // `--container` is the live flag (LiveArgs, flattened here): one flag, the same
                // meaning (id prefix, name or pod uid) for records and packets.
                containers: self.live.containers.clone(),
                // `--owner-netns` too: the namespace of the socket, for packets as for records.
                netns: self
                    .live
                    .owner_netns
                    .iter()
                    .map(|ns| crate::live::filter::netns_id(ns))
                    .collect::<Result<_>>()?,
            },
            expression: (!expression.trim().is_empty()).then_some(expression),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn capture(args: &[&str]) -> Result<CaptureConfig> {
        let mut argv = vec!["flowsight", "capture"];
        argv.extend(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Capture(a) => a.resolve(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn live_with_filters_and_an_expression() {
        let c = capture(&[
            "-w", "x.pcapng", "-i", "lo", "--pid", "7", "--comm", "curl", "tcp", "port", "80",
        ])
        .unwrap();
        assert_eq!(c.expression.as_deref(), Some("tcp port 80"));
        assert_eq!(c.owners.pids, [7]);
        assert!(c.owners.netns.is_empty());
        let Source::Live(l) = c.source else {
            panic!("live")
        };
        assert_eq!(l.capture.interfaces, ["lo"]);
        assert_eq!(l.capture.packet_ring_bytes, 32 << 20);
        assert!(l.engine.is_none(), "no record log: no protocol analysis");
        let c = capture(&["-w", "x", "-o", "r.json"]).unwrap();
        let Source::Live(l) = c.source else {
            panic!("live")
        };
        assert!(l.engine.is_some());
    }

    #[test]
    fn owner_netns_filters_packets_too() {
        let c = capture(&[
            "-w",
            "x",
            "--owner-netns",
            "4026531840",
            "--owner-netns",
            "7",
        ])
        .unwrap();
        assert_eq!(c.owners.netns, [4026531840, 7]);
        let Source::Live(l) = c.source else {
            panic!("live")
        };
        assert_eq!(l.filter.netns, [4026531840, 7], "and the records of -o");
        // Also when annotating a file: the owners come from the record log.
        let c = capture(&[
            "-r",
            "in.pcap",
            "-w",
            "out",
            "--owner-netns",
            "/proc/self/ns/net",
        ]);
        let own = std::fs::metadata("/proc/self/ns/net").unwrap();
        assert_eq!(
            c.unwrap().owners.netns,
            [std::os::unix::fs::MetadataExt::ino(&own)]
        );
        assert!(capture(&["-w", "x", "--owner-netns", "/nonexistent"]).is_err());
    }

    #[test]
    fn annotate_a_file() {
        let c = capture(&["-r", "in.pcap", "-w", "out.pcapng", "--records", "r.json"]).unwrap();
        let Source::File { path, records } = c.source else {
            panic!("file")
        };
        assert_eq!(
            (path.as_str(), records.unwrap()),
            ("in.pcap", "r.json".into())
        );
        assert_eq!(c.snaplen, None);
    }

    #[test]
    fn bad_flags_are_one_clear_line() {
        for (args, msg) in [
            (
                &["-w", "x", "-r", "y", "-i", "lo"][..],
                "-i and --netns are for live",
            ),
            (
                &["-w", "x", "--packet-ring-size", "4096"][..],
                "--packet-ring-size must be",
            ),
            (&["-w", "x", "-s", "0"][..], "--snaplen must be at least 1"),
            (&["-w", "x", "-c", "0"][..], "--count must be at least 1"),
            (
                &["-w", "x", "--web", "127.0.0.1:9464"][..],
                "--web, --metrics and --allow-control are for flowsight live",
            ),
            (
                &["-w", "x", "--metrics", "127.0.0.1:9464"][..],
                "--web, --metrics and --allow-control are for flowsight live",
            ),
        ] {
            let e = capture(args).unwrap_err().to_string();
            assert!(e.contains(msg), "{args:?}: {e}");
            assert!(!e.contains('\n'));
        }
        assert!(
            capture(&["-w", "x", "--records", "r.json"]).is_err(),
            "--records needs -r"
        );
        assert!(capture(&["-r", "x"]).is_err(), "-w is required");
    }
}
