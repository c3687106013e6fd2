//! Prometheus metrics from the records: traffic by process, user, container and direction,
//! flows active, records written, losses.
//!
//! Flow records carry totals since each flow began (interim records repeat them), so the
//! metrics keep the last totals of every open flow and count only what grew. Label sets are
//! bounded: the first `max_series` (process, user, container) triples get their own series;
//! traffic of any later one goes to `process="other"`, so a host with 10,000 short-lived
//! programs or ports cannot make 10,000 series. Pids and ports are never labels. A counter
//! never moves between series once assigned, so every series stays monotonic.

use crate::{Sink, SinkError};
use flowsight_record::{EndReason, Endpoint, FlowRecord, Record, StatsRecord};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// Default number of (process, user, container) label sets with their own series.
pub const DEFAULT_MAX_SERIES: usize = 100;

/// Labels of the traffic counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Traffic {
    /// Process name (`other` past the series cap, `unknown` without an owner).
    process: String,
    /// User name, else the numeric id.
    user: String,
    /// Container id, empty outside containers.
    container: String,
    /// `tx`: sent by that process; `rx`: received by it.
    direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Source {
    source: String,
}

/// A BPF program, by its name in the object (a handful: the label set is fixed).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Program {
    program: String,
}

/// Totals last seen for an open flow: (source bytes, source packets, destination bytes,
/// destination packets).
type Seen = [u64; 4];

/// The metrics and what they need to turn flow totals into increments.
pub struct Metrics {
    registry: Registry,
    bytes: Family<Traffic, Counter>,
    packets: Family<Traffic, Counter>,
    unattributed_bytes: Counter,
    flows_active: Gauge,
    records: Family<Kind, Counter>,
    dropped: Family<Source, Gauge>,
    bpf_runs: Family<Program, Counter>,
    bpf_seconds: Family<Program, Counter<f64, AtomicU64>>,
    /// Kernel totals (runs, ns) at the last stats record, to count what grew.
    bpf_seen: HashMap<String, (u64, u64)>,
    max_series: usize,
    admitted: HashSet<(String, String, String)>,
    open: HashMap<(String, u32, u64), Seen>,
}

impl Metrics {
    /// Empty metrics with at most `max_series` traffic label sets (plus `other`).
    pub fn new(max_series: usize) -> Metrics {
        let mut registry = Registry::with_prefix("flowsight");
        let bytes = Family::<Traffic, Counter>::default();
        let packets = Family::<Traffic, Counter>::default();
        let unattributed_bytes = Counter::default();
        let flows_active = Gauge::default();
        let records = Family::<Kind, Counter>::default();
        let dropped = Family::<Source, Gauge>::default();
        let bpf_runs = Family::<Program, Counter>::default();
        let bpf_seconds = Family::<Program, Counter<f64, AtomicU64>>::default();
        registry.register(
            "bytes",
            "Bytes of whole frames by the local process, user and container that sent (tx) or received (rx) them",
            bytes.clone(),
        );
        registry.register(
            "packets",
            "Packets by the local process, user and container that sent (tx) or received (rx) them",
            packets.clone(),
        );
        registry.register(
            "unattributed_bytes",
            "Bytes of flows with no known local owner (remote traffic, captures, unknown sockets)",
            unattributed_bytes.clone(),
        );
        registry.register(
            "flows_active",
            "Flows open at the last stats record",
            flows_active.clone(),
        );
        registry.register(
            "records_written",
            "Records written, by type",
            records.clone(),
        );
        registry.register(
            "events_dropped",
            "Data lost, by source, as the last stats record counted it (kernel ring buffers and maps)",
            dropped.clone(),
        );
        registry.register(
            "bpf_program_runs",
            "Times each BPF program ran (counted by the kernel while flowsight runs with --bpf-stats or kernel.bpf_stats_enabled=1)",
            bpf_runs.clone(),
        );
        registry.register(
            "bpf_program_run_seconds",
            "Time each BPF program ran, in seconds (divide by its runs for the cost per packet or event)",
            bpf_seconds.clone(),
        );
        Metrics {
            registry,
            bytes,
            packets,
            unattributed_bytes,
            flows_active,
            records,
            dropped,
            bpf_runs,
            bpf_seconds,
            bpf_seen: HashMap::new(),
            max_series,
            admitted: HashSet::new(),
            open: HashMap::new(),
        }
    }

    /// Take one record into account.
    pub fn observe(&mut self, r: &Record) {
        self.records
            .get_or_create(&Kind {
                r#type: r.kind().to_string(),
            })
            .inc();
        match r {
            Record::Flow(f) => self.flow(f),
            Record::Stats(s) => self.stats(s),
            _ => {}
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    fn flow(&mut self, f: &FlowRecord) {
        let id = (
            f.network.community_id.clone(),
            f.interface.as_ref().map_or(0, |i| i.id),
            f.event.start.as_nanos(),
        );
        let now = [
            f.source.bytes,
            f.source.packets,
            f.destination.bytes,
            f.destination.packets,
        ];
        let before = if f.event.reason == EndReason::ActiveTimeout {
            self.open.insert(id, now).unwrap_or_default()
        } else {
            self.open.remove(&id).unwrap_or_default()
        };
        let grew = |i: usize| crate::grew(now[i], before[i]);
        let (sb, sp, db, dp) = (grew(0), grew(1), grew(2), grew(3));
        let mut owned = false;
        // Each local end sent what its side counts and received the other's.
        for (end, (tx_b, tx_p, rx_b, rx_p)) in [
            (&f.source, (sb, sp, db, dp)),
            (&f.destination, (db, dp, sb, sp)),
        ] {
            if let Some((process, user, container)) = self.labels(end) {
                owned = true;
                let mut l = Traffic {
                    process,
                    user,
                    container,
                    direction: "tx".into(),
                };
                self.bytes.get_or_create(&l).inc_by(tx_b);
                self.packets.get_or_create(&l).inc_by(tx_p);
                l.direction = "rx".into();
                self.bytes.get_or_create(&l).inc_by(rx_b);
                self.packets.get_or_create(&l).inc_by(rx_p);
            }
        }
        if !owned {
            self.unattributed_bytes.inc_by(sb + db);
        }
    }

    /// The label values of a local end, folded into `other` past the series cap.
    fn labels(&mut self, end: &Endpoint) -> Option<(String, String, String)> {
        let o = end.owner.as_ref()?;
        let key = (
            o.process.name.clone(),
            o.user.name.clone().unwrap_or_else(|| o.user.id.clone()),
            o.container
                .as_ref()
                .map(|c| c.id.clone())
                .unwrap_or_default(),
        );
        if self.admitted.contains(&key) {
            return Some(key);
        }
        if self.admitted.len() < self.max_series {
            self.admitted.insert(key.clone());
            return Some(key);
        }
        Some(("other".into(), "other".into(), "other".into()))
    }

    fn stats(&mut self, s: &StatsRecord) {
        self.flows_active
            .set(i64::try_from(s.flowsight.flows.active).unwrap_or(i64::MAX));
        for (source, n) in &s.flowsight.events_dropped {
            self.dropped
                .get_or_create(&Source {
                    source: source.clone(),
                })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        for (name, p) in &s.flowsight.bpf_programs {
            let (runs, ns) = self
                .bpf_seen
                .insert(name.clone(), (p.runs, p.run_time_ns))
                .unwrap_or_default();
            let label = Program {
                program: name.clone(),
            };
            self.bpf_runs
                .get_or_create(&label)
                .inc_by(crate::grew(p.runs, runs));
            self.bpf_seconds
                .get_or_create(&label)
                .inc_by(crate::grew(p.run_time_ns, ns) as f64 / 1e9);
        }
    }
}

/// A sink that feeds shared [`Metrics`], for a server thread to render.
#[derive(Clone)]
pub struct MetricsSink(pub Arc<Mutex<Metrics>>);

impl Sink for MetricsSink {
    fn write(&mut self, record: &Record) -> Result<(), SinkError> {
        // A poisoned lock means a renderer panicked; the metrics are still counters.
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.observe(record);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_record::{Owner, Process, User};

    fn flow(name: &str, port: u16, reason: EndReason, bytes: [u64; 2]) -> Record {
        let Record::Flow(mut f) = Record::examples().remove(0) else {
            unreachable!("the first example is a flow record")
        };
        f.event.reason = reason;
        f.network.community_id = format!("1:{port}");
        f.source.port = port;
        f.source.bytes = bytes[0];
        f.source.packets = 1;
        f.destination.bytes = bytes[1];
        f.destination.packets = 1;
        let proto = f.source.owner.clone().expect("the example has an owner");
        f.source.owner = Some(Box::new(Owner {
            process: Arc::new(Process {
                name: name.to_string(),
                ..(*proto.process).clone()
            }),
            user: User {
                id: "1000".into(),
                name: Some("alice".into()),
            },
            ..*proto
        }));
        f.destination.owner = None;
        Record::Flow(f)
    }

    /// Parses the exposition with a real Prometheus text parser.
    fn scrape(m: &Metrics) -> prometheus_parse::Scrape {
        let text = m.render();
        let lines = text.lines().map(|l| Ok(l.to_string()));
        prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text")
    }

    fn value(s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        s.samples
            .iter()
            .find(|x| {
                x.metric == name
                    && labels
                        .iter()
                        .all(|(k, v)| x.labels.get(k).is_some_and(|have| have == *v))
            })
            .map(|x| match x.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    }

    #[test]
    fn interim_records_count_only_what_grew() {
        let mut m = Metrics::new(10);
        m.observe(&flow("curl", 1, EndReason::ActiveTimeout, [100, 1000]));
        m.observe(&flow("curl", 1, EndReason::ActiveTimeout, [150, 3000]));
        m.observe(&flow("curl", 1, EndReason::End, [170, 3500]));
        let s = scrape(&m);
        let tx = [("process", "curl"), ("user", "alice"), ("direction", "tx")];
        let rx = [("process", "curl"), ("user", "alice"), ("direction", "rx")];
        assert_eq!(value(&s, "flowsight_bytes_total", &tx), Some(170.0));
        assert_eq!(value(&s, "flowsight_bytes_total", &rx), Some(3500.0));
        assert_eq!(
            value(&s, "flowsight_records_written_total", &[("type", "flow")]),
            Some(3.0)
        );
        assert!(m.open.is_empty(), "a final record forgets the flow");
    }

    #[test]
    fn ten_thousand_programs_make_at_most_the_cap_plus_other() {
        let mut m = Metrics::new(50);
        for i in 0..10_000u16 {
            m.observe(&flow(&format!("prog{i}"), i, EndReason::End, [10, 20]));
        }
        let s = scrape(&m);
        let series: HashSet<_> = s
            .samples
            .iter()
            .filter(|x| x.metric == "flowsight_bytes_total")
            .map(|x| x.labels.get("process").unwrap_or_default().to_string())
            .collect();
        assert_eq!(series.len(), 51, "50 admitted + other");
        let other = [("process", "other"), ("direction", "tx")];
        assert_eq!(
            value(&s, "flowsight_bytes_total", &other),
            Some(10.0 * 9_950.0)
        );
        // Nothing lost: every byte is in some series.
        let total: f64 = s
            .samples
            .iter()
            .filter(|x| x.metric == "flowsight_bytes_total")
            .map(|x| match x.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum();
        assert_eq!(total, 30.0 * 10_000.0);
    }

    #[test]
    fn stats_records_set_gauges() {
        let mut m = Metrics::new(10);
        let Record::Stats(mut st) = Record::examples()
            .into_iter()
            .find(|r| r.kind() == "stats")
            .unwrap()
        else {
            unreachable!()
        };
        st.flowsight.flows.active = 42;
        st.flowsight.events_dropped.insert("events".into(), 7);
        m.observe(&Record::Stats(st));
        let s = scrape(&m);
        assert_eq!(value(&s, "flowsight_flows_active", &[]), Some(42.0));
        assert_eq!(
            value(&s, "flowsight_events_dropped", &[("source", "events")]),
            Some(7.0)
        );
    }

    #[test]
    fn bpf_program_totals_become_counters() {
        let mut m = Metrics::new(10);
        let Record::Stats(mut st) = Record::examples()
            .into_iter()
            .find(|r| r.kind() == "stats")
            .unwrap()
        else {
            unreachable!()
        };
        let prog = |runs, run_time_ns| flowsight_record::BpfProgram { runs, run_time_ns };
        st.flowsight.bpf_programs =
            [("fsight_tc_egress".to_string(), prog(1_000, 2_000_000))].into();
        m.observe(&Record::Stats(st.clone()));
        // The kernel's totals grow; the counters follow them, never count twice.
        st.flowsight.bpf_programs =
            [("fsight_tc_egress".to_string(), prog(3_000, 5_000_000))].into();
        m.observe(&Record::Stats(st));
        let s = scrape(&m);
        let l = [("program", "fsight_tc_egress")];
        assert_eq!(
            value(&s, "flowsight_bpf_program_runs_total", &l),
            Some(3000.0)
        );
        assert_eq!(
            value(&s, "flowsight_bpf_program_run_seconds_total", &l),
            Some(0.005)
        );
    }
}
