//! What `flowsight top` knows: every flow it was told about, with its totals and its rate over
//! the last refresh window, and the last protocol records of each connection.
//!
//! Flow records carry totals since the flow began and interim (`active-timeout`) records
//! repeat them, so, as the metrics sink does, the model keeps each flow's last totals and
//! counts only what grew. Memory is bounded: past [`Limits::flows`] flows the oldest finished
//! one is forgotten (the oldest open one when none is finished), and its bytes are folded into
//! per-party totals ([`Party`]) so the rows keep adding up; parties are bounded in turn.

use flowsight_record::{EndReason, Endpoint, FlowRecord, Owner, Record, Timestamp, Transport};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// How much the model keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Flows kept with their details (drill-down, rates).
    pub flows: usize,
    /// Totals of forgotten flows kept per party (owner and remote host); later parties are
    /// folded into one `other` party.
    pub parties: usize,
    /// Connections whose protocol records are kept.
    pub connections: usize,
    /// Protocol records kept per connection (the last ones).
    pub records_per_connection: usize,
}

/// Longest protocol record summary kept, in characters.
const SUMMARY_CHARS: usize = 200;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            flows: 50_000,
            parties: 50_000,
            connections: 50_000,
            records_per_connection: 5,
        }
    }
}

/// Which flow a record belongs to: its Community ID, interface and start, as the metrics sink
/// names flows (the Community ID alone repeats when a port is reused).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId {
    /// `network.community_id`.
    pub community_id: String,
    /// `interface.id` (0 without one).
    pub interface: u32,
    /// `event.start`, nanoseconds.
    pub start: u64,
}

/// The local process behind one end, reduced to what top shows and filters on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnerKey {
    /// Process id.
    pub pid: u32,
    /// Process name.
    pub process: String,
    /// User name, else the numeric id.
    pub user: String,
    /// Container id, when in one.
    pub container: Option<String>,
}

impl OwnerKey {
    fn of(o: &Owner) -> OwnerKey {
        OwnerKey {
            pid: o.process.pid,
            process: o.process.name.clone(),
            user: o.user.name.clone().unwrap_or_else(|| o.user.id.clone()),
            container: o.container.as_ref().map(|c| c.id.clone()),
        }
    }
}

/// One end of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    /// Address.
    pub ip: IpAddr,
    /// Port (ICMP: type or code).
    pub port: u16,
    /// The local owner, when this end is local and known.
    pub owner: Option<OwnerKey>,
}

/// One flow as top keeps it.
#[derive(Debug, Clone)]
pub struct FlowEntry {
    /// Its identity.
    pub id: FlowId,
    /// Transport protocol.
    pub transport: Transport,
    /// The initiator.
    pub source: End,
    /// The responder.
    pub destination: End,
    /// Bytes sent by the source and by the destination, totals since the flow began.
    pub bytes: [u64; 2],
    /// Bytes per second each side sent over the last refresh window.
    pub rate: [f64; 2],
    /// Bytes each side sent in the window now open (becomes `rate` at the next tick).
    window: [f64; 2],
    /// First packet.
    pub start: Timestamp,
    /// Last packet seen so far.
    pub end: Timestamp,
    /// Why the last record was written.
    pub reason: EndReason,
    /// Interface name, when the record had one.
    pub interface: Option<String>,
    /// Order of the last record, for eviction.
    seq: u64,
    /// Every field the filter looks at, lower-case, built once per record so filtering
    /// 50,000 flows at each draw is a substring search per flow.
    haystack: String,
}

impl FlowEntry {
    /// True once a final record (not `active-timeout`) was seen.
    pub fn finished(&self) -> bool {
        self.reason != EndReason::ActiveTimeout
    }

    /// True when the lower-case `needle` occurs in any field the filter looks at.
    pub fn matches(&self, needle: &str) -> bool {
        needle.is_empty() || self.haystack.contains(needle)
    }

    /// The points of view the flow is seen from: one per local end with a known owner (a
    /// flow between two local processes belongs to both), else the initiator's. The first
    /// is the primary one, used where a flow must count once (hosts, flows).
    pub fn sides(&self) -> impl Iterator<Item = Side<'_>> {
        let src = Side {
            flow: self,
            local_is_source: true,
        };
        let dst = Side {
            flow: self,
            local_is_source: false,
        };
        let (a, b) = match (&self.source.owner, &self.destination.owner) {
            (_, None) => (Some(src), None),
            (None, Some(_)) => (Some(dst), None),
            (Some(_), Some(_)) => (Some(src), Some(dst)),
        };
        a.into_iter().chain(b)
    }

    fn build_haystack(&self) -> String {
        let mut h = String::new();
        for end in [&self.source, &self.destination] {
            h.push_str(&format!("{}\u{0}{}\u{0}", end.ip, end.port));
            if let Some(o) = &end.owner {
                h.push_str(&format!(
                    "{}\u{0}{}\u{0}{}\u{0}{}\u{0}",
                    o.pid,
                    o.process,
                    o.user,
                    o.container.as_deref().unwrap_or("")
                ));
            }
        }
        h.to_lowercase()
    }
}

/// A flow seen from one of its ends: `local` sends the upload, receives the download.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The flow.
    pub flow: &'a FlowEntry,
    /// True when the local end is the initiator.
    pub local_is_source: bool,
}

impl<'a> Side<'a> {
    /// The end seen as local.
    pub fn local(&self) -> &'a End {
        if self.local_is_source {
            &self.flow.source
        } else {
            &self.flow.destination
        }
    }

    /// The other end.
    pub fn remote(&self) -> &'a End {
        if self.local_is_source {
            &self.flow.destination
        } else {
            &self.flow.source
        }
    }

    /// Bytes sent and received by the local end.
    pub fn bytes(&self) -> [u64; 2] {
        let [s, d] = self.flow.bytes;
        if self.local_is_source { [s, d] } else { [d, s] }
    }

    /// Upload and download rates of the local end, bytes per second.
    pub fn rate(&self) -> [f64; 2] {
        let [s, d] = self.flow.rate;
        if self.local_is_source { [s, d] } else { [d, s] }
    }

    /// True for the flow's primary side.
    pub fn primary(&self) -> bool {
        self.local_is_source || self.flow.source.owner.is_none()
    }

    /// The party this side's bytes belong to once the flow is forgotten.
    fn party(&self) -> Party {
        Party {
            owner: self.local().owner.clone(),
            remote: Some(self.remote().ip),
            primary: self.primary(),
        }
    }
}

/// Who forgotten traffic belonged to: enough to put it in a process, user, container or
/// host row and to filter on those (not on ports: they are forgotten with the flow).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Party {
    /// The local owner.
    pub owner: Option<OwnerKey>,
    /// The remote address; `None` for the `other` party past [`Limits::parties`].
    pub remote: Option<IpAddr>,
    /// From the flow's primary side (counted in host rows).
    pub primary: bool,
}

impl Party {
    /// The party of everything past the cap.
    fn other() -> Party {
        Party {
            owner: None,
            remote: None,
            primary: true,
        }
    }
}

/// Totals of forgotten flows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retired {
    /// Bytes sent and received by the party's local end.
    pub bytes: [u64; 2],
    /// Flows folded in.
    pub flows: u64,
}

/// One protocol record, summarized for the flow view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoLine {
    /// When the transaction began.
    pub timestamp: Timestamp,
    /// `http`, `dns` or `tls`.
    pub kind: &'static str,
    /// What happened, in one line.
    pub summary: String,
}

/// Flows, forgotten totals and protocol records; see the module documentation.
#[derive(Debug)]
pub struct Model {
    limits: Limits,
    flows: HashMap<FlowId, FlowEntry>,
    /// Finished flows by the order of their last record, oldest first; entries whose flow
    /// had a later record (or is gone) are skipped when popped.
    finished: VecDeque<(u64, FlowId)>,
    /// Open flows, likewise.
    open: VecDeque<(u64, FlowId)>,
    retired: HashMap<Party, Retired>,
    protos: HashMap<String, VecDeque<ProtoLine>>,
    /// Connections with protocol records, in order of their first one.
    proto_order: VecDeque<String>,
    seq: u64,
    /// When the open window began (the last tick).
    last_tick: Option<Timestamp>,
    /// Earliest flow start seen: the beginning of the first window when nothing ticked yet
    /// (a capture replayed at once).
    earliest: Option<Timestamp>,
    /// Latest packet seen.
    latest: Option<Timestamp>,
    /// Length of the last closed window, seconds (0 before one closed).
    window_secs: f64,
    ticks: u64,
    records: u64,
}

impl Model {
    /// An empty model.
    pub fn new(limits: Limits) -> Model {
        Model {
            limits,
            flows: HashMap::new(),
            finished: VecDeque::new(),
            open: VecDeque::new(),
            retired: HashMap::new(),
            protos: HashMap::new(),
            proto_order: VecDeque::new(),
            seq: 0,
            last_tick: None,
            earliest: None,
            latest: None,
            window_secs: 0.0,
            ticks: 0,
            records: 0,
        }
    }

    /// Take one record into account.
    pub fn observe(&mut self, r: &Record) {
        self.records += 1;
        match r {
            Record::Flow(f) => self.flow(f),
            Record::Http(h) => {
                let mut s = String::new();
                if let Some(req) = &h.http.request {
                    s.push_str(&req.method);
                    s.push(' ');
                }
                if let Some(u) = &h.url {
                    if let Some(d) = &u.domain
                        && !u.original.starts_with("http")
                    {
                        s.push_str(d);
                    }
                    s.push_str(&u.original);
                }
                if let Some(resp) = &h.http.response {
                    s.push_str(&format!(" -> {}", resp.status_code));
                    if let Some(m) = &resp.mime_type {
                        s.push_str(&format!(" {m}"));
                    }
                    s.push_str(&format!(" ({} B)", resp.body.bytes));
                }
                self.proto(&h.conn.network.community_id, h.timestamp, "http", s);
            }
            Record::Dns(d) => {
                let mut s = match &d.dns.question {
                    Some(q) => format!("{} {}", q.name, q.kind),
                    None => format!("id {}", d.dns.id),
                };
                if let Some(rc) = &d.dns.response_code {
                    s.push_str(&format!(" -> {rc}"));
                }
                let answers: Vec<&str> = d.dns.answers.iter().map(|a| a.data.as_str()).collect();
                if !answers.is_empty() {
                    s.push_str(&format!(" {}", answers.join(", ")));
                }
                self.proto(&d.conn.network.community_id, d.timestamp, "dns", s);
            }
            Record::Tls(t) => {
                let mut parts = Vec::new();
                if let Some(sni) = t.tls.client.as_ref().and_then(|c| c.server_name.as_ref()) {
                    parts.push(sni.clone());
                }
                if let Some(v) = &t.tls.version {
                    parts.push(format!("{} {v}", t.tls.version_protocol.unwrap_or("tls")));
                }
                if let Some(p) = &t.tls.next_protocol {
                    parts.push(p.clone());
                }
                if let Some(c) = &t.tls.cipher {
                    parts.push(c.clone());
                }
                self.proto(
                    &t.conn.network.community_id,
                    t.timestamp,
                    "tls",
                    parts.join(" "),
                );
            }
            Record::Weird(_) | Record::Stats(_) => {}
        }
    }

    fn flow(&mut self, f: &FlowRecord) {
        let id = FlowId {
            community_id: f.network.community_id.clone(),
            interface: f.interface.as_ref().map_or(0, |i| i.id),
            start: f.event.start.as_nanos(),
        };
        self.earliest = Some(
            self.earliest
                .map_or(f.event.start, |e| e.min(f.event.start)),
        );
        self.latest = Some(self.latest.map_or(f.event.end, |l| l.max(f.event.end)));
        self.seq += 1;
        let seq = self.seq;
        let now = [f.source.bytes, f.destination.bytes];
        let end = |e: &Endpoint| End {
            ip: e.ip,
            port: e.port,
            owner: e.owner.as_ref().map(OwnerKey::of),
        };
        let window_from = self.last_tick;
        let entry = self.flows.entry(id.clone());
        let new = matches!(entry, std::collections::hash_map::Entry::Vacant(_));
        let e = entry.or_insert_with(|| FlowEntry {
            id: id.clone(),
            transport: f.network.transport,
            source: end(&f.source),
            destination: end(&f.destination),
            bytes: [0, 0],
            rate: [0.0, 0.0],
            window: [0.0, 0.0],
            start: f.event.start,
            end: f.event.end,
            reason: f.event.reason,
            interface: None,
            seq,
            haystack: String::new(),
        });
        let grew = [
            crate::grew(now[0], e.bytes[0]),
            crate::grew(now[1], e.bytes[1]),
        ];
        // A flow first seen with a long history (open when top started) would show all of
        // it as one window's rate; it is credited with its average over one window's length
        // instead. A short flow is credited in full even when its record comes late (after
        // the end-of-flow linger), or it would never show a rate at all.
        // Before the first window closed its length is unknown: take top's refresh period.
        let window = if self.window_secs > 0.0 {
            self.window_secs
        } else {
            1.0
        };
        let share = if new && window_from.is_some() {
            let life = f.event.end.nanos_since(f.event.start) as f64 / 1e9;
            if life > window { window / life } else { 1.0 }
        } else {
            1.0
        };
        e.window[0] += grew[0] as f64 * share;
        e.window[1] += grew[1] as f64 * share;
        e.bytes = now;
        e.end = e.end.max(f.event.end);
        e.reason = f.event.reason;
        e.seq = seq;
        e.interface = f.interface.as_ref().map(|i| i.name.clone());
        // Owners can be learnt after the first record (a socket stamped late).
        if e.source.owner.is_none() {
            e.source.owner = end(&f.source).owner;
        }
        if e.destination.owner.is_none() {
            e.destination.owner = end(&f.destination).owner;
        }
        e.haystack = e.build_haystack();
        if e.finished() {
            self.finished.push_back((seq, id));
        } else {
            self.open.push_back((seq, id));
        }
        while self.flows.len() > self.limits.flows {
            if !self.evict_one() {
                break;
            }
        }
        self.compact();
    }

    /// Forget the oldest finished flow, else the oldest open one, folding its bytes into its
    /// parties. False when there was nothing to forget.
    fn evict_one(&mut self) -> bool {
        for finished in [true, false] {
            loop {
                let queue = if finished {
                    &mut self.finished
                } else {
                    &mut self.open
                };
                let Some((seq, id)) = queue.pop_front() else {
                    break;
                };
                // Skip entries superseded by a later record of the same flow.
                if self.flows.get(&id).is_some_and(|e| e.seq == seq)
                    && let Some(e) = self.flows.remove(&id)
                {
                    self.retire(&e);
                    return true;
                }
            }
        }
        false
    }

    fn retire(&mut self, e: &FlowEntry) {
        for side in e.sides() {
            let mut party = side.party();
            if !self.retired.contains_key(&party) && self.retired.len() >= self.limits.parties {
                party = Party::other();
            }
            let r = self.retired.entry(party).or_default();
            let b = side.bytes();
            r.bytes[0] += b[0];
            r.bytes[1] += b[1];
            r.flows += 1;
        }
    }

    /// Drop queue entries of superseded records once they outnumber the flows, so the queues
    /// stay bounded when long flows send an interim record every second.
    fn compact(&mut self) {
        let bound = 2 * self.flows.len() + 1024;
        if self.open.len() + self.finished.len() <= bound {
            return;
        }
        let flows = &self.flows;
        let live = |(seq, id): &(u64, FlowId)| flows.get(id).is_some_and(|e| e.seq == *seq);
        self.open.retain(live);
        self.finished.retain(live);
    }

    fn proto(
        &mut self,
        community_id: &str,
        timestamp: Timestamp,
        kind: &'static str,
        mut s: String,
    ) {
        // A URL can be kilobytes long; a line on the screen is not.
        if let Some((cut, _)) = s.char_indices().nth(SUMMARY_CHARS) {
            s.truncate(cut);
            s.push('\u{2026}');
        }
        if !self.protos.contains_key(community_id) {
            while self.protos.len() >= self.limits.connections.max(1) {
                let Some(old) = self.proto_order.pop_front() else {
                    break;
                };
                self.protos.remove(&old);
            }
            self.proto_order.push_back(community_id.to_string());
        }
        let lines = self.protos.entry(community_id.to_string()).or_default();
        lines.push_back(ProtoLine {
            timestamp,
            kind,
            summary: s,
        });
        while lines.len() > self.limits.records_per_connection {
            lines.pop_front();
        }
    }

    /// Close the refresh window at `now`: every flow's rate becomes what it sent in the
    /// window divided by the window's length, and a new window opens.
    ///
    /// Live, `now` is the wall clock at each flush (right after a flow-map scan wrote its
    /// records); replaying a capture, it is the capture's clock, so rates are the capture's.
    /// The first window starts at the first tick, or without one at the earliest flow start.
    pub fn tick(&mut self, now: Timestamp) {
        let from = self.last_tick.or(self.earliest).unwrap_or(now);
        let secs = now.nanos_since(from) as f64 / 1e9;
        for e in self.flows.values_mut() {
            e.rate = if secs > 0.0 {
                [e.window[0] / secs, e.window[1] / secs]
            } else {
                [0.0, 0.0]
            };
            e.window = [0.0, 0.0];
        }
        self.last_tick = Some(now);
        self.window_secs = secs;
        self.ticks += 1;
    }

    /// A copy of what the rows and flow lists read (the kept flows, the forgotten totals and
    /// the window), without the protocol records and the eviction order, so another thread
    /// can compute views from it while this model keeps taking records. The copy is for
    /// reading only: without the eviction order it would not stay within its limits.
    pub fn view_copy(&self) -> Model {
        Model {
            limits: self.limits,
            flows: self.flows.clone(),
            finished: VecDeque::new(),
            open: VecDeque::new(),
            retired: self.retired.clone(),
            protos: HashMap::new(),
            proto_order: VecDeque::new(),
            seq: self.seq,
            last_tick: self.last_tick,
            earliest: self.earliest,
            latest: self.latest,
            window_secs: self.window_secs,
            ticks: self.ticks,
            records: self.records,
        }
    }

    /// The kept flows.
    pub fn flows(&self) -> impl Iterator<Item = &FlowEntry> {
        self.flows.values()
    }

    /// One kept flow.
    pub fn flow_entry(&self, id: &FlowId) -> Option<&FlowEntry> {
        self.flows.get(id)
    }

    /// Totals of forgotten flows, by party.
    pub fn retired(&self) -> impl Iterator<Item = (&Party, &Retired)> {
        self.retired.iter()
    }

    /// The last protocol records of a connection, oldest first.
    pub fn protocol_records(&self, community_id: &str) -> impl Iterator<Item = &ProtoLine> {
        self.protos.get(community_id).into_iter().flatten()
    }

    /// Length of the last closed refresh window, seconds.
    pub fn window_secs(&self) -> f64 {
        self.window_secs
    }

    /// How many windows were closed: the view redraws when this changes.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// Records taken so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The last packet time any flow record reported (the end of a replayed capture).
    pub fn latest(&self) -> Option<Timestamp> {
        self.latest
    }

    /// The limits the model was made with.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flowsight_record::{Container, ContainerRuntime, Process, User};
    use std::sync::Arc;

    /// A flow record from `src` (`ip:port`) to `dst`, with the given totals; `owner` names
    /// the source's process as `(pid, name, user)`.
    pub(crate) fn flow(
        src: &str,
        dst: &str,
        owner: Option<(u32, &str, &str)>,
        reason: EndReason,
        bytes: [u64; 2],
    ) -> Record {
        let Record::Flow(mut f) = Record::examples().remove(0) else {
            unreachable!("the first example is a flow record")
        };
        let (sip, sport) = src.rsplit_once(':').unwrap();
        let (dip, dport) = dst.rsplit_once(':').unwrap();
        f.source.ip = sip.parse().unwrap();
        f.source.port = sport.parse().unwrap();
        f.destination.ip = dip.parse().unwrap();
        f.destination.port = dport.parse().unwrap();
        f.network.community_id = format!("1:{src}-{dst}");
        f.interface = None;
        f.event.reason = reason;
        f.source.bytes = bytes[0];
        f.destination.bytes = bytes[1];
        let proto = f.source.owner.clone().unwrap();
        f.source.owner = owner.map(|(pid, name, user)| Owner {
            process: Arc::new(Process {
                pid,
                name: name.to_string(),
                ..(*proto.process).clone()
            }),
            user: User {
                id: "1000".into(),
                name: Some(user.to_string()),
            },
            container: Some(Arc::new(Container {
                id: format!("c0ffee{pid}"),
                runtime: ContainerRuntime::Docker,
                pod_uid: None,
                meta: None,
            })),
            ..proto
        });
        f.destination.owner = None;
        Record::Flow(f)
    }

    fn only(m: &Model) -> &FlowEntry {
        assert_eq!(m.flows.len(), 1);
        m.flows.values().next().unwrap()
    }

    #[test]
    fn interim_records_count_only_what_grew() {
        let mut m = Model::new(Limits::default());
        let owner = Some((7, "curl", "alice"));
        let (a, b) = ("10.0.0.1:4000", "10.0.0.2:80");
        m.tick(Timestamp(1_795_333_025_000_000_000));
        m.observe(&flow(a, b, owner, EndReason::ActiveTimeout, [100, 1000]));
        m.tick(Timestamp(1_795_333_026_000_000_000));
        assert_eq!(only(&m).bytes, [100, 1000]);
        assert_eq!(only(&m).rate, [100.0, 1000.0]);
        m.observe(&flow(a, b, owner, EndReason::ActiveTimeout, [150, 3000]));
        m.tick(Timestamp(1_795_333_028_000_000_000));
        // 50 and 2000 more bytes over a two-second window.
        assert_eq!(only(&m).rate, [25.0, 1000.0]);
        assert_eq!(m.window_secs(), 2.0);
        m.observe(&flow(a, b, owner, EndReason::End, [170, 3500]));
        m.tick(Timestamp(1_795_333_029_000_000_000));
        assert_eq!(only(&m).bytes, [170, 3500]);
        assert_eq!(only(&m).rate, [20.0, 500.0]);
        assert!(only(&m).finished());
        // Nothing more: the rate drops to zero, the totals stay.
        m.tick(Timestamp(1_795_333_030_000_000_000));
        assert_eq!(only(&m).rate, [0.0, 0.0]);
        assert_eq!(only(&m).bytes, [170, 3500]);
    }

    #[test]
    fn a_flow_longer_than_the_window_counts_only_its_average() {
        let mut m = Model::new(Limits::default());
        // One-second windows; the flow began at t=0 and its first record (t=11 s) holds
        // 11,000 bytes: one second's worth of its average goes in the window.
        m.tick(Timestamp(9_000_000_000));
        m.tick(Timestamp(10_000_000_000));
        let Record::Flow(mut f) = flow("10.0.0.1:1", "10.0.0.2:2", None, EndReason::End, [0, 0])
        else {
            unreachable!()
        };
        f.event.start = Timestamp(0);
        f.event.end = Timestamp(11_000_000_000);
        f.source.bytes = 11_000;
        m.observe(&Record::Flow(f));
        m.tick(Timestamp(11_000_000_000));
        assert_eq!(only(&m).rate, [1000.0, 0.0]);
        assert_eq!(only(&m).bytes, [11_000, 0]);
        // A short flow whose record comes after the window it ran in is credited in full.
        let Record::Flow(mut f) = flow("10.0.0.1:3", "10.0.0.2:4", None, EndReason::End, [0, 0])
        else {
            unreachable!()
        };
        f.event.start = Timestamp(9_500_000_000);
        f.event.end = Timestamp(9_600_000_000);
        f.source.bytes = 500;
        m.observe(&Record::Flow(f));
        m.tick(Timestamp(12_000_000_000));
        let short = m.flows().find(|e| e.source.port == 3).unwrap();
        assert_eq!(short.rate, [500.0, 0.0]);
    }

    #[test]
    fn without_a_tick_the_first_window_starts_at_the_earliest_flow() {
        let mut m = Model::new(Limits::default());
        m.observe(&flow(
            "10.0.0.1:1",
            "10.0.0.2:2",
            None,
            EndReason::End,
            [500, 1500],
        ));
        // The example flow lasts 0.5 s.
        m.tick(m.latest().unwrap());
        assert_eq!(m.window_secs(), 0.5);
        assert_eq!(only(&m).rate, [1000.0, 3000.0]);
    }

    #[test]
    fn memory_is_bounded_and_forgotten_flows_still_add_up() {
        let limits = Limits {
            flows: 100,
            parties: 10,
            connections: 5,
            records_per_connection: 2,
        };
        let mut m = Model::new(limits);
        // One long flow stays open all along; 1,000 short ones end.
        let long = ("10.0.0.1:9", "10.9.9.9:443");
        for i in 0..1000u32 {
            m.observe(&flow(
                long.0,
                long.1,
                Some((1, "long", "bob")),
                EndReason::ActiveTimeout,
                [u64::from(i + 1), 0],
            ));
            let src = format!("10.0.{}.{}:{}", i / 250, i % 250, 1000 + i);
            m.observe(&flow(
                &src,
                "10.0.0.2:53",
                Some((100 + i % 20, "dig", "alice")),
                EndReason::End,
                [10, 20],
            ));
            assert!(m.flows.len() <= 100);
            assert!(m.retired.len() <= 11, "the cap plus other");
            assert!(m.open.len() + m.finished.len() <= 2 * m.flows.len() + 1024);
        }
        assert_eq!(m.flows.len(), 100);
        // The open flow was never evicted: finished ones went first.
        let l = m.flows.values().find(|e| e.source.port == 9).unwrap();
        assert_eq!(l.bytes, [1000, 0]);
        // Every byte of the short flows is somewhere.
        let kept: u64 = m
            .flows()
            .filter(|e| e.destination.port == 53)
            .map(|e| e.bytes[0] + e.bytes[1])
            .sum();
        let retired: u64 = m.retired().map(|(_, r)| r.bytes[0] + r.bytes[1]).sum();
        assert_eq!(kept + retired, 30 * 1000);
        let flows: u64 = m.retired().map(|(_, r)| r.flows).sum();
        assert_eq!(flows, 901);
        assert!(m.retired.contains_key(&Party::other()));
        // Protocol records are bounded too.
        for i in 0..20 {
            let Record::Dns(mut d) = Record::examples().remove(3) else {
                unreachable!()
            };
            d.conn.network.community_id = format!("1:{}", i % 7);
            m.observe(&Record::Dns(d));
        }
        assert!(m.protos.len() <= 5);
        assert!(m.protos.values().all(|l| l.len() <= 2));
        // And so is each one.
        let Record::Http(mut h) = Record::examples().remove(2) else {
            unreachable!()
        };
        h.url.as_mut().unwrap().original = format!("/{}", "a".repeat(10_000));
        m.observe(&Record::Http(h));
        let line = m
            .protocol_records("1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
            .last()
            .unwrap();
        assert_eq!(line.summary.chars().count(), SUMMARY_CHARS + 1);
        assert!(line.summary.ends_with('\u{2026}'));
    }

    #[test]
    fn when_every_flow_is_open_the_oldest_goes() {
        let mut m = Model::new(Limits {
            flows: 3,
            ..Limits::default()
        });
        for port in 1..=5 {
            m.observe(&flow(
                &format!("10.0.0.1:{port}"),
                "10.0.0.2:80",
                None,
                EndReason::ActiveTimeout,
                [1, 1],
            ));
        }
        let mut ports: Vec<u16> = m.flows().map(|e| e.source.port).collect();
        ports.sort();
        assert_eq!(ports, [3, 4, 5]);
    }

    #[test]
    fn protocol_records_are_kept_by_community_id() {
        let mut m = Model::new(Limits::default());
        for r in Record::examples() {
            m.observe(&r);
        }
        let id = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";
        let lines: Vec<String> = m
            .protocol_records(id)
            .map(|l| format!("{} {}", l.kind, l.summary))
            .collect();
        assert_eq!(
            lines,
            [
                "http GET example.com/index.html?q=1 -> 200 text/html (612 B)",
                "dns www.example.com A -> NOERROR 93.184.216.34",
                "tls example.com tls 1.3 h2 TLS_AES_128_GCM_SHA256",
            ]
        );
    }

    #[test]
    fn a_loopback_flow_belongs_to_both_processes() {
        let mut m = Model::new(Limits::default());
        let Record::Flow(f) = Record::examples().remove(0) else {
            unreachable!()
        };
        m.observe(&Record::Flow(f));
        let e = only(&m);
        let sides: Vec<(u32, [u64; 2], bool)> = e
            .sides()
            .map(|s| {
                (
                    s.local().owner.as_ref().unwrap().pid,
                    s.bytes(),
                    s.primary(),
                )
            })
            .collect();
        assert_eq!(sides, [(1234, [400, 600], true), (1300, [600, 400], false)]);
        assert!(e.matches("curl") && e.matches("1300") && !e.matches(":80"));
        assert!(e.matches("10.0.0.2") && e.matches("alice") && e.matches("0123456789ab"));
    }
}
