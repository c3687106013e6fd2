//! The final `stats` record of `flowsight read`: what was read, what could not be used, and
//! what was written, so that a reader of the log can tell a complete run from a cut one.

use flowsight_flow::EngineStats;
use flowsight_record::{Record, StatsFlows, StatsRecord, StatsSection, Timestamp};
use std::collections::BTreeMap;

/// Counts gathered while reading, per engine; added up across `--threads` workers.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    /// Records written, by `type`.
    pub written: BTreeMap<&'static str, u64>,
    /// The engines' counters, summed.
    pub engine: EngineStats,
}

impl Tally {
    /// Count one record about to be written.
    pub fn wrote(&mut self, r: &Record) {
        *self.written.entry(r.kind()).or_default() += 1;
    }

    /// Add another worker's counts.
    pub fn merge(&mut self, other: Tally) {
        for (k, v) in other.written {
            *self.written.entry(k).or_default() += v;
        }
        let (a, b) = (&mut self.engine, other.engine);
        a.frames += b.frames;
        a.not_ip += b.not_ip;
        a.undecodable += b.undecodable;
        a.fragments_abandoned += b.fragments_abandoned;
        a.weirds_suppressed += b.weirds_suppressed;
    }

    /// The final stats record. `events_read.packets` is every packet of the file read;
    /// `events_dropped` holds the packets that could not be used (not IP, undecodable,
    /// fragments of datagrams that never completed) and the anomalies not written past the
    /// per-kind limit.
    pub fn final_record(&self, started: Timestamp, packets: u64) -> Record {
        let e = &self.engine;
        let mut written: BTreeMap<String, u64> = self
            .written
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        *written.entry("stats".to_string()).or_default() += 1;
        let now = Timestamp::now();
        StatsRecord {
            timestamp: now,
            flowsight: StatsSection {
                uptime: now.nanos_since(started) as f64 / 1e9,
                is_final: true,
                events_read: BTreeMap::from([("packets".to_string(), packets)]),
                events_dropped: BTreeMap::from([
                    ("not_ip".to_string(), e.not_ip),
                    ("undecodable".to_string(), e.undecodable),
                    ("fragments_abandoned".to_string(), e.fragments_abandoned),
                    ("weirds_suppressed".to_string(), e.weirds_suppressed),
                ]),
                flows: StatsFlows {
                    active: 0,
                    map_entries: 0,
                    map_capacity: 0,
                    map_fill: 0.0,
                    untracked_packets: 0,
                    unattributed: 0,
                },
                records_written: written,
                degraded: Vec::new(),
                bpf_programs: BTreeMap::new(),
            },
        }
        .into()
    }
}
