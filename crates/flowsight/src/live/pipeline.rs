//! The live data path after the kernel: events into the host tables, flow-map snapshots into
//! the flow table, due flows into records, records into the sink.

use super::attribution::LiveAttribution;
use super::control;
use super::events;
use super::filter::OwnerFilter;
use super::hold::Held;
use super::join::Joiner;
use crate::serve::control::Settings;
use anyhow::{Context, Result};
use flowsight_abi::{Event, counter};
use flowsight_capture::Capture;
use flowsight_flow::{
    Clock, Due, Engine, Flow, FlowKey, FlowTable, Snapshot, SocketRef, flow_record, kernel,
};
use flowsight_host::{Host, SocketTable};
use flowsight_record::{
    BpfProgram, EndReason, FlowRecord, Interface, Record, StatsFlows, StatsRecord, StatsSection,
    Timestamp,
};
use flowsight_sink::Sink;
use std::collections::{BTreeMap, HashMap};

/// How long a superseded connection waits for the kernel's hand-over event (which comes
/// through the ring buffer within a scan interval or two).
const SUPERSEDED_WAIT_NS: u64 = 5_000_000_000;

/// Everything the live loop keeps between iterations.
pub struct Pipeline {
    pub capture: Capture,
    pub host: Host,
    pub sockets: SocketTable,
    pub table: FlowTable,
    pub sink: Box<dyn Sink>,
    /// Protocol analysis of the kernel's payload samples (None: off).
    pub(super) engine: Option<Engine>,
    /// What the API may change at run time (see control.rs).
    pub(super) settings: Settings,
    /// Samples analyzed per flow and direction, while `settings` asks for fewer than the
    /// kernel sends.
    pub(super) sample_counts: HashMap<FlowKey, [u32; 2]>,
    clock: Clock,
    pub(super) interfaces: HashMap<u32, Interface>,
    started: Timestamp,
    scan_buf: Vec<(flowsight_abi::FlowKey, flowsight_abi::FlowStats)>,
    /// Connections the kernel replaced by a new one on the same 4-tuple (seen by a scan),
    /// waiting for the kernel's hand-over event with their final counters; written from the
    /// last snapshot if the event does not come by the deadline (it was lost, and counted).
    superseded: HashMap<(FlowKey, u64), (Flow, u64)>,
    due_buf: Vec<(FlowKey, Due)>,
    map_entries: u64,
    events_read: u64,
    samples_read: u64,
    decode_errors: u64,
    unattributed: u64,
    written: BTreeMap<&'static str, u64>,
    degraded: Vec<String>,
    /// One record per connection across interfaces and NAT.
    joiner: Joiner,
    /// `--container`, `--owner-netns`.
    filter: OwnerFilter,
    /// Records waiting for their containers' names before the filter sees them.
    held: Held,
}

impl Pipeline {
    pub fn new(
        capture: Capture,
        host: Host,
        sockets: SocketTable,
        table: FlowTable,
        sink: Box<dyn Sink>,
        engine: Option<flowsight_flow::EngineConfig>,
        sample_packets: u32,
    ) -> Pipeline {
        let settings = Settings {
            protocols: engine.is_some(),
            sample_packets,
            max_sample_packets: if engine.is_some() { sample_packets } else { 0 },
            http_headers: engine
                .as_ref()
                .map(|e| e.app.http_headers.clone())
                .unwrap_or_default(),
            log_credentials: engine.as_ref().is_some_and(|e| e.app.log_credentials),
        };
        let interfaces = capture
            .interfaces()
            .iter()
            .map(|i| {
                (
                    i.index,
                    Interface {
                        name: i.name.clone(),
                        id: i.index,
                    },
                )
            })
            .collect();
        let degraded = capture
            .status()
            .iter()
            .filter_map(|s| {
                let f = s.outcome.as_ref().err()?;
                Some(format!(
                    "{} ({}): {}; {}",
                    s.program, s.target, f.error, f.degraded
                ))
            })
            .collect();
        let engine = engine.map(|cfg| {
            let mut e = Engine::with_clock(
                cfg,
                Clock::monotonic(),
                Box::new(flowsight_flow::NoAttribution),
            );
            for i in capture.interfaces() {
                e.set_interface(i.index, i.name.clone());
            }
            e
        });
        Pipeline {
            engine,
            settings,
            sample_counts: HashMap::new(),
            capture,
            host,
            sockets,
            table,
            sink,
            clock: Clock::monotonic(),
            interfaces,
            started: Timestamp::now(),
            scan_buf: Vec::new(),
            superseded: HashMap::new(),
            due_buf: Vec::new(),
            map_entries: 0,
            events_read: 0,
            samples_read: 0,
            decode_errors: 0,
            unattributed: 0,
            written: BTreeMap::new(),
            degraded,
            joiner: Joiner::new(None, 0),
            filter: OwnerFilter::default(),
            held: Held::default(),
        }
    }

    /// Join flows across NAT through conntrack (`joiner`), and keep only the records `filter`
    /// keeps.
    pub fn set_join_and_filter(&mut self, joiner: Joiner, filter: OwnerFilter) {
        self.joiner = joiner;
        self.filter = filter;
    }

    /// Whose records are kept: `--container` values with the ids the names given resolved
    /// to at start-up.
    pub fn filter(&self) -> &OwnerFilter {
        &self.filter
    }

    /// What did not load, one line per probe.
    pub fn degraded(&self) -> &[String] {
        &self.degraded
    }

    /// Filter `record` and write it, or hold it while the name that could let it through
    /// is on its way (hold.rs).
    fn write(&mut self, mut record: Record) -> Result<()> {
        if !self.filter.wants_names() || matches!(record, Record::Stats(_)) {
            return self.write_kept(record);
        }
        self.release(false)?;
        let mut pending = false;
        if !self.filter.keeps(&record) {
            // Decided first, renamed after: an answer taken in by the check is then in the
            // names the record gets.
            pending = names_pending(&mut self.host, &record);
            if !pending {
                // A name that came after the record was made (a protocol record's owner is
                // made at its connection's first payload).
                rename(&mut self.host, &mut record);
                if !self.filter.keeps(&record) {
                    return Ok(()); // dropped: nothing to keep in order
                }
            }
        }
        // Behind a held record every record to be written waits, so that a flow's records
        // keep their order (only while a name is on its way).
        if !pending && self.held.is_empty() {
            return self.write_kept(record);
        }
        match self.held.push(std::time::Instant::now(), record) {
            Some(mut oldest) => {
                rename(&mut self.host, &mut oldest);
                self.write_kept(oldest)
            }
            None => Ok(()),
        }
    }

    /// Write `record` if the filter keeps it.
    fn write_kept(&mut self, record: Record) -> Result<()> {
        if !self.filter.keeps(&record) {
            return Ok(());
        }
        *self.written.entry(record.kind()).or_default() += 1;
        self.sink.write(&record).context("writing a record")
    }

    /// Write the held records that need wait no longer (`all`: every one), with the names
    /// that came meanwhile.
    fn release(&mut self, all: bool) -> Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        let now = std::time::Instant::now();
        loop {
            let Pipeline {
                held, host, filter, ..
            } = self;
            let waiting = |r: &Record| !filter.keeps(r) && names_pending(host, r);
            let Some(mut record) = held.pop_ready(now, all, waiting) else {
                return Ok(());
            };
            rename(&mut self.host, &mut record);
            self.write_kept(record)?;
        }
    }

    /// A flow's last record was written: flush its protocol analysis and let the kernel
    /// sample a new connection on its 4-tuple.
    fn flow_over(&mut self, key: &FlowKey, sockets: &[Option<SocketRef>; 2]) -> Result<()> {
        if let Some(engine) = &mut self.engine {
            engine.end_flow(key, sockets);
            self.sample_counts.remove(key);
            self.capture.sample_stop().forget(&key.to_abi());
            self.write_engine_records()?;
        }
        Ok(())
    }

    fn write_engine_records(&mut self) -> Result<()> {
        let Some(engine) = &mut self.engine else {
            return Ok(());
        };
        let records: Vec<Record> = engine.drain().collect();
        for r in records {
            self.write(r)?;
        }
        Ok(())
    }

    /// Read both rings and apply what they hold: socket stamps and process events, then the
    /// payload samples, with the connections the kernel handed over among them.
    ///
    /// Samples are read before events. A socket that is made and used at once (a resolver's
    /// query, a short-lived client) is stamped in the event ring and sampled in the sample
    /// ring microseconds apart; every stamp the kernel made before a sample's packet is then
    /// among the events read after it, and applied before the sample is analyzed, so the
    /// protocol record names its process. A hand-over goes in by kernel time: after the old
    /// connection's last samples, before the new one's.
    pub fn drain(&mut self) -> Result<()> {
        let samples = self.read_samples();
        let mut handed_over = self.apply_events()?.into_iter().peekable();
        // The kernel hands over at the new connection's SYN.
        for (head, bytes) in &samples.heads {
            while let Some(r) = handed_over.next_if(|r| r.hdr.ts_ns <= head.hdr.ts_ns) {
                self.hand_over(&r)?;
            }
            self.analyze(head, &samples.bytes[bytes.clone()]);
        }
        for r in handed_over {
            self.hand_over(&r)?;
        }
        self.write_engine_records()
    }

    /// Copy every waiting payload sample out of the ring (none when analysis is off).
    fn read_samples(&mut self) -> SampleBatch {
        let mut batch = SampleBatch::default();
        if self.engine.is_none() {
            return batch;
        }
        let decode_errors = &mut self.decode_errors;
        self.samples_read += self.capture.drain_samples(|s| match s {
            Ok(s) => {
                let at = batch.bytes.len();
                batch.bytes.extend_from_slice(s.data);
                batch.heads.push((s.head, at..batch.bytes.len()));
            }
            Err(e) => {
                *decode_errors += 1;
                log::error!("undecodable payload sample (ABI mismatch?): {e}");
            }
        }) as u64;
        batch
    }

    /// Feed one sample to the analyzers, and stop the kernel's sampling of flows that have
    /// had enough (at once: a hand-over after this sample lets the kernel sample the new
    /// connection on the same key again).
    fn analyze(&mut self, head: &flowsight_abi::SampleHead, data: &[u8]) {
        let Pipeline {
            capture,
            engine,
            sockets,
            host,
            unattributed,
            settings,
            sample_counts,
            ..
        } = self;
        let Some(engine) = engine else { return };
        let sample = kernel::sample(head, data);
        let key = sample.key;
        let (analyze, enough) = control::admit(settings, sample_counts, &sample);
        if analyze {
            let mut attribution = LiveAttribution {
                sockets,
                host,
                unattributed,
            };
            engine.sample(sample, &mut attribution);
        }
        let stop = enough.then_some(key);
        for key in stop.into_iter().chain(engine.take_finished_analyses()) {
            if let Err(e) = capture.sample_stop().stop(&key.to_abi()) {
                log::debug!("could not stop sampling {key:?}: {e}");
            }
        }
    }

    /// Write a flow's record, joined with the other members of its connection (other
    /// interfaces, the other side of a NAT): an interim record at once with the open members'
    /// current counts, a final one once every member has ended (see `join`).
    fn write_flow(&mut self, flow: &Flow, reason: EndReason) -> Result<()> {
        let now = Clock::now_monotonic();
        let record = self.flow_record_of(flow, reason);
        let out = match reason {
            EndReason::ActiveTimeout => {
                let first = flow.stats.first_ns;
                let Some(others) = self.joiner.interim(&flow.key, first, &self.table) else {
                    return Ok(());
                };
                let mut members = vec![record];
                for k in others {
                    if let Some(other) = self.table.get(&k).cloned() {
                        members.push(self.flow_record_of(&other, reason));
                        self.table.reported(&k, now);
                    }
                }
                let join = self.joiner.join_key(&flow.key);
                vec![self.joiner.merge_group(members, &join)]
            }
            _ => {
                let first = flow.stats.first_ns;
                self.joiner
                    .finished(record, &flow.key, first, &self.table, now)
            }
        };
        for r in out {
            self.write(r.into())?;
        }
        Ok(())
    }

    /// A flow's record on its own interface.
    fn flow_record_of(&mut self, flow: &Flow, reason: EndReason) -> FlowRecord {
        let interface = self.interfaces.get(&flow.key.ifindex).cloned();
        let mut attribution = LiveAttribution {
            sockets: &self.sockets,
            host: &mut self.host,
            unattributed: &mut self.unattributed,
        };
        flow_record(
            flow,
            reason,
            Timestamp::now(),
            &self.clock,
            interface,
            &mut attribution,
            None,
        )
    }

    /// Read the event ring and apply its events to the host and socket tables; returns the
    /// connections the kernel handed over, for [`Pipeline::hand_over`] once the samples read
    /// with them are analyzed.
    fn apply_events(&mut self) -> Result<Vec<flowsight_abi::FlowRecycled>> {
        let mut batch = Vec::new();
        self.events_read += self.capture.drain_events(|e| batch.push(e)) as u64;
        let mut handed_over = Vec::new();
        for e in batch {
            match e {
                Ok(Event::FlowRecycled(r)) => handed_over.push(r),
                Ok(other) => events::apply(&other, &mut self.host, &mut self.sockets),
                Err(err) => {
                    self.decode_errors += 1;
                    log::error!("undecodable kernel event (ABI mismatch?): {err}");
                }
            }
        }
        Ok(handed_over)
    }

    /// A connection the kernel replaced by a new one on the same 4-tuple, with its final
    /// counters: write it and end its analysis.
    fn hand_over(&mut self, r: &flowsight_abi::FlowRecycled) -> Result<()> {
        let key = FlowKey::from(&r.key);
        let stats = Snapshot::from(&r.stats);
        // The table's copy of this connection (if a scan saw it) is now final.
        if self
            .table
            .get(&key)
            .is_some_and(|f| f.stats.first_ns == stats.first_ns)
        {
            self.table.remove(&key);
        }
        self.superseded.remove(&(key, stats.first_ns));
        self.write_flow(&Flow::from_snapshot(key, stats), EndReason::End)?;
        self.flow_over(&key, &stats.sockets)
    }

    /// A connection the kernel replaced: its record waits for the kernel's hand-over.
    fn supersede(&mut self, old: Flow, now: u64) {
        self.superseded.insert(
            (old.key, old.stats.first_ns),
            (old, now + SUPERSEDED_WAIT_NS),
        );
    }

    /// Read the kernel flow map and write the records that are due.
    pub fn scan(&mut self) -> Result<()> {
        let now = Clock::now_monotonic();
        self.joiner.poll_conntrack(now);
        let mut buf = std::mem::take(&mut self.scan_buf);
        self.capture
            .flows()
            .scan(&mut buf)
            .context("reading the flow map")?;
        self.map_entries = buf.len() as u64;
        for (k, v) in &buf {
            if let Some(old) = self
                .table
                .snapshot(FlowKey::from(k), Snapshot::from(v), now)
            {
                self.supersede(old, now);
            }
        }
        self.scan_buf = buf;
        self.joiner.index(&self.table);

        let mut due = std::mem::take(&mut self.due_buf);
        due.clear();
        self.table.due(now, &mut due);
        for &(key, d) in &due {
            match d {
                Due::Active => {
                    if let Some(flow) = self.table.get(&key).cloned() {
                        self.write_flow(&flow, EndReason::ActiveTimeout)?;
                    }
                    self.table.reported(&key, now);
                }
                Due::Idle | Due::Ended => self.finish(key, now)?,
            }
        }
        self.due_buf = due;

        // Hand-overs that never came (the event was lost; the loss is counted).
        let late: Vec<_> = self
            .superseded
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in late {
            if let Some((flow, _)) = self.superseded.remove(&k) {
                self.write_flow(&flow, EndReason::End)?;
                self.flow_over(&k.0, &flow.stats.sockets)?;
            }
        }
        for r in self.joiner.flush_expired(now) {
            self.write(r.into())?;
        }
        if let Some(engine) = &mut self.engine {
            engine.advance(now);
        }
        self.write_engine_records()?;
        let wall = Timestamp::now();
        self.sockets.expire(now);
        self.host.expire(wall);
        self.release(false)
    }

    /// An ended or idle flow: take it out of the kernel with its final counters (a packet
    /// counted since the scan is not lost) and write it. If the entry already holds a newer
    /// connection on the same 4-tuple, that one is left alone: its owner may not even be known
    /// yet, and the old connection's final counters arrive with the kernel's hand-over.
    fn finish(&mut self, key: FlowKey, now: u64) -> Result<()> {
        let Some(first_ns) = self.table.get(&key).map(|f| f.stats.first_ns) else {
            return Ok(());
        };
        let abi_key = key.to_abi();
        let flows = self.capture.flows();
        match flows.get(&abi_key)? {
            Some(current) if current.first_ns != first_ns => {
                if let Some(old) = self.table.snapshot(key, Snapshot::from(&current), now) {
                    self.supersede(old, now);
                }
                return Ok(());
            }
            _ => {}
        }
        if let Some(last) = flows.take(&abi_key)? {
            if last.first_ns != first_ns {
                // A new connection slipped in between the look and the take: put it back.
                if !flows.restore(&abi_key, &last)? {
                    log::debug!(
                        "a new connection on {key:?} was split by a race with its hand-over"
                    );
                }
                if let Some(old) = self.table.snapshot(key, Snapshot::from(&last), now) {
                    self.supersede(old, now);
                }
                return Ok(());
            }
            self.table.snapshot(key, Snapshot::from(&last), now);
        }
        if let Some(flow) = self.table.remove(&key) {
            let reason = if flow.tcp_finished() {
                EndReason::End
            } else {
                EndReason::IdleTimeout
            };
            self.write_flow(&flow, reason)?;
            self.flow_over(&key, &flow.stats.sockets)?;
        }
        Ok(())
    }

    /// Write a stats record.
    pub fn write_stats(&mut self, is_final: bool) -> Result<()> {
        let c = self
            .capture
            .counters()
            .context("reading the kernel counters")?;
        let at = |i: u32| c[i as usize];
        let mut dropped = BTreeMap::new();
        dropped.insert("events".to_string(), at(counter::FSIGHT_CNT_LOST_EVENTS));
        dropped.insert(
            "accept_map".to_string(),
            at(counter::FSIGHT_CNT_LOST_ACCEPT_MAP),
        );
        dropped.insert(
            "sk_storage".to_string(),
            at(counter::FSIGHT_CNT_LOST_SK_STORAGE),
        );
        dropped.insert("decode".to_string(), self.decode_errors);
        dropped.insert("samples".to_string(), at(counter::FSIGHT_CNT_LOST_SAMPLES));
        dropped.insert("packets".to_string(), at(counter::FSIGHT_CNT_LOST_PACKETS));
        let capacity = self.capture.flows().capacity() as u64;
        let mut written: BTreeMap<String, u64> = self
            .written
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        // Count this record too, so the final one adds up.
        *written.entry("stats".to_string()).or_default() += 1;
        let now = Timestamp::now();
        let record = StatsRecord {
            timestamp: now,
            flowsight: StatsSection {
                uptime: now.nanos_since(self.started) as f64 / 1e9,
                is_final,
                events_read: BTreeMap::from([
                    ("events".to_string(), self.events_read),
                    ("samples".to_string(), self.samples_read),
                ]),
                events_dropped: dropped,
                flows: StatsFlows {
                    active: self.table.len() as u64,
                    map_entries: self.map_entries,
                    map_capacity: capacity,
                    map_fill: self.map_entries as f64 / capacity.max(1) as f64,
                    untracked_packets: at(counter::FSIGHT_CNT_LOST_FLOW_FULL),
                    unattributed: self.unattributed,
                },
                records_written: written,
                degraded: self.degraded.clone(),
                bpf_programs: self
                    .capture
                    .program_stats()
                    .into_iter()
                    .filter(|p| p.runs > 0)
                    .map(|p| {
                        let cost = BpfProgram {
                            runs: p.runs,
                            run_time_ns: p.run_time_ns,
                        };
                        (p.name, cost)
                    })
                    .collect(),
            },
        };
        self.write(record.into())
    }

    /// Final events, final scan, a record for every open flow, the final stats.
    pub fn shutdown(&mut self) -> Result<()> {
        self.drain()?;
        self.scan()?;
        // Every member of a connection is written now: hold them all and join at the end.
        self.joiner.hold_all();
        let mut open: Vec<Flow> = self.table.drain().collect();
        open.extend(self.superseded.drain().map(|(_, (flow, _))| flow));
        for flow in &open {
            // A connection that already finished (still in its linger) ended on its own.
            let reason = if flow.tcp_finished() {
                EndReason::End
            } else {
                EndReason::Shutdown
            };
            self.write_flow(flow, reason)?;
        }
        for r in self.joiner.flush_all() {
            self.write(r.into())?;
        }
        if let Some(engine) = &mut self.engine {
            engine.finish();
        }
        self.write_engine_records()?;
        // Names asked for moments ago may still come: wait for them a little (hold.rs).
        super::hold::wait_for_names(|| {
            self.release(false)?;
            Ok(!self.held.is_empty())
        })?;
        self.release(true)?;
        self.write_stats(true)?;
        self.flush()
    }

    pub fn flush(&mut self) -> Result<()> {
        self.sink.flush().context("flushing records")
    }
}

/// Give `record`'s owners the container and pod names that came since it was made.
fn rename(host: &mut Host, record: &mut Record) {
    for owner in record.owners_mut().into_iter().flatten() {
        host.rename(owner);
    }
}

/// Whether a container of `record`'s ends has no name yet and its runtime was asked.
fn names_pending(host: &mut Host, record: &Record) -> bool {
    record
        .owners()
        .into_iter()
        .flatten()
        .any(|o| o.container.as_ref().is_some_and(|c| host.name_pending(c)))
}

/// Payload samples copied out of the ring: each one's head and where its bytes are in one
/// buffer.
#[derive(Default)]
struct SampleBatch {
    heads: Vec<(flowsight_abi::SampleHead, std::ops::Range<usize>)>,
    bytes: Vec<u8>,
}
