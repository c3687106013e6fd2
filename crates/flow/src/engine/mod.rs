//! The analysis engine: packets in, records out.
//!
//! One engine owns a flow table, the protocol analyzers of its flows and a fragment
//! reassembler. `flowsight read` feeds it every frame of a capture; ageing runs on the
//! capture's own clock, so a file gives the records a live run would have given. The same
//! engine analyzes the payload samples the kernel sends in live mode.

use crate::app::{AppConfig, Cx, Registry};
use crate::defrag::{Defrag, FragKey};
use crate::record::{Attribution, NoAttribution};
use crate::table::{Due, Flow, FlowSlot, FlowTable, Initiator, SocketRef, Timeouts};
use crate::{Clock, FlowKey, flow_record, icmp};
use flowsight_record::{EndReason, Interface, Record, Weird, WeirdRecord};
use flowsight_wire::tcp::Flags;
use flowsight_wire::{DecodeError, Decoded, IpVersion, L4, LinkType, decode_into};
use foldhash::{HashMap, HashSet};

mod flow_app;
mod fragments;
mod padding;

use flow_app::{AppState, Segment, Slot, ack_above_hole, analyze_payload, end_app};
use padding::padding_as_payload;

/// Bytes of each side kept while a flow's protocol is being recognised.
const DETECT_BYTES: usize = 2048;
/// Payload-carrying packets looked at before a TCP connection is declared unrecognised.
const DETECT_PACKETS: u8 = 8;
/// The same for UDP, counting both directions: the live sampler sends the first 8 of each
/// direction by default, and WebRTC's STUN checks (from both peers) can come before its DTLS
/// handshake. A datagram no detector could still claim ends detection at once anyway.
const DETECT_DATAGRAMS: u8 = 16;
/// Stream chunks of an unrecognised TCP connection looked at for a protocol that starts
/// late (TLS after STARTTLS, CONNECT or SOCKS) before it is given up.
const WATCH_CHUNKS: u8 = 32;
/// Non-flow anomalies of one kind written before the rest are only counted.
const GLOBAL_WEIRDS_PER_NAME: u64 = 10;

/// What the engine does besides counting flows.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Flow ageing.
    pub timeouts: Timeouts,
    /// Run the protocol analyzers (HTTP, DNS, TLS).
    pub analyze: bool,
    /// Analyzer settings.
    pub app: AppConfig,
    /// Write flow records. Off in live mode, where the kernel counts flows and the engine
    /// only analyzes payload samples.
    pub flow_records: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            timeouts: Timeouts::default(),
            analyze: true,
            app: AppConfig::default(),
            flow_records: true,
        }
    }
}

/// A payload sample from the kernel (live mode).
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// The flow.
    pub key: FlowKey,
    /// Endpoint index (in `key`) of the sender.
    pub sender: usize,
    /// When (the engine's timeline).
    pub ts_ns: u64,
    /// TCP sequence number and SYN/FIN flags; None for UDP.
    pub tcp: Option<(u32, bool, bool)>,
    /// The payload's first bytes.
    pub payload: &'a [u8],
    /// The flow's direction as the kernel saw it.
    pub initiator: Initiator,
    /// The flow's local sockets as the kernel saw them.
    pub sockets: [Option<SocketRef>; 2],
}

/// Counters of what the engine saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Frames given to the engine.
    pub frames: u64,
    /// Frames that were not IP (ARP, LLDP, ...).
    pub not_ip: u64,
    /// Frames that did not decode (counted, and logged as weird records up to a limit).
    pub undecodable: u64,
    /// IP fragments of datagrams that never completed.
    pub fragments_abandoned: u64,
    /// Anomalies counted but not written, past the per-name limit.
    pub weirds_suppressed: u64,
}

/// The engine's parts an analyzer call needs, borrowed apart from the flow table.
struct Parts<'a> {
    registry: &'a Registry,
    cfg: &'a EngineConfig,
    clock: &'a Clock,
    interfaces: &'a HashMap<u32, Interface>,
    attribution: &'a mut dyn Attribution,
    out: &'a mut Vec<Record>,
}

/// Packets in, records out.
pub struct Engine {
    cfg: EngineConfig,
    clock: Clock,
    table: FlowTable<Slot>,
    registry: Registry,
    defrag: Defrag,
    /// The datagrams of the fragments this engine only counts ([`Duty::Count`]): rebuilt to
    /// know when each is whole, never analyzed; not in [`EngineStats::fragments_abandoned`]
    /// (the engine rebuilding them counts those).
    counted_only: Defrag,
    interfaces: HashMap<u32, Interface>,
    attribution: Box<dyn Attribution + Send>,
    out: Vec<Record>,
    global_weirds: HashMap<&'static str, u64>,
    now: u64,
    last_tick: u64,
    stats: EngineStats,
    due: Vec<(FlowKey, Due)>,
    /// The places of the flows still to close at the end of the input, newest first (places
    /// are sorted, not flows: moving every flow twice cost more than closing it).
    closing: Option<Vec<FlowSlot>>,
    /// The flow of each datagram whose first fragment was seen, for its later fragments.
    frag_flows: HashMap<FragKey, FragFlow>,
    /// Flows whose analysis ended since the last [`Engine::take_finished_analyses`].
    analyzed: Vec<FlowKey>,
    /// Flows whose analyzer has a timeout running ([`crate::app::Analyzer::wants_tick`]):
    /// the ones ticked every second.
    ticking: HashSet<FlowKey>,
}

/// Where the fragments of one datagram are counted, and where to analyze it.
#[derive(Debug, Clone, Copy)]
struct FragFlow {
    /// The flow the first fragment counted in, and its sender's index; `None` where
    /// another engine counts the fragments ([`Duty::Reassemble`]).
    counted: Option<(FlowKey, usize)>,
    first_ns: u64,
    vlan: Option<u16>,
    interface: u32,
}

/// What an engine does with a frame, when the frames of one capture are spread over several
/// engines by flow (`flowsight read --threads`).
///
/// A fragment of a tunnel's outer datagram belongs to two flows: it counts in the outer
/// (tunnel) flow when it is seen, as the kernel counts it live, and the datagram it helps
/// rebuild carries an inner flow. When the two flows are another engine's each, each of
/// those engines gets the fragment with one of the two duties, so that every flow lives in
/// one engine whatever the split. For any frame that is no IP fragment every duty is
/// [`Duty::Whole`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Duty {
    /// Everything: the one engine of a capture, or a frame whose flows are all this
    /// engine's.
    #[default]
    Whole,
    /// Count the fragment in the flow it is a packet of; another engine rebuilds the
    /// datagram.
    Count,
    /// Rebuild and analyze the datagram; another engine counts the fragment (and counts the
    /// frame in its statistics).
    Reassemble,
}

/// Flows closed per [`Engine::finish_step`].
pub const FINISH_STEP: usize = 1024;

impl Engine {
    /// An engine whose timeline is wall-clock nanoseconds (capture files).
    pub fn new(cfg: EngineConfig) -> Engine {
        Engine::with_clock(cfg, Clock::identity(), Box::new(NoAttribution))
    }

    /// An engine with its own clock and attribution (live mode).
    pub fn with_clock(
        cfg: EngineConfig,
        clock: Clock,
        attribution: Box<dyn Attribution + Send>,
    ) -> Engine {
        Engine {
            table: FlowTable::new(cfg.timeouts),
            cfg,
            clock,
            registry: Registry::standard(),
            defrag: Defrag::new(),
            counted_only: Defrag::new(),
            interfaces: HashMap::default(),
            attribution,
            out: Vec::new(),
            global_weirds: HashMap::default(),
            now: 0,
            last_tick: 0,
            stats: EngineStats::default(),
            due: Vec::new(),
            closing: None,
            frag_flows: HashMap::default(),
            analyzed: Vec::new(),
            ticking: HashSet::default(),
        }
    }

    /// One payload sample (live mode), with the attribution that names local owners.
    pub fn sample(&mut self, s: Sample<'_>, attribution: &mut dyn Attribution) {
        // A sample from another socket than the flow's: a new connection on a reused
        // 4-tuple whose samples came before the kernel's word that the old one ended (the two
        // arrive on different rings). The old connection's analysis ends here, so the new
        // one starts from its own first bytes.
        let reused = self
            .table
            .get(&s.key)
            .is_some_and(|f| other_connection(&f.stats.sockets, &s.sockets));
        if reused && let Some(old) = self.table.remove(&s.key) {
            self.close(old, EndReason::End);
        }
        let (flags, seq) = match s.tcp {
            Some((_, syn, fin)) => (
                (if syn { 0x02 } else { 0 }) | (if fin { 0x01 } else { 0 }),
                s.tcp,
            ),
            None => (0, None),
        };
        let Engine {
            table,
            registry,
            cfg,
            clock,
            interfaces,
            out,
            analyzed,
            ..
        } = self;
        let mut finished = None;
        let flow = table.count(
            s.key,
            s.sender,
            s.ts_ns,
            1,
            s.payload.len() as u64,
            flags,
            &mut finished,
        );
        // The kernel saw the whole flow; the samples are only its first packets.
        if !matches!(flow.stats.initiator, Initiator::Syn(_)) {
            flow.stats.initiator = s.initiator;
        }
        for (mine, theirs) in flow.stats.sockets.iter_mut().zip(s.sockets) {
            if theirs.is_some_and(|t| mine.is_none_or(|m| m.listener && !t.listener)) {
                *mine = theirs;
            }
        }
        if let Slot::App(app) = &mut flow.ext {
            // Owners stamped after the analysis began (a server's first send) fill in now.
            let k = &flow.key;
            for (i, peer) in [
                (app.client, &mut app.core.conn.source),
                (app.client ^ 1, &mut app.core.conn.destination),
            ] {
                if peer.owner.is_none() && flow.stats.sockets[i].is_some() {
                    peer.owner = attribution
                        .owner(
                            flow.stats.sockets[i],
                            k.endpoint(i),
                            k.endpoint(i ^ 1),
                            k.protocol,
                        )
                        .map(Box::new);
                }
            }
        }
        let was_done = matches!(flow.ext, Slot::Done);
        let mut parts = Parts {
            registry,
            cfg,
            clock,
            interfaces,
            attribution,
            out,
        };
        analyze_payload(
            flow,
            s.sender,
            s.ts_ns,
            Segment {
                tcp: seq,
                payload: s.payload,
                cut: 0,
                ack: None,
            },
            &mut parts,
        );
        if !was_done && matches!(flow.ext, Slot::Done) {
            analyzed.push(s.key);
        }
        if let Some(old) = finished {
            self.close(old, EndReason::End);
        }
    }

    /// Flows whose analysis ended (their analyzers need no more payload) since the last call:
    /// live mode stops the kernel's sampling of them.
    pub fn take_finished_analyses(&mut self) -> Vec<FlowKey> {
        std::mem::take(&mut self.analyzed)
    }

    /// A flow ended (live mode: its final flow record was written): flush its analysis.
    pub fn end_flow(&mut self, key: &FlowKey, sockets: &[Option<SocketRef>; 2]) {
        // The samples of a new connection on the reused 4-tuple can come before the kernel's
        // word that the old one ended: the flow here is then the new connection, whose
        // analysis must go on.
        if self
            .table
            .get(key)
            .is_some_and(|f| other_connection(&f.stats.sockets, sockets))
        {
            return;
        }
        if let Some(flow) = self.table.remove(key) {
            self.close(flow, EndReason::End);
        }
    }

    /// Name an interface (pcapng interface, or live ifindex) for the records.
    pub fn set_interface(&mut self, id: u32, name: String) {
        self.interfaces.insert(id, Interface { name, id });
    }

    /// The analyzer settings.
    pub fn app_config(&self) -> &AppConfig {
        &self.cfg.app
    }

    /// Change the analyzer settings (run-time control): connections whose analysis starts
    /// from now on use them; those already being analyzed keep theirs.
    pub fn set_app_config(&mut self, app: AppConfig) {
        self.cfg.app = app;
    }

    /// What the engine saw.
    pub fn stats(&self) -> EngineStats {
        let mut s = self.stats.clone();
        s.fragments_abandoned = self.defrag.abandoned;
        s
    }

    /// Open flows.
    pub fn flows(&self) -> usize {
        self.table.len()
    }

    /// Records produced since the last call.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Record> {
        self.out.drain(..)
    }

    /// Whether there are records to [`Engine::drain`]: most frames make none, and a caller
    /// asking after each frame need not build and drop an empty drain.
    #[inline]
    pub fn has_records(&self) -> bool {
        !self.out.is_empty()
    }

    /// One captured frame: its time, link type, bytes, length on the wire and interface.
    pub fn frame(
        &mut self,
        ts_ns: u64,
        link: LinkType,
        frame: &[u8],
        wire_len: u32,
        interface: u32,
    ) {
        self.frame_as(ts_ns, link, frame, wire_len, interface, Duty::Whole);
    }

    /// [`Engine::frame`] for a frame this engine shares with another, doing its `duty` only.
    pub fn frame_as(
        &mut self,
        ts_ns: u64,
        link: LinkType,
        frame: &[u8],
        wire_len: u32,
        interface: u32,
        duty: Duty,
    ) {
        // A shared frame is counted once over the engines: by the one counting it.
        self.stats.frames += u64::from(duty != Duty::Reassemble);
        self.advance(ts_ns);
        let mut d = Decoded::new(link);
        match decode_into(link, frame, &mut d) {
            Ok(()) => self.decoded(ts_ns, &d, frame, u64::from(wire_len), interface, duty),
            Err(e) => {
                self.stats.undecodable += 1;
                self.global_weird(ts_ns, decode_weird(&e), "capture", e.to_string());
            }
        }
    }

    /// Count a packet (or, with `packets` 0, only analyze a reassembled datagram) in its flow
    /// and analyze its payload when `analyze`. Returns the flow's key and the sender's index.
    fn transport(
        &mut self,
        ts: u64,
        d: &Decoded<'_>,
        packets: u64,
        bytes: u64,
        interface: u32,
        analyze: bool,
    ) -> Option<(FlowKey, usize)> {
        let ip = d.ip?;
        let proto: u8 = ip.protocol.into();
        let v6 = ip.version == IpVersion::V6;
        let mut ack = None;
        let mut cut = 0;
        let mut payload = d.payload;
        let (sport, dport, flags, tcp) = match d.l4 {
            L4::Tcp(t) => {
                let f = t.flags;
                if !d.truncated && padding_as_payload(f, ip.total_len, payload) {
                    payload = &[];
                }
                if f.contains(Flags::ACK) {
                    ack = Some(t.ack);
                }
                if d.truncated {
                    let sent = ip
                        .total_len
                        .saturating_sub(u32::from(ip.header_len) + u32::from(t.header_len));
                    cut = sent.saturating_sub(payload.len() as u32);
                }
                (
                    t.src_port,
                    t.dst_port,
                    f.bits() as u8,
                    Some((t.seq, f.contains(Flags::SYN), f.contains(Flags::FIN))),
                )
            }
            L4::Udp(u) => (u.src_port, u.dst_port, 0, None),
            L4::Icmp(i) => {
                let (s, dp, _) = icmp::icmp_ports(i.msg_type, i.code, v6);
                (s, dp, 0, None)
            }
            _ => (0, 0, 0, None),
        };
        let (key, sender) = FlowKey::from_packet(
            (ip.src, sport),
            (ip.dst, dport),
            proto,
            interface,
            d.vlan.unwrap_or(0),
        );
        let carries = matches!(d.l4, L4::Udp(_))
            || (matches!(d.l4, L4::Tcp(_))
                && (!payload.is_empty() || cut > 0 || tcp.is_some_and(|t| t.1 || t.2)));
        let mut finished = None;
        let (table, mut parts) = self.parts();
        let flow = if packets == 0 {
            // A reassembled datagram, counted fragment by fragment: analysis only, and only
            // while its flow is open.
            table.get_mut(&key)?
        } else {
            table.count(key, sender, ts, packets, bytes, flags, &mut finished)
        };
        if analyze && parts.cfg.analyze && (carries || ack.is_some()) {
            if let Some(ack) = ack {
                ack_above_hole(flow, sender, ts, ack, &mut parts);
            }
            if carries {
                analyze_payload(
                    flow,
                    sender,
                    ts,
                    Segment {
                        tcp,
                        payload,
                        cut,
                        ack,
                    },
                    &mut parts,
                );
            }
        }
        if let Slot::App(app) = &flow.ext
            && let AppState::Active(a) = &app.core.state
            && a.wants_tick()
        {
            self.ticking.insert(key);
        }
        if let Some(old) = finished {
            self.close(old, EndReason::End);
        }
        Some((key, sender))
    }

    fn parts(&mut self) -> (&mut FlowTable<Slot>, Parts<'_>) {
        let Engine {
            table,
            registry,
            cfg,
            clock,
            interfaces,
            attribution,
            out,
            ..
        } = self;
        (
            table,
            Parts {
                registry,
                cfg,
                clock,
                interfaces,
                attribution: attribution.as_mut(),
                out,
            },
        )
    }

    /// A flow ended: flush its analyzer, write its record.
    fn close(&mut self, mut flow: Flow<Slot>, reason: EndReason) {
        let ts = flow.stats.last_ns;
        let now = self.clock.wall(self.now.max(ts));
        let (_, mut parts) = self.parts();
        let mut known_id = None;
        if let Slot::App(app) = &mut flow.ext {
            end_app(app, &flow.key, ts, &mut parts);
            // The analysis is over: its connection's Community ID can go to the flow record.
            let id = std::mem::take(&mut app.core.conn.network.community_id);
            known_id = Some((app.client, id));
        }
        if !parts.cfg.flow_records {
            return; // live mode: the kernel's counters make the flow records
        }
        let interface = parts.interfaces.get(&flow.key.ifindex).cloned();
        let rec = flow_record(
            &flow,
            reason,
            now,
            parts.clock,
            interface,
            parts.attribution,
            known_id,
        );
        parts.out.push(rec.into());
    }

    /// The input ended at `ts` (the last packet of the whole capture, which an engine given
    /// only some of its flows has not seen): records written by [`Engine::finish_step`] are
    /// stamped with it. Nothing is aged.
    pub fn end_of_input(&mut self, ts: u64) {
        self.now = self.now.max(ts);
    }

    /// The capture time of the engine's last ageing pass (0 before the first): an engine
    /// that sees every timestamp, and one moved to each of these by [`Engine::advance`],
    /// age at the same instants.
    pub fn last_tick(&self) -> u64 {
        self.last_tick
    }

    /// Move the engine's clock to `ts`: age flows and time out analyzers, once per second
    /// of capture time.
    #[inline]
    pub fn advance(&mut self, ts: u64) {
        self.now = self.now.max(ts);
        // Inlined up to here: `read --threads` moves every thread's clock at every frame.
        if ages_at(self.last_tick, self.now) {
            self.tick();
        }
    }

    /// A second of capture time went by: the ageing pass of [`Engine::advance`].
    fn tick(&mut self) {
        self.last_tick = self.now;
        let now = self.now;
        // Fragments first: what a datagram that never completed had is analyzed while its
        // flow is still open.
        self.expire_fragments(now);
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        self.table.due(now, &mut due);
        for &(key, d) in &due {
            match d {
                Due::Active => {
                    let (table, parts) = self.parts();
                    if let Some(flow) = table.get(&key).filter(|_| parts.cfg.flow_records) {
                        let interface = parts.interfaces.get(&key.ifindex).cloned();
                        let rec = flow_record(
                            flow,
                            EndReason::ActiveTimeout,
                            parts.clock.wall(now),
                            parts.clock,
                            interface,
                            parts.attribution,
                            match &flow.ext {
                                Slot::App(app) => {
                                    Some((app.client, app.core.conn.network.community_id.clone()))
                                }
                                _ => None,
                            },
                        );
                        parts.out.push(rec.into());
                    }
                    self.table.reported(&key, now);
                }
                Due::Idle | Due::Ended => {
                    if let Some(flow) = self.table.remove(&key) {
                        let reason = if flow.tcp_finished() {
                            EndReason::End
                        } else {
                            EndReason::IdleTimeout
                        };
                        self.close(flow, reason);
                    }
                }
            }
        }
        self.due = due;
        if self.ticking.is_empty() {
            return;
        }
        // In key order, so that a run writes its timeout records in one order.
        let mut keys: Vec<FlowKey> = self.ticking.drain().collect();
        keys.sort_unstable();
        let (table, parts) = self.parts();
        let mut still = Vec::new();
        for key in keys {
            if let Some(flow) = table.get_mut(&key)
                && let Slot::App(app) = &mut flow.ext
                && let AppState::Active(a) = &mut app.core.state
            {
                let mut cx = Cx {
                    conn: &app.core.conn,
                    clock: parts.clock,
                    cfg: &parts.cfg.app,
                    out: parts.out,
                    weirds_seen: &mut app.core.weirds,
                };
                a.tick(&mut cx, now);
                if a.wants_tick() {
                    still.push(key);
                }
            }
        }
        self.ticking.extend(still);
    }

    /// The end of the input: every open flow gets its record. The records are produced
    /// in steps of [`FINISH_STEP`] flows (drain them with [`Engine::drain`] between calls
    /// to bound memory); returns false once every flow is closed. No packet may be given to
    /// the engine between the first call and the last: the flows still to close are known
    /// by their places in the table, which a new flow could take.
    pub fn finish_step(&mut self) -> bool {
        if self.closing.is_none() {
            // Fragments that never completed are analyzed while their flows are still open.
            self.expire_fragments(u64::MAX);
            self.closing = Some(self.table.newest_first());
        }
        debug_assert!(self.table.len() <= self.closing.as_ref().map_or(0, Vec::len));
        for _ in 0..FINISH_STEP {
            let Some(slot) = self.closing.as_mut().and_then(Vec::pop) else {
                return false;
            };
            let Some(flow) = self.table.remove_slot(slot) else {
                continue;
            };
            let reason = if flow.tcp_finished() {
                EndReason::End
            } else {
                EndReason::Shutdown
            };
            self.close(flow, reason);
        }
        true
    }

    /// [`Engine::finish_step`] until done (the records accumulate until drained).
    pub fn finish(&mut self) {
        while self.finish_step() {}
    }

    fn global_weird(&mut self, ts: u64, name: &'static str, source: &'static str, detail: String) {
        let n = self.global_weirds.entry(name).or_default();
        *n += 1;
        if *n > GLOBAL_WEIRDS_PER_NAME {
            self.stats.weirds_suppressed += 1;
            return;
        }
        self.out.push(Record::Weird(WeirdRecord {
            timestamp: self.clock.wall(ts),
            conn: None,
            weird: Weird {
                name,
                source,
                detail: Some(detail),
            },
        }));
    }
}

/// The weird name for a frame that did not decode.
fn decode_weird(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::Truncated { .. } => "truncated_header",
        DecodeError::BadVersion { .. } => "bad_ip_version",
        DecodeError::BadHeaderLength { .. } => "bad_header_length",
        DecodeError::BadLength { .. } => "bad_length",
        DecodeError::TooDeep { .. } => "too_many_headers",
        DecodeError::Unsupported { .. } => "unsupported_header",
        DecodeError::BadTcpOption { .. } => "bad_tcp_option",
        DecodeError::BadIpv4Option { .. } => "bad_ipv4_option",
        DecodeError::UnsupportedLinkType(_) => "unsupported_link_type",
    }
}

/// Whether two views of one 4-tuple name different sockets at the same end: two
/// connections that reused the 4-tuple one after the other. A listener stands in for the
/// accepted socket and says nothing.
fn other_connection(a: &[Option<SocketRef>; 2], b: &[Option<SocketRef>; 2]) -> bool {
    a.iter().zip(b).any(|(a, b)| {
        matches!((a, b), (Some(a), Some(b))
            if !a.listener && !b.listener && a.cookie != b.cookie)
    })
}

/// Whether an engine whose last ageing pass was at `last_tick` ages its flows when its
/// clock reaches `now`: once per second of capture time.
#[inline]
fn ages_at(last_tick: u64, now: u64) -> bool {
    now >= last_tick + 1_000_000_000
}

/// The clock of an engine that is given every timestamp of a capture, without the engine:
/// when it ages its flows. `read --threads` keeps one while it hands each engine only the
/// frames of its own flows, and moves those engines to each instant this one ages at
/// ([`Engine::advance`]), so that they age when one engine for the whole capture would.
#[derive(Debug, Default, Clone, Copy)]
pub struct AgeingClock {
    now: u64,
    last_tick: u64,
}

impl AgeingClock {
    /// Moves the clock to `ts` (it never goes back); `true` when an engine at this clock
    /// ages its flows now.
    #[inline]
    pub fn advance(&mut self, ts: u64) -> bool {
        self.now = self.now.max(ts);
        let due = ages_at(self.last_tick, self.now);
        if due {
            self.last_tick = self.now;
        }
        due
    }

    /// The latest timestamp seen.
    #[inline]
    pub fn now(&self) -> u64 {
        self.now
    }
}

#[cfg(test)]
mod tests;
