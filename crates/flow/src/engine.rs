//! The analysis engine: packets in, records out.
//!
//! One engine owns a flow table, the protocol analyzers of its flows and a fragment
//! reassembler. `flowsight read` feeds it every frame of a capture; ageing runs on the
//! capture's own clock, so a file gives the records a live run would have given. The same
//! engine analyzes the payload samples the kernel sends in live mode.

use crate::app::{Analyzer, AppConfig, Cx, Registry, Side, Transport};
use crate::defrag::{Defrag, Outcome};
use crate::record::{Attribution, NoAttribution};
use crate::stream::{Stream, StreamSink};
use crate::table::{Due, Flow, FlowTable, Timeouts};
use crate::{Clock, FlowKey, community_id, flow_record, icmp, initiator};
use flowsight_record::{
    Conn, ConnNetwork, EndReason, Interface, NetworkType, Peer, Record, Transport as RecTransport,
    Vlan, Weird, WeirdRecord,
};
use flowsight_wire::tcp::Flags;
use flowsight_wire::{DecodeError, Decoded, IpVersion, L4, LinkType, decode};
use std::collections::HashMap;

/// Bytes of each side kept while a flow's protocol is being recognised.
const DETECT_BYTES: usize = 2048;
/// Payload-carrying packets looked at before a flow is declared unrecognised.
const DETECT_PACKETS: u8 = 8;
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
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            timeouts: Timeouts::default(),
            analyze: true,
            app: AppConfig::default(),
        }
    }
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

enum AppState {
    /// Looking at the first bytes to recognise the protocol.
    Detecting { packets: u8, first: [Vec<u8>; 2] },
    /// An analyzer is attached.
    Active(Box<dyn Analyzer>),
    /// Not analyzed (unrecognised, finished, or analysis off).
    Off,
}

/// A flow's application-layer state.
struct FlowApp {
    state: AppState,
    /// Reassembly, by side (client, server).
    streams: [Stream; 2],
    /// Which canonical endpoint (0/1) is the client.
    client: usize,
    conn: Conn,
    weirds: Vec<&'static str>,
}

/// Packets in, records out.
pub struct Engine {
    cfg: EngineConfig,
    clock: Clock,
    table: FlowTable,
    apps: HashMap<FlowKey, FlowApp>,
    registry: Registry,
    defrag: Defrag,
    interfaces: HashMap<u32, Interface>,
    attribution: Box<dyn Attribution + Send>,
    out: Vec<Record>,
    global_weirds: HashMap<&'static str, u64>,
    now: u64,
    last_tick: u64,
    stats: EngineStats,
    due: Vec<(FlowKey, Due)>,
}

/// One unit of payload for the analyzers.
struct Segment<'a> {
    /// TCP sequence number and SYN/FIN flags; None for UDP.
    tcp: Option<(u32, bool, bool)>,
    payload: &'a [u8],
}

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
            apps: HashMap::new(),
            registry: Registry::standard(),
            defrag: Defrag::new(),
            interfaces: HashMap::new(),
            attribution,
            out: Vec::new(),
            global_weirds: HashMap::new(),
            now: 0,
            last_tick: 0,
            stats: EngineStats::default(),
            due: Vec::new(),
        }
    }

    /// Name an interface (pcapng interface, or live ifindex) for the records.
    pub fn set_interface(&mut self, id: u32, name: String) {
        self.interfaces.insert(id, Interface { name, id });
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

    /// One captured frame: its time, link type, bytes, length on the wire and interface.
    pub fn frame(
        &mut self,
        ts_ns: u64,
        link: LinkType,
        frame: &[u8],
        wire_len: u32,
        interface: u32,
    ) {
        self.stats.frames += 1;
        self.advance(ts_ns);
        match decode(link, frame) {
            Ok(d) => self.decoded(ts_ns, &d, frame, u64::from(wire_len), interface),
            Err(e) => {
                self.stats.undecodable += 1;
                self.global_weird(ts_ns, decode_weird(&e), "capture", e.to_string());
            }
        }
    }

    fn decoded(&mut self, ts: u64, d: &Decoded<'_>, frame: &[u8], wire_len: u64, interface: u32) {
        let Some(ip) = d.ip else {
            self.stats.not_ip += 1;
            return;
        };
        if ip.is_fragmented() {
            match self.defrag.push(ts, &ip, frame, wire_len) {
                Outcome::Pending => {}
                Outcome::TooLong => self.global_weird(
                    ts,
                    "fragment_too_long",
                    "ip",
                    format!("{} -> {}", ip.src, ip.dst),
                ),
                Outcome::Complete {
                    datagram,
                    overlapped,
                    frames,
                    frame_bytes,
                } => {
                    if overlapped {
                        self.global_weird(
                            ts,
                            "fragment_overlap",
                            "ip",
                            format!("{} -> {}", ip.src, ip.dst),
                        );
                    }
                    match decode(LinkType::Raw, &datagram) {
                        Ok(mut whole) => {
                            whole.vlan = d.vlan;
                            self.transport(ts, &whole, frames, frame_bytes, interface);
                        }
                        Err(e) => self.global_weird(
                            ts,
                            decode_weird(&e),
                            "ip",
                            format!("reassembled datagram: {e}"),
                        ),
                    }
                }
            }
            return;
        }
        self.transport(ts, d, 1, wire_len, interface);
    }

    /// Count a packet (or a reassembled datagram) in its flow and analyze its payload.
    fn transport(&mut self, ts: u64, d: &Decoded<'_>, packets: u64, bytes: u64, interface: u32) {
        let Some(ip) = d.ip else { return };
        let proto: u8 = ip.protocol.into();
        let v6 = ip.version == IpVersion::V6;
        let (sport, dport, flags, tcp) = match d.l4 {
            L4::Tcp(t) => {
                let f = t.flags;
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
        if let Some(old) = self.table.packets(key, sender, ts, packets, bytes, flags) {
            self.close(old, EndReason::End);
        }
        let carries = matches!(d.l4, L4::Udp(_))
            || (matches!(d.l4, L4::Tcp(_))
                && (!d.payload.is_empty() || tcp.is_some_and(|t| t.1 || t.2)));
        if self.cfg.analyze && carries {
            self.payload(
                key,
                sender,
                ts,
                Segment {
                    tcp,
                    payload: d.payload,
                },
            );
        }
    }

    /// The connection identity of a flow as protocol records show it.
    fn conn(&mut self, flow: &Flow, client: usize, protocol: &'static str) -> Conn {
        let k = &flow.key;
        let one_way = matches!(k.protocol, 1 | 58)
            && icmp::is_one_way(k.port[client], k.port[client ^ 1], k.is_v6());
        let peer = |i: usize, a: &mut dyn Attribution| Peer {
            ip: k.addr[i],
            port: k.port[i],
            owner: a.owner(
                flow.stats.sockets[i],
                k.endpoint(i),
                k.endpoint(i ^ 1),
                k.protocol,
            ),
        };
        Conn {
            network: ConnNetwork {
                transport: RecTransport::from_iana(k.protocol),
                kind: if k.is_v6() {
                    NetworkType::Ipv6
                } else {
                    NetworkType::Ipv4
                },
                protocol,
                community_id: community_id(
                    k.endpoint(client),
                    k.endpoint(client ^ 1),
                    k.protocol,
                    one_way,
                ),
                vlan: (k.vlan != 0).then_some(Vlan { id: k.vlan }),
            },
            source: peer(client, self.attribution.as_mut()),
            destination: peer(client ^ 1, self.attribution.as_mut()),
            interface: self.interfaces.get(&k.ifindex).cloned(),
        }
    }

    /// Payload of one packet of a flow, sent by canonical endpoint `sender`.
    fn payload(&mut self, key: FlowKey, sender: usize, ts: u64, seg: Segment<'_>) {
        if !self.apps.contains_key(&key) {
            let Some(flow) = self.table.get(&key) else {
                return;
            };
            let flow = flow.clone();
            let client = initiator(&flow, self.attribution.as_mut());
            let conn = self.conn(&flow, client, "");
            self.apps.insert(
                key,
                FlowApp {
                    state: AppState::Detecting {
                        packets: 0,
                        first: [Vec::new(), Vec::new()],
                    },
                    streams: [Stream::new(), Stream::new()],
                    client,
                    conn,
                    weirds: Vec::new(),
                },
            );
        }
        let app = self.apps.get_mut(&key).unwrap();
        if matches!(app.state, AppState::Off) {
            return;
        }
        let side = if sender == app.client {
            Side::Client
        } else {
            Side::Server
        };
        let server_port = key.port[app.client ^ 1];
        let transport = if seg.tcp.is_some() {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        let mut sink = AppSink {
            app_state: &mut app.state,
            conn: &mut app.conn,
            weirds: &mut app.weirds,
            side,
            ts,
            server_port,
            transport,
            registry: &self.registry,
            cfg: &self.cfg.app,
            clock: &self.clock,
            out: &mut self.out,
        };
        match seg.tcp {
            Some((seq, syn, fin)) => {
                app.streams[side.index()].segment(seq, syn, fin, seg.payload, &mut sink)
            }
            None => sink.data(seg.payload),
        }
        let done = match &app.state {
            AppState::Active(a) => !a.wants(Side::Client) && !a.wants(Side::Server),
            AppState::Detecting { packets, first } => {
                *packets >= DETECT_PACKETS || first.iter().any(|f| f.len() >= DETECT_BYTES)
            }
            AppState::Off => false,
        };
        if done {
            self.end_app(&key, ts);
        }
    }

    /// Stop analyzing a flow: flush its analyzer and free its state.
    fn end_app(&mut self, key: &FlowKey, ts: u64) {
        let Some(mut app) = self.apps.remove(key) else {
            return;
        };
        for (i, stream) in app.streams.iter_mut().enumerate() {
            let side = if i == 0 { Side::Client } else { Side::Server };
            let mut sink = AppSink {
                app_state: &mut app.state,
                conn: &mut app.conn,
                weirds: &mut app.weirds,
                side,
                ts,
                server_port: key.port[app.client ^ 1],
                transport: Transport::Tcp,
                registry: &self.registry,
                cfg: &self.cfg.app,
                clock: &self.clock,
                out: &mut self.out,
            };
            stream.finish(&mut sink);
        }
        if let AppState::Active(mut a) = std::mem::replace(&mut app.state, AppState::Off) {
            let mut cx = Cx {
                conn: &app.conn,
                clock: &self.clock,
                cfg: &self.cfg.app,
                out: &mut self.out,
                weirds_seen: &mut app.weirds,
            };
            a.end(&mut cx, ts);
        }
        // Keep a marker so later packets of the flow are not analyzed again.
        app.streams = [Stream::new(), Stream::new()];
        self.apps.insert(*key, app);
    }

    /// A flow ended: flush its analyzer, write its record.
    fn close(&mut self, flow: Flow, reason: EndReason) {
        let ts = flow.stats.last_ns;
        self.end_app(&flow.key, ts);
        self.apps.remove(&flow.key);
        let interface = self.interfaces.get(&flow.key.ifindex).cloned();
        let now = self.clock.wall(self.now.max(ts));
        let rec = flow_record(
            &flow,
            reason,
            now,
            &self.clock,
            interface,
            self.attribution.as_mut(),
        );
        self.out.push(rec.into());
    }

    /// Move the engine's clock to `ts`: age flows and time out analyzers, once per second
    /// of capture time.
    pub fn advance(&mut self, ts: u64) {
        self.now = self.now.max(ts);
        if self.now < self.last_tick + 1_000_000_000 {
            return;
        }
        self.last_tick = self.now;
        let now = self.now;
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        self.table.due(now, &mut due);
        for &(key, d) in &due {
            match d {
                Due::Active => {
                    if let Some(flow) = self.table.get(&key).cloned() {
                        let interface = self.interfaces.get(&key.ifindex).cloned();
                        let rec = flow_record(
                            &flow,
                            EndReason::ActiveTimeout,
                            self.clock.wall(now),
                            &self.clock,
                            interface,
                            self.attribution.as_mut(),
                        );
                        self.out.push(rec.into());
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
        for app in self.apps.values_mut() {
            if let AppState::Active(a) = &mut app.state {
                let mut cx = Cx {
                    conn: &app.conn,
                    clock: &self.clock,
                    cfg: &self.cfg.app,
                    out: &mut self.out,
                    weirds_seen: &mut app.weirds,
                };
                a.tick(&mut cx, now);
            }
        }
        self.defrag.expire(now);
    }

    /// The end of the input: every open flow gets its record.
    pub fn finish(&mut self) {
        let mut open: Vec<Flow> = self.table.drain().collect();
        open.sort_by_key(|f| f.stats.first_ns);
        for flow in open {
            let reason = if flow.tcp_finished() {
                EndReason::End
            } else {
                EndReason::Shutdown
            };
            self.close(flow, reason);
        }
        self.defrag.expire(u64::MAX);
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

/// Where a flow's reassembled bytes go: the detection buffer, then the analyzer.
struct AppSink<'a> {
    app_state: &'a mut AppState,
    conn: &'a mut Conn,
    weirds: &'a mut Vec<&'static str>,
    side: Side,
    ts: u64,
    server_port: u16,
    transport: Transport,
    registry: &'a Registry,
    cfg: &'a AppConfig,
    clock: &'a Clock,
    out: &'a mut Vec<Record>,
}

impl AppSink<'_> {
    fn cx(&mut self) -> Cx<'_> {
        Cx {
            conn: self.conn,
            clock: self.clock,
            cfg: self.cfg,
            out: self.out,
            weirds_seen: self.weirds,
        }
    }
}

impl StreamSink for AppSink<'_> {
    fn data(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let (side, ts) = (self.side, self.ts);
        match self.app_state {
            AppState::Off => {}
            AppState::Active(a) => {
                let mut cx = Cx {
                    conn: self.conn,
                    clock: self.clock,
                    cfg: self.cfg,
                    out: self.out,
                    weirds_seen: self.weirds,
                };
                a.data(&mut cx, side, ts, bytes);
            }
            AppState::Detecting { packets, first } => {
                *packets = packets.saturating_add(1);
                let buf = &mut first[side.index()];
                let room = DETECT_BYTES.saturating_sub(buf.len());
                buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
                let Some(proto) = self
                    .registry
                    .detect(self.transport, self.server_port, buf, side)
                else {
                    return;
                };
                let mut analyzer = (proto.new)(self.cfg);
                self.conn.network.protocol = proto.name;
                let first = std::mem::take(first);
                let udp = self.transport == Transport::Udp;
                {
                    let mut cx = self.cx();
                    // The client's bytes first: requests before the responses to them.
                    for (i, s) in [(0, Side::Client), (1, Side::Server)] {
                        if first[i].is_empty() || (udp && s != side) {
                            continue;
                        }
                        analyzer.data(&mut cx, s, ts, &first[i]);
                    }
                    // Bytes past the detection buffer's room.
                    if bytes.len() > room && !udp {
                        analyzer.data(&mut cx, side, ts, &bytes[room..]);
                    }
                }
                *self.app_state = AppState::Active(analyzer);
            }
        }
    }

    fn gap(&mut self, len: u64) {
        let (side, ts) = (self.side, self.ts);
        match self.app_state {
            AppState::Active(a) => {
                let mut cx = Cx {
                    conn: self.conn,
                    clock: self.clock,
                    cfg: self.cfg,
                    out: self.out,
                    weirds_seen: self.weirds,
                };
                a.gap(&mut cx, side, ts, len);
            }
            AppState::Detecting { .. } => *self.app_state = AppState::Off,
            AppState::Off => {}
        }
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
