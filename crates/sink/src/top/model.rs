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
            owner: e.owner.as_deref().map(OwnerKey::of),
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
#[path = "model_tests.rs"]
pub(crate) mod tests;
