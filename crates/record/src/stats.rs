//! The stats record: flowsight's own health, so that nothing is lost silently.

use crate::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// flowsight's counters (`type: "stats"`), written periodically and once at exit.
///
/// Counters are totals since start. A non-zero `flowsight.events.dropped.*` or
/// `flowsight.flows.untracked_packets` means data was lost and says where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRecord {
    /// When the record was written.
    #[serde(rename = "@timestamp")]
    pub timestamp: Timestamp,
    /// The counters, under `flowsight.*`.
    pub flowsight: StatsSection,
}

/// `flowsight.*` of a stats record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsSection {
    /// Seconds since flowsight started.
    pub uptime: f64,
    /// True in the last stats record, written on exit.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Kernel events read from ring buffers, by source (`events`, `samples`).
    pub events_read: BTreeMap<String, u64>,
    /// Events the kernel could not deliver, by source: a full ring buffer (`events`,
    /// `samples`) or a full helper map. Each is a loss of attribution or of protocol data.
    pub events_dropped: BTreeMap<String, u64>,
    /// Flow accounting.
    pub flows: StatsFlows,
    /// Records written, by `type`.
    pub records_written: BTreeMap<String, u64>,
    /// Probes that did not load or attach on this kernel and what is degraded as a result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub degraded: Vec<String>,
    /// Run time of each BPF program since it was loaded, by program name (live, when the
    /// kernel counts it: `--bpf-stats`, or `kernel.bpf_stats_enabled=1`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bpf_programs: BTreeMap<String, BpfProgram>,
}

/// `flowsight.bpf_programs.<name>.*` of a stats record: one BPF program's cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BpfProgram {
    /// Times it ran, every attachment together.
    pub runs: u64,
    /// Nanoseconds it ran in total; `run_time_ns / runs` is its cost per run.
    pub run_time_ns: u64,
}

/// `flowsight.flows.*` of a stats record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsFlows {
    /// Flows open now.
    pub active: u64,
    /// Entries in the kernel flow map at the last scan.
    pub map_entries: u64,
    /// Capacity of the kernel flow map.
    pub map_capacity: u64,
    /// `map_entries / map_capacity`, 0 to 1.
    pub map_fill: f64,
    /// Packets that were not counted because the flow map was full.
    pub untracked_packets: u64,
    /// Flows whose local endpoint could not be tied to a process.
    pub unattributed: u64,
}

impl StatsRecord {
    pub(crate) fn example() -> StatsRecord {
        let by = |pairs: &[(&str, u64)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        StatsRecord {
            timestamp: Timestamp(1_795_333_026_000_000_000),
            flowsight: StatsSection {
                uptime: 12.5,
                is_final: false,
                events_read: by(&[("events", 1200)]),
                events_dropped: by(&[("events", 0)]),
                flows: StatsFlows {
                    active: 42,
                    map_entries: 50,
                    map_capacity: 262_144,
                    map_fill: 0.0002,
                    untracked_packets: 0,
                    unattributed: 0,
                },
                records_written: by(&[("flow", 17)]),
                degraded: vec!["accept: tracefs not available; server sockets are attributed at first send or receive".into()],
                bpf_programs: BTreeMap::from([(
                    "fsight_tc_ingress".to_string(),
                    BpfProgram {
                        runs: 1_000,
                        run_time_ns: 110_000,
                    },
                )]),
            },
        }
    }
}
